"""``netupdate list``: the networks of the connection, with virsh net-list's filters
(``--active``/``--inactive``, ``--persistent``/``--transient``, ``--autostart``/``--no-autostart``:
of two opposites, both or neither mean either) and its ``--name`` / ``--uuid`` forms.  Every
network is listed by default (virsh lists the active ones: ``--active``); ``--all`` is
accepted as virsh spells it."""

from __future__ import annotations

# option -> (the row's key, the value it keeps, help)
FILTERS = {"active": ("active", True, "only running networks"),
           "inactive": ("active", False, "only networks that are not running"),
           "persistent": ("persistent", True, "only defined (persistent) networks"),
           "transient": ("persistent", False, "only transient networks"),
           "autostart": ("autostart", True, "only networks started at boot"),
           "no_autostart": ("autostart", False, "only networks not started at boot")}


def add_arguments(parser) -> None:
    parser.add_argument("--all", action="store_true",
                        help="every network (the default; virsh's default is --active)")
    for dest, (_key, _value, text) in FILTERS.items():
        parser.add_argument(f"--{dest.replace('_', '-')}", dest=f"only_{dest}",
                            action="store_true", help=text)
    parser.add_argument("--name", dest="names_only", action="store_true",
                        help="print only the names (like virsh net-list --name)")
    parser.add_argument("--uuid", dest="uuids_only", action="store_true",
                        help="print only the UUIDs (with --name: UUID NAME)")


def keep(args, row: dict) -> bool:
    """Whether ``row`` (a ``NetworkInfo.to_json()``) passes the filters of ``args``."""
    for key in dict.fromkeys(of for of, _value, _text in FILTERS.values()):
        wanted = {value for dest, (of, value, _text) in FILTERS.items()
                  if of == key and getattr(args, f"only_{dest}", False)}
        if len(wanted) == 1 and bool(row.get(key)) not in wanted:
            return False
    return True


def cmd_list(args) -> int:
    import json

    from netupdate.cli.connect import open_connection
    with open_connection(args, readonly=True) as conn:
        rows = [row for row in (n.to_json() for n in conn.list()) if keep(args, row)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if args.names_only or args.uuids_only:
        for row in rows:
            words = ([row["uuid"] or "-"] if args.uuids_only else []) + \
                ([row["name"]] if args.names_only else [])
            print(" ".join(words))
        return 0
    head = ("Name", "State", "Autostart", "Persistent", "Bridge", "Netns")
    table = [head] + [(r["name"], r["state"], "yes" if r.get("autostart") else "no",
                       "yes" if r.get("persistent") else "no", r.get("bridge") or "-",
                       r.get("netns") or "-") for r in rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(head))]
    for number, row in enumerate(table):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths,
                                                                     strict=True)).rstrip())
        if number == 0:
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))
    return 0

"""The editing verbs of the libvirt backend (``update``, ``update_batch``, ``apply``), mixed
into ``LibvirtConnection``.

An update is first made by netupdate's engine on the persistent and/or live definition (so both
backends refuse the same edits), then the policy and the guests' leases are checked
(``guests.guard``), then it goes to libvirt: one ``virNetworkUpdate`` call where libvirt
updates the section itself (``codes.libvirt_route``), else ``commit`` with the definitions
netupdate computed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netupdate.errors import InvalidOperationError, NetupdateError
from netupdate.live.backend import (
    batch_edit,
    check_changes,
    check_policy,
    read_fragment,
    refuse_invalid,
    unsupported,
)
from netupdate.live.libvirt import guests
from netupdate.live.libvirt.binding import error, libvirt
from netupdate.live.libvirt.codes import (
    AFFECT_CONFIG,
    AFFECT_LIVE,
    COMMAND_CODES,
    REFUSED_SECTIONS,
    SECTION_CODES,
    Operation,
    command_name,
    libvirt_route,
    section_name,
)
from netupdate.live.libvirt.commit import affect, commit, no_config, no_live, shows_persistent
from netupdate.live.libvirt.compute import diff_defs, edit, fill_identity
from netupdate.live.results import CHANGED, UNCHANGED, VIA_LIBVIRT, UpdateResult
from netupdate.planning.planner import plan_change

INEXACT = ("the driver does not show the persistent config of a running network; its live "
           "definition was edited instead")


@dataclass
class Sides:
    """An edit made by netupdate's engine on the definitions it concerns."""
    config_before: str | None = None
    config_after: str | None = None
    live_before: str | None = None
    live_after: str | None = None
    change: Any = None
    exact: bool = True                 # config_before is the persistent config itself
    config_call: bool = False          # the persistent config takes the edit
    notes: list[str] = field(default_factory=list)


def _live_refusal(exc: NetupdateError, config_error, do_config: bool) -> NetupdateError:
    """The error of an edit the live definition refuses."""
    if config_error is not None:
        return config_error
    if do_config:
        return type(exc)(f"the live definition refuses the edit although the persistent "
                         f"config takes it (they differ): {exc.message}",
                         file=exc.file, line=exc.line, path=exc.path)
    return exc


class UpdateVerbs:
    """``update``, ``update_batch`` and ``apply`` of ``LibvirtConnection``."""

    def update(self, name: str, command, section=None, xml: str | None = None, *,
               parent_index: int = -1, node_spec: str | None = None, live: bool | None = None,
               config: bool | None = None, restart: bool = False, dry_run: bool = False,
               release_conflicting: bool = False, force: bool = False) -> UpdateResult:
        """Edit network ``name`` like ``virsh net-update`` (section form) or by ``node_spec``.

        ``live``/``config`` default to both for a running persistent network, the persistent
        config for an inactive one and the live state for a transient one (unlike virsh, whose
        default is the current state only).  Sections libvirt refuses are computed by netupdate
        (see ``compute``); ``restart`` lets netupdate restart the network when the live side
        cannot be changed otherwise.  A reservation of an address leased to a guest still on
        the network is refused unless ``release_conflicting`` (``guests.guard``), a new
        conflict with another running network unless ``force`` (``world.preflight_change``).
        """
        command, section = command_name(command), section_name(section)
        if node_spec is None and section is None:
            raise InvalidOperationError("an update needs a section or a node_spec")
        xml = read_fragment(xml)
        net = self._lookup(name)
        active, persistent = bool(net.isActive()), bool(net.isPersistent())
        do_live, do_config = affect(name, active, persistent, live, config)
        edit_args = (command, section, xml, parent_index, node_spec)
        sides = self._edit_sides(net, name, edit_args, do_live, do_config)
        before, after = ((sides.live_before, sides.live_after) if do_live
                         else (sides.config_before, sides.config_after))
        check_policy(self.policy, before, after, command)
        if not dry_run:
            from netupdate.live.libvirt.world import preflight_change
            preflight_change(self, name, before, after, plan_change(sides.change).changes,
                             force)
        route = libvirt_route(command, section, node_spec)
        if route != "netupdate":
            guard = guests.guard(self, net, sides.live_before, sides.live_after,
                                 plan_change(sides.change).kinds, dry_run=dry_run,
                                 release_conflicting=release_conflicting)
            result = self._through_libvirt(net, name, route, edit_args, sides, do_live,
                                           do_config, dry_run, guard)
            if result is not None:
                return result
        else:
            reason = ("a nodeSpec edit" if node_spec is not None else
                      f"section {section!r}" if command != "modify" or section in
                      REFUSED_SECTIONS else f"{command} of {section!r}")
            sides.notes.append(f"libvirt cannot update {reason}: netupdate computed the new "
                               "definitions itself")
        if not sides.exact:
            sides.notes.append(INEXACT)
        return commit(self, net, name, command=command, section=section,
                      config_before=sides.config_before, config_after=sides.config_after,
                      live_before=sides.live_before, live_after=sides.live_after,
                      do_config=do_config, do_live=do_live, restart=restart,
                      dry_run=dry_run, notes=sides.notes, change=sides.change,
                      release_conflicting=release_conflicting)

    def _edit_sides(self, net, name: str, edit_args, do_live: bool, do_config: bool) -> Sides:
        """The edit made by netupdate's engine on the persistent config and/or the live
        definition; a refusal raises (the live side's refusal wins when both are asked for)."""
        sides = Sides()
        config_error: NetupdateError | None = None
        if do_config:
            sides.config_before, sides.exact = self._persistent_xml(net)
            try:
                sides.config_after, sides.change = edit(sides.config_before, *edit_args)
            except NetupdateError as exc:
                if not do_live:
                    raise
                config_error = exc
        if do_live:
            sides.live_before = self._call(f"network {name!r}", net.XMLDesc, 0)
            try:
                sides.live_after, live_change = edit(sides.live_before, *edit_args)
            except NetupdateError as exc:
                raise _live_refusal(exc, config_error, do_config) from None
            sides.change = sides.change if sides.change is not None else live_change
            if config_error is not None:
                if diff_defs(sides.config_before, sides.live_after):
                    raise config_error
                # the persistent config already is what the edit makes of the live network
                # (typically: an earlier run changed the config and said a restart is needed)
                sides.config_after = sides.config_before
                sides.notes.append("the persistent config already has this edit; only the "
                                   "live network is changed")
        sides.config_call = do_config and config_error is None
        return sides

    def _through_libvirt(self, net, name: str, route: str, edit_args, sides: Sides,
                         do_live: bool, do_config: bool, dry_run: bool,
                         guard) -> UpdateResult | None:
        """The update as one ``virNetworkUpdate`` call; None when libvirt refused a ``try``
        route (netupdate then computes it: ``sides.notes`` says so)."""
        lv = libvirt()
        command, section, xml, parent_index, _node_spec = edit_args
        active, persistent = bool(net.isActive()), bool(net.isPersistent())
        flags = (AFFECT_LIVE if do_live else 0) | (AFFECT_CONFIG if sides.config_call else 0)
        result = UpdateResult(name, command, section, uri=self.uri, via=VIA_LIBVIRT,
                              config=(CHANGED if sides.config_call else UNCHANGED if do_config
                                      else no_config(persistent)),
                              live=(CHANGED if do_live else no_live(active)),
                              operations=(Operation(command, section, xml or "",
                                                    parent_index, flags),),
                              change=sides.change, notes=tuple(sides.notes), dry_run=dry_run,
                              config_xml=sides.config_after, live_xml=sides.live_after)
        if dry_run:
            if route == "try":
                result.notes = (*result.notes, "libvirt releases before the 2024 DNS "
                                "work refuse this modify; netupdate then computes it itself")
            result.notes += guests.dry(result, guard)
            return result
        try:
            net.update(COMMAND_CODES[command], SECTION_CODES[section], parent_index, xml, flags)
        except lv.libvirtError as exc:
            if route == "try" and exc.get_error_code() in (
                    lv.VIR_ERR_OPERATION_UNSUPPORTED, lv.VIR_ERR_NO_SUPPORT):
                sides.notes.append(f"libvirt refused it ({exc.get_error_message()}): netupdate "
                                   f"computed the new definitions itself")
                return None
            raise error(exc, f"cannot update network {name!r}", update=True) from None
        if sides.config_call and sides.config_after is not None and \
                not shows_persistent(self, net):
            self._remember(net, sides.config_after)
        result.notes = tuple(sides.notes + self._check_after(net, do_live, sides.live_after))
        result.notes += guests.after(self, net, guard, result)
        return result

    def _remember(self, net, config_xml: str) -> None:
        """Keep the persistent definition of a running network the driver cannot show."""
        self._persistent[net.name()] = config_xml

    def _check_after(self, net, do_live: bool, expected: str | None) -> list[str]:
        """Compare the live definition libvirt reports with what netupdate predicted."""
        if not do_live or expected is None:
            return []
        lv = libvirt()
        try:
            actual = net.XMLDesc(0)
        except lv.libvirtError:
            return []
        changes = diff_defs(expected, actual)
        if not changes:
            return []
        return ["libvirt's result differs from netupdate's prediction: "
                + "; ".join(c.describe() for c in changes)]

    def update_batch(self, name: str, updates, *, live: bool | None = None,
                     config: bool | None = None, dry_run: bool = False,
                     restart: bool = False, progress=None, force: bool = False) -> UpdateResult:
        """Many updates as one: all are made by the engine on a copy of the persistent config
        (the live definition of a transient network); a refused one raises ``BatchError``
        naming it and nothing changes; the result is then applied like ``apply``."""
        from netupdate.live import txn
        from netupdate.model.defs import load
        items = txn.as_batch(updates)
        if not items:
            raise InvalidOperationError("the batch holds no update")
        net = self._lookup(name)
        base = (self._persistent_xml(net)[0] if net.isPersistent()
                else self._call(f"network {name!r}", net.XMLDesc, 0))
        network = load(base)
        for item in items:
            batch_edit(network, item)
        result = self.apply(name, network.to_xml(), live=live, config=config, dry_run=dry_run,
                            restart=restart, progress=progress, force=force)
        result.command, result.count = "batch", len(items)
        return result

    def apply(self, name: str, desired_xml, *, live: bool | None = None,
              config: bool | None = None, dry_run: bool = False, restart: bool = False,
              try_seconds: float | None = None, check=None, progress=None,
              validate: bool = True, force: bool = False) -> UpdateResult:
        """Make network ``name`` match ``desired_xml`` (XML text or a path): the persistent
        config is defined as given; the live network is changed through the plan (libvirt's
        own updates where it has them, netlink for a local bridge's STP and delay), or needs a
        restart, which ``restart`` allows.  ``dry_run`` changes nothing and reports what would
        be done.  The uuid, MAC address and bridge name libvirt assigned are kept when the
        desired definition leaves them out.  A new conflict with another running network is
        refused unless ``force`` (``world.preflight_change``)."""
        from netupdate.model.defs import load
        if try_seconds is not None or check is not None:
            raise unsupported(self.backend_name, "a try window or a check (--try, --check)")
        desired_doc = load(desired_xml)
        if validate:
            refuse_invalid(desired_doc)
        if desired_doc.name != name:
            raise InvalidOperationError(f"the desired definition is for network "
                                        f"{desired_doc.name!r}, not {name!r}")
        net = self._lookup(name)
        active, persistent = bool(net.isActive()), bool(net.isPersistent())
        do_live, do_config = affect(name, active, persistent, live, config)
        notes: list[str] = []
        live_before = self._call(f"network {name!r}", net.XMLDesc, 0) if active else None
        config_before = None
        if persistent:
            config_before, exact = self._persistent_xml(net)
            if not exact:
                notes.append("the driver does not show the persistent config of a running "
                             "network: its live definition stands in")
        base = config_before if config_before is not None else live_before
        desired = fill_identity(desired_doc.to_xml(), base, notes)
        changes = diff_defs(base, desired)
        check_changes(self.policy, changes, None)
        if not dry_run:
            from netupdate.live.libvirt.world import preflight_change
            preflight_change(self, name, base, desired, changes, force)
        result = commit(self, net, name, command=None, section=None,
                        config_before=config_before,
                        config_after=desired if do_config and diff_defs(config_before, desired)
                        else None,
                        live_before=live_before, live_after=desired if do_live else None,
                        do_config=do_config, do_live=do_live, restart=restart,
                        dry_run=dry_run, notes=notes, change=None)
        result.changes = changes
        return result

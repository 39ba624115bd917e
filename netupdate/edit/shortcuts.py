"""Typed shortcuts: the XML fragment of a section built from keyword arguments.

``fragment("ip-dhcp-host", mac="52:54:00:00:00:42", ip="192.168.122.42", name="web1")`` is
exactly ``<host mac='52:54:00:00:00:42' name='web1' ip='192.168.122.42'/>``: what a user would
have written, attributes in the order libvirt writes them.  Values are not judged here; the
fragment goes through the same checks as hand-written XML, so a bad value gets the same located
error.  lxml builds the element, so no value can change its structure (quotes, ``<``, ...).

The command line offers the same as options (``netupdate update NET add ip-dhcp-host --mac M
--ip I --name N``), the library as keyword arguments of an update (``update_xml(xml, "add",
"ip-dhcp-host", mac=M, ip=I, name=N)``, ``load(PATH).update``, ``edit_file``,
``conn.network(NAME).update("add", "ip-dhcp-host", mac=M, ...)``: ``typed``): all end in
``fragment``.  ``FIELDS`` is what each section takes.
"""

from __future__ import annotations

from netupdate.errors import InvalidFragmentError

# section -> (element tag, ((keyword, attribute), ...) in libvirt's order, child-text keyword)
FIELDS: dict[str, tuple[str, tuple[tuple[str, str], ...], str | None]] = {
    "ip-dhcp-host": ("host", (("mac", "mac"), ("id", "id"), ("name", "name"), ("ip", "ip")),
                     None),
    "ip-dhcp-range": ("range", (("start", "start"), ("end", "end")), None),
    "dns-host": ("host", (("ip", "ip"),), "hostname"),
    "dns-txt": ("txt", (("name", "name"), ("value", "value")), None),
    "dns-srv": ("srv", (("service", "service"), ("protocol", "protocol"), ("domain", "domain"),
                        ("target", "target"), ("port", "port"), ("priority", "priority"),
                        ("weight", "weight")), None),
    "portgroup": ("portgroup", (("name", "name"), ("default", "default")), None),
    "bridge": ("bridge", (("name", "name"), ("stp", "stp"), ("delay", "delay")), None),
    "domain": ("domain", (("name", "name"), ("local", "localOnly")), None),
    "forward-interface": ("interface", (("dev", "dev"),), None),
}


def _text(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


# every keyword some section takes (what an update's keyword arguments may carry)
KEYWORDS = frozenset(key for _tag, attributes, child in FIELDS.values()
                     for key in [*(k for k, _a in attributes), *([child] if child else [])])


def _spec(section) -> tuple[str, tuple[tuple[str, str], ...], str | None]:
    """The ``FIELDS`` entry of a section named any way ``sections.get`` takes (name, libvirt
    code, any case)."""
    spec = FIELDS.get(str(section))
    if spec is None:
        from netupdate import sections
        from netupdate.errors import UnsupportedError
        try:
            spec = FIELDS.get(sections.get(section).name)
        except UnsupportedError:
            spec = None
    if spec is None:
        raise InvalidFragmentError(f"section {section!r} has no typed shortcut (these do: "
                                   f"{', '.join(FIELDS)}); give its XML")
    return spec


def keywords(section) -> frozenset[str]:
    """The keywords ``section`` takes (``InvalidFragmentError`` when it has no shortcut)."""
    _tag, attributes, child = _spec(section)
    return frozenset(key for key, _attr in attributes) | ({child} if child else set())


def fragment(section, **values) -> str:
    """The XML fragment of ``section`` with these values (None values are left out; a
    ``hostname`` may be a list; ``True``/``False`` are written yes/no, ``stp`` on/off)."""
    tag, attributes, child = _spec(section)
    known = keywords(section)
    unknown = sorted(key for key, value in values.items() if value is not None
                     and key not in known)
    if unknown:
        raise InvalidFragmentError(f"{section} takes {', '.join(sorted(known))}; not "
                                   f"{', '.join(unknown)}")
    if not any(value is not None and value != [] for value in values.values()):
        raise InvalidFragmentError(f"{section}: give at least one of {', '.join(sorted(known))}")
    from lxml import etree
    element = etree.Element(tag)
    try:
        for key, attribute in attributes:
            value = values.get(key)
            if value is None:
                continue
            if key == "stp" and isinstance(value, bool):
                value = "on" if value else "off"
            element.set(attribute, _text(value))
        if child:
            texts = values.get(child) or []
            for text in [texts] if isinstance(texts, str) else texts:
                etree.SubElement(element, child).text = _text(text)
    except ValueError as exc:   # a control character or NUL: no XML can hold it
        raise InvalidFragmentError(f"{section}: {exc}") from None
    return etree.tostring(element, encoding="unicode")


def typed(section, xml, values: dict) -> str | None:
    """The fragment of an update: ``xml``, or the one the typed ``values`` make (None values
    count as not given)."""
    given = {key: value for key, value in values.items() if value is not None}
    if not given:
        return xml
    if xml is not None:
        raise InvalidFragmentError("give either the XML fragment or typed values (mac=..., "
                                   "ip=..., ...), not both")
    if section is None:
        raise InvalidFragmentError("typed values need a section (such as 'ip-dhcp-host')")
    return fragment(section, **given)


def split(keywords: dict) -> tuple[dict, dict]:
    """(the typed values, the other keyword arguments) of an update call."""
    values = {key: value for key, value in keywords.items() if key in KEYWORDS}
    return values, {key: value for key, value in keywords.items() if key not in KEYWORDS}

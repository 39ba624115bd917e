"""The source-preserving document: exact round trip, and edits that look hand-written."""

import random

import pytest
from lxml import etree

from netupdate.document.source import Document, decode, parse_element
from netupdate.errors import XMLParseError

ODD = """<?xml version="1.0" encoding="UTF-8"?>
<!-- leading comment -->
<?app hint?>
<network   a = 'x'  b="y&amp;z&#x41;" >
  <name>n&#233;t</name><!-- after name -->
  <?pi data?>
  <description><![CDATA[<raw> & stuff]]></description>
  <ip address='192.168.1.1'
      prefix="24" >
    <dhcp>
      <host mac='52:54:00:00:00:01' />
      <host mac='52:54:00:00:00:02'></host>
    </dhcp>
  </ip>
</network>
<!-- trailing comment -->
"""


@pytest.mark.parametrize("text", [
    ODD,
    "<network><name>x</name></network>",
    "<network>\r\n\t<name>x</name>\r\n\t<bridge name='b'/>\r\n</network>\r\n",
    "<network xmlns:nu='urn:x'><name>x</name><metadata><nu:a nu:b='1'/></metadata></network>",
    "<network>\n    <name>x</name>\n</network>",  # no trailing newline
])
def test_unedited_document_is_byte_identical(text):
    assert Document(text).serialize() == text


@pytest.mark.parametrize("data,encoding,bom", [
    ("<?xml version='1.0' encoding='ISO-8859-1'?>\n<network><!-- caf\xe9 --></network>"
     .encode("latin-1"), "iso-8859-1", b""),
    (b"\xef\xbb\xbf<network/>", "utf-8", b"\xef\xbb\xbf"),
    ("<network><name>caf\xe9</name></network>".encode(), "utf-8", b""),
])
def test_bytes_round_trip_keeps_encoding_and_bom(data, encoding, bom):
    text, found_encoding, found_bom = decode(data)
    assert (found_encoding, found_bom) == (encoding, bom)
    assert Document(text, encoding=found_encoding, bom=found_bom).to_bytes() == data


def test_changed_attribute_keeps_other_attributes_verbatim():
    doc = Document(ODD)
    doc.root.set("b", 'q"q')
    out = doc.serialize()
    assert "<network   a = 'x'  b=\"q&quot;q\" >" in out
    assert out.replace("b=\"q&quot;q\"", "b=\"y&amp;z&#x41;\"") == ODD


def test_new_attribute_uses_document_quote_style():
    doc = Document("<network>\n  <bridge name='b'/>\n</network>")
    doc.root.find("bridge").set("stp", "off")
    assert doc.serialize() == "<network>\n  <bridge name='b' stp='off'/>\n</network>"


def test_insert_last_uses_sibling_indentation():
    doc = Document(ODD)
    dhcp = doc.root.find("ip/dhcp")
    doc.insert(dhcp, 2, etree.fromstring("<host mac='52:54:00:00:00:03'><lease expiry='5'/>"
                                         "</host>"))
    out = doc.serialize()
    assert ("      <host mac='52:54:00:00:00:02'></host>\n"
            "      <host mac='52:54:00:00:00:03'>\n"
            "        <lease expiry='5'/>\n"
            "      </host>\n"
            "    </dhcp>") in out


def test_insert_first_and_middle():
    doc = Document("<a>\n  <b n='1'/>\n  <b n='2'/>\n</a>")
    doc.insert(doc.root, 0, etree.fromstring("<b n='0'/>"))
    doc.insert(doc.root, 2, etree.fromstring("<b n='1.5'/>"))
    assert doc.serialize() == ("<a>\n  <b n='0'/>\n  <b n='1'/>\n  <b n='1.5'/>\n"
                               "  <b n='2'/>\n</a>")


@pytest.mark.parametrize("text,expected", [
    ("<a>\n\t<b/>\n</a>", "<a>\n\t<b>\n\t\t<c/>\n\t</b>\n</a>"),
    ("<a>\r\n    <b/>\r\n</a>", "<a>\r\n    <b>\r\n        <c/>\r\n    </b>\r\n</a>"),
    ("<a>\n  <b></b>\n</a>", "<a>\n  <b>\n    <c/>\n  </b>\n</a>"),
])
def test_insert_into_empty_element_follows_indent_style(text, expected):
    doc = Document(text)
    doc.insert(doc.root.find("b"), 0, etree.fromstring("<c/>"))
    assert doc.serialize() == expected


def test_remove_keeps_closing_indentation():
    doc = Document("<a>\n  <b n='1'/>\n  <b n='2'/>\n</a>")
    doc.remove(doc.root[1])
    assert doc.serialize() == "<a>\n  <b n='1'/>\n</a>"
    doc.remove(doc.root[0])
    assert doc.serialize() == "<a/>"


def test_remove_first_of_several():
    doc = Document("<a>\n  <b n='1'/>\n  <b n='2'/>\n</a>")
    doc.remove(doc.root[0])
    assert doc.serialize() == "<a>\n  <b n='2'/>\n</a>"


def test_replace_keeps_position_and_whitespace():
    doc = Document("<a>\n  <b n='1'/>\n  <b n='2'/>\n</a>")
    doc.replace(doc.root[0], etree.fromstring("<b n='9'><c/></b>"))
    assert doc.serialize() == "<a>\n  <b n='9'>\n    <c/>\n  </b>\n  <b n='2'/>\n</a>"


def test_new_namespaced_element_declares_its_namespace_once():
    ns = "http://libvirt.org/schemas/network/dnsmasq/1.0"
    doc = Document(f"<network xmlns:dnsmasq='{ns}'>\n  <name>x</name>\n</network>")
    options = etree.SubElement(etree.Element("tmp", nsmap={"dnsmasq": ns}), f"{{{ns}}}options")
    etree.SubElement(options, f"{{{ns}}}option", value="cache-size=0")
    doc.insert(doc.root, 1, options)
    out = doc.serialize()
    assert "<dnsmasq:options>\n    <dnsmasq:option value='cache-size=0'/>\n  </dnsmasq:options>" \
        in out
    assert out.count("xmlns:dnsmasq") == 1


def test_is_modified():
    doc = Document(ODD)
    assert not doc.is_modified()
    doc.root.find("name").text = "other"
    assert doc.is_modified()
    assert "<name>other</name><!-- after name -->" in doc.serialize()


@pytest.mark.parametrize("text,needle", [
    ('<!DOCTYPE n [<!ENTITY a "aaaa">]><network>&a;</network>', "DOCTYPE"),
    ('<!DOCTYPE n SYSTEM "http://127.0.0.1:9/x.dtd"><network/>', "DOCTYPE"),
    ("<network><name>x</name>", "malformed XML"),
    ("not xml at all", "malformed XML"),
    ("<network>\x00</network>", "NUL"),
])
def test_hostile_or_broken_input_is_refused_with_a_line(text, needle):
    with pytest.raises(XMLParseError) as info:
        Document(text, filename="f.xml")
    assert needle in str(info.value)
    assert str(info.value).startswith("f.xml")


def test_fragment_parser_refuses_entities():
    with pytest.raises(XMLParseError):
        parse_element('<!DOCTYPE h [<!ENTITY e SYSTEM "file:///etc/passwd">]><host name="&e;"/>')
    assert parse_element("<?xml version='1.0'?>\n  <host name='a'/>\n").get("name") == "a"


def test_tracked_serialization_follows_the_edit_marks():
    text = "<a>\n  <b n='1'/>\n  <c>\n    <d/>\n  </c>\n</a>"
    doc = Document(text)
    doc.insert(doc.root.find("c"), 1, etree.fromstring("<d n='2'/>"))
    assert doc.serialize(tracked=True) == doc.serialize()
    # an edit made behind the document's back is seen only by the full comparison ...
    doc.root.find("b").set("n", "9")
    assert "n='9'" in doc.serialize() and "n='9'" not in doc.serialize(tracked=True)
    # ... until it is marked
    doc.touch(doc.root.find("b"))
    assert doc.serialize(tracked=True) == doc.serialize()


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_tracked_serialization_after_random_edits(newline):
    """Inserts, removals, replacements and touches anywhere among many siblings (with comments
    and text between them): the edit marks always give the full comparison's result."""
    items = "".join(f"  <h n='{i}'/>{' <!-- c -->' if i % 7 == 0 else ''}\n" for i in range(40))
    text = f"<a>\n  <!-- first -->\n{items}  <s>\n    <t/>\n  </s>\n</a>\n".replace("\n", newline)
    doc = Document(text)
    rng = random.Random(7)
    for step in range(300):
        children = [c for c in doc.root if isinstance(c.tag, str) and c.tag == "h"]
        action = rng.choice(["insert", "insert", "remove", "replace", "touch", "touch-new"])
        if action == "insert" or not children:
            index = rng.choice([0, -1, None, rng.randrange(len(children) + 1)])
            doc.insert(doc.root, index, etree.fromstring(f"<h n='new{step}'><x/></h>"))
        elif action == "remove":
            doc.remove(rng.choice(children))
        elif action == "replace":
            doc.replace(rng.choice(children), etree.fromstring(f"<h n='r{step}'/>"))
        else:
            target = rng.choice([c for c in children if action == "touch"
                                 or str(c.get("n")).startswith(("new", "r"))] or children)
            target.set("m", str(step))
            doc.touch(target)
        assert doc.serialize(tracked=True) == doc.serialize(), (step, action)
    assert Document(doc.serialize()).serialize() == doc.serialize()


def test_a_moved_element_is_written_anew():
    doc = Document("<a>\n  <b>\n    <c/>\n  </b>\n</a>\n")
    moved = etree.fromstring("<m><x/></m>")
    doc.insert(doc.root.find("b"), None, moved)
    assert "    <m>\n      <x/>\n    </m>" in doc.serialize(tracked=True)
    doc.remove(moved)
    doc.insert(doc.root, None, moved)   # one level up: indented again
    assert doc.serialize(tracked=True) == doc.serialize()
    assert "  <m>\n    <x/>\n  </m>" in doc.serialize(tracked=True)

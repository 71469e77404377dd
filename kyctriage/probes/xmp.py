"""XMP packets: every property under its namespace prefix, and the edit history, read with a
hardened XML parser (no DTD, no entities, bounded size, depth and count)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import defusedxml.ElementTree as SafeET  # type: ignore[import-untyped]
from defusedxml import DefusedXmlException

from kyctriage.model import XmpEvent

NAME = "xmp"

MAX_XMP_BYTES = 1 << 20
MAX_VALUE_CHARS = 500
MAX_PROPERTIES = 400
MAX_EVENTS = 100
MAX_ELEMENTS = 20_000
MAX_DEPTH = 32

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_RESOURCE = f"{{{RDF}}}Description"
_LISTS = {f"{{{RDF}}}{kind}" for kind in ("Seq", "Bag", "Alt")}
_LI = f"{{{RDF}}}li"
_PARSE_TYPE = f"{{{RDF}}}parseType"
_RDF_ATTRIBUTES = {f"{{{RDF}}}{a}" for a in ("about", "parseType", "resource", "ID", "nodeID")}

# Namespace URI -> the prefix exiftool and Adobe use, whatever prefix a packet declares.
PREFIXES = {
    "adobe:ns:meta/": "x",
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/xap/1.0/mm/": "xmpMM",
    "http://ns.adobe.com/xap/1.0/rights/": "xmpRights",
    "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#": "stEvt",
    "http://ns.adobe.com/xap/1.0/sType/ResourceRef#": "stRef",
    "http://ns.adobe.com/xap/1.0/sType/Dimensions#": "stDim",
    "http://ns.adobe.com/xap/1.0/g/img/": "xmpGImg",
    "http://ns.adobe.com/xap/1.0/t/pg/": "xmpTPg",
    "http://ns.adobe.com/xmp/1.0/DynamicMedia/": "xmpDM",
    "http://ns.adobe.com/xmp/note/": "xmpNote",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://ns.adobe.com/camera-raw-settings/1.0/": "crs",
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://ns.adobe.com/exif/1.0/aux/": "aux",
    "http://cipa.jp/exif/1.0/": "exifEX",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.adobe.com/pdf/1.3/": "pdf",
    "http://ns.adobe.com/lightroom/1.0/": "lr",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/": "Iptc4xmpCore",
    "http://iptc.org/std/Iptc4xmpExt/2008-02-29/": "Iptc4xmpExt",
    "http://ns.useplus.org/ldf/xmp/1.0/": "plus",
    "http://ns.microsoft.com/photo/1.0/": "MicrosoftPhoto",
    "http://ns.google.com/photos/1.0/camera/": "GCamera",
    "http://ns.google.com/photos/1.0/container/": "GContainer",
    "http://ns.google.com/photos/1.0/panorama/": "GPano",
    "http://ns.adobe.com/hdr-gain-map/1.0/": "hdrgm",
    "http://ns.apple.com/faceinfo/1.0/": "apple-fi",
    "http://www.metadataworkinggroup.com/schemas/regions/": "mwg-rs",
}


@dataclass(frozen=True)
class XmpResult:
    properties: tuple[tuple[str, str], ...]  # "prefix:Name" (paths for structs) -> text
    history: tuple[XmpEvent, ...]
    problem: str | None


class _TooBig(Exception):
    pass


def _name(tag: str, declared: dict[str, str]) -> str:
    """'{uri}Local' -> 'prefix:Local' with the usual prefix for a known namespace."""
    if not tag.startswith("{"):
        return tag
    uri, _, local = tag[1:].partition("}")
    prefix = PREFIXES.get(uri) or declared.get(uri) or "ns"
    return f"{prefix}:{local}"


def _packet(data: bytes) -> bytes:
    """The XML between the first x:xmpmeta / rdf:RDF start and its end: writers pad packets
    with blanks and trailers that are not XML."""
    for start_tag, end_tag in ((b"<x:xmpmeta", b"</x:xmpmeta>"), (b"<x:xapmeta", b"</x:xapmeta>")):
        start = data.find(start_tag)
        end = data.rfind(end_tag)
        if start >= 0 and end > start:
            return data[start : end + len(end_tag)]
    start, end = data.find(b"<rdf:RDF"), data.rfind(b"</rdf:RDF>")
    if start >= 0 and end > start:
        return data[start : end + len(b"</rdf:RDF>")]
    return data.strip(b" \t\r\n\x00")


def _parse(packet: bytes) -> tuple[ET.Element, dict[str, str]]:
    """Build the tree, refusing DTDs and entities, and stopping past MAX_DEPTH or
    MAX_ELEMENTS before the tree grows (a nesting bomb fits in a small packet)."""
    declared: dict[str, str] = {}
    depth = count = 0
    root = None
    events = SafeET.iterparse(
        io.BytesIO(packet), events=("start", "end", "start-ns"),
        forbid_dtd=True, forbid_entities=True, forbid_external=True,
    )  # fmt: skip
    for event, item in events:
        if event == "start-ns":
            prefix, uri = item
            declared.setdefault(uri, prefix)
        elif event == "start":
            depth, count = depth + 1, count + 1
            if root is None:
                root = item
            if depth > MAX_DEPTH or count > MAX_ELEMENTS:
                raise _TooBig(f"XMP deeper than {MAX_DEPTH} or over {MAX_ELEMENTS} elements")
        else:
            depth -= 1
    assert root is not None  # iterparse raises on an empty document
    return root, declared


def read_xmp(data: bytes) -> XmpResult:
    """Every property of the packet's rdf:Description blocks; on hostile or broken XML, none,
    with the reason."""
    if len(data) > MAX_XMP_BYTES:
        return XmpResult((), (), f"XMP packet over {MAX_XMP_BYTES} bytes, not read")
    try:
        root, declared = _parse(_packet(data))
    except _TooBig as exc:
        return XmpResult((), (), str(exc))
    except DefusedXmlException as exc:
        return XmpResult((), (), f"XMP refused ({type(exc).__name__})")
    except (ET.ParseError, ValueError) as exc:
        return XmpResult((), (), f"XMP is not well-formed XML ({' '.join(str(exc).split())[:80]})")
    found: dict[str, str] = {}
    for description in root.iter(_RESOURCE):
        _properties(description, "", declared, found)
        if len(found) >= MAX_PROPERTIES:
            break
    history = _history(root, declared)
    return XmpResult(tuple(sorted(found.items())), history, None)


def _properties(node: ET.Element, path: str, declared: dict[str, str], out: dict[str, str]) -> None:
    """A Description's (or struct's) attributes and child properties, flattened into out as
    'prefix:Prop' or 'prefix:Struct/prefix:Field' and 'prefix:List[2]/prefix:Field'."""
    for key, value in node.attrib.items():
        if key not in _RDF_ATTRIBUTES and key != _XML_LANG:
            _put(out, path + _name(key, declared), value)
    for child in node:
        if child.tag == _RESOURCE:  # a nested Description belongs to the same resource
            _properties(child, path, declared, out)
        else:
            _value(child, path + _name(child.tag, declared), declared, out)


def _value(prop: ET.Element, name: str, declared: dict[str, str], out: dict[str, str]) -> None:
    if len(out) >= MAX_PROPERTIES:
        return
    children = list(prop)
    lists = [c for c in children if c.tag in _LISTS]
    if lists:
        items = [li for li in lists[0] if li.tag == _LI]
        simple = [li for li in items if not len(li) and not _struct_attributes(li)]
        if len(simple) == len(items):
            texts = [(li.text or "").strip() for li in items]
            default = [t for li, t in zip(items, texts, strict=True)
                       if li.get(_XML_LANG) == "x-default"]  # fmt: skip
            if lists[0].tag == f"{{{RDF}}}Alt" and default:
                texts = default[:1]
            _put(out, name, ", ".join(t for t in texts if t))
            return
        for index, li in enumerate(items, 1):
            _value(li, f"{name}[{index}]", declared, out)
        return
    if prop.get(_PARSE_TYPE) == "Resource" or _struct_attributes(prop) or children:
        _properties(prop, name + "/", declared, out)
        return
    resource = prop.get(f"{{{RDF}}}resource")
    _put(out, name, resource if resource is not None else (prop.text or "").strip())


def _struct_attributes(node: ET.Element) -> bool:
    return any(k not in _RDF_ATTRIBUTES and k != _XML_LANG for k in node.attrib)


def _put(out: dict[str, str], name: str, value: str) -> None:
    value = value.strip()
    if value and len(out) < MAX_PROPERTIES:
        out.setdefault(name[:MAX_VALUE_CHARS], value[:MAX_VALUE_CHARS])


def _history(root: ET.Element, declared: dict[str, str]) -> tuple[XmpEvent, ...]:
    """xmpMM:History's events in file order: who did what with which software, and when."""
    events: list[XmpEvent] = []
    history_tag = "{http://ns.adobe.com/xap/1.0/mm/}History"
    for history in root.iter(history_tag):
        for li in history.iter(_LI):
            fields: dict[str, str] = {}
            _properties(li, "", declared, fields)
            event = XmpEvent(
                action=fields.get("stEvt:action"),
                when=fields.get("stEvt:when"),
                software_agent=fields.get("stEvt:softwareAgent"),
                changed=fields.get("stEvt:changed"),
                instance_id=fields.get("stEvt:instanceID"),
            )
            if any((event.action, event.when, event.software_agent)):
                events.append(event)
            if len(events) >= MAX_EVENTS:
                return tuple(events)
    return tuple(events)

"""OPML subscription lists: `read_opml()` for import, `write_opml()` for export.

Parsing goes through defusedxml, so entity tricks (billion laughs, external entities) in a
downloaded OPML file are refused instead of expanded. A feed's category is the text of the
outline that encloses it (the innermost one, for nested folders).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from jiandu.errors import InputError


class OpmlError(InputError):
    """An OPML file that cannot be read; the message names the file and the reason."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass
class OpmlFeed:
    url: str
    title: str | None = None
    category: str | None = None


def read_opml(path: str | Path) -> list[OpmlFeed]:
    """Every outline with an xmlUrl, in document order; duplicates by URL are kept once."""
    try:
        root = SafeET.parse(str(path)).getroot()
    except FileNotFoundError as exc:
        raise OpmlError(path, "no such file") from exc
    except OSError as exc:
        raise OpmlError(path, f"cannot read: {exc.strerror or exc}") from exc
    except ET.ParseError as exc:
        raise OpmlError(path, f"not well-formed XML: {exc}") from exc
    except DefusedXmlException as exc:
        raise OpmlError(path, f"refused unsafe XML ({type(exc).__name__})") from exc
    if root.tag.lower() != "opml":
        raise OpmlError(path, f"root element is <{root.tag}>, not <opml>")
    body = root.find("body")
    if body is None:
        raise OpmlError(path, "no <body> element")
    feeds: list[OpmlFeed] = []
    seen: set[str] = set()
    _collect(body, feeds, seen)
    return feeds


def _collect(body: ET.Element, feeds: list[OpmlFeed], seen: set[str]) -> None:
    """Feeds in document order; a folder's name is its feeds' category. A loop with its own
    stack, not recursion: a file nested 100,000 deep is read, not a RecursionError."""
    stack = [(iter(body.findall("outline")), None)]
    while stack:
        outlines, category = stack[-1]
        outline = next(outlines, None)
        if outline is None:
            stack.pop()
            continue
        url = _attribute(outline, "xmlUrl")
        label = _attribute(outline, "title") or _attribute(outline, "text")
        if url:
            if url not in seen:
                seen.add(url)
                feeds.append(OpmlFeed(url=url, title=label, category=category))
        else:
            stack.append((iter(outline.findall("outline")),
                          _attribute(outline, "text") or label or category))


def _attribute(element: ET.Element, name: str) -> str | None:
    # OPML in the wild spells attributes in any case (xmlUrl, xmlurl, XMLURL).
    for key, value in element.attrib.items():
        if key.lower() == name.lower() and value.strip():
            return value.strip()
    return None


def write_opml(feeds: Iterable[OpmlFeed], path: str | Path, *, title: str = "jiandu") -> None:
    """Write OPML 2.0, one folder outline per category (uncategorised feeds at top level)."""
    root = ET.Element("opml", version="2.0")
    ET.SubElement(ET.SubElement(root, "head"), "title").text = title
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for feed in feeds:
        parent = body
        if feed.category:
            if feed.category not in folders:
                folders[feed.category] = ET.SubElement(body, "outline", text=feed.category)
            parent = folders[feed.category]
        label = feed.title or feed.url
        ET.SubElement(parent, "outline", type="rss", text=label, title=label, xmlUrl=feed.url)
    ET.indent(root)
    ET.ElementTree(root).write(str(path), encoding="utf-8", xml_declaration=True)

"""A static site of published issues: index.html, issues/N.html and an Atom feed (feed.xml).

Pages reuse the issue stylesheet in a <style> block (a web page needs no inlining); the feed is
built with ElementTree so that every title and body is escaped as XML requires.
"""

from __future__ import annotations

import datetime
import os
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

from markupsafe import Markup

from jiandu.issue_context import is_web_link
from jiandu.render import environment

ATOM = "http://www.w3.org/2005/Atom"


@dataclass
class SiteIssue:
    number: int
    date: datetime.date
    title: str
    html: str  # the issue's body HTML, as jiandu.render.render_body_html produced it (escaped)
    summary: str  # plain text


def build_site(
    out_dir: Path, issues: list[SiteIssue], *, publication_name: str, base_url: str
) -> list[Path]:
    """Write the site into out_dir and return the files written."""
    if not is_web_link(base_url):
        raise ValueError(f"site base_url must be an absolute http(s) URL, got {base_url!r}")
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    numbers = [issue.number for issue in issues]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"site issues repeat a number: {sorted(numbers)}")

    newest_first = sorted(issues, key=lambda issue: issue.number, reverse=True)
    _real_folder(out_dir / "issues")
    env = environment()
    common = {"publication_name": publication_name, "feed_url": urljoin(base_url, "feed.xml")}
    written: list[Path] = []

    index = out_dir / "index.html"
    _write(index,
        env.get_template("site/index.html.j2").render(
            common,
            root="",
            issues=[
                {"path": _issue_path(issue), "title": issue.title, "date": issue.date.isoformat(), "summary": issue.summary}
                for issue in newest_first
            ],
        ),
    )
    written.append(index)

    for position, issue in enumerate(newest_first):
        newer = newest_first[position - 1] if position > 0 else None
        older = newest_first[position + 1] if position + 1 < len(newest_first) else None
        page = out_dir / _issue_path(issue)
        _write(page,
            env.get_template("site/issue.html.j2").render(
                common,
                root="../",
                issue={"title": issue.title, "body": Markup(issue.html)},
                newer=_neighbour(newer),
                older=_neighbour(older),
            ),
        )
        written.append(page)

    feed = out_dir / "feed.xml"
    _write(feed, _atom_feed(newest_first, publication_name=publication_name, base_url=base_url))
    written.append(feed)
    return written


def _real_folder(folder: Path) -> None:
    """folder as a real directory: a symbolic link planted in its place is removed, never
    followed, so the site cannot be written into somewhere else."""
    if folder.is_symlink():
        folder.unlink()
    folder.mkdir(parents=True, exist_ok=True)


def _write(path: Path, content: str | bytes) -> None:
    """Write a new file beside path and rename it into place: a link planted at path is
    replaced, not written through, and a reader never sees half a page."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a site is for reading
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _issue_path(issue: SiteIssue) -> str:
    return f"issues/{issue.number}.html"


def _neighbour(issue: SiteIssue | None) -> dict | None:
    return None if issue is None else {"file": f"{issue.number}.html", "title": issue.title}


def _timestamp(date: datetime.date) -> str:
    return f"{date.isoformat()}T00:00:00Z"


def _atom_feed(newest_first: list[SiteIssue], *, publication_name: str, base_url: str) -> bytes:
    ET.register_namespace("", ATOM)

    def child(parent, tag, text=None, **attributes):
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
        element.text = text
        return element

    feed = ET.Element(f"{{{ATOM}}}feed")
    child(feed, "id", base_url)
    child(feed, "title", publication_name)
    # An empty site still needs a fixed <updated>, so that building twice gives the same bytes.
    child(feed, "updated", _timestamp(max((i.date for i in newest_first), default=datetime.date(1970, 1, 1))))
    child(feed, "link", rel="self", href=urljoin(base_url, "feed.xml"))
    child(feed, "link", rel="alternate", href=base_url)
    author = child(feed, "author")
    child(author, "name", publication_name)
    for issue in newest_first:
        url = urljoin(base_url, _issue_path(issue))
        entry = child(feed, "entry")
        child(entry, "id", url)
        child(entry, "title", issue.title)
        child(entry, "published", _timestamp(issue.date))
        child(entry, "updated", _timestamp(issue.date))
        child(entry, "link", rel="alternate", type="text/html", href=url)
        child(entry, "summary", issue.summary)
        child(entry, "content", issue.html, type="html")
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"

"""The finished context of one issue: everything the templates show, nothing they compute (pure).

Order of the items (FORMAT.md): sections in the publication's configured order, and within a
section (or the whole issue, for the flat variant) the highest score first (jiandu.ranking:
importance, outlets, freshness, source weight), then the newest, then by title so that equal
items keep a stable order. The same score picks the 看点 the editor left to it. An item whose section the publication
does not configure goes to the last configured section (usually 其他).
"""

from __future__ import annotations

import datetime
import re
from urllib.parse import urlsplit

from jiandu.ranking import Rank, rank
from jiandu.records import DigestItem, Publication
from jiandu.sections import placed_section
from jiandu.stats_line import digest_stats

# An issue's title, and the default subject of its mail (JIANDU_MAIL_SUBJECT).
TITLE_TEMPLATE = "{publication} 第{number}期 · {date}"

VARIANTS = ("sectioned", "flat")
_WHITESPACE = re.compile(r"\s+")


def build_context(
    publication: Publication,
    items: list[DigestItem],
    *,
    number: int,
    date: datetime.date,
) -> dict:
    """Context for the issue templates; plain dicts, lists, strings and ints only."""
    if publication.variant not in VARIANTS:
        raise ValueError(
            f"publication {publication.name!r}: variant {publication.variant!r} is not one of {VARIANTS}"
        )
    if not publication.sections:
        raise ValueError(f"publication {publication.name!r} configures no sections")

    ranks = _ranks(items)
    ordered = sorted(items, key=lambda item: _score_then_newest(item, ranks[id(item)]))
    if publication.variant == "sectioned":
        ordered = _group_by_section(ordered, publication.sections)

    views = [
        _item_view(item, position, placed_section(item.section, publication.sections), ranks[id(item)])
        for position, item in enumerate(ordered, start=1)
    ]
    sections = _section_views(views, publication.variant)

    # The editor's picks, then the highest scores up to the configured number, shown in the
    # order they appear in the issue; an item the editor took out is never picked.
    picked = [view for view in views if view["highlight"] is True]
    top = sorted((view for view in views if view["highlight"] is None),
                 key=lambda view: (-view["score"], view["position"]))
    chosen = picked + top[: max(publication.highlights - len(picked), 0)]
    highlights = sorted(chosen, key=lambda view: view["position"])

    stats = digest_stats(
        sum(item.source_chars for item in items),
        [bullet for view in views for bullet in view["bullets"]],
    )
    return {
        "publication": {
            "name": publication.name,
            "purpose": _one_paragraph(publication.purpose),
            "variant": publication.variant,
        },
        "number": number,
        "date": date.isoformat(),
        "title": subject_for(TITLE_TEMPLATE, publication, number, date),
        "stats": {
            "source_chars": stats.source_chars,
            "digest_chars": stats.digest_chars,
            "minutes": stats.minutes,
            "efficiency": stats.efficiency,
        },
        "highlights": [
            {"heading": view["heading"], "title": view["title"], "emoji": view["emoji"],
             "anchor": view["anchor"]} for view in highlights
        ],
        "sections": sections,
        "item_count": len(views),
    }


def subject_for(template: str | None, publication: Publication, number: int,
                date: datetime.date) -> str:
    """A title or subject line from a template with {publication}, {number} and {date}
    (no template: TITLE_TEMPLATE)."""
    template = template or TITLE_TEMPLATE
    try:
        return template.format(publication=publication.name, number=number, date=date.isoformat())
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"subject template {template!r} is invalid ({exc!r}); it may use {{publication}}, "
            "{number}, {date}"
        ) from None


def link_label(url: str) -> str:
    """What a reader sees for a link: the site's domain (mp.weixin.qq.com, openai.com), not a
    URL that wraps over three lines; the full URL stays the link's target."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    if not host or not is_web_link(url):
        return url
    return host[4:] if host.startswith("www.") else host


def is_web_link(url: str) -> bool:
    """True for an absolute http(s) URL: the only links an edition makes clickable."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc) and not any(
        character.isspace() or ord(character) < 32 for character in url
    )


def _ranks(items: list[DigestItem]) -> dict[int, Rank]:
    """Each item's rank (by id(item)), freshness measured from the newest item."""
    if not items:
        return {}
    newest = max(item.published for item in items)
    return {id(item): rank(item.importance, item.outlets, item.source_weight, item.published, newest)
            for item in items}


def _score_then_newest(item: DigestItem, item_rank: Rank) -> tuple:
    return (-item_rank.score, -item.published.timestamp(), item.title)


def _group_by_section(items: list[DigestItem], sections: list[str]) -> list[DigestItem]:
    rank = {name: index for index, name in enumerate(sections)}
    # sorted() is stable, so the importance/time order survives inside each section.
    return sorted(items, key=lambda item: rank[placed_section(item.section, sections)])


def _item_view(item: DigestItem, position: int, placed_section: str, item_rank: Rank) -> dict:
    title = _one_paragraph(item.title)
    emoji = _one_paragraph(item.emoji)
    return {
        "position": position,
        "anchor": f"item-{position}",
        "title": title,
        "emoji": emoji,
        "heading": f"{title} {emoji}" if emoji else title,
        "section": item.section,  # as the summariser gave it
        "placed_section": placed_section,  # where the sectioned variant shows it
        "importance": item.importance,
        "published": item.published.isoformat(),
        # A bullet is one paragraph: newlines inside it would break the Markdown layout.
        "bullets": [_one_paragraph(bullet) for bullet in item.bullets],
        "links": [{"url": url.strip(), "web": is_web_link(url.strip()), "label": link_label(url.strip())}
                  for url in item.links],
        "highlight": item.highlight,
        "ref": item.ref,
        "score": item_rank.score,  # ranking; not rendered
        "ranking": item_rank.explain(),
    }


def _section_views(views: list[dict], variant: str) -> list[dict]:
    if variant == "flat":
        return [{"name": None, "items": views}] if views else []
    return _sections_of(views)


def _sections_of(views: list[dict]) -> list[dict]:
    sections: list[dict] = []
    for view in views:
        if not sections or sections[-1]["name"] != view["placed_section"]:
            sections.append({"name": view["placed_section"], "items": []})
        sections[-1]["items"].append(view)
    return sections


def _one_paragraph(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()

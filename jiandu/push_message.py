"""The short message an issue is pushed as (pure): its number and date, its stats line, each
story as emoji + title, and the link to the web archive. Chats show the first lines in their
previews, so the title and stats come first; long issues are split by Apprise, not here."""

from __future__ import annotations

from urllib.parse import urljoin


def archive_link(site_url: str, number: int) -> str:
    """Where `jiandu site build` puts the issue's page under JIANDU_SITE_URL."""
    return urljoin(site_url if site_url.endswith("/") else site_url + "/", f"issues/{number}.html")


def push_message(*, publication: str, number: int, date: str, stats: dict,
                 stories: list[tuple[str, str]], site_url: str) -> tuple[str, str]:
    """(title, body) for an issue; `stories` are (emoji, title) in the issue's order."""
    title = f"{publication} 第{number}期 · {date}"
    lines = [
        f"原文共计{stats.get('source_chars', 0)}字，简读后为{stats.get('digest_chars', 0)}字，"
        f"阅读时间为{stats.get('minutes', 0)}分钟，为您提高阅读效率为{stats.get('efficiency', 0)}%",
        "",
        *(f"{emoji} {story}".strip() for emoji, story in stories),
        *(["", f"全文：{archive_link(site_url, number)}"] if site_url else []),  # no archive, no link
    ]
    return title, "\n".join(lines)

"""`jiandu site build`: every published issue into a static web archive with an Atom feed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from jiandu.render import render_body_html
from jiandu.runtime import Runtime
from jiandu.site import SiteIssue, build_site
from jiandu.issue_context import is_web_link
from jiandu.stages.publish import stored_issue_context
from jiandu.models import store


def export_site(rt: Runtime, out_dir: Path, base_url: str | None = None) -> list[Path]:
    """The archive under out_dir; its links start at base_url (default JIANDU_SITE_URL)."""
    settings = rt.settings
    base_url = base_url or settings.site_url
    if not base_url:
        from jiandu.errors import InputError

        raise InputError("JIANDU_SITE_URL is not set: the archive's Atom feed needs the address it will "
                         "be served from; set it, or give --url https://your.site/jiandu/")
    if not is_web_link(base_url):
        from jiandu.errors import InputError

        raise InputError(f"JIANDU_SITE_URL (or --url): not an absolute http(s) URL: {base_url!r}")
    if out_dir.exists() and not out_dir.is_dir():
        from jiandu.errors import InputError

        raise InputError(f"{out_dir}: not a folder (site build writes a folder of pages)")
    issues: list[SiteIssue] = []
    with rt.sessions() as session:
        for issue in store.list_issues(session):
            if issue.status != "published":
                continue  # a draft is not an issue readers have had
            context = stored_issue_context(session, settings, issue)
            highlights = [h["heading"] for h in context["highlights"]]
            issues.append(SiteIssue(
                number=issue.number, date=date.fromisoformat(issue.issue_date), title=issue.subject,
                html=render_body_html(context), summary=" / ".join(highlights[:5]),
            ))
    return build_site(out_dir, issues, publication_name=settings.publication_name,
                      base_url=base_url)

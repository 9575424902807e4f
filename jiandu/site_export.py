"""`jiandu site build`: every published issue into a static web archive with an Atom feed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from jiandu.render import render_body_html
from jiandu.runtime import Runtime
from jiandu.site import SiteIssue, build_site
from jiandu.stages.publish import stored_issue_context
from jiandu.models import store


def export_site(rt: Runtime, out_dir: Path) -> list[Path]:
    settings = rt.settings
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
                      base_url=settings.site_url)

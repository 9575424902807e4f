"""One item as a plain JSON-ready dict: what `jiandu items export` writes per line."""

from __future__ import annotations

from typing import Any

from jiandu.models.schema import Item


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def item_record(item: Item) -> dict[str, Any]:
    text = item.text
    summary = item.summary
    return {
        "id": item.id,
        "source": item.source.name or item.source.url,
        "source_url": item.source.url,
        "url": item.url,
        "links": item.links or [],
        "title": item.title,
        "author": item.author,
        "published": _iso(item.published_at),
        "first_seen": _iso(item.first_seen_at),
        "status": item.status,
        "failed_stage": item.failed_stage,
        "error": item.error,
        "attempts": item.attempts,
        "next_attempt": _iso(item.next_attempt_at),
        "story_id": item.story_id,
        "issue": item.issue.number if item.issue else None,
        "text_origin": item.text_origin,
        "text_reason": item.text_reason,
        "content_type": item.content_type,
        "text": text.content if text else None,
        "source_chars": text.zi if text else 0,
        "summary": None if summary is None else {
            "title": summary.title,
            "emoji": summary.emoji,
            "section": summary.section,
            "importance": summary.importance,
            "bullets": summary.bullets,
            "model": summary.model,
            "prompt_version": summary.prompt_version,
            "prompt_tokens": summary.prompt_tokens,
            "completion_tokens": summary.completion_tokens,
            "requests": summary.requests,
            "repairs": summary.repairs,
            "faithful": summary.faithful,
            "unsupported": summary.unsupported,
        },
        # The editor's version (only the fields changed, with the flags of edited bullets) and
        # every change made at the desk or with `jiandu items edit`: who, when, before, after.
        "edited": item.edited,
        "highlight": item.highlight,
        "edits": [
            {"editor": edit.editor, "at": _iso(edit.created_at), "action": edit.action,
             "issue": edit.issue_number, "before": edit.before, "after": edit.after}
            for edit in item.edits
        ],
    }

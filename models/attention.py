"""Items that need a person's attention: held, failed, or published with a flag for the editor.

Held is never silent: `jiandu status` and every summarise run list these with their reasons.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiandu.models.schema import Item, ItemStatus, SummaryRow

FLAG_PREFIX = "title: "  # flags stored with a summary's claims (jiandu.summarising.answer.TITLE_FLAG)


@dataclass(frozen=True)
class Attention:
    item: int
    status: str  # "held", "failed" or "flagged"
    title: str
    reason: str
    attempts: int = 0


def _title(item: Item) -> str:
    return item.title or item.url or ""


def attention_items(session: Session, limit: int = 20) -> tuple[list[Attention], dict[str, int]]:
    """(up to `limit` items, latest first, of each kind; the count of each kind)."""
    counts: dict[str, int] = {}
    listed: list[Attention] = []
    for status in (ItemStatus.HELD, ItemStatus.FAILED):
        counts[status.value] = session.scalar(select(func.count()).select_from(Item).where(Item.status == status)) or 0
        rows = session.scalars(select(Item).where(Item.status == status).order_by(Item.id.desc()).limit(limit))
        listed += [Attention(item.id, status.value, _title(item), item.error or "(no reason recorded)",
                             item.attempts) for item in rows]
    flagged = []
    waiting = (ItemStatus.SUMMARISED, ItemStatus.DRAFTED)
    query = (select(Item, SummaryRow.unsupported).join(SummaryRow, Item.summary_id == SummaryRow.id)
             .where(Item.status.in_(waiting), SummaryRow.faithful.is_not(False)).order_by(Item.id.desc()))
    for item, unsupported in session.execute(query):
        flags = [claim for claim in unsupported or [] if claim.startswith(FLAG_PREFIX)]
        if flags:
            flagged.append(Attention(item.id, "flagged", _title(item), "; ".join(flags), item.attempts))
    counts["flagged"] = len(flagged)
    return listed + flagged[:limit], counts


def make_due(session: Session, ids: list[int] | None, now) -> tuple[dict[int, str], list[tuple[int, str]]]:
    """Make held or failed items (all of them when ids is None) due now, whatever their backoff.
    Returns ({item id: the stage it waits for}, [(id, why not)] for ids that cannot be retried)."""
    query = select(Item).where(Item.status.in_((ItemStatus.HELD, ItemStatus.FAILED)))
    if ids is not None:
        query = select(Item).where(Item.id.in_(ids))
    found = {item.id: item for item in session.scalars(query)}
    due: dict[int, str] = {}
    refused: list[tuple[int, str]] = []
    for item_id in ids if ids is not None else sorted(found):
        item = found.get(item_id)
        if item is None:
            refused.append((item_id, "no such item"))
        elif item.status not in (ItemStatus.HELD, ItemStatus.FAILED) or not item.failed_stage:
            refused.append((item_id, f"is {item.status}, not held or failed"))
        else:
            item.next_attempt_at = now  # the claim queries take it at once; attempts stay counted
            due[item_id] = item.failed_stage
    return due, refused

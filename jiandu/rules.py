"""What gets summarised: include/exclude rules and a minimum length, judged before any LLM
request (pure).

A rule is a regular expression, matched case-insensitively against an item's title, text, URL
and author; `title:`, `text:`, `url:` or `author:` in front limits it to that field
(`title:AI|大模型`). A plain keyword is a regular expression too. With include rules, an item
must match at least one; with exclude rules, it must match none. The publication's rules
(settings) and the item's source's rules both apply. A skipped item's reason names the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from jiandu.zi import count_zi

FIELDS = ("title", "text", "url", "author")
_FIELD_PREFIX = re.compile(r"^(title|text|url|author):")


class RuleError(ValueError):
    """A rule that is not a valid regular expression; the message names it."""


@dataclass(frozen=True)
class Rule:
    source: str  # as written, for reasons and listings
    pattern: re.Pattern
    fields: tuple[str, ...]

    def matches(self, values: dict[str, str]) -> str | None:
        """The first field the rule matches in, or None."""
        for name in self.fields:
            if self.pattern.search(values.get(name) or ""):
                return name
        return None


def parse_rule(text: str) -> Rule:
    written = text.strip()
    if not written:
        raise RuleError("an empty rule matches everything; leave it out instead")
    prefix = _FIELD_PREFIX.match(written)
    fields = (prefix.group(1),) if prefix else FIELDS
    expression = written[prefix.end():] if prefix else written
    try:
        pattern = re.compile(expression, re.IGNORECASE)
    except re.error as exc:
        raise RuleError(f"{written!r} is not a valid regular expression: {exc}") from None
    return Rule(written, pattern, fields)


@dataclass(frozen=True)
class RuleSet:
    """The rules of one scope ("publication" or "source 3")."""

    scope: str
    include: tuple[Rule, ...] = ()
    exclude: tuple[Rule, ...] = ()
    min_zi: int = 0  # texts shorter than this many 字 are skipped

    @classmethod
    def build(cls, scope: str, include=(), exclude=(), min_zi: int | None = 0) -> "RuleSet":
        return cls(scope, tuple(parse_rule(r) for r in include or ()),
                   tuple(parse_rule(r) for r in exclude or ()), min_zi or 0)

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude or self.min_zi)

    def reason_to_skip(self, values: dict[str, str]) -> str | None:
        for rule in self.exclude:
            where = rule.matches(values)
            if where:
                return f"rule: {self.scope} excludes {rule.source!r} (matched the {where})"
        if self.include and not any(rule.matches(values) for rule in self.include):
            wanted = " or ".join(repr(rule.source) for rule in self.include)
            return f"rule: {self.scope} includes only {wanted} (no match)"
        if self.min_zi and count_zi(values.get("text") or "") < self.min_zi:
            return f"rule: {self.scope} skips texts under {self.min_zi} 字"
        return None


@dataclass(frozen=True)
class Candidate:
    title: str = ""
    text: str = ""
    url: str = ""
    author: str = ""

    def values(self) -> dict[str, str]:
        return {"title": self.title, "text": self.text, "url": self.url, "author": self.author}


def reason_to_skip(candidate: Candidate, rule_sets: list[RuleSet]) -> str | None:
    """Why the item is not summarised, naming the rule; None when every rule lets it through."""
    values = candidate.values()
    for rule_set in rule_sets:
        reason = rule_set.reason_to_skip(values)
        if reason:
            return reason
    return None


# First poll -------------------------------------------------------------------------------------

FIRST_POLL = "first poll"


@dataclass
class FirstPollLimit:
    """A feed polled for the first time contributes only its recent entries: its archive
    (often hundreds of old entries) is recorded as seen, not summarised."""

    max_age_days: float
    max_items: int
    kept: int = field(default=0, init=False)
    skipped: int = field(default=0, init=False)

    def reason_to_skip(self, published: datetime | None, now: datetime) -> str | None:
        """Call in the feed's order (newest first, as feeds list them)."""
        if published is not None and now - published > timedelta(days=self.max_age_days):
            reason = f"{FIRST_POLL}: older than {self.max_age_days:g} days (backfill: jiandu source backfill)"
        elif self.kept >= self.max_items:
            reason = f"{FIRST_POLL}: beyond the newest {self.max_items} entries (backfill: jiandu source backfill)"
        else:
            self.kept += 1
            return None
        self.skipped += 1
        return reason


def skip_kind(reason: str | None) -> str | None:
    """Which filter skipped an item, from its stored reason: "rule", "first poll", "triage"."""
    if not reason:
        return None
    for kind in ("rule", FIRST_POLL, "triage"):
        if reason.startswith(kind + ":"):
            return kind
    return None

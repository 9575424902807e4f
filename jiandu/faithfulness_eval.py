"""Measure the faithfulness checker on a labelled set: false alarms and catches.

The set (tests/fixtures/faithfulness/set.json) holds faithful bullets per article and planted
cases, each one faithful bullet with one replacement (a changed number, a swapped or invented
name, a wrong attribution). A faithful bullet the checker flags is a false alarm; a planted one
is caught when the checker flags something it did not flag in the faithful original.

    python -m jiandu.faithfulness_eval tests/fixtures/faithfulness [--json]
    python -m jiandu.faithfulness_eval --report-only tests/fixtures/faithfulness_holdout

An optional verifier (a callable (bullets, article) -> list of unsupported statements, such as
the LLM verifier) is measured the same way, alone and together with the checker.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from jiandu.cjk import has_han
from jiandu.faithfulness import check_bullets
from jiandu.summarising.simplified import to_simplified

Checker = Callable[[list[str], str], list[str]]
TARGET_FALSE_ALARMS = 0.02  # at most, on faithful bullets
TARGET_CATCH = 0.95  # at least, for planted numbers and names


@dataclass(frozen=True)
class Case:
    article: str
    bullet: str
    kind: str  # "faithful", "number", "name" or "attribution"
    script: str  # of the planted text: "chinese" or "latin"; "" for faithful bullets
    original: str = ""  # the faithful bullet a planted case was made from


class SetError(ValueError):
    """The labelled set is malformed (names the case)."""


def load_set(folder: Path) -> tuple[dict[str, str], list[Case]]:
    """(article texts by name, cases) from folder/set.json and folder/articles/*.txt."""
    data = json.loads((folder / "set.json").read_text(encoding="utf-8"))
    # As the summariser checks them: Traditional Chinese read as Simplified (summarising.simplified).
    articles = {name: to_simplified((folder / "articles" / f"{name}.txt").read_text(encoding="utf-8"))
                for name in data["faithful"]}
    cases = [Case(name, bullet, "faithful", "") for name, bullets in data["faithful"].items()
             for bullet in bullets]
    for number, planted in enumerate(data["planted"], 1):
        name, index = planted["of"]
        old, new = planted["replace"]
        try:
            original = data["faithful"][name][index]
        except (KeyError, IndexError):
            raise SetError(f"planted case {number}: no faithful bullet {name}[{index}]") from None
        if original.count(old) != 1:
            raise SetError(f"planted case {number}: {old!r} is not once in {name}[{index}]")
        script = "chinese" if has_han(new) else "latin"
        cases.append(Case(name, original.replace(old, new), planted["kind"], script, original))
    return articles, cases


@dataclass
class Tally:
    total: int = 0
    hits: int = 0  # false alarms for faithful bullets, catches for planted ones
    examples: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.hits / self.total if self.total else 0.0


def evaluate(articles: dict[str, str], cases: list[Case], checker: Checker = check_bullets) -> dict[str, Tally]:
    """Tallies keyed "faithful" and "<kind>/<script>" and "<kind>" for planted kinds."""
    tallies: dict[str, Tally] = {}
    for case in cases:
        article = articles[case.article]
        flags = set(checker([case.bullet], article))
        if case.kind == "faithful":
            hit, note = bool(flags), f"{case.article}: {sorted(flags)}"
            keys = ["faithful"]
        else:
            new = flags - set(checker([case.original], article))
            hit, note = bool(new), f"{case.article}: {case.bullet[:60]}"
            keys = [case.kind, f"{case.kind}/{case.script}"]
        for key in keys:
            tally = tallies.setdefault(key, Tally())
            tally.total += 1
            tally.hits += hit
            if hit == (case.kind == "faithful"):
                tally.examples.append(note)
    return tallies


def meets_targets(tallies: dict[str, Tally]) -> list[str]:
    """What misses a target; empty when all are met."""
    misses = []
    if tallies["faithful"].rate > TARGET_FALSE_ALARMS:
        misses.append(f"false alarms {tallies['faithful'].rate:.1%} > {TARGET_FALSE_ALARMS:.0%}")
    for kind in ("number", "name"):
        if kind in tallies and tallies[kind].rate < TARGET_CATCH:
            misses.append(f"{kind} catch rate {tallies[kind].rate:.1%} < {TARGET_CATCH:.0%}")
    return misses


def report(title: str, tallies: dict[str, Tally]) -> str:
    lines = [title, f"{'cases':<22}{'n':>5}{'rate':>9}  target"]
    faithful = tallies["faithful"]
    lines.append(f"{'false alarms':<22}{faithful.total:>5}{faithful.rate:>9.1%}  <= {TARGET_FALSE_ALARMS:.0%}")
    for key in sorted(k for k in tallies if k != "faithful"):
        target = f">= {TARGET_CATCH:.0%}" if key in ("number", "name") else ""
        lines.append(f"{'caught ' + key:<22}{tallies[key].total:>5}{tallies[key].rate:>9.1%}  {target}")
    for key in sorted(tallies):
        for example in tallies[key].examples[:8]:
            lines.append(f"  {'false alarm' if key == 'faithful' else 'missed ' + key}: {example}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure the faithfulness checker on a labelled set.")
    parser.add_argument("folder", type=Path, help="folder with set.json and articles/")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--report-only", action="store_true",
                        help="print the figures but do not fail on a missed target (a held-out set)")
    args = parser.parse_args(argv)
    try:
        articles, cases = load_set(args.folder)
    except (OSError, ValueError) as error:
        print(f"error: cannot read the labelled set in {args.folder}: {error}", file=sys.stderr)
        return 2
    measured = {"checker": evaluate(articles, cases)}
    verifier = _configured_verifier()
    if verifier is not None:
        measured["llm verifier"] = evaluate(articles, cases, verifier)
        measured["checker + llm verifier"] = evaluate(
            articles, cases, lambda bullets, article: check_bullets(bullets, article) + verifier(bullets, article))
    if args.json:
        print(json.dumps({name: {key: {"n": t.total, "rate": round(t.rate, 4)} for key, t in tallies.items()}
                          for name, tallies in measured.items()}, ensure_ascii=False, indent=2))
    else:
        for name, tallies in measured.items():
            print(report(f"== {name} ({len(articles)} articles, {len(cases)} cases)", tallies))
            print()
        if verifier is None:
            print("llm verifier: not measured (set JIANDU_VERIFY_MODEL and an endpoint, "
                  "JIANDU_LLM_BASE_URL or JIANDU_LLM_API_KEY, to measure it)")
    misses = meets_targets(measured["checker"])
    for miss in misses:
        print(f"target missed: {miss}" + (" (reported, not enforced)" if args.report_only else ""),
              file=sys.stderr)
    return 1 if misses and not args.report_only else 0


def _configured_verifier() -> Checker | None:
    """The LLM verifier when one is configured (JIANDU_VERIFY_MODEL and an endpoint)."""
    try:
        from jiandu.summarising.verify import verifier_from_settings
    except ImportError:
        return None
    return verifier_from_settings()


if __name__ == "__main__":
    sys.exit(main())

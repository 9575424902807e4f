"""The faithfulness checker meets its targets on the labelled set (issue 14), and `make eval`
is the command that says so."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jiandu.faithfulness_eval import (TARGET_CATCH, TARGET_FALSE_ALARMS, SetError, evaluate, load_set,
                                      meets_targets)

SET = Path(__file__).parent / "fixtures" / "faithfulness"
ROOT = Path(__file__).parent.parent


def test_the_labelled_set_is_real_and_balanced():
    articles, cases = load_set(SET)
    kinds = {case.kind for case in cases}
    assert kinds == {"faithful", "number", "name", "attribution"}
    assert sum(case.kind == "faithful" for case in cases) >= 80
    assert sum(case.kind in ("number", "name") for case in cases) >= 90
    # Chinese and Latin-script articles, Chinese and Latin-script planted errors.
    assert {"qq", "gmw", "youth", "bbc-1", "liberation-1", "heise"} <= set(articles)
    assert {case.script for case in cases if case.kind == "name"} == {"chinese", "latin"}


def test_checker_meets_its_targets():
    tallies = evaluate(*load_set(SET))
    assert tallies["faithful"].rate <= TARGET_FALSE_ALARMS, tallies["faithful"].examples
    assert tallies["number"].rate >= TARGET_CATCH, tallies["number"].examples
    assert tallies["name"].rate >= TARGET_CATCH, tallies["name"].examples
    assert meets_targets(tallies) == []


def test_a_checker_that_flags_nothing_or_everything_misses_the_targets():
    articles, cases = load_set(SET)
    silent = evaluate(articles, cases, lambda bullets, article: [])
    assert silent["number"].rate == 0 and any("catch rate" in miss for miss in meets_targets(silent))
    noisy = evaluate(articles, cases, lambda bullets, article: list(bullets))
    assert any("false alarms" in miss for miss in meets_targets(noisy))


def test_a_planted_case_that_changes_nothing_is_refused(tmp_path):
    shutil.copytree(SET, tmp_path / "set")
    data = json.loads((tmp_path / "set" / "set.json").read_text(encoding="utf-8"))
    data["planted"].append({"of": ["qq", 0], "replace": ["not in the bullet", "x"], "kind": "name"})
    (tmp_path / "set" / "set.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(SetError, match="not once in qq"):
        load_set(tmp_path / "set")


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_eval_prints_the_figures_and_passes():
    venv = Path(sys.executable).parent.parent  # the environment running this test; no reinstall
    result = subprocess.run(["make", "-s", "-o", f"{venv}/.installed-dev", "eval", f"VENV={venv}"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300,
                            env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
                                 "HOME": str(ROOT)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "false alarms" in result.stdout and "caught number" in result.stdout
    assert "llm verifier: not measured" in result.stdout
    assert "held-out set" in result.stdout and result.stdout.count("false alarms") == 2


def test_a_held_out_set_is_reported_not_enforced(capsys):
    from jiandu.faithfulness_eval import main

    holdout = SET.parent / "faithfulness_holdout"
    assert main(["--report-only", str(holdout)]) == 0
    assert "false alarms" in capsys.readouterr().out
    articles, cases = load_set(holdout)
    assert len(articles) == 4 and sum(case.kind == "faithful" for case in cases) == 20

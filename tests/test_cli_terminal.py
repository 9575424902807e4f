"""The mistakes people make at a terminal, through the installed `jiandu` command (issue 13,
items 4 and 5): a short usage message and exit code 2, never a traceback; --debug anywhere;
help without type tags; --version."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

JIANDU = Path(sys.executable).with_name("jiandu")


def jiandu(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "100"}
    return subprocess.run([str(JIANDU), *args], capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize("args, says", [
    (["isue", "list"], "No such command 'isue'"),
    (["source", "add"], "Missing argument 'URL|PATH'"),
    (["issue", "show", "abc"], "Invalid value for 'NUMBER'"),
    (["run", "--sinse", "x"], "No such option: --sinse"),
    (["issue", "show", "1", "--format"], "Option '--format' requires an argument"),
    (["links", "import"], "Missing argument 'FILE...'"),
])
def test_usage_mistakes_get_the_usage_line_and_exit_code_2(args, says):
    proc = jiandu(*args)
    assert proc.returncode == 2, proc.stderr
    assert says in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(proc.stderr.splitlines()) <= 5, proc.stderr
    if args[0] != "issue" or "--format" not in args:
        assert proc.stderr.startswith("Usage: jiandu ")


@pytest.mark.parametrize("args", [[], ["source"], ["issue"], ["links"]])
def test_a_command_group_alone_shows_its_help_without_a_traceback(args):
    proc = jiandu(*args)
    shown = proc.stdout + proc.stderr
    assert proc.returncode == 2
    assert f"Usage: jiandu {' '.join(args)}".strip() in shown
    assert "Commands" in shown
    assert "Traceback" not in shown and "NoArgsIsHelpError" not in shown


def test_debug_is_accepted_after_the_subcommand_and_shows_the_traceback():
    before = jiandu("issue", "show", "99")
    assert before.returncode == 1 and "no issue number 99" in before.stderr
    assert "Traceback" not in before.stderr
    after = jiandu("issue", "show", "99", "--debug")
    assert "No such option" not in after.stderr
    assert after.returncode != 0 and "Traceback" in after.stderr and "no issue number 99" in after.stderr


def test_version():
    from importlib.metadata import version

    proc = jiandu("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"jiandu {version('jiandu')}"


@pytest.mark.parametrize("args", [["issue", "show"], ["links", "import"], ["publish"], ["source", "add"],
                                  ["--help"]])
def test_help_names_parameters_as_conventional_clis_do(args):
    proc = jiandu(*(args if args == ["--help"] else [*args, "--help"]))
    assert proc.returncode == 0, proc.stderr
    for tag in ("<bool>", "<int>", "<str>", "<list", "<Path>", "{"):
        assert tag not in proc.stdout, (tag, proc.stdout)
    usage = proc.stdout.strip().splitlines()[0].strip()
    expected = {"issue": "NUMBER", "links": "FILE...", "publish": "[OPTIONS]", "source": "URL|PATH",
                "--help": "COMMAND [ARGS]..."}[args[0]]
    assert usage.endswith(expected), usage
    if args == ["publish"]:
        assert "--since" in proc.stdout and "DATE" in proc.stdout


def test_long_work_reports_progress_as_plain_lines_when_not_a_terminal(tmp_path):
    """Issue 13, item 7: `jiandu ingest` in a pipe says what it is doing, line by line."""
    entries = "".join(f"<item><guid>g{n}</guid><title>t{n}</title><description>第{n}条消息的正文，"
                      f"讲的是一件具体的事情。</description></item>" for n in range(30))
    for name in ("a", "b"):
        (tmp_path / f"{name}.xml").write_text(
            f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{name}</title>"
            f"{entries}</channel></rss>", encoding="utf-8")
        assert jiandu("source", "add", str(tmp_path / f"{name}.xml")).returncode == 0
    proc = jiandu("ingest")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert "feeds: 2 to do" in lines
    assert any(line.startswith("feeds: 2/2 done (") for line in lines), lines
    assert any(line.startswith("pages: 60/60 done (") for line in lines), lines
    assert "\x1b[" not in proc.stderr  # no terminal codes in a log


def test_plain_progress_says_a_line_every_tenth_at_most_every_few_seconds():
    import io

    from jiandu.cli_progress import PlainProgress

    now = [0.0]
    out = io.StringIO()
    with PlainProgress(out, clock=lambda: now[0], min_gap=5) as bar:
        bar.start("feeds", 100)
        for _ in range(100):
            now[0] += 1
            bar.advance("feeds")
    lines = out.getvalue().splitlines()
    assert lines[0] == "feeds: 100 to do"
    assert lines[-1] == "feeds: 100/100 done (100 s)"
    assert 8 <= len(lines) <= 12  # about one line per tenth

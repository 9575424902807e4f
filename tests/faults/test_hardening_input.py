"""Issue 12, hole 9: more bad input that used to end in a traceback. Each gets one line naming
the input, a non-zero exit (or, for a list that holds one bad entry, the rest imported and the
bad one named), and no traceback unless --debug."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.test_bad_input import Case, clean_env

DEEP_OPML = (b'<?xml version="1.0"?><opml version="2.0"><body>' + b'<outline text="x">' * 100_000
             + b'<outline text="f" xmlUrl="https://example.com/f"/>' + b"</outline>" * 100_000
             + b"</body></opml>")

CASES = [
    Case("broken IPv6 literal, source add", ["source", "add", "http://[::1"], ["http://[::1"]),
    Case("broken IPv6 literal, links add", ["links", "add", "http://[::1"], ["http://[::1"]),
    Case("broken IPv6 literal in a URL list", ["links", "import", "urls.txt"], [], ok=True,
         stdout="urls.txt\t1\t1", files={"urls.txt": b"http://[::1\nhttps://example.com/fine\n"}),
    Case("broken IPv6 literal in an OPML file", ["source", "import-opml", "feeds.opml"], [], ok=True,
         stdout="added", files={"feeds.opml": b'<?xml version="1.0"?><opml version="2.0"><body>'
                                              b'<outline text="bad" xmlUrl="http://[::1"/>'
                                              b'<outline text="ok" xmlUrl="https://example.com/f"/>'
                                              b"</body></opml>"}),
    Case("OPML nested 100,000 deep", ["source", "import-opml", "deep.opml"], [], ok=True,
         stdout="added", files={"deep.opml": DEEP_OPML}),
    Case("jiandu.toml that is not UTF-8", ["config"], ["jiandu.toml", "UTF-8"],
         files={"jiandu.toml": 'publication_name = "简读"\n'.encode("gbk")}),
    Case("JIANDU_LLM_PRICES that is not JSON", ["config"], ["JIANDU_LLM_PRICES"],
         env={"JIANDU_LLM_PRICES": "{bad"}),
    Case("mysql database URL", ["source", "list"], ["JIANDU_DATABASE_URL", "mysql"],
         env={"JIANDU_DATABASE_URL": "mysql://u@127.0.0.1/db"}),
    Case("database file that is text", ["source", "list"], ["JIANDU_DATABASE_URL", "not.db"],
         files={"not.db": b"this is a text file, not a database\n" * 200},
         env={"JIANDU_DATABASE_URL": "sqlite:///not.db"}),
    Case("JIANDU_HOME below a file", ["source", "list"], ["JIANDU_HOME", "a-file"],
         files={"a-file": b"x"}, env={"JIANDU_HOME": "a-file/home"}),
    Case("JIANDU_MAIL_SUBJECT with an unknown field", ["config"], ["JIANDU_MAIL_SUBJECT", "nope"],
         env={"JIANDU_MAIL_SUBJECT": "{nope}"}),
]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    running = {}
    for number, case in enumerate(CASES):
        folder = tmp_path_factory.mktemp(f"case{number}")
        for name, data in case.files.items():
            (folder / name).write_bytes(data)
        env = clean_env(folder / "home", case.env)
        if "JIANDU_HOME" in case.env:
            env["JIANDU_HOME"] = str(folder / case.env["JIANDU_HOME"])
        running[case.name] = subprocess.Popen(
            [sys.executable, "-m", "jiandu", *case.args], cwd=folder, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = {}
    for name, proc in running.items():
        out, err = proc.communicate(timeout=120)
        results[name] = (proc.returncode, out, err)
    return results


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_more_bad_input_gets_one_clear_line(case, outcomes):
    code, out, err = outcomes[case.name]
    assert "Traceback" not in err, err[-2000:]
    if case.ok:
        assert code == 0 and case.stdout in out, (code, out, err)
        return
    assert code == 1, (code, out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for name in case.names:
        assert name in err, (name, err)

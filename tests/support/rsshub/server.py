"""A real RSSHub (npm `rsshub` 1.0.0) on 127.0.0.1 for the tests that follow RSSHub routes.

tests/support/rsshub/setup.sh installs it outside the package (JIANDU_RSSHUB_DIR, default
~/.cache/jiandu-rsshub); .ci/run calls it. Where Node or the install is missing, the fixture
skips its tests with the reason. The server runs with an ACCESS_KEY, no cache and no log
files, and is ready when `GET /` answers (6-10 s).

    from tests.support.rsshub.server import rsshub_server  # noqa: F401  (pytest fixture)
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ACCESS_KEY = "rsshub-test-access-key-7f3a"
READY_SECONDS = 60


@dataclass
class RSSHub:
    url: str
    access_key: str
    log: Path


def install_dir() -> Path:
    return Path(os.environ.get("JIANDU_RSSHUB_DIR") or Path.home() / ".cache" / "jiandu-rsshub")


def entry_point() -> Path:
    return install_dir() / "node_modules" / "rsshub" / "lib" / "index.js"


def missing() -> str | None:
    """Why a real RSSHub cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed: RSSHub tests need Node.js (see tests/support/rsshub/setup.sh)"
    if not entry_point().is_file():
        return (f"RSSHub is not installed in {install_dir()}: run tests/support/rsshub/setup.sh "
                "(needs npm and the registry)")
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def rsshub_server(tmp_path_factory):
    reason = missing()
    if reason:
        pytest.skip(reason)
    port = free_port()
    log = tmp_path_factory.mktemp("rsshub") / "rsshub.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIANDU_", "OPENAI_"))}
    # ALLOW_LOCALHOST stays unset: with it, loopback requests would skip the access check.
    env.update(PORT=str(port), NO_LOGFILES="1", CACHE_TYPE="", ACCESS_KEY=ACCESS_KEY,
               NODE_ENV="production", LOGGER_LEVEL="warn")
    env.pop("ALLOW_LOCALHOST", None)
    with log.open("wb") as out:
        process = subprocess.Popen(["node", str(entry_point())], cwd=install_dir(), env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            if process.poll() is not None:
                pytest.skip(f"RSSHub exited at start ({process.returncode}): {log.read_text()[-500:]}")
            try:
                if httpx.get(url + "/", timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"RSSHub did not answer GET / within {READY_SECONDS} s: {log.read_text()[-500:]}")
            time.sleep(0.3)
        yield RSSHub(url=url, access_key=ACCESS_KEY, log=log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

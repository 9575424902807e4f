"""Running measured jobs: a throw-away jiandu home per scenario, one warm PREFECT_HOME for all,
and each job in a fresh Python process so start-up and peak memory are its own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class JobResult:
    wall: float  # seconds from spawning the process to its exit
    peak_rss_mb: float | None
    stage_seconds: dict = field(default_factory=dict)
    reports: dict = field(default_factory=dict)
    peak_rss_after_mb: dict = field(default_factory=dict)  # peak RSS so far, after each stage


class JobFailed(RuntimeError):
    """A measured process failed; carries what it printed to stderr."""

    def __init__(self, message: str, stderr: str) -> None:
        super().__init__(message)
        self.stderr = stderr


class Workspace:
    """Scratch directories for one benchmark session, removed at the end unless kept."""

    def __init__(self, keep: bool = False) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="jiandu-bench-"))
        self.prefect_home = self.root / "prefect"
        self.keep = keep
        self.api_url: str | None = None  # set while a Prefect server of ours runs

    def home(self, name: str) -> Path:
        home = self.root / name
        if home.exists():
            shutil.rmtree(home)
        home.mkdir(parents=True)
        return home

    def env(self, home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("JIANDU_", "PREFECT_", "OPENAI_"))}
        env.update({
            "JIANDU_HOME": str(home),
            "JIANDU_ALLOW_PRIVATE_HOSTS": "1",
            # The loopback world's entries are dated and a feed holds up to thousands of them.
            "JIANDU_FIRST_POLL_MAX_AGE_DAYS": "36500",
            "JIANDU_FIRST_POLL_MAX_ITEMS": "1000000",
            # The scenarios measure summarising against the LLM's bound: one request per text,
            # as before topic triage (on by default with an LLM) added one.
            "JIANDU_TRIAGE": "off",
            "PREFECT_HOME": str(self.prefect_home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "ERROR",
            "PYTHONPATH": str(ROOT),
        })
        env.update(extra or {})
        return env

    def run(self, home: Path, mode: str, arguments: list[str],
            extra_env: dict[str, str] | None = None) -> JobResult:
        """`python -m bench.probe` in `home` as the working directory (no stray jiandu.toml)."""
        out = home / f"probe-{time.monotonic_ns()}.json"
        command = [sys.executable, "-X", "faulthandler", "-m", "bench.probe", str(out), mode, *arguments]
        began = time.perf_counter()
        done = subprocess.run(command, cwd=home, env=self.env(home, extra_env),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - began
        if done.returncode != 0 or not out.exists():
            raise JobFailed(f"{' '.join(command[4:])} in {home} exited with {done.returncode}",
                            done.stderr[-4000:])
        probe = json.loads(out.read_text(encoding="utf-8"))
        return JobResult(wall=wall, peak_rss_mb=probe.get("peak_rss_mb"),
                         stage_seconds=probe.get("stage_seconds", {}),
                         reports=probe.get("reports", {}),
                         peak_rss_after_mb=probe.get("peak_rss_after_mb", {}))

    def time_command(self, home: Path, command: list[str],
                     extra_env: dict[str, str] | None = None) -> float:
        """Wall seconds of a plain command (`python -m jiandu ...`, a script) in `home`."""
        began = time.perf_counter()
        done = subprocess.run(command, cwd=home, env=self.env(home, extra_env),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - began
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n"
                               f"{done.stderr[-3000:]}")
        return wall

    def close(self) -> None:
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)


class PrefectServer:
    """`prefect server start` on 127.0.0.1 for the 'reuse a running server' measurement."""

    def __init__(self, workspace: Workspace, port: int = 4271) -> None:
        self.url = f"http://127.0.0.1:{port}/api"
        home = workspace.home("prefect-server")
        env = workspace.env(home, {"PREFECT_HOME": str(home / "prefect"), "PREFECT_UI_ENABLED": "false"})
        self.log = (home / "server.log").open("w")
        began = time.perf_counter()
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1",
             "--port", str(port), "--analytics-off"],
            cwd=home, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = began + 120
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prefect server exited with {self.process.returncode}; see {self.log.name}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        else:
            self.close()
            raise RuntimeError("prefect server did not answer /health within 120 s")
        self.ready_seconds = time.perf_counter() - began

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

"""`jiandu serve` and the deployments: names, schedules and prefect.yaml agree; and, for real,
`jiandu serve` starts its own Prefect server, a run triggered by deployment name completes and
publishes, and Ctrl-C stops the runner and the server."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml

from jiandu.flows.deployments import DEPLOYMENT_NAMES, PLANS, build_deployments
from jiandu.flows.serve import prefect_command
from jiandu.settings import Settings
from tests.support.http_server import LocalHTTPServer
from tests.support.world import serve_world

ROOT = Path(__file__).resolve().parent.parent


def test_deployments_carry_the_cron_settings_in_the_publications_time_zone():
    settings = Settings(ingest_cron="*/30 * * * *", publish_cron="30 7 * * 1",
                        timezone="Europe/Berlin")
    deployments = {f"{d.flow_name}/{d.name}": d for d in build_deployments(settings)}
    assert list(deployments) == DEPLOYMENT_NAMES
    crons = {name: [(s.schedule.cron, s.schedule.timezone) for s in d.schedules]
             for name, d in deployments.items()}
    assert crons == {
        "ingest-and-summarise/hourly": [("*/30 * * * *", "Europe/Berlin")],
        "publish/daily": [("30 7 * * 1", "Europe/Berlin")],
        "pipeline/manual": [],
    }
    assert all(d.entrypoint.startswith("jiandu.flows.") for d in deployments.values())


def test_prefect_yaml_offers_the_same_deployments_as_jiandu_serve():
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    defaults = Settings()
    declared = {}
    for entry in config["deployments"]:
        module, _, name = entry["entrypoint"].partition(":")
        flow_name = getattr(__import__(module.replace("/", ".").removesuffix(".py"),
                                       fromlist=[name]), name).name
        crons = [(s["cron"], s["timezone"]) for s in entry.get("schedules") or []]
        declared[f"{flow_name}/{entry['name']}"] = crons
        assert entry["work_pool"]["name"] == config["deployments"][0]["work_pool"]["name"]
    expected = {plan.full_name: ([(getattr(defaults, plan.cron_setting), defaults.timezone)]
                                 if plan.cron_setting else []) for plan in PLANS}
    assert declared == expected


def _read_lines(stream, lines: list[str]) -> None:
    for line in stream:
        lines.append(line)


def _wait_for(lines: list[str], pattern: str, process: subprocess.Popen, timeout: float) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(lines):
            if match := re.search(pattern, line):
                return match
        assert process.poll() is None, "jiandu serve exited:\n" + "".join(lines)
        time.sleep(0.1)
    raise AssertionError(f"no {pattern!r} within {timeout} s:\n" + "".join(lines))


@pytest.mark.slow
def test_jiandu_serve_runs_a_deployment_triggered_by_name_then_stops_on_ctrl_c(jiandu_env, monkeypatch):
    from jiandu.flows.serve import free_port

    home = jiandu_env
    port = free_port()
    started = time.monotonic()
    with LocalHTTPServer() as site:
        urls = serve_world(site)
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(("JIANDU_", "OPENAI_", "PREFECT_"))}
        env.update({
            "JIANDU_HOME": str(home),
            "JIANDU_ALLOW_PRIVATE_HOSTS": "true",
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",  # pick triggered runs up quickly (default 10 s)
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PYTHONPATH": str(ROOT),
            "JIANDU_PREFECT_PORT": str(port),  # a stable port, configurable (4200 by default)
            "JIANDU_FIRST_POLL_MAX_AGE_DAYS": "36500",  # the world's entries are dated 2026-11-20
        })
        jiandu = [sys.executable, "-m", "jiandu"]
        subprocess.run([*jiandu, "source", "add", site.url("/feed.xml")], env=env, check=True,
                       capture_output=True)

        serve = subprocess.Popen([*jiandu, "serve"], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
        lines: list[str] = []
        threading.Thread(target=_read_lines, args=(serve.stdout, lines), daemon=True).start()
        try:
            api_url = _wait_for(lines, r"Prefect server: (http://\S+/api)", serve, 60).group(1)
            assert api_url == f"http://127.0.0.1:{port}/api"
            printed = _wait_for(lines, r"Trigger a run now: (jiandu trigger)   \(or: (.+)\)$", serve, 30)
            _wait_for(lines, r"\$ prefect deployment run", serve, 30)  # Prefect's: deployments are in
            ready = time.monotonic()
            # The UI is told where the API really is (else: "Unable to connect to Prefect server").
            ui_settings = httpx.get(f"{api_url.removesuffix('/api')}/ui-settings", timeout=10).json()
            assert ui_settings["api_url"] == api_url

            # Both printed commands work as printed: `jiandu trigger` (here waiting for the end)...
            triggered = subprocess.run([*jiandu, *printed.group(1).split()[1:], "--wait"], env=env,
                                       capture_output=True, text=True, timeout=120)
            ran = time.monotonic()
            assert triggered.returncode == 0, triggered.stdout + triggered.stderr
            assert "Ended: Completed" in triggered.stdout
            # ... and Prefect's own, pasted into a shell as it is.
            count = httpx.post(f"{api_url}/flow_runs/count", json={}, timeout=10).json()
            pasted = subprocess.run(["bash", "-c", printed.group(2)],
                                    env={**env, "PATH": f"{Path(prefect_command()[0]).parent}:{env['PATH']}"},
                                    capture_output=True, text=True, timeout=90)
            assert pasted.returncode == 0, pasted.stdout + pasted.stderr
            assert httpx.post(f"{api_url}/flow_runs/count", json={}, timeout=10).json() == count + 1

            # `jiandu run` on the same home uses this server instead of a temporary one.
            def flow_runs() -> int:
                return httpx.post(f"{api_url}/flow_runs/count", json={}, timeout=10).json()

            before = flow_runs()
            local = subprocess.run([*jiandu, "run"], env=env, capture_output=True, text=True,
                                   timeout=120)
            assert local.returncode == 0, local.stdout + local.stderr
            assert flow_runs() == before + 1
        finally:
            serve.send_signal(signal.SIGINT)  # Ctrl-C
            try:
                serve.wait(30)
            finally:
                if serve.poll() is None:
                    serve.kill()
        stopped = time.monotonic()

    assert serve.returncode == 130, "".join(lines)  # Ctrl-C, as every command ends on it (e5fd157)
    assert "Prefect server stopped." in "".join(lines)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{api_url}/health", timeout=2)
    # Prefect's state lives under jiandu's home; the run did all three stages and made an issue.
    assert (home / "prefect" / "prefect.db").exists()
    with sqlite3.connect(home / "jiandu.db") as db:
        stages = [stage for (stage,) in db.execute("SELECT stage FROM runs ORDER BY id")]
        issues = db.execute("SELECT number FROM issues").fetchall()
        items = db.execute("SELECT count(*) FROM items").fetchone()[0]
    assert stages[:3] == ["ingest", "summarise", "publish"]
    assert issues == [(1,)]
    assert items == len(urls)
    print(f"server+serve ready {ready - started:.1f} s, run {ran - ready:.1f} s, "
          f"stop {stopped - ran:.1f} s")

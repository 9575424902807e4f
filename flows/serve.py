"""`jiandu serve`: run the schedules until Ctrl-C or SIGTERM, with no other set-up.

Prefect's `serve` cannot schedule against the temporary (ephemeral) server a plain flow run
starts, so unless PREFECT_API_URL names a server this starts `prefect server start` itself on a
free loopback port, keeping its database under PREFECT_HOME (inside JIANDU_HOME), and stops it
again on the way out. Deployment names are in flows.deployments.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import httpx

from jiandu.errors import JianduError
from jiandu.settings import Settings, config_file

SERVER_STARTUP_TIMEOUT = 120.0  # a fresh SQLite database migrates first: 11 s here, more on slow disks
SERVER_STOP_TIMEOUT = 15.0


class PrefectServerError(JianduError):
    pass


@dataclass
class LocalPrefectServer:
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"(no log at {self.log_path}: {exc})"

    def stop(self) -> None:
        """SIGTERM to the server's process group, then SIGKILL if it does not end in time."""
        if self.process.poll() is not None:
            return
        _signal_group(self.process, signal.SIGTERM)
        try:
            self.process.wait(SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _signal_group(self.process, signal.SIGKILL)
            self.process.wait()


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prefect_command() -> list[str]:
    script = Path(sys.executable).with_name("prefect")
    if script.exists():
        return [str(script)]
    found = shutil.which("prefect")
    if found:
        return [found]
    return [sys.executable, "-m", "prefect"]


def check_port_free(port: int) -> None:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise PrefectServerError(
                f"JIANDU_PREFECT_PORT: 127.0.0.1:{port} is taken ({exc.strerror}); another Prefect "
                f"server? Point PREFECT_API_URL at it, or set JIANDU_PREFECT_PORT to a free port "
                f"(0: any)") from None


def start_local_server(prefect_home: Path, *, timeout: float = SERVER_STARTUP_TIMEOUT,
                       ui: bool = True, port: int = 0) -> LocalPrefectServer:
    """Start `prefect server start` on 127.0.0.1:port (0: a free one) and wait until
    /api/health answers."""
    prefect_home.mkdir(parents=True, exist_ok=True)
    if port:
        check_port_free(port)
    else:
        port = free_port()
    log_path = prefect_home / "server.log"
    api_url = f"http://127.0.0.1:{port}/api"
    # The UI asks /ui-settings where the API is; without this it says 127.0.0.1:4200 whatever
    # the port, and shows "Unable to connect to Prefect server".
    env = dict(os.environ, PREFECT_HOME=str(prefect_home.resolve()),
               PREFECT_UI_ENABLED="true" if ui else "false",
               PREFECT_UI_API_URL=api_url, PREFECT_SERVER_UI_API_URL=api_url)
    env.pop("PREFECT_API_URL", None)
    with open(log_path, "ab") as log:
        # A session of its own: Ctrl-C in the terminal reaches `jiandu serve`, which stops the
        # runner first and the server after it, instead of both dying at once.
        process = subprocess.Popen(
            [*prefect_command(), "server", "start", "--host", "127.0.0.1", "--port", str(port),
             "--analytics-off"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True,
        )
    server = LocalPrefectServer(process, port, log_path)
    try:
        wait_until_healthy(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def wait_until_healthy(server: LocalPrefectServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise PrefectServerError(
                f"prefect server exited with status {server.process.returncode} before it was "
                f"ready; log {server.log_path}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.api_url}/health", timeout=2).status_code == 200:
                return
            last_error = "health check did not answer 200"
        except httpx.HTTPError as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        time.sleep(0.25)
    raise PrefectServerError(
        f"prefect server at {server.api_url} not healthy after {timeout:.0f} s ({last_error}); "
        f"log {server.log_path}:\n{server.log_tail()}")


def running_server_file(prefect_home: Path) -> Path:
    """Where `jiandu serve` leaves the address of the server it started."""
    return prefect_home / "serve-api-url"


def _exit_on_sigterm(signum, frame) -> None:  # noqa: ANN001
    raise SystemExit(0)  # unwinds through `finally`, so the server is stopped


def serve_schedules(settings: Settings) -> None:
    """Serve jiandu's deployments until Ctrl-C or SIGTERM; start a local server if none is set."""
    from jiandu.flows import prepare_prefect_environment

    prepare_prefect_environment(settings.home)  # before Prefect is imported

    # Flow runs are subprocesses started wherever; they must find the same home and config.
    os.environ["JIANDU_HOME"] = str(settings.home.resolve())
    path = config_file()
    if path is not None:
        os.environ["JIANDU_CONFIG"] = str(path.resolve())
    previous_handler = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    server = None
    desk = None
    try:
        desk = start_desk(settings)
        if not os.environ.get("PREFECT_API_URL"):
            prefect_home = Path(os.environ["PREFECT_HOME"])
            print(f"Starting a Prefect server (database under {prefect_home}) ...", flush=True)
            server = start_local_server(prefect_home, port=settings.prefect_port)
            os.environ["PREFECT_API_URL"] = server.api_url
            print(f"Prefect server: {server.api_url}  (UI: {server.ui_url})", flush=True)
            # `jiandu run` finds this server and skips starting a temporary one of its own.
            running_server_file(prefect_home).write_text(server.api_url, encoding="utf-8")
        print("Trigger a run now: jiandu trigger   (or: "
              f"PREFECT_API_URL={os.environ['PREFECT_API_URL']} prefect deployment run 'pipeline/manual')",
              flush=True)
        _serve(settings)
    finally:
        if server is not None:
            running_server_file(Path(os.environ["PREFECT_HOME"])).unlink(missing_ok=True)
            server.stop()
            print("Prefect server stopped.", flush=True)
        if desk is not None:
            desk.stop()
        signal.signal(signal.SIGTERM, previous_handler)


def start_desk(settings: Settings):
    """The editor's desk on 127.0.0.1:JIANDU_DESK_PORT beside the schedules (0: none). A desk
    that cannot start (port in use) is reported and the schedules run without it."""
    if not settings.desk_port:
        return None
    from jiandu.desk.server import start_desk_thread
    from jiandu.runtime import open_runtime

    try:
        desk = start_desk_thread(open_runtime(settings), host="127.0.0.1", port=settings.desk_port)
    except JianduError as exc:
        print(f"The editor's desk is not running: {exc}", flush=True)
        return None
    print(f"The editor's desk: {desk.url}", flush=True)
    return desk


def _serve(settings: Settings) -> None:
    from prefect import serve
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from jiandu.flows.deployments import build_deployments

    # Prefect's own SIGTERM handler calls an async stop without awaiting it; harmless here (nothing
    # to pause), but it would print a RuntimeWarning on every clean shutdown.
    warnings.filterwarnings("ignore", message="coroutine 'Runner.astop' was never awaited",
                            category=RuntimeWarning)
    with temporary_settings(updates={PREFECT_API_URL: os.environ["PREFECT_API_URL"]}):
        # Not paused on shutdown: the schedules resume by themselves when serve starts again.
        serve(*build_deployments(settings), pause_on_shutdown=False)

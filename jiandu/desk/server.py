"""Serving the desk: `jiandu desk` in the foreground, or beside the schedules in `jiandu serve`."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from jiandu.desk.security import DeskRefused, DeskSecurity, is_loopback
from jiandu.errors import InputError
from jiandu.runtime import Runtime


def security_for(rt: Runtime, host: str) -> DeskSecurity:
    token = rt.settings.desk_token.get_secret_value() if rt.settings.desk_token else None
    try:
        return DeskSecurity(host=host, token=token or None)
    except DeskRefused as exc:
        raise InputError(str(exc)) from None


def _server(rt: Runtime, host: str, port: int, announce: str | None = None):
    import uvicorn

    from jiandu.desk.app import create_app

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets=sockets)
            if announce and self.started:  # said once it listens, not before
                print(announce, flush=True)

    app = create_app(rt, security_for(rt, host))
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            server_header=False, proxy_headers=False)
    return Server(config)


def desk_url(host: str, port: int) -> str:
    shown = host if not is_loopback(host) or host == "localhost" else "127.0.0.1"
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def run_desk(rt: Runtime, *, host: str = "127.0.0.1", port: int = 8765,
             open_browser: bool = False) -> None:
    """Serve the desk until Ctrl-C."""
    url = desk_url(host, port)
    server = _server(rt, host, port, announce=f"The editor's desk: {url}  (Ctrl-C to stop)")
    if open_browser:
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    try:
        server.run()
    except SystemExit:  # uvicorn exits when it cannot bind
        pass
    if not server.started:
        raise InputError(f"the desk could not listen on {host}:{port} (is the port in use?)")


@dataclass
class DeskThread:
    server: object
    thread: threading.Thread
    url: str

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def _run_quietly(server) -> None:
    try:
        server.run()
    except SystemExit:  # uvicorn exits when it cannot bind; the caller reports it
        pass


def start_desk_thread(rt: Runtime, *, host: str, port: int, timeout: float = 10.0) -> DeskThread:
    """The desk in a daemon thread (for `jiandu serve`); returns once it listens."""
    server = _server(rt, host, port)
    thread = threading.Thread(target=_run_quietly, args=(server,), name="jiandu-desk", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        server.should_exit = True
        raise InputError(f"the desk could not listen on {host}:{port} (is the port in use?)")
    return DeskThread(server=server, thread=thread, url=desk_url(host, port))

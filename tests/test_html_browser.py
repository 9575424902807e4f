"""The HTML edition in a real headless Chromium: no horizontal overflow from 320 px to desktop.

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe), because the
command-line --window-size cannot go below the 500 px minimum of a headless window. Screenshots
land in build/screenshots/ for a person to look at.
"""

from __future__ import annotations

import base64
import datetime
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from jiandu.issue_context import build_context
from jiandu.records import DigestItem
from jiandu.render import render
from tests.fixtures.issues.sample_issue import ISSUE_DATE, sample_items, sample_publication

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip(
        "chromium not installed (apt-get install -y chromium fonts-wqy-microhei fonts-noto-color-emoji)",
        allow_module_level=True,
    )

SCREENSHOTS = Path(__file__).resolve().parents[1] / "build" / "screenshots"
TIMEOUT_SECONDS = 20

OVERFLOW_PROBE = """(() => {
  const root = document.documentElement;
  const limit = root.clientWidth + 0.5;
  const wide = [...document.body.querySelectorAll('*')]
    .filter(el => el.getBoundingClientRect().right > limit)
    .map(el => el.tagName.toLowerCase() + '.' + (el.className || '') + ' right=' + el.getBoundingClientRect().right);
  return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, wide: wide.slice(0, 5),
          height: root.scrollHeight,
          background: getComputedStyle(document.querySelector('.container')).backgroundColor,
          containerWidth: document.querySelector('.container').getBoundingClientRect().width,
          fontSize: getComputedStyle(document.querySelector('.bullets li')).fontSize};
})()"""


class DevTools:
    """A minimal DevTools-protocol client over Chromium's pipe (fd 3 in, fd 4 out, NUL-framed)."""

    def __init__(self, profile_dir: Path):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_pipes():  # in the child: put the pipe ends at fd 3 and 4, inheritable
            # Move both out of the way first: either may already sit at 3 or 4.
            browser_in = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            browser_out = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(browser_in, 3)
            os.dup2(browser_out, 4)

        self.process = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
                f"--user-data-dir={profile_dir}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire_pipes,
            close_fds=False,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.session_id: str | None = None

    def call(self, method: str, params: dict | None = None, *, session: bool = True) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session_id:
            message["sessionId"] = self.session_id
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def wait_for(self, event: str) -> dict:
        while True:
            message = self._read()
            if message.get("method") == event:
                return message.get("params", {})

    def _read(self) -> dict:
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_browser], [], [], max(remaining, 0))
            if not ready:
                raise TimeoutError(f"Chromium did not answer within {TIMEOUT_SECONDS} s")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise ConnectionError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        frame, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(frame)

    def open_page(self) -> None:
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.call(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, session=False
        )
        self.session_id = attached["sessionId"]
        self.call("Page.enable")

    def load(self, url: str, *, width: int, dark: bool) -> None:
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": width < 600},
        )
        self.call(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]},
        )
        self.call("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result["result"]["value"]

    def screenshot(self, path: Path, *, width: int, height: int) -> None:
        shot = self.call(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            },
        )
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        try:
            self.call("Browser.close", session=False)
        except (RuntimeError, TimeoutError, ConnectionError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


def stress_items() -> list[DigestItem]:
    """The golden sample plus the things that break narrow layouts: a very long URL and word."""
    long_url = "https://example.com/" + "very-long-path-segment-without-any-break/" * 6 + "?q=" + "x" * 120
    return sample_items() + [
        DigestItem(
            title="超长链接与超长英文单词不应撑破窄屏Supercalifragilisticexpialidocious" * 2,
            emoji="📏",
            section="其他",
            importance=1,
            bullets=[
                "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3 + "这一要点含有一个极长的英文单词。",
                "这一条的链接有三百多个字符，窄屏上必须在任意位置折行，而不能让页面出现横向滚动条。",
                "最后一条要点是普通的中文段落，用来确认正文在窄屏上以正常的字号和行距显示。",
            ],
            links=[long_url, "https://example.org/short"],
            published=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
            source_chars=1500,
        )
    ]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    devtools = DevTools(tmp_path_factory.mktemp("chromium-profile"))
    try:
        devtools.open_page()
        yield devtools
    finally:
        devtools.close()


@pytest.fixture(scope="module")
def issue_url(tmp_path_factory) -> str:
    context = build_context(sample_publication(), stress_items(), number=7, date=ISSUE_DATE)
    page = tmp_path_factory.mktemp("issue") / "issue.html"
    page.write_text(render(context, "html"), encoding="utf-8")
    return page.as_uri()


@pytest.mark.parametrize(("width", "dark"), [(320, False), (375, False), (375, True), (1024, False)])
def test_html_edition_fits_the_screen(browser, issue_url, width, dark):
    browser.load(issue_url, width=width, dark=dark)
    measured = browser.evaluate(OVERFLOW_PROBE)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = f"issue-{width}{'-dark' if dark else ''}.png"
    browser.screenshot(SCREENSHOTS / name, width=width, height=min(measured["height"], 6000))

    assert width - 20 <= measured["clientWidth"] <= width  # less a desktop scrollbar
    assert measured["scrollWidth"] <= measured["clientWidth"], (
        f"overflows at {width}px: scrollWidth {measured['scrollWidth']}; widest: {measured['wide']}"
    )
    assert measured["wide"] == []
    assert measured["fontSize"] == "16px"
    if width >= 1024:
        assert measured["containerWidth"] == 680  # the max-width column, centred
    else:
        assert measured["containerWidth"] == width  # fluid
    red, green, blue = (int(v) for v in measured["background"][4:-1].split(",")[:3])
    if dark:
        assert max(red, green, blue) < 80, f"dark mode background is {measured['background']}"
    else:
        assert min(red, green, blue) > 230, f"light background is {measured['background']}"
    assert (SCREENSHOTS / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

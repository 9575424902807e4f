"""The desk in a real browser: Debian's chromium driven by Selenium (chromium-driver).

Open a draft, drop a story, edit a bullet, move a story, approve; then the mail that reaches a
loopback SMTP server has the edit, lacks the dropped story, and its stats line counts the edited
text. No JavaScript is needed by the desk and none is run by these steps: every action is a
plain form. Screenshots of the desk at 375 and 1024 px land in build/screenshots/.
"""

from __future__ import annotations

import re
import shutil
import socket
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from jiandu.models import store
from jiandu.runtime import open_runtime
from jiandu.settings import get_settings
from jiandu.stages.publish import publish
from jiandu.zi import count_zi
from tests.support.drafts import NOW, summarised_stories

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip("Debian's chromium and chromium-driver are not installed "
                "(apt-get install -y chromium chromium-driver)", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed (pip install -e '.[dev]')")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.expected_conditions import staleness_of  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

SCREENSHOTS = Path(__file__).resolve().parents[1] / "build" / "screenshots"
WAIT_SECONDS = 60  # a loaded two-core machine; nothing is timed, only waited for
NEW_BULLET = ("编辑改写：新框架要求在模型发布前完成红队测试并公开评估结果，"
              "独立委员会负责审查，分析人士认为这将影响整个行业的发布节奏。")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def inbox(monkeypatch):
    from aiosmtpd.controller import Controller

    received = []

    class Keep:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
            received.append((envelope.rcpt_tos, envelope.content))
            return "250 OK"

    port = free_port()
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    for name, value in {"JIANDU_REVIEW": "true", "JIANDU_SMTP_HOST": "127.0.0.1",
                        "JIANDU_SMTP_PORT": str(port), "JIANDU_SMTP_SECURITY": "none",
                        "JIANDU_MAIL_TO": "reader@example.com"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield received
    controller.stop()


@pytest.fixture
def desk(inbox):
    from jiandu.desk.server import start_desk_thread

    rt = open_runtime()
    ids = summarised_stories(rt, 4)
    publish(rt, now=NOW)
    running = start_desk_thread(rt, host="127.0.0.1", port=free_port())
    yield rt, ids, running.url.rstrip("/")
    running.stop()
    rt.close()


@pytest.fixture
def browser(tmp_path):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-extensions", f"--user-data-dir={tmp_path / 'profile'}",
                     "--window-size=1024,900", "--lang=zh-CN"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def at_width(driver, width: int) -> None:
    # A headless window cannot be narrower than 500 px; device metrics can.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600})


def screenshot(driver, name: str, width: int) -> None:
    at_width(driver, width)
    driver.refresh()
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name} at {width} px scrolls sideways by {overflow} px"
    height = driver.execute_script("return Math.min(document.documentElement.scrollHeight, 4000)")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"desk-{name}-{width}.png"))
    at_width(driver, width)


def submit(driver, css: str, expect: str) -> None:
    """Click and wait for the next page (a click returns before the navigation ends)."""
    old_page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, css).click()
    WebDriverWait(driver, WAIT_SECONDS).until(staleness_of(old_page))
    WebDriverWait(driver, WAIT_SECONDS).until(lambda d: expect in d.page_source)


def follow(driver, css: str, expect: str) -> None:
    submit(driver, css, expect)


def test_an_editor_drops_edits_moves_and_approves_in_chromium(desk, browser, inbox):
    rt, ids, url = desk
    openai, midjourney, gemma, _ = ids
    with rt.sessions() as session:
        from jiandu.stages.review import draft_view

        before = draft_view(session, rt.settings, store.issue_by_number(session, 1))
    old_bullet = next(s for sec in before["sections"] for s in sec["stories"] if s["id"] == openai)["bullets"][1]
    dropped_bullets = next(s for sec in before["sections"] for s in sec["stories"] if s["id"] == midjourney)["bullets"]

    browser.get(url + "/")
    assert "draft · not sent" in browser.page_source
    follow(browser, 'a[href="/issues/1"]', "Draft: nothing has been sent.")
    for width in (375, 1024):
        screenshot(browser, "issue", width)

    # Drop a story.
    submit(browser, f'#story-{midjourney} form[action$="/drop"] button', "Story dropped")
    assert "dropped" in browser.find_element(By.ID, f"story-{midjourney}").text

    # Edit a bullet on the story page, the article beside it.
    follow(browser, f'#story-{openai} a[href$="/stories/{openai}"]', "The article")
    for width in (375, 1024):
        screenshot(browser, "story", width)
    bullet = browser.find_element(By.ID, "bullet-2")
    bullet.clear()
    bullet.send_keys(NEW_BULLET)
    submit(browser, 'form.edit button[type="submit"]', "Saved.")
    follow(browser, ".crumbs a", "Draft: nothing has been sent.")

    # Move a story to another section.
    Select(browser.find_element(By.ID, f"section-{gemma}")).select_by_value("其他")
    submit(browser, f'#story-{gemma} form.move button', "Story moved.")
    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "h2.section-name")]
    assert headings[-1].startswith("其他") or "其他" in headings

    # A picture for the README: the top of the draft as an editor sees it, after the changes.
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 760, "height": 980, "deviceScaleFactor": 1, "mobile": False})
    browser.get(url + "/issues/1")
    browser.save_screenshot(str(SCREENSHOTS / "desk-readme.png"))
    at_width(browser, 1024)

    # The stats line on the page already counts the edit and the drop.
    stats = browser.find_element(By.ID, "stats").text
    expected = (before["stats"]["digest_chars"] - count_zi(old_bullet) + count_zi(NEW_BULLET)
                - sum(count_zi(b) for b in dropped_bullets))
    assert f"简读后为{expected}字" in stats.replace(" ", "")

    # Approve and send.
    follow(browser, 'a[href="/issues/1/approve"]', "reader@example.com")
    submit(browser, 'form[action="/issues/1/approve"] button', "Approved and sent.")
    screenshot(browser, "published", 1024)

    assert len(inbox) == 1 and inbox[0][0] == ["reader@example.com"]
    message = message_from_bytes(inbox[0][1], policy=policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert NEW_BULLET in text and NEW_BULLET in html
    assert old_bullet not in text
    assert "Midjourney推出视频模型" not in text and "Midjourney推出视频模型" not in html
    printed = int(re.search(r"简读后为\s*\**(\d+)\**\s*字", text).group(1))
    assert printed == expected
    with rt.sessions() as session:
        sent = store.issue_by_number(session, 1)
        assert sent.status == "published" and sent.text == text
        assert sent.markdown.index("## 其他") < sent.markdown.index("### 谷歌开源Gemma新版本")

"""The web chat widget in a real browser against the real stack (socket.io channel).

Debian's chromium (/usr/bin/chromium) driven by Playwright for Python; no browser is ever downloaded
(`scripts/setup-web.sh --browser` installs chromium). The page is served by `python -m
sga_tools.webchat` on a free port, and the Rasa server of this module allows that page's origin.
A screenshot goes to tests/artifacts/webchat.png.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from sga.settings import PROJECT_ROOT
from tests.conftest import ARTIFACTS, free_port, stack_settings, start_stack

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
DIST = PROJECT_ROOT / "web" / "dist"
NOTICE = "Guidance from local procedures, not legal advice. If a child is in immediate danger, call 999."
REPLY_TIMEOUT = 60_000  # ms; the first reply after start can be slow on a busy machine
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require_browser_tools():
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the web chat test needs Debian's chromium. Install it with "
            "`scripts/setup-web.sh --browser` (as root) or `sudo apt-get install -y chromium`. "
            "Never `playwright install`."
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail(
            "Playwright for Python is not installed in the venv: it is a test dependency "
            "(pip install playwright; do not run `playwright install`, the test uses /usr/bin/chromium)"
        )
    built = DIST / ".sga-built"
    if not (DIST / "widget.js").exists() or not built.exists():
        pytest.fail(f"the web widget is not built in {DIST}: run scripts/setup-web.sh")
    web = DIST.parent
    sources = [web / "index.html", web / "build.mjs", web / "package-lock.json", *(web / "src").rglob("*")]
    stale = [str(p.relative_to(web)) for p in sources if p.stat().st_mtime > built.stat().st_mtime]
    if stale:
        pytest.fail(f"web/dist is older than {', '.join(stale)}: run scripts/setup-web.sh")


@pytest.fixture(scope="module")
def web_port() -> str:
    return free_port()


@pytest.fixture(scope="module")
def webchat_stack(tmp_path_factory, web_port):
    """The stack as `sga run` starts it, page server included, on free ports; Rasa allows the page's origin."""
    _require_browser_tools()
    settings = stack_settings(
        tmp_path_factory.mktemp("webchat"), rasa_cors=f"http://localhost:{web_port}", webchat_port=web_port
    )
    running = start_stack(settings, "webchat", webchat=True)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def web_url(webchat_stack, web_port):
    return f"http://localhost:{web_port}/"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_server_serves_only_the_widget_and_its_config(web_url, webchat_stack):
    config = requests.get(web_url + "config.js", timeout=5)
    assert config.status_code == 200 and webchat_stack.rasa_url in config.text
    page = requests.get(web_url, timeout=5)
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and webchat_stack.rasa_url in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert requests.get(web_url + "../sga/settings.py", timeout=5).status_code == 404
    assert requests.get(web_url + "src/", timeout=5).status_code == 404
    assert requests.post(web_url, data="x", timeout=5).status_code == 405


def test_conversation_in_the_browser(browser, web_url, webchat_stack):
    from playwright.sync_api import expect

    expect.set_options(timeout=REPLY_TIMEOUT)
    context = browser.new_context(viewport={"width": 1024, "height": 900}, reduced_motion="reduce")
    requested, errors = [], []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(web_url)

    log = page.get_by_role("log")
    field = page.get_by_label("Your message")
    bot = page.locator(".sga-msg-bot")
    user = page.locator(".sga-msg-user")
    choices = page.locator("button.sga-choice:enabled")

    def ask(text: str) -> None:
        before = bot.count()
        field.fill(text)
        field.press("Enter")
        expect(user.last).to_contain_text(text)
        expect(bot).not_to_have_count(before)

    def click(title: str) -> None:
        before = bot.count()
        choices.filter(has_text=re.compile(f"^{re.escape(title)}$")).first.click()
        expect(user.last).to_have_text(re.compile(f"{re.escape(title)}$"))
        expect(bot).not_to_have_count(before)

    def settle() -> int:
        """Wait until no more reply parts arrive (a reply can come in several socket.io messages)."""
        count, since = -1, time.monotonic()
        while time.monotonic() - since < 1.5:
            if bot.count() != count:
                count, since = bot.count(), time.monotonic()
            page.wait_for_timeout(100)
        return count

    def wait_for_choices() -> list:
        expect(choices.first).to_be_visible()
        page.wait_for_timeout(300)  # a reply can arrive in several socket.io messages
        return [t.strip() for t in choices.all_inner_texts()]

    # The permanent notice, the accessible log and the labelled input.
    expect(page.get_by_role("note")).to_have_text(NOTICE)
    assert log.get_attribute("aria-live") == "polite"
    expect(page.get_by_role("button", name="Send")).to_be_visible()

    # An answer with its citation: the Source line styled as a citation, URLs as safe links.
    try:
        ask("what are the MAPPA levels?")
    except AssertionError as error:
        pytest.fail(
            "no bot reply reached the browser over socket.io. With session_persistence, Rasa 3.6's "
            "own socketio channel loses every reply on python-socketio >= 5.10 (RasaHQ/rasa #13027): "
            "bot/credentials.yml must use rasa_addons.channels.socketio.SocketIOInput (or pin python-socketio<5.10). "
            f"Logs: {ARTIFACTS / 'logs' / 'webchat'}\n{error}"
        )
    expect(log).to_contain_text("Level 3")
    citation = page.locator(".sga-citation").filter(has_text="West Midlands procedure 2.14").first
    expect(citation).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "webchat-answer.png"))
    link = citation.locator("a").first
    expect(link).to_have_attribute("target", "_blank")
    assert "noopener" in link.get_attribute("rel")
    assert link.get_attribute("href").startswith("http")

    # A partnership question answered with a button: the title is shown, the payload is sent. (A bare
    # "who decides?" here would be a follow-up about MAPPA, the topic just answered.)
    ask("who decides whether the local authority discloses?")
    assert "Kent and Medway" in wait_for_choices()
    click("Kent and Medway")
    expect(log).to_contain_text("District Manager")
    expect(log).not_to_contain_text("/inform_partnership")

    # A checklist walked by clicking, to a saved outcome.
    ask("start the recognition checklist")
    for step in range(40):
        titles = wait_for_choices()
        if "Skip" in titles and "your role" in bot.last.inner_text():
            break
        if "Why is this asked?" in titles:
            answer = "Yes" if step % 2 == 0 else "No"
            click(answer if answer in titles else titles[0])
        elif "Kent and Medway" in titles:
            click("Kent and Medway")
        else:
            pytest.fail(f"unexpected choices in the checklist: {titles}")
    else:
        pytest.fail("the checklist never reached the role question")
    click("Skip")
    expect(bot.last).to_contain_text("case reference")
    click("Skip")
    expect(log).to_contain_text("Save this to the outcome log?")
    click("Save")
    expect(log).to_contain_text("Your reference is SGA-")
    reference = re.search(r"Your reference is (SGA-[\w-]+)", log.inner_text()).group(1)

    # What the user types is shown as text, never as HTML.
    ask("<img src=x onerror=alert(1)> <b>not bold</b>")
    expect(user.last).to_contain_text("<img src=x onerror=alert(1)> <b>not bold</b>")
    assert log.locator("img, b").count() == 0

    # Reload: the conversation is still shown, and it is the same conversation to Rasa.
    settle()
    shown_before = bot.count() + user.count()
    session_id = page.evaluate("sessionStorage.getItem('sga.webchat.session')")
    assert session_id
    page.reload()
    expect(page.get_by_role("note")).to_have_text(NOTICE)
    expect(log).to_contain_text("District Manager")
    expect(log).to_contain_text(reference)
    assert bot.count() + user.count() == shown_before
    assert page.evaluate("sessionStorage.getItem('sga.webchat.session')") == session_id

    # Keyboard only: Tab to the input, type, Enter; Tab to a choice, Enter.
    page.locator("body").click(position={"x": 2, "y": 2})
    focused = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id || document.activeElement.className"))
        if field.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail(f"Tab never reached the message input; focus went through {focused}")
    outline = field.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none", "the focused input shows no focus indicator"
    before = bot.count()
    page.keyboard.type("hello")
    page.keyboard.press("Enter")
    expect(bot).not_to_have_count(before)
    expect(log).to_contain_text("999")
    assert "West Midlands" in wait_for_choices()
    field.focus()
    for _ in range(10):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.textContent") == "West Midlands":
            break
    else:
        pytest.fail("Shift+Tab from the input never reached the West Midlands button")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    before = bot.count()
    page.keyboard.press("Enter")
    expect(user.last).to_have_text(re.compile("West Midlands$"))
    expect(bot).not_to_have_count(before)

    # Rasa kept one conversation under the stored session id, across the reload.
    tracker = requests.get(
        f"{webchat_stack.rasa_url}/conversations/{session_id}/tracker",
        params={"token": webchat_stack.settings.rasa_auth_token},
        timeout=30,
    ).json()
    said = [e.get("text") for e in tracker["events"] if e["event"] == "user"]
    assert "what are the MAPPA levels?" in said and "hello" in said
    assert tracker["slots"]["partnership"] == "west_midlands"

    # The long-polling fallback is allowed for this page's origin (Rasa's --cors).
    status = page.evaluate(
        "url => fetch(url).then(r => r.status)", f"{webchat_stack.rasa_url}/socket.io/?EIO=4&transport=polling"
    )
    assert status == 200

    page.set_viewport_size({"width": 1024, "height": 1400})
    log.evaluate("el => el.scrollTo(0, el.scrollHeight)")
    page.screenshot(path=str(ARTIFACTS / "webchat.png"), full_page=True)
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 2000, f"the page is {height}px tall: something escapes the conversation's scrolling box"

    # Reduced motion respected; narrow width (320 CSS px = 1280 px at 400% zoom) without sideways scrolling.
    assert log.evaluate("el => getComputedStyle(el).scrollBehavior") == "auto"
    page.set_viewport_size({"width": 320, "height": 256})
    page.wait_for_timeout(200)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 320px wide"
    expect(field).to_be_visible()
    page.set_viewport_size({"width": 320, "height": 900})
    log.evaluate("el => el.scrollTo(0, el.scrollHeight)")
    page.screenshot(path=str(ARTIFACTS / "webchat-narrow.png"))

    # "Start a new conversation" forgets the shown history and starts a new Rasa session.
    page.get_by_role("button", name="Start a new conversation").click()
    expect(bot).to_have_count(0)
    expect(field).to_be_focused()
    ask("what is Sarah's Law?")
    new_session = page.evaluate("sessionStorage.getItem('sga.webchat.session')")
    assert new_session and new_session != session_id
    assert user.count() == 1

    hosts = {urlsplit(url).hostname for url in requested if urlsplit(url).scheme in ("http", "https", "ws", "wss")}
    assert hosts <= {"localhost", "127.0.0.1"}, f"the page called off the machine: {hosts}"
    assert not errors, f"errors in the browser console: {errors}"
    context.close()

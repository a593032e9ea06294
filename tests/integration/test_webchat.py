"""The web chat widget in a real browser against the real stack (socket.io channel).

Debian's chromium (/usr/bin/chromium) driven by Playwright for Python; no browser is ever downloaded
(`scripts/setup-web.sh --browser` installs chromium). The page is served by `python -m
sga_tools.webchat` on a free port, and the Rasa server of this module allows that page's origin.
axe-core (the npm package, copied to web/test-tools/ by scripts/setup-web.sh) checks accessibility.
Screenshots go to tests/artifacts/ (webchat*.png, one per window size).
"""

from __future__ import annotations

import asyncio
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
AXE = PROJECT_ROOT / "web" / "test-tools" / "axe.min.js"
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
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run scripts/setup-web.sh (it copies axe-core from web/node_modules)")
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


def serious_axe_violations(page) -> list:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2.x A and AA rules
    and axe's best practices)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate("axe.run(document, { resultTypes: ['violations'] })")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def layout_problems(page) -> list:
    """The message box in view without scrolling the page, and only one scrolling area: the conversation."""
    return page.evaluate(
        """() => {
      const problems = [];
      const root = document.documentElement;
      if (root.scrollHeight > root.clientHeight) problems.push(`the page scrolls: ${root.scrollHeight}px in ${root.clientHeight}px`);
      if (root.scrollWidth > root.clientWidth) problems.push(`the page scrolls sideways by ${root.scrollWidth - root.clientWidth}px`);
      for (const selector of ['.sga-input', '.sga-send']) {
        const box = document.querySelector(selector).getBoundingClientRect();
        if (box.top < 0 || box.bottom > window.innerHeight || box.left < 0 || box.right > window.innerWidth)
          problems.push(`${selector} is not in view: ${JSON.stringify(box)} in ${window.innerWidth}x${window.innerHeight}`);
      }
      for (const el of document.querySelectorAll('body *')) {
        const style = getComputedStyle(el);
        const scrolls = ['auto', 'scroll'].includes(style.overflowY) && el.scrollHeight > el.clientHeight + 1;
        if (scrolls && !el.classList.contains('sga-log')) problems.push(`another scrolling area: ${el.className}`);
      }
      return problems;
    }"""
    )


def test_one_event_per_reply_on_socketio(webchat_stack, web_port):
    """Rasa's socket.io channel sends each paragraph as its own event; this project's sends a reply whole."""
    from tests.integration.test_security_socketio import Client

    async def scenario():
        client = await Client(webchat_stack.rasa_url, f"http://localhost:{web_port}").connect()
        replies = await client.say("what are the MAPPA levels?")
        await asyncio.sleep(1)  # anything that would still come
        texts = [r.get("text", "") for r in client.replies]
        assert len(texts) == 1, f"one answer came as {len(texts)} events: {texts}"
        assert "Level 3" in replies[0] and "\nSource: " in replies[0], replies[0]
        titles = [b["title"] for b in client.replies[0]["quick_replies"]]
        assert "Where does that come from?" in titles
        assert "record" not in client.replies[0]
        await client.close()

    run_async(scenario())


def run_async(coroutine):
    return asyncio.run(coroutine)


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
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web_url.rstrip("/"))
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
        """Wait until no more replies arrive (a turn can have more than one reply)."""
        count, since = -1, time.monotonic()
        while time.monotonic() - since < 1.5:
            if bot.count() != count:
                count, since = bot.count(), time.monotonic()
            page.wait_for_timeout(100)
        return count

    def wait_for_choices() -> list:
        expect(choices.first).to_be_visible()
        page.wait_for_timeout(300)  # a turn can have more than one reply
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
    assert settle() == 1, "one answer, one bubble (Rasa's socket.io channel split it at blank lines)"
    answer = bot.last
    expect(answer).to_contain_text("Level 1")
    expect(answer.locator("li")).to_have_count(3)  # the levels as a list
    citation = answer.locator(".sga-citation").filter(has_text="West Midlands procedure 2.14")
    expect(citation).to_be_visible()  # the citation is part of the answer's bubble, styled as one
    expect(answer.locator(".sga-citation-label")).to_have_text("Source: ")
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

    # Keep a record: "Copy summary" and "Print" on the summary; printing shows the summary alone.
    summary = bot.filter(has_text="Save this to the outcome log?").last
    keep = summary.get_by_role("group", name="Keep a copy of this summary")
    expect(keep.get_by_role("button", name="Copy summary")).to_be_visible()
    keep.get_by_role("button", name="Copy summary").click()
    expect(page.get_by_role("status")).to_have_text("The summary is copied. Paste it into the case file.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("Checklist summary\n\nSummary: Recognition")
    assert "Outcome: " in copied and "Next steps" in copied and "not legal advice" in copied
    assert "Save this to the outcome log?" not in copied
    page.evaluate("() => { window.print = () => { window.printed = (window.printed || 0) + 1; }; }")
    keep.get_by_role("button", name="Print this summary").click()
    assert page.evaluate("window.printed") == 1
    sheet = page.locator(".sga-print-sheet")
    page.emulate_media(media="print")
    expect(sheet).to_be_visible()
    expect(sheet.locator("h1")).to_have_text("Checklist summary")
    expect(sheet).to_contain_text("Outcome: ")
    expect(sheet).not_to_contain_text("Save this to the outcome log?")
    expect(page.locator(".sga-widget")).to_be_hidden()
    page.screenshot(path=str(ARTIFACTS / "webchat-print.png"), full_page=True)
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    expect(sheet).to_be_hidden()
    expect(page.locator(".sga-log")).to_be_visible()  # printing the page itself: the conversation
    expect(page.locator(".sga-form")).to_be_hidden()
    page.emulate_media(media="screen")
    expect(sheet).to_be_hidden()
    page.screenshot(path=str(ARTIFACTS / "webchat-summary.png"))
    assert not serious_axe_violations(page)

    shown = bot.count()
    click("Save")
    expect(log).to_contain_text("Your reference is SGA-")
    reference = re.search(r"Your reference is (SGA-[\w-]+)", log.inner_text()).group(1)
    assert settle() == shown + 1, "one reply after Save"
    saved = bot.last
    expect(saved).not_to_contain_text("Outcome: ")  # the outcome is in the summary, not repeated
    saved.get_by_role("button", name="Copy summary").click()
    expect(page.get_by_role("status")).to_have_text("The summary is copied. Paste it into the case file.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("Checklist record\n\nSummary: Recognition") and "Outcome: " in copied
    assert f"Saved. Your reference is {reference}." in copied
    expect(saved.get_by_role("button", name="Print this summary")).to_be_visible()

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
    expect(page.get_by_role("button", name="Copy summary")).to_have_count(2)  # the records are kept too

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

    # The short answer first, then "Tell me more" and the source as buttons; each a single bubble.
    assert settle() == 1
    assert {"Tell me more", "Where does that come from?"} <= set(wait_for_choices())
    click("Tell me more")
    assert settle() == 2
    expect(bot.last.locator(".sga-citation").first).to_be_visible()
    click("Where does that come from?")
    assert settle() == 3
    expect(bot.last).to_contain_text("comes from")

    hosts = {urlsplit(url).hostname for url in requested if urlsplit(url).scheme in ("http", "https", "ws", "wss")}
    assert hosts <= {"localhost", "127.0.0.1"}, f"the page called off the machine: {hosts}"
    assert not errors, f"errors in the browser console: {errors}"
    context.close()


def test_the_message_box_stays_in_view_at_every_size(browser, web_url, webchat_stack):
    """From a phone (320 px wide) to a desktop: the box in view without scrolling the page, the
    conversation the one scrolling area, the length limit said, no serious axe violations."""
    from playwright.sync_api import expect

    expect.set_options(timeout=REPLY_TIMEOUT)
    context = browser.new_context(viewport={"width": 320, "height": 640}, reduced_motion="reduce")
    page = context.new_page()
    page.goto(web_url)
    field = page.get_by_label("Your message")
    log = page.get_by_role("log")
    bot = page.locator(".sga-msg-bot")
    for question in ("what are the MAPPA levels?", "what is Sarah's Law?", "start the recognition checklist"):
        before = bot.count()
        field.fill(question)
        field.press("Enter")
        expect(bot).not_to_have_count(before)
    page.wait_for_timeout(1500)

    for width, height in ((320, 640), (420, 800), (1280, 800)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)
        log.evaluate("el => el.scrollTo(0, el.scrollHeight)")
        assert not layout_problems(page), f"at {width}x{height}: {layout_problems(page)}"
        assert log.evaluate("el => el.scrollHeight > el.clientHeight"), "the conversation should overflow here"
        expect(field).to_be_in_viewport()
        expect(page.get_by_role("note")).to_be_in_viewport()
        page.screenshot(path=str(ARTIFACTS / f"webchat-{width}x{height}.png"))
        problems = serious_axe_violations(page)
        assert not problems, f"axe at {width}x{height}: {problems}"

    # The length limit is in the field's description, and said when it is reached.
    described = field.get_attribute("aria-describedby").split()
    counter = page.locator(f"#{described[-1]}")
    expect(counter).to_have_text("Up to 1,000 characters")
    field.fill("x" * 998)
    expect(counter).to_have_text("998 of 1,000 characters")
    field.press("x")
    field.press("x")
    field.press("x")  # past the limit: the browser keeps 1,000
    assert len(field.input_value()) == 1000
    expect(counter).to_have_text("1,000 of 1,000 characters")
    expect(page.get_by_role("status")).to_contain_text("You have reached the 1,000-character limit")
    context.close()

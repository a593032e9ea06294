"""Logs stay clean (security issue, finding 7): ordinary and malformed traffic to a running stack
leaves no ERROR line, no traceback and no user text in the servers' logs, and every log line is
one line (a message cannot forge another)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Dict

import pytest
import requests
import socketio

from tests.conftest import Conversation
from tests.integration.test_security_socketio import Client

pytestmark = pytest.mark.integration

# Said by users below; none of it may reach a log. Realistic detail a practitioner might type.
SECRET_NAME = "Kayleigh Brannigan-Oduya"
USER_TEXTS = [SECRET_NAME, "FORGED-LOG-LINE", "DOB 14/03/2011"]


def log_sizes(stack) -> Dict[Path, int]:
    return {path: path.stat().st_size for path in stack.log_dir.glob("*.log")}


def new_log_text(stack, sizes: Dict[Path, int]) -> str:
    parts = []
    for path in stack.log_dir.glob("*.log"):
        with open(path, "rb") as log:
            log.seek(sizes.get(path, 0))
            parts.append(log.read().decode("utf-8", errors="replace"))
    return "".join(parts)


def send_traffic(stack) -> None:
    rest = f"{stack.rasa_url}/webhooks/rest/webhook"
    # Ordinary use, with personal detail in the text (which the assistant must not log).
    conversation = Conversation(stack)
    for message in [
        "hi",
        "what are the MAPPA levels?",
        f"bf of {SECRET_NAME} has a s47 rn, DOB 14/03/2011, n/k address",
        '/inform_partnership{"partnership":"kent_medway"}',
        "start the recognition checklist",
        "No",
        "stop",
        "yes",
    ]:
        conversation.say(message)
    # Malformed traffic from the issue.
    sender = "logs-" + uuid.uuid4().hex
    for message in [
        '/ask_mappa_levels{"broken": \n2026-01-01 ERROR FORGED-LOG-LINE ' + SECRET_NAME,
        "",
        "\r\n" * 2500,
        "/inform_partnership{" + "[" * 3000 + "}",
        f"/no_such_intent {SECRET_NAME}",
        '/inform_partnership{"partnership": {"a": [1, {"b": 2}]}}',
        "x" * 6000,
        "\x00\x01 FORGED-LOG-LINE",
        '/inform_partnership{"partnership":"mars"}',
    ]:
        requests.post(rest, json={"sender": sender, "message": message}, timeout=60)
    for bad_sender in [
        "a/b" * 8,
        "abcdefghijklmnop\x00",
        "abcdefghijklmnop\nFORGED-LOG-LINE",
        "abcdefgh%2Fijklmnop",
        "a",
    ]:
        requests.post(rest, json={"sender": bad_sender, "message": SECRET_NAME}, timeout=30)
    for body in [b"{not json FORGED-LOG-LINE", b"[]", b"\xff\xfe", b'{"sender": 5}', b"[" * 5000]:
        requests.post(rest, data=body, headers={"Content-Type": "application/json"}, timeout=30)
    requests.post(
        rest,
        data=json.dumps({"sender": sender, "message": SECRET_NAME}),
        timeout=30,
        headers={"Content-Type": "text/plain"},
    )

    # The web chat: a conversation, a foreign origin, odd events.
    async def web():
        client = await Client(stack.rasa_url).connect()
        await client.say(f"does {SECRET_NAME} need a MAPPA referral?")
        await client.say({"nested": [[[SECRET_NAME]]]}, wait=3)
        await client.say("", wait=3)
        await client.sio.emit("session_request", "not a dict")
        await client.sio.emit("user_uttered", "not a dict")
        await client.close()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await Client(stack.rasa_url, "https://evil.example").connect()

    asyncio.run(web())
    # The action server: without the token, odd paths and methods, junk with the token.
    token = {"token": stack.settings.action_server_token}
    for path in ["/webhook", "/webhook/", "//actions", "/nope", "/health/"]:
        requests.post(stack.action_url + path, json={"next_action": SECRET_NAME}, timeout=30)
        requests.get(stack.action_url + path, params=token, timeout=30)
    requests.post(f"{stack.action_url}/webhook", params=token, data=b"{" + SECRET_NAME.encode(), timeout=30)
    requests.post(f"{stack.action_url}/webhook", params=token, json=[SECRET_NAME], timeout=30)


def test_logs_stay_clean(stack):
    sizes = log_sizes(stack)
    send_traffic(stack)
    time.sleep(1)  # let the servers flush
    logged = new_log_text(stack, sizes)
    assert logged, "the servers logged nothing at all: is the log capture working?"
    errors = [line for line in logged.splitlines() if " ERROR " in line or "Traceback" in line]
    assert not errors, "\n".join(line[:300] for line in errors[:10])
    for text in USER_TEXTS:
        assert text not in logged, f"user text {text!r} reached the log"

"""The REST channel and the servers' start-up against the security issue: content type (finding 5),
senders (findings 4 and 7), namespaces (finding 4), rate limits (finding 3), the Rasa token kept
off the command line (finding 6)."""

from __future__ import annotations

import http.client
import json
import uuid
from pathlib import Path

import pytest
import requests

from rasa_addons.channels.guard import BLANK_REPLY
from sga.limits import RATE_LIMITED_REPLY
from tests.conftest import Conversation

pytestmark = pytest.mark.integration


def webhook(stack) -> str:
    return f"{stack.rasa_url}/webhooks/rest/webhook"


def new_sender() -> str:
    return "sec-" + uuid.uuid4().hex


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None]
)
def test_rest_needs_a_json_content_type(stack, content_type):
    """A page on another origin can send a "simple" cross-origin POST (text/plain) without a preflight."""
    body = json.dumps({"sender": new_sender(), "message": "what are the MAPPA levels?"})
    headers = {"Content-Type": content_type} if content_type else {}
    response = requests.post(webhook(stack), data=body, headers=headers, timeout=30)
    assert response.status_code == 415 and "application/json" in response.json()["error"]
    ok = requests.post(
        webhook(stack), data=body, headers={"Content-Type": "application/json; charset=utf-8"}, timeout=30
    )
    assert ok.status_code == 200 and "MAPPA" in ok.text


@pytest.mark.parametrize(
    "sender",
    [
        "a",
        "default",
        "short-sender",
        "a/bcdefghijklmnopq",
        "abcdefghijklmnop\x00q",
        "abcdefghijklmnop\nq",
        "abcdefghij%2Fklmnopq",
        "abcdefghij%klmnopq",
        "x" * 65,
    ],
)
def test_guessable_and_unaddressable_senders_are_refused(stack, sender):
    response = requests.post(webhook(stack), json={"sender": sender, "message": "hello"}, timeout=30)
    assert response.status_code == 400 and "sender" in response.json()["error"]


def test_every_rest_conversation_can_be_found_through_the_tracker_api(stack):
    conversation = Conversation(stack)
    conversation.say('/inform_partnership{"partnership":"west_midlands"}')
    tracker = conversation.tracker()
    assert tracker["sender_id"] == "rest-" + conversation.client_id
    assert tracker["slots"]["partnership"] == "west_midlands"
    assert conversation.replies[0]["recipient_id"] == conversation.sender


def test_client_metadata_is_not_stored(stack):
    conversation = Conversation(stack)
    requests.post(
        webhook(stack),
        timeout=30,
        json={"sender": conversation.client_id, "message": "hello", "metadata": {"role": "admin", "channel": "teams"}},
    )
    user_events = [e for e in conversation.tracker()["events"] if e["event"] == "user"]
    assert user_events and not any("admin" in json.dumps(e.get("metadata") or {}) for e in user_events)


def test_rate_limit_per_sender(stack):
    budget = int(stack.settings.rate_limit_per_sender.split("/")[0])
    sender = new_sender()
    session = requests.Session()
    statuses = [
        session.post(webhook(stack), json={"sender": sender, "message": ""}, timeout=30).status_code
        for _ in range(budget)
    ]  # blank messages: answered before the NLU, so this is quick
    assert statuses == [200] * budget
    refused = session.post(webhook(stack), json={"sender": sender, "message": "what are the MAPPA levels?"}, timeout=30)
    assert refused.status_code == 429 and refused.json()["error"] == RATE_LIMITED_REPLY
    assert refused.headers["Retry-After"] == "60"
    other = session.post(webhook(stack), json={"sender": new_sender(), "message": ""}, timeout=30)
    assert other.status_code == 200, "another sender is not affected"


def test_rate_limit_per_client_address(stack):
    """Many senders from one address share its budget. This test speaks from 127.0.0.2 (loopback
    too) so that the other tests, from 127.0.0.1, keep theirs."""
    budget = int(stack.settings.rate_limit_per_address.split("/")[0])
    host, port = stack.settings.rasa_host, int(stack.settings.rasa_port)
    connection = http.client.HTTPConnection(host, port, timeout=30, source_address=("127.0.0.2", 0))

    def post(sender: str) -> tuple[int, bytes]:
        connection.request(
            "POST",
            "/webhooks/rest/webhook",
            body=json.dumps({"sender": sender, "message": " "}),
            headers={"Content-Type": "application/json"},
        )
        response = connection.getresponse()
        return response.status, response.read()

    statuses = [post(new_sender())[0] for _ in range(budget)]
    assert statuses == [200] * budget
    status, body = post(new_sender())
    assert status == 429 and json.loads(body)["error"] == RATE_LIMITED_REPLY
    connection.close()
    fine = requests.post(webhook(stack), json={"sender": new_sender(), "message": "   "}, timeout=30)
    assert fine.status_code == 200 and fine.json()[0]["text"] == BLANK_REPLY, "another address is not affected"


def test_the_rasa_token_is_not_on_any_command_line(stack):
    token = stack.settings.rasa_auth_token
    for process in stack.processes:
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        assert token not in cmdline, cmdline
        assert stack.settings.action_server_token not in cmdline
    rasa_cmdline = Path(f"/proc/{stack.processes[1].pid}/cmdline").read_bytes()
    assert b"--enable-api" in rasa_cmdline
    # The API still needs the token, and takes it.
    assert requests.get(f"{stack.rasa_url}/status", timeout=10).status_code == 401
    assert requests.get(f"{stack.rasa_url}/status", params={"token": token}, timeout=10).status_code == 200

"""Bad input gets a clear answer or a 4xx, never a crash, and nothing already recorded is lost."""

import json

import pytest
import requests

from tests.conftest import Conversation

pytestmark = pytest.mark.integration

AWKWARD_MESSAGES = [
    "",
    "   ",
    "x" * 4_999,
    "\x00\x01\x02\xff binary \ufffd",
    "'; DROP TABLE events; --",
    "<script>alert('x')</script>",
    "{{7*7}} ${jndi:ldap://127.0.0.1/a}",
    '/ask_mappa_levels{"broken": ',
    "/no_such_intent",
    '/inform_partnership{"partnership":"mars"}',
    '/start_checklist{"checklist":"no_such_checklist"}',
    "🙂" * 500,
]


def test_awkward_messages_get_an_answer_and_keep_history(stack):
    conversation = Conversation(stack)
    conversation.say("what are the MAPPA levels?")
    assert conversation.slot("topic") == "mappa.levels"
    events_before = len(conversation.tracker()["events"])
    for message in AWKWARD_MESSAGES:
        replies = conversation.say(message)
        assert isinstance(replies, list), message[:40]
        if message == '/start_checklist{"checklist":"no_such_checklist"}':
            conversation.say("stop")
            conversation.say("yes")
    tracker = conversation.tracker()
    assert len(tracker["events"]) > events_before
    texts = [e.get("text") for e in tracker["events"] if e.get("event") == "user"]
    assert "what are the MAPPA levels?" in texts
    assert tracker["slots"]["partnership"] in (None, "kent_medway", "west_midlands")


def test_unknown_partnership_is_refused(stack):
    conversation = Conversation(stack)
    conversation.say('/inform_partnership{"partnership":"west_midlands"}')
    conversation.say('/inform_partnership{"partnership":"mars"}')
    assert "only know" in conversation.text
    assert conversation.slot("partnership") == "west_midlands"


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b"\xff\xfe",
        b'{"sender": "a"}',
        b'{"message": "hi"}',
        b'{"sender": 5, "message": "hi"}',
        b'{"sender": "a", "message": ["hi"]}',
        b"",
    ],
)
def test_malformed_rest_bodies_get_400(stack, body):
    response = requests.post(
        f"{stack.rasa_url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert response.status_code == 400, response.status_code
    assert response.json()["error"]


def test_huge_message_gets_413_and_the_conversation_carries_on(stack):
    conversation = Conversation(stack)
    conversation.say("what is Sarah's Law?")
    response = requests.post(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        timeout=30,
        json={"sender": conversation.client_id, "message": "x" * 100_000},
    )
    assert response.status_code == 413 and "too long" in response.json()["error"]
    assert conversation.slot("topic") == "sarahs_law.overview"
    conversation.say("tell me more")
    assert "Sarah" in conversation.text


def test_clients_cannot_choose_the_recorded_channel(stack):
    conversation = Conversation(stack)
    requests.post(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        timeout=30,
        json={"sender": conversation.client_id, "message": "hello", "input_channel": "botframework"},
    )
    assert conversation.tracker()["latest_input_channel"] == "rest"


def test_rasa_api_needs_the_token(stack):
    assert requests.get(f"{stack.rasa_url}/conversations/a/tracker", timeout=10).status_code == 401
    assert (
        requests.get(f"{stack.rasa_url}/conversations/a/tracker", params={"token": "wrong"}, timeout=10).status_code
        == 401
    )


def test_action_server_needs_the_token_and_valid_json(stack):
    url = f"{stack.action_url}/webhook"
    call = {
        "next_action": "action_show_capabilities",
        "sender_id": "x",
        "tracker": {
            "sender_id": "x",
            "slots": {},
            "latest_message": {},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": None,
        },
        "domain": {},
        "version": "3.6.2",
    }
    assert requests.post(url, json=call, timeout=10).status_code == 401
    assert requests.post(url, params={"token": "wrong"}, json=call, timeout=10).status_code == 401
    token = stack.settings.action_server_token
    assert requests.post(url, params={"token": token}, data=b"{oops", timeout=10).status_code == 400
    assert requests.post(url, params={"token": token}, data=json.dumps([1]), timeout=10).status_code == 400
    ok = requests.post(url, params={"token": token}, json=call, timeout=10)
    assert ok.status_code == 200 and "checklist" in ok.json()["responses"][0]["text"]
    assert requests.get(f"{stack.action_url}/health", timeout=10).status_code == 200

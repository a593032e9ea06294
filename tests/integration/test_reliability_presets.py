"""An intranet presets the user's partnership with Rasa's tracker-events API before the first message.

The preset must reach the actions (answers cite that partnership, without asking), and a preset
that would be lost (a conversation id no channel uses, a value the slot cannot hold) is refused with
a 400 that says what to do, instead of being accepted and never seen.
"""

import pytest
import requests

from tests.conftest import Conversation

pytestmark = pytest.mark.integration


def post_events(stack, conversation_id, body, token=True):
    params = {"token": stack.settings.rasa_auth_token} if token else {}
    return requests.post(
        f"{stack.rasa_url}/conversations/{conversation_id}/tracker/events", params=params, json=body, timeout=30
    )


def preset(partnership):
    return [{"event": "slot", "name": "partnership", "value": partnership}]


@pytest.mark.parametrize(
    ("partnership", "cited", "not_cited"),
    [
        ("west_midlands", "West Midlands procedure", "Kent and Medway"),
        ("kent_medway", "Kent and Medway", "West Midlands"),
    ],
)
def test_a_preset_partnership_is_seen_by_the_first_answer_and_the_next(stack, partnership, cited, not_cited):
    conversation = Conversation(stack)
    response = post_events(stack, conversation.sender, preset(partnership))
    assert response.status_code == 200, response.text
    assert response.json()["slots"]["partnership"] == partnership

    conversation.say("how do I refer someone to MAPPA?")
    assert cited in conversation.text
    assert not_cited not in conversation.text.split("Source:")[-1]
    assert conversation.slot("partnership") == partnership
    assert conversation.slot("topic") == "mappa.referral"

    conversation.say("what does the local authority do when it decides to disclose?")
    assert cited in conversation.text
    assert "which partnership" not in conversation.text.lower()
    assert conversation.slot("partnership") == partnership


def test_a_preset_on_the_senders_own_id_is_refused_with_the_id_to_use(stack):
    conversation = Conversation(stack)
    response = post_events(stack, conversation.client_id, preset("west_midlands"))
    assert response.status_code == 400
    assert f"/conversations/rest-{conversation.client_id}/tracker/events" in response.json()["message"]
    # Nothing was written anywhere: the user's real conversation starts without a partnership.
    conversation.say("hello")
    assert conversation.slot("partnership") is None


@pytest.mark.parametrize("conversation_id", ["default", "someone", "socket-abc", "rest-short"])
def test_a_preset_on_an_id_no_channel_uses_is_refused(stack, conversation_id):
    response = post_events(stack, conversation_id, preset("kent_medway"))
    assert response.status_code == 400
    assert "rest-" in response.json()["message"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (preset("Kent"), "use one of kent_medway, west_midlands"),
        (preset("birmingham"), "use one of kent_medway, west_midlands"),
        ([{"event": "slot", "name": "partnershp", "value": "kent_medway"}], "unknown slot 'partnershp'"),
        (["not an event"], "each event must be a JSON object"),
    ],
)
def test_a_value_the_slot_cannot_hold_is_refused_and_nothing_changes(stack, body, expected):
    conversation = Conversation(stack)
    conversation.say("hi")
    response = post_events(stack, conversation.sender, body)
    assert response.status_code == 400
    assert expected in response.json()["message"]
    assert conversation.slot("partnership") is None


def test_a_body_that_is_not_json_is_a_400(stack):
    response = requests.post(
        f"{stack.rasa_url}/conversations/rest-{'x' * 16}/tracker/events",
        params={"token": stack.settings.rasa_auth_token},
        data=b"\xff{not json",
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400


def test_without_the_token_rasa_refuses_before_anything_is_said_about_the_conversation(stack):
    response = post_events(stack, "someone", preset("Kent"), token=False)
    assert response.status_code == 401
    assert "rest-" not in response.text and "kent_medway" not in response.text


def test_an_existing_conversation_can_be_updated_whatever_its_id(stack):
    conversation = Conversation(stack)
    conversation.say("hello")
    response = post_events(stack, conversation.sender, preset("kent_medway"))
    assert response.status_code == 200
    conversation.say("who can apply under Sarah's Law?")
    assert "Kent and Medway" in conversation.text

"""Guidance answers through the real stack: REST channel, trained model, action server, tracker."""

import pytest
import yaml

from sga.content import PARTNERSHIPS, content
from tests.conftest import CONTRACT_PATH, Conversation

pytestmark = pytest.mark.integration
DATA = content()


def test_mappa_levels_answer_with_citation_and_topic(conversation):
    conversation.say("what are the MAPPA levels?")
    for level in ("Level 1", "Level 2", "Level 3"):
        assert level in conversation.text
    assert "Source: West Midlands procedure 2.14" in conversation.text
    assert conversation.slot("topic") == "mappa.levels"


def test_greeting_and_capabilities(conversation):
    conversation.say("hello")
    assert "999" in conversation.text
    assert {"Kent and Medway", "West Midlands"} <= {b["title"] for b in conversation.buttons}
    conversation.say("what can you do?")
    assert "checklist" in conversation.text and "MAPPA" in conversation.text


def test_local_topic_asks_partnership_then_answers_the_original_question(conversation):
    conversation.say("who makes the decision to disclose?")
    assert "Which partnership" in conversation.text
    assert conversation.slot("topic") is None
    payload = next(b["payload"] for b in conversation.buttons if b["title"] == "Kent and Medway")
    conversation.say(payload)
    assert "District Manager" in conversation.text
    assert "Kent and Medway procedure 2.4.1" in conversation.text
    slots = conversation.tracker()["slots"]
    assert slots["topic"] == "risk_assessment.decision_maker"
    assert slots["partnership"] == "kent_medway"


def test_naming_a_place_sets_the_partnership_and_what_about_switches(conversation):
    conversation.say("I'm a social worker in Medway. How do I refer someone to MAPPA?")
    assert conversation.slot("partnership") == "kent_medway"
    assert conversation.slot("topic") == "mappa.referral"
    kent_answer = conversation.text
    conversation.say("and in West Midlands?")
    assert conversation.slot("partnership") == "west_midlands"
    assert conversation.slot("topic") == "mappa.referral"
    assert conversation.text != kent_answer
    assert "West Midlands procedure 2.14" in conversation.text


def test_tell_me_more_and_where_from(conversation):
    conversation.say("what is Clare's Law?")
    assert conversation.slot("topic") == "clares_law.overview"
    short = conversation.text
    conversation.say("tell me more")
    assert conversation.text != short
    conversation.say("where does that come from?")
    assert "2.14" in conversation.text and "http" in conversation.text
    assert conversation.slot("topic") == "clares_law.overview"


@pytest.mark.parametrize(
    "question",
    [
        "what's the weather like in Maidstone tomorrow?",
        "how do I claim my travel expenses?",
        "give me a recipe for lasagne",
        "how do I reset my email password?",
        "who won the football last night?",
        "can I book annual leave for next week?",
        "tell me a joke",
        "what time is the next train to London?",
        "the printer on the second floor is jammed",
        "write me a poem about autumn",
    ],
)
def test_unrelated_questions_are_out_of_scope(stack, question):
    conversation = Conversation(stack)
    conversation.say(question)
    assert conversation.slot("topic") == "out_of_scope"
    assert "can't help" in conversation.text or "not sure I understood" in conversation.text
    assert "Source:" not in conversation.text, "no guidance may be given for an unrelated question"


def test_emergency_gets_999_first(conversation):
    conversation.say("a child is in immediate danger right now, what do I do?")
    assert conversation.replies[0]["text"].find("999") >= 0
    assert conversation.slot("topic") == "emergency"


def _topic_cases():
    contract = yaml.safe_load(CONTRACT_PATH.read_text())["topics"]
    for spec in contract:
        partnerships = PARTNERSHIPS if spec.get("local") else (None,) + PARTNERSHIPS
        for partnership in partnerships:
            yield spec["id"], partnership


@pytest.mark.parametrize("topic_id,partnership", list(_topic_cases()))
def test_every_topic_answers_for_each_partnership(stack, topic_id, partnership):
    conversation = Conversation(stack)
    if partnership:
        conversation.say(f'/inform_partnership{{"partnership":"{partnership}"}}')
    conversation.say("/" + DATA.topic(topic_id).intent)
    for doc in DATA.sources_for(topic_id, partnership):
        assert doc.entries[topic_id].short in conversation.text
        assert doc.entries[topic_id].section in conversation.text
    slots = conversation.tracker()["slots"]
    assert slots["topic"] == topic_id
    assert slots["partnership"] == partnership

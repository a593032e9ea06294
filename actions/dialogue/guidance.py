"""Guidance answers: a topic for the user's partnership, its detail, its source."""
from __future__ import annotations

from typing import Any, Dict, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import answers
from actions.answers import Reply
from actions.content import OUT_OF_SCOPE, PARTNERSHIPS, content
from actions.dialogue.common import PARTNERSHIP, PENDING_TOPIC, TOPIC, latest_intent, send, slot_events


def respond_to_topic(topic_id: str, partnership: Optional[str]) -> Tuple[Reply, Dict[str, Any]]:
    """The reply and the slots to set for a question about `topic_id` (shared with the checklist form)."""
    data = content()
    if answers.needs_partnership(data, topic_id, partnership):
        return answers.ask_partnership(data, topic_id), {PENDING_TOPIC: topic_id}
    return answers.answer(data, topic_id, partnership), {TOPIC: topic_id, PENDING_TOPIC: None}


def _answered_topic(tracker: Tracker) -> Optional[str]:
    topic = tracker.get_slot(TOPIC)
    return topic if topic and topic != OUT_OF_SCOPE and topic in content().topics else None


class ActionAnswerTopic(Action):
    """Answers a topic question, or re-answers after the user chooses or changes partnership."""

    def name(self) -> Text:
        return "action_answer_topic"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        data = content()
        intent = latest_intent(tracker)
        partnership = tracker.get_slot(PARTNERSHIP)
        topic = data.topic_for_intent(intent)
        if topic is not None:
            reply, slots = respond_to_topic(topic.id, partnership)
            send(dispatcher, reply)
            return slot_events(**slots)

        # The user chose or changed partnership: answer what was pending, or re-answer the last topic.
        topic_id = tracker.get_slot(PENDING_TOPIC) or _answered_topic(tracker)
        if topic_id and partnership in PARTNERSHIPS:
            reply, slots = respond_to_topic(topic_id, partnership)
            send(dispatcher, reply)
            return slot_events(**slots)
        if partnership in PARTNERSHIPS:
            send(dispatcher, Reply(
                f"Thanks: I'll answer for {answers.partnership_name(data, partnership)} from now on. "
                "What would you like to know?"))
        else:
            send(dispatcher, answers.ask_partnership(data))
        return []


class ActionTellMore(Action):
    def name(self) -> Text:
        return "action_tell_more"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        data = content()
        topic_id = _answered_topic(tracker)
        if topic_id is None:
            send(dispatcher, answers.capabilities(data))
            return []
        partnership = tracker.get_slot(PARTNERSHIP)
        docs = data.sources_for(topic_id, partnership)
        if not any(doc.entries[topic_id].detail for doc in docs):
            send(dispatcher, answers.no_more_detail(data, topic_id))
        else:
            send(dispatcher, answers.answer(data, topic_id, partnership, detailed=True))
        return slot_events(**{TOPIC: topic_id})


class ActionShowSource(Action):
    def name(self) -> Text:
        return "action_show_source"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        data = content()
        topic_id = _answered_topic(tracker)
        if topic_id is None:
            send(dispatcher, Reply(
                "Ask me a question first and I'll tell you which procedure and section the answer comes from."))
            return []
        send(dispatcher, answers.sources(data, topic_id, tracker.get_slot(PARTNERSHIP)))
        return slot_events(**{TOPIC: topic_id})


class ActionShowCapabilities(Action):
    def name(self) -> Text:
        return "action_show_capabilities"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        send(dispatcher, answers.capabilities(content()))
        return []

"""Guidance answers: a topic for the user's partnership, its detail, its source."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import PARTNERSHIP, PENDING_TOPIC, TOPIC, latest_entities, latest_intent, send, slot_events
from sga import answers, followups
from sga.answers import Reply
from sga.content import OUT_OF_SCOPE, PARTNERSHIPS, content

OTHER_AREA = "other_area"


def respond_to_topic(topic_id: str, partnership: Optional[str]) -> Tuple[Reply, Dict[str, Any]]:
    """The reply and the slots to set for a question about `topic_id` (shared with the checklist form)."""
    data = content()
    if answers.needs_partnership(data, topic_id, partnership):
        return answers.ask_partnership(data, topic_id), {PENDING_TOPIC: topic_id}
    if topic_id == "emergency":  # answered first; a question waiting for the partnership still waits
        return answers.answer(data, topic_id, partnership), {TOPIC: topic_id}
    return answers.answer(data, topic_id, partnership), {TOPIC: topic_id, PENDING_TOPIC: None}


def respond_in_context(tracker: Tracker, topic_id: str) -> Tuple[Reply, Dict[str, Any]]:
    """As `respond_to_topic`, for someone who may have said they work outside the two partnerships:
    while a place we do not cover is known (named now or earlier), local procedure gets the coverage
    answer, and a national scheme's answer comes labelled as these procedures', not theirs."""
    area = _place(latest_entities(tracker).get(OTHER_AREA)) or _place(tracker.get_slot(OTHER_AREA))
    if topic_id == "emergency" or not area:
        return respond_to_topic(topic_id, tracker.get_slot(PARTNERSHIP))
    if followups.is_national(topic_id) and not content().topic(topic_id).local:
        # A national scheme (MAPPA, Sarah's Law, Clare's Law): answered, labelled as these procedures'.
        reply, slots = respond_to_topic(topic_id, tracker.get_slot(PARTNERSHIP))
        return Reply(answers.outside_coverage_note(area) + "\n\n" + reply.text, reply.buttons), slots
    # Local procedure is never answered as if it were theirs: say what is covered instead.
    return answers.coverage(content(), area), {TOPIC: OUT_OF_SCOPE, PENDING_TOPIC: topic_id}


def _choosing_a_checklist(tracker: Tracker) -> Optional[Callable[[CollectingDispatcher], List[EventType]]]:
    """When the checklist picker is showing and the message names a checklist, that is the choice."""
    from actions.checklist import choose_checklist

    return choose_checklist(tracker)


def _place(area: Optional[str]) -> Optional[str]:
    """A place the user works in; not a question about coverage ("is it in England and Wales?")."""
    return area if area in answers.AREA_NAMES else None


def answered_topic(tracker: Tracker) -> Optional[str]:
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
        choosing = _choosing_a_checklist(tracker)
        if choosing is not None:  # "risk assessment" typed at the checklist picker names a checklist
            return choosing(dispatcher)
        if topic is not None:
            reply, slots = respond_in_context(tracker, topic.id)
            send(dispatcher, reply)
            return slot_events(**slots)

        # The user chose or changed partnership: answer what was pending, or re-answer the last topic.
        topic_id = tracker.get_slot(PENDING_TOPIC) or answered_topic(tracker)
        if topic_id and partnership in PARTNERSHIPS:
            reply, slots = respond_to_topic(topic_id, partnership)
            send(dispatcher, reply)
            return slot_events(**slots, **{OTHER_AREA: None})
        if partnership in PARTNERSHIPS:
            send(
                dispatcher,
                Reply(
                    f"Thanks: I'll answer for {answers.partnership_name(data, partnership)} from now on. "
                    "What would you like to know?"
                ),
            )
            return slot_events(**{OTHER_AREA: None})
        send(dispatcher, answers.ask_partnership(data))
        return []


class ActionAnswerFollowup(Action):
    """A follow-up that does not name its topic ("timescales?", "who decides?"), answered for the
    scheme the user names or the one being discussed."""

    def name(self) -> Text:
        return "action_answer_followup"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        intent = latest_intent(tracker) or ""
        if intent not in followups.FACET_INTENTS:
            send(dispatcher, answers.capabilities(content()))
            return []
        data = followups.facets()
        found = followups.resolve(intent, latest_entities(tracker).get("scheme"), answered_topic(tracker))
        label = data.facets[found.facet]
        if found.scheme is None:
            offered = {key: s.name for key, s in data.schemes.items() if found.facet in s.answers}
            send(dispatcher, answers.which_scheme(offered, intent, label))
            return []
        if found.topic_id is None:
            send(dispatcher, answers.facet_not_covered(data.schemes[found.scheme].name, label))
            return []
        reply, slots = respond_in_context(tracker, found.topic_id)
        send(dispatcher, reply)
        return slot_events(**slots)


class ActionAnswerCoverage(Action):
    """Someone outside the two partnerships, or a question from another domain (adult safeguarding)."""

    def name(self) -> Text:
        return "action_answer_coverage"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        data = content()
        if latest_intent(tracker) == "ask_adult_safeguarding":
            send(dispatcher, answers.adult_safeguarding(data))
            return slot_events(**{TOPIC: OUT_OF_SCOPE})
        area = _place(latest_entities(tracker).get(OTHER_AREA)) or tracker.get_slot(OTHER_AREA)
        send(dispatcher, answers.coverage(data, area))
        return slot_events(**{TOPIC: OUT_OF_SCOPE, OTHER_AREA: area})


class ActionGreet(Action):
    """A greeting; one that names a partnership's place or a role is taken as said."""

    def name(self) -> Text:
        return "action_greet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        data = content()
        area = _place(latest_entities(tracker).get(OTHER_AREA))
        partnership = tracker.get_slot(PARTNERSHIP)
        if area:
            send(dispatcher, answers.coverage(data, area))
            return slot_events(**{TOPIC: OUT_OF_SCOPE})
        if partnership in PARTNERSHIPS:
            send(dispatcher, answers.greeting(data, partnership))
            return []
        send(dispatcher, answers.welcome(data))
        return []


class ActionTellMore(Action):
    def name(self) -> Text:
        return "action_tell_more"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        data = content()
        topic_id = answered_topic(tracker)
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
        topic_id = answered_topic(tracker)
        if topic_id is None:
            send(
                dispatcher,
                Reply("Ask me a question first and I'll tell you which procedure and section the answer comes from."),
            )
            return []
        send(dispatcher, answers.sources(data, topic_id, tracker.get_slot(PARTNERSHIP)))
        return slot_events(**{TOPIC: topic_id})


class ActionShowCapabilities(Action):
    def name(self) -> Text:
        return "action_show_capabilities"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        send(dispatcher, answers.capabilities(content()))
        return []

"""When the NLU is unsure or the question is out of scope: search the content, never guess.

One exception: the NLU's two likeliest readings may be different intents that lead to the same
answer ("who decides about disclosure" is both the "who decides?" follow-up, resolved to the local
authority's decision, and the decision-maker question). That is not ambiguity: together they are
confident, so the answer is given.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import TOPIC, latest_entities, latest_intent, latest_text, send, slot_events
from actions.guidance import answered_topic, respond_in_context
from sga import answers, followups, search
from sga.answers import Reply
from sga.content import OUT_OF_SCOPE, content

MAX_QUERY_CHARS = 2000
# Two readings that lead to one answer are taken when together they are at least this confident.
AGREED_CONFIDENCE = 0.7


def topic_of_intent(tracker: Tracker, intent: str) -> Optional[str]:
    """The topic an intent would be answered with here (a follow-up resolved in context)."""
    if intent in followups.FACET_INTENTS:
        return followups.resolve(intent, latest_entities(tracker).get("scheme"), answered_topic(tracker)).topic_id
    topic = content().topic_for_intent(intent)
    return topic.id if topic is not None else None


def agreed_topic(tracker: Tracker) -> Optional[str]:
    """The topic both of the NLU's two likeliest intents lead to, when together they are confident."""
    ranking = [i for i in (tracker.latest_message or {}).get("intent_ranking") or [] if i.get("name") != "nlu_fallback"]
    if len(ranking) < 2:
        return None
    first, second = ranking[0], ranking[1]
    if first.get("confidence", 0) + second.get("confidence", 0) < AGREED_CONFIDENCE:
        return None
    topic = topic_of_intent(tracker, first.get("name") or "")
    return topic if topic is not None and topic == topic_of_intent(tracker, second.get("name") or "") else None


class ActionSearchFallback(Action):
    def name(self) -> Text:
        return "action_search_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        data = content()
        area = latest_entities(tracker).get("other_area")
        # "I've moved to Surrey now, what about there?" (unclear, names a place) gets the coverage answer;
        # a question that is plainly about something else ("the next train to London") does not.
        if area in answers.AREA_NAMES and latest_intent(tracker) == "nlu_fallback":
            send(dispatcher, answers.coverage(data, area))
            return slot_events(**{TOPIC: OUT_OF_SCOPE, "other_area": area})
        agreed = agreed_topic(tracker)
        if agreed is not None:
            reply, slots = respond_in_context(tracker, agreed)
            send(dispatcher, reply)
            return slot_events(**slots)
        hits = search.index().search(latest_text(tracker)[:MAX_QUERY_CHARS])
        if hits:
            lines = ["I'm not sure I understood. These sections of the procedures look closest:"]
            lines.extend(f"- {data.topic(h.topic_id).title}: {data.topic(h.topic_id).summary}" for h in hits)
            lines.append("Choose one, or ask again in other words.")
            send(dispatcher, Reply("\n".join(lines), [answers.topic_button(data, h.topic_id) for h in hits]))
        else:
            send(dispatcher, answers.out_of_scope(data))
        return slot_events(**{TOPIC: OUT_OF_SCOPE})

"""When the NLU is unsure or the question is out of scope: search the content, never guess."""

from __future__ import annotations

from typing import Any, Dict, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import TOPIC, latest_entities, latest_intent, latest_text, send, slot_events
from sga import answers, search
from sga.answers import Reply
from sga.content import OUT_OF_SCOPE, content

MAX_QUERY_CHARS = 2000


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
        hits = search.index().search(latest_text(tracker)[:MAX_QUERY_CHARS])
        if hits:
            lines = ["I'm not sure I understood. These sections of the procedures look closest:"]
            lines.extend(f"- {data.topic(h.topic_id).title}: {data.topic(h.topic_id).summary}" for h in hits)
            lines.append("Choose one, or ask again in other words.")
            send(dispatcher, Reply("\n".join(lines), [answers.topic_button(data, h.topic_id) for h in hits]))
        else:
            send(dispatcher, answers.out_of_scope(data))
        return slot_events(**{TOPIC: OUT_OF_SCOPE})

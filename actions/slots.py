"""Global slot validation: values that arrive from crafted payloads or stray entities are checked
before any action uses them (Rasa runs `action_validate_slot_mappings` after every user message)."""

from __future__ import annotations

from typing import Any, Dict, Text

from rasa_sdk import Tracker, ValidationAction
from rasa_sdk.executor import CollectingDispatcher

from sga.content import PARTNERSHIPS
from sga.outcomes import PRACTITIONER_ROLES

# Intents that name a partnership to choose training scenarios, not to say where the user works.
BROWSING_INTENTS = {"start_scenario", "start_group_session"}


class ValidateSlotMappings(ValidationAction):
    def name(self) -> Text:
        return "action_validate_slot_mappings"

    def validate_partnership(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        named = [
            e
            for e in (tracker.latest_message or {}).get("entities") or []
            if e.get("entity") == "partnership" and e.get("value") in PARTNERSHIPS
        ]
        if len({e["value"] for e in named}) > 1:
            # "we're Kent not West Midlands", "sorry, I meant WM not Kent": the place named first is
            # the one meant, the other is being corrected.
            first = min(named, key=lambda e: e.get("start", 0))
            return {"partnership": first["value"]}
        if (tracker.latest_message or {}).get("intent", {}).get("name") in BROWSING_INTENTS:
            # "west midlands scenarios": choosing cases to train with is not saying where you work.
            return {"partnership": _value_before_latest_message(tracker, "partnership")}
        if value in PARTNERSHIPS:
            return {"partnership": value}
        # Keep the partnership the user already chose rather than replacing it with nonsense.
        previous = _value_before_latest_message(tracker, "partnership")
        dispatcher.utter_message(text="I only know the Kent and Medway and West Midlands procedures.")
        return {"partnership": previous}

    def validate_role(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        return {"role": value if value in PRACTITIONER_ROLES else None}


def _value_before_latest_message(tracker: Tracker, slot: str) -> Any:
    seen_user_message = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user_message = True
        elif seen_user_message and event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None

"""Small helpers shared by the Rasa actions."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import Reply

TOPIC = "topic"
PARTNERSHIP = "partnership"
PENDING_TOPIC = "pending_topic"


def send(dispatcher: CollectingDispatcher, reply: Reply) -> None:
    dispatcher.utter_message(text=reply.text, buttons=reply.buttons or None)


def latest_intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message or {}).get("intent", {}).get("name")


def latest_confidence(tracker: Tracker) -> float:
    return float((tracker.latest_message or {}).get("intent", {}).get("confidence") or 0.0)


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def slot_events(**slots: Any) -> List[Dict[str, Any]]:
    return [SlotSet(name, value) for name, value in slots.items()]

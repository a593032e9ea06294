"""Small helpers shared by the Rasa actions: what the NLU understood of the latest message."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from sga.answers import Reply

TOPIC = "topic"
PARTNERSHIP = "partnership"
PENDING_TOPIC = "pending_topic"


def send(
    dispatcher: CollectingDispatcher,
    reply: Reply,
    record: Optional[Dict[str, str]] = None,
    summary: Optional[Dict[str, Any]] = None,
) -> None:
    """`record`: a record the user may keep ({"kind", "title", "text"}); the web chat offers
    "Copy summary" and "Print" for it (rasa_addons/channels/socketio.py). `summary`: a checklist's
    summary as data, which Teams draws as an Adaptive Card. Channels that do not look for them ignore
    them (both travel in the bot message's metadata)."""
    extra: Dict[str, Any] = {k: v for k, v in {"record": record, "summary": summary}.items() if v is not None}
    dispatcher.utter_message(text=reply.text, buttons=reply.buttons or None, **extra)


def latest_intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message or {}).get("intent", {}).get("name")


def latest_confidence(tracker: Tracker) -> float:
    return float((tracker.latest_message or {}).get("intent", {}).get("confidence") or 0.0)


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def latest_entities(tracker: Tracker) -> Dict[str, str]:
    """Entity -> value found in the latest message (the first value of each entity)."""
    found: Dict[str, str] = {}
    for entity in (tracker.latest_message or {}).get("entities") or []:
        name, value = entity.get("entity"), entity.get("value")
        if isinstance(name, str) and isinstance(value, str) and name not in found:
            found[name] = value
    return found


def slot_events(**slots: Any) -> List[EventType]:
    return [SlotSet(name, value) for name, value in slots.items()]

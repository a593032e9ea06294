"""The socket.io output channel sends each reply whole, with the record an action attached to it
(Rasa's own splits a message at blank lines into several `bot_uttered` events)."""

from __future__ import annotations

import asyncio
from typing import Any, List, Tuple

from rasa.core.channels import socketio as rasa_socketio

from rasa_addons.channels.socketio import MAX_RECORD_CHARS, SocketIOOutput, record_of

ANSWER = "MAPPA levels\n\nThe level depends on:\n- Level 1\n- Level 2\n\nSource: West Midlands procedure 2.14"
SUMMARY = {"kind": "summary", "title": "Checklist summary", "text": "Summary: Recognition checklist\n\nOutcome: x"}


class FakeServer:
    def __init__(self) -> None:
        self.emitted: List[Tuple[str, Any, dict]] = []

    async def emit(self, event: str, data: Any = None, **kwargs: Any) -> None:
        self.emitted.append((event, data, kwargs))


def sent(message: dict, output_class=SocketIOOutput) -> List[Any]:
    server = FakeServer()
    output = output_class(server, "bot_uttered")
    asyncio.run(output.send_response("session-1", dict(message)))
    assert all(event == "bot_uttered" and kwargs["room"] == "session-1" for event, _, kwargs in server.emitted)
    return [data for _, data, _ in server.emitted]


def test_rasa_own_channel_splits_an_answer_into_several_events():
    """Why this subclass exists: if Rasa stops splitting, this fails and the override can go."""
    assert len(sent({"text": ANSWER}, rasa_socketio.SocketIOOutput)) == 3


def test_a_reply_is_one_event_with_its_citation_and_buttons():
    assert sent({"text": ANSWER}) == [{"text": ANSWER}]
    buttons = [{"title": "Where does that come from?", "payload": "/ask_source"}]
    (message,) = sent({"text": ANSWER + "\n\n", "buttons": buttons})
    assert message["text"] == ANSWER
    assert message["quick_replies"] == [{"content_type": "text", **buttons[0]}]


def test_a_record_travels_with_its_reply():
    (message,) = sent({"text": "Summary ...\n\nSave this to the outcome log?", "buttons": [], "record": SUMMARY})
    assert message["record"] == SUMMARY
    (message,) = sent({"text": "Saved.", "record": {**SUMMARY, "kind": "saved"}})
    assert message["record"]["kind"] == "saved"


def test_only_a_well_formed_record_is_passed_on():
    assert record_of(SUMMARY) == SUMMARY
    assert record_of({**SUMMARY, "title": None}) == {**SUMMARY, "title": ""}
    for bad in (None, "text", {**SUMMARY, "kind": "script"}, {**SUMMARY, "text": ""}, {**SUMMARY, "text": 3}):
        assert record_of(bad) is None, bad
    assert record_of({**SUMMARY, "text": "x" * (MAX_RECORD_CHARS + 1)}) is None
    (message,) = sent({"text": "hello", "record": {"kind": "other", "text": "x"}})
    assert message == {"text": "hello"}

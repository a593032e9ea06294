"""The action-call patch against real sockets, without a stack: a closed port, a server that accepts
and never answers, a server that answers 500, and one that rejects the action (400). Fast enough for
every run; the full stack version is in test_reliability_faults.py."""

import asyncio
import json
import socket
import time
import uuid

import pytest
import rasa.core.actions.action as rasa_action
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, FollowupAction, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

import rasa_addons  # noqa: F401  (applies the patches, as loading a channel does)
from rasa_addons import patches

DOMAIN = Domain.from_dict(
    {
        "actions": ["action_answer_topic", "validate_checklist_form", "action_finish_checklist"],
        "forms": {"checklist_form": {"required_slots": ["checklist_step"]}},
        "slots": {
            "checklist_step": {"type": "text", "influence_conversation": False, "mappings": [{"type": "from_text"}]},
            "checklist_state": {"type": "any", "influence_conversation": False, "mappings": [{"type": "custom"}]},
        },
    }
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tracker(sender: str, after_message=()) -> DialogueStateTracker:
    """Mid-checklist: the form asked question 3; the user answered; `after_message` happened since."""
    return DialogueStateTracker.from_events(
        sender,
        [
            ActionExecuted("action_listen"),
            UserUttered("start the recognition checklist", {"name": "start_checklist"}),
            ActionExecuted("checklist_form"),
            ActiveLoop("checklist_form"),
            SlotSet("checklist_state", {"kind": "recognition", "answers": {"q1": "yes", "q2": "no"}}),
            SlotSet("requested_slot", "checklist_step"),
            ActionExecuted("action_listen"),
            UserUttered("yep", {"name": "affirm"}, message_id=uuid.uuid4().hex),
            *after_message,
        ],
        slots=DOMAIN.slots,
    )


async def call(port: int, sender: str, action: str = "action_answer_topic", same_tracker=None):
    channel = CollectingOutputChannel()
    remote = RemoteAction(action, EndpointConfig(f"http://127.0.0.1:{port}/webhook"))
    events = await remote.run(channel, TemplatedNaturalLanguageGenerator({}), same_tracker or tracker(sender), DOMAIN)
    return events, channel.messages


class FakeActionServer:
    """A TCP server that reads the request, then answers `status` with `body`, or never if status is None."""

    def __init__(self, status, body=b"{}"):
        self.status, self.body, self.requests = status, body, 0

    async def handle(self, reader, writer):
        self.requests += 1
        await reader.readuntil(b"\r\n\r\n")
        if self.status is None:
            await asyncio.sleep(3600)
        writer.write(
            b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (self.status, len(self.body), self.body)
        )
        await writer.drain()
        writer.close()

    async def __aenter__(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc):
        self.server.close()


@pytest.fixture
def short_timeout(monkeypatch):
    monkeypatch.setattr(rasa_action, "DEFAULT_REQUEST_TIMEOUT", 1.5)


def test_the_timeout_comes_from_the_settings(monkeypatch):
    monkeypatch.setenv("ACTION_TIMEOUT_SECONDS", "7")
    assert patches.action_timeout() == 7.0
    for wrong in ("soon", "0", "-3", "100000"):
        monkeypatch.setenv("ACTION_TIMEOUT_SECONDS", wrong)
        assert patches.action_timeout() == patches.DEFAULT_ACTION_TIMEOUT
    monkeypatch.delenv("ACTION_TIMEOUT_SECONDS")
    assert patches.action_timeout() == 10.0
    assert rasa_action.DEFAULT_REQUEST_TIMEOUT != 300  # Rasa's 5 minutes is replaced on import


LISTEN = FollowupAction("action_listen")


async def in_turn(coroutine):
    """As the patched MessageProcessor.handle_message runs each user message."""
    patches.new_turn()
    return await coroutine


def test_a_closed_port_tells_the_user_at_once_and_listens():
    start = time.monotonic()
    events, messages = asyncio.run(in_turn(call(closed_port(), "closed-" + uuid.uuid4().hex)))
    assert time.monotonic() - start < 3
    assert [m["text"] for m in messages] == [patches.ACTION_SERVER_DOWN]
    assert events == [LISTEN]


def test_the_answer_taken_by_the_form_is_handed_back_so_the_checklist_stays_where_it_was():
    # As the form calls its validation: the raw answer sits in the slot, waiting to be validated.
    answered = tracker("form-" + uuid.uuid4().hex, [ActionExecuted("checklist_form"), SlotSet("checklist_step", "yep")])
    events, messages = asyncio.run(in_turn(call(closed_port(), "", "validate_checklist_form", answered)))
    assert events == [SlotSet("checklist_step", None), LISTEN]
    assert len(messages) == 1


def test_a_form_that_ended_in_the_failed_turn_is_active_again():
    # The last answer was validated and the form ended, then saving failed: back to the confirm step.
    ended = tracker(
        "ended-" + uuid.uuid4().hex,
        [
            ActionExecuted("checklist_form"),
            SlotSet("checklist_step", "done"),
            SlotSet("checklist_state", {"kind": "recognition", "answers": {"q1": "yes", "q2": "no", "q3": "yes"}}),
            SlotSet("requested_slot", None),
            ActiveLoop(None),
            ActionExecuted("action_finish_checklist"),
        ],
    )
    events, _ = asyncio.run(in_turn(call(closed_port(), "", "action_finish_checklist", ended)))
    assert SlotSet("checklist_step", None) in events and ActiveLoop("checklist_form") in events
    assert SlotSet("checklist_state", {"kind": "recognition", "answers": {"q1": "yes", "q2": "no"}}) in events
    assert SlotSet("requested_slot", "checklist_step") in events and events[-1] == LISTEN
    replayed = ended.copy()
    for event in events:
        replayed.update(event)
    assert replayed.active_loop_name == "checklist_form" and replayed.get_slot("checklist_step") is None


def test_outside_a_user_turn_the_user_is_still_told_but_nothing_is_undone():
    events, messages = asyncio.run(call(closed_port(), "api-" + uuid.uuid4().hex))
    assert [m["text"] for m in messages] == [patches.ACTION_SERVER_DOWN]
    assert events == [LISTEN]


def test_a_server_that_never_answers_times_out_and_the_turn_does_not_wait_twice(short_timeout):
    async def scenario():
        patches.new_turn()
        async with FakeActionServer(None) as server:
            shared = tracker("hung-" + uuid.uuid4().hex)
            start = time.monotonic()
            first = await call(server.port, "", same_tracker=shared)
            took = time.monotonic() - start
            # A second action in the same turn (the form asking its question) is not attempted.
            second = await call(server.port, "", "validate_checklist_form", same_tracker=shared)
            return took, first, second, server.requests, time.monotonic() - start

    took, (events, messages), (events2, messages2), requests, total = asyncio.run(scenario())
    assert 1.4 < took < 4
    assert [m["text"] for m in messages] == [patches.ACTION_SERVER_DOWN]
    assert events == events2 == [LISTEN]
    assert messages2 == [] and requests == 1 and total < 4


def test_a_new_turn_tries_the_server_again():
    sender = "retry-" + uuid.uuid4().hex
    asyncio.run(in_turn(call(closed_port(), sender)))

    async def answered():
        patches.new_turn()
        body = json.dumps({"events": [], "responses": [{"text": "Level 1, Level 2, Level 3"}]}).encode()
        async with FakeActionServer(200, body) as server:
            return await call(server.port, sender)

    events, messages = asyncio.run(answered())
    assert [e.as_dict()["text"] for e in events] == ["Level 1, Level 2, Level 3"]
    assert messages == []


def test_a_500_from_the_action_server_is_reported_to_the_user():
    async def scenario():
        async with FakeActionServer(500, b'{"error": "internal error in the action server"}') as server:
            return await call(server.port, "err-" + uuid.uuid4().hex)

    events, messages = asyncio.run(scenario())
    assert [m["text"] for m in messages] == [patches.ACTION_SERVER_DOWN]


def test_a_rejection_still_reaches_rasa():
    async def scenario():
        body = json.dumps({"action_name": "validate_checklist_form", "error": "not me"}).encode()
        async with FakeActionServer(400, body) as server:
            return await call(server.port, "rej-" + uuid.uuid4().hex, "validate_checklist_form")

    with pytest.raises(ActionExecutionRejection):
        asyncio.run(scenario())

"""The action-call patch against real sockets, without a stack: a closed port, a server that accepts
and never answers, a server that answers 500, and one that rejects the action (400). Fast enough for
every run; the full stack version is in test_reliability_faults.py."""
import asyncio
import json
import socket
import time
import uuid

import pytest
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, FollowupAction, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

import rasa.core.actions.action as rasa_action
import rasa_addons  # noqa: F401  (applies the patches, as loading a channel does)
from rasa_addons import patches

DOMAIN = Domain.from_dict({"actions": ["action_answer_topic", "validate_checklist_form"]})


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tracker(sender: str) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(sender, [
        ActionExecuted("action_listen"),
        UserUttered("yep", {"name": "affirm"}, message_id=uuid.uuid4().hex),
    ])


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
        writer.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                     % (self.status, len(self.body), self.body))
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


def test_a_closed_port_tells_the_user_at_once_and_listens():
    start = time.monotonic()
    events, messages = asyncio.run(call(closed_port(), "closed-" + uuid.uuid4().hex))
    assert time.monotonic() - start < 3
    assert [m["text"] for m in messages] == [patches.ACTION_SERVER_DOWN]
    assert events == [FollowupAction("action_listen")]


def test_a_server_that_never_answers_times_out_and_the_turn_does_not_wait_twice(short_timeout):
    async def scenario():
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
    assert events == events2 == [FollowupAction("action_listen")]
    assert messages2 == [] and requests == 1 and total < 4


def test_a_new_turn_tries_the_server_again():
    sender = "retry-" + uuid.uuid4().hex
    asyncio.run(call(closed_port(), sender))

    async def answered():
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

"""The socket.io channel (the web widget's) against the security issue: origins (finding 5), size and
type limits and rate limits (finding 3), server-issued session ids bound to one live connection
(finding 4), and its namespace kept apart from REST's."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, List, Optional

import pytest
import requests
import socketio

from rasa_addons.channels.guard import BLANK_REPLY, TOO_LONG_REPLY
from sga.limits import RATE_LIMITED_REPLY

pytestmark = pytest.mark.integration

PAGE_ORIGIN = "http://localhost:8080"  # tests/conftest.py stack_settings: rasa_cors


class Client:
    """One browser tab: a socket.io connection with a session."""

    def __init__(self, url: str, origin: Optional[str] = PAGE_ORIGIN):
        self.url, self.origin = url, origin
        self.sio = socketio.AsyncClient(reconnection=False)
        self.replies: List[Any] = []
        self.session_id: Optional[str] = None
        self.confirmed = asyncio.Event()
        self.sio.on("bot_uttered", self._on_reply)
        self.sio.on("session_confirm", self._on_confirm)

    async def _on_reply(self, data) -> None:
        self.replies.append(data)

    async def _on_confirm(self, data) -> None:
        self.session_id = data
        self.confirmed.set()

    async def connect(self, session_id: Optional[str] = None) -> "Client":
        headers = {"Origin": self.origin} if self.origin else {}
        await self.sio.connect(
            self.url, headers=headers, transports=["polling"], socketio_path="/socket.io", wait_timeout=10
        )
        await self.sio.emit("session_request", {"session_id": session_id})
        await asyncio.wait_for(self.confirmed.wait(), 10)
        return self

    async def say(self, message: Any, wait: float = 30, **extra) -> List[str]:
        self.replies.clear()
        await self.sio.emit("user_uttered", {"message": message, "session_id": self.session_id, **extra})
        return await self.texts(wait)

    async def texts(self, wait: float) -> List[str]:
        deadline = time.monotonic() + wait
        while not self.replies and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # the rest of a multi-message answer
        return [r.get("text", "") for r in self.replies if isinstance(r, dict)]

    async def close(self, graceful: bool = True) -> None:
        """Say goodbye (the server drops the session at once) without waiting for the long poll;
        not graceful: just go, as a closed laptop does (the server notices at the ping timeout)."""
        if graceful:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.sio.disconnect(), 1)
        await self.sio.eio.disconnect(abort=True)


def run(coroutine):
    return asyncio.run(coroutine)


def test_only_the_widget_page_may_connect(stack):
    async def scenario():
        for origin in ("https://evil.example", "null", "http://localhost:8081"):
            client = Client(stack.rasa_url, origin)
            with pytest.raises(socketio.exceptions.ConnectionError):
                await client.connect()
        client = await Client(stack.rasa_url, PAGE_ORIGIN).connect()
        assert any("MAPPA" in t for t in await client.say("what are the MAPPA levels?"))
        await client.close()

    run(scenario())
    # The long-polling transport refuses a foreign page too.
    polled = requests.get(
        f"{stack.rasa_url}/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Origin": "https://evil.example"},
        timeout=10,
    )
    assert polled.status_code == 400


def test_message_types_and_the_length_limit(stack):
    async def scenario():
        client = await Client(stack.rasa_url).connect()
        assert await client.say(["not", "text"]) == [BLANK_REPLY]
        assert await client.say({"text": "hi"}) == [BLANK_REPLY]
        assert await client.say("   \r\n ") == [BLANK_REPLY]
        assert await client.say("x" * 6000) == [TOO_LONG_REPLY]
        # Metadata that is not a small object is dropped, not parsed (Rasa would json.loads a string).
        assert any("MAPPA" in t for t in await client.say("what are the MAPPA levels?", metadata="{not json"))
        await client.close()

    run(scenario())


def test_a_huge_message_is_refused_without_stalling_others(stack):
    async def scenario():
        victim = await Client(stack.rasa_url).connect()
        attacker = await Client(stack.rasa_url).connect()
        began = time.monotonic()
        with contextlib.suppress(Exception):  # the server may drop the connection while we send
            await attacker.sio.emit("user_uttered", {"message": "x" * 950_000, "session_id": attacker.session_id})
        answer = await victim.say("what are the MAPPA levels?")
        assert any("MAPPA" in t for t in answer)
        assert time.monotonic() - began < 5, "another user's reply was delayed"
        await asyncio.sleep(1)
        assert not attacker.replies, "the oversized message reached the assistant"
        assert not attacker.sio.connected, "the connection that sent more than 16 KB is closed"
        await victim.close()
        if attacker.sio.connected:
            await attacker.close()

    run(scenario())


def test_session_ids_are_issued_by_the_server_and_bound_to_one_connection(stack):
    async def scenario():
        made_up = await Client(stack.rasa_url).connect("attacker-chosen-session-id-0001")
        assert made_up.session_id != "attacker-chosen-session-id-0001"
        assert len(made_up.session_id) == 64
        forged = made_up.session_id[:40] + "0" * 24
        again = await Client(stack.rasa_url).connect(forged)
        assert again.session_id != forged, "an id with a wrong signature is replaced"

        victim = await Client(stack.rasa_url).connect()
        await victim.say('/inform_partnership{"partnership":"west_midlands"}')
        thief = await Client(stack.rasa_url).connect(victim.session_id)
        assert thief.session_id != victim.session_id, "a live session is not handed to a second connection"
        # The thief cannot talk into the victim's session either.
        thief.replies.clear()
        await thief.sio.emit("user_uttered", {"message": "go back", "session_id": victim.session_id})
        await asyncio.sleep(1)
        assert not thief.replies
        victim.replies.clear()
        await victim.say("what are the MAPPA levels?")
        assert not thief.replies, "the second connection received the victim's replies"

        # After the victim leaves, their own tab can resume the (signed) session id it was given.
        session_id = victim.session_id
        await victim.close()
        await asyncio.sleep(0.5)
        resumed = await Client(stack.rasa_url).connect(session_id)
        assert resumed.session_id == session_id
        for client in (made_up, again, thief, resumed):
            await client.close()
        return session_id

    session_id = run(scenario())
    tracker = requests.get(
        f"{stack.rasa_url}/conversations/{session_id}/tracker",
        params={"token": stack.settings.rasa_auth_token},
        timeout=10,
    ).json()
    assert tracker["slots"]["partnership"] == "west_midlands"
    assert tracker["latest_input_channel"] == "socketio"
    assert not [e for e in tracker["events"] if e.get("event") == "user" and e.get("text") == "go back"]


def test_rest_cannot_write_into_a_web_chat_session(stack):
    async def scenario():
        client = await Client(stack.rasa_url).connect()
        await client.say("hello")
        await client.close()
        return client.session_id

    session_id = run(scenario())
    response = requests.post(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        timeout=30,
        json={"sender": session_id, "message": '/inform_partnership{"partnership":"kent_medway"}'},
    )
    assert response.status_code == 200
    tracker = requests.get(
        f"{stack.rasa_url}/conversations/{session_id}/tracker",
        params={"token": stack.settings.rasa_auth_token},
        timeout=10,
    ).json()
    assert tracker["slots"].get("partnership") is None
    assert response.json()[0]["recipient_id"] == "rest-" + session_id


def test_socketio_rate_limit_has_a_clear_reply(stack):
    budget = int(stack.settings.rate_limit_per_sender.split("/")[0])

    async def scenario():
        client = await Client(stack.rasa_url).connect()
        deadline = time.monotonic() + 60
        for sent in range(1, budget + 2):  # blank messages: answered before the NLU, so this is quick
            await client.sio.emit("user_uttered", {"message": "", "session_id": client.session_id})
            while len(client.replies) < sent and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        texts = [r["text"] for r in client.replies]
        assert texts.count(RATE_LIMITED_REPLY) == 1 and texts.count(BLANK_REPLY) == budget, texts[-3:]
        await client.close()

    run(scenario())


def test_websocket_transport_checks_the_origin_and_the_size(stack):
    """The widget's own transport (python-socketio's test client can only poll here)."""
    import websockets
    import websockets.exceptions

    uri = stack.rasa_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"

    async def scenario():
        with pytest.raises(websockets.exceptions.InvalidStatusCode) as refused:
            async with websockets.connect(uri, origin="https://evil.example"):
                pass
        assert refused.value.status_code == 400
        async with websockets.connect(uri, origin=PAGE_ORIGIN, max_size=None) as ws:
            assert (await ws.recv()).startswith("0{")
            await ws.send("40")
            assert (await ws.recv()).startswith("40")
            await ws.send('42["session_request",{"session_id":null}]')
            assert (await ws.recv()).startswith('42["session_confirm"')
            await ws.send('42["user_uttered",{"message":"' + "x" * 950_000 + '"}]')
            with pytest.raises(websockets.exceptions.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)  # closed: more than 16 KB

    run(scenario())


def test_the_page_gets_one_cors_header(stack):
    """engine.io's own CORS headers stay off: with Rasa's they would come twice, and browsers refuse that."""
    polled = requests.get(
        f"{stack.rasa_url}/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Origin": PAGE_ORIGIN},
        timeout=10,
    )
    assert polled.status_code == 200
    assert polled.raw.headers.getlist("Access-Control-Allow-Origin") == [PAGE_ORIGIN]

"""Rasa's socket.io channel (the web widget's), with session persistence that works and the checks
Rasa's own leaves out.

- With python-socketio 5.10 and later, Rasa 3.6's channel calls `enter_room` without awaiting it,
  so with `session_persistence: true` no reply ever reaches the browser (RasaHQ/rasa #13027).
  Pinning an older python-socketio would bring back known denial-of-service CVEs, so this subclass
  awaits it.
- Only the web pages in RASA_CORS_ORIGINS may connect (Rasa creates its server with
  `cors_allowed_origins=[]`, which switches the Origin check off; browsers do not apply CORS to
  WebSockets). A client that sends no Origin (not a browser) is let through: it could forge one.
- The engine.io buffer is capped at 16 KB (Rasa leaves python-engineio's 1 MB), and a message must
  be a string of at most 5,000 characters with no metadata other than a small JSON object.
- Session ids are issued by this server and signed (a random part, the issue time and an HMAC of
  both under a key derived from CONVERSATION_HASH_SALT): a client can resume a session it was given
  for 12 hours, but cannot make one up or stretch its life. A session is bound to one live
  connection: while a connection holds it, a second connection asking for it gets a new session
  instead of the first one's replies.
- A message is accepted only for the session its own connection holds.
- The rate limits apply (per session and per client address), with a clear reply.
- One reply is one `bot_uttered` event: Rasa's output channel splits a message at blank lines and
  emits each part on its own (an answer became three to six bubbles, its citation cut off from it,
  each part announced by a screen reader as a new message). The widget renders the paragraphs and
  lists of the whole message. A reply the actions mark as a record to keep (a checklist summary,
  the saved reference, a training debrief: the `record` key of the bot message) carries it along,
  so the widget can offer "Copy summary" and "Print".
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import inspect
import logging
import re
import secrets
import time
from typing import Any, Dict, List, Optional, Text

from rasa.core.channels import socketio as rasa_socketio
from rasa.core.channels.channel import UserMessage
from sanic import response

from rasa_addons.channels.guard import check_message, metadata_problem
from sga.limits import RATE_LIMITED_REPLY, rate_limits

logger = logging.getLogger(__name__)
MAX_BUFFER_BYTES = 16 * 1024
SESSION_ID = re.compile(r"[0-9a-f]{64}")
# How long a web chat session id can be resumed after it was issued (a working day).
SESSION_ID_TTL_SECONDS = 12 * 3600


def _signing_key() -> bytes:
    from sga.settings import load_settings

    salt = load_settings().conversation_salt
    return hashlib.sha256(b"sga socket.io session ids\0" + salt.encode()).digest()


def new_session_id(key: bytes, now: Optional[float] = None) -> str:
    """32 hex random, 8 hex issue time (Unix seconds), 24 hex HMAC of both: 64 hex characters."""
    issued = f"{int(time.time() if now is None else now):08x}"
    body = secrets.token_hex(16) + issued
    return body + _mac(key, body)


def session_id_is_ours(session_id: object, key: bytes, now: Optional[float] = None) -> bool:
    """Issued by this server (the key) less than SESSION_ID_TTL_SECONDS ago."""
    if not isinstance(session_id, str) or not SESSION_ID.fullmatch(session_id):
        return False
    body, mac = session_id[:40], session_id[40:]
    if not hmac.compare_digest(mac, _mac(key, body)):
        return False
    age = (time.time() if now is None else now) - int(body[32:40], 16)
    return 0 <= age <= SESSION_ID_TTL_SECONDS


def _mac(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:24]


def allowed_origins() -> list:
    from sga.settings import load_settings

    return load_settings().rasa_cors.split()


def origin_allowed(origin: Optional[str], origins: list) -> bool:
    """A request without an Origin is not from a browser page (and could forge one): let it through."""
    return origin is None or "*" in origins or origin in origins


def check_origins(eio, origins: list) -> None:
    """Refuse, with a 400, every engine.io request (polling and the WebSocket upgrade) whose Origin
    is not one of `origins`. engine.io's own check is left off (`cors_allowed_origins=[]`, as Rasa
    sets it) because it would also add CORS headers, and Rasa's Sanic-CORS already adds them: a
    browser refuses a response that carries them twice."""
    handle_request = eio.handle_request

    @functools.wraps(handle_request)
    async def handle_checked_request(request, *args, **kwargs):
        origin = request.headers.get("origin")
        if not origin_allowed(origin, origins):
            logger.warning("socket.io: refused a connection from a page not in RASA_CORS_ORIGINS")
            return response.text("This page may not use the chat.", status=400)
        return await handle_request(request, *args, **kwargs)

    eio.handle_request = handle_checked_request


def client_address(environ: dict) -> Optional[str]:
    request = environ.get("sanic.request")
    if request is None:
        return None
    return request.remote_addr or request.ip or None


RECORD_KINDS = frozenset({"summary", "saved", "debrief"})
MAX_RECORD_CHARS = 20_000


def record_of(value: object) -> Optional[Dict[str, str]]:
    """The record an action attached to a bot message (`{"kind", "title", "text"}`), or None."""
    if not isinstance(value, dict) or value.get("kind") not in RECORD_KINDS:
        return None
    text, title = value.get("text"), value.get("title")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_RECORD_CHARS:
        return None
    return {"kind": value["kind"], "title": title if isinstance(title, str) else "", "text": text}


class SocketIOOutput(rasa_socketio.SocketIOOutput):
    """Each reply whole, as one `bot_uttered` event (Rasa's splits it at blank lines)."""

    def __init__(self, sio, bot_message_evt: Text, namespace: Optional[Text] = None) -> None:
        super().__init__(sio, bot_message_evt)
        self.namespace = namespace

    async def _send_message(self, socket_id: Text, response: Any) -> None:
        await self.sio.emit(self.bot_message_evt, response, room=socket_id, namespace=self.namespace)

    @staticmethod
    def _message(text: Text, **kwargs: Any) -> Dict[str, Any]:
        message: Dict[str, Any] = {"text": text.strip()}
        record = record_of(kwargs.get("record"))
        if record is not None:
            message["record"] = record
        return message

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._send_message(recipient_id, self._message(text, **kwargs))

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        message = self._message(text, **kwargs)
        message["quick_replies"] = [
            {"content_type": "text", "title": button["title"], "payload": button["payload"]} for button in buttons
        ]
        await self._send_message(recipient_id, message)


class SocketIOInput(rasa_socketio.SocketIOInput):
    @classmethod
    def name(cls) -> Text:
        return "socketio"

    def get_output_channel(self) -> Optional[SocketIOOutput]:
        if self.sio is None:
            return None
        return SocketIOOutput(self.sio, self.bot_message_evt, self.namespace)

    def blueprint(self, on_new_message):
        blueprint = super().blueprint(on_new_message)
        sio, namespace = self.sio, self.namespace
        sio.eio.max_http_buffer_size = MAX_BUFFER_BYTES
        check_origins(sio.eio, allowed_origins())  # before Rasa attaches sio to the app
        rasa_connect = sio.handlers[namespace or "/"]["connect"]
        key = _signing_key()
        agent_holder: dict = {}

        @blueprint.listener("before_server_start")
        async def keep_app(app, _loop) -> None:
            agent_holder["app"] = app

        def intents():
            app = agent_holder.get("app")
            agent = getattr(getattr(app, "ctx", None), "agent", None)
            domain = getattr(agent, "domain", None)
            return frozenset(domain.intents) if domain is not None else None

        async def reply(sid, text: str) -> None:
            await sio.emit(self.bot_message_evt, {"text": text}, room=sid, namespace=namespace)

        @sio.on("connect", namespace=namespace)
        async def connect(sid, environ, auth=None) -> bool:
            if not await rasa_connect(sid, environ, auth):
                return False
            await sio.save_session(sid, {"address": client_address(environ)}, namespace=namespace)
            return True

        def quietly_if_gone(handler):
            """A client may leave while its event is handled: nothing to answer, nothing to log."""

            async def wrapped(sid, *args):
                try:
                    return await handler(sid, *args)
                except KeyError as error:
                    if sio.manager.is_connected(sid, namespace or "/"):
                        raise
                    logger.debug("socket.io: client left during an event (%s)", type(error).__name__)
                    return None

            return wrapped

        @sio.on("session_request", namespace=namespace)
        @quietly_if_gone
        async def session_request(sid, data) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            session_id = requested if session_id_is_ours(requested, key) else new_session_id(key)
            if self.session_persistence:
                held_by = [s for s, _ in sio.manager.get_participants(namespace or "/", session_id) if s != sid]
                if held_by:  # another live connection has it: never share a conversation
                    session_id = new_session_id(key)
                session = await sio.get_session(sid, namespace=namespace)
                old = session.get("session_id")
                if old and old != session_id:
                    await _maybe_await(sio.leave_room(sid, old, namespace=namespace))
                await _maybe_await(sio.enter_room(sid, session_id, namespace=namespace))
                await sio.save_session(sid, {**session, "session_id": session_id}, namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        @quietly_if_gone
        async def user_message(sid, data) -> None:
            if not isinstance(data, dict):
                return
            session = await sio.get_session(sid, namespace=namespace)
            if self.session_persistence and (
                not session.get("session_id") or data.get("session_id") != session["session_id"]
            ):
                logger.warning("socket.io message ignored: not for the session this connection holds")
                return
            sender = session.get("session_id") or sid
            if metadata_problem(data.get(self.metadata_key)):
                data = {k: v for k, v in data.items() if k != self.metadata_key}
            if not await rate_limits().allow(self.name(), sender, session.get("address")):
                await reply(sid, RATE_LIMITED_REPLY)
                return
            checked = check_message(data.get("message"), intents())
            if checked.reply:
                await reply(sid, checked.reply)
                return
            # As Rasa's own handler does, with this module's output channel (one event per reply).
            await on_new_message(
                UserMessage(
                    checked.text,
                    SocketIOOutput(sio, self.bot_message_evt, namespace),
                    sender,
                    input_channel=self.name(),
                    metadata=data.get(self.metadata_key) or {},
                )
            )

        return blueprint


async def _maybe_await(result) -> None:
    if inspect.isawaitable(result):  # a coroutine from python-socketio 5.10 on
        await result

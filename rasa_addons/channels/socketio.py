"""Rasa's socket.io channel (the web widget's), with session persistence that works.

With python-socketio 5.10 and later, Rasa 3.6's channel calls `enter_room` without awaiting it,
so with `session_persistence: true` no reply ever reaches the browser (RasaHQ/rasa #13027). Pinning
an older python-socketio would bring back known denial-of-service CVEs, so this subclass awaits it.
It also accepts a message only for the session its own connection asked for, and refuses short or
odd session ids (a session id becomes the conversation's sender id).
"""
from __future__ import annotations

import inspect
import logging
import re
import uuid
from typing import Text

from rasa.core.channels import socketio as rasa_socketio

from rasa_addons.channels.guard import reply_without_rasa

logger = logging.getLogger(__name__)
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


class SocketIOInput(rasa_socketio.SocketIOInput):
    @classmethod
    def name(cls) -> Text:
        return "socketio"

    def blueprint(self, on_new_message):
        blueprint = super().blueprint(on_new_message)
        sio, namespace = self.sio, self.namespace
        handle_message = sio.handlers[namespace or "/"][self.user_message_evt]

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid, data) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            valid = isinstance(requested, str) and SESSION_ID.fullmatch(requested)
            session_id = requested if valid else uuid.uuid4().hex
            if self.session_persistence:
                entered = sio.enter_room(sid, session_id, namespace=namespace)
                if inspect.isawaitable(entered):  # a coroutine from python-socketio 5.10 on
                    await entered
                await sio.save_session(sid, {"session_id": session_id}, namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def user_message(sid, data) -> None:
            if not isinstance(data, dict):
                return
            if self.session_persistence:
                session = await sio.get_session(sid, namespace=namespace)
                if not session.get("session_id") or data.get("session_id") != session["session_id"]:
                    logger.warning("socket.io message ignored: not for the session this connection requested")
                    return
            answer = reply_without_rasa(data.get("message"))
            if answer:
                await sio.emit(self.bot_message_evt, {"text": answer}, room=sid, namespace=namespace)
                return
            await handle_message(sid, data)

        return blueprint

"""The REST channel, with the request checks Rasa's own leaves out.

Rasa's RestInput answers 500 to a body that is not a JSON object, puts every request without a
`sender` into one shared "default" conversation, and lets a client name its own `input_channel`
(which the outcome log records). This subclass refuses such requests with a 4xx and a clear reason.
"""
from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response

from rasa_addons.channels.guard import MAX_MESSAGE_CHARS, reply_without_rasa

MAX_SENDER_CHARS = 128


def problem(body: Any) -> tuple[int, str] | None:
    """Why a REST body is refused, as (status, reason), or None when it is acceptable."""
    if not isinstance(body, dict):
        return 400, "the body must be a JSON object"
    sender, message = body.get("sender"), body.get("message")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
        return 400, f"`sender` must be a non-empty string of at most {MAX_SENDER_CHARS} characters"
    if not isinstance(message, str):
        return 400, "`message` must be a string"
    if len(message) > MAX_MESSAGE_CHARS:
        return 413, f"`message` is too long: at most {MAX_MESSAGE_CHARS} characters, please shorten it"
    return None


class RestInput(RasaRestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    def _extract_input_channel(self, req) -> Text:
        return self.name()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def check_body(request):
            if request.method != "POST":
                return None
            try:
                body = json.loads(request.body or b"")
            except (ValueError, UnicodeDecodeError):
                return response.json({"error": "the body is not valid JSON"}, status=400)
            refused = problem(body)
            if refused:
                return response.json({"error": refused[1]}, status=refused[0])
            answer = reply_without_rasa(body["message"])
            if answer:
                return response.json([{"recipient_id": body["sender"], "text": answer}])
            return None

        return blueprint

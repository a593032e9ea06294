"""The REST channel, with the request checks Rasa's own leaves out.

Rasa's RestInput answers 500 to a body that is not a JSON object, puts every request without a
`sender` into one shared "default" conversation, lets a client name its own `input_channel` (which
the outcome log records) and stores whatever `metadata` it sends. This subclass:

- requires `Content-Type: application/json` (415 otherwise), so a web page cannot post to it with a
  "simple" cross-origin request;
- refuses with a 4xx and a clear reason a body that is not a JSON object, a `sender` that is not
  16 to 64 letters, digits, '-' or '_' (nothing guessable, nothing the tracker API cannot address),
  and a `message` that is not a string or is over 5,000 characters;
- keeps REST conversations apart from the other channels': the conversation id is `rest-` + sender,
  so a REST client cannot write into a web chat or Teams conversation by naming its id;
- ignores client metadata and the client's `input_channel`;
- applies the rate limits (429 with a clear reason and Retry-After);
- passes a message that only looks like a button payload on as plain text (see guard.py).
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response

from rasa_addons.channels.guard import MAX_MESSAGE_CHARS, check_message, sender_problem
from sga.limits import RATE_LIMITED_REPLY, rate_limits

SENDER_PREFIX = "rest-"


def problem(body: Any) -> tuple[int, str] | None:
    """Why a REST body is refused, as (status, reason), or None when it is acceptable."""
    if not isinstance(body, dict):
        return 400, "the body must be a JSON object"
    sender, message = body.get("sender"), body.get("message")
    refused = sender_problem(sender)
    if refused:
        return 400, refused
    if not isinstance(message, str):
        return 400, "`message` must be a string"
    if len(message) > MAX_MESSAGE_CHARS:
        return 413, f"`message` is too long: at most {MAX_MESSAGE_CHARS} characters, please shorten it"
    return None


def conversation_id(sender: str) -> str:
    """The tracker's sender id for a REST client's `sender`."""
    return SENDER_PREFIX + sender


def client_address(request) -> str:
    """The client's address: the proxy-reported one only when Sanic is told to trust a proxy
    (SANIC_PROXIES_COUNT / SANIC_REAL_IP_HEADER / SANIC_FORWARDED_SECRET), else the peer's."""
    return request.remote_addr or request.ip or "unknown"


def domain_intents(request) -> Optional[frozenset]:
    agent = getattr(getattr(request.app, "ctx", None), "agent", None)
    domain = getattr(agent, "domain", None)
    return frozenset(domain.intents) if domain is not None else None


class RestInput(RasaRestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    def _extract_input_channel(self, req) -> Text:
        return self.name()

    async def _extract_sender(self, req) -> Optional[Text]:
        return conversation_id(req.json["sender"])

    def _extract_message(self, req) -> Optional[Text]:
        return req.ctx.sga_text

    def get_metadata(self, request) -> None:
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def check_body(request):
            if request.method != "POST":
                return None
            if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
                return response.json(
                    {"error": "send the body as JSON with `Content-Type: application/json`"}, status=415
                )
            try:
                body = json.loads(request.body or b"")
            except (ValueError, UnicodeDecodeError, RecursionError):
                return response.json({"error": "the body is not valid JSON"}, status=400)
            refused = problem(body)
            if refused:
                return response.json({"error": refused[1]}, status=refused[0])
            sender = conversation_id(body["sender"])
            if not await rate_limits().allow(self.name(), sender, client_address(request)):
                return response.json({"error": RATE_LIMITED_REPLY}, status=429, headers={"Retry-After": "60"})
            checked = check_message(body["message"], domain_intents(request))
            if checked.reply:
                return response.json([{"recipient_id": sender, "text": checked.reply}])
            request.ctx.sga_text = checked.text
            return None

        return blueprint

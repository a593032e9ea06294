"""Checks on events posted to a conversation through Rasa's HTTP API, before Rasa applies them.

An intranet page may preset the user's partnership (or role) before the first message, with
`POST /conversations/<id>/tracker/events` and a `slot` event. Two mistakes would otherwise pass
silently and leave the actions answering without it:

- the wrong conversation id: the REST channel keeps a client's conversation under `rest-<sender>`,
  so a preset posted to `<sender>` lands in a conversation nobody talks in. A new conversation whose
  id no channel makes is refused with the id to use (an existing one can always be written to);
- a value the slot cannot hold (`partnership: "Kent"`), an unknown slot, or a non-JSON body: refused
  with the allowed values, instead of Rasa's 500 or a value the actions would not understand.

A third one was Rasa's own: the route stamps the posted events when it reads the body, then starts
the conversation's first session, so a preset on a new conversation is older than its session. The
tracker store loads a conversation from its last session start when a message arrives, and the
preset was left out. `update_conversation_with_events` below re-stamps such events.

Everything else goes on to Rasa unchanged. The check is a request middleware on Rasa's app
(installed by `rasa_addons.patches`), so it sees the request before Rasa's own route does.
"""

from __future__ import annotations

import functools
import hmac
import json
import os
import re
import time
from http import HTTPStatus
from typing import Any, Dict, List, Optional
from urllib.parse import unquote

from rasa_addons.channels.guard import SENDER_ID

EVENTS_PATH = re.compile(r"^/conversations/(?P<id>.+)/tracker/events/?$")
REST_PREFIX = "rest-"


def conversation_id_problem(conversation_id: str) -> Optional[str]:
    """Why a preset on a new conversation with this id would never be seen (None when it would)."""
    if conversation_id.startswith(REST_PREFIX) and SENDER_ID.fullmatch(conversation_id[len(REST_PREFIX) :]):
        return None
    if SENDER_ID.fullmatch(conversation_id):
        hint = f"post to /conversations/{REST_PREFIX}{conversation_id}/tracker/events"
    else:
        hint = (
            f"use /conversations/{REST_PREFIX}<sender>/tracker/events, where <sender> is 16-64 letters, "
            "digits, '-' or '_'"
        )
    return (
        f"No conversation '{conversation_id}' exists, and no channel would use that id: a REST client's "
        f"conversation is kept as '{REST_PREFIX}' + its sender, so {hint}"
    )


def slot_event_problems(body: Any, slots: Dict[str, Dict[str, Any]]) -> List[str]:
    """What is wrong with the `slot` events in a posted body (`slots`: the domain's slot definitions)."""
    events = body if isinstance(body, list) else [body]
    problems = []
    for event in events:
        if not isinstance(event, dict):
            problems.append("each event must be a JSON object")
            continue
        if event.get("event") != "slot":
            continue
        name, value = event.get("name"), event.get("value")
        if not isinstance(name, str) or name not in slots:
            problems.append(f"unknown slot {name!r}: known slots are {', '.join(sorted(slots))}")
            continue
        allowed = slots[name].get("values")
        if slots[name].get("type") == "categorical" and value is not None and value not in (allowed or []):
            problems.append(f"slot '{name}' cannot be {value!r}: use one of {', '.join(map(str, allowed or []))}")
    return problems


def domain_slots(domain: Any) -> Dict[str, Dict[str, Any]]:
    """The domain's slots as plain data: type and, for categorical slots, the allowed values."""
    slots: Dict[str, Dict[str, Any]] = {}
    for slot in domain.slots:
        values = [v for v in getattr(slot, "values", []) if v != "__other__"]
        slots[slot.name] = {"type": slot.type_name, "values": values}
    return slots


def _refusal(status: HTTPStatus, reason: str, message: str) -> Any:
    from sanic import response

    body = {"version": "", "status": "failure", "message": message, "reason": reason, "code": status.value}
    return response.json(body, status=status.value)


def _authorised(request: Any) -> bool:
    expected = os.environ.get("RASA_AUTH_TOKEN", "")
    given = request.args.get("token") or ""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


async def check_events_request(request: Any) -> Any:
    """Sanic request middleware: a 400 response for a preset that would be lost, else None."""
    if request.method not in ("POST", "PUT"):
        return None
    match = EVENTS_PATH.match(request.path)
    if not match or not _authorised(request):
        return None  # not ours, or Rasa's own route refuses it (401) without telling anything
    agent = getattr(request.app.ctx, "agent", None)
    if agent is None or agent.domain is None:
        return None  # Rasa answers "no agent loaded" itself
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return _refusal(HTTPStatus.BAD_REQUEST, "BadRequest", "The body is not JSON: send a list of events.")
    problems = slot_event_problems(body, domain_slots(agent.domain))
    if problems:
        return _refusal(HTTPStatus.BAD_REQUEST, "BadSlotValue", "; ".join(problems))
    conversation_id = unquote(match["id"])
    problem = conversation_id_problem(conversation_id)
    if problem and not await agent.tracker_store.exists(conversation_id):
        return _refusal(HTTPStatus.BAD_REQUEST, "UnknownConversation", problem)
    return None


def wrap_update_conversation_with_events(original: Any) -> Any:
    """`rasa.server.update_conversation_with_events`, with events older than the session they are
    added to stamped now, so the tracker store keeps them in that session."""

    @functools.wraps(original)
    async def update_conversation_with_events(
        conversation_id: str, processor: Any, domain: Any, events: List[Any]
    ) -> Any:
        from rasa.shared.core.events import SessionStarted, do_events_begin_with_session_start

        if do_events_begin_with_session_start(events):
            return await original(conversation_id, processor, domain, events)
        tracker = await original(conversation_id, processor, domain, [])
        starts = [e.timestamp for e in tracker.events if isinstance(e, SessionStarted)]
        for event in events:
            if starts and event.timestamp <= starts[-1]:
                event.timestamp = time.time()
            tracker.update(event, domain)
        return tracker

    return update_conversation_with_events

"""Start-up patches for the Rasa server (Rasa 3.6 is frozen, so fixes live here). Applied when the
server loads the project's channels (bot/credentials.yml imports `rasa_addons`).

- Action-server replies are validated against Rasa's response schema with a validator built once:
  `jsonschema.validate` re-checks the schema itself and builds a new validator on every call, which
  was more than half of the server's time per message (../shared/rasa-notes.md). An invalid reply
  is still rejected with the same error.
- Action-server calls time out after ACTION_TIMEOUT_SECONDS (default 10) instead of Rasa's 5-minute
  constant. When the action server cannot be reached, times out or fails, the user is told so
  (`ACTION_SERVER_DOWN`) instead of getting silence, and the slots and the active form are put back
  as they were before the user's message: a form whose validation could not run would otherwise
  take the raw answer as filled and end, losing the checklist. (Not UserUtteranceReverted: Rasa
  collapses a form's turns when it replays events, so a revert there also drops the active form.)
  The same answer sent again once the server is back carries on. The rest of that turn calls the
  action server no more (no second wait) and the assistant listens. The message goes straight to
  the output channel, because Rasa discards an action's events when a form's turn is rejected.
- When the lock store (Redis, with bot/endpoints.production.yml) cannot be reached, Rasa answers
  every message with nothing and logs a long error holding the message text. Instead the user is
  told (`LOCK_STORE_DOWN`) and one line is logged, without the text. The message is not processed,
  so the conversation is unchanged; Rasa reconnects by itself once Redis is back.
- Events posted to a conversation through the HTTP API are checked first (`rasa_addons.presets`): a
  preset the actions would never see (wrong conversation id, a value the slot cannot hold) gets a
  400 with the reason, and a preset on a new conversation is kept in its first session.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import functools
import logging
from typing import Any, Dict, List, Optional

logger = logging.getLogger(__name__)

APPLIED_FLAG = "_sga_cached_validator"
TIMEOUT_FLAG = "_sga_action_timeout"
PRESET_FLAG = "_sga_preset_check"
DEFAULT_ACTION_TIMEOUT = 10.0
ACTION_SERVER_DOWN = (
    "The assistant's answer service is not responding just now; your checklist answers so far are kept. "
    "Please try again in a minute. If a child is in immediate danger, call 999."
)
LOCK_STORE_DOWN = (
    "The assistant cannot take messages just now because one of its services is down; nothing you "
    "said before is lost, and your checklist answers so far are kept. Please try again in a few minutes. "
    "If a child is in immediate danger, call 999."
)


@dataclasses.dataclass
class Turn:
    """One user message being handled: whether the action server already failed in it."""

    failed: bool = False


_TURN: "contextvars.ContextVar[Optional[Turn]]" = contextvars.ContextVar("sga_turn", default=None)
# Set by the agent around one message; the processor marks it once it starts handling the message.
_STARTED: "contextvars.ContextVar[Optional[List[bool]]]" = contextvars.ContextVar("sga_started", default=None)


@functools.lru_cache(maxsize=1)
def _response_validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    return validator_for(schema)(schema)


def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
    from jsonschema import ValidationError

    try:
        _response_validator().validate(result)
        return True
    except ValidationError as error:
        error.message += ". Failed to validate Action server response from API."
        raise


def action_timeout() -> float:
    """ACTION_TIMEOUT_SECONDS from the settings: a positive number, else the default."""
    from sga.settings import load_settings

    text = load_settings().action_timeout_seconds
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 300:
        logger.warning(
            "ACTION_TIMEOUT_SECONDS=%r is not a number of seconds from 1 to 300; using %s", text, DEFAULT_ACTION_TIMEOUT
        )
        return DEFAULT_ACTION_TIMEOUT
    return value


def _is_unavailable(error: BaseException) -> bool:
    import aiohttp
    from rasa.core.actions.action import ActionExecutionRejection
    from rasa.shared.exceptions import RasaException

    if isinstance(error, ActionExecutionRejection):  # the action's own "not me": Rasa handles it
        return False
    return isinstance(error, (RasaException, asyncio.TimeoutError, TimeoutError, aiohttp.ClientError))


def _as_before_the_message(tracker: Any, domain: Any) -> List[Any]:
    """Events that put the slots and the active loop back as they were before the latest user message."""
    from rasa.shared.core.events import ActiveLoop, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    events = list(tracker.events)
    last = next((i for i in range(len(events) - 1, -1, -1) if isinstance(events[i], UserUttered)), None)
    if last is None:
        return []
    before = DialogueStateTracker.from_events(tracker.sender_id, events[:last], slots=domain.slots)
    restore: List[Any] = [
        SlotSet(name, before.slots[name].value)
        for name, slot in tracker.slots.items()
        if name in before.slots and slot.value != before.slots[name].value
    ]
    if before.active_loop_name != tracker.active_loop_name:
        restore.append(ActiveLoop(before.active_loop_name))
    return restore


def _after_failure(tracker: Any, domain: Any, turn: Optional[Turn]) -> List[Any]:
    """Within a user's turn, undo what the message changed; then listen."""
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import FollowupAction

    restore = _as_before_the_message(tracker, domain) if turn is not None else []
    return [*restore, FollowupAction(ACTION_LISTEN_NAME)]


def _wrap_run(original_run):
    @functools.wraps(original_run)
    async def run(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Any]:
        turn = _TURN.get()
        if turn is not None and turn.failed:
            return _after_failure(tracker, domain, turn)  # already told this turn: do not wait again
        try:
            return await original_run(self, output_channel, nlg, tracker, domain)
        except BaseException as error:
            if not _is_unavailable(error):
                raise
            reason = "timed out" if isinstance(error, (asyncio.TimeoutError, TimeoutError)) else str(error)
            logger.warning(
                "Action server unavailable running '%s' (%s); the user was told",
                self.name(),
                reason or type(error).__name__,
            )
            if turn is not None:
                turn.failed = True
            try:
                await output_channel.send_text_message(tracker.sender_id, ACTION_SERVER_DOWN)
            except Exception:  # the channel itself failing must not hide the original problem
                logger.warning("Could not tell the user that the action server is unavailable", exc_info=True)
            return _after_failure(tracker, domain, turn)

    setattr(run, TIMEOUT_FLAG, True)
    return run


def _wrap_handle_message(original):
    @functools.wraps(original)
    async def handle_message(self: Any, message: Any) -> Any:
        started = _STARTED.get()
        if started is not None:
            started.append(True)
        token = _TURN.set(Turn())
        try:
            return await original(self, message)
        finally:
            _TURN.reset(token)

    setattr(handle_message, TIMEOUT_FLAG, True)
    return handle_message


def _wrap_agent_handle_message(original):
    @functools.wraps(original)
    async def handle_message(self: Any, message: Any) -> Any:
        from rasa.core.lock_store import LockError

        try:
            from redis.exceptions import RedisError
        except ImportError:  # pragma: no cover - redis is a Rasa dependency
            RedisError = LockError
        started: List[bool] = []
        token = _STARTED.set(started)
        try:
            return await original(self, message)
        except (LockError, RedisError) as error:
            if started:  # handled already; only releasing the lock failed: the replies are out
                logger.error("Lock store error after handling a message: %s", " ".join(str(error).split()))
                return None
            logger.error(
                "Lock store unavailable, message not processed; the user was told (%s)", " ".join(str(error).split())
            )
            try:
                await message.output_channel.send_text_message(message.sender_id, LOCK_STORE_DOWN)
            except Exception:
                logger.warning("Could not tell the user that the lock store is unavailable", exc_info=True)
            return None
        finally:
            _STARTED.reset(token)

    setattr(handle_message, TIMEOUT_FLAG, True)
    return handle_message


def new_turn() -> "contextvars.Token[Optional[Turn]]":
    """What the patched MessageProcessor.handle_message does for each message (for tests)."""
    return _TURN.set(Turn())


def _wrap_create_app(original):
    from rasa_addons.presets import check_events_request

    @functools.wraps(original)
    def create_app(*args: Any, **kwargs: Any) -> Any:
        app = original(*args, **kwargs)
        app.register_middleware(check_events_request, "request")
        return app

    setattr(create_app, PRESET_FLAG, True)
    return create_app


def apply() -> None:
    import rasa.core.actions.action as rasa_action
    import rasa.server
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent
    from rasa.core.processor import MessageProcessor

    # Read by RemoteAction.run at each call (`timeout=DEFAULT_REQUEST_TIMEOUT`).
    rasa_action.DEFAULT_REQUEST_TIMEOUT = action_timeout()
    if not getattr(RemoteAction.run, TIMEOUT_FLAG, False):
        RemoteAction.run = _wrap_run(RemoteAction.run)  # type: ignore[method-assign]
    if not getattr(MessageProcessor.handle_message, TIMEOUT_FLAG, False):
        MessageProcessor.handle_message = _wrap_handle_message(  # type: ignore[method-assign]
            MessageProcessor.handle_message
        )
    if not getattr(Agent.handle_message, TIMEOUT_FLAG, False):
        Agent.handle_message = _wrap_agent_handle_message(Agent.handle_message)  # type: ignore[method-assign]
    if not getattr(rasa.server.create_app, PRESET_FLAG, False):
        from rasa_addons.presets import wrap_update_conversation_with_events

        rasa.server.create_app = _wrap_create_app(rasa.server.create_app)
        rasa.server.update_conversation_with_events = wrap_update_conversation_with_events(
            rasa.server.update_conversation_with_events
        )
    if getattr(RemoteAction, APPLIED_FLAG, False):
        return
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    setattr(RemoteAction, APPLIED_FLAG, True)

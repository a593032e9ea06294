"""Start-up patches for the Rasa server (Rasa 3.6 is frozen, so fixes live here). Applied when the
server loads the project's channels (bot/credentials.yml imports `rasa_addons`).

- Action-server replies are validated against Rasa's response schema with a validator built once:
  `jsonschema.validate` re-checks the schema itself and builds a new validator on every call, which
  was more than half of the server's time per message (../shared/rasa-notes.md). An invalid reply
  is still rejected with the same error.
- Action-server calls time out after ACTION_TIMEOUT_SECONDS (default 10) instead of Rasa's 5-minute
  constant, and when the action server cannot be reached, times out or fails, the user is told so
  (`ACTION_SERVER_DOWN`) instead of getting silence; the rest of that turn calls it no more and the
  assistant listens. Nothing in the tracker changes, so an active checklist keeps its answers and
  carries on when the user answers again. The message goes straight to the output channel, because
  Rasa discards an action's events when a form's turn is rejected.
"""
from __future__ import annotations

import asyncio
import functools
import logging
from collections import OrderedDict
from typing import Any, Dict, List, Optional

logger = logging.getLogger(__name__)

APPLIED_FLAG = "_sga_cached_validator"
TIMEOUT_FLAG = "_sga_action_timeout"
DEFAULT_ACTION_TIMEOUT = 10.0
ACTION_SERVER_DOWN = (
    "The assistant's answer service is not responding just now; your checklist answers so far are kept. "
    "Please try again in a minute. If a child is in immediate danger, call 999."
)
# sender id -> id of the user message whose turn found the action server down (most recent senders).
_FAILED_TURNS: "OrderedDict[str, str]" = OrderedDict()
_MAX_REMEMBERED = 10_000


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
        logger.warning("ACTION_TIMEOUT_SECONDS=%r is not a number of seconds from 1 to 300; using %s",
                       text, DEFAULT_ACTION_TIMEOUT)
        return DEFAULT_ACTION_TIMEOUT
    return value


def _turn_of(tracker: Any) -> Optional[str]:
    message = getattr(tracker, "latest_message", None)
    return getattr(message, "message_id", None) if message is not None else None


def _remember_failure(sender_id: str, turn: str) -> None:
    _FAILED_TURNS[sender_id] = turn
    _FAILED_TURNS.move_to_end(sender_id)
    while len(_FAILED_TURNS) > _MAX_REMEMBERED:
        _FAILED_TURNS.popitem(last=False)


def _is_unavailable(error: BaseException) -> bool:
    from rasa.core.actions.action import ActionExecutionRejection
    from rasa.shared.exceptions import RasaException

    if isinstance(error, ActionExecutionRejection):  # the action's own "not me": Rasa handles it
        return False
    import aiohttp

    return isinstance(error, (RasaException, asyncio.TimeoutError, TimeoutError, aiohttp.ClientError))


def _wrap_run(original_run):
    @functools.wraps(original_run)
    async def run(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Any]:
        from rasa.shared.core.constants import ACTION_LISTEN_NAME
        from rasa.shared.core.events import FollowupAction

        turn = _turn_of(tracker)
        if turn is not None and _FAILED_TURNS.get(tracker.sender_id) == turn:
            return [FollowupAction(ACTION_LISTEN_NAME)]  # already told this turn: do not wait again
        try:
            return await original_run(self, output_channel, nlg, tracker, domain)
        except BaseException as error:
            if not _is_unavailable(error):
                raise
            reason = "timed out" if isinstance(error, asyncio.TimeoutError) else str(error) or type(error).__name__
            logger.warning("Action server unavailable running '%s' (%s); the user was told", self.name(), reason)
            if turn is not None:
                _remember_failure(tracker.sender_id, turn)
            try:
                await output_channel.send_text_message(tracker.sender_id, ACTION_SERVER_DOWN)
            except Exception:  # the channel itself failing must not hide the original problem
                logger.warning("Could not tell the user that the action server is unavailable", exc_info=True)
            return [FollowupAction(ACTION_LISTEN_NAME)]

    setattr(run, TIMEOUT_FLAG, True)
    return run


def apply() -> None:
    import rasa.core.actions.action as rasa_action
    from rasa.core.actions.action import RemoteAction

    # Read by RemoteAction.run at each call (`timeout=DEFAULT_REQUEST_TIMEOUT`).
    rasa_action.DEFAULT_REQUEST_TIMEOUT = action_timeout()
    if not getattr(RemoteAction.run, TIMEOUT_FLAG, False):
        RemoteAction.run = _wrap_run(RemoteAction.run)  # type: ignore[method-assign]
    if getattr(RemoteAction, APPLIED_FLAG, False):
        return
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    setattr(RemoteAction, APPLIED_FLAG, True)

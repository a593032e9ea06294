"""Checks every channel applies before a message reaches Rasa, and log hygiene for the Rasa process.

- A blank message gets a plain answer (the NLU has nothing to classify, and Rasa's classifier
  fails on it); the 5,000-character limit is the same everywhere; a message must be a string.
- A message that looks like a button payload (`/intent{"entity": "value"}`) goes to Rasa as a
  payload only when it is one the assistant could have sent: a known intent and, optionally, a flat
  JSON object of short scalar values. Anything else (invalid or deeply nested JSON, unknown intents,
  a user who just typed a slash) goes on as plain text without the leading slash, so Rasa's payload
  parser, which logs the whole text as a warning on failure, never sees it.
- Sender ids are checked against one pattern, so every conversation can be addressed through the
  tracker API (no '/', '%', NUL or newline) and none is guessable ("a", "default").
- Importing this module makes every log record of the process escape newlines and control
  characters in its message, so a message cannot forge a log line.
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from dataclasses import dataclass
from typing import Any, Collection, Optional

MAX_MESSAGE_CHARS = 5000
MAX_PAYLOAD_ENTITIES = 10
MAX_ENTITY_VALUE_CHARS = 200
SENDER_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
BLANK_REPLY = (
    "I didn't get any text. Type a question about the procedures, or say “help” to see what "
    "I can do. If a child is in immediate danger, call 999."
)
TOO_LONG_REPLY = (
    f"That message is too long for me: please keep it under {MAX_MESSAGE_CHARS} characters. "
    "If a child is in immediate danger, call 999."
)
PAYLOAD = re.compile(r"/(?P<intent>[A-Za-z0-9_]{1,64})(?P<entities>\{.*\})?", re.DOTALL)
ENTITY_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")


@dataclass(frozen=True)
class Checked:
    """What to do with a message: answer `reply` straight away, or pass `text` on to Rasa."""

    reply: Optional[str] = None
    text: Optional[str] = None


def check_message(message: object, intents: Optional[Collection[str]] = None) -> Checked:
    """The verdict on one incoming message. `intents` are the domain's (None: do not check names)."""
    if not isinstance(message, str) or not message.strip():
        return Checked(reply=BLANK_REPLY)
    if len(message) > MAX_MESSAGE_CHARS:
        return Checked(reply=TOO_LONG_REPLY)
    text = message.strip()
    if text.startswith("/") and not is_payload(text, intents):
        text = text.lstrip("/").strip()
        if not text:
            return Checked(reply=BLANK_REPLY)
    return Checked(text=text)


def reply_without_rasa(message: object) -> Optional[str]:
    """The answer to give straight away, or None when the message should go to Rasa."""
    return check_message(message).reply


def is_payload(text: str, intents: Optional[Collection[str]] = None) -> bool:
    """True for a payload Rasa parses without complaint: `/known_intent` or `/known_intent{flat json}`."""
    match = PAYLOAD.fullmatch(text)
    if not match or (intents is not None and match["intent"] not in intents):
        return False
    if match["entities"] is None:
        return True
    try:
        entities = json.loads(match["entities"])
    except (ValueError, RecursionError):
        return False
    return (
        isinstance(entities, dict)
        and len(entities) <= MAX_PAYLOAD_ENTITIES
        and all(ENTITY_NAME.fullmatch(k) and _plain_value(v) for k, v in entities.items())
    )


def _plain_value(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= MAX_ENTITY_VALUE_CHARS
    return value is None or isinstance(value, (bool, int, float))


def sender_problem(sender: object) -> Optional[str]:
    """Why a client-chosen sender id is refused, or None when it is acceptable."""
    if not isinstance(sender, str) or not SENDER_ID.fullmatch(sender):
        return "`sender` must be 16 to 64 characters of letters, digits, '-' or '_' (use a random id per conversation)"
    return None


def metadata_problem(metadata: object) -> Optional[str]:
    """Why message metadata is refused: it must be absent or a small JSON object."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        return "`metadata` must be an object"
    try:
        size = len(json.dumps(metadata))
    except (TypeError, ValueError, RecursionError):
        return "`metadata` must be plain JSON"
    return "`metadata` is too large" if size > 2000 else None


# --- log hygiene ---------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\n]")


def escape_for_log(text: str) -> str:
    """One line, whatever the text: newlines and control characters as escapes."""
    return _CONTROL.sub(lambda m: {"\n": "\\n", "\r": "\\r"}.get(m.group(), f"\\x{ord(m.group()):02x}"), text)


class OneLineLogRecord(logging.LogRecord):
    """A log record whose message is always one line (tracebacks are formatted separately)."""

    def getMessage(self) -> str:  # noqa: N802 (logging's name)
        return escape_for_log(super().getMessage())


def install_log_hygiene() -> None:
    """Make every log record and warning of this process one line. Idempotent."""
    if logging.getLogRecordFactory() is logging.LogRecord:
        logging.setLogRecordFactory(OneLineLogRecord)
    show = warnings.showwarning
    if not getattr(show, "one_line", False):

        def one_line(message, category, filename, lineno, file=None, line=None):
            show(escape_for_log(str(message)), category, filename, lineno, file, line)

        one_line.one_line = True  # type: ignore[attr-defined]
        warnings.showwarning = one_line


install_log_hygiene()

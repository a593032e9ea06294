"""Checks every channel applies before a message reaches Rasa: a blank message gets a plain
answer (the NLU has nothing to classify, and Rasa's classifier fails on it), and the length limit
is the same everywhere."""
from __future__ import annotations

from typing import Optional

MAX_MESSAGE_CHARS = 5000
BLANK_REPLY = ("I didn't get any text. Type a question about the procedures, or say “help” to see what "
               "I can do. If a child is in immediate danger, call 999.")
TOO_LONG_REPLY = (f"That message is too long for me: please keep it under {MAX_MESSAGE_CHARS} characters. "
                  "If a child is in immediate danger, call 999.")


def reply_without_rasa(message: object) -> Optional[str]:
    """The answer to give straight away, or None when the message should go to Rasa."""
    if not isinstance(message, str) or not message.strip():
        return BLANK_REPLY
    if len(message) > MAX_MESSAGE_CHARS:
        return TOO_LONG_REPLY
    return None

"""What the Teams channel shows and reads back: Teams markdown, Adaptive Cards, card submits.

Pure functions: no network, no Rasa, no state.

- Bot text becomes Teams markdown with its line breaks kept and `Source:` citation lines in italics.
- Rasa buttons become an Adaptive Card whose `Action.Submit` actions carry the Rasa payload (as a
  Teams `messageBack`, which shows the button title in the chat): Rasa's own botframework channel
  sends a hero card of buttons without an action type, which Teams does not make clickable.
- A card submit (an activity with `value` and no text) gives back that payload as the user's text.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Mapping, Optional

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
HERO_CARD = "application/vnd.microsoft.card.hero"

MENTION = re.compile(r"<at[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)
SOURCE_LINE = re.compile(r"^Source:\s")
LIST_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s+")


def _italic(line: str) -> str:
    return "*" + line.replace("*", r"\*") + "*"


def to_teams_markdown(text: str) -> str:
    """Bot text as Teams markdown: paragraphs and line breaks kept, `Source:` lines in italics.

    Teams joins lines separated by a single newline, so each line becomes its own paragraph, except
    consecutive list items, which stay one list.
    """
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", (text or "").strip()) if p.strip()]
    rendered = []
    for paragraph in paragraphs:
        lines = [line.strip() for line in paragraph.split("\n") if line.strip()]
        out = ""
        for i, line in enumerate(lines):
            shown = _italic(line) if SOURCE_LINE.match(line) else line
            if i == 0:
                out = shown
            elif LIST_ITEM.match(line) and LIST_ITEM.match(lines[i - 1]):
                out += "\n" + shown
            else:
                out += "\n\n" + shown
        rendered.append(out)
    return "\n\n".join(rendered)


def choices_card(buttons: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """Rasa buttons as an Adaptive Card attachment: one clickable `Action.Submit` per button.

    Each action sends a Teams `messageBack`: the chat shows the button title, and the bot receives
    an activity whose `value` carries the Rasa payload (`{"payload": ...}`). One ActionSet per button
    keeps the choices in a vertical list, as Teams would otherwise squeeze them into one row.
    """
    body = []
    for button in buttons or []:
        if not isinstance(button, Mapping):
            continue
        title = str(button.get("title") or button.get("payload") or "").strip()
        payload = str(button.get("payload") or title).strip()
        if not title or not payload:
            continue
        value = {"payload": payload}
        body.append(
            {
                "type": "ActionSet",
                "actions": [
                    {
                        "type": "Action.Submit",
                        "title": title,
                        "data": {
                            "payload": payload,
                            "msteams": {"type": "messageBack", "displayText": title, "value": json.dumps(value)},
                        },
                    }
                ],
            }
        )
    if not body:
        return None
    return {
        "contentType": ADAPTIVE_CARD,
        "content": {
            "type": "AdaptiveCard",
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": "1.2",
            "body": body,
        },
    }


def image_card(url: str) -> Dict[str, Any]:
    """An image as a hero card attachment (as Rasa's botframework channel sends it)."""
    return {"contentType": HERO_CARD, "content": {"images": [{"url": url}]}}


def payload_from_value(value: Any) -> Optional[str]:
    """The Rasa payload carried by a card submit's `value` (a dict, or a JSON string of one)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, Mapping):
        return None
    payload = value.get("payload")
    if payload is None and isinstance(value.get("msteams"), Mapping):
        return payload_from_value(value["msteams"].get("value"))
    if isinstance(payload, str) and payload.strip():
        return payload.strip()
    return None


def without_mentions(text: str) -> str:
    """Text as typed, without the `<at>bot</at>` mentions Teams adds in channels and group chats."""
    return MENTION.sub(" ", text).strip()

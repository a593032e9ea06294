"""What the Teams channel shows and reads back: Teams markdown, Adaptive Cards, card submits.

Pure functions: no network, no Rasa, no state.

- Bot text becomes Teams markdown with its line breaks kept and `Source:` citation lines in italics.
- Rasa buttons become an Adaptive Card whose `Action.Submit` actions carry the Rasa payload (as a
  Teams `messageBack`, which shows the button title in the chat): Rasa's own botframework channel
  sends a hero card of buttons without an action type, which Teams does not make clickable.
- A checklist's summary (the `summary` data the checklist action attaches to its message) becomes
  one Adaptive Card with the reply's buttons as its actions, in place of the text.
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
        body.append({"type": "ActionSet", "actions": [_submit(title, payload)]})
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


def _submit(title: str, payload: str) -> Dict[str, Any]:
    value = {"payload": payload}
    return {
        "type": "Action.Submit",
        "title": title,
        "data": {
            "payload": payload,
            "msteams": {"type": "messageBack", "displayText": title, "value": json.dumps(value)},
        },
    }


def _text(text: str, **style: Any) -> Dict[str, Any]:
    return {"type": "TextBlock", "text": str(text), "wrap": True, **style}


def _heading(text: str) -> Dict[str, Any]:
    return _text(text, weight="Bolder", spacing="Medium", separator=True)


def summary_card(summary: Mapping[str, Any], buttons: List[Dict[str, Any]]) -> Dict[str, Any]:
    """A checklist's summary (the `summary` data the checklist action attaches) as one Adaptive
    Card: the facts, every answer in words, the outcome, the next steps with their sources, and the
    reply's buttons (Save, Go back, Stop) as the card's actions."""
    facts = [
        ("Partnership", summary.get("partnership_name")),
        ("Checklist version", summary.get("version")),
        ("Your role", summary.get("role")),
        ("Case reference", summary.get("case_reference")),
        ("Reference", summary.get("reference")),
        ("Saved", summary.get("completed_at")),
    ]
    body: List[Dict[str, Any]] = [
        _text(f"Summary: {summary.get('title') or 'checklist'}", size="Medium", weight="Bolder"),
        {"type": "FactSet", "facts": [{"title": name, "value": str(value)} for name, value in facts if value]},
        _heading("Your answers, as recorded"),
    ]
    for answer in summary.get("answers") or []:
        if isinstance(answer, Mapping):
            body.append(_text(answer.get("question") or "", spacing="Small"))
            body.append(_text(answer.get("answer") or "", weight="Bolder", spacing="None"))
    body += [_heading("Outcome"), _text(summary.get("outcome_summary") or "")]
    body.append(_heading("Next steps (each with its source)"))
    steps = [str(step) for step in summary.get("next_steps") or []] or ["None identified from these answers."]
    body += [_text(f"- {step}", spacing="Small") for step in steps]
    if not summary.get("reference"):
        body.append(_text("Save this to the outcome log?", weight="Bolder", spacing="Medium"))
    card: Dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.2",
        "body": body,
    }
    actions = [
        _submit(str(b.get("title")).strip(), str(b.get("payload")).strip())
        for b in buttons or []
        if isinstance(b, Mapping) and str(b.get("title") or "").strip() and str(b.get("payload") or "").strip()
    ]
    if actions:
        card["actions"] = actions
    return {"contentType": ADAPTIVE_CARD, "content": card}


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

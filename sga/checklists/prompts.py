"""What the user sees at each stage of a checklist: the question, its buttons, the summary.

Buttons send intents with entities (`/affirm`, `/choose_option{...}`), so a click and a typed
answer reach the engine the same way: through the NLU's reading.
"""

from __future__ import annotations

import json
from typing import Dict, List

from sga.answers import Reply, partnership_name
from sga.checklists.engine import (
    ChecklistState,
    Context,
    Stage,
    applicable_items,
    current_item,
)
from sga.checklists.model import NO, NOT_KNOWN, YES, checklists
from sga.checklists.summary import Summary
from sga.content import PARTNERSHIPS, content
from sga.outcomes.privacy import ROLE_LABELS

ANSWER_PAYLOADS = {YES: "/affirm", NO: "/deny", NOT_KNOWN: "/answer_not_known"}


def _button(title: str, intent: str, **entities: str) -> Dict[str, str]:
    return {"title": title, "payload": f"/{intent}{json.dumps(entities) if entities else ''}"}


def option_payload(value: str) -> str:
    return ANSWER_PAYLOADS.get(value) or "/choose_option" + json.dumps({"checklist_option": value})


def prompt(state: ChecklistState, ctx: Context) -> Reply:
    stage = state.stage
    if stage is Stage.KIND:
        return Reply(
            "Which checklist would you like to work through?",
            [_button(c.title, "start_checklist", checklist=c.kind) for c in checklists().values()],
        )
    if stage is Stage.PARTNERSHIP:
        return Reply(
            "Which partnership's procedure applies?",
            [_button(partnership_name(content(), p), "inform_partnership", partnership=p) for p in PARTNERSHIPS],
        )
    if stage is Stage.CONFIRM_STOP:
        return Reply(
            "Stop this checklist? Your answers in this checklist will not be saved; "
            "nothing already in the outcome log is changed.",
            [_button("Yes, stop", "affirm"), _button("No, carry on", "deny")],
        )
    checklist = state.checklist
    if stage is Stage.ITEMS:
        item = current_item(state, ctx)
        assert item is not None
        items = applicable_items(state, ctx)
        text = f"{checklist.title}: question {items.index(item) + 1} of {len(items)}\n\n{item.question}"
        buttons = [{"title": o.label, "payload": option_payload(o.value)} for o in item.button_options()]
        buttons.append(_button("Why is this asked?", "why_asked"))
        if state.history:
            buttons.append(_button("Go back", "go_back"))
        return Reply(text, buttons)
    if stage is Stage.ROLE:
        return Reply(
            "Optional, for the outcome log: what is your role? (No names are recorded.)",
            [_button(label, "inform_role", role=role) for role, label in ROLE_LABELS.items()]
            + [_button("Skip", "skip")],
        )
    if stage is Stage.CASE_REFERENCE:
        return Reply(
            "Optional: a pseudonymous case reference from your case system (for example CR-2024-0193), "
            "so the record can be matched to the case file. Never a name, date of birth, address, "
            "phone number or NHS number. Type it, or choose Skip.",
            [_button("Skip", "skip")],
        )
    if state.exercise is not None:
        return Reply(
            "You have answered every question. Finish the exercise and see the debrief?",
            [_button("Finish", "affirm"), _button("Go back", "go_back"), _button("Stop", "stop")],
        )
    return Reply(
        summary(state, ctx) + "\n\nSave this to the outcome log?",
        [_button("Save", "affirm"), _button("Go back", "go_back"), _button("Stop without saving", "stop")],
    )


def summary(state: ChecklistState, ctx: Context) -> str:
    return Summary.from_state(state, ctx).as_text()


def why(state: ChecklistState, ctx: Context) -> str:
    if state.stage is Stage.ITEMS:
        item = current_item(state, ctx)
        if item is not None:
            return f"Why this is asked: {item.help}\nSource: {item.cite}"
    reasons = {
        Stage.ROLE: "Your role lets the outcome log show which kind of practitioner made a decision; "
        "no names are recorded. It is optional.",
        Stage.CASE_REFERENCE: "A pseudonymous case reference lets the record be matched to the case file "
        "without naming anyone. It is optional.",
        Stage.PARTNERSHIP: "The two partnerships' procedures differ, so the questions and next steps depend on "
        "which one applies to you.",
    }
    return reasons.get(state.stage, "This step confirms what you have answered before anything is saved.")


def saved_message(reference: str, stored: bool, next_steps: List[str], partnership: str) -> str:
    where = (
        "It is in the outcome log."
        if stored
        else "The outcome log is unavailable just now, so the record is kept safely on this server "
        "and will be written to the log automatically; nothing is lost."
    )
    steps = "\n".join(f"- {s}" for s in next_steps) or "- None identified from these answers."
    record = (
        "Keep your own written record of decisions and reasons in the case file (Kent and Medway 2.4.1 "
        "section 3 requires a written audit trail of disclosure decisions)."
        if partnership == "kent_medway"
        else "Keep your own written record of decisions and reasons in the case file (good practice; "
        "West Midlands 2.14 sets no recording rule of its own)."
    )
    return f"Saved. Your reference is {reference}. {where}\n\nNext steps (each with its source):\n{steps}\n\n{record}"

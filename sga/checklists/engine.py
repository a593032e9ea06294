"""The checklist state machine. It consumes what Rasa's NLU understood (an intent and entities),
never raw words, and keeps its whole state in one typed object stored in a Rasa slot.

Stages: kind -> partnership -> items -> role -> case_reference -> confirm, and confirm_stop from
any stage when the user asks to stop. An exercise (a training scenario) fixes kind and partnership
from its case and skips the outcome-log stages: exercises are never saved.

The partnership and the role are not held here: they are the conversation's `partnership` and
`role` slots, passed in as a `Context` each turn, so there is one source for each.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional

from pydantic import BaseModel, Field, ValidationError

from sga.answers import partnership_name
from sga.checklists.model import NO, NOT_KNOWN, YES, Checklist, Item, checklists
from sga.content import content
from sga.outcomes.privacy import PRACTITIONER_ROLES, CaseReferenceRefused, validate_case_reference

# The intents the engine understands (data/nlu/); anything else is not an answer.
AFFIRM, DENY, ANSWER_NOT_KNOWN, CHOOSE_OPTION = "affirm", "deny", "answer_not_known", "choose_option"
SKIP, INFORM_PARTNERSHIP = "skip", "inform_partnership"
ANSWER_INTENTS = {AFFIRM: YES, DENY: NO, ANSWER_NOT_KNOWN: NOT_KNOWN}
OPTION_ENTITY, CHECKLIST_ENTITY, HEDGE_ENTITY = "checklist_option", "checklist", "hedge"
EXERCISE_SKIPPED = "skipped"  # an item skipped in a training exercise (never saved: exercises are not)
SAVE_CHANNELS = frozenset({"rest", "socketio", "teams", "cmdline"})


class Stage(str, Enum):
    KIND = "kind"
    PARTNERSHIP = "partnership"
    ITEMS = "items"
    ROLE = "role"
    CASE_REFERENCE = "case_reference"
    CONFIRM = "confirm"
    CONFIRM_STOP = "confirm_stop"


class Exercise(BaseModel):
    scenario: str
    partnership: str
    feedback: str = "end"  # "now": feedback after each answer; "end": only in the debrief
    session: Optional[str] = None  # a group session's code, when the exercise is part of one


class ChecklistState(BaseModel):
    """Everything a checklist run has gathered; `to_slot`/`from_slot` keep it in one Rasa slot."""

    # One id per run: every attempt to save this run writes the same record id, so a Save retried
    # after a timeout cannot create a second record.
    run_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    kind: Optional[str] = None
    version: Optional[str] = None
    stage: Stage = Stage.KIND
    answers: Dict[str, str] = {}
    # What was answered, in order, so "go back" can reopen it: item ids, "role" or "case_reference".
    history: List[str] = []
    role_skipped: bool = False
    case_reference: Optional[str] = None
    case_reference_done: bool = False
    resume_stage: Optional[Stage] = None
    exercise: Optional[Exercise] = None

    def to_slot(self) -> Dict[str, Any]:
        return self.dict()

    @classmethod
    def from_slot(cls, value: Any) -> Optional["ChecklistState"]:
        if not isinstance(value, dict):
            return None
        try:
            state = cls.parse_obj(value)
        except ValidationError:
            return None
        return state if state.kind is None or state.kind in checklists() else None

    @property
    def checklist(self) -> Checklist:
        assert self.kind is not None
        return checklists()[self.kind]


@dataclass(frozen=True)
class Context:
    """What the conversation already knows: its `partnership` and `role` slots."""

    partnership: Optional[str]
    role: Optional[str] = None


@dataclass(frozen=True)
class Heard:
    """One user message as the NLU understood it. `text` is used only where the user types data
    (a case reference), never to interpret an answer."""

    intent: Optional[str]
    entities: Dict[str, str] = field(default_factory=dict)
    text: str = ""


@dataclass
class Turn:
    state: ChecklistState
    say: List[str] = field(default_factory=list)  # said before the next prompt
    finished: Optional[str] = None  # "done" | "stopped" when the checklist ends
    clear_role: bool = False  # "go back" reopened the role question
    emergency: bool = False  # an answer that means a child may be in immediate danger now


def start(kind: Optional[str], ctx: Context, exercise: Optional[Exercise] = None) -> ChecklistState:
    state = ChecklistState(exercise=exercise)
    if kind in checklists():
        state.kind, state.version = kind, checklists()[kind].version
    return advance(state, ctx)


def partnership_of(state: ChecklistState, ctx: Context) -> Optional[str]:
    return state.exercise.partnership if state.exercise else ctx.partnership


def applicable_items(state: ChecklistState, ctx: Context) -> List[Item]:
    """The items asked for the partnership followed, given the answers so far."""
    return state.checklist.items_for(partnership_of(state, ctx), state.answers)


def current_item(state: ChecklistState, ctx: Context) -> Optional[Item]:
    return next((i for i in applicable_items(state, ctx) if i.id not in state.answers), None)


def answers_for(state: ChecklistState, ctx: Context) -> Dict[str, str]:
    """The answers to the items that apply to the partnership now followed (a change of
    partnership keeps answers to shared items and sets the others aside)."""
    ids = {i.id for i in applicable_items(state, ctx)}
    return {k: v for k, v in state.answers.items() if k in ids}


def advance(state: ChecklistState, ctx: Context) -> ChecklistState:
    """Move to the first stage that still needs an answer."""
    if state.kind is None:
        state.stage = Stage.KIND
    elif partnership_of(state, ctx) is None:
        state.stage = Stage.PARTNERSHIP
    elif current_item(state, ctx) is not None:
        state.stage = Stage.ITEMS
    elif state.exercise is not None:
        state.stage = Stage.CONFIRM
    elif ctx.role is None and not state.role_skipped:
        state.stage = Stage.ROLE
    elif not state.case_reference_done:
        state.stage = Stage.CASE_REFERENCE
    else:
        state.stage = Stage.CONFIRM
    return state


def handle(state: ChecklistState, heard: Heard, ctx: Context) -> Turn:
    """Apply one message that the form accepted as an answer to the current stage."""
    turn = Turn(state)
    stage = state.stage
    if stage is Stage.CONFIRM_STOP:
        if heard.intent == AFFIRM:
            turn.finished = "stopped"
        elif heard.intent == DENY:
            state.stage = state.resume_stage or Stage.ITEMS
            state.resume_stage = None
            turn.say.append("Carrying on where you were.")
            advance(state, ctx)
        else:
            turn.say.append("Please answer Yes to stop, or No to carry on.")
        return turn
    if heard.intent == INFORM_PARTNERSHIP and stage is not Stage.PARTNERSHIP and state.kind:
        return _partnership_changed(turn, ctx)

    if stage is Stage.KIND:
        kind = heard.entities.get(CHECKLIST_ENTITY)
        if kind in checklists():
            state.kind, state.version = kind, checklists()[kind].version
            turn.say.append(checklists()[kind].intro)
        else:
            turn.say.append("Please choose one of the checklists.")
    elif stage is Stage.PARTNERSHIP:
        if ctx.partnership is None:
            turn.say.append("Please choose Kent and Medway or West Midlands.")
    elif stage is Stage.ITEMS:
        item = current_item(state, ctx)
        assert item is not None
        if state.exercise is not None and heard.intent == SKIP:
            state.answers[item.id] = EXERCISE_SKIPPED  # a trainee may skip; a real checklist may not
            state.history.append(item.id)
            advance(state, ctx)
            return turn
        option = heard.entities.get(OPTION_ENTITY)
        # An option the item offers wins over a plain yes/no ("no, asking him would increase the risk").
        value = option if item.accepts(option) else ANSWER_INTENTS.get(heard.intent or "")
        if HEDGE_ENTITY in heard.entities and value in (YES, NO):
            value = NOT_KNOWN  # "probably", "I think so": a hedge is never recorded as Yes or No
        if not item.accepts(value):
            turn.say.append(
                "I didn't catch an answer to that question. Choose "
                + ", ".join(o.label for o in item.button_options())
                + ", or ask “why is this asked?”."
            )
            return turn
        state.answers[item.id] = value  # type: ignore[assignment]
        state.history.append(item.id)
        if value in item.alerts:
            turn.say.append(item.alerts[value])
            turn.emergency = True
    elif stage is Stage.ROLE:
        if ctx.role in PRACTITIONER_ROLES:
            state.history.append("role")
        elif heard.intent in (SKIP, DENY):
            state.role_skipped = True
            state.history.append("role")
        else:
            turn.say.append("Please choose a role from the list, or Skip.")
            return turn
    elif stage is Stage.CASE_REFERENCE:
        if heard.intent in (SKIP, DENY):
            state.case_reference = None
        else:
            try:
                state.case_reference = validate_case_reference(heard.text.strip())
            except CaseReferenceRefused as refused:
                turn.say.append(f"I can't record that as a case reference: {refused}")
                return turn
        state.case_reference_done = True
        state.history.append("case_reference")
    elif stage is Stage.CONFIRM:
        if heard.intent == AFFIRM:
            turn.finished = "done"
            return turn
        turn.say.append("Nothing is saved yet. Choose Save, Go back, or Stop without saving.")
        return turn
    advance(state, ctx)
    return turn


def emergency_reported(state: ChecklistState, ctx: Context) -> Optional[str]:
    """The user reported a child in immediate danger while the checklist runs: record it in the
    items that ask about it (their `emergency_answer`), so the summary, the next steps and the
    outcome log say so. Returns what to tell the user, or None when nothing changed. An exercise's
    answers are the trainee's own and are left as they are."""
    if state.exercise is not None or state.kind is None:
        return None
    changed = []
    for item in applicable_items(state, ctx):
        if item.emergency_answer and state.answers.get(item.id) != item.emergency_answer:
            if item.id not in state.answers:
                state.history.append(item.id)
            state.answers[item.id] = item.emergency_answer
            changed.append(f"“{item.question}” {item.label(item.emergency_answer)}")
    if not changed:
        return None
    advance(state, ctx)
    return (
        "I've recorded what you said in this checklist: "
        + "; ".join(changed)
        + ". The summary and next steps will start with calling 999."
    )


def _partnership_changed(turn: Turn, ctx: Context) -> Turn:
    state = turn.state
    if state.exercise is not None:
        turn.say.append("This exercise stays with the partnership its case is set in.")
        return turn
    if ctx.partnership is None:
        return turn
    if state.stage is Stage.CONFIRM_STOP:
        state.stage = state.resume_stage or Stage.ITEMS
    advance(state, ctx)
    left = sum(1 for i in applicable_items(state, ctx) if i.id not in state.answers)
    turn.say.append(
        f"Understood: this checklist now follows the {partnership_name(content(), ctx.partnership)} procedure. "
        "Answers to the questions both procedures share are kept"
        + (f"; {left} question{'s' if left != 1 else ''} still to answer." if left else ".")
    )
    return turn


def request_stop(state: ChecklistState) -> ChecklistState:
    if state.stage is not Stage.CONFIRM_STOP:
        state.resume_stage, state.stage = state.stage, Stage.CONFIRM_STOP
    return state


def go_back(state: ChecklistState, ctx: Context) -> Turn:
    turn = Turn(state)
    if state.stage is Stage.CONFIRM_STOP:
        state.stage = state.resume_stage or Stage.ITEMS
    applicable = {i.id for i in applicable_items(state, ctx)} if state.kind and partnership_of(state, ctx) else set()
    while state.history and state.history[-1] not in applicable | {"role", "case_reference"}:
        state.history.pop()  # answers set aside by a change of partnership
    if not state.history:
        turn.say.append("This is the first question, so there is nothing to go back to.")
        return turn
    last = state.history.pop()
    if last == "role":
        state.role_skipped = False
        turn.clear_role = True
        ctx = Context(ctx.partnership, None)
    elif last == "case_reference":
        state.case_reference, state.case_reference_done = None, False
    else:
        previous = state.answers.pop(last)
        turn.say.append(f"Going back. Your previous answer was: {state.checklist.item(last).label(previous)}.")
    advance(state, ctx)
    return turn


def problems_before_saving(state: ChecklistState, ctx: Context, channel: Optional[str]) -> List[str]:
    """Re-checks from scratch that the state is one the engine could have produced and is complete:
    anything else (a forged or stale tracker) must never reach the outcome log."""
    problems = []
    try:
        uuid.UUID(state.run_id)
    except ValueError:
        problems.append("the run id is not a UUID")
    if state.exercise is not None:
        problems.append("a training exercise is never saved")
    if state.kind not in checklists():
        return problems + ["unknown checklist"]
    checklist = state.checklist
    if state.version != checklist.version:
        problems.append("the checklist content changed during the run")
    partnership = partnership_of(state, ctx)
    if partnership is None:
        problems.append("no partnership")
    if state.stage is not Stage.CONFIRM:
        problems.append("the summary was not confirmed")
    answers = answers_for(state, ctx)
    items = {i.id: i for i in checklist.items_for(partnership, answers)}
    if set(answers) != set(items):
        problems.append("not every question was answered")
    if any(not items[k].accepts(v) for k, v in answers.items() if k in items):
        problems.append("an answer is not one of the item's options")
    if ctx.role is not None and ctx.role not in PRACTITIONER_ROLES:
        problems.append("unknown role")
    if state.case_reference is not None:
        try:
            validate_case_reference(state.case_reference)
        except CaseReferenceRefused:
            problems.append("the case reference is not acceptable")
    if channel not in SAVE_CHANNELS:
        problems.append("unknown channel")
    return problems

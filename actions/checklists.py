"""Guided checklists: the content schema and a pure engine that steps through it.

A checklist (procedures/checklists/<kind>.yml) lists items, each with a question, help text with
its citation and answer options, and the rules that turn answers into an outcome and next steps.
The engine is a small state machine over a JSON-safe `state` dict kept in one Rasa slot, so one
generic form runs every checklist: adding or editing an item is a content change only.

Stages: kind -> partnership -> items -> role -> case_reference -> confirm (-> done | stopped);
`confirm_stop` is entered from any stage when the user asks to stop. A training exercise
(`state["training"]`) starts with `scenario` (which sets kind and partnership) and skips the
outcome-log stages role and case_reference: exercises are never logged.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import yaml
from pydantic import Field, root_validator, validator

from actions.content import PARTNERSHIPS, PROCEDURES_DIR, Strict
from actions.outcomes.privacy import PRACTITIONER_ROLES, CaseReferenceRefused, validate_case_reference

CHECKLISTS_DIR = PROCEDURES_DIR / "checklists"

YES, NO, NOT_KNOWN, NOT_APPLICABLE = "yes", "no", "not_known", "not_applicable"
ANSWER_LABELS = {YES: "Yes", NO: "No", NOT_KNOWN: "Not known", NOT_APPLICABLE: "Not applicable"}
ANSWER_WORDS = {
    YES: ["yes", "y", "yep", "yeah", "yup", "yes they have", "yes it has", "correct", "true", "affirmative",
          "they have", "it has", "he has", "she has", "they did", "definitely", "confirmed", "ok yes"],
    NO: ["no", "n", "nope", "nah", "none", "false", "negative", "they have not", "it has not", "not at all",
         "no they have not", "definitely not", "never"],
    NOT_KNOWN: ["not known", "unknown", "dont know", "do not know", "don't know", "not sure", "unsure", "maybe",
                "dunno", "no idea", "unclear", "possibly", "not yet known", "i dont know", "i don't know",
                "no information"],
    NOT_APPLICABLE: ["n/a", "na", "not applicable", "does not apply", "doesn't apply", "irrelevant"],
}
SKIP_WORDS = {"skip", "none", "no", "not given", "n/a", "na", "prefer not to say", "no reference", "rather not"}


def _normal(text: str) -> str:
    text = text.lower().strip().replace("’", "'")
    text = re.sub(r"[^\w/' ]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


class Option(Strict):
    value: str
    label: str
    synonyms: List[str] = Field(default_factory=list)


class Item(Strict):
    id: str
    question: str
    help: str = Field(..., description="Why the item is asked, in plain words.")
    cite: str = Field(..., description="Partnership, procedure and section the item comes from.")
    partnerships: List[str] = Field(default_factory=lambda: list(PARTNERSHIPS))
    options: List[Option] = Field(default_factory=list, description="Empty means Yes / No / Not known.")

    @validator("partnerships", each_item=True)
    def _known(cls, value):
        if value not in PARTNERSHIPS:
            raise ValueError(f"unknown partnership {value}")
        return value

    def answer_options(self) -> List[Option]:
        if self.options:
            return self.options
        return [Option(value=v, label=ANSWER_LABELS[v], synonyms=ANSWER_WORDS[v])
                for v in (YES, NO, NOT_KNOWN, NOT_APPLICABLE)]

    def button_options(self) -> List[Option]:
        return [o for o in self.answer_options() if o.value != NOT_APPLICABLE]

    def interpret(self, text: str) -> Optional[str]:
        said = _normal(text)
        if not said:
            return None
        for option in self.answer_options():
            names = [option.value, option.label] + option.synonyms
            if said in {_normal(n) for n in names}:
                return option.value
        return None

    def label(self, value: Optional[str]) -> str:
        for option in self.answer_options():
            if option.value == value:
                return option.label
        return "Not answered"


Condition = Dict[str, Union[str, List[str], Dict[str, Union[str, List[str]]]]]


def _values(spec: Union[str, List[str]]) -> List[str]:
    return [spec] if isinstance(spec, str) else list(spec)


def holds(condition: Condition, answers: Dict[str, str], partnership: Optional[str], outcome: Optional[str] = None) -> bool:
    """`{}` always holds; otherwise every given key must: any / all / none (item -> value(s)),
    partnership, outcome."""
    if "partnership" in condition and partnership not in _values(condition["partnership"]):
        return False
    if "outcome" in condition and outcome not in _values(condition["outcome"]):
        return False
    if "any" in condition and not any(answers.get(i) in _values(v) for i, v in condition["any"].items()):
        return False
    if "all" in condition and not all(answers.get(i) in _values(v) for i, v in condition["all"].items()):
        return False
    if "none" in condition and any(answers.get(i) in _values(v) for i, v in condition["none"].items()):
        return False
    return True


class OutcomeRule(Strict):
    id: str
    when: Dict[str, Any] = Field(default_factory=dict)
    summary: str


class NextStep(Strict):
    when: Dict[str, Any] = Field(default_factory=dict)
    text: str
    cite: str


class Checklist(Strict):
    kind: str
    title: str
    version: str
    intro: str
    items: List[Item]
    outcomes: List[OutcomeRule] = Field(..., description="Checked in order: the first that holds is the outcome.")
    next_steps: List[NextStep] = Field(..., description="Every step that holds is listed.")

    @root_validator(skip_on_failure=True)
    def _check(cls, values):
        ids = [i.id for i in values["items"]]
        if len(ids) != len(set(ids)):
            raise ValueError("item ids must be unique")
        known = set(ids)
        for rule in list(values["outcomes"]) + list(values["next_steps"]):
            for key in ("any", "all", "none"):
                unknown = set(rule.when.get(key, {})) - known
                if unknown:
                    raise ValueError(f"condition refers to unknown items {sorted(unknown)}")
            unknown_keys = set(rule.when) - {"any", "all", "none", "partnership", "outcome"}
            if unknown_keys:
                raise ValueError(f"unknown condition keys {sorted(unknown_keys)}")
        outcome_ids = [o.id for o in values["outcomes"]]
        if len(outcome_ids) != len(set(outcome_ids)):
            raise ValueError("outcome ids must be unique (the outcome log records which rule held)")
        if values["outcomes"][-1].when:
            raise ValueError("the last outcome rule must have an empty `when` (the default outcome)")
        return values

    def items_for(self, partnership: Optional[str]) -> List[Item]:
        return [i for i in self.items if partnership in i.partnerships]

    def item(self, item_id: str) -> Item:
        return next(i for i in self.items if i.id == item_id)

    def evaluate(self, answers: Dict[str, str], partnership: str) -> "Result":
        outcome = next(r for r in self.outcomes if holds(r.when, answers, partnership))
        steps = [s for s in self.next_steps if holds(s.when, answers, partnership, outcome.id)]
        return Result(outcome.id, outcome.summary, [f"{s.text} ({s.cite})" for s in steps])


@dataclass
class Result:
    outcome: str
    summary: str
    next_steps: List[str]


def load_checklists(directory: Path = CHECKLISTS_DIR) -> Dict[str, Checklist]:
    found = {}
    for path in sorted(directory.glob("*.yml")):
        with path.open(encoding="utf-8") as handle:
            checklist = Checklist(**yaml.safe_load(handle))
        if checklist.kind != path.stem:
            raise ValueError(f"{path.name}: kind {checklist.kind!r} must match the file name")
        found[checklist.kind] = checklist
    return found


@functools.lru_cache(maxsize=1)
def checklists() -> Dict[str, Checklist]:
    return load_checklists()


# --- the engine ---------------------------------------------------------------------------------

@dataclass
class Prompt:
    """What to say next: text and buttons (title, payload)."""
    text: str
    buttons: List[Dict[str, str]] = field(default_factory=list)


def _buttons(pairs) -> List[Dict[str, str]]:
    return [{"title": title, "payload": payload} for title, payload in pairs]


def new_state(kind: Optional[str], partnership: Optional[str], training: bool = False) -> Dict[str, Any]:
    state = {"kind": kind if kind in checklists() else None, "partnership": partnership,
             "answers": {}, "history": [], "role": None, "case_reference": None, "stage": "kind"}
    if training:
        state.update(training=True, scenario=None, kind=None)
    return advance(state)


def advance(state: Dict[str, Any]) -> Dict[str, Any]:
    """Move to the first stage that still needs an answer."""
    if state.get("training") and not state.get("scenario"):
        state["stage"] = "scenario"
    elif state.get("training") and current_item(state) is None:
        state["stage"] = "confirm"
    elif not state.get("kind"):
        state["stage"] = "kind"
    elif state.get("partnership") not in PARTNERSHIPS:
        state["stage"] = "partnership"
    elif current_item(state) is not None:
        state["stage"] = "items"
    elif "role" not in state.get("done", []):
        state["stage"] = "role"
    elif "case_reference" not in state.get("done", []):
        state["stage"] = "case_reference"
    else:
        state["stage"] = "confirm"
    return state


def current_item(state: Dict[str, Any]) -> Optional[Item]:
    checklist = checklists()[state["kind"]]
    for item in checklist.items_for(state["partnership"]):
        if item.id not in state["answers"]:
            return item
    return None


def prompt(state: Dict[str, Any]) -> Prompt:
    stage = state["stage"]
    if stage == "scenario":
        from actions.scenarios import scenarios

        return Prompt("Which training scenario? Each is a fictional case; at the end your answers are compared "
                      "with model answers. Exercises are not written to the outcome log.",
                      _buttons((s.title, s.title) for s in scenarios().values()))
    if state.get("training") and stage == "confirm":
        return Prompt("You have answered every question. Finish the exercise and see the debrief?",
                      _buttons([("Finish", "Finish"), ("Go back", "Go back"), ("Stop", "stop")]))
    if stage == "kind":
        return Prompt("Which checklist would you like to work through?", _buttons(
            (c.title, c.kind) for c in checklists().values()))
    if stage == "partnership":
        return Prompt("Which partnership's procedure applies?", _buttons(
            [("Kent and Medway", "Kent and Medway"), ("West Midlands", "West Midlands")]))
    checklist = checklists()[state["kind"]]
    if stage == "items":
        item = current_item(state)
        items = checklist.items_for(state["partnership"])
        number = items.index(item) + 1
        text = f"{checklist.title}: question {number} of {len(items)}\n\n{item.question}"
        return Prompt(text, _buttons([(o.label, o.label) for o in item.button_options()]
                                     + [("Why is this asked?", "Why is this asked?")]
                                     + ([("Go back", "Go back")] if state["history"] else [])))
    if stage == "role":
        return Prompt("Optional, for the outcome log: what is your role? (No names are recorded.)",
                      _buttons([(r.replace("_", " ").capitalize(), r) for r in PRACTITIONER_ROLES] + [("Skip", "skip")]))
    if stage == "case_reference":
        return Prompt("Optional: a pseudonymous case reference from your case system (for example CR-2024-0193), "
                      "so the record can be matched to the case file. Never a name, date of birth, address, "
                      "phone number or NHS number. Type it, or choose Skip.", _buttons([("Skip", "skip")]))
    if stage == "confirm":
        return Prompt(summary(state) + "\n\nSave this to the outcome log?", _buttons(
            [("Save", "Save"), ("Go back", "Go back"), ("Stop without saving", "stop")]))
    if stage == "confirm_stop":
        return Prompt("Stop this checklist? Your answers in this checklist will not be saved; "
                      "nothing already in the outcome log is changed.",
                      _buttons([("Yes, stop", "Yes"), ("No, carry on", "No")]))
    raise ValueError(f"no prompt for stage {stage}")


def summary(state: Dict[str, Any]) -> str:
    checklist = checklists()[state["kind"]]
    result = checklist.evaluate(state["answers"], state["partnership"])
    name = "Kent and Medway" if state["partnership"] == "kent_medway" else "West Midlands"
    lines = [f"Summary: {checklist.title} ({name})"]
    for item in checklist.items_for(state["partnership"]):
        lines.append(f"- {item.question} {item.label(state['answers'].get(item.id))}")
    lines += ["", f"Outcome: {result.summary}", "", "Next steps (each with its source):"]
    lines += [f"- {step}" for step in result.next_steps] or ["- None identified from these answers."]
    return "\n".join(lines)


@dataclass
class Turn:
    """The engine's response to one user message."""
    state: Dict[str, Any]
    say: List[str] = field(default_factory=list)  # said before the next prompt
    finished: Optional[str] = None  # "done" | "stopped" when the checklist ends


AFFIRM = {"yes", "y", "yep", "yeah", "ok", "okay", "sure", "save", "confirm", "yes stop", "yes save", "finish"}
DENY = {"no", "n", "nope", "no carry on", "carry on", "continue"}


STOP_WORDS = {"stop", "cancel", "quit", "exit", "stop without saving"}
BACK_WORDS = {"go back", "back", "previous", "undo", "previous question"}


def _answers_the_stage(state: Dict[str, Any], said: str) -> bool:
    """Whether the words themselves answer the current stage (a button text or a listed synonym).
    Such an answer wins over the NLU's reading: "Finish" is an answer, not a request to stop."""
    stage = state["stage"]
    if stage == "scenario":
        return _match_scenario(said) is not None
    if stage == "kind":
        return _match_kind(said) is not None
    if stage == "partnership":
        return _match_partnership(said) is not None
    if stage == "items":
        return current_item(state).interpret(said) is not None or said.startswith("why")
    if stage == "role":
        return _match_role(said) is not None or said in SKIP_WORDS
    if stage == "case_reference":
        return said in SKIP_WORDS or any(ch.isdigit() for ch in said)
    if stage == "confirm":
        return said in AFFIRM
    return False


def handle(state: Dict[str, Any], text: str, intent: Optional[str] = None) -> Turn:
    """Apply one user message. Exact answers and control words come first; the NLU's `intent`
    only decides free text (stop / go back / why / a yes or no with a typo)."""
    said = _normal(text)
    stage = state["stage"]
    turn = Turn(state)
    if _answers_the_stage(state, said) and said not in STOP_WORDS | BACK_WORDS:
        intent = None

    if stage == "confirm_stop":
        explicit_no = said.startswith("no") or "carry on" in said or "continue" in said
        if not explicit_no and (said in AFFIRM or said.startswith("yes") or intent == "affirm"):
            turn.finished = "stopped"
        else:
            state["stage"] = state.pop("stopped_from", "items")
            turn.say.append("Carrying on where you were.")
        return turn
    if intent == "stop" or said in STOP_WORDS:
        state["stopped_from"] = stage
        state["stage"] = "confirm_stop"
        return turn
    if intent == "go_back" or said in BACK_WORDS:
        return _go_back(turn)

    if stage == "scenario":
        scenario = _match_scenario(said)
        if scenario:
            state.update(scenario=scenario.id, kind=scenario.checklist, partnership=scenario.partnership)
            turn.say.append(f"{scenario.title}\n\n{scenario.narrative}\n\nAnswer as you would for this case.")
        else:
            turn.say.append("Please choose one of the scenarios.")
    elif stage == "kind":
        kind = _match_kind(said)
        if kind:
            state["kind"] = kind
            turn.say.append(checklists()[kind].intro)
        else:
            turn.say.append("Please choose one of the checklists.")
    elif stage == "partnership":
        state["partnership"] = _match_partnership(said)
        if state["partnership"] is None:
            turn.say.append("Please choose Kent and Medway or West Midlands.")
    elif stage == "items":
        item = current_item(state)
        if intent == "why_asked" or said.startswith("why") or said in {"explain", "what does this mean", "help"}:
            turn.say.append(f"Why this is asked: {item.help}\nSource: {item.cite}")
            return turn
        value = item.interpret(text) or _from_intent(item, intent)
        if value is None:
            turn.say.append("Sorry, I didn't catch an answer to that. Choose "
                            + ", ".join(o.label for o in item.button_options())
                            + ", or ask “why is this asked?”.")
            return turn
        state["answers"][item.id] = value
        state["history"].append(item.id)
    elif stage == "role":
        role = _match_role(said)
        if role or said in SKIP_WORDS:
            state["role"] = role
            _mark_done(state, "role")
        else:
            turn.say.append("Please choose a role from the list, or Skip.")
    elif stage == "case_reference":
        if said in SKIP_WORDS:
            state["case_reference"] = None
            _mark_done(state, "case_reference")
        else:
            try:
                state["case_reference"] = validate_case_reference(text.strip())
                _mark_done(state, "case_reference")
            except CaseReferenceRefused as refused:
                turn.say.append(f"I can't record that as a case reference: {refused}")
                return turn
    elif stage == "confirm":
        if said in AFFIRM or intent == "affirm":
            turn.finished = "done"
            return turn
        turn.say.append("Choose Save, Go back, or Stop without saving.")
        return turn
    advance(state)
    return turn


def _mark_done(state: Dict[str, Any], stage: str) -> None:
    state.setdefault("done", []).append(stage)
    state["history"].append("@" + stage)


def _go_back(turn: Turn) -> Turn:
    state = turn.state
    if not state["history"]:
        turn.say.append("This is the first question, so there is nothing to go back to.")
        return turn
    last = state["history"].pop()
    if last.startswith("@"):
        state["done"].remove(last[1:])
        state[last[1:]] = None
    else:
        previous = state["answers"].pop(last)
        item = checklists()[state["kind"]].item(last)
        turn.say.append(f"Going back. Your previous answer was: {item.label(previous)}.")
    advance(state)
    # `advance` finds the first unanswered item, which is the one just reopened.
    return turn


def _match_partnership(said: str) -> Optional[str]:
    if "kent" in said or "medway" in said:
        return "kent_medway"
    if "west" in said or "midlands" in said:
        return "west_midlands"
    return None


def _match_scenario(said: str):
    from actions.scenarios import scenarios

    for scenario in scenarios().values():
        if said in {_normal(scenario.id), _normal(scenario.title)}:
            return scenario
    return None


def _match_kind(said: str) -> Optional[str]:
    for kind, checklist in checklists().items():
        if said in {_normal(kind), _normal(checklist.title), _normal(kind.replace("_", " "))}:
            return kind
    for kind in checklists():
        if _normal(kind.replace("_", " ")) in said:
            return kind
    return None


def _match_role(said: str) -> Optional[str]:
    for role in PRACTITIONER_ROLES:
        if said in {role, role.replace("_", " ")}:
            return role
    return None


def _from_intent(item: Item, intent: Optional[str]) -> Optional[str]:
    """A yes/no the NLU understood despite typos ("yess", "nopes"), where the item offers yes/no."""
    value = {"affirm": YES, "deny": NO}.get(intent or "")
    return value if value in {o.value for o in item.answer_options()} else None


def rationale(checklist: Checklist, answers: Dict[str, str], partnership: str) -> str:
    """Why the outcome follows: the rule that held and the answers it looked at (no free text)."""
    result = checklist.evaluate(answers, partnership)
    rule = next(r for r in checklist.outcomes if r.id == result.outcome)
    looked_at = [i for key in ("any", "all", "none") for i in rule.when.get(key, {})]
    relevant = [f"{i}={ANSWER_LABELS.get(answers.get(i, ''), answers.get(i, 'unanswered'))}" for i in looked_at]
    basis = "; ".join(relevant) if relevant else "no rule above the default held"
    return f"{checklist.kind} v{checklist.version}, partnership {partnership}: outcome '{rule.id}' because {basis}."

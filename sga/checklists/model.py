"""The checklist content model: items, answer options and the rules that turn answers into an
outcome and next steps. Loaded from procedures/checklists/<kind>.yml and validated at start-up.

Answers are values, never words: the NLU turns what the user typed into `yes`, `no`, `not_known`
or an item's own option value (data/nlu/), and this module only evaluates those values.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import yaml
from pydantic import Field, root_validator, validator

from sga.content import PARTNERSHIPS, PROCEDURES_DIR, Strict

CHECKLISTS_DIR = PROCEDURES_DIR / "checklists"

YES, NO, NOT_KNOWN, NOT_APPLICABLE = "yes", "no", "not_known", "not_applicable"
ANSWER_LABELS = {YES: "Yes", NO: "No", NOT_KNOWN: "Not known", NOT_APPLICABLE: "Not applicable"}
DEFAULT_VALUES = (YES, NO, NOT_KNOWN, NOT_APPLICABLE)


class Option(Strict):
    value: str
    label: str
    # Kept so older content still loads; phrasings for options live in the NLU data, not here.
    synonyms: List[str] = Field(default_factory=list, description="Unused: see data/nlu/.")


class Item(Strict):
    id: str
    question: str
    help: str = Field(..., description="Why the item is asked, in plain words.")
    cite: str = Field(..., description="Partnership, procedure and section the item comes from.")
    partnerships: List[str] = Field(default_factory=lambda: list(PARTNERSHIPS))
    options: List[Option] = Field(default_factory=list, description="Empty means Yes / No / Not known.")
    ask_when: Dict[str, Any] = Field(
        default_factory=dict, description="Asked only when this holds for the answers so far (earlier items)."
    )
    alerts: Dict[str, str] = Field(
        default_factory=dict, description="Said at once after these answer values, before the next question."
    )
    emergency_answer: Optional[str] = Field(
        None, description="The answer recorded when the user reports an emergency while the checklist runs."
    )

    @validator("partnerships", each_item=True)
    def _known(cls, value: str) -> str:
        if value not in PARTNERSHIPS:
            raise ValueError(f"unknown partnership {value}")
        return value

    @root_validator(skip_on_failure=True)
    def _alerts_and_emergency_answer_are_answers(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        allowed = {o.value for o in values["options"]} or set(DEFAULT_VALUES)
        emergency = {values["emergency_answer"]} if values["emergency_answer"] else set()
        wrong = (set(values["alerts"]) | emergency) - allowed
        if wrong:
            raise ValueError(f"item {values['id']}: {sorted(wrong)} are not answers to it")
        return values

    def answer_options(self) -> List[Option]:
        if self.options:
            return self.options
        return [Option(value=v, label=ANSWER_LABELS[v]) for v in DEFAULT_VALUES]

    def button_options(self) -> List[Option]:
        return [o for o in self.answer_options() if o.value != NOT_APPLICABLE]

    def accepts(self, value: Optional[str]) -> bool:
        return value is not None and value in {o.value for o in self.answer_options()}

    def label(self, value: Optional[str]) -> str:
        for option in self.answer_options():
            if option.value == value:
                return option.label
        return "Not answered"


Spec = Union[str, List[str]]
Condition = Dict[str, Any]


def _values(spec: Spec) -> List[str]:
    return [spec] if isinstance(spec, str) else list(spec)


def holds(
    condition: Condition, answers: Dict[str, str], partnership: Optional[str], outcome: Optional[str] = None
) -> bool:
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
    return not ("none" in condition and any(answers.get(i) in _values(v) for i, v in condition["none"].items()))


class OutcomeRule(Strict):
    id: str
    when: Dict[str, Any] = Field(default_factory=dict)
    summary: str


class NextStep(Strict):
    when: Dict[str, Any] = Field(default_factory=dict)
    text: str
    cite: str


@dataclass(frozen=True)
class Result:
    outcome: str
    summary: str
    next_steps: List[str]


class Checklist(Strict):
    kind: str
    title: str
    version: str
    intro: str
    items: List[Item]
    outcomes: List[OutcomeRule] = Field(..., description="Checked in order: the first that holds is the outcome.")
    next_steps: List[NextStep] = Field(..., description="Every step that holds is listed.")

    @root_validator(skip_on_failure=True)
    def _check(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        ids = [i.id for i in values["items"]]
        if len(ids) != len(set(ids)):
            raise ValueError("item ids must be unique")
        known = set(ids)
        for position, item in enumerate(values["items"]):
            earlier = set(ids[:position])
            for key in ("any", "all", "none"):
                if set(item.ask_when.get(key, {})) - earlier:
                    raise ValueError(f"{item.id}: ask_when may only look at earlier items")
            if set(item.ask_when) - {"any", "all", "none"}:
                raise ValueError(f"{item.id}: ask_when takes any / all / none")
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

    def items_for(self, partnership: Optional[str], answers: Optional[Dict[str, str]] = None) -> List[Item]:
        """The items asked for `partnership`; given the answers so far, only those whose `ask_when` holds."""
        items = [i for i in self.items if partnership in i.partnerships]
        if answers is None:
            return items
        return [i for i in items if holds(i.ask_when, answers, partnership)]

    def item(self, item_id: str) -> Item:
        return next(i for i in self.items if i.id == item_id)

    def evaluate(self, answers: Dict[str, str], partnership: str) -> Result:
        outcome = next(r for r in self.outcomes if holds(r.when, answers, partnership))
        steps = [s for s in self.next_steps if holds(s.when, answers, partnership, outcome.id)]
        return Result(outcome.id, outcome.summary, [f"{s.text} ({s.cite})" for s in steps])

    def rationale(self, answers: Dict[str, str], partnership: str) -> str:
        """Why the outcome follows: the rule that held and the answers it looked at (no free text)."""
        result = self.evaluate(answers, partnership)
        rule = next(r for r in self.outcomes if r.id == result.outcome)
        applicable = {i.id for i in self.items_for(partnership, answers)}
        looked_at = [i for key in ("any", "all", "none") for i in rule.when.get(key, {}) if i in applicable]
        relevant = [f"{i}={self.item(i).label(answers.get(i))}" for i in looked_at]
        basis = "; ".join(relevant) if relevant else "no rule above the default held"
        return f"{self.kind} v{self.version}, partnership {partnership}: outcome '{rule.id}' because {basis}."


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

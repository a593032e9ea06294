"""Training scenarios: fictional cases worked through a checklist, then compared with model answers.

Content lives in procedures/scenarios.yml; the checklist engine runs the exercise (an `Exercise` on
its state fixes the case's checklist and partnership and skips the outcome-log questions), and
`debrief` compares the answers. Scenarios use checklists; checklists know nothing of scenarios.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Dict, List

import yaml
from pydantic import root_validator

from sga.checklists.engine import ChecklistState
from sga.checklists.model import checklists
from sga.content import PARTNERSHIPS, PROCEDURES_DIR, Strict

SCENARIOS_FILE = PROCEDURES_DIR / "scenarios.yml"


class LearningPoint(Strict):
    text: str
    cite: str


class Scenario(Strict):
    id: str
    title: str
    checklist: str
    partnership: str
    narrative: str
    model_answers: Dict[str, str]
    learning_points: List[LearningPoint]

    @root_validator(skip_on_failure=True)
    def _matches_checklist(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        if values["partnership"] not in PARTNERSHIPS:
            raise ValueError(f"unknown partnership {values['partnership']}")
        checklist = checklists().get(values["checklist"])
        if checklist is None:
            raise ValueError(f"unknown checklist {values['checklist']}")
        items = {i.id: i for i in checklist.items_for(values["partnership"], values["model_answers"])}
        if set(values["model_answers"]) != set(items):
            raise ValueError(f"{values['id']}: model answers must cover exactly the items {sorted(items)}")
        for item_id, value in values["model_answers"].items():
            if value not in {o.value for o in items[item_id].answer_options()}:
                raise ValueError(f"{values['id']}: {value!r} is not an answer to {item_id}")
        return values


def load_scenarios(path: Path = SCENARIOS_FILE) -> Dict[str, Scenario]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {s["id"]: Scenario(**s) for s in data["scenarios"]}


@functools.lru_cache(maxsize=1)
def scenarios() -> Dict[str, Scenario]:
    return load_scenarios()


def debrief(state: ChecklistState) -> str:
    """How the trainee's answers compare with the model answers, and what to learn from it."""
    assert state.exercise is not None
    scenario = scenarios()[state.exercise.scenario]
    checklist = checklists()[scenario.checklist]
    items = checklist.items_for(scenario.partnership, scenario.model_answers)
    matched = 0
    lines: List[str] = []
    for item in items:
        given, model = state.answers.get(item.id), scenario.model_answers[item.id]
        if given == model:
            matched += 1
            lines.append(f"Matched: {item.question} You said {item.label(given)}, as the model answer does.")
        else:
            lines.append(
                f"Different: {item.question} You said {item.label(given)}; the model answer is {item.label(model)}."
            )
    yours = checklist.evaluate(state.answers, scenario.partnership)
    expected = checklist.evaluate(scenario.model_answers, scenario.partnership)
    lines[:0] = [
        f"Exercise debrief: {scenario.title}",
        "",
        f"You matched {matched} of {len(items)} model answers.",
        f"Your outcome: {yours.summary}",
        "Model outcome: " + ("the same." if yours.outcome == expected.outcome else expected.summary),
        "",
    ]
    lines += ["", "Learning points:"] + [f"- {p.text} ({p.cite})" for p in scenario.learning_points]
    lines += ["", "Training exercises are not written to the outcome log."]
    return "\n".join(lines)


def exercise_is_known(state: ChecklistState) -> bool:
    """An exercise names one of the scenarios, with its checklist and partnership (a forged or stale
    one does not)."""
    if state.exercise is None:
        return True
    scenario = scenarios().get(state.exercise.scenario)
    return scenario is not None and (scenario.checklist, scenario.partnership) == (
        state.kind,
        state.exercise.partnership,
    )

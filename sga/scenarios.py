"""Training scenarios: fictional cases worked through a checklist, then compared with model answers.

Content lives in procedures/scenarios/ (one file per theme, plus `themes.yml`); the checklist engine
runs the exercise (an `Exercise` on its state fixes the case's checklist and partnership and skips the
outcome-log questions), and `debrief` compares the answers. Scenarios use checklists; checklists know
nothing of scenarios.

Every model answer carries an explanation, a citation (a section of a procedure in procedures/*.yml)
and its evidence: the sentence of the narrative it rests on, or "not stated in the case" for Not known.
All of this is checked when the library loads, so a model answer that does not follow from the case
text fails `make test`, never a training day.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import yaml
from pydantic import root_validator

from sga.checklists.engine import EXERCISE_SKIPPED, ChecklistState
from sga.checklists.model import NOT_KNOWN, Checklist, Item, checklists
from sga.content import PARTNERSHIPS, PROCEDURES_DIR, Strict, content

SCENARIOS_DIR = PROCEDURES_DIR / "scenarios"
THEMES_FILE = "themes.yml"
NOT_STATED = "not stated in the case"
SKIPPED = EXERCISE_SKIPPED  # an item the trainee skipped in an exercise (never a checklist answer)
FEEDBACK_NOW, FEEDBACK_END = "now", "end"
GENERAL_PRACTICE = "General safeguarding practice"

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9“\"'(])")


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def sentences(narrative: str) -> List[str]:
    """The narrative's sentences, as evidence must quote them."""
    return [s for s in (_squash(p) for p in _SENTENCE_END.split(_squash(narrative))) if s]


@functools.lru_cache(maxsize=1)
def _document_sections() -> Dict[str, List[str]]:
    """Citation label (as cites write it) -> section headings of that source document, from procedures/."""
    data = content()
    labels = {"kent_medway": "Kent and Medway 2.4.1", "west_midlands": "West Midlands 2.14"}
    found: Dict[str, List[str]] = {}
    for key, document in data.documents.items():
        label = labels.get(key, document.name)
        headings = found.setdefault(label, [])
        for entry in document.entries.values():
            for part in entry.section.split(";"):
                heading = _squash(re.sub(r"\(.*?\)", "", part))
                if heading and heading.lower() not in (h.lower() for h in headings):
                    headings.append(heading)
    return found


def citation_problem(cite: str) -> Optional[str]:
    """Why a citation does not point into the procedure content (None when it does): it must name a
    source document in procedures/ and one of that document's sections, or be the labelled general
    emergency practice that the checklists themselves cite."""
    lower = cite.lower()
    named = [label for label in _document_sections() if label.lower() in lower]
    if not named:
        if lower.startswith(GENERAL_PRACTICE.lower()) or lower.startswith("emergency step"):
            return None
        return f"citation {cite!r} names no source document in procedures/"
    for label in named:
        if not any(heading.lower() in lower for heading in _document_sections()[label]):
            return f"citation {cite!r} names no section of {label}"
    return None


def _partnership_cite(item: Item, partnership: str) -> str:
    """The item's citation, keeping the parts for this partnership (and general practice)."""
    other = "West Midlands" if partnership == "kent_medway" else "Kent and Medway"
    kept: List[str] = []
    current: Optional[str] = None
    for part in (p.strip() for p in item.cite.split(";")):
        for start in ("Kent and Medway", "West Midlands", GENERAL_PRACTICE, "Emergency step"):
            if part.startswith(start):
                current = start
        if current != other:
            kept.append(part)
    return "; ".join(kept) or item.cite


class LearningPoint(Strict):
    text: str
    cite: str


class ModelAnswer(Strict):
    answer: str
    explanation: str
    evidence: str
    cite: str = ""  # empty: the item's own citation (the parts for the case's partnership)


class Scenario(Strict):
    id: str
    title: str
    checklist: str
    partnership: str
    themes: List[str]
    narrative: str
    model_answers: Dict[str, ModelAnswer]
    learning_points: List[LearningPoint]

    @root_validator(skip_on_failure=True)
    def _matches_checklist_and_case(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        sid = values["id"]
        if values["partnership"] not in PARTNERSHIPS:
            raise ValueError(f"{sid}: unknown partnership {values['partnership']}")
        checklist = checklists().get(values["checklist"])
        if checklist is None:
            raise ValueError(f"{sid}: unknown checklist {values['checklist']}")
        answers = {k: v.answer for k, v in values["model_answers"].items()}
        items = {i.id: i for i in checklist.items_for(values["partnership"], answers)}
        if set(answers) != set(items):
            raise ValueError(f"{sid}: model answers must cover exactly the items {sorted(items)}")
        told = sentences(values["narrative"])
        filled: Dict[str, ModelAnswer] = {}
        for item_id, model in values["model_answers"].items():
            if model.answer not in {o.value for o in items[item_id].answer_options()}:
                raise ValueError(f"{sid}: {model.answer!r} is not an answer to {item_id}")
            evidence = _squash(model.evidence)
            if model.answer == NOT_KNOWN:
                if evidence != NOT_STATED and evidence not in told:
                    raise ValueError(
                        f"{sid}: the evidence for {item_id} must be a sentence of the narrative or {NOT_STATED!r}"
                    )
            elif evidence not in told:
                raise ValueError(
                    f"{sid}: the evidence for {item_id} ({model.answer}) must be a sentence of the narrative: "
                    f"{evidence!r}"
                )
            if not model.explanation.strip():
                raise ValueError(f"{sid}: {item_id} needs an explanation")
            cite = model.cite or _partnership_cite(items[item_id], values["partnership"])
            problem = citation_problem(cite)
            if problem:
                raise ValueError(f"{sid}: {item_id}: {problem}")
            filled[item_id] = model.copy(update={"cite": cite, "evidence": evidence})
        values["model_answers"] = filled
        for point in values["learning_points"]:
            problem = citation_problem(point.cite)
            if problem:
                raise ValueError(f"{sid}: learning point: {problem}")
        return values

    @property
    def answers(self) -> Dict[str, str]:
        return {k: v.answer for k, v in self.model_answers.items()}

    @property
    def checklist_model(self) -> Checklist:
        return checklists()[self.checklist]

    def items(self) -> List[Item]:
        """The items this case asks, in order (given the model answers)."""
        return self.checklist_model.items_for(self.partnership, self.answers)


@dataclass(frozen=True)
class Library:
    themes: Dict[str, str]  # theme id -> label
    scenarios: Dict[str, Scenario]


def load_library(directory: Path = SCENARIOS_DIR) -> Library:
    themes_data = yaml.safe_load((directory / THEMES_FILE).read_text(encoding="utf-8"))
    themes = {str(k): str(v) for k, v in themes_data["themes"].items()}
    found: Dict[str, Scenario] = {}
    for path in sorted(directory.glob("*.yml")):
        if path.name == THEMES_FILE:
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for raw in data["scenarios"]:
            try:
                scenario = Scenario(**raw)
            except ValueError as error:
                raise ValueError(f"{path.name}: {error}") from None
            if scenario.id in found:
                raise ValueError(f"{path.name}: scenario id {scenario.id} is used twice")
            unknown = set(scenario.themes) - set(themes)
            if unknown:
                raise ValueError(f"{path.name}: {scenario.id}: unknown themes {sorted(unknown)}")
            found[scenario.id] = scenario
    unused = set(themes) - {t for s in found.values() for t in s.themes}
    if unused:
        raise ValueError(f"themes with no scenario: {sorted(unused)}")
    return Library(themes, found)


def load_scenarios(directory: Path = SCENARIOS_DIR) -> Dict[str, Scenario]:
    return load_library(directory).scenarios


@functools.lru_cache(maxsize=1)
def library() -> Library:
    return load_library()


def scenarios() -> Dict[str, Scenario]:
    return library().scenarios


# --- choosing a scenario -------------------------------------------------------------------------------


def select(
    checklist: Optional[str] = None, partnership: Optional[str] = None, theme: Optional[str] = None
) -> List[Scenario]:
    return [
        s
        for s in scenarios().values()
        if (checklist is None or s.checklist == checklist)
        and (partnership is None or s.partnership == partnership)
        and (theme is None or theme in s.themes)
    ]


def listing(checklist: Optional[str] = None, partnership: Optional[str] = None, theme: Optional[str] = None) -> str:
    """What the library holds (all, or those for a checklist, a partnership and/or a theme), with counts."""
    chosen = select(checklist, partnership, theme)
    total = len(scenarios())
    filters = []
    if checklist:
        filters.append(f"the {checklists()[checklist].title.lower()}")
    if partnership:
        filters.append("Kent and Medway" if partnership == "kent_medway" else "West Midlands")
    if theme:
        filters.append(f"the theme “{library().themes[theme]}”")
    if not filters:
        head = f"There are {total} training scenarios, each a fictional case:"
    elif chosen:
        head = f"{len(chosen)} of the {total} training scenarios are for {' and '.join(filters)}:"
    else:
        wanted = " and ".join(filters)
        return f"None of the {total} training scenarios is for {wanted}. Say “list the scenarios” to see them all."
    lines = [head] + [f"- {s.title}: {checklists()[s.checklist].title.lower()}" for s in chosen]
    if not filters:
        by_kind = ", ".join(
            f"{len(select(checklist=k))} {c.title.lower()}" for k, c in checklists().items() if select(checklist=k)
        )
        lines.append(f"By checklist: {by_kind}. Themes: " + ", ".join(library().themes.values()) + ".")
    lines.append(
        "Choose one to start it: at the end your answers are compared with model answers, with the reasons and "
        "sources, and nothing is written to the outcome log. To run one with a group, say “start a group session”."
    )
    return "\n".join(lines)


# --- feedback and the debrief --------------------------------------------------------------------------


def _answer_label(item: Item, value: Optional[str]) -> str:
    return "skipped" if value == SKIPPED else item.label(value)


def feedback(scenario: Scenario, item_id: str, given: Optional[str]) -> str:
    """Immediate feedback on one answer ("feedback now")."""
    item = scenario.checklist_model.item(item_id)
    model = scenario.model_answers.get(item_id)
    if model is None:  # not asked for the model answers' path: nothing to compare with
        return "Noted. This question is not in the model answers for this case."
    verdict = "Matched" if given == model.answer else "Different"
    yours = f"You said {_answer_label(item, given)}" + (
        ", as the model answer does." if verdict == "Matched" else f"; the model answer is {item.label(model.answer)}."
    )
    return f"{verdict}. {yours}\nWhy: {model.explanation}\nFrom the case: {_evidence(model)}\nSource: {model.cite}"


def _evidence(model: ModelAnswer) -> str:
    return (
        model.evidence[0].upper() + model.evidence[1:] + "." if model.evidence == NOT_STATED else f"“{model.evidence}”"
    )


def feedback_after(answered_before: int, state: ChecklistState) -> Optional[str]:
    """Immediate feedback, when the exercise asks for it and this turn recorded an answer."""
    exercise = state.exercise
    if exercise is None or exercise.feedback != FEEDBACK_NOW or len(state.history) <= answered_before:
        return None
    scenario = scenarios().get(exercise.scenario)
    item_id = state.history[-1]
    if scenario is None or item_id not in state.answers:
        return None
    return feedback(scenario, item_id, state.answers[item_id])


@dataclass(frozen=True)
class ItemResult:
    item_id: str
    question: str
    given: Optional[str]
    model: str
    matched: bool


def compare(scenario: Scenario, answers: Dict[str, str]) -> List[ItemResult]:
    """The trainee's answer against the model answer, for every item the model answers ask."""
    return [
        ItemResult(
            item.id,
            item.question,
            answers.get(item.id),
            scenario.answers[item.id],
            answers.get(item.id) == scenario.answers[item.id],
        )
        for item in scenario.items()
    ]


def score(results: Iterable[ItemResult]) -> Tuple[int, int]:
    listed = list(results)
    return sum(r.matched for r in listed), len(listed)


def debrief(state: ChecklistState) -> str:
    """How the trainee's answers compare with the model answers, item by item, and what to learn."""
    assert state.exercise is not None
    scenario = scenarios()[state.exercise.scenario]
    checklist = scenario.checklist_model
    results = compare(scenario, state.answers)
    matched, total = score(results)
    lines: List[str] = [f"Exercise debrief: {scenario.title}", ""]
    for number, result in enumerate(results, 1):
        item, model = checklist.item(result.item_id), scenario.model_answers[result.item_id]
        lines += [
            f"{number}. {item.question}",
            f"   {'Matched' if result.matched else 'Different'}. Your answer: {_answer_label(item, result.given)}. "
            f"Model answer: {item.label(model.answer)}.",
            f"   Why: {model.explanation}",
            f"   From the case: {_evidence(model)}",
            f"   Source: {model.cite}",
        ]
    given = {k: v for k, v in state.answers.items() if v != SKIPPED}
    yours = checklist.evaluate(given, scenario.partnership)
    expected = checklist.evaluate(scenario.answers, scenario.partnership)
    lines += [
        "",
        f"Model outcome: {expected.summary}",
        "Your outcome: " + ("the same." if yours.outcome == expected.outcome else yours.summary),
        "",
        "Learning points:",
    ]
    lines += [f"- {p.text} ({p.cite})" for p in scenario.learning_points]
    percent = round(100 * matched / total) if total else 0
    lines += [
        "",
        f"Score: {matched} of {total} answers matched the model answers ({percent}%).",
        "Training exercises are not written to the outcome log.",
    ]
    return "\n".join(lines)


def exercise_is_known(state: ChecklistState) -> bool:
    """An exercise names one of the scenarios, with its checklist and partnership (a forged or stale
    one does not)."""
    if state.exercise is None:
        return True
    scenario = scenarios().get(state.exercise.scenario)
    return (
        scenario is not None
        and (scenario.checklist, scenario.partnership) == (state.kind, state.exercise.partnership)
        and state.exercise.feedback in (FEEDBACK_NOW, FEEDBACK_END)
    )

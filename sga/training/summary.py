"""What a trainer sees of a group's results: scores, agreement with the model answer per item and per
scenario, and the items most often answered differently. Pure functions over stored rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from sga.scenarios import scenarios
from sga.training.sessions import AnswerRow


@dataclass(frozen=True)
class ItemAgreement:
    scenario_id: str
    item_id: str
    position: int
    question: str
    matched: int
    answered: int

    @property
    def different(self) -> int:
        return self.answered - self.matched

    @property
    def percent(self) -> int:
        return round(100 * self.matched / self.answered) if self.answered else 0


@dataclass(frozen=True)
class ScenarioAgreement:
    scenario_id: str
    title: str
    matched: int
    answered: int
    trainees: int

    @property
    def percent(self) -> int:
        return round(100 * self.matched / self.answered) if self.answered else 0


@dataclass(frozen=True)
class SessionSummary:
    trainees: List[Tuple[str, int, int]]  # display name, matched, total
    items: List[ItemAgreement]
    scenarios: List[ScenarioAgreement]

    def most_different(self, count: int = 3) -> List[ItemAgreement]:
        ranked = sorted((i for i in self.items if i.different), key=lambda i: (-i.different, i.position))
        return ranked[:count]


def question_of(scenario_id: str, item_id: str) -> str:
    scenario = scenarios().get(scenario_id)
    if scenario is None:
        return item_id
    try:
        return scenario.checklist_model.item(item_id).question
    except StopIteration:
        return item_id


def summarise(rows: Sequence[AnswerRow]) -> SessionSummary:
    per_trainee: Dict[str, List[AnswerRow]] = {}
    per_item: Dict[Tuple[str, str], List[AnswerRow]] = {}
    per_scenario: Dict[str, List[AnswerRow]] = {}
    for row in rows:
        per_trainee.setdefault(row.participant_id, []).append(row)
        per_item.setdefault((row.scenario_id, row.item_id), []).append(row)
        per_scenario.setdefault(row.scenario_id, []).append(row)
    trainees = [(r[0].participant, sum(x.matched for x in r), len(r)) for r in per_trainee.values()]
    items = [
        ItemAgreement(sid, iid, min(x.position for x in r), question_of(sid, iid), sum(x.matched for x in r), len(r))
        for (sid, iid), r in per_item.items()
    ]
    items.sort(key=lambda i: (i.scenario_id, i.position))
    listed = [
        ScenarioAgreement(
            sid,
            scenarios()[sid].title if sid in scenarios() else sid,
            sum(x.matched for x in r),
            len(r),
            len({x.participant_id for x in r}),
        )
        for sid, r in per_scenario.items()
    ]
    return SessionSummary(trainees, items, listed)


def _short(question: str, limit: int = 90) -> str:
    return question if len(question) <= limit else question[: limit - 1].rstrip() + "…"


def summary_text(code: str, title: str, joined: int, summary: SessionSummary, scenario_id: Optional[str] = None) -> str:
    """The session's results for the trainer, in the chat."""
    finished = len(summary.trainees)
    lines = [f"Session {code}: {title}", f"{finished} of {joined} trainee{'s' if joined != 1 else ''} finished."]
    if not finished:
        lines.append("No results yet: results appear here when a trainee reaches the debrief.")
        return "\n".join(lines)
    lines += ["", "Scores:"]
    lines += [f"- {name}: {matched} of {total}" for name, matched, total in summary.trainees]
    lines += ["", "Agreement with the model answer, per question:"]
    for number, item in enumerate(summary.items, 1):
        lines.append(f"{number}. {_short(item.question)} {item.matched} of {item.answered} ({item.percent}%)")
    different = summary.most_different()
    if different:
        lines += ["", "Most often answered differently:"]
        lines += [f"- {_short(i.question)} ({i.different} of {i.answered} differed)" for i in different]
    else:
        lines += ["", "Every answer matched the model answers."]
    for agreement in summary.scenarios:
        lines.append(f"Overall agreement: {agreement.matched} of {agreement.answered} answers ({agreement.percent}%).")
    return "\n".join(lines)

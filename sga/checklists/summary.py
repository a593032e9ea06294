"""A checklist's summary: what the practitioner confirms before saving, and what the case file keeps.

One `Summary`, built from a run in progress (`from_state`) or from a saved outcome record
(`from_record`), gives the chat text (`as_text`), Markdown for the case file (`as_markdown`, used by
`sga export --format md`) and plain data for channels that draw it themselves (`as_data`: the
`summary` the checklist action attaches to the summary message, which Teams shows as an Adaptive Card).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Mapping, Optional, Tuple

from sga.answers import partnership_name
from sga.checklists.engine import ChecklistState, Context, answers_for, applicable_items, partnership_of
from sga.checklists.model import Checklist, checklists
from sga.content import content
from sga.outcomes.privacy import ROLE_LABELS

NO_STEPS = "None identified from these answers."
NOT_GIVEN = "not given"


@dataclass(frozen=True)
class Summary:
    title: str
    kind: str
    version: str
    partnership: str
    partnership_name: str
    answers: List[Tuple[str, str]]  # (question, answer in words), in the order asked
    outcome: str
    outcome_summary: str
    next_steps: List[str]  # each ends with its source in brackets
    exercise: bool = False
    role: Optional[str] = None  # label, e.g. "Social worker"
    case_reference: Optional[str] = None
    reference: Optional[str] = None  # SGA-XXXX-XXXX once saved
    completed_at: Optional[dt.datetime] = None
    notes: List[str] = field(default_factory=list)

    @classmethod
    def from_state(cls, state: ChecklistState, ctx: Context) -> "Summary":
        checklist = state.checklist
        partnership = partnership_of(state, ctx)
        assert partnership is not None
        answers = answers_for(state, ctx)
        result = checklist.evaluate(answers, partnership)
        return cls(
            title=checklist.title,
            kind=checklist.kind,
            version=checklist.version,
            partnership=partnership,
            partnership_name=partnership_name(content(), partnership),
            answers=[(item.question, item.label(answers.get(item.id))) for item in applicable_items(state, ctx)],
            outcome=result.outcome,
            outcome_summary=result.summary,
            next_steps=list(result.next_steps),
            exercise=state.exercise is not None,
            role=ROLE_LABELS.get(ctx.role or ""),
            case_reference=state.case_reference,
        )

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> "Summary":
        """From an outcome record as stored (`OutcomeStore.records`): questions and answer words come
        from today's checklist content; an item no longer in it is shown by its id and stored value."""
        kind, partnership = str(record["checklist_kind"]), str(record["partnership"])
        checklist: Optional[Checklist] = checklists().get(kind)
        answers: Dict[str, str] = dict(record.get("answers") or {})
        notes = []
        if checklist is None:
            notes.append(f"The checklist '{kind}' is no longer in the content: answers are shown as stored.")
        elif checklist.version != record["content_version"]:
            notes.append(
                f"The checklist has changed since this record was saved (now version {checklist.version}): "
                "questions are shown in today's wording; the answers are as recorded."
            )
        shown: List[Tuple[str, str]] = []
        known = checklist.items if checklist else []
        for item in known:
            if item.id in answers:
                shown.append((item.question, item.label(answers.pop(item.id))))
        shown += [(item_id, str(value)) for item_id, value in answers.items()]
        role = record.get("practitioner_role")
        try:
            name = partnership_name(content(), partnership)
        except KeyError:
            name = partnership
        return cls(
            title=checklist.title if checklist else kind,
            kind=kind,
            version=str(record["content_version"]),
            partnership=partnership,
            partnership_name=name,
            answers=shown,
            outcome=str(record["outcome"]),
            outcome_summary=str(record["outcome_summary"]),
            next_steps=[str(step) for step in record.get("next_steps") or []],
            role=ROLE_LABELS.get(str(role), str(role)) if role else None,
            case_reference=record.get("case_reference"),
            reference=record.get("reference"),
            completed_at=record.get("completed_at"),
            notes=notes,
        )

    def saved(self, reference: str, completed_at: dt.datetime) -> "Summary":
        """The same summary once saved under `reference`."""
        return replace(self, reference=reference, completed_at=completed_at)

    def as_text(self) -> str:
        """The summary as the chat shows it before saving."""
        lines = [f"Summary: {self.title} ({self.partnership_name})", "Your answers, as recorded:"]
        lines += [f"- {question} {answer}" for question, answer in self.answers]
        if not self.exercise:
            lines.append(f"- Your role: {self.role or NOT_GIVEN}")
            lines.append(f"- Case reference: {self.case_reference or NOT_GIVEN}")
        lines += ["", f"Outcome: {self.outcome_summary}", "", "Next steps (each with its source):"]
        lines += [f"- {step}" for step in self.next_steps] or [f"- {NO_STEPS}"]
        return "\n".join(lines)

    def as_markdown(self) -> str:
        """The summary for the case file: the same content as the chat, with the reference and time."""
        facts = [
            ("Reference", self.reference or "not saved"),
            ("Completed", when(self.completed_at) if self.completed_at else "not saved"),
            ("Checklist", f"{self.title}, version {self.version}"),
            ("Partnership", self.partnership_name),
            ("Practitioner role", self.role or NOT_GIVEN),
            ("Case reference", self.case_reference or NOT_GIVEN),
        ]
        lines = [f"# {md(self.title)}: {md(self.reference or 'summary')}", "", "| | |", "| --- | --- |"]
        lines += [f"| {name} | {md(value, cell=True)} |" for name, value in facts]
        lines += ["", "## Answers, as recorded", ""]
        lines += [f"{n}. {md(question)} **{md(answer)}**" for n, (question, answer) in enumerate(self.answers, 1)]
        lines += ["", "## Outcome", "", md(self.outcome_summary), "", "## Next steps (each with its source)", ""]
        lines += [f"- {md(step)}" for step in self.next_steps] or [f"- {NO_STEPS}"]
        lines += [""] + [f"> {md(note)}" for note in self.notes] + ([""] if self.notes else [])
        lines.append(
            "This is guidance from local procedures, not legal advice. Keep your own written record of "
            "decisions and reasons in the case file."
        )
        return "\n".join(lines) + "\n"

    def as_data(self) -> Dict[str, Any]:
        """Plain JSON data for a channel to draw the summary itself (words, never ids only)."""
        return {
            "title": self.title,
            "checklist": self.kind,
            "version": self.version,
            "partnership": self.partnership,
            "partnership_name": self.partnership_name,
            "answers": [{"question": q, "answer": a} for q, a in self.answers],
            "role": None if self.exercise else (self.role or NOT_GIVEN),
            "case_reference": None if self.exercise else (self.case_reference or NOT_GIVEN),
            "outcome": self.outcome,
            "outcome_summary": self.outcome_summary,
            "next_steps": list(self.next_steps),
            "reference": self.reference,
            "completed_at": when(self.completed_at) if self.completed_at else None,
        }


def when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%d %B %Y, %H:%M UTC").lstrip("0")


MARKDOWN_SPECIALS = "\\`*_[]<>#|"


def md(text: str, cell: bool = False) -> str:
    """Text shown as written in Markdown: characters Markdown would read as formatting are escaped,
    and a line break in a table cell becomes a space."""
    escaped = "".join("\\" + c if c in MARKDOWN_SPECIALS else c for c in str(text))
    return " ".join(escaped.split()) if cell else escaped

"""One place for the test data the tests build: outcome drafts (fields overridable per test)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sga.outcomes import OutcomeDraft

DEFAULT_DRAFT = dict(
    checklist_kind="recognition",
    content_version="2024.11",
    partnership="kent_medway",
    channel="rest",
    answers={"km_s47_abuse": "no", "km_admitted_abuse": "not_known"},
    outcome="no_indicator_identified",
    outcome_summary="No indicator identified: record your reasons.",
    next_steps=["Record the decision"],
    rationale="None of the 2.4.1 indicators applies (KM 2.4.1 §1).",
    sender_id="rest-dsl-7",
    salt="test-salt",
    practitioner_role="designated_safeguarding_lead",
    case_reference="LCS-448812",
)


def make_draft(**overrides: Any) -> OutcomeDraft:
    """An outcome draft like the checklist action makes; any field can be overridden."""
    return OutcomeDraft.new(**{**DEFAULT_DRAFT, **overrides})


def utc(year: int, month: int, day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(year, month, day, hour, 0, tzinfo=dt.timezone.utc)

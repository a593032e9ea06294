"""The search fallback: relevant sections for real questions, nothing for unrelated ones."""

import pytest

from sga.search import index


@pytest.mark.parametrize(
    "question,expected",
    [
        (
            "could probation powers or his own consent make a disclosure unnecessary",
            "disclosure_process.less_intrusive",
        ),
        ("which agency leads for registered sex offenders not on licence", "mappa.lead_agency"),
        ("sexual harm prevention order and violent offender order", "mappa.risk_tools"),
        ("paying a child for sex offence exploitation", "sexual_exploitation.offences"),
        ("strategic management board", "mappa.smb"),
    ],
)
def test_real_questions_find_their_section(question, expected):
    hits = index().search(question)
    assert hits and expected in [h.topic_id for h in hits], [h.topic_id for h in hits]


@pytest.mark.parametrize(
    "question",
    [
        "what's the weather tomorrow",
        "how do I claim expenses",
        "recipe for a children's party cake",
        "my password expired",
        "",
        "the the the",
        "x" * 3000,
        "'; DROP TABLE events; --",
    ],
)
def test_unrelated_or_empty_questions_find_nothing(question):
    assert index().search(question) == []

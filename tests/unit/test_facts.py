"""Key facts each answer must state, taken from the source procedures (../shared/seeds/) and the
sourced national facts. A reworded answer passes; an answer that loses or changes a fact fails."""

import re

import pytest

from sga import answers
from sga.content import content

DATA = content()

FACTS = [
    ("mappa.levels", None, ["Level 1", "Ordinary Management", "Level 2", "Level 3", "senior"]),
    (
        "mappa.categories",
        None,
        ["registered sexual offenders", "violent offenders", "other dangerous offenders", "Category 4", "terroris"],
    ),
    ("mappa.overview", None, ["Criminal Justice Act 2003", "police", "probation", "co-operate"]),
    ("thresholds.section47", None, ["Section 47", "household", "contact"]),
    ("response.child_protection_referral", None, ["child protection referral"]),
    ("response.child_protection_conference", None, ["threshold"]),
    ("definitions.serious_harm", None, ["threatens life|life[- ]threatening", "traumatic", "difficult or impossible"]),
    ("definitions.person_posing_risk", "west_midlands", ["continuing risk of serious harm"]),
    ("recognition.indicators", "kent_medway", ["Schedule One", "Children and Young Persons Act 1933", "MAPPA"]),
    ("disclosure.presumption", None, ["consent", "statutory", "public", "legal advice"]),
    ("disclosure.no_conviction", None, ["reasonable grounds"]),
    ("risk_assessment.decision_maker", "kent_medway", ["District Manager", "Service Manager", "strategy meeting"]),
    ("disclosure_process.strategy_discussion", None, ["contact"]),
    ("sarahs_law.overview", None, ["2008", "43"]),
    ("sarahs_law.who_receives", None, ["best"]),
    ("clares_law.overview", None, ["2014", "Domestic Abuse Act 2021"]),
    ("clares_law.disclosure_test", None, ["legal", "proportionate", "necessary"]),
    ("sexual_exploitation.offences", None, ["Sexual Offences Act 2003", "18"]),
    ("emergency", None, ["999"]),
]


@pytest.mark.parametrize("topic_id,partnership,facts", FACTS)
def test_answer_states_the_key_facts(topic_id, partnership, facts):
    text = (
        answers.answer(DATA, topic_id, partnership, detailed=True).text
        + answers.answer(DATA, topic_id, partnership).text
    )
    for fact in facts:
        assert re.search(fact, text, re.IGNORECASE), f"{topic_id}: the answer no longer says {fact!r}"


def test_west_midlands_never_gets_kent_and_medway_decision_makers():
    text = answers.answer(DATA, "risk_assessment.decision_maker", "west_midlands", detailed=True).text
    assert "District Manager" not in text and "Operational Safeguarding Lead" not in text

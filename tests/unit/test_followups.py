"""Follow-ups without a topic ("timescales?", "who decides?") resolve against the scheme named or in context."""

import pytest

from sga.content import content
from sga.followups import FACET_INTENTS, facets, is_national, resolve


def test_the_scheme_in_context_answers_the_follow_up():
    assert resolve("ask_timescales", None, "sarahs_law.overview").topic_id == "sarahs_law.process"
    assert resolve("ask_timescales", None, "clares_law.overview").topic_id == "clares_law.disclosure_test"


def test_a_named_scheme_wins_over_the_context():
    assert (
        resolve("ask_who_decides", "la_disclosure", "sarahs_law.overview").topic_id == "risk_assessment.decision_maker"
    )


def test_no_scheme_uses_the_facet_default_or_asks():
    assert resolve("ask_who_decides", None, None).topic_id == "risk_assessment.decision_maker"
    assert resolve("ask_timescales", None, None).scheme is None


def test_a_facet_the_scheme_does_not_cover_is_said_so_not_switched():
    found = resolve("ask_timescales", None, "mappa.levels")
    assert found.scheme == "mappa" and found.topic_id is None


@pytest.mark.parametrize("intent", sorted(FACET_INTENTS))
def test_every_facet_points_at_contract_topics(intent):
    for scheme in facets().schemes.values():
        topic_id = scheme.answers.get(FACET_INTENTS[intent])
        assert topic_id is None or topic_id in content().topics


def test_national_schemes():
    assert is_national("mappa.levels") and is_national("sarahs_law.process")
    assert not is_national("thresholds.section47")

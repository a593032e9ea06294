"""Issue 12 (guidance fidelity): each numbered and lettered point, checked on the real content.

Every test here, bar the guard test_E_conditions_only_hold_for_real_items, failed on the content before
the fix (run against commit c2a6847's procedures/) and states the fact or outcome the seeds
(../shared/seeds/) or ../shared/domain-facts.md require.
"""

from __future__ import annotations

import re
from typing import List
from urllib.parse import urlparse

import pytest

from sga import answers
from sga.checklists.model import NO, NOT_KNOWN, YES, Checklist, holds, load_checklists
from sga.content import PARTNERSHIPS, load_content
from sga.scenarios import load_scenarios

KM, WM = "kent_medway", "west_midlands"
DATA = load_content()
CHECKLISTS = load_checklists()
SCENARIOS = load_scenarios()
EMERGENCY = "call 999"


def answer(topic_id: str, partnership, detailed: bool = False) -> str:
    return answers.answer(DATA, topic_id, partnership, detailed=detailed).text


def evaluate(kind: str, partnership: str, default: str, **overrides: str):
    checklist = CHECKLISTS[kind]
    given = {item.id: default for item in checklist.items_for(partnership)}
    unknown = set(overrides) - set(given)
    assert not unknown, f"not items of {kind} for {partnership}: {sorted(unknown)}"
    given.update(overrides)
    result = checklist.evaluate(given, partnership)
    return result, "\n".join(result.next_steps)


# --- what a West Midlands user sees ------------------------------------------------------------------


def west_midlands_checklist_texts(checklist: Checklist) -> List[str]:
    """Help, outcome summaries and next steps that can be shown to a West Midlands user."""
    texts = [checklist.intro]
    texts += [f"{item.id}: {item.help}" for item in checklist.items_for(WM)]
    for rule in checklist.outcomes:
        if WM in (
            [rule.when["partnership"]]
            if isinstance(rule.when.get("partnership"), str)
            else rule.when.get("partnership", [WM])
        ):
            texts.append(f"outcome {rule.id}: {rule.summary}")
    for step in checklist.next_steps:
        spec = step.when.get("partnership", [WM])
        if WM in ([spec] if isinstance(spec, str) else spec):
            texts.append(f"step: {step.text}")
    return texts


def west_midlands_answer_paragraphs() -> List[str]:
    paragraphs = [f"summary {t.id}: {t.summary}" for t in DATA.topics.values()]
    for topic_id in DATA.topics:
        for detailed in (False, True):
            paragraphs += answer(topic_id, WM, detailed).split("\n\n")
    return paragraphs


PROCEDURE_REQUIRES = re.compile(r"\bthe procedure (requires|says|lists|names)\b", re.I)
PRESUMPTION = re.compile(r"presumption|not normally (be )?disclosed", re.I)


def test_no_west_midlands_text_says_the_procedure_requires_or_gives_the_kent_and_medway_presumption_unnamed():
    """Points 1, 2 and the 'done when' test: say whose procedure it is."""
    texts = west_midlands_answer_paragraphs()
    for checklist in CHECKLISTS.values():
        texts += west_midlands_checklist_texts(checklist)
    offending = [t for t in texts if PROCEDURE_REQUIRES.search(t)]
    assert not offending, offending
    unnamed = [t for t in texts if PRESUMPTION.search(t) and "Kent and Medway" not in t]
    assert not unnamed, unnamed


def test_1_west_midlands_disclosure_answer_says_what_2_14_says():
    text = answer("disclosure.presumption", WM)
    assert "justifiably share" in text
    assert "does not set this out" not in text, "2.14 does say something about sharing"
    assert "From the West Midlands procedure (2.14)" in text
    assert "justifiably share" in answer("disclosure.no_conviction", WM)


def test_1_west_midlands_disclosure_checklist_asks_the_2_14_question_not_the_kent_and_medway_gate():
    ids = [i.id for i in CHECKLISTS["disclosure"].items_for(WM)]
    assert "dp_exception" not in ids and "dp_wm_child_at_risk" in ids
    assert "dp_exception" in [i.id for i in CHECKLISTS["disclosure"].items_for(KM)]
    wm_item = CHECKLISTS["disclosure"].item("dp_wm_child_at_risk")
    assert "justifiably share" in wm_item.help and wm_item.cite.startswith("West Midlands 2.14")


def test_2_risk_assessment_help_names_whose_procedure_requires_it():
    for item in CHECKLISTS["risk_assessment"].items:
        if "requires" in item.help:
            assert "Kent and Medway 2.4.1" in item.help, item.id


# --- 3: immediate danger --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(CHECKLISTS))
@pytest.mark.parametrize("partnership", PARTNERSHIPS)
def test_3_immediate_danger_is_asked_first_and_labelled(kind, partnership):
    first = CHECKLISTS[kind].items_for(partnership)[0]
    assert first.id == "immediate_danger"
    assert "immediate danger" in first.question and "999" in first.help
    assert "not taken from the text of either procedure" in first.help
    assert "Working Together" not in first.help + first.cite


@pytest.mark.parametrize("kind", sorted(CHECKLISTS))
@pytest.mark.parametrize("partnership", PARTNERSHIPS)
def test_3_a_child_in_immediate_danger_gets_call_999_now_first(kind, partnership):
    for default in (YES, NO, NOT_KNOWN):
        result, _ = evaluate(kind, partnership, default, immediate_danger=YES)
        assert result.next_steps[0].startswith("You said a child is in immediate danger now: call 999 now"), (
            kind,
            default,
        )


def _answer_sets(checklist: Checklist, partnership: str):
    """Every answer set that is all Yes, all No or all Not known except for one or two items (with the
    immediate-danger question answered No): enough to reach every outcome rule."""
    items = [i for i in checklist.items_for(partnership) if i.id != "immediate_danger"]
    values = {i.id: [o.value for o in i.answer_options()] for i in items}
    for default in (YES, NO, NOT_KNOWN):
        base = {i.id: default for i in items}
        base["immediate_danger"] = NO
        yield dict(base)
        for a, first in enumerate(items):
            for value in values[first.id]:
                yield {**base, first.id: value}
                for second in items[a + 1 :]:
                    for other in values[second.id]:
                        yield {**base, first.id: value, second.id: other}


@pytest.mark.parametrize("kind", sorted(CHECKLISTS))
def test_3_every_outcome_where_children_may_be_at_risk_carries_the_999_line(kind):
    """Every outcome, bar 'no indicator identified', lists the 999 line. Before the fix,
    definition_unclear, more_information_needed and every risk-assessment and disclosure outcome
    lacked it."""
    checklist = CHECKLISTS[kind]
    reached = set()
    for partnership in PARTNERSHIPS:
        for given in _answer_sets(checklist, partnership):
            result = checklist.evaluate(given, partnership)
            reached.add(result.outcome)
            if result.outcome != "no_indicator_identified":
                assert any("If any child is in immediate danger, call 999" in s for s in result.next_steps), (
                    result.outcome
                )
    assert reached == {o.id for o in checklist.outcomes}, (
        f"not reached: {set(o.id for o in checklist.outcomes) - reached}"
    )


def test_3_schedule_one_with_may_seek_contact_gets_999_and_section_47():
    result, steps = evaluate("recognition", KM, NO, km_schedule_one=YES, may_seek_contact=YES)
    assert result.outcome == "may_pose_risk"
    assert EMERGENCY in steps and "A Section 47 Enquiry must be started" in steps


def test_3_kent_and_medway_not_known_while_living_with_children_gets_999():
    result, steps = evaluate("recognition", KM, NO, km_s47_abuse=NOT_KNOWN, lives_with_children=YES)
    assert result.outcome == "more_information_needed"
    assert EMERGENCY in steps and "Do not wait for those checks" in steps


# --- 4, 5: recognition ------------------------------------------------------------------------------------


def test_4_who_assesses_continuing_risk_is_what_the_seed_says():
    checklist = CHECKLISTS["recognition"]
    help_text = checklist.item("wm_continuing_risk").help
    assert "Criminal justice agencies carry out this assessment" not in help_text
    assert "alleged to have" in help_text and "without a charge" in help_text
    _, steps = evaluate("recognition", WM, NOT_KNOWN)
    assert "criminal justice agencies carry out that assessment" not in steps
    assert "does not say who assesses a person identified as a risk without a" in steps


def test_5_mappa_step_names_category_4():
    _, steps = evaluate("recognition", WM, YES)
    assert "Category 4" in steps and "terrorist" in steps


# --- 6: sources ------------------------------------------------------------------------------------------


def test_6_the_999_line_is_not_attributed_to_working_together():
    entry = DATA.documents["national"].entries["emergency"]
    assert entry.source_name.startswith("General safeguarding practice")
    assert "not quoted from Working Together" in entry.source_name
    assert "general safeguarding practice" in entry.short


def test_6_category_4_source_name_matches_its_link():
    entry = DATA.documents["national"].entries["mappa.categories"]
    if "bill-2021" in str(entry.source_url):
        assert "Bill 2021" in entry.source_name
    assert "Act 2022: management of terrorist offenders factsheet" not in entry.source_name


@pytest.mark.parametrize("topic_id", ["sarahs_law.process", "sarahs_law.who_can_apply", "sarahs_law.who_receives"])
def test_6_police_force_facts_link_to_police_force_pages(topic_id):
    entry = DATA.documents["national"].entries[topic_id]
    assert urlparse(str(entry.source_url)).hostname.endswith("police.uk"), entry.source_url
    assert "Police force" in entry.source_name


# --- 7: keep the seed's force ------------------------------------------------------------------------------


def test_7_seed_force_kept():
    strategy = DATA.documents[KM].entries["disclosure_process.strategy_discussion"].short
    assert "must decide" not in strategy and "must consider" in strategy
    assert "considered first" not in CHECKLISTS["disclosure"].item("dp_probation_powers").help
    police = CHECKLISTS["risk_assessment"].item("ra_km_police_support")
    assert "identified child" in police.help and "identified child" in police.question
    result, steps = evaluate("risk_assessment", KM, YES, ra_km_police_support=NO)
    assert result.outcome == "police_do_not_support"
    assert "based on the potential risk to an identified child: further legal advice must be taken" in steps


# --- 8: citations ----------------------------------------------------------------------------------------


def test_8_citations_match_the_text():
    km = DATA.documents[KM].entries
    wm = DATA.documents[WM].entries
    assert "contents" in km["thresholds.referral"].section, "thresholds documents come from the manual's contents"
    assert "Criminal Justice" in wm["thresholds.referral"].section
    assert "(WM 2.14, Criminal Justice agencies)" in wm["thresholds.referral"].detail
    assert "Non-criminal justice agencies" in wm["clares_law.children"].section
    assert wm["risk_assessment.decision_maker"].local_practice is False
    assert "local practice in West Midlands" not in answer("risk_assessment.decision_maker", WM)


# --- 9: training scenarios -----------------------------------------------------------------------------------


def test_9_scenarios_match_their_narratives():
    pupil = SCENARIOS["young_person_returning_to_school"]
    assert "convicted" in pupil.narrative and pupil.answers["wm_identified_risk"] == NO
    partner = SCENARIOS["new_partner_caution"]
    assert partner.answers["may_seek_contact"] != YES
    assert "no convictions" in partner.narrative and partner.answers["km_schedule_one"] == NO
    assert "Nothing else is known" not in partner.narrative
    assert "neither prison nor probation" in partner.narrative and partner.answers["km_adult_offender_notified"] == NO
    disclosure = SCENARIOS["disclosure_to_new_partner"]
    assert disclosure.answers["dp_probation_powers"] == YES and "Probation has considered" in disclosure.narrative


def test_9_increase_the_risk_applies_to_consent_and_self_disclosure_only():
    for scenario in SCENARIOS.values():
        for point in scenario.learning_points:
            for clause in re.split(r"[;.]", point.text):
                if "increase the risk" in clause:
                    assert "probation" not in clause, point.text


# --- 10 to 16: missing content -------------------------------------------------------------------------------


def test_10_every_kent_and_medway_source_line_says_it_is_an_lscb_era_copy():
    for topic_id in DATA.topics:
        for partnership in PARTNERSHIPS:
            for doc in DATA.sources_for(topic_id, partnership):
                if doc.key == KM:
                    line = answers.citation_line(doc, doc.entries[topic_id])
                    assert "LSCB-era copy" in line and "role titles" in line, topic_id


def test_11_west_midlands_coverage_and_local_additions():
    text = answer("thresholds.referral", WM)
    for area in (
        "Birmingham",
        "Dudley",
        "Herefordshire",
        "Sandwell",
        "Shropshire",
        "Telford & Wrekin",
        "Walsall",
        "Wolverhampton",
        "Worcestershire",
        "Solihull",
    ):
        assert area in text, area
    assert "local content" in text
    assert "Solihull" in answer("definitions.person_posing_risk", WM, detailed=True)


@pytest.mark.parametrize("partnership", PARTNERSHIPS)
def test_12_mappa_referral_mechanics(partnership):
    text = answer("mappa.referral", partnership)
    assert "automatically" in text and "Level 2 or 3" in text and "MAPPA Co-ordinator" in text


@pytest.mark.parametrize("partnership", PARTNERSHIPS)
def test_13_risk_assessment_checklist_asks_the_section_2_points(partnership):
    questions = " ".join(i.question for i in CHECKLISTS["risk_assessment"].items_for(partnership))
    for point in (
        "needs of the children affected",
        "ability to protect themselves",
        "other significant adults",
        "did not lead to a conviction",
    ):
        assert point in questions, point
    result, steps = evaluate("risk_assessment", partnership, YES, ra_protective_adults=NO)
    assert result.outcome == "gaps_before_decision" and "other significant adults" in steps


def test_14_setting_up_home_with_a_new_partner_is_in_the_short_answers():
    for topic_id in ("recognition.indicators", "response.child_protection_referral"):
        assert "new partner who has children" in DATA.documents[KM].entries[topic_id].short, topic_id


def test_15_national_timescales_and_local_front_doors():
    for partnership in PARTNERSHIPS:
        text = answer("thresholds.section47", partnership)
        assert "1 working day" in text and "15 working days of the strategy discussion" in text
        assert "15 working days" in answer("response.child_protection_conference", partnership)
        assert "1 working day" in answer("thresholds.referral", partnership)
    kent = answer("thresholds.referral", KM)
    assert "Integrated Front Door" in kent and "Children's Portal" in kent and "1 October 2018" in kent
    assert "Kent Support Levels Guidance" in kent and "local practice in Kent and Medway" in kent
    west = answer("thresholds.referral", WM)
    assert "CASS" in west and "0121 303 1888" in west and "Right Help, Right Time" in west
    assert "CASS" not in kent and "Integrated Front Door" not in west


@pytest.mark.parametrize("topic_id", ["sarahs_law.process", "sarahs_law.who_receives"])
def test_16_sarahs_law_follow_ups_are_in_the_short_answer(topic_id):
    text = answer(topic_id, WM)  # the short answer, as a follow-up with this topic shows it
    assert re.search(r"Who decides: the police, with partner agencies", text)
    assert "confidential" in text and "only to protect the child" in text
    assert re.search(r"may be told", text)
    if topic_id == "sarahs_law.process":
        assert "45 days" in text and "10 days" in text


@pytest.mark.parametrize("topic_id", ["clares_law.overview", "clares_law.disclosure_test"])
def test_16_clares_law_follow_ups_are_in_the_short_answer(topic_id):
    text = answer(topic_id, KM)
    assert re.search(r"police decide|Who decides: the police", text)
    assert "confidential" in text and "may not" in text


# --- A to E: checklist outcome logic ----------------------------------------------------------------------


@pytest.mark.parametrize("partnership", PARTNERSHIPS)
def test_A_a_carer_who_cannot_protect_routes_to_child_protection(partnership):
    result, steps = evaluate(
        "disclosure", partnership, YES, immediate_danger=NO, dp_alternative_suffices=NO, dp_carer_protect=NO
    )
    assert result.outcome == "children_need_protection"
    assert "justified" not in result.summary.split(":")[0]
    assert EMERGENCY in steps
    if partnership == KM:
        assert "Section 47 Enquiry must be started" in steps and "Child Protection Conference must be convened" in steps
    else:
        assert "Referrals procedure" in steps and "Section 47" not in steps
    item = CHECKLISTS["disclosure"].item("dp_carer_protect")
    assert not item.options, "a Yes / No / Not known question"


@pytest.mark.parametrize("partnership", PARTNERSHIPS)
def test_B_no_pressing_need_means_not_justified(partnership):
    result, steps = evaluate(
        "disclosure", partnership, YES, dp_pressing_need=NO, dp_alternative_suffices=NO, dp_strategy_what=NO
    )
    assert result.outcome == "disclosure_not_justified"
    assert "not justified on the present facts" in steps
    assert "record both before going ahead" not in steps
    # C: after a No on pressing need, the plan for a disclosure is no longer a to-do
    assert "At the strategy discussion" not in steps


@pytest.mark.parametrize("partnership", PARTNERSHIPS)
def test_B_a_sufficient_alternative_means_use_it_instead(partnership):
    result, steps = evaluate("disclosure", partnership, YES, dp_alternative_suffices=YES)
    assert result.outcome == "use_less_intrusive_route"
    assert "use it instead" in result.summary and "Use the less intrusive route instead" in steps


def test_C_the_risk_assessment_is_asked_before_the_justification():
    for partnership in PARTNERSHIPS:
        ids = [i.id for i in CHECKLISTS["disclosure"].items_for(partnership)]
        assert ids.index("dp_risk_assessment") < ids.index("dp_justified_harm") < ids.index("dp_strategy_what")


def test_D_west_midlands_criminal_justice_definition_not_met_gets_the_referral_route_and_999():
    result, steps = evaluate(
        "recognition", WM, NO, wm_cja=YES, wm_offence_against_child=YES, wm_continuing_risk=NO, lives_with_children=YES
    )
    assert result.outcome == "definition_not_met"
    assert "refer to children's social care" in result.summary
    assert "refer to children's social care\n      under the Referrals procedure" not in steps
    assert "refer to children's social care under the Referrals procedure" in steps
    assert EMERGENCY in steps
    assert "potential person posing a risk to children" in steps


@pytest.mark.parametrize(
    "held,named,not_named",
    [
        (
            "may_seek_contact",
            "may seek contact with children or poses a risk to children in the area",
            ["lives in a household", "has contact with children"],
        ),
        ("lives_with_children", "lives in a household with children", ["has contact with children", "in the area"]),
        ("contact_with_children", "has contact with children", ["lives in a household", "in the area"]),
    ],
)
def test_E_the_section_47_step_names_the_condition_that_held(held, named, not_named):
    _, steps = evaluate("recognition", KM, NO, km_caution=YES, **{held: YES})
    line = next(s for s in steps.split("\n") if s.startswith("A Section 47 Enquiry must be started"))
    assert named in line
    for other in not_named:
        assert other not in line, line


def test_E_all_section_47_conditions_are_named_when_all_hold():
    _, steps = evaluate("recognition", KM, YES)
    lines = [s for s in steps.split("\n") if s.startswith("A Section 47 Enquiry must be started")]
    assert len(lines) == 1
    assert "lives in a household with children, has contact with children and may seek contact" in lines[0]


def test_E_conditions_only_hold_for_real_items():
    """Every rule's condition keys are checked by the schema; this one guards the hand-built Section 47
    combinations: exactly one holds for each non-empty set of triggers."""
    steps = [
        s for s in CHECKLISTS["recognition"].next_steps if s.text.startswith("A Section 47 Enquiry must be started")
    ]
    triggers = ("lives_with_children", "contact_with_children", "may_seek_contact")
    for mask in range(1, 8):
        given = {t: (YES if mask & (1 << i) else NO) for i, t in enumerate(triggers)}
        assert sum(holds(s.when, given, KM, "may_pose_risk") for s in steps) == 1, given

"""The usage markers (bot/markers/) load with Rasa's marker engine, name only what the domain has, and
apply where they should on event sequences shaped as the assistant's trackers are."""

from __future__ import annotations

from rasa.core.evaluation.marker_base import Marker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered

from sga_tools.usage import DOMAIN_DIR, MARKERS_DIR

EXPECTED = {
    "fallback",
    "out_of_scope",
    "emergency",
    "checklist_started",
    "checklist_saved",
    "checklist_abandoned",
    "follow_up_after_answer",
}


def markers():
    return Marker.from_path(MARKERS_DIR)


def user(intent):
    return [ActionExecuted("action_listen"), UserUttered(intent, intent={"name": intent, "confidence": 1.0})]


def applied(events):
    """Marker name -> event indices where it applied, for a one-session conversation."""
    (session,) = markers().evaluate_events([ActionExecuted("action_session_start"), *events])
    return {name: [m.idx for m in found] for name, found in session.items()}


def test_every_marker_loads_and_refers_only_to_the_domain():
    loaded = markers()
    assert {str(m) for m in loaded.sub_markers} == EXPECTED
    assert all(m.description for m in loaded.sub_markers), "each marker says what it counts"
    assert loaded.validate_against_domain(Domain.load(str(DOMAIN_DIR)))


def test_a_save_is_one_event_and_a_conversation_without_one_ends_abandoned():
    started = [*user("start_checklist"), ActionExecuted("action_start_checklist"), ActionExecuted("checklist_form")]
    finish = [ActionExecuted("action_finish_checklist"), SlotSet("checklist_state", None)]
    saved = applied(
        [*started, *user("affirm"), *finish, SlotSet("outcome_saved", "recognition")]
        + [SlotSet("outcome_saved", None), ActionExecuted("action_listen")]
    )
    assert len(saved["checklist_saved"]) == 1 and len(saved["checklist_started"]) == 1
    last = len(started) + 2 + len(finish) + 3
    assert last not in saved["checklist_abandoned"], "saved: not abandoned at the end"

    left = applied([*started, ActionExecuted("action_listen")])
    assert left["checklist_saved"] == [] and len(started) + 1 in left["checklist_abandoned"]


def test_a_follow_up_counts_only_after_an_answer():
    answer = [*user("ask_mappa_levels"), ActionExecuted("action_answer_topic")]
    follow_up = [*user("ask_timescales"), ActionExecuted("action_answer_followup")]
    assert applied(follow_up)["follow_up_after_answer"] == []
    assert len(applied([*answer, *follow_up])["follow_up_after_answer"]) == 1
    unsure = applied([*user("nlu_fallback"), ActionExecuted("action_search_fallback"), *user("ask_emergency")])
    assert len(unsure["fallback"]) == 1 and len(unsure["emergency"]) == 1 and unsure["out_of_scope"] == []

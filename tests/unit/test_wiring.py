"""Domain, rules and NLU data stay in step with the content catalogue and with each other."""

from __future__ import annotations

from typing import Any, Dict, List, Set

import yaml

from sga.content import content
from sga.settings import PROJECT_ROOT

# Intents the checklist form takes as answers (the engine in sga/checklists/ reads them); every other
# intent must interrupt the form and have a rule for when the form is active.
FORM_ANSWERS = {
    "affirm",
    "deny",
    "answer_not_known",
    "choose_option",
    "skip",
    "inform_partnership",
    "inform_role",
    "inform_case_reference",
    "greet",
    "goodbye",
    "thank",
    "out_of_scope",
}


def _yaml_files(folder: str) -> List[Dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted((PROJECT_ROOT / folder).rglob("*.yml"))]


def _domain() -> List[Dict[str, Any]]:
    return _yaml_files("bot/domain")


def _rules() -> List[Dict[str, Any]]:
    return [r for d in _yaml_files("data/rules") for r in d.get("rules", [])]


def _intents_of(step: Dict[str, Any]) -> Set[str]:
    if "intent" in step:
        return {step["intent"]}
    return {s["intent"] for s in step.get("or", []) if "intent" in s}


def _in_form(rule: Dict[str, Any]) -> bool:
    return {"active_loop": "checklist_form"} in (rule.get("condition") or [])


def test_every_topic_has_an_intent_rules_in_and_out_of_a_checklist_and_examples():
    domain_intents = {i for d in _domain() for i in d.get("intents", [])}
    examples: Dict[str, List[str]] = {}
    for d in _yaml_files("data/nlu"):
        for block in d.get("nlu", []):
            if "intent" in block:
                examples.setdefault(block["intent"], []).extend(
                    line for line in block["examples"].splitlines() if line.strip()
                )
    for topic in content().catalogue.topics:
        assert topic.intent in domain_intents, topic.intent
        answering = [r for r in _rules() if topic.intent in _intents_of(r["steps"][0])]
        assert {_in_form(r) for r in answering} == {True, False}, topic.intent
        assert all(r["steps"][1] == {"action": "action_answer_topic"} for r in answering), topic.intent
        assert len(examples.get(topic.intent, [])) >= 15, f"{topic.intent} needs more training examples"


def test_every_intent_is_a_checklist_answer_or_an_interruption_with_a_rule():
    domain_intents = {i for d in _domain() for i in d.get("intents", [])}
    step_slot = next(d["slots"]["checklist_step"] for d in _domain() if "checklist_step" in d.get("slots", {}))
    interruptions = set(step_slot["mappings"][0]["not_intent"])
    ruled_in_form = {i for r in _rules() if _in_form(r) for i in _intents_of(r["steps"][0])}
    assert interruptions <= domain_intents, interruptions - domain_intents
    assert not interruptions & FORM_ANSWERS
    unplaced = domain_intents - interruptions - FORM_ANSWERS
    assert not unplaced, f"intents neither answered by the form nor interrupting it: {sorted(unplaced)}"
    assert not interruptions - ruled_in_form, f"interruptions without a rule: {sorted(interruptions - ruled_in_form)}"


def test_heldout_set_covers_every_topic():
    heldout = yaml.safe_load((PROJECT_ROOT / "tests/nlu/heldout.yml").read_text())
    intents = {b["intent"] for b in heldout["nlu"] if "intent" in b}
    missing = {t.intent for t in content().catalogue.topics} - intents
    assert not missing

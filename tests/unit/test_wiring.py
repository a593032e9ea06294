"""Domain, rules and NLU data stay in step with the content catalogue."""

import yaml

from actions.content import content
from actions.settings import PROJECT_ROOT


def _yaml_files(folder):
    return [yaml.safe_load(p.read_text()) for p in sorted((PROJECT_ROOT / folder).rglob("*.yml"))]


def test_every_topic_has_an_intent_a_rule_and_examples():
    domain_intents = {i for d in _yaml_files("bot/domain") for i in d.get("intents", [])}
    rules = [r for d in _yaml_files("data/rules") for r in d.get("rules", [])]
    ruled = {s["intent"]: r for r in rules for s in r["steps"] if "intent" in s}
    examples = {}
    for d in _yaml_files("data/nlu"):
        for block in d.get("nlu", []):
            if "intent" in block:
                examples[block["intent"]] = [l for l in block["examples"].splitlines() if l.strip()]
    for topic in content().catalogue.topics:
        assert topic.intent in domain_intents, topic.intent
        assert ruled[topic.intent]["steps"][-1] == {"action": "action_answer_topic"}, topic.intent
        assert len(examples.get(topic.intent, [])) >= 15, f"{topic.intent} needs more training examples"


def test_heldout_set_covers_every_topic():
    heldout = yaml.safe_load((PROJECT_ROOT / "tests/nlu/heldout.yml").read_text())
    intents = {b["intent"] for b in heldout["nlu"] if "intent" in b}
    missing = {t.intent for t in content().catalogue.topics} - intents
    assert not missing

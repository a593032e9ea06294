"""The conversation test files (tests/conversations/*.yml) are well formed and refer only to real ids.

Run without the stack: every file parses, every dialogue has an id, a one-line why and turns with
known expectation keys; every topic id is in ../shared/topics.yml (or out_of_scope); every item id
is in procedures/checklists/; there are at least 120 dialogues, with unique ids.
"""

from collections import Counter

import pytest
import yaml

from tests.conversations.dialogues import (
    OUT_OF_SCOPE,
    Dialogue,
    checklist_items,
    contract_topics,
    dialogue_files,
    load_dialogues,
    problems,
    recorded_as,
    shows_stage,
)

DIALOGUES = load_dialogues()


def test_every_file_parses_into_dialogues():
    files = dialogue_files()
    assert files, "no tests/conversations/*.yml files"
    for path in files:
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        assert isinstance(data, dict) and data.get("dialogues"), f"{path.name} holds no dialogues"


def test_at_least_120_dialogues_with_unique_ids():
    assert len(DIALOGUES) >= 120, f"only {len(DIALOGUES)} dialogues"
    repeated = [i for i, n in Counter(d.id for d in DIALOGUES).items() if n > 1]
    assert not repeated, f"dialogue ids used more than once: {repeated}"


@pytest.mark.parametrize("dialogue", DIALOGUES, ids=[d.id for d in DIALOGUES])
def test_dialogue_is_well_formed_and_uses_real_ids(dialogue):
    assert problems(dialogue) == []


def test_topic_ids_come_from_the_contract():
    topics = contract_topics()
    assert OUT_OF_SCOPE in topics and "emergency" in topics and "sarahs_law.process" in topics


def test_the_checks_catch_what_they_should():
    """The helpers the runner uses reject what they must (so a dialogue check can fail)."""
    question = checklist_items()["km_schedule_one"]["question"]
    summary = f"Summary: Recognition checklist (Kent and Medway)\n- {question} Not known\n\nSave this?"
    assert recorded_as(summary, "km_schedule_one", "not_known")
    assert not recorded_as(summary, "km_schedule_one", "no"), "'No' must not match 'Not known'"
    assert not recorded_as(summary, "km_schedule_one", "yes")
    assert not recorded_as(f"- {question} No", "km_schedule_one", "not_known")
    assert shows_stage(summary, "summary") and not shows_stage(summary, "role")
    bad = Dialogue(
        id="Bad Id",
        why="two\nlines",
        theme="x",
        turns=[
            {"user": False, "topic": "no.such.topic", "recorded": {"no_such_item": "yes"}},
            {"fill": "no", "until": "nowhere"},
            {"user": "hi", "asks": "km_schedule_one", "recorded": {"km_schedule_one": "maybe"}},
        ],
    )
    found = "\n".join(problems(bad))
    for expected in (
        "snake_case",
        "one line",
        "`user` must be text",
        "no.such.topic",
        "no_such_item",
        "`until` must be",
        "no answer value 'maybe'",
    ):
        assert expected in found, expected
    assert "asserts none of" in "\n".join(problems(Dialogue(id="x", why="y", theme="t", turns=[{"user": "hi"}])))

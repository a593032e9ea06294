"""The procedure content: valid, complete against the contract, and honest about its sources."""

import pytest
import yaml
from pydantic import ValidationError

from sga.content import PARTNERSHIPS, PROCEDURES_DIR, load_content
from tests.conftest import CONTRACT_PATH

CONTRACT = CONTRACT_PATH


@pytest.fixture(scope="module")
def contract():
    assert CONTRACT.exists(), f"the topic contract {CONTRACT} is missing (shared/ sits beside the repo)"
    return {t["id"]: t for t in yaml.safe_load(CONTRACT.read_text())["topics"]}


def test_content_loads_and_validates():
    data = load_content()
    assert len(data.topics) >= 45


def test_every_contract_topic_has_content(contract):
    data = load_content()
    assert set(contract) == set(data.topics), "catalogue and ../shared/topics.yml differ"
    for topic_id, spec in contract.items():
        assert data.topic(topic_id).local == bool(spec.get("local")), topic_id
        for partnership in PARTNERSHIPS:
            assert data.sources_for(topic_id, partnership), f"{topic_id} has no answer for {partnership}"


def test_local_topics_have_both_partnerships(contract):
    data = load_content()
    for topic_id, spec in contract.items():
        if spec.get("local"):
            for partnership in PARTNERSHIPS:
                assert topic_id in data.documents[partnership].entries, f"{topic_id} lacks {partnership}"


def test_a_local_topic_missing_a_partnership_is_rejected(tmp_path):
    for path in PROCEDURES_DIR.glob("*.yml"):
        (tmp_path / path.name).write_text(path.read_text())
    west = yaml.safe_load((tmp_path / "west_midlands.yml").read_text())
    del west["entries"]["mappa.referral"]
    (tmp_path / "west_midlands.yml").write_text(yaml.safe_dump(west))
    with pytest.raises(ValidationError, match="mappa.referral"):
        load_content(tmp_path)


def test_unconfirmed_facts_stay_out():
    data = load_content()
    text = " ".join(f"{e.short} {e.detail or ''}" for d in data.documents.values() for e in d.entries.values()).lower()
    assert "35 days" not in text and "35-day" not in text, "Sarah's Law 35-day figure is unconfirmed"
    assert "unconfirmed" not in text


def test_mappa_category_four_is_included():
    data = load_content()
    text = " ".join(
        d.entries["mappa.categories"].short for d in data.documents.values() if "mappa.categories" in d.entries
    )
    assert "Category 4" in text

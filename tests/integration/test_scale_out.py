"""Scale-out as `make soak` runs it, small enough for `make test`: two Rasa servers and two action
servers behind local balancers, sharing the PostgreSQL tracker store and the Redis lock store.
Turns of each conversation alternate between the Rasa servers; one outcome record per completed
checklist; and when one Rasa server dies, conversations carry on through the other."""

import os
import signal

import pytest

from rasa_addons.patches import ACTION_SERVER_DOWN, LOCK_STORE_DOWN
from sga_tools.cluster import Cluster
from tests.conftest import ARTIFACTS, MODEL, Conversation
from tests.databases import require_postgres, temporary_postgres_database
from tests.soak import SERVICE_DOWN, run_soak, soak_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    require_postgres()
    tmp = tmp_path_factory.mktemp("cluster")
    with temporary_postgres_database() as tracker_url, temporary_postgres_database() as outcomes_url:
        running = Cluster(
            soak_settings(tmp, tracker_url, outcomes_url), model=MODEL, log_dir=ARTIFACTS / "logs" / "cluster"
        ).start()
        yield running
        running.stop()


def test_the_soak_driver_recognises_the_service_down_replies():
    assert ACTION_SERVER_DOWN.startswith(SERVICE_DOWN[0]) and LOCK_STORE_DOWN.startswith(SERVICE_DOWN[1])


def test_conversations_alternating_between_two_rasa_servers_stay_consistent(cluster):
    report = run_soak(cluster, conversations=8, turns=20, deadline_s=600)
    print("\n".join(report.lines()))
    assert report.errors == []
    assert report.alternated == 1.0, "each turn should be served by the other Rasa server"
    assert report.checklists_completed == 4
    assert report.records == 4 and report.records_matching
    assert report.passed


def test_a_conversation_carries_on_when_one_rasa_server_dies(cluster):
    conversation = Conversation(cluster)
    conversation.say("I work in Birmingham")
    conversation.say("start the recognition checklist")
    assert "Why is this asked?" in [b["title"] for b in conversation.buttons]
    first_question = conversation.text

    rasa_one = next(p for p in cluster.processes if "sga_tools.runner" in " ".join(map(str, p.args)))
    os.killpg(rasa_one.pid, signal.SIGKILL)
    rasa_one.wait(timeout=30)

    for _ in range(3):  # the balancer sends every turn to the server that is left
        conversation.click("Yes")
        assert conversation.text.strip() and conversation.text != first_question
    assert not any(down in conversation.text for down in SERVICE_DOWN)
    assert conversation.slot("partnership") == "west_midlands"
    assert conversation.slot("checklist_state") is not None

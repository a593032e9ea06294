"""Redis down with the production endpoints (PostgreSQL tracker store, Redis lock store): the Rasa
server starts and reports healthy, each message gets a clear reply instead of an empty one, nothing
in the conversation changes, and once Redis is back the same server carries on without a restart.
The machine's shared Redis is never touched: this stack's Redis is a private one on a free port."""

import shutil
import subprocess
import time

import pytest
import requests

from rasa_addons.patches import LOCK_STORE_DOWN
from tests.conftest import Conversation, free_port, stack_settings, start_stack

pytestmark = pytest.mark.integration


def start_private_redis(port, tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    process = subprocess.Popen(
        [binary, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ping = subprocess.run(["redis-cli", "-p", port, "ping"], capture_output=True, text=True)
        if ping.stdout.strip() == "PONG":
            return process
        time.sleep(0.2)
    process.kill()
    pytest.fail("the private redis-server did not start")


def test_redis_down_with_the_production_endpoints(tmp_path, postgres_database):
    redis_port = free_port()  # nothing listens here yet
    settings = stack_settings(
        tmp_path,
        database_url=postgres_database,
        tracker_store_url=postgres_database,
        rasa_endpoints="bot/endpoints.production.yml",
        redis_port=redis_port,
    )
    stack = start_stack(settings, "reliability-redis")
    redis = None
    try:
        log = stack.log_dir / "rasa.log"
        offset = len(log.read_text(errors="replace"))
        # Rasa's health endpoint does not look at Redis: it stays green (monitor Redis itself).
        assert (
            requests.get(f"{stack.rasa_url}/status", params={"token": settings.rasa_auth_token}, timeout=10).status_code
            == 200
        )

        conversation = Conversation(stack)
        start = time.monotonic()
        conversation.say("what are the MAPPA levels?")
        assert time.monotonic() - start < 10
        assert conversation.text == LOCK_STORE_DOWN
        events = requests.get(
            f"{stack.rasa_url}/conversations/{conversation.sender}/tracker",
            params={"token": settings.rasa_auth_token},
            timeout=30,
        ).json()["events"]
        assert not any(e.get("event") == "user" for e in events)  # the message was not processed
        written = log.read_text(errors="replace")[offset:]
        assert "Lock store unavailable" in written and "Traceback" not in written
        assert "MAPPA levels" not in written  # the message text stays out of the log

        redis = start_private_redis(redis_port, tmp_path)
        conversation.say("what are the MAPPA levels?")
        assert "Level 3" in conversation.text  # the same Rasa server, reconnected by itself
        assert conversation.slot("topic") == "mappa.levels"
    finally:
        stack.stop()
        if redis is not None:
            redis.terminate()
            redis.wait(timeout=20)

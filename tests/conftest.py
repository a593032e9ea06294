"""Shared fixtures: a real assistant (trained model, Rasa server, action server) on free local ports.

The integration tests talk to it over HTTP exactly as a channel would. Each stack gets its own
databases in a temporary folder (or a fresh PostgreSQL database), so tests never touch local data.
Server logs go to tests/artifacts/logs/ for when something fails.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List

import pytest
import requests

from sga.settings import PROJECT_ROOT, Settings
from sga_tools.runner import Stack, free_port
from tests.databases import require_postgres, temporary_postgres_database

MODEL = PROJECT_ROOT / "models" / "sga.tar.gz"
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
SHARED = PROJECT_ROOT.parent / "shared"
CONTRACT_PATH = SHARED / "topics.yml"


def stack_settings(tmp: Path, **overrides: str) -> Settings:
    settings = Settings(
        database_url=f"sqlite:///{tmp / 'outcomes.db'}",
        spool_dir=str(tmp / "spool"),
        conversation_salt="test-salt-" + secrets.token_hex(16),
        action_server_host="127.0.0.1",
        action_server_port=free_port(),
        action_server_token=secrets.token_urlsafe(16),
        rasa_host="127.0.0.1",
        rasa_port=free_port(),
        rasa_auth_token=secrets.token_urlsafe(16),
        rasa_cors="http://localhost:8080",
        rasa_endpoints="bot/endpoints.yml",
        tracker_store_url=f"sqlite:///{tmp / 'tracker.db'}",
        redis_host="127.0.0.1",
        redis_port="6379",
        redis_db="0",
        redis_key_prefix="sgatest" + uuid.uuid4().hex[:8],  # Rasa ignores a prefix that is not alphanumeric
        log_level="INFO",
        rate_limit_per_sender="60/60",
        # Above what one test client can send in a minute now that a turn takes ~20 ms (2000/60 was
        # reached by the conversation tests, all from 127.0.0.1, once the server got faster).
        rate_limit_per_address="6000/60",
        webchat_host="127.0.0.1",
        webchat_port=free_port(),
        # A developer's own TEAMS_* settings must not switch Teams on in test stacks.
        teams_app_id="",
        teams_app_password="",
        teams_tenant_id="",
        teams_openid_config_url="",
        teams_token_url="",
    )
    return replace(settings, **overrides)


REST_SENDER = re.compile(r"[A-Za-z0-9_-]{16,64}")


class Conversation:
    """One user talking to the assistant over the REST channel.

    `client_id` is what the client posts as `sender` (16-64 letters, digits, '-', '_'); `sender` is
    the conversation's id in Rasa (tracker API, tracker store, lock store): the REST channel keeps
    REST conversations apart from the other channels' by prefixing "rest-".
    """

    def __init__(self, stack: Stack, sender: str | None = None):
        self.stack = stack
        self.client_id = sender or "test-" + uuid.uuid4().hex[:16]
        if not REST_SENDER.fullmatch(self.client_id):
            raise ValueError(f"REST senders are 16-64 letters, digits, '-' or '_': {self.client_id!r}")
        self.sender = "rest-" + self.client_id
        self.replies: List[Dict[str, Any]] = []

    def say(self, message: str) -> List[Dict[str, Any]]:
        response = requests.post(
            f"{self.stack.rasa_url}/webhooks/rest/webhook",
            json={"sender": self.client_id, "message": message},
            timeout=60,
        )
        response.raise_for_status()
        self.replies = response.json()
        return self.replies

    @property
    def text(self) -> str:
        return "\n".join(r.get("text", "") for r in self.replies)

    @property
    def buttons(self) -> List[Dict[str, str]]:
        return [b for r in self.replies for b in (r.get("buttons") or [])]

    def click(self, title: str) -> List[Dict[str, Any]]:
        """Press the button with this title in the last reply: its payload is sent, as the widget does."""
        payloads = [b["payload"] for b in self.buttons if b.get("title") == title]
        assert payloads, f"no button {title!r} in: {[b.get('title') for b in self.buttons]}"
        return self.say(payloads[0])

    def tracker(self) -> Dict[str, Any]:
        response = requests.get(
            f"{self.stack.rasa_url}/conversations/{self.sender}/tracker",
            params={"token": self.stack.settings.rasa_auth_token},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    def slot(self, name: str) -> Any:
        return self.tracker()["slots"].get(name)


def start_stack(settings: Settings, name: str, webchat: bool = False) -> Stack:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make model` (make test does)")
    return Stack(settings, model=MODEL, log_dir=ARTIFACTS / "logs" / name, webchat=webchat).start()


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The default wiring: SQLite tracker store and outcome log, in-memory lock store."""
    running = start_stack(stack_settings(tmp_path_factory.mktemp("stack")), "sqlite")
    yield running
    running.stop()


@pytest.fixture
def conversation(stack) -> Conversation:
    return Conversation(stack)


@pytest.fixture(scope="session")
def postgres_database():
    """A fresh PostgreSQL database for this test run, dropped afterwards."""
    require_postgres()
    with temporary_postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def production_stack(tmp_path_factory, postgres_database):
    """Production wiring: PostgreSQL tracker store and outcome log, Redis lock store."""
    settings = stack_settings(
        tmp_path_factory.mktemp("prod"),
        database_url=postgres_database,
        tracker_store_url=postgres_database,
        rasa_endpoints="bot/endpoints.production.yml",
    )
    running = start_stack(settings, "postgres")
    yield running
    running.stop()


# Reports that tests hand to the terminal summary, so `make test` prints them even when they pass.
SUMMARY_REPORTS: List[str] = []


def pytest_terminal_summary(terminalreporter):
    for report in SUMMARY_REPORTS:
        terminalreporter.write_sep("-", "report")
        terminalreporter.write_line(report)

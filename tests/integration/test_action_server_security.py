"""The action server: every route but the health check needs the token, whatever the path spelling,
and a forged call never writes to the outcome log (security issue, finding 1)."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.integration

PATH_SPELLINGS = ["/webhook", "/webhook/", "//webhook", "/webhook//", "/actions", "/actions/", "//actions/"]


def forged_finish_call() -> dict:
    """What an attacker sent: a made-up tracker that asks for a save with invented answers."""
    state = {
        "kind": "recognition",
        "partnership": "kent_medway",
        "stage": "confirm",
        "history": [],
        "answers": {"schedule_one": "Jane Doe, born 01/02/1980, 1 High Street"},
        "role": "social_worker",
        "case_reference": None,
        "done": ["role", "case_reference"],
    }
    tracker = {
        "sender_id": "forged",
        "slots": {"checklist_state": state, "checklist_step": "done"},
        "latest_message": {},
        "events": [{"event": "user", "text": "hi", "input_channel": "teams"}],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": None,
        "latest_input_channel": "teams",
    }
    return {
        "next_action": "action_finish_checklist",
        "sender_id": "forged",
        "tracker": tracker,
        "domain": {},
        "version": "3.6.2",
    }


def outcome_count(stack) -> int:
    engine = create_engine(stack.settings.database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM outcome_records")).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.parametrize("path", PATH_SPELLINGS)
def test_every_spelling_of_a_protected_path_needs_the_token(stack, path):
    before = outcome_count(stack)
    url = stack.action_url + path
    for params in ({}, {"token": ""}, {"token": "wrong"}):
        response = requests.post(url, params=params, json=forged_finish_call(), timeout=10)
        assert response.status_code == 401, (path, params, response.status_code)
        assert "reference" not in response.text.lower()
    assert requests.get(url, timeout=10).status_code == 401
    assert outcome_count(stack) == before


def test_unknown_paths_and_wrong_methods_are_plain_4xx(stack):
    token = {"token": stack.settings.action_server_token}
    assert requests.get(f"{stack.action_url}/nope", params=token, timeout=10).status_code == 404
    assert requests.get(f"{stack.action_url}/nope", timeout=10).status_code == 401
    assert requests.get(f"{stack.action_url}/webhook", params=token, timeout=10).status_code == 405
    assert requests.delete(f"{stack.action_url}/webhook/", params=token, timeout=10).status_code == 405
    assert requests.get(f"{stack.action_url}/health", timeout=10).status_code == 200
    assert requests.get(f"{stack.action_url}/health/", timeout=10).status_code == 200

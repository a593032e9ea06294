"""Property tests (hypothesis) for the Teams webhook (security issue, "Fuzzing"): signed or not,
whatever the activity holds, never a 5xx and never an outcome record written.

Uses test_teams.py's fake Bot Framework (connector) and Teams-enabled stack."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.integration.test_security_fuzz import FUZZ, json_values, messages, outcome_rows
from tests.integration.test_teams import connector, send, teams_activity, teams_stack  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration

FIELDS = [
    "type",
    "text",
    "value",
    "from",
    "conversation",
    "serviceUrl",
    "channelData",
    "recipient",
    "id",
    "entities",
    "attachments",
]


@pytest.fixture(scope="module")
def no_tracebacks(teams_stack):  # noqa: F811
    """Teams messages are handled after the 200: a failure there would only show in the log."""
    log = teams_stack.log_dir / "rasa.log"
    start = log.stat().st_size
    yield
    time.sleep(2)  # the last activities' handling
    with open(log, "rb") as text:
        text.seek(start)
        logged = text.read().decode("utf-8", errors="replace")
    assert "Traceback" not in logged, logged[logged.index("Traceback") - 300 :][:2000]


@settings(FUZZ, max_examples=min(FUZZ.max_examples, 30))
@given(
    text=st.one_of(st.none(), messages),
    value=st.one_of(st.none(), json_values),
    changes=st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=3),
    kind=st.sampled_from(["message", "conversationUpdate", "invoke", "typing", ""]),
    auth=st.sampled_from(["signed", "none", "garbage", "unsigned"]),
    raw=st.one_of(st.none(), st.binary(max_size=80)),
)
def test_teams_webhook_never_fails(
    teams_stack,
    connector,
    no_tracebacks,
    text,
    value,
    changes,
    kind,
    auth,  # noqa: F811
    raw,
):
    before = len(outcome_rows(teams_stack))
    activity = teams_activity(connector, text if isinstance(text, str) else None, kind=kind, value=value)
    if not isinstance(text, str) and text is not None:
        activity["text"] = text
    activity.update(changes)
    token = {
        "signed": connector.sign(),
        "none": None,
        "garbage": "not.a.jwt",
        "unsigned": connector.sign()[:-10] + "A" * 10,
    }[auth]
    response = send(teams_stack, activity, token=token, body=raw if raw is not None else json.dumps(activity).encode())
    assert response.status_code < 500, (response.status_code, response.text[:200])
    if auth != "signed":
        assert response.status_code == 401
    assert len(outcome_rows(teams_stack)) == before

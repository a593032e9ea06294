"""Property tests (hypothesis) for the REST webhook and the action server (security issue, "Fuzzing"):
whatever arrives, never a 5xx, and never an outcome record written or changed by a forged call.

Bounded (max_examples) so that `make test` stays quick; every example is a real HTTP call to the
running stack. SGA_FUZZ_EXAMPLES=500 runs more examples (for a deeper look before a release)."""

from __future__ import annotations

import json
import os
from typing import Any, List

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from sga.checklists.engine import Stage
from sga.checklists.model import NO, NOT_KNOWN, YES, checklists
from sga.scenarios import scenarios

pytestmark = pytest.mark.integration

FUZZ = settings(
    max_examples=int(os.environ.get("SGA_FUZZ_EXAMPLES", "50")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
KINDS = sorted(checklists())
SCENARIOS = sorted(scenarios())
PARTNERSHIPS = ["kent_medway", "west_midlands"]
INTENTS = [
    "inform_partnership",
    "affirm",
    "deny",
    "answer_not_known",
    "choose_option",
    "skip",
    "start_checklist",
    "greet",
    "ask_mappa_levels",
    "no_such_intent",
]
ACTIONS = [
    "action_finish_checklist",
    "action_start_checklist",
    "action_ask_checklist_step",
    "action_checklist_back",
    "action_checklist_stop",
    "action_checklist_why",
    "action_start_scenario",
    "action_answer_topic",
    "action_show_capabilities",
    "action_search_fallback",
    "action_validate_slot_mappings",
    "no_such_action",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
good_senders = st.from_regex(r"[A-Za-z0-9_-]{16,64}", fullmatch=True)
payloads = st.builds(
    lambda intent, tail: "/" + intent + tail,
    st.sampled_from(INTENTS),
    st.one_of(st.just(""), json_values.map(json.dumps), st.text(max_size=40)),
)
messages = st.one_of(
    st.text(max_size=200),
    payloads,
    json_values,
    st.just("\r\n" * 50),
    st.just("/inform_partnership{" + "[" * 2000 + "}"),
)


def outcome_rows(stack) -> List[Any]:
    engine = create_engine(stack.settings.database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text("SELECT * FROM outcome_records ORDER BY 1"))]
    finally:
        engine.dispose()


RECORDS_AT_START: dict = {}


@pytest.fixture(scope="module")
def records_untouched(stack):
    """The outcome log is the same after the fuzzing as before it: nothing written, nothing changed."""
    before = outcome_rows(stack)
    RECORDS_AT_START[stack.settings.database_url] = len(before)
    yield
    assert outcome_rows(stack) == before


@FUZZ
@given(
    body=st.one_of(
        st.fixed_dictionaries(
            {"sender": st.one_of(good_senders, st.text(max_size=70)), "message": messages},
            optional={"metadata": json_values, "input_channel": st.text(max_size=20)},
        ),
        json_values,
    ),
    raw=st.one_of(st.none(), st.binary(max_size=200)),
    content_type=st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", None]),
)
def test_rest_webhook_never_fails(stack, records_untouched, body, raw, content_type):
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {"Content-Type": content_type} if content_type else {}
    response = requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", data=data, headers=headers, timeout=60)
    assert response.status_code < 500, (response.status_code, response.text[:200])
    if response.status_code == 200:
        replies = response.json()
        assert isinstance(replies, list) and all(isinstance(r, dict) for r in replies)
    else:
        assert response.json()["error"]


# --- the action server ----------------------------------------------------------------------------

DEFECTS = ["wrong_version", "not_confirmed", "missing_answer", "bad_value", "bad_channel", "exercise", "not_done"]


@st.composite
def forged_states(draw):
    """A checklist state with at least one defect the engine could not have produced (or that is
    incomplete), and the tracker fields around it."""
    kind = draw(st.sampled_from(KINDS))
    checklist = checklists()[kind]
    partnership = draw(st.sampled_from(PARTNERSHIPS))
    items = checklist.items_for(partnership)
    defects = draw(st.sets(st.sampled_from(DEFECTS), min_size=1))
    answers = {
        i.id: draw(st.sampled_from([o.value for o in i.answer_options()] or [YES, NO, NOT_KNOWN])) for i in items
    }
    if "missing_answer" in defects and answers:
        for item_id in draw(st.sets(st.sampled_from(sorted(answers)), min_size=1)):
            del answers[item_id]
    if "bad_value" in defects and answers:
        answers[draw(st.sampled_from(sorted(answers)))] = draw(
            st.sampled_from(["Jane Doe, born 01/02/1980, 1 High Street", "met", "", "yes please"])
        )
    state = {
        "kind": kind,
        "version": checklist.version + ("-forged" if "wrong_version" in defects else ""),
        "stage": Stage.ITEMS.value if "not_confirmed" in defects else Stage.CONFIRM.value,
        "answers": answers,
        "history": list(answers),
        "case_reference": None,
        "case_reference_done": True,
        "exercise": {"scenario": draw(st.sampled_from(SCENARIOS + ["s1"])), "partnership": partnership}
        if "exercise" in defects
        else None,
    }
    channel = (
        draw(st.sampled_from(["evil", "botframework", "", None]))
        if "bad_channel" in defects
        else draw(st.sampled_from(["rest", "socketio", "teams"]))
    )
    step = draw(st.sampled_from([None, "items", "x"])) if "not_done" in defects else "done"
    return state, partnership, channel, step


def action_call(next_action: str, state: Any, partnership: Any, channel: Any, step: Any, role: Any) -> dict:
    sender = "rest-forged-sender-0001"
    tracker = {
        "sender_id": sender,
        "slots": {"checklist_state": state, "checklist_step": step, "partnership": partnership, "role": role},
        "latest_message": {"text": "yes", "intent": {"name": "affirm"}, "entities": []},
        "events": [{"event": "user", "text": "yes", "input_channel": channel}],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": None,
        "latest_input_channel": channel,
    }
    return {"next_action": next_action, "sender_id": sender, "tracker": tracker, "domain": {}, "version": "3.6.2"}


@FUZZ
@given(
    forged=forged_states(),
    next_action=st.sampled_from(ACTIONS),
    role=st.sampled_from([None, "social_worker", "police", "admin", "x" * 300]),
    token=st.sampled_from(["right", None, "", "wrong"]),
    path=st.sampled_from(["/webhook", "/webhook/", "//webhook", "/actions", "/nope"]),
)
# Found by this test: a forged exercise naming an unknown scenario made action_finish_checklist fail (500).
@example(
    forged=(
        {
            "kind": KINDS[0],
            "version": checklists()[KINDS[0]].version,
            "stage": "confirm",
            "answers": {},
            "history": [],
            "exercise": {"scenario": "s1", "partnership": "kent_medway"},
        },
        "kent_medway",
        "rest",
        "done",
    ),
    next_action="action_finish_checklist",
    role=None,
    token="right",
    path="/webhook",
)
def test_action_server_never_saves_a_forged_checklist(stack, records_untouched, forged, next_action, role, token, path):
    state, partnership, channel, step = forged
    params = {} if token is None else {"token": stack.settings.action_server_token if token == "right" else token}
    call = action_call(next_action, state, partnership, channel, step, role)
    response = requests.post(stack.action_url + path, params=params, json=call, timeout=60)
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if token != "right":
        assert response.status_code == 401
    assert len(outcome_rows(stack)) == RECORDS_AT_START[stack.settings.database_url], "a forged call wrote a record"


@FUZZ
@given(
    state=json_values,
    slots=st.dictionaries(st.text(max_size=20), json_values, max_size=5),
    next_action=st.sampled_from(ACTIONS),
    body_kind=st.sampled_from(["call", "junk", "bytes"]),
    junk=json_values,
    raw=st.binary(max_size=100),
)
def test_action_server_survives_junk(stack, records_untouched, state, slots, next_action, body_kind, junk, raw):
    params = {"token": stack.settings.action_server_token}
    if body_kind == "call":
        call = action_call(next_action, state, "kent_medway", "rest", "done", None)
        call["tracker"]["slots"].update(slots)
        data = json.dumps(call).encode()
    else:
        data = json.dumps(junk).encode() if body_kind == "junk" else raw
    response = requests.post(
        f"{stack.action_url}/webhook",
        params=params,
        data=data,
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code < 500, (response.status_code, response.text[:300])


# --- socket.io events -------------------------------------------------------------------------------


@settings(FUZZ, max_examples=min(FUZZ.max_examples, 25))
@given(
    events=st.lists(
        st.tuples(
            st.sampled_from(["session_request", "user_uttered", "no_such_event"]),
            st.one_of(
                json_values,
                st.fixed_dictionaries(
                    {"message": messages}, optional={"session_id": st.text(max_size=70), "metadata": json_values}
                ),
            ),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_socketio_events_never_break_the_channel(stack, records_untouched, events):
    """Whatever a client emits, its connection keeps working and the next real question is answered."""
    import asyncio

    from tests.integration.test_security_socketio import Client

    async def scenario():
        client = await Client(stack.rasa_url).connect()
        for name, data in events:
            await client.sio.emit(name, data)
        if client.session_id is not None and isinstance(client.session_id, str):
            await client.sio.emit("session_request", {"session_id": client.session_id})
        await asyncio.sleep(0.3)  # replies to the odd events
        client.replies.clear()
        await client.sio.emit(
            "user_uttered", {"message": "what are the MAPPA levels?", "session_id": client.session_id}
        )
        deadline = asyncio.get_running_loop().time() + 30
        while (
            not any("MAPPA" in t for t in [r.get("text", "") for r in client.replies if isinstance(r, dict)])
            and asyncio.get_running_loop().time() < deadline
        ):
            await asyncio.sleep(0.05)
        await client.close(graceful=False)
        return [r.get("text", "") for r in client.replies if isinstance(r, dict)]

    answer = asyncio.run(scenario())
    assert any("MAPPA" in text for text in answer), answer

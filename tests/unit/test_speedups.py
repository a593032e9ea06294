"""The Rasa server's speed-ups (rasa_addons/speedups.py) are in place and change nothing:

- slot validation skipped only where the real action server's ValidationAction (actions/slots.py,
  run in-process here) would return exactly what Rasa then ends with;
- action-server calls on a kept-open connection, with the same URL, token, body and errors;
- the SQLite tracker store on pooled WAL connections stores and reads back the same conversation.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import types

import pytest
from aiohttp import web
from rasa.core.actions.action import ActionExtractSlots, RemoteAction
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
    deserialise_events,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import ClientResponseError, EndpointConfig
from rasa_sdk.executor import ActionExecutor

import rasa_addons  # noqa: F401  (applies the patches, as loading a channel does)
from actions.slots import ValidateSlotMappings
from rasa_addons import speedups
from sga.settings import PROJECT_ROOT

DOMAIN = Domain.load(str(PROJECT_ROOT / "bot" / "domain"))


def test_the_speedups_are_in_place():
    import rasa.core.run

    assert getattr(ActionExtractSlots._execute_validation_action, speedups.FLAG)
    assert EndpointConfig.request is speedups.request
    assert getattr(rasa.core.run.close_resources, speedups.FLAG)
    assert getattr(SQLTrackerStore.__init__, speedups.FLAG)
    assert getattr(SQLTrackerStore._retrieve, speedups.FLAG)
    assert getattr(SQLTrackerStore._additional_events, speedups.FLAG)
    assert getattr(Event.resolve_by_type, speedups.FLAG)
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier

    assert getattr(LogisticRegressionClassifier.process, speedups.FLAG)


def test_event_types_resolve_as_before():
    import rasa.shared.utils.common

    original = Event.resolve_by_type.__wrapped__
    names = {cls.type_name for cls in rasa.shared.utils.common.all_subclasses(Event)}
    for name in sorted(names) * 2:  # the second time from the table
        assert Event.resolve_by_type(name) is original(name)
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", SlotSet) is SlotSet
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")


def test_the_slots_skipped_are_exactly_those_the_action_server_does_not_validate():
    validated = {name[len("validate_") :] for name in dir(ValidateSlotMappings) if name.startswith("validate_")}
    assert validated == speedups.VALIDATED_SLOTS
    assert speedups.ACTION_VALIDATE_SLOT_MAPPINGS in DOMAIN.user_actions


# --- slot validation: the same events with and without the call ------------------------------------


def user(intent, *entities, text="message"):
    return UserUttered(
        text,
        intent={"name": intent, "confidence": 1.0},
        entities=[{"entity": e, "value": v, "start": i, "end": i + 1} for i, (e, v) in enumerate(entities)],
    )


START = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
IN_FORM = [
    *START,
    user("start_checklist", ("checklist", "recognition")),
    ActionExecuted("checklist_form"),
    ActiveLoop("checklist_form"),
    SlotSet("requested_slot", "checklist_step"),
    ActionExecuted("action_listen"),
]
# (events, whether the action server is called)
CASES = {
    "no slot from the message": ([*START, user("greet")], False),
    "a global slot without a validator": ([*START, user("inform_other_area", ("other_area", "norfolk"))], False),
    "the form's own slot": ([*IN_FORM, user("affirm", text="yes")], False),
    "a global slot and the form's slot": ([*IN_FORM, user("affirm", ("other_area", "fife"), text="yes fife")], False),
    "slots set just before, as at form activation": (
        [
            *START,
            user("start_checklist"),
            ActionExecuted("action_start_checklist"),
            SlotSet("checklist_state", {"k": 1}),
        ],
        False,
    ),
    "a partnership": ([*START, user("inform_partnership", ("partnership", "kent_medway"))], True),
    "two partnerships": (
        [*START, user("inform_partnership", ("partnership", "west_midlands"), ("partnership", "kent_medway"))],
        True,
    ),
    "a partnership that does not exist": ([*START, user("inform_partnership", ("partnership", "narnia"))], True),
    "a role": ([*START, user("inform_role", ("role", "social_worker"))], True),
    "a partnership set just before": (
        [*START, user("start_checklist"), ActionExecuted("action_x"), SlotSet("partnership", "kent_medway")],
        True,
    ),
}


@pytest.fixture
def action_server_in_process(monkeypatch):
    """ActionExtractSlots' remote call answered by the real ValidateSlotMappings, in this process,
    through the JSON Rasa would send and the events it would read back."""
    executor = ActionExecutor()
    executor.register_action(ValidateSlotMappings)
    calls = []

    async def run_custom_action(self, custom_action, output_channel, nlg, tracker, domain):
        calls.append(custom_action)
        call = json.loads(json.dumps(RemoteAction(custom_action, None)._action_call_format(tracker, domain)))
        response = await executor.run(call)
        bot = [BotUttered(r.get("text")) for r in response["responses"]]
        events = [e for e in deserialise_events(response["events"]) if isinstance(e, SlotSet)]
        return bot + events

    monkeypatch.setattr(ActionExtractSlots, "_run_custom_action", run_custom_action)
    return calls


def extract(events):
    tracker = DialogueStateTracker.from_events("speedups-test", events, slots=DOMAIN.slots)
    result = asyncio.run(ActionExtractSlots(None).run(None, None, tracker, DOMAIN))
    return [
        (type(e).__name__, getattr(e, "key", None), getattr(e, "value", None), getattr(e, "text", None)) for e in result
    ]


@pytest.mark.parametrize("case", CASES)
def test_slot_validation_gives_the_same_events_with_or_without_the_call(case, action_server_in_process, monkeypatch):
    events, called = CASES[case]
    patched = extract(events)
    patched_calls = list(action_server_in_process)
    action_server_in_process.clear()
    original = ActionExtractSlots._execute_validation_action.__wrapped__
    monkeypatch.setattr(ActionExtractSlots, "_execute_validation_action", original)
    assert extract(events) == patched
    assert action_server_in_process == [speedups.ACTION_VALIDATE_SLOT_MAPPINGS], "Rasa itself always calls"
    assert patched_calls == ([speedups.ACTION_VALIDATE_SLOT_MAPPINGS] if called else [])


def test_the_cases_cover_real_changes():
    """The comparison above is not vacuous: some cases give events, one gives a message."""
    assert extract(CASES["the form's own slot"][0]) == [("SlotSet", "checklist_step", "yes", None)]
    assert extract(CASES["a global slot and the form's slot"][0])[0][:2] == ("SlotSet", "other_area")


# --- kept-open connections --------------------------------------------------------------------------


def test_action_calls_reuse_one_connection_and_keep_url_token_body_and_errors():
    seen = []

    async def handler(request):
        seen.append(
            (
                request.path,
                request.query.get("token"),
                await request.json(),
                request.transport.get_extra_info("peername"),
            )
        )
        if request.path == "/fail":
            return web.json_response({"error": "no"}, status=404)
        return web.json_response({"events": [], "responses": []})

    async def scenario():
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", token="s3cret/+")
        body = {"tracker": {"text": "a/b é ✓", "n": 1.5, "big": 2**70}, "next_action": "x"}
        try:
            assert await endpoint.request(json=body, method="post") == {"events": [], "responses": []}
            assert await endpoint.request(json=body, method="post") == {"events": [], "responses": []}
            with pytest.raises(ClientResponseError) as refused:
                await endpoint.request(json=body, method="post", subpath="../fail")
            assert refused.value.status == 404
        finally:
            await speedups.close_sessions()
            await runner.cleanup()
        return body

    body = asyncio.run(scenario())
    assert [s[0] for s in seen] == ["/webhook", "/webhook", "/fail"]
    assert {s[1] for s in seen} == {"s3cret/+"}
    assert all(s[2] == body for s in seen)
    assert len({s[3] for s in seen}) == 1, "one connection for all three calls"


def test_request_bodies_encode_to_the_same_json():
    call = RemoteAction("action_answer_topic", None)._action_call_format(
        DialogueStateTracker.from_events(
            "t", [*START, user("greet", text='héllo "you" / </script>')], slots=DOMAIN.slots
        ),
        DOMAIN,
    )
    assert json.loads(speedups.dumps(call)) == json.loads(json.dumps(call))
    odd = {"big": 2**70, "small": 1e-300, "nested": [{"a": None, "b": True}], "text": "\u2028 \\ \x00"}
    assert json.loads(speedups.dumps(odd)) == odd


# --- SQLite tracker store ---------------------------------------------------------------------------


def stores(fast_url, plain_url):
    """The tracker store as the Rasa server now has it, and one with Rasa's own engine and queries."""
    store = SQLTrackerStore(DOMAIN, host=fast_url, db="unused")
    plain = SQLTrackerStore.__new__(SQLTrackerStore)
    SQLTrackerStore.__init__.__wrapped__(plain, DOMAIN, host=plain_url, db="unused")
    plain._retrieve = types.MethodType(SQLTrackerStore._retrieve.__wrapped__, plain)
    plain._additional_events = types.MethodType(SQLTrackerStore._additional_events.__wrapped__, plain)
    return store, plain


def same_conversations(store, plain):
    """Save the same conversations (two senders, a second session) in both; every read and count agrees."""
    events = [*START, user("inform_partnership", ("partnership", "kent_medway")), SlotSet("partnership", "kent_medway")]
    tracker = DialogueStateTracker.from_events("store-test", events, slots=DOMAIN.slots)
    for each in (store, plain):
        asyncio.run(each.save(tracker))
    tracker.update(ActionExecuted("action_listen"))
    for each in (store, plain):
        asyncio.run(each.save(tracker))
    # A new session: both count and read only the events after its start.
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(user("greet"))
    for each in (store, plain):
        asyncio.run(each.save(tracker))
    with store.session_scope() as session:
        fast_new = list(store._additional_events(session, tracker))
    with plain.session_scope() as session:
        plain_new = list(plain._additional_events(session, tracker))
    assert fast_new == plain_new
    other = DialogueStateTracker.from_events("store-other", [*START, user("greet")], slots=DOMAIN.slots)
    for each in (store, plain):
        asyncio.run(each.save(other))
    for sender in ("store-test", "store-other", "nobody"):
        for read in ("retrieve", "retrieve_full_tracker"):
            fast, slow = (asyncio.run(getattr(each, read)(sender)) for each in (store, plain))
            if slow is None:
                assert fast is None
            else:
                assert [e.as_dict() for e in fast.events] == [e.as_dict() for e in slow.events]
    latest = asyncio.run(store.retrieve("store-test"))
    assert latest.latest_message.intent.get("name") == "greet"  # the new session's message
    assert len(asyncio.run(store.retrieve_full_tracker("store-test")).events) > len(latest.events)


def test_the_sqlite_tracker_store_pools_wal_connections_and_keeps_conversations(tmp_path):
    from sqlalchemy.pool import NullPool, QueuePool

    store, plain = stores(f"sqlite:///{tmp_path / 'fast.db'}", f"sqlite:///{tmp_path / 'plain.db'}")
    assert isinstance(store.engine.pool, QueuePool) and isinstance(plain.engine.pool, NullPool)
    same_conversations(store, plain)
    store.engine.dispose()
    rows = []
    for name in ("fast.db", "plain.db"):
        with sqlite3.connect(tmp_path / name) as db:
            rows.append(db.execute("SELECT sender_id, type_name, timestamp, data FROM events ORDER BY id").fetchall())
            mode = db.execute("PRAGMA journal_mode").fetchone()[0]
            assert mode == ("wal" if name == "fast.db" else "delete")
    assert rows[0] == rows[1] and rows[0]


def test_the_postgresql_tracker_store_reads_and_counts_as_rasa_does():
    from tests.databases import require_postgres, temporary_postgres_database

    require_postgres()
    with temporary_postgres_database() as fast_url, temporary_postgres_database() as plain_url:
        store, plain = stores(fast_url, plain_url)
        try:
            same_conversations(store, plain)
        finally:
            store.engine.dispose()
            plain.engine.dispose()


# --- intent classification --------------------------------------------------------------------------


def test_the_intent_classifier_gives_the_same_ranking_without_copying_its_coefficients(tmp_path):
    import copy

    import numpy as np
    import scipy.sparse
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.shared.nlu.training_data.features import Features
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    rng = np.random.default_rng(7)

    def message(intent=None):
        features = scipy.sparse.random(1, 400, density=0.05, format="coo", random_state=rng)
        m = Message(data={"text": "x", **({"intent": intent} if intent else {})})
        m.add_features(Features(features, "sentence", "text", "test"))
        return m

    classifier = LogisticRegressionClassifier.create(
        {**LogisticRegressionClassifier.get_default_config(), "random_state": 7},
        LocalModelStorage(tmp_path),
        Resource("lr"),
        ExecutionContext(GraphSchema({}), "lr"),
    )
    classifier.train(TrainingData([message(f"intent_{i % 5}") for i in range(60)]))
    assert not classifier.clf.coef_.flags.f_contiguous  # as scikit-learn leaves it (a view of its solution)
    messages = [message() for _ in range(8)]
    plain = [copy.deepcopy(m) for m in messages]
    LogisticRegressionClassifier.process.__wrapped__(classifier, plain)
    classifier.process(messages)
    assert classifier.clf.coef_.flags.f_contiguous
    for fast, slow in zip(messages, plain, strict=True):
        assert fast.get("intent_ranking") == slow.get("intent_ranking")
        assert fast.get("intent") == slow.get("intent")

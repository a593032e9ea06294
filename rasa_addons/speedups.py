"""Start-up speed-ups for the Rasa server, where a profile under load showed its time going (issue 15;
README "Performance"). Rasa 3.6 is frozen, so they are swaps applied when the server loads the
project's channels, like `patches.py`; none changes what the assistant says or stores.

- **No action-server call that cannot change anything.** Rasa calls `action_validate_slot_mappings`
  after every user message, rebuilding the tracker and sending all of it, even when no slot it
  validates was set. The action server (actions/slots.py) validates `partnership` and `role` only;
  for every other slot rasa-sdk's `ValidationAction` hands back the candidates unchanged. So the
  call is made only when a validated slot is among the candidates; otherwise the same events are
  made here, in the same order (tests/unit/test_speedups.py compares both with the real action).
- **Connections to the action server are kept open** (one aiohttp session per event loop and
  endpoint, closed at shutdown) instead of a new session and TCP connection per call, and the
  request body (the whole tracker) is encoded with ujson (installed with Rasa), falling back to
  `json` for anything ujson refuses. Idle connections are dropped after 2 s, before the action
  server's (Sanic's) 5-second keep-alive ends, so a call never lands on a connection being closed.
- **The SQLite tracker store keeps its connections** (SQLAlchemy 1.4 opens and closes a file for each
  of the three sessions a message uses) and runs in WAL mode with `synchronous=NORMAL`: one write to
  the log per message instead of several syncs. A crash of the process loses nothing; a power cut
  can lose the last messages' conversation events, never corrupt the file. SQLite is the local
  store; PostgreSQL (production) is not touched.
- **Intent classification**: scikit-learn multiplies the message's sparse features by the transposed
  coefficient matrix, which scipy copies to a contiguous array first (about 60 intents × the
  vocabulary, megabytes, for every message). Keeping the coefficients in Fortran order makes the
  transpose contiguous: the same numbers in the same order, no copy (for a 60 × 30,000 matrix, 7 ms
  to 0.01 ms).
- **Reading a conversation** (every message, any SQL database) selects only the events' JSON column
  rather than building an ORM object per row, with Rasa's query for the latest session built once
  (the sender a bound parameter) instead of for every read and save, and saving counts the stored
  events with `count(id)` rather than by wrapping that query in a subquery; and an event's class is
  looked up by its type name in a table instead of walking every Event subclass for every event read.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from typing import Any, Dict, List, Tuple

logger = logging.getLogger(__name__)

FLAG = "_sga_speedup"
# The slots actions/slots.py (ValidateSlotMappings) has a validate_<slot> method for: only these can
# change what action_validate_slot_mappings returns (tests/unit/test_speedups.py keeps them in step).
VALIDATED_SLOTS = frozenset({"partnership", "role"})
ACTION_VALIDATE_SLOT_MAPPINGS = "action_validate_slot_mappings"
KEEPALIVE_SECONDS = 2.0


# --- action_validate_slot_mappings only when it can change something -----------------------------


def _mapped_to_form(slot: Any) -> bool:
    """rasa-sdk's ValidationAction._is_mapped_to_form, on a Rasa slot."""
    return any(condition.get("active_loop") for m in slot.mappings or [] for condition in m.get("conditions") or [])


def _trailing_slot_values(tracker: Any, slot_events: List[Any]) -> Dict[str, Any]:
    """What rasa-sdk's `Tracker.slots_to_validate()` finds in the tracker Rasa sends: the SlotSet
    events at the end of the conversation followed by the candidates, last value per slot."""
    from rasa.shared.core.events import SlotSet

    trailing: List[Any] = []
    for event in reversed(tracker.events):
        if not isinstance(event, SlotSet):
            break
        trailing.append(event)
    values: Dict[str, Any] = {}
    for event in [*reversed(trailing), *slot_events]:
        values[event.key] = event.value
    return values


def _validation_without_call(slot_events: List[Any], values: Dict[str, Any], domain: Any) -> List[Any]:
    """The events Rasa ends with when the action server's ValidationAction validates nothing: it
    returns the global slots among the candidates unchanged; Rasa appends the other candidates."""
    from rasa.shared.core.events import SlotSet

    global_slots = {slot.name for slot in domain.slots if not _mapped_to_form(slot)}
    returned = [SlotSet(name, value) for name, value in values.items() if name in global_slots]
    names = {event.key for event in returned}
    return [*returned, *(event for event in slot_events if event.key not in names)]


def _wrap_validation(original):
    @functools.wraps(original)
    async def _execute_validation_action(
        self: Any, extraction_events: List[Any], output_channel: Any, nlg: Any, tracker: Any, domain: Any
    ) -> List[Any]:
        from rasa.shared.core.events import SlotSet

        if ACTION_VALIDATE_SLOT_MAPPINGS not in domain.user_actions:
            return await original(self, extraction_events, output_channel, nlg, tracker, domain)
        slot_events = [event for event in extraction_events if isinstance(event, SlotSet)]
        values = _trailing_slot_values(tracker, slot_events)
        if VALIDATED_SLOTS & values.keys():
            return await original(self, extraction_events, output_channel, nlg, tracker, domain)
        return _validation_without_call(slot_events, values, domain)

    setattr(_execute_validation_action, FLAG, True)
    return _execute_validation_action


# --- kept-open connections to the action server --------------------------------------------------

_SESSIONS: Dict[Tuple[Any, ...], Any] = {}


def dumps(value: Any) -> str:
    """JSON text for a request body: ujson when it can, else the standard library."""
    try:
        import ujson

        return ujson.dumps(value, ensure_ascii=False, escape_forward_slashes=False)
    except (ImportError, TypeError, OverflowError, ValueError):
        return json.dumps(value)


def shared_session(endpoint: Any) -> Any:
    """One open aiohttp session per event loop and endpoint settings (headers, basic auth)."""
    import aiohttp
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT

    loop = asyncio.get_running_loop()
    auth = endpoint.basic_auth or {}
    key = (
        id(loop),
        tuple(sorted((str(k), str(v)) for k, v in (endpoint.headers or {}).items())),
        auth.get("username"),
        auth.get("password"),
    )
    session = _SESSIONS.get(key)
    if session is None or session.closed:
        session = aiohttp.ClientSession(
            headers=endpoint.headers,
            auth=aiohttp.BasicAuth(auth["username"], auth["password"]) if auth else None,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS),
            json_serialize=dumps,
        )
        _SESSIONS[key] = session
    return session


async def close_sessions() -> None:
    sessions = list(_SESSIONS.values())
    _SESSIONS.clear()
    for session in sessions:
        if not session.closed:
            await session.close()


async def request(
    self: Any,
    method: str = "post",
    subpath: Any = None,
    content_type: Any = "application/json",
    compress: bool = False,
    **kwargs: Any,
) -> Any:
    """EndpointConfig.request (Rasa 3.6) on a kept-open session; otherwise the same."""
    import os
    import ssl

    from aiohttp import ContentTypeError
    from rasa.shared.exceptions import FileNotFoundException
    from rasa.utils.endpoints import ClientResponseError, concat_url

    headers = {}
    if content_type:
        headers["Content-Type"] = content_type
    if "headers" in kwargs:
        headers.update(kwargs["headers"])
        del kwargs["headers"]
    if self.headers:
        headers.update(self.headers)
    url = concat_url(self.url, subpath)
    sslcontext = None
    if self.cafile:
        try:
            sslcontext = ssl.create_default_context(cafile=self.cafile)
        except FileNotFoundError as e:
            raise FileNotFoundException(
                f"Failed to find certificate file, '{os.path.abspath(self.cafile)}' does not exist."
            ) from e
    session = shared_session(self)
    async with session.request(
        method,
        url,
        headers=headers,
        params=self.combine_parameters(kwargs),
        compress=compress,
        ssl=sslcontext,
        **kwargs,
    ) as response:
        if response.status >= 400:
            raise ClientResponseError(response.status, response.reason, await response.content.read())
        try:
            return await response.json()
        except ContentTypeError:
            return None


setattr(request, FLAG, True)


def _wrap_close_resources(original):
    @functools.wraps(original)
    async def close_resources(app: Any, loop: Any) -> None:
        try:
            await original(app, loop)
        finally:
            await close_sessions()

    setattr(close_resources, FLAG, True)
    return close_resources


# --- SQLite tracker store: pooled connections, WAL ------------------------------------------------


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def faster_sqlite_engine(store: Any) -> None:
    """Give a SQLTrackerStore on a SQLite file a pooled engine whose connections use WAL."""
    import sqlalchemy as sa
    from sqlalchemy.pool import QueuePool

    url = store.engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    store.engine.dispose()
    engine = sa.create_engine(
        url, poolclass=QueuePool, pool_size=5, max_overflow=10, connect_args={"check_same_thread": False}
    )
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    store.engine = engine
    store.sessionmaker = sa.orm.session.sessionmaker(bind=engine)


def _wrap_sql_init(original):
    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        faster_sqlite_engine(self)

    setattr(__init__, FLAG, True)
    return __init__


# --- reading a conversation ------------------------------------------------------------------------


def _session_queries(store: Any) -> Tuple[Any, Any]:
    """Rasa's `_event_query` for the latest session, built once per store with the sender as a bound
    parameter (Rasa builds the expression anew for every read and every save): the events' JSON in
    order, and their number."""
    queries = getattr(store, "_sga_session_queries", None)
    if queries is None:
        import sqlalchemy as sa
        from rasa.shared.core.events import SessionStarted

        event = store.SQLEvent
        session_start = (
            sa.select(sa.func.max(event.timestamp).label("session_start"))
            .where(event.sender_id == sa.bindparam("sender_id"), event.type_name == SessionStarted.type_name)
            .subquery()
        )
        in_session = sa.and_(
            event.sender_id == sa.bindparam("sender_id"),
            sa.or_(event.timestamp >= session_start.c.session_start, session_start.c.session_start.is_(None)),
        )
        queries = (
            sa.select(event.data).where(in_session).order_by(event.id),
            sa.select(sa.func.count(event.id)).where(in_session),
        )
        store._sga_session_queries = queries
    return queries


async def _retrieve(self: Any, sender_id: str, fetch_events_from_all_sessions: bool) -> Any:
    """SQLTrackerStore._retrieve (Rasa 3.6) reading only the `data` column, with the latest session's
    query built once; otherwise the same."""
    from rasa.shared.core.trackers import DialogueStateTracker

    with self.session_scope() as session:
        if fetch_events_from_all_sessions:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions=True)
            rows = query.with_entities(self.SQLEvent.data).all()
        else:
            rows = session.execute(_session_queries(self)[0], {"sender_id": sender_id}).all()
        events = [json.loads(data) for (data,) in rows]
        if self.domain and len(events) > 0:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None


setattr(_retrieve, FLAG, True)


def _additional_events(self: Any, session: Any, tracker: Any) -> Any:
    """SQLTrackerStore._additional_events (Rasa 3.6): the same count, from the query built once."""
    import itertools

    stored = session.execute(_session_queries(self)[1], {"sender_id": tracker.sender_id}).scalar()
    return itertools.islice(tracker.events, stored, len(tracker.events))


setattr(_additional_events, FLAG, True)

_EVENT_TYPES: Dict[str, Any] = {}


def _wrap_resolve_by_type(original):
    @functools.wraps(original)
    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        found = _EVENT_TYPES.get(type_name)
        if found is None:
            found = original(type_name, default)
            if found is not None and found is not default:
                _EVENT_TYPES[type_name] = found
        return found

    setattr(resolve_by_type, FLAG, True)
    return staticmethod(resolve_by_type)


# --- intent classification ---------------------------------------------------------------------------


def _wrap_classifier_process(original):
    @functools.wraps(original)
    def process(self: Any, messages: List[Any]) -> List[Any]:
        import numpy as np

        coef = getattr(self.clf, "coef_", None)
        if coef is not None and not coef.flags.f_contiguous:
            self.clf.coef_ = np.asfortranarray(coef)
        return original(self, messages)

    setattr(process, FLAG, True)
    return process


def apply() -> None:
    import rasa.core.run as rasa_run
    from rasa.core.actions.action import ActionExtractSlots
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.shared.core.events import Event
    from rasa.utils.endpoints import EndpointConfig

    if not getattr(ActionExtractSlots._execute_validation_action, FLAG, False):
        ActionExtractSlots._execute_validation_action = _wrap_validation(  # type: ignore[method-assign]
            ActionExtractSlots._execute_validation_action
        )
    if not getattr(EndpointConfig.request, FLAG, False):
        EndpointConfig.request = request  # type: ignore[method-assign]
    # serve_application registers close_resources after the channels (and so this module) load.
    if not getattr(rasa_run.close_resources, FLAG, False):
        rasa_run.close_resources = _wrap_close_resources(rasa_run.close_resources)
    if not getattr(SQLTrackerStore.__init__, FLAG, False):
        SQLTrackerStore.__init__ = _wrap_sql_init(SQLTrackerStore.__init__)  # type: ignore[method-assign]
    if not getattr(SQLTrackerStore._retrieve, FLAG, False):
        _retrieve.__wrapped__ = SQLTrackerStore._retrieve  # type: ignore[attr-defined]
        SQLTrackerStore._retrieve = _retrieve  # type: ignore[method-assign]
    if not getattr(SQLTrackerStore._additional_events, FLAG, False):
        _additional_events.__wrapped__ = SQLTrackerStore._additional_events  # type: ignore[attr-defined]
        SQLTrackerStore._additional_events = _additional_events  # type: ignore[method-assign]
    if not getattr(Event.resolve_by_type, FLAG, False):
        Event.resolve_by_type = _wrap_resolve_by_type(Event.resolve_by_type)  # type: ignore[method-assign]
    if not getattr(LogisticRegressionClassifier.process, FLAG, False):
        LogisticRegressionClassifier.process = _wrap_classifier_process(  # type: ignore[method-assign]
            LogisticRegressionClassifier.process
        )

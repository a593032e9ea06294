"""`sga usage-report`: what content owners need to see, without personal data.

The usage markers in bot/markers/ (fallback, out of scope, emergency, checklist started / saved /
abandoned, a follow-up after an answer) are evaluated by Rasa's own marker engine over the
conversations in the tracker store named by the endpoints file, as `rasa evaluate markers all` does.
It runs in this process rather than through that command because the report needs what the command's
CSV leaves out: each event's time (for `--since`) and the text of the questions that fell back.
The outcome log adds its counts by checklist and outcome.

It writes usage.csv and three PNG charts. Questions that were not answered are shown only when at
least two conversations asked them and nothing in any of their wordings could identify a person
(`sga.outcomes.privacy.identifying_in_text`); the rest are only counted.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import dataclasses
import datetime as dt
import os
import re
import textwrap
import warnings
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

from sga.outcomes.privacy import identifying_in_text
from sga.settings import PROJECT_ROOT, Settings, load_settings
from sga_tools.outcomes_cli import iso_date, reports_database_errors

MARKERS_DIR = PROJECT_ROOT / "bot" / "markers"
DOMAIN_DIR = PROJECT_ROOT / "bot" / "domain"
MIN_CONVERSATIONS = 2  # a question is shown only when at least this many conversations asked it
TOP_QUESTIONS = 10
UNANSWERED_MARKERS = ("fallback", "out_of_scope")  # markers that apply at the user's message
AT_THE_END = ("checklist_abandoned",)  # markers counted only where they hold at a conversation's end
CSV_COLUMNS = ("section", "name", "detail", "count", "conversations")
CHARTS = ("markers.png", "outcomes.png", "unanswered.png")


@dataclasses.dataclass(frozen=True)
class MarkerCount:
    name: str
    description: str
    occurrences: int  # events where it applied
    sessions: int  # conversation sessions where it applied at least once


@dataclasses.dataclass(frozen=True)
class Question:
    text: str
    asked: int
    conversations: int


@dataclasses.dataclass
class UsageReport:
    since: Optional[dt.date]
    sessions: int = 0
    conversations: int = 0
    markers: List[MarkerCount] = dataclasses.field(default_factory=list)
    outcomes: Dict[Tuple[str, str], int] = dataclasses.field(default_factory=dict)
    questions: List[Question] = dataclasses.field(default_factory=list)
    withheld: Dict[str, int] = dataclasses.field(default_factory=dict)


def register(subparsers) -> None:
    report = subparsers.add_parser(
        "usage-report",
        help="Usage for content owners (markers, outcomes, unanswered questions) as CSV and PNG charts.",
        description="Evaluates the usage markers in bot/markers/ over the conversations in the tracker "
        "store, adds the outcome log's counts by checklist and outcome, and writes usage.csv and "
        f"{', '.join(CHARTS)} to DIR. Unanswered questions are shown only when at least "
        f"{MIN_CONVERSATIONS} conversations asked them and nothing in them could identify a person.",
    )
    report.add_argument("--since", type=iso_date, help="only conversations and outcomes on or after YYYY-MM-DD (UTC)")
    report.add_argument("--out", required=True, metavar="DIR", help="folder for the CSV and the charts")
    report.add_argument("--url", help="outcome log database URL (default: DATABASE_URL from the settings)")
    report.add_argument("--tracker-url", help="tracker store URL (default: TRACKER_STORE_URL from the settings)")
    report.set_defaults(handler=usage_report)


@reports_database_errors
def usage_report(args: argparse.Namespace) -> int:
    settings = load_settings()
    report = collect(
        settings,
        tracker_url=args.tracker_url or settings.tracker_store_url,
        database_url=args.url or settings.database_url,
        since=args.since,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(report, out / "usage.csv")
    write_charts(report, out)
    shown = f" since {report.since:%d %B %Y}" if report.since else ""
    print(
        f"Usage{shown}: {report.conversations} conversation(s), {sum(report.outcomes.values())} saved outcome(s), "
        f"{len(report.questions)} unanswered question(s) shown. Written to {out}: usage.csv, {', '.join(CHARTS)}"
    )
    return 0


def collect(settings: Settings, tracker_url: str, database_url: str, since: Optional[dt.date]) -> UsageReport:
    from sga.outcomes import OutcomeStore

    report = UsageReport(since=since)
    # Rasa's deprecation notices (its own, and SQLAlchemy 1.4's about Rasa's tables, which the
    # environment variable SQLALCHEMY_SILENCE_UBER_WARNING would silence had it been set before
    # SQLAlchemy was imported) are not for this report's readers.
    from sqlalchemy.util import deprecations

    deprecations.SILENCE_UBER_WARNING = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _evaluate_markers(report, settings, tracker_url)
    store = OutcomeStore(database_url, settings.spool_dir)
    try:
        records = store.records(since=since)
    finally:
        store.close()
    report.outcomes = dict(sorted(Counter((r["checklist_kind"], r["outcome"]) for r in records).items()))
    return report


# --- markers over the tracker store ---------------------------------------------------------------


def _evaluate_markers(report: UsageReport, settings: Settings, tracker_url: str) -> None:
    from rasa.core.evaluation.marker_base import Marker
    from rasa.shared.core.domain import Domain

    markers = Marker.from_path(MARKERS_DIR)
    domain = Domain.load(str(DOMAIN_DIR))
    if not markers.validate_against_domain(domain):
        raise ValueError(f"the markers in {MARKERS_DIR} name intents, actions or slots the domain does not have")
    descriptions = {str(m): m.description or "" for m in markers.sub_markers}
    threshold = (
        dt.datetime.combine(report.since, dt.time.min, tzinfo=dt.timezone.utc).timestamp() if report.since else None
    )
    occurrences: Counter[str] = Counter()
    sessions_with: Counter[str] = Counter()
    asked: Dict[str, Set[str]] = defaultdict(set)  # normalised question -> conversations
    times: Counter[str] = Counter()
    wordings: Dict[str, Set[str]] = defaultdict(set)
    conversations: Set[str] = set()
    for sender_id, events in _conversations(settings, tracker_url, domain):
        results = markers.evaluate_events(events)
        for (start, end), per_marker in zip(_session_bounds(events), results, strict=True):
            if not _has_user_message(events[start:end], threshold):
                continue
            report.sessions += 1
            conversations.add(sender_id)
            for name, applied in per_marker.items():
                indices = [m.idx for m in applied if _on_or_after(events[m.idx], threshold)]
                if name in AT_THE_END:
                    indices = [i for i in indices if i == end - 1]
                occurrences[name] += len(indices)
                sessions_with[name] += bool(indices)
                if name in UNANSWERED_MARKERS:
                    for i in indices:
                        text = str(getattr(events[i], "text", "") or "").strip()
                        key = normalised(text)
                        if key and not text.startswith("/"):
                            asked[key].add(sender_id)
                            times[key] += 1
                            wordings[key].add(text)
    report.conversations = len(conversations)
    report.markers = [
        MarkerCount(name, descriptions[name], occurrences[name], sessions_with[name]) for name in descriptions
    ]
    _choose_questions(report, asked, times, wordings)


def _choose_questions(
    report: UsageReport, asked: Dict[str, Set[str]], times: Counter[str], wordings: Dict[str, Set[str]]
) -> None:
    known = known_words()
    shown, few, identifying = [], 0, 0
    for key in sorted(asked, key=lambda k: (-len(asked[k]), -times[k], k)):
        if len(asked[key]) < MIN_CONVERSATIONS:
            few += 1
        elif any(identifying_in_text(text, known) for text in wordings[key] | {key}):
            identifying += 1
        else:
            shown.append(Question(key, times[key], len(asked[key])))
    report.questions = shown[:TOP_QUESTIONS]
    report.withheld = {
        f"asked in fewer than {MIN_CONVERSATIONS} conversations": few,
        "may identify a person": identifying,
        f"beyond the top {TOP_QUESTIONS}": max(0, len(shown) - TOP_QUESTIONS),
    }


def _conversations(settings: Settings, tracker_url: str, domain: Any) -> Iterable[Tuple[str, List[Any]]]:
    """(sender id, events) for every conversation in the tracker store the endpoints file names."""
    from rasa.core.tracker_store import TrackerStore
    from rasa.core.utils import AvailableEndpoints

    if not _tracker_store_exists(tracker_url):
        return []
    # The endpoints file takes its values from the environment (${TRACKER_STORE_URL}, ...).
    os.environ.update({**settings.environment(), "TRACKER_STORE_URL": tracker_url})
    endpoints = AvailableEndpoints.read_endpoints(str(PROJECT_ROOT / settings.rasa_endpoints))
    store = TrackerStore.create(endpoints.tracker_store, domain=domain)

    async def load() -> List[Tuple[str, List[Any]]]:
        found = []
        for sender_id in sorted(await store.keys()):
            tracker = await store.retrieve_full_tracker(sender_id)
            if tracker is not None:
                found.append((sender_id, list(tracker.events)))
        return found

    try:
        return asyncio.run(load())
    finally:
        engine = getattr(store, "engine", None)
        if engine is not None:
            engine.dispose()


def _tracker_store_exists(tracker_url: str) -> bool:
    """False when there is no tracker store yet (a SQLite file never written); raises
    TrackerStoreUnavailable when the database does not answer (Rasa's own store would retry forever)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import InterfaceError, OperationalError

    from sga.outcomes.retention import TrackerStoreUnavailable

    url = make_url(tracker_url)
    if url.get_backend_name() == "sqlite":
        return bool(url.database) and url.database != ":memory:" and Path(url.database).exists()
    connect_args = {"connect_timeout": 5} if url.get_backend_name() == "postgresql" else {}
    engine = create_engine(url, future=True, connect_args=connect_args)
    try:
        with engine.connect():
            return True
    except (OperationalError, InterfaceError) as error:
        shown = url.render_as_string(hide_password=True)
        raise TrackerStoreUnavailable(f"tracker store {shown}: {getattr(error, 'orig', None) or error}") from error
    finally:
        engine.dispose()


def _session_bounds(events: List[Any]) -> List[Tuple[int, int]]:
    """[start, end) of each session, split where Rasa's marker engine splits them (action_session_start)."""
    from rasa.shared.core.constants import ACTION_SESSION_START_NAME
    from rasa.shared.core.events import ActionExecuted

    starts = [
        i for i, e in enumerate(events) if isinstance(e, ActionExecuted) and e.action_name == ACTION_SESSION_START_NAME
    ] or [0]
    return list(zip(starts, starts[1:] + [len(events)], strict=True))


def _has_user_message(events: Iterable[Any], threshold: Optional[float]) -> bool:
    from rasa.shared.core.events import UserUttered

    return any(isinstance(e, UserUttered) and _on_or_after(e, threshold) for e in events)


def _on_or_after(event: Any, threshold: Optional[float]) -> bool:
    return threshold is None or float(event.timestamp) >= threshold


def normalised(text: str) -> str:
    """One form for the same question: lower case, single spaces, no trailing punctuation."""
    return " ".join(text.lower().split()).strip(" ?.!,;:")


WORDS = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def known_words() -> FrozenSet[str]:
    """Words the assistant's own content and training data use (lower case): a capitalised one of these
    in a question is a term (Medway, MAPPA, Sarah's), not a name."""
    words: Set[str] = set()
    for folder in (PROJECT_ROOT / "procedures", PROJECT_ROOT / "data" / "nlu"):
        for path in folder.rglob("*.yml"):
            words.update(w.lower() for w in WORDS.findall(path.read_text(encoding="utf-8")))
    return frozenset(words)


# --- output ---------------------------------------------------------------------------------------


def write_csv(report: UsageReport, path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(CSV_COLUMNS)
        since = report.since.isoformat() if report.since else "all"
        writer.writerow(["total", "sessions", f"since {since}", report.sessions, report.conversations])
        for marker in report.markers:
            writer.writerow(["marker", marker.name, marker.description, marker.occurrences, marker.sessions])
        for (kind, outcome), count in report.outcomes.items():
            writer.writerow(["outcome", kind, outcome, count, ""])
        for question in report.questions:
            writer.writerow(["unanswered", question.text, "", question.asked, question.conversations])
        for reason, count in report.withheld.items():
            writer.writerow(["unanswered_withheld", reason, "distinct questions not shown", count, ""])


def words(identifier: str) -> str:
    return identifier.replace("_", " ")


def write_charts(report: UsageReport, out: Path) -> List[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    since = f" since {report.since:%d %B %Y}" if report.since else ""
    charts = [
        (
            CHARTS[0],
            f"Conversations in which each marker applied ({report.sessions} conversations{since})",
            [(words(m.name), m.sessions) for m in report.markers],
            "No conversations",
        ),
        (
            CHARTS[1],
            f"Saved outcomes by checklist and outcome{since}",
            [
                (f"{kind.replace('_', ' ')}: {outcome.replace('_', ' ')}", n)
                for (kind, outcome), n in report.outcomes.items()
            ],
            "No outcomes saved",
        ),
        (
            CHARTS[2],
            f"Top questions without an answer (asked in {MIN_CONVERSATIONS}+ conversations){since}",
            [("\n".join(textwrap.wrap(q.text, 48)), q.conversations) for q in report.questions],
            f"No unanswered question was asked in {MIN_CONVERSATIONS} or more conversations",
        ),
    ]
    written = []
    for name, title, bars, empty in charts:
        figure, axes = plt.subplots(figsize=(9, max(2.6, 0.55 * len(bars) + 1.4)), dpi=100)
        if bars:
            labels, values = [label for label, _ in bars][::-1], [value for _, value in bars][::-1]
            drawn = axes.barh(labels, values, color="#1d5f8a")
            axes.bar_label(drawn, padding=3)
            axes.set_xlabel("conversations" if name != CHARTS[1] else "outcome records")
            axes.xaxis.get_major_locator().set_params(integer=True)
            axes.set_xlim(0, max(values + [1]) * 1.15)
            axes.spines[["top", "right"]].set_visible(False)
        else:
            axes.axis("off")
            axes.text(0.5, 0.5, empty, ha="center", va="center")
        axes.set_title(title, loc="left", fontsize=11)
        figure.tight_layout()
        path = out / name
        figure.savefig(path)
        plt.close(figure)
        written.append(path)
    return written

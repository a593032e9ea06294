"""`sga training-report`: a group session's (or every session's since a date) results for trainers.

Writes `training_results.csv` (one row per trainee per item) and `training_agreement.png` (agreement
with the model answer per item and per scenario) to --out, and prints the three items most often
answered differently. Every failure is one line on standard error, never a traceback."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
from pathlib import Path
from typing import List, Sequence

from sga.settings import load_settings

CSV_NAME = "training_results.csv"
CHART_NAME = "training_agreement.png"
CSV_COLUMNS = (
    "session",
    "scenario",
    "trainee",
    "position",
    "item",
    "question",
    "answer",
    "model_answer",
    "matched",
    "completed_at",
)


class ReportError(RuntimeError):
    """Shown to the user as one line."""


def register(subparsers) -> None:
    report = subparsers.add_parser(
        "training-report",
        help="Group training results: a CSV (one row per trainee per item), a PNG chart of agreement "
        "with the model answers, and the three items most often answered differently.",
    )
    which = report.add_mutually_exclusive_group(required=True)
    which.add_argument("--session", help="one session's code (e.g. K7P4QM)")
    which.add_argument("--since", type=_date, help="every session with results on or after YYYY-MM-DD (UTC)")
    report.add_argument("--out", required=True, help="folder to write the CSV and the chart to (created if needed)")
    report.add_argument("--url", help="database URL (default: DATABASE_URL from the settings)")
    report.set_defaults(handler=training_report)


def _date(text: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, not {text!r}") from None


def _label(scenario_id: str, item_id: str, value: object) -> str:
    from sga.scenarios import SKIPPED, scenarios

    if value is None:
        return "Not answered"
    if value == SKIPPED:
        return "skipped"
    scenario = scenarios().get(scenario_id)
    if scenario is None:
        return str(value)
    try:
        return scenario.checklist_model.item(item_id).label(str(value))
    except StopIteration:
        return str(value)


def training_report(args) -> int:
    import sys

    from sga.training import SessionNotFound, TrainingStore, TrainingUnavailable, summarise
    from sga.training.summary import question_of

    store = TrainingStore(args.url or load_settings().database_url)
    try:
        if args.session:
            code = args.session.strip().upper()
            store.session(code)
            rows = store.rows(session=code)
        else:
            rows = store.rows(since=args.since)
    except SessionNotFound:
        print(f"sga training-report: no session has the code {args.session!r}", file=sys.stderr)
        return 1
    except TrainingUnavailable as error:
        print(f"sga training-report: {error}", file=sys.stderr)
        return 1
    finally:
        store.close()
    if not rows:
        print("sga training-report: no results yet for that selection (nothing written)", file=sys.stderr)
        return 1
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"sga training-report: cannot create {out}: {error.strerror or error}", file=sys.stderr)
        return 1
    with (out / CSV_NAME).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            writer.writerow(
                [
                    row.session_code,
                    row.scenario_id,
                    row.participant,
                    row.position,
                    row.item_id,
                    question_of(row.scenario_id, row.item_id),
                    _label(row.scenario_id, row.item_id, row.given),
                    _label(row.scenario_id, row.item_id, row.model),
                    "yes" if row.matched else "no",
                    row.completed_at.replace(microsecond=0).isoformat() + "Z",
                ]
            )
    summary = summarise(rows)
    chart(summary, out / CHART_NAME)
    trainees = len({r.participant_id for r in rows})
    sessions = sorted({r.session_code for r in rows})
    print(f"{len(rows)} answers from {trainees} trainee(s) in session(s) {', '.join(sessions)}.")
    print(f"Wrote {out / CSV_NAME} and {out / CHART_NAME}.")
    different = summary.most_different()
    if different:
        print("Most often answered differently:")
        for number, item in enumerate(different, 1):
            print(
                f"{number}. [{item.scenario_id}] {item.item_id}: {item.different} of {item.answered} "
                f"differed — {item.question}"
            )
    else:
        print("Every answer matched the model answers.")
    return 0


def chart(summary, path: Path) -> None:
    """Agreement with the model answer: one bar per item (grouped by scenario), then one per scenario."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    items = summary.items
    scenarios_ = summary.scenarios
    labels: List[str] = [f"{i.scenario_id[:18]} · {i.position}. {i.item_id}" for i in items]
    values: Sequence[int] = [i.percent for i in items]
    height = max(3.0, 0.32 * (len(items) + len(scenarios_)) + 1.8)
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, height), gridspec_kw={"height_ratios": [max(len(items), 1), max(len(scenarios_), 1) + 1]}
    )
    top.barh(range(len(items)), values, color="#1f5f8b")
    top.set_yticks(range(len(items)))
    top.set_yticklabels(labels, fontsize=7)
    top.invert_yaxis()
    top.set_xlim(0, 100)
    top.set_xlabel("% of trainees whose answer matched the model answer")
    top.set_title("Agreement with the model answer, per item")
    bottom.barh(range(len(scenarios_)), [s.percent for s in scenarios_], color="#7a3e9d")
    bottom.set_yticks(range(len(scenarios_)))
    bottom.set_yticklabels([f"{s.title} ({s.trainees} trainee(s))" for s in scenarios_], fontsize=8)
    bottom.invert_yaxis()
    bottom.set_xlim(0, 100)
    bottom.set_xlabel("% of answers that matched, per scenario")
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=100)
    plt.close(figure)

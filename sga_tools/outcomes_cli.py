"""`sga db upgrade`, `sga export`, `sga verify` and `sga spool flush`: the outcome log's sub-commands."""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import functools
import json
import sys
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, TextIO

from sqlalchemy.exc import OperationalError

from sga.outcomes.draft import RECORD_COLUMNS
from sga.outcomes.store import DatabaseUnavailable, OutcomeSchemaMissing, OutcomeStore, masked
from sga.settings import load_settings

JSON_COLUMNS = ("answers", "next_steps")


def register(subparsers) -> None:
    url_help = "database URL (default: DATABASE_URL from the settings)"

    db = subparsers.add_parser("db", help="Outcome log database.").add_subparsers(dest="db_command", required=True)
    upgrade = db.add_parser("upgrade", help="Create or update the outcome log tables (Alembic migrations).")
    upgrade.add_argument("--url", help=url_help)
    upgrade.set_defaults(handler=db_upgrade)

    export = subparsers.add_parser("export", help="Export recorded outcomes as CSV or JSON.")
    export.add_argument("--format", choices=("csv", "json"), required=True)
    export.add_argument("--since", type=iso_date, help="only outcomes completed on or after YYYY-MM-DD (UTC)")
    export.add_argument("--kind", help="only this checklist kind")
    export.add_argument("--output", help="file to write (default: standard output)")
    export.add_argument("--url", help=url_help)
    export.set_defaults(handler=export_records)

    verify = subparsers.add_parser("verify", help="Check every outcome against the hash-chained audit trail.")
    verify.add_argument("--url", help=url_help)
    verify.set_defaults(handler=verify_log)

    spool = subparsers.add_parser("spool", help="Outcomes kept on disk while the database was unavailable.")
    spool_commands = spool.add_subparsers(dest="spool_command", required=True)
    flush = spool_commands.add_parser("flush", help="Write spooled outcomes to the database.")
    flush.add_argument("--url", help=url_help)
    flush.set_defaults(handler=flush_spool)


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date {text!r}: use YYYY-MM-DD, e.g. 2024-04-01") from None


def reports_database_errors(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Unreachable database or missing tables: a one-line message and exit status 1, no traceback."""

    @functools.wraps(handler)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (DatabaseUnavailable, OutcomeSchemaMissing, OperationalError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1

    return wrapper


@reports_database_errors
def db_upgrade(args) -> int:
    from sga.outcomes.migrate import upgrade

    url = args.url or load_settings().database_url
    upgrade(url)
    print(f"Outcome log tables are up to date in {masked(url)}")
    return 0


@reports_database_errors
def export_records(args) -> int:
    with store_for(args) as store:
        records = store.records(since=args.since, kind=args.kind)
    with output_stream(args.output) as stream:
        (write_csv if args.format == "csv" else write_json)(records, stream)
    if args.output:
        print(f"Exported {len(records)} outcome(s) to {args.output}", file=sys.stderr)
    return 0


@reports_database_errors
def verify_log(args) -> int:
    with store_for(args) as store:
        result = store.verify()
    if result.ok:
        print(f"OK: {result.checked} records, chain intact")
        return 0
    record = result.first_broken_reference or "(no single record)"
    print(f"FAILED: record {record}: {result.reason}")
    return 1


@reports_database_errors
def flush_spool(args) -> int:
    with store_for(args) as store:
        written = store.flush_spool()
    print(f"Wrote {written} spooled outcome(s) to the database")
    return 0


@contextmanager
def store_for(args) -> Iterator[OutcomeStore]:
    settings = load_settings()
    store = OutcomeStore(args.url or settings.database_url, settings.spool_dir)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def output_stream(path: Optional[str]) -> Iterator[TextIO]:
    if not path:
        yield sys.stdout
        return
    with open(path, "w", encoding="utf-8", newline="") as stream:
        yield stream


def write_csv(records: List[Dict[str, Any]], stream: TextIO) -> None:
    writer = csv.DictWriter(stream, fieldnames=RECORD_COLUMNS)
    writer.writeheader()
    for record in records:
        writer.writerow({name: cell(name, value) for name, value in record.items()})


def cell(name: str, value: Any) -> Any:
    if name in JSON_COLUMNS:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return "" if value is None else value


def write_json(records: List[Dict[str, Any]], stream: TextIO) -> None:
    json.dump(records, stream, indent=2, sort_keys=False, ensure_ascii=False, default=dt.datetime.isoformat)
    stream.write("\n")


def main(argv: Optional[List[str]] = None) -> int:
    """Only the outcome log's commands (`python -m sga_tools.outcomes_cli ...`); `sga` offers the same."""
    parser = argparse.ArgumentParser(prog="sga", description="Safeguarding guidance assistant: outcome log.")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

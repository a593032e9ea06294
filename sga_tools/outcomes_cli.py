"""`sga db upgrade`, `sga export`, `sga verify`, `sga purge` and `sga spool flush`: the outcome log's
sub-commands (and the retention of conversation trackers, which `sga purge` also enforces).

Every failure is one line on standard error and a non-zero status, never a traceback; a reader that
stops early (`sga export ... | head -1`) ends the command quietly."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import functools
import json
import os
import re
import sys
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, TextIO

from sqlalchemy.exc import OperationalError

from sga.outcomes.draft import RECORD_COLUMNS, utc_now
from sga.outcomes.retention import TrackerStoreUnavailable, purge_trackers
from sga.outcomes.store import ChainInvalid, DatabaseUnavailable, OutcomeSchemaMissing, OutcomeStore, masked
from sga.settings import load_settings

JSON_COLUMNS = ("answers", "next_steps")


def register(subparsers) -> None:
    url_help = "database URL (default: DATABASE_URL from the settings)"

    db = subparsers.add_parser("db", help="Outcome log database.").add_subparsers(dest="db_command", required=True)
    upgrade = db.add_parser("upgrade", help="Create or update the outcome log tables (Alembic migrations).")
    upgrade.add_argument("--url", help=url_help)
    upgrade.set_defaults(handler=db_upgrade)

    export = subparsers.add_parser(
        "export",
        help="Export recorded outcomes as CSV or JSON, or one record's summary as Markdown for the case file.",
        description="CSV and JSON give the records (all, or filtered); `--format md --reference SGA-XXXX-XXXX` "
        "gives one saved checklist's summary as Markdown: the checklist and its version, the partnership, "
        "every answer in words, the outcome, the next steps with their sources, the reference and the time.",
    )
    export.add_argument("--format", choices=("csv", "json", "md"), required=True)
    export.add_argument(
        "--reference", type=record_reference, metavar="SGA-XXXX-XXXX", help="only this record (required for md)"
    )
    export.add_argument("--since", type=iso_date, help="only outcomes completed on or after YYYY-MM-DD (UTC)")
    export.add_argument("--kind", help="only this checklist kind")
    export.add_argument("--output", help="file to write (default: standard output)")
    export.add_argument("--url", help=url_help)
    export.set_defaults(handler=export_records)

    verify = subparsers.add_parser(
        "verify", help="Check every outcome against the hash-chained audit trail and print the chain head."
    )
    verify.add_argument(
        "--expect-head",
        type=chain_hash,
        metavar="HASH",
        help="a chain head printed earlier and kept elsewhere: fail unless the chain still "
        "holds it (it is the head, or the head descends from it)",
    )
    verify.add_argument("--url", help=url_help)
    verify.set_defaults(handler=verify_log)

    purge = subparsers.add_parser(
        "purge",
        help="Delete conversations and outcome records past the retention period.",
        description="Deletes conversation trackers idle for more than DAYS days and outcome records "
        "completed more than DAYS days ago. The audit chain keeps every event and gains a "
        "checkpoint listing the deleted records, so `sga verify` still checks it whole.",
    )
    purge.add_argument(
        "--older-than",
        type=days,
        required=True,
        metavar="DAYS",
        help="retention period in days (a whole number, at least 1)",
    )
    purge.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    purge.add_argument(
        "--only",
        choices=("conversations", "outcomes"),
        help="purge only these (conversations and outcome records usually have different "
        "retention periods: run one scheduled purge for each)",
    )
    purge.add_argument("--url", help=url_help)
    purge.add_argument("--tracker-url", help="tracker store URL (default: TRACKER_STORE_URL from the settings)")
    purge.set_defaults(handler=purge_old)

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


REFERENCE = re.compile(r"SGA-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")


def record_reference(text: str) -> str:
    reference = text.strip().upper()
    if not REFERENCE.fullmatch(reference):
        raise argparse.ArgumentTypeError(f"invalid reference {text!r}: use the form SGA-XXXX-XXXX, e.g. SGA-7K3Q-9XPD")
    return reference


def days(text: str) -> int:
    if not re.fullmatch(r"\d{1,6}", text.strip()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"invalid number of days {text!r}: use a whole number, e.g. 365")
    return int(text)


def chain_hash(text: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{64}", text.strip()):
        raise argparse.ArgumentTypeError("invalid chain head: 64 hexadecimal characters, as `sga verify` prints")
    return text.strip().lower()


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def reports_database_errors(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Any failure: a one-line message on standard error and exit status 1, never a traceback.
    A closed standard output (a pipe into `head`) ends the command quietly with status 0."""

    @functools.wraps(handler)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except BrokenPipeError:
            # The reader has gone: send what is still buffered nowhere, so exiting prints nothing.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 0
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            return 130
        except (
            DatabaseUnavailable,
            OutcomeSchemaMissing,
            TrackerStoreUnavailable,
            ChainInvalid,
            RecordNotFound,
        ) as error:
            print(f"error: {one_line(error)}", file=sys.stderr)
            return 1
        except OperationalError as error:
            print(f"error: database: {one_line(error.orig or error)}", file=sys.stderr)
            return 1
        except OSError as error:  # e.g. --output names a directory, or the disk is full
            where = f" {error.filename}" if error.filename else ""
            print(f"error: cannot write{where}: {error.strerror or one_line(error)}", file=sys.stderr)
            return 1
        except Exception as error:  # a bug: still one line, with what to report
            print(f"error: {type(error).__name__}: {one_line(error)} (please report this)", file=sys.stderr)
            return 1

    return wrapper


@reports_database_errors
def db_upgrade(args) -> int:
    from sga.outcomes.migrate import upgrade

    url = args.url or load_settings().database_url
    upgrade(url)
    print(f"Outcome log tables are up to date in {masked(url)}")
    return 0


class RecordNotFound(LookupError):
    """No outcome record has the reference asked for."""


WHEREABOUTS = {
    "purged": "it was deleted by `sga purge` after the retention period (its audit event remains)",
    "spooled": "it is waiting in the spool because the database was unavailable: run `sga spool flush` first",
    "unknown": "check the reference (it is shown when a checklist is saved, e.g. SGA-7K3Q-9XPD)",
}


@reports_database_errors
def export_records(args) -> int:
    if args.format == "md" and not args.reference:
        print("error: --format md exports one record: give --reference SGA-XXXX-XXXX", file=sys.stderr)
        return 2
    with store_for(args) as store:
        if args.reference:
            record = store.record(args.reference)
            if record is None:
                why = WHEREABOUTS[store.whereabouts(args.reference)]
                raise RecordNotFound(f"no outcome record {args.reference}: {why}")
            records = [record]
        else:
            records = store.records(since=args.since, kind=args.kind)
    with output_stream(args.output) as stream:
        {"csv": write_csv, "json": write_json, "md": write_markdown}[args.format](records, stream)
    if args.output:
        print(f"Exported {len(records)} outcome(s) to {args.output}", file=sys.stderr)
    return 0


@reports_database_errors
def verify_log(args) -> int:
    with store_for(args) as store:
        result = store.verify(expect_head=args.expect_head)
    if result.ok:
        purged = f" ({result.purged} purged after the retention period)" if result.purged else ""
        print(f"OK: {result.checked} records, chain intact{purged}")
        if args.expect_head:
            same = "is the chain head" if args.expect_head == result.head_hash else "is in the chain"
            print(f"The recorded head {same}.")
        print(
            f"Chain head: {result.head_hash} (event {result.head_seq}); keep it elsewhere and check later "
            "with `sga verify --expect-head HASH`"
        )
        return 0
    record = result.first_broken_reference or "(no single record)"
    print(f"FAILED: record {record}: {result.reason}")
    return 1


@reports_database_errors
def purge_old(args) -> int:
    settings = load_settings()
    cutoff = utc_now() - dt.timedelta(days=args.older_than)
    shown = cutoff.strftime("%Y-%m-%d %H:%M UTC")
    verb = "would be deleted" if args.dry_run else "deleted"
    if args.only != "outcomes":
        trackers = purge_trackers(args.tracker_url or settings.tracker_store_url, cutoff, dry_run=args.dry_run)
        print(
            f"Conversations idle since before {shown}: {trackers.conversations} "
            f"({trackers.events} tracker events) {verb}"
        )
    if args.only == "conversations":
        return 0
    with store_for(args) as store:
        outcomes = store.purge(cutoff, dry_run=args.dry_run)
    print(f"Outcome records completed before {shown}: {outcomes.records} {verb}")
    if outcomes.checkpoint_seq is not None:
        print(
            f"Checkpoint added to the audit chain (event {outcomes.checkpoint_seq}). "
            f"New chain head: {outcomes.head_hash}; keep it elsewhere"
        )
    return 0


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
        sys.stdout.flush()  # a closed pipe shows here, where it is handled, not at interpreter exit
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


def write_markdown(records: List[Dict[str, Any]], stream: TextIO) -> None:
    from sga.checklists.summary import Summary

    stream.write("\n".join(Summary.from_record(record).as_markdown() for record in records))


def main(argv: Optional[List[str]] = None) -> int:
    """Only the outcome log's commands (`python -m sga_tools.outcomes_cli ...`); `sga` offers the same."""
    parser = argparse.ArgumentParser(prog="sga", description="Safeguarding guidance assistant: outcome log.")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

"""`python -m tests.bench` (`make bench`): see tests/bench/__init__.py."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List

from rasa_addons.patches import ACTION_SERVER_DOWN, LOCK_STORE_DOWN
from sga.limits import RATE_LIMITED_REPLY
from sga.settings import PROJECT_ROOT
from tests.bench import report, scripts
from tests.bench.load import run_level
from tests.bench.servers import (
    MemorySampler,
    Server,
    StockBot,
    bench_settings,
    copy_stock_bot,
    cpu_seconds,
    existing_stock_bot,
    init_stock_bot,
    load_factory,
    root_pids,
    start_timed,
    train_assistant,
)
from tests.conftest import MODEL

FAILURE_TEXTS = [ACTION_SERVER_DOWN, LOCK_STORE_DOWN, RATE_LIMITED_REPLY]


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument(
        "--assistant",
        default="tests.bench.servers:make_run_stack",
        help="package.module:factory making the assistant's Server (default: as `make run` starts it)",
    )
    parser.add_argument("--label", default="this assistant (make run: 1 Rasa server, 1 action server, SQLite)")
    parser.add_argument("--model", type=Path, default=MODEL, help="the assistant's trained model (make model)")
    parser.add_argument("--only", choices=["both", "assistant", "stock"], default="both")
    parser.add_argument("--no-training", action="store_true", help="do not measure training times")
    parser.add_argument(
        "--stock-dir", type=Path, help="reuse a trained `rasa init` folder (its training time is then not measured)"
    )
    parser.add_argument("--one-user", type=int, default=200, help="messages sent by one user")
    parser.add_argument("--c20", type=int, default=600, help="messages sent by 20 concurrent conversations")
    parser.add_argument("--c50", type=int, default=750, help="messages sent by 50 concurrent conversations")
    parser.add_argument("--max-seconds", type=float, default=240, help="time limit of each load level")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench-results")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, stock bot)")
    return parser.parse_args(argv)


def drive(server: Server, label: str, script_set: List[scripts.Script], args: argparse.Namespace) -> Dict[str, Any]:
    """Start `server`, put every load level through it while sampling memory, stop it."""
    print(f"\n== {label}", flush=True)
    ready = start_timed(server)
    print(f"ready after {ready:.1f} s at {server.rasa_url}", flush=True)
    url = f"{server.rasa_url}/webhooks/rest/webhook"
    levels: Dict[str, Any] = {}
    try:
        with MemorySampler(root_pids(server)) as memory:
            run_level(url, script_set, 2, 30, 120, FAILURE_TEXTS, "warm-up")
            for key, concurrency, messages in (
                ("one_user", 1, args.one_user),
                ("c20", 20, args.c20),
                ("c50", 50, args.c50),
            ):
                cpu_before = cpu_seconds(root_pids(server))
                result = run_level(url, script_set, concurrency, messages, args.max_seconds, FAILURE_TEXTS, key)
                cpu = {k: v - cpu_before.get(k, 0.0) for k, v in cpu_seconds(root_pids(server)).items()}
                levels[key] = s = result.summary()
                s["cpu_ms_per_msg"] = round(sum(cpu.values()) * 1000 / max(1, s["messages"]), 1)
                s["cpu_ms_per_msg_by_process"] = {k: round(v * 1000 / max(1, s["messages"]), 1) for k, v in cpu.items()}
                print(
                    f"  {key:8} {s['messages']:4} msgs {s['msg_per_s']:6.1f} msg/s  p50 {s['p50_ms']:6.0f}  "
                    f"p95 {s['p95_ms']:6.0f}  p99 {s['p99_ms']:6.0f} ms  errors {s['errors']} {s['error_kinds'] or ''}"
                    f"  goals {s['goals_reached']}/{s['conversations']}  server CPU {s['cpu_ms_per_msg']} ms/msg",
                    flush=True,
                )
    finally:
        server.stop()
    return {"label": label, "ready_s": round(ready, 1), "levels": levels, "memory": memory.report()}


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    if args.only != "stock" and not args.model.exists():
        print(f"error: no trained model at {args.model}: run `make model`", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="sga-bench-"))
    results: Dict[str, Any] = {
        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": report.machine(),
        "load_average": {"before": [round(x, 2) for x in os.getloadavg()]},
        "settings": {k: v for k, v in vars(args).items() if k not in ("out",)},
    }
    print(f"make bench: {results['machine']['cores']} cores, load average {results['load_average']['before']}")
    try:
        assistant: Dict[str, Any] = {}
        stock: Dict[str, Any] = {}
        stock_dir = tmp / "stock"
        if args.only != "stock" and not args.no_training:
            print("training the assistant from scratch (rasa train --force)...", flush=True)
            assistant["training_s"] = round(train_assistant(tmp / "train", tmp / "logs" / "train-assistant.log"), 1)
            print(f"  {assistant['training_s']} s", flush=True)
        if args.only != "assistant":
            if args.stock_dir and existing_stock_bot(args.stock_dir):
                copy_stock_bot(args.stock_dir, stock_dir)
            else:
                print("making and training the stock bot (rasa init --no-prompt)...", flush=True)
                stock["training_s"] = round(init_stock_bot(stock_dir, tmp / "logs" / "rasa-init.log"), 1)
                print(f"  {stock['training_s']} s", flush=True)
        if args.only != "stock":
            factory = load_factory(args.assistant)
            server = factory(bench_settings(tmp / "assistant"), args.model, tmp / "logs" / "assistant")
            assistant.update(drive(server, args.label, scripts.ASSISTANT, args))
            results["assistant"] = assistant
        if args.only != "assistant":
            server = StockBot(stock_dir, tmp / "logs" / "stock")
            stock.update(drive(server, "stock rasa init bot (rasa run, in-memory tracker store)", scripts.STOCK, args))
            results["stock"] = stock
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    results["load_average"]["after"] = [round(x, 2) for x in os.getloadavg()]
    results["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    print()
    print(report.text_table(results))
    written = report.write(results, args.out)
    print(f"\nwritten: {written} (and latest.json / latest.md in {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

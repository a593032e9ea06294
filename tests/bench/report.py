"""The bench's table: each figure for both bots, its ratio to the stock bot, and the issue's targets."""

from __future__ import annotations

import json
import math
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

Results = Dict[str, Any]


def machine() -> Dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = math.nan
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cores": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "memory_gb": memory_gb,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def _get(results: Results, path: str) -> Optional[float]:
    value: Any = results
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value if isinstance(value, (int, float)) and not math.isnan(value) else None


@dataclass(frozen=True)
class Row:
    label: str
    path: str  # inside each bot's results
    unit: str
    target: str = ""
    # (assistant value, stock value) -> met?; None when there is no target for this row
    check: Optional[Callable[[float, Optional[float]], bool]] = None


ROWS: List[Row] = [
    Row("training (full, from scratch)", "training_s", "s", "≤ 120 s", lambda a, s: a <= 120),
    Row("start to ready", "ready_s", "s", "≤ 20 s", lambda a, s: a <= 20),
    Row("one user p50", "levels.one_user.p50_ms", "ms", "≤ stock p50 (aim ½)", lambda a, s: s is not None and a <= s),
    Row("one user p95", "levels.one_user.p95_ms", "ms", "≤ 120 ms", lambda a, s: a <= 120),
    Row("one user p99", "levels.one_user.p99_ms", "ms"),
    Row("20 conversations msg/s", "levels.c20.msg_per_s", "msg/s", "≥ 40 msg/s", lambda a, s: a >= 40),
    Row("20 conversations p50", "levels.c20.p50_ms", "ms"),
    Row("20 conversations p95", "levels.c20.p95_ms", "ms", "≤ 500 ms", lambda a, s: a <= 500),
    Row("20 conversations p99", "levels.c20.p99_ms", "ms"),
    Row("20 conversations errors", "levels.c20.errors", "", "0", lambda a, s: a == 0),
    Row("50 conversations msg/s", "levels.c50.msg_per_s", "msg/s"),
    Row("50 conversations p50", "levels.c50.p50_ms", "ms"),
    Row("50 conversations p95", "levels.c50.p95_ms", "ms", "≤ 1.5 s", lambda a, s: a <= 1500),
    Row("50 conversations p99", "levels.c50.p99_ms", "ms"),
    Row("50 conversations errors", "levels.c50.errors", "", "0", lambda a, s: a == 0),
    Row("server CPU per message, 20 conv.", "levels.c20.cpu_ms_per_msg", "ms"),
    Row("peak RSS, all processes", "memory.peak_total_rss_mb", "MB", "≤ 1.5 GB", lambda a, s: a <= 1536),
]


def _fmt(value: Optional[float], unit: str) -> str:
    if value is None:
        return "–"
    if unit in ("ms", "MB", ""):
        return f"{value:.0f}"
    return f"{value:.1f}"


def table(results: Results) -> List[List[str]]:
    """Rows of: measure, assistant, stock bot, ratio assistant/stock, target, met."""
    assistant = results.get("assistant") or {}
    stock = results.get("stock") or {}
    rows = []
    for row in ROWS:
        a, s = _get(assistant, row.path), _get(stock, row.path)
        ratio = f"{a / s:.2f}×" if a is not None and s else "–"
        met = ""
        if row.check is not None:
            met = "–" if a is None else ("met" if row.check(a, s) else "MISSED")
        unit = f" {row.unit}" if row.unit else ""
        rows.append([row.label, _fmt(a, row.unit) + unit, _fmt(s, row.unit) + unit, ratio, row.target, met])
    return rows


HEADER = ["measure", "this assistant", "stock rasa init bot", "ratio", "target", ""]


def text_table(results: Results) -> str:
    rows = [HEADER, *table(results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(results: Results) -> str:
    rows = table(results)
    out = ["| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def markdown(results: Results) -> str:
    m = results["machine"]
    load = results.get("load_average", {})
    lines = [
        f"# make bench, {results['finished']}",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB, Linux {m['kernel']}, Python {m['python']}. "
        f"Load average before / after: {load.get('before')} / {load.get('after')}.",
        "",
        markdown_table(results),
        "",
    ]
    for who in ("assistant", "stock"):
        bot = results.get(who)
        if not bot:
            continue
        lines.append(f"## {bot['label']}")
        lines.append("")
        for name, level in bot.get("levels", {}).items():
            lines.append(
                f"- {name}: {level['messages']} messages in {level['seconds']} s, {level['conversations']} conversations"
                f" ({level['checklists']} checklists, {level['goals_reached']} reached their end), errors {level['errors']}"
                f" {level['error_kinds'] or ''}, empty replies {level['empty_replies']}, max {level['max_ms']} ms"
            )
        memory = bot.get("memory", {})
        for name, values in memory.get("processes", {}).items():
            lines.append(f"- RSS {name}: peak {values['peak_rss_mb']} MB sampled, VmHWM {values['hwm_mb']} MB")
        lines.append("")
    return "\n".join(lines)


def write(results: Results, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = results["finished"].replace(":", "").replace("-", "")
    for name in (stamp, "latest"):
        (folder / f"{name}.json").write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
        (folder / f"{name}.md").write_text(markdown(results), encoding="utf-8")
    return folder / f"{stamp}.md"

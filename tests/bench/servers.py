"""What the bench runs: the assistant (a `Server`), the stock `rasa init` bot, training, and memory sampling."""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Dict, List, Optional, Protocol

from sga.settings import PROJECT_ROOT, Settings
from sga_tools.runner import BIN_DIR, Stack, stop_processes, wait_for
from tests.conftest import free_port, stack_settings

RASA = str(BIN_DIR / "rasa")
# Generous limits: the bench sends far more than a person would, all from 127.0.0.1.
BENCH_LIMITS = {"rate_limit_per_sender": "100000/60", "rate_limit_per_address": "10000000/60"}


class Server(Protocol):
    """Anything the bench can start, send REST messages to, measure and stop (`Stack` is one)."""

    processes: List[subprocess.Popen]

    @property
    def rasa_url(self) -> str: ...

    def start(self) -> "Server": ...

    def stop(self) -> None: ...


ServerFactory = Callable[[Settings, Path, Path], Server]


def make_run_stack(settings: Settings, model: Path, log_dir: Path) -> Stack:
    """The assistant as `make run` starts it: one action server, one Rasa server (no web chat page)."""
    return Stack(settings, model=model, log_dir=log_dir)


@dataclass
class BenchCluster:
    """`sga_tools.cluster.Cluster` (Rasa servers and action servers behind local balancers) on two
    throwaway PostgreSQL databases (tracker store, outcome log) with the Redis lock store."""

    settings: Settings
    model: Path
    log_dir: Path
    rasa_servers: int = 2
    action_servers: int = 2
    cluster: Optional[Stack] = None
    _databases: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    @property
    def processes(self) -> List[subprocess.Popen]:
        return self.cluster.processes if self.cluster else []

    @property
    def rasa_url(self) -> str:
        return self.cluster.rasa_url if self.cluster else ""

    def start(self) -> "BenchCluster":
        from sga_tools.cluster import Cluster
        from tests.databases import postgres_unreachable_reason, temporary_postgres_database

        problem = postgres_unreachable_reason()
        if problem:
            raise RuntimeError(problem)
        tracker = self._databases.enter_context(temporary_postgres_database())
        outcomes = self._databases.enter_context(temporary_postgres_database())
        settings = replace(
            self.settings,
            database_url=outcomes,
            tracker_store_url=tracker,
            rasa_endpoints="bot/endpoints.production.yml",
        )
        try:
            self.cluster = Cluster(
                settings,
                model=self.model,
                log_dir=self.log_dir,
                rasa_servers=self.rasa_servers,
                action_servers=self.action_servers,
            ).start()
        except Exception:
            self._databases.close()
            raise
        return self

    def stop(self) -> None:
        try:
            if self.cluster:
                self.cluster.stop()
        finally:
            self._databases.close()


def cluster(settings: Settings, model: Path, log_dir: Path) -> BenchCluster:
    """`--assistant tests.bench.servers:cluster`: two Rasa and two action servers (see BenchCluster)."""
    return BenchCluster(settings, model, log_dir)


def load_factory(spec: str) -> ServerFactory:
    """`package.module:function` -> the function."""
    module, _, name = spec.partition(":")
    if not module or not name:
        raise SystemExit(f"--assistant takes package.module:factory, not {spec!r}")
    return getattr(importlib.import_module(module), name)


def bench_settings(tmp: Path) -> Settings:
    return replace(stack_settings(tmp), **BENCH_LIMITS)


def bench_env() -> Dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["RASA_TELEMETRY_ENABLED"] = "false"
    return env


def timed(args: List[str], cwd: Path, log: Path, timeout: float) -> float:
    """Run a command to completion (output to `log`), return its wall time; raise if it fails."""
    log.parent.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            args, cwd=cwd, env=bench_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise RuntimeError(f"{' '.join(args[:3])} took longer than {timeout:.0f} s (log: {log})") from None
    if code != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed with exit {code}; log: {log}")
    return time.monotonic() - began


def train_assistant(out: Path, log: Path, timeout: float = 1200) -> float:
    """The assistant's full training, from scratch (`--force`), into a temporary folder."""
    return timed(
        [
            RASA,
            "train",
            "--config",
            "bot/config.yml",
            "--domain",
            "bot/domain",
            "--data",
            "data",
            "--out",
            str(out),
            "--force",
        ],
        PROJECT_ROOT,
        log,
        timeout,
    )


def init_stock_bot(folder: Path, log: Path, timeout: float = 1800) -> float:
    """`rasa init --no-prompt` in `folder`: makes the stock project and trains it. Returns the wall time."""
    folder.mkdir(parents=True, exist_ok=True)
    return timed([RASA, "init", "--no-prompt", "--init-dir", str(folder)], folder, log, timeout)


@dataclass
class StockBot:
    """The `rasa init` bot served by `rasa run --enable-api` on a free loopback port (in-memory tracker)."""

    folder: Path
    log_dir: Path
    port: str = field(default_factory=free_port)
    processes: List[subprocess.Popen] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 240) -> "StockBot":
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / "stock-rasa.log"
        out = open(log, "ab")  # noqa: SIM115 (the child keeps it)
        process = subprocess.Popen(
            [RASA, "run", "--enable-api", "--interface", "127.0.0.1", "--port", self.port, "--model", "models"],
            cwd=self.folder,
            env=bench_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        try:
            wait_for(f"{self.rasa_url}/status", timeout, process, log)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        stop_processes(self.processes)


def existing_stock_bot(folder: Path) -> bool:
    return (folder / "models").is_dir() and any((folder / "models").glob("*.tar.gz"))


def copy_stock_bot(source: Path, folder: Path) -> None:
    shutil.copytree(source, folder, dirs_exist_ok=True)


# --- memory -----------------------------------------------------------------------------------------


def _status_kb(pid: int) -> Dict[str, int]:
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        return {}
    return values


def _children_map() -> Dict[int, List[int]]:
    children: Dict[int, List[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def _name(pid: int) -> str:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return str(pid)
    words = [a.decode(errors="replace") for a in args if a]
    # "python -m actions.server" -> "actions.server"; "rasa run ..." -> "rasa run"
    if "-m" in words:
        i = words.index("-m")
        return " ".join(words[i + 1 : i + 3])
    return " ".join(Path(words[0]).name if j == 0 else w for j, w in enumerate(words[:2])) if words else str(pid)


@dataclass
class ProcessMemory:
    name: str
    peak_rss_mb: float = 0.0  # highest VmRSS seen while sampling
    hwm_mb: float = 0.0  # the kernel's own high-water mark (VmHWM), including start-up


class MemorySampler:
    """Samples VmRSS and VmHWM of the given processes and all their descendants every `interval` s."""

    def __init__(self, roots: List[int], interval: float = 0.5) -> None:
        self.roots = roots
        self.interval = interval
        self.processes: Dict[int, ProcessMemory] = {}
        self.peak_total_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _tree(self) -> List[int]:
        children = _children_map()
        found, todo = [], list(self.roots)
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found

    def sample(self) -> None:
        total = 0.0
        for pid in self._tree():
            values = _status_kb(pid)
            if not values:
                continue
            memory = self.processes.get(pid) or self.processes.setdefault(pid, ProcessMemory(f"{_name(pid)} [{pid}]"))
            rss = values.get("VmRSS", 0) / 1024
            memory.peak_rss_mb = max(memory.peak_rss_mb, rss)
            memory.hwm_mb = max(memory.hwm_mb, values.get("VmHWM", 0) / 1024)
            total += rss
        self.peak_total_mb = max(self.peak_total_mb, total)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> "MemorySampler":
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()

    def report(self) -> Dict[str, object]:
        return {
            "processes": {
                m.name: {"peak_rss_mb": round(m.peak_rss_mb), "hwm_mb": round(m.hwm_mb)}
                for m in self.processes.values()
            },
            # Sum of each process's high-water mark: an upper bound on everything resident at once.
            "sum_hwm_mb": round(sum(m.hwm_mb for m in self.processes.values())),
            "peak_total_rss_mb": round(self.peak_total_mb),
        }


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(roots: List[int]) -> Dict[str, float]:
    """User + system CPU time so far of each process in the trees under `roots`."""
    children = _children_map()
    found, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    times = {}
    for pid in found:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        times[f"{_name(pid)} [{pid}]"] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return times


def root_pids(server: Server) -> List[int]:
    return [p.pid for p in server.processes]


def start_timed(server: Server) -> float:
    began = time.monotonic()
    server.start()
    return time.monotonic() - began


def python_version() -> str:
    return sys.version.split()[0]


def optional_path(text: Optional[str]) -> Optional[Path]:
    return Path(text).resolve() if text else None

"""Starting the assistant: the action server and the Rasa server, wired from settings.

`sga run` (called by `make run`) and the integration tests both use `Stack`, so what is tested is
what runs. Both servers bind to 127.0.0.1 unless configured otherwise, and the Rasa HTTP API is
always protected by a token (a random one is made for the run when `.env` sets none).

Secrets: `sga run` makes a random CONVERSATION_HASH_SALT at the first run and keeps it in `.env`.
Outside local development (SQLite and loopback addresses only), start-up stops with a clear message
when the salt is the public default or a token is missing. Rasa only takes its API token on the
command line, where `ps` shows it to every user of the machine, so Rasa is started through
`python -m sga_tools.runner`, which reads RASA_AUTH_TOKEN from the environment and hands it to
Rasa's own entry point inside the process.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Dict, List, Optional

from sga.settings import PROJECT_ROOT, VAR_DIR, Settings, load_settings

BIN_DIR = Path(sys.executable).parent
MODELS_DIR = PROJECT_ROOT / "models"


def rasa_env(settings: Settings) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(settings.environment())
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("SQL_POOL_SIZE", "5")
    env.setdefault("SQL_MAX_OVERFLOW", "10")
    return env


def with_tokens(settings: Settings) -> Settings:
    """Fill in random tokens for this run where the settings have none."""
    return replace(
        settings,
        action_server_token=settings.action_server_token or secrets.token_urlsafe(24),
        rasa_auth_token=settings.rasa_auth_token or secrets.token_urlsafe(24),
    )


DEFAULT_SALT = "local-development-salt"  # sga/settings.py's default: public, for local development only
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def is_local_development(settings: Settings) -> bool:
    """SQLite stores and every server on a loopback address: one person on this machine."""
    sqlite = all(url.startswith("sqlite") for url in (settings.database_url, settings.tracker_store_url))
    hosts = {settings.rasa_host, settings.action_server_host, settings.webchat_host}
    return sqlite and hosts <= LOOPBACK


def deployment_problems(settings: Settings) -> List[str]:
    """What stops start-up outside local development (empty when the settings are fit to run)."""
    if is_local_development(settings):
        return []
    problems = []
    if settings.conversation_salt in ("", DEFAULT_SALT) or len(settings.conversation_salt) < 16:
        problems.append(
            "CONVERSATION_HASH_SALT is the public default or shorter than 16 characters: "
            "set a long random value (python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    if not settings.rasa_auth_token:
        problems.append("RASA_AUTH_TOKEN is not set: set a long random value")
    if not settings.action_server_token:
        problems.append("ACTION_SERVER_TOKEN is not set: set a long random value")
    return problems


def ensure_salt(settings: Settings, env_file: Path = PROJECT_ROOT / ".env") -> Settings:
    """At the first local run, replace the public default salt by a random one kept in `.env`."""
    if settings.conversation_salt not in ("", DEFAULT_SALT) or not is_local_development(settings):
        return settings
    salt = secrets.token_urlsafe(32)
    existing = env_file.read_text(encoding="utf-8") if env_file.exists() else ""
    with open(env_file, "a", encoding="utf-8") as out:
        out.write(
            ("" if not existing or existing.endswith("\n") else "\n")
            + "# Made by `sga run` at its first start: links outcome records to conversations. Keep it secret;\n"
            + "# changing it breaks the link for records already written.\n"
            + f"CONVERSATION_HASH_SALT={salt}\n"
        )
    os.chmod(env_file, 0o600)
    print(f"Made a random CONVERSATION_HASH_SALT and kept it in {env_file}.", flush=True)
    return replace(settings, conversation_salt=salt)


def wait_for(url: str, timeout: float, process: subprocess.Popen, log: Optional[Path] = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def free_port(host: str = "127.0.0.1") -> str:
    """A TCP port nothing listens on just now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return str(sock.getsockname()[1])


def stop_processes(processes: List[subprocess.Popen]) -> None:
    """Stop each process's group (SIGTERM, SIGKILL after 20 s) and empty the list."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    processes.clear()


def action_server_command() -> List[str]:
    """The action server; it listens on ACTION_SERVER_HOST:ACTION_SERVER_PORT from its environment."""
    return [sys.executable, "-m", "actions.server"]


def rasa_command(settings: Settings, model: Path) -> List[str]:
    """The Rasa server, through `launch_rasa` so the token is read from the environment."""
    return [
        sys.executable,
        "-m",
        "sga_tools.runner",
        "run",
        "--model",
        str(model),
        "--endpoints",
        settings.rasa_endpoints,
        "--credentials",
        "bot/credentials.yml",
        "--enable-api",
        "--cors",
        *settings.rasa_cors.split(),
        "--interface",
        settings.rasa_host,
        "--port",
        settings.rasa_port,
    ]


@dataclass
class Stack:
    settings: Settings
    model: Path = MODELS_DIR
    log_dir: Optional[Path] = None
    webchat: bool = False
    processes: List[subprocess.Popen] = field(default_factory=list)
    # Told each server's name and the seconds since the start as it answers (`sga run` prints them).
    on_ready: Optional[Callable[[str, float], None]] = None

    @property
    def webchat_url(self) -> str:
        return f"http://{self.settings.webchat_host}:{self.settings.webchat_port}/"

    @property
    def rasa_url(self) -> str:
        return f"http://{self.settings.rasa_host}:{self.settings.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://{self.settings.action_server_host}:{self.settings.action_server_port}"

    def _spawn(
        self, args: List[str], name: str, settings: Optional[Settings] = None, env: Optional[Dict[str, str]] = None
    ) -> subprocess.Popen:
        out = None
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (the child process keeps it open)
        process = subprocess.Popen(
            args,
            cwd=PROJECT_ROOT,
            env={**rasa_env(settings or self.settings), **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def start(self, timeout: float = 240) -> "Stack":
        from sga.outcomes.migrate import upgrade

        VAR_DIR.mkdir(exist_ok=True)
        upgrade(self.settings.database_url)
        s = self.settings
        started = time.monotonic()
        actions = self._spawn(action_server_command(), "actions")
        # The token reaches Rasa through its environment (RASA_AUTH_TOKEN), never its command line.
        rasa = self._spawn(rasa_command(s, self.model), "rasa")
        webchat = None
        if self.webchat:
            webchat = self._spawn(
                [
                    sys.executable,
                    "-m",
                    "sga_tools.webchat",
                    "--host",
                    s.webchat_host,
                    "--port",
                    s.webchat_port,
                    "--rasa-url",
                    self.rasa_url,
                ],
                "webchat",
            )
        try:
            wait_for(f"{self.action_url}/health", 60, actions, self._log("actions"))
            self._ready("action server", started)
            if webchat:
                wait_for(self.webchat_url, 30, webchat, self._log("webchat"))
                self._ready("web chat page", started)
            wait_for(f"{self.rasa_url}/status?token={s.rasa_auth_token}", timeout, rasa, self._log("rasa"))
            self._ready("Rasa server", started)
        except Exception:
            self.stop()
            raise
        return self

    def _ready(self, name: str, started: float) -> None:
        if self.on_ready:
            self.on_ready(name, time.monotonic() - started)

    def _log(self, name: str) -> Optional[Path]:
        return self.log_dir / f"{name}.log" if self.log_dir else None

    def stop(self) -> None:
        stop_processes(self.processes)

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def run(args) -> int:
    settings = ensure_salt(load_settings())
    problems = deployment_problems(settings)
    if problems:
        print(
            "error: not starting: these settings are unsafe outside local development (SQLite, loopback "
            "addresses):\n  - " + "\n  - ".join(problems) + "\nSet them in .env (see .env.example).",
            file=sys.stderr,
        )
        return 2
    settings = with_tokens(settings)
    stack = Stack(settings, webchat=True, on_ready=print_ready)
    print(
        "Starting the action server, the web chat page and the Rasa server (about a minute; the Rasa server "
        "is last, as it loads the model)...",
        flush=True,
    )
    try:
        stack.start()
    except (RuntimeError, TimeoutError) as error:
        print(f"error: the assistant did not start: {error}", file=sys.stderr)
        return 1
    s = settings
    teams = "on" if s.teams_app_id else "off: set TEAMS_APP_ID, see docs/teams.md"
    print(
        f"""
The safeguarding guidance assistant is running.
  Web chat: {stack.webchat_url}
  REST:     curl -s -XPOST {stack.rasa_url}/webhooks/rest/webhook -H 'Content-Type: application/json' \\
              -d '{{"sender":"my-test-conversation-1","message":"what are the MAPPA levels?"}}'
  Tracker:  curl -s '{stack.rasa_url}/conversations/rest-my-test-conversation-1/tracker?token={s.rasa_auth_token}'
  Shell:    in another terminal, .venv/bin/sga shell   (type messages, /stop to quit)
  Teams webhook: {stack.rasa_url}/webhooks/teams/webhook ({teams})
  Outcome log: {s.database_url}   Conversations: {s.tracker_store_url}
Press Ctrl-C to stop.""",
        flush=True,
    )
    # Handle both explicitly: a shell that starts `make run` in the background ignores SIGINT for it.
    stopping = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.append(True))
    while not stopping and all(p.poll() is None for p in stack.processes):
        time.sleep(0.5)
    died = [p for p in stack.processes if p.poll() is not None]
    for process in died:
        print(
            f"error: {' '.join(process.args[1:3])} stopped unexpectedly (exit {process.returncode}); "
            "its messages are above",
            file=sys.stderr,
        )
    print("\nStopping...", flush=True)
    stack.stop()
    return 1 if died and not stopping else 0


def print_ready(name: str, seconds: float) -> None:
    print(f"  {name} ready in {seconds:.1f} s", flush=True)


def shell(args) -> int:
    """A terminal conversation with the running assistant, through its REST channel."""
    import json

    settings = load_settings()
    url = f"http://{settings.rasa_host}:{settings.rasa_port}/webhooks/rest/webhook"
    sender = "shell-" + secrets.token_hex(8)
    print(f"Talking to {url} as {sender}. Type /stop to quit.")
    while True:
        try:
            message = input("you> ").strip()
        except EOFError:
            return 0
        if message == "/stop":
            return 0
        request = urllib.request.Request(
            url,
            data=json.dumps({"sender": sender, "message": message}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                replies = json.load(response)
        except urllib.error.HTTPError as error:  # refused (too long, too fast): say why
            try:
                print("bot>", json.load(error).get("error", error.reason))
            except ValueError:
                print(f"error: {error.code} {error.reason}")
            continue
        except (urllib.error.URLError, ConnectionError) as error:
            print(f"error: is the assistant running (make run)? {error}")
            continue
        for reply in replies:
            print("bot>", reply.get("text", ""))
            for i, button in enumerate(reply.get("buttons") or [], 1):
                print(f"     [{i}] {button['title']}  ->  {button['payload']}")


def register(subparsers) -> None:
    subparsers.add_parser("run", help="Start the action server and the Rasa server.").set_defaults(handler=run)
    subparsers.add_parser("shell", help="Chat with the running assistant in the terminal.").set_defaults(handler=shell)


def launch_rasa(argv: List[str]) -> int:
    """Run `rasa <argv>` in this process with `--auth-token` from RASA_AUTH_TOKEN.

    sys.argv is set inside the process only, so the token is never part of the command line that
    `ps` and /proc/<pid>/cmdline show.
    """
    settings = load_settings()
    problems = deployment_problems(settings)
    if problems:
        print("error: Rasa not started: " + "; ".join(problems), file=sys.stderr)
        return 2
    if not settings.rasa_auth_token:
        print("error: RASA_AUTH_TOKEN is empty: refusing to start Rasa with an open HTTP API", file=sys.stderr)
        return 2
    from rasa.__main__ import main as rasa_main

    # One argument, `--auth-token=VALUE`: a random token may start with "-", which argparse would
    # otherwise read as an option of its own.
    sys.argv = ["rasa", *argv, f"--auth-token={settings.rasa_auth_token}"]
    try:
        rasa_main()
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(launch_rasa(sys.argv[1:]))

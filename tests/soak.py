"""`make soak`: many conversations at once against two Rasa servers and two action servers behind
local balancers, sharing the PostgreSQL tracker store and the Redis lock store.

Every conversation alternates between the two Rasa servers turn by turn (the balancer sends a
conversation's next message to the other server). Half the conversations ask guidance questions,
follow-ups and change partnership; the other half complete a checklist and save it. The run passes
only with zero errors, every conversation consistent (each reply what that turn asks for, the
tracker holding exactly the turns sent, in order, with the expected partnership) and exactly one
outcome record per completed checklist.

Traffic goes to 127.0.0.1 only; every loop is bounded in count and time. Needs PostgreSQL and Redis
on 127.0.0.1 (the tests' defaults). `python -m tests.soak --conversations 50 --turns 20`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import aiohttp

from sga.checklists.model import checklists
from sga.outcomes.store import OutcomeStore
from sga.settings import PROJECT_ROOT
from sga_tools.cluster import Cluster
from tests.bench.load import percentile
from tests.conftest import MODEL, stack_settings
from tests.databases import postgres_unreachable_reason, temporary_postgres_database

RESULTS = PROJECT_ROOT / "soak-results"
CHECKLIST_KINDS = ["recognition", "risk_assessment", "disclosure"]
PARTNERSHIPS = ["kent_medway", "west_midlands"]
CITED = {"kent_medway": "Kent and Medway", "west_midlands": "West Midlands"}

# (message, what the reply must contain, the partnership it leaves) for guidance conversations.
GUIDANCE: List[tuple] = [
    ("hi", "", None),
    ("I work in Kent", "Kent and Medway", "kent_medway"),
    ("how do I refer someone to MAPPA?", "Kent and Medway", "kent_medway"),
    ("who can apply under Sarah's Law?", "Source:", "kent_medway"),
    ("timescales?", "", "kent_medway"),
    ("what is Clare's Law right to ask?", "Source:", "kent_medway"),
    ("actually I'm in West Midlands", "West Midlands", "west_midlands"),
    ("how do I refer someone to MAPPA?", "West Midlands", "west_midlands"),
    ("what are the MAPPA categories?", "Source:", "west_midlands"),
    ("what are the MAPPA levels?", "Level 3", "west_midlands"),
    ("when must a section 47 enquiry start?", "Source:", "west_midlands"),
    ("where does that come from?", "", "west_midlands"),
    ("what does the local authority do when it decides to disclose?", "Source:", "west_midlands"),
    ("and in Kent?", "Kent and Medway", "kent_medway"),
    ("what does serious harm mean?", "", "kent_medway"),
    ("who can make a Clare's Law application?", "Source:", "kent_medway"),
    ("what's the weather like?", "", "kent_medway"),
    ("what checks do we make about the person?", "", "kent_medway"),
    ("help", "", "kent_medway"),
    ("thanks", "", "kent_medway"),
]
# The start of what the Rasa server says when the action server or the lock store is down
# (rasa_addons.patches; not imported here, because importing it loads Rasa into the driver).
SERVICE_DOWN = ("The assistant's answer service is not responding", "The assistant cannot take messages just now")
PADDING = ["what are the MAPPA levels?", "who can apply under Sarah's Law?", "what is Clare's Law right to ask?"]


@dataclass
class Outcome:
    index: int
    kind: str  # "guidance" or a checklist kind
    partnership: Optional[str] = None
    sent: List[str] = field(default_factory=list)
    latencies: List[float] = field(default_factory=list)
    upstreams: List[str] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)
    reference: Optional[str] = None


class Client:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str, outcome: Outcome):
        self.session, self.base_url, self.token, self.outcome = session, base_url, token, outcome
        self.client_id = f"soak-{outcome.index:03d}-{uuid.uuid4().hex[:12]}"
        self.replies: List[Dict[str, Any]] = []

    @property
    def text(self) -> str:
        return "\n".join(r.get("text", "") for r in self.replies)

    @property
    def buttons(self) -> List[Dict[str, str]]:
        return [b for r in self.replies for b in (r.get("buttons") or [])]

    async def say(self, message: str, expect: str = "") -> bool:
        self.outcome.sent.append(message)
        began = time.perf_counter()
        try:
            async with self.session.post(
                f"{self.base_url}/webhooks/rest/webhook", json={"sender": self.client_id, "message": message}
            ) as response:
                body = await response.text()
                self.outcome.upstreams.append(response.headers.get("X-SGA-Upstream", "?"))
                if response.status != 200:
                    return self.error(f"turn {len(self.outcome.sent)}: HTTP {response.status}")
                self.replies = json.loads(body)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            return self.error(f"turn {len(self.outcome.sent)}: {type(error).__name__}")
        finally:
            self.outcome.latencies.append(time.perf_counter() - began)
        if not self.replies or not self.text.strip():
            return self.error(f"turn {len(self.outcome.sent)} ({message!r}): empty reply")
        for failure in SERVICE_DOWN:
            if failure in self.text:
                return self.error(f"turn {len(self.outcome.sent)}: a service was down")
        if expect and expect not in self.text:
            return self.error(f"turn {len(self.outcome.sent)} ({message!r}): expected {expect!r}")
        return True

    async def click(self, title: str) -> bool:
        payloads = [b["payload"] for b in self.buttons if b.get("title") == title]
        if not payloads:
            return self.error(f"turn {len(self.outcome.sent) + 1}: no button {title!r}")
        return await self.say(payloads[0])

    def error(self, what: str) -> bool:
        self.outcome.errors.append(what)
        return False

    async def tracker(self) -> Dict[str, Any]:
        async with self.session.get(
            f"{self.base_url}/conversations/rest-{self.client_id}/tracker", params={"token": self.token}
        ) as response:
            return await response.json()


async def guidance_conversation(client: Client, turns: int) -> None:
    for message, expect, partnership in GUIDANCE[:turns]:
        if not await client.say(message, expect):
            return
        client.outcome.partnership = partnership


async def checklist_conversation(client: Client, turns: int) -> None:
    outcome = client.outcome
    kind, partnership = outcome.kind, outcome.partnership
    assert partnership is not None
    items = checklists()[kind]
    if not await client.say(f'/inform_partnership{{"partnership":"{partnership}"}}'):
        return
    if not await client.say(f"start the {kind.replace('_', ' ')} checklist", items.title):
        return
    for step in range(40):
        titles = [b["title"] for b in client.buttons]
        if "Why is this asked?" not in titles:
            break
        choice = ["Yes", "No", "Not known"][(outcome.index + step) % 3]
        if not await client.click(choice if choice in titles else titles[0]):
            return
    else:
        client.error("the checklist did not end")
        return
    if not await client.say("social_worker", "case reference"):
        return
    if not await client.say(f"CR-2026-{outcome.index:04d}", "Save this to the outcome log?"):
        return
    if not await client.click("Save") or "Your reference is SGA-" not in client.text:
        client.error("saving gave no reference")
        return
    outcome.reference = client.text.split("Your reference is ")[1].split(".")[0]
    padding = 0
    while len(outcome.sent) < turns:
        if not await client.say(PADDING[padding % len(PADDING)], CITED[partnership]):
            return
        padding += 1


async def check_tracker(client: Client) -> None:
    """The conversation as the tracker store keeps it: the turns sent, in order, and the partnership."""
    tracker = await client.tracker()
    said = [e.get("text") for e in tracker.get("events", []) if e.get("event") == "user"]
    if said != client.outcome.sent:
        client.error(f"the tracker holds {len(said)} user turns, not the {len(client.outcome.sent)} sent in order")
    partnership = tracker.get("slots", {}).get("partnership")
    if client.outcome.partnership and partnership != client.outcome.partnership:
        client.error(f"partnership is {partnership!r}, expected {client.outcome.partnership!r}")
    if tracker.get("slots", {}).get("checklist_state") is not None:
        client.error("a checklist is still open")


async def drive(base_url: str, token: str, conversations: int, turns: int, deadline_s: float) -> List[Outcome]:
    outcomes = []
    for i in range(conversations):
        if i % 2:
            outcomes.append(Outcome(i, "guidance"))
        else:
            kind = CHECKLIST_KINDS[(i // 2) % len(CHECKLIST_KINDS)]
            outcomes.append(Outcome(i, kind, partnership=PARTNERSHIPS[(i // 6) % 2]))
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as session:
        clients = [Client(session, base_url, token, o) for o in outcomes]

        async def one(client: Client) -> None:
            if client.outcome.kind == "guidance":
                await guidance_conversation(client, turns)
            else:
                await checklist_conversation(client, turns)
            await check_tracker(client)

        try:
            await asyncio.wait_for(asyncio.gather(*(one(c) for c in clients)), timeout=deadline_s)
        except asyncio.TimeoutError:
            for client in clients:
                client.error(f"not finished within {deadline_s:.0f} s")
    return outcomes


@dataclass
class Report:
    conversations: int
    turns: int
    errors: List[str]
    p50_ms: float
    p95_ms: float
    seconds: float
    checklists_completed: int
    records: int
    records_matching: bool
    alternated: float  # share of turns served by another Rasa server than the conversation's previous turn

    @property
    def passed(self) -> bool:
        return not self.errors and self.records_matching and self.records == self.checklists_completed

    def lines(self) -> List[str]:
        return [
            f"conversations: {self.conversations}   turns: {self.turns}   errors: {len(self.errors)}",
            f"latency per turn: p50 {self.p50_ms:.0f} ms, p95 {self.p95_ms:.0f} ms   "
            f"({self.turns / self.seconds:.1f} turns/s over {self.seconds:.0f} s)",
            f"turns served by the other Rasa server than the previous turn: {self.alternated:.0%}",
            f"checklists completed: {self.checklists_completed}   outcome records: {self.records}   "
            f"one record per checklist: {'yes' if self.records_matching else 'NO'}",
            "PASSED" if self.passed else "FAILED",
        ]


def run_soak(cluster: Cluster, conversations: int, turns: int, deadline_s: float = 900) -> Report:
    began = time.monotonic()
    outcomes = asyncio.run(drive(cluster.rasa_url, cluster.settings.rasa_auth_token, conversations, turns, deadline_s))
    seconds = time.monotonic() - began
    store = OutcomeStore(cluster.settings.database_url, cluster.settings.spool_dir)
    try:
        records = store.records()
    finally:
        store.close()
    references = [o.reference for o in outcomes if o.reference]
    stored = [r["reference"] for r in records]
    errors = [f"conversation {o.index} ({o.kind}): {e}" for o in outcomes for e in o.errors]
    latencies = [t for o in outcomes for t in o.latencies]
    switches = sum(1 for o in outcomes for a, b in zip(o.upstreams, o.upstreams[1:], strict=False) if a != b)
    pairs = sum(max(0, len(o.upstreams) - 1) for o in outcomes)
    return Report(
        conversations=conversations,
        turns=sum(len(o.sent) for o in outcomes),
        errors=errors,
        p50_ms=percentile(latencies, 50) * 1000,
        p95_ms=percentile(latencies, 95) * 1000,
        seconds=seconds,
        checklists_completed=len(references),
        records=len(records),
        records_matching=sorted(stored) == sorted(references) and len(set(stored)) == len(stored),
        alternated=switches / pairs if pairs else 0.0,
    )


def soak_settings(tmp: Path, tracker_url: str, outcomes_url: str):
    return stack_settings(
        tmp,
        database_url=outcomes_url,
        tracker_store_url=tracker_url,
        rasa_endpoints="bot/endpoints.production.yml",
        # Every conversation comes from 127.0.0.1: the per-address limit would count them all as one
        # user. The per-sender limit stays on.
        rate_limit_per_address="0/60",
        log_level="WARNING",
    )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--rasa-servers", type=int, default=2)
    parser.add_argument("--action-servers", type=int, default=2)
    args = parser.parse_args(argv)
    if not MODEL.exists():
        print(f"error: no trained model at {MODEL}: run `make model`", file=sys.stderr)
        return 2
    problem = postgres_unreachable_reason()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="sga-soak-"))
    with temporary_postgres_database() as tracker_url, temporary_postgres_database() as outcomes_url:
        settings = soak_settings(tmp, tracker_url, outcomes_url)
        print(
            f"Starting {args.rasa_servers} Rasa servers and {args.action_servers} action servers behind "
            "local balancers (PostgreSQL tracker store, Redis lock store)...",
            flush=True,
        )
        began = time.monotonic()
        cluster = Cluster(
            settings,
            model=MODEL,
            log_dir=tmp / "logs",
            rasa_servers=args.rasa_servers,
            action_servers=args.action_servers,
        ).start()
        print(f"ready in {time.monotonic() - began:.0f} s; {args.conversations} conversations x {args.turns} turns")
        try:
            report = run_soak(cluster, args.conversations, args.turns)
        finally:
            cluster.stop()
    for line in report.lines():
        print(line)
    for error in report.errors[:20]:
        print("  -", error)
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H-%M-%S")
    figures = {k: v for k, v in report.__dict__.items() if k != "errors"}
    figures.update(errors=len(report.errors), passed=report.passed, when=stamp)
    (RESULTS / f"soak-{stamp}.json").write_text(json.dumps(figures, indent=2))
    print(f"logs: {tmp / 'logs'}   figures: {RESULTS / f'soak-{stamp}.json'}")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())

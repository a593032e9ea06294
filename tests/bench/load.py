"""The load generator: conversations over REST with asyncio + aiohttp, bounded in messages and time.

`concurrency` workers each hold one conversation at a time and start the next script with a new
sender when one ends, until the level has sent `max_messages` or `max_seconds` have passed. Every
message's round trip is timed. An error is a refused or failed request (non-200, timeout, connection
error) or a reply saying a service is unavailable or the sender is rate limited; after an error that
conversation is dropped and the worker starts the next one.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import secrets
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Sequence

import aiohttp

from tests.bench.scripts import Replies, Script, text

REQUEST_TIMEOUT = 60.0


def percentile(samples: Sequence[float], p: float) -> float:
    """Nearest-rank percentile; NaN when there are no samples."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class LevelResult:
    name: str
    concurrency: int
    messages: int = 0  # answered (status 200, not an unavailable reply)
    errors: int = 0
    error_kinds: Dict[str, int] = field(default_factory=dict)
    empty_replies: int = 0
    conversations: int = 0
    goals_reached: int = 0  # conversations whose script returned True (e.g. a checklist saved)
    checklists: int = 0
    seconds: float = 0.0
    latencies_ms: List[float] = field(default_factory=list)

    @property
    def msg_per_s(self) -> float:
        return self.messages / self.seconds if self.seconds else math.nan

    def summary(self) -> Dict[str, Any]:
        data = asdict(self)
        lat = data.pop("latencies_ms")
        data.update(
            msg_per_s=round(self.msg_per_s, 1),
            p50_ms=round(percentile(lat, 50), 1),
            p95_ms=round(percentile(lat, 95), 1),
            p99_ms=round(percentile(lat, 99), 1),
            max_ms=round(max(lat), 1) if lat else math.nan,
            seconds=round(self.seconds, 1),
        )
        return data


class Level:
    def __init__(
        self,
        url: str,
        scripts: Sequence[Script],
        concurrency: int,
        max_messages: int,
        max_seconds: float,
        failure_texts: Sequence[str],
        name: str,
    ) -> None:
        self.url = url
        self.scripts = scripts
        self.concurrency = concurrency
        self.max_messages = max_messages
        self.max_seconds = max_seconds
        self.failure_texts = [t for t in failure_texts if t]
        self.result = LevelResult(name=name, concurrency=concurrency)
        self.sent = 0
        self.next_script = itertools.count()
        self.run_id = secrets.token_hex(4)
        self.kinds: Counter = Counter()

    def _budget_left(self, deadline: float) -> bool:
        return self.sent < self.max_messages and time.monotonic() < deadline

    def _error(self, kind: str) -> None:
        self.result.errors += 1
        self.kinds[kind] += 1

    async def _send(self, session: aiohttp.ClientSession, sender: str, message: str) -> Replies | None:
        self.sent += 1
        began = time.perf_counter()
        try:
            async with session.post(self.url, json={"sender": sender, "message": message}) as response:
                body = await response.read()
                elapsed = (time.perf_counter() - began) * 1000
                if response.status != 200:
                    self._error(f"HTTP {response.status}")
                    return None
                replies = json.loads(body)
        except (asyncio.TimeoutError, aiohttp.ClientError, ValueError) as error:
            self._error(type(error).__name__)
            return None
        said = text(replies)
        if any(failure in said for failure in self.failure_texts):
            self._error("unavailable or rate-limited reply")
            return None
        if not replies:
            self.result.empty_replies += 1
        self.result.messages += 1
        self.result.latencies_ms.append(elapsed)
        return replies

    async def _worker(self, session: aiohttp.ClientSession, deadline: float) -> None:
        while self._budget_left(deadline):
            n = next(self.next_script)
            script = self.scripts[n % len(self.scripts)]
            sender = f"bench-{self.run_id}-{n:06d}"
            conversation = script()
            self.result.conversations += 1
            if script.__name__.startswith("checklist"):
                self.result.checklists += 1
            try:
                message = next(conversation)
                while self._budget_left(deadline):
                    replies = await self._send(session, sender, message)
                    if replies is None:
                        break
                    message = conversation.send(replies)
            except StopIteration as done:
                if done.value:
                    self.result.goals_reached += 1
            finally:
                conversation.close()

    async def run(self) -> LevelResult:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        connector = aiohttp.TCPConnector(limit=self.concurrency, force_close=False)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            began = time.monotonic()
            deadline = began + self.max_seconds
            await asyncio.gather(*(self._worker(session, deadline) for _ in range(self.concurrency)))
            self.result.seconds = time.monotonic() - began
        self.result.error_kinds = dict(self.kinds)
        return self.result


def run_level(
    url: str,
    scripts: Sequence[Script],
    concurrency: int,
    max_messages: int,
    max_seconds: float,
    failure_texts: Sequence[str] = (),
    name: str = "",
) -> LevelResult:
    level = Level(url, scripts, concurrency, max_messages, max_seconds, failure_texts, name or f"{concurrency} users")
    return asyncio.run(level.run())

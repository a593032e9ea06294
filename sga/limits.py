"""Rate limits on messages, per sender and per client address, shared by the REST and socket.io channels.

A limit is "N messages in S seconds" (settings RATE_LIMIT_PER_SENDER and RATE_LIMIT_PER_ADDRESS,
written `N/S`; `0/S` switches a limit off). Counting is in-process (a sliding window per key),
or in Redis when the endpoints file uses the Redis lock store, so that every Rasa replica counts
against the same budget. If Redis cannot be reached the count falls back to this process: a limit
never blocks the assistant because a counter is down.

Nothing here imports Rasa, so the action server could use the same limiter for saves.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Deque, Dict, Optional, Protocol, Tuple

logger = logging.getLogger(__name__)

RATE_LIMITED_REPLY = (
    "You're sending messages faster than I can answer. Please wait a minute and try again. "
    "If a child is in immediate danger, call 999."
)


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> "Limit":
        """`"60/60"` -> 60 messages in 60 seconds. Raises ValueError on anything else."""
        count, _, seconds = text.strip().partition("/")
        limit = cls(int(count), float(seconds))
        if limit.count < 0 or limit.seconds <= 0:
            raise ValueError(f"a rate limit must be N/S with N >= 0 and S > 0, not {text!r}")
        return limit

    @property
    def off(self) -> bool:
        return self.count == 0


class Counter(Protocol):
    async def hit(self, key: str, limit: Limit) -> bool:
        """Count one message for `key`; False when it is over the limit (the message is refused)."""


class MemoryCounter:
    """Sliding-window counts in this process. Old keys are dropped as the table grows."""

    MAX_KEYS = 50_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.hits: Dict[str, Deque[float]] = {}

    async def hit(self, key: str, limit: Limit) -> bool:
        return self.hit_now(key, limit)

    def hit_now(self, key: str, limit: Limit) -> bool:
        now = self.clock()
        window = self.hits.get(key)
        if window is None:
            if len(self.hits) >= self.MAX_KEYS:
                self._forget_idle(now, limit.seconds)
            window = self.hits[key] = deque()
        while window and window[0] <= now - limit.seconds:
            window.popleft()
        if len(window) >= limit.count:
            return False
        window.append(now)
        return True

    def _forget_idle(self, now: float, seconds: float) -> None:
        for key in [k for k, w in self.hits.items() if not w or w[-1] <= now - seconds]:
            del self.hits[key]


class RedisCounter:
    """Fixed-window counts in Redis (INCR + EXPIRE), shared by every Rasa replica."""

    def __init__(self, client: Any, prefix: str, fallback: Optional[MemoryCounter] = None) -> None:
        self.client = client
        self.prefix = prefix
        self.fallback = fallback or MemoryCounter()
        self._warned = False

    async def hit(self, key: str, limit: Limit) -> bool:
        window = int(time.time() // limit.seconds)
        redis_key = f"{self.prefix}:ratelimit:{key}:{window}"
        try:
            pipe = self.client.pipeline()
            pipe.incr(redis_key)
            pipe.expire(redis_key, int(limit.seconds) + 1)
            count, _ = await pipe.execute()
        except Exception as error:  # Redis down or misconfigured: count here instead
            if not self._warned:
                logger.warning("rate limits: Redis unavailable (%s); counting in this process", type(error).__name__)
                self._warned = True
            return self.fallback.hit_now(key, limit)
        return int(count) <= limit.count


class RateLimits:
    """The per-sender and per-address limits on incoming messages."""

    def __init__(self, per_sender: Limit, per_address: Limit, counter: Optional[Counter] = None) -> None:
        self.per_sender = per_sender
        self.per_address = per_address
        self.counter: Counter = counter or MemoryCounter()

    async def allow(self, channel: str, sender: str, address: Optional[str]) -> bool:
        """Count one message; False when the sender or the address is over its limit."""
        if address and not self.per_address.off and not await self.counter.hit(f"addr:{address}", self.per_address):
            return False
        return self.per_sender.off or await self.counter.hit(f"sender:{channel}:{sender}", self.per_sender)


def counter_for(settings: Any) -> Counter:
    """Redis when the configured endpoints use the Redis lock store, this process otherwise."""
    if not uses_redis_lock_store(settings.rasa_endpoints):
        return MemoryCounter()
    import redis.asyncio as aioredis

    client = aioredis.Redis(
        host=settings.redis_host,
        port=int(settings.redis_port),
        db=int(settings.redis_db),
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
    )
    return RedisCounter(client, settings.redis_key_prefix)


def uses_redis_lock_store(endpoints_path: str) -> bool:
    from pathlib import Path

    import yaml

    from sga.settings import PROJECT_ROOT

    path = Path(endpoints_path)
    path = path if path.is_absolute() else PROJECT_ROOT / path
    try:
        endpoints = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return False
    lock_store = endpoints.get("lock_store") if isinstance(endpoints, dict) else None
    return isinstance(lock_store, dict) and lock_store.get("type") == "redis"


_limits: Optional[RateLimits] = None


_save_limit: Optional[Tuple[Limit, Counter]] = None


async def may_save(conversation: str) -> bool:
    """Count one save to the outcome log for this conversation; False when it is over the limit."""
    global _save_limit
    if _save_limit is None:
        from sga.settings import load_settings

        settings = load_settings()
        _save_limit = (Limit.parse(settings.rate_limit_saves), counter_for(settings))
    limit, counter = _save_limit
    return limit.off or await counter.hit(f"save:{conversation}", limit)


def rate_limits() -> RateLimits:
    """The limits for this process, from the settings (made once, shared by the channels)."""
    global _limits
    if _limits is None:
        from sga.settings import load_settings

        settings = load_settings()
        _limits = RateLimits(
            Limit.parse(settings.rate_limit_per_sender),
            Limit.parse(settings.rate_limit_per_address),
            counter_for(settings),
        )
    return _limits

"""The checks every channel applies before Rasa (security issue, findings 3, 4 and 7), and the
rate limiter, without a running server."""

from __future__ import annotations

import asyncio
import logging

import pytest

from rasa_addons.channels.guard import (
    BLANK_REPLY,
    TOO_LONG_REPLY,
    check_message,
    escape_for_log,
    is_payload,
    metadata_problem,
    sender_problem,
)
from rasa_addons.channels.rest import conversation_id, problem
from sga.limits import Limit, MemoryCounter, RateLimits

INTENTS = {"inform_partnership", "ask_mappa_levels", "greet"}


@pytest.mark.parametrize("message", ["", "   ", "\r\n" * 2500, None, 5, ["hi"], {"text": "hi"}, "/", "///  "])
def test_blank_or_non_text_messages_get_a_plain_answer(message):
    assert check_message(message, INTENTS).reply == BLANK_REPLY


def test_the_length_limit():
    assert check_message("x" * 5000, INTENTS).text == "x" * 5000
    assert check_message("x" * 5001, INTENTS).reply == TOO_LONG_REPLY
    assert check_message("x" * 950_000, INTENTS).reply == TOO_LONG_REPLY


@pytest.mark.parametrize(
    "payload",
    [
        "/greet",
        '/inform_partnership{"partnership":"kent_medway"}',
        '/inform_partnership{"partnership": "mars"}',
        "/ask_mappa_levels{}",
    ],
)
def test_payloads_the_assistant_sends_go_to_rasa_unchanged(payload):
    assert is_payload(payload, INTENTS)
    assert check_message(payload, INTENTS).text == payload


@pytest.mark.parametrize(
    "message, text",
    [
        ('/ask_mappa_levels{"broken": \nFAKE LOG LINE', 'ask_mappa_levels{"broken": \nFAKE LOG LINE'),
        ("/no_such_intent", "no_such_intent"),
        ("/hi there, I'm Jane Smith", "hi there, I'm Jane Smith"),
        ("/inform_partnership{" + "[" * 3000 + "}", "inform_partnership{" + "[" * 3000 + "}"),
        (
            '/inform_partnership{"partnership": {"nested": {"deeper": 1}}}',
            'inform_partnership{"partnership": {"nested": {"deeper": 1}}}',
        ),
        ('/inform_partnership{"partnership": ["a", "b"]}', 'inform_partnership{"partnership": ["a", "b"]}'),
        ("/greet@0.9", "greet@0.9"),
        ("//s47 what happens next", "s47 what happens next"),
    ],
)
def test_malformed_payloads_go_on_as_plain_text(message, text):
    """Rasa's payload parser logs the whole message as a warning when it fails: it never sees these."""
    assert not is_payload(message.strip(), INTENTS)
    assert check_message(message, INTENTS).text == text


def test_an_oversized_entity_value_is_not_a_payload():
    assert not is_payload('/inform_partnership{"partnership": "' + "x" * 500 + '"}', INTENTS)


@pytest.mark.parametrize(
    "sender",
    [
        "a",
        "default",
        "x" * 15,
        "x" * 65,
        "a/bcdefghijklmnopq",
        "abcdefghijklmnop\x00",
        "abcdefghijklmnop\n",
        "abcdefghij%2Fklmnop",
        "abcdefghijklmnop ",
        7,
        None,
        "ääääääääääääääääää",
    ],
)
def test_guessable_or_unaddressable_senders_are_refused(sender):
    assert sender_problem(sender)
    assert problem({"sender": sender, "message": "hello"})[0] == 400


def test_good_senders_are_namespaced_apart_from_other_channels():
    sender = "c0ffee-5a1t_0123456789"
    assert sender_problem(sender) is None and problem({"sender": sender, "message": "hello"}) is None
    assert conversation_id(sender) == "rest-" + sender
    # socket.io session ids are 64 hex characters and Teams ids carry a colon: none starts with "rest-".


@pytest.mark.parametrize(
    "metadata, refused",
    [(None, False), ({"a": 1}, False), ("{}", True), ([1], True), ({"a": "x" * 3000}, True), ({"a": {1, 2}}, True)],
)
def test_metadata_must_be_a_small_object(metadata, refused):
    assert bool(metadata_problem(metadata)) is refused


def test_log_messages_are_one_line(caplog):
    assert escape_for_log("a\nb\r\nc\x00d\x1be") == "a\\nb\\r\\nc\\x00d\\x1be"
    with caplog.at_level(logging.INFO):
        logging.getLogger("sga.test").warning("user said %s", "hi\n2026-01-01 ERROR forged line")
    assert caplog.records[-1].getMessage() == "user said hi\\n2026-01-01 ERROR forged line"
    assert "\n" not in caplog.text.strip()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limit_per_sender_and_per_address():
    clock = Clock()
    limits = RateLimits(Limit.parse("3/60"), Limit.parse("5/60"), MemoryCounter(clock))

    def allow(sender, address):
        return asyncio.run(limits.allow("rest", sender, address))

    assert [allow("alice", "10.0.0.1") for _ in range(4)] == [True, True, True, False]
    assert allow("bob", "10.0.0.1") and not allow("carol", "10.0.0.1"), "the address budget is 5 in all"
    assert allow("dave", "10.0.0.2"), "another address is not affected"
    clock.now += 61
    assert allow("alice", "10.0.0.1"), "the window slides"


def test_rate_limit_settings():
    assert Limit.parse("60/60") == Limit(60, 60.0)
    assert Limit.parse("0/60").off
    for bad in ("sixty", "5", "5/0", "-1/60"):
        with pytest.raises(ValueError):
            Limit.parse(bad)


class FakeRedis:
    """Just enough of redis.asyncio for RedisCounter: a pipeline with INCR and EXPIRE."""

    def __init__(self, down: bool = False) -> None:
        self.counts: dict = {}
        self.expiries: dict = {}
        self.down = down

    def pipeline(self):
        redis, ops = self, []

        class Pipeline:
            def incr(self, key):
                ops.append(("incr", key))

            def expire(self, key, seconds):
                ops.append(("expire", key, seconds))

            async def execute(self):
                if redis.down:
                    raise ConnectionError("redis is down")
                results = []
                for op in ops:
                    if op[0] == "incr":
                        redis.counts[op[1]] = redis.counts.get(op[1], 0) + 1
                        results.append(redis.counts[op[1]])
                    else:
                        redis.expiries[op[1]] = op[2]
                        results.append(True)
                return results

        return Pipeline()


def test_redis_counts_are_shared_and_expire():
    from sga.limits import RedisCounter

    redis = FakeRedis()
    replica_a, replica_b = RedisCounter(redis, "sga"), RedisCounter(redis, "sga")
    limit = Limit.parse("3/60")
    results = [
        asyncio.run(counter.hit("sender:rest:x", limit)) for counter in (replica_a, replica_b, replica_a, replica_b)
    ]
    assert results == [True, True, True, False], "two Rasa replicas share one budget"
    assert all(key.startswith("sga:ratelimit:sender:rest:x:") for key in redis.counts)
    assert set(redis.expiries.values()) == {61}


def test_redis_down_falls_back_to_this_process(caplog):
    from sga.limits import RedisCounter

    counter = RedisCounter(FakeRedis(down=True), "sga")
    limit = Limit.parse("2/60")
    assert [asyncio.run(counter.hit("k", limit)) for _ in range(3)] == [True, True, False]
    assert sum("Redis unavailable" in r.getMessage() for r in caplog.records) == 1


def test_redis_is_used_with_the_production_endpoints():
    from sga.limits import uses_redis_lock_store

    assert uses_redis_lock_store("bot/endpoints.production.yml")
    assert not uses_redis_lock_store("bot/endpoints.yml")
    assert not uses_redis_lock_store("bot/no-such-file.yml")


def test_web_chat_session_ids_are_signed_and_short_lived():
    from rasa_addons.channels.socketio import SESSION_ID_TTL_SECONDS, new_session_id, session_id_is_ours

    key, other_key, now = b"k" * 32, b"o" * 32, 1_800_000_000.0
    session_id = new_session_id(key, now)
    assert len(session_id) == 64 and session_id_is_ours(session_id, key, now + 60)
    assert not session_id_is_ours(session_id, other_key, now + 60), "another deployment's key"
    assert not session_id_is_ours(session_id, key, now + SESSION_ID_TTL_SECONDS + 1), "expired"
    later = session_id[:32] + f"{int(now) + 3600:08x}" + session_id[40:]
    assert not session_id_is_ours(later, key, now + 60), "the issue time cannot be changed"
    assert not session_id_is_ours(session_id[:-1] + ("0" if session_id[-1] != "0" else "1"), key, now)
    for junk in (None, 5, "", "x" * 64, session_id.upper(), session_id + "0"):
        assert not session_id_is_ours(junk, key, now)


def test_saves_are_limited_per_conversation(monkeypatch):
    import asyncio

    from sga import limits

    monkeypatch.setattr(limits, "_save_limit", (Limit.parse("2/3600"), MemoryCounter()))
    results = [asyncio.run(limits.may_save("rest-conversation-a")) for _ in range(3)]
    assert results == [True, True, False]
    assert asyncio.run(limits.may_save("rest-conversation-b")), "another conversation is not affected"

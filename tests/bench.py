"""`make bench`: speed and memory numbers for the running assistant (printed, not asserted).

Starts the real stack on free ports with throwaway databases, then measures start-up time, NLU
parse latency, REST round trips (answers and a checklist step), memory of both servers, and
outcome-log writes. Traffic goes to 127.0.0.1 only; every loop is bounded.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import requests

from sga_tools.runner import Stack
from tests.conftest import MODEL, Conversation, stack_settings

QUESTIONS = [
    "what are the MAPPA levels?",
    "who can apply under Sarah's Law?",
    "what is Clare's Law right to ask?",
    "when must a section 47 enquiry start?",
    "what checks do we make about the person?",
    "what does serious harm mean?",
    "how do I refer to MAPPA?",
    "what's the weather like?",
]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentiles(samples):
    ordered = sorted(samples)
    return (statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000, ordered[-1] * 1000)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="sga-bench-"))
    settings = stack_settings(tmp)
    began = time.monotonic()
    stack = Stack(settings, model=MODEL, log_dir=tmp / "logs").start()
    print(f"start-up (action server + Rasa ready): {time.monotonic() - began:.1f} s")
    try:
        parse = []
        for question in QUESTIONS * 10:
            t = time.perf_counter()
            requests.post(
                f"{stack.rasa_url}/model/parse",
                params={"token": settings.rasa_auth_token},
                json={"text": question},
                timeout=30,
            ).raise_for_status()
            parse.append(time.perf_counter() - t)
        print("NLU parse           p50 %.0f ms  p95 %.0f ms  max %.0f ms  (n=%d)" % (*percentiles(parse), len(parse)))

        rest = []
        for i, question in enumerate(QUESTIONS * 5):
            conversation = Conversation(stack, sender=f"bench-user-{i:06d}")
            t = time.perf_counter()
            conversation.say(question)
            rest.append(time.perf_counter() - t)
        print("REST answer, new user p50 %.0f ms  p95 %.0f ms  max %.0f ms  (n=%d)" % (*percentiles(rest), len(rest)))

        conversation = Conversation(stack, sender="bench-checklist-run")
        conversation.say('/inform_partnership{"partnership":"kent_medway"}')
        conversation.say("start the recognition checklist")
        steps = []
        for _ in range(30):
            if "Why is this asked?" not in [b["title"] for b in conversation.buttons]:
                break
            t = time.perf_counter()
            conversation.say("No")
            steps.append(time.perf_counter() - t)
        print("checklist step      p50 %.0f ms  p95 %.0f ms  max %.0f ms  (n=%d)" % (*percentiles(steps), len(steps)))
        conversation.say("skip")
        conversation.say("skip")
        t = time.perf_counter()
        conversation.say("Save")
        print(f"save to outcome log (SQLite) round trip: {(time.perf_counter() - t) * 1000:.0f} ms")

        long_conversation = Conversation(stack, sender="bench-long-conversation")
        timings = []
        for i in range(60):
            t = time.perf_counter()
            long_conversation.say(QUESTIONS[i % len(QUESTIONS)])
            timings.append(time.perf_counter() - t)
        print(
            f"one conversation of 60 turns: first 10 p50 {statistics.median(timings[:10]) * 1000:.0f} ms, "
            f"last 10 p50 {statistics.median(timings[-10:]) * 1000:.0f} ms"
        )

        actions, rasa = stack.processes
        print(f"memory (RSS): Rasa server {rss_mb(rasa.pid):.0f} MB, action server {rss_mb(actions.pid):.0f} MB")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()

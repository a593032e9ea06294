"""Realistic multi-turn conversations (tests/conversations/*.yml) run over HTTP against the real stack.

One test per dialogue. A failure names the dialogue, the turn, what was typed, what the assistant
said and what was expected, with the conversation so far. The format of the dialogue files is in
tests/conversations/dialogues.py.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import pytest

from tests.conftest import Conversation
from tests.conversations.dialogues import (
    STAGE_TARGETS,
    Dialogue,
    as_list,
    last_question,
    load_dialogues,
    problems,
    recorded_as,
    recorded_label,
    shows_question,
    shows_stage,
)

pytestmark = pytest.mark.integration

DIALOGUES = load_dialogues()
MAX_FILL = 30


class Run:
    """One dialogue being played: the conversation and a transcript for failure messages."""

    def __init__(self, stack, dialogue: Dialogue):
        self.dialogue = dialogue
        self.conversation = Conversation(stack)
        self.transcript: List[Tuple[str, str]] = []
        self.last_reply = ""

    def say(self, text: str) -> str:
        self.conversation.say(text)
        reply = self.conversation.text
        self.transcript.append((text, reply))
        self.last_reply = reply
        return reply

    def history(self, pairs: int = 10) -> str:
        """The last exchanges, with runs of the same exchange shown once."""
        collapsed: List[List[Any]] = []
        for exchange in self.transcript:
            if collapsed and collapsed[-1][0] == exchange:
                collapsed[-1][1] += 1
            else:
                collapsed.append([exchange, 1])
        lines = []
        for (text, reply), count in collapsed[-pairs:]:
            lines.append(f"  user> {text!r}" + (f"   (x{count}, same reply each time)" if count > 1 else ""))
            lines.append("  bot > " + (reply.strip().replace("\n", "\n        ") if reply.strip() else "(nothing)"))
        return "\n".join(lines)

    def report(self, number: int, turn: Dict[str, Any], failures: List[str]) -> str:
        shown = turn.get("user", f"[fill {turn.get('fill')!r} until {turn.get('until')}]")
        reply = self.last_reply.strip().replace("\n", "\n    ") or "(nothing)"
        return (
            f"turn {number}: user typed {shown!r}\n"
            + "".join(f"  - {f}\n" for f in failures)
            + f"  bot said:\n    {reply}\n"
        )

    def play(self) -> None:
        """Play every turn; a turn whose expectations fail is reported and the dialogue goes on, so one
        run shows every gap. It stops only when a fill turn cannot reach its target."""
        reports: List[str] = []
        for number, turn in enumerate(self.dialogue.turns, 1):
            if "fill" in turn:
                reached, failures = self._fill(turn)
            else:
                reached = True
                asked_before = last_question(self.last_reply)
                reply = self.say(turn["user"])
                failures = check(
                    turn,
                    reply,
                    list(self.conversation.replies),
                    self.conversation.tracker()["slots"],
                    self.conversation.buttons,
                )
                if "if_reasked" in turn and asked_before and reasked(reply, asked_before):
                    self.say(turn["if_reasked"])
            if failures:
                reports.append(self.report(number, turn, failures))
            if not reached:
                reports.append(f"(stopped at turn {number} of {len(self.dialogue.turns)})\n")
                break
        if reports:
            pytest.fail(
                f"dialogue {self.dialogue.theme}/{self.dialogue.id}: {self.dialogue.why}\n"
                + "".join(reports)
                + f"conversation (last turns):\n{self.history()}",
                pytrace=False,
            )

    def _fill(self, turn: Dict[str, Any]) -> Tuple[bool, List[str]]:
        """Answer each question with the fill text until the target shows; then check the turn's
        expectations against that reply. Returns whether the target was reached, and the failures."""
        target = turn["until"]
        sent = 0
        while not shows_stage(self.last_reply, target):
            stuck = sent >= 3 and len({r for _, r in self.transcript[-3:]}) == 1
            if sent >= MAX_FILL or stuck:
                return False, [
                    f"answering {turn['fill']!r} to each question never reached {target!r}"
                    + (" (the same reply came back each time)" if stuck else "")
                ]
            self.say(turn["fill"])
            sent += 1
        return True, check(
            turn,
            self.last_reply,
            list(self.conversation.replies),
            self.conversation.tracker()["slots"],
            self.conversation.buttons,
        )


def reasked(reply: str, item: str) -> bool:
    """Whether the reply asks the same question again: it shows that question, or (a short
    clarification such as "Yes, No or Not known?") it shows no other question or stage."""
    now = last_question(reply)
    if now is not None:
        return now == item
    return not any(shows_stage(reply, stage) for stage in STAGE_TARGETS)


def check(
    turn: Dict[str, Any],
    reply: str,
    replies: List[Dict[str, Any]],
    slots: Dict[str, Any],
    buttons: List[Dict[str, str]],
) -> List[str]:
    """Every expectation of the turn that does not hold, in words."""
    failures: List[str] = []
    lower = reply.lower()
    texts = [r.get("text") or "" for r in replies if (r.get("text") or "").strip()]
    topic = slots.get("topic")
    if "topic" in turn and topic not in as_list(turn["topic"]):
        failures.append(f"slot topic is {topic!r}, expected {turn['topic']!r}")
    if "not_topic" in turn and topic in as_list(turn["not_topic"]):
        failures.append(f"slot topic is {topic!r}, which it must not be")
    if "partnership" in turn and slots.get("partnership") != turn["partnership"]:
        failures.append(f"slot partnership is {slots.get('partnership')!r}, expected {turn['partnership']!r}")
    for text in turn.get("says", []):
        if text.lower() not in lower:
            failures.append(f"the reply does not say {text!r}")
    for text in turn.get("not_says", []):
        if text.lower() in lower:
            failures.append(f"the reply says {text!r}, which it must not")
    for text in turn.get("once", []):
        if lower.count(text.lower()) > 1:
            failures.append(f"the reply says {text!r} {lower.count(text.lower())} times (at most once)")
    first = texts[0].lower() if texts else ""
    if turn.get("emergency") is True:
        if "999" not in first:
            failures.append("the first message of the reply is not the 999 advice")
        if topic != "emergency":
            failures.append(f"slot topic is {topic!r}, expected 'emergency' (the 999 advice)")
    if turn.get("emergency") is False:
        if topic == "emergency":
            failures.append("slot topic is 'emergency': this is worrying but not an emergency")
        if first.lstrip().startswith("if a child is in immediate danger"):
            failures.append("the reply opens with the 999 advice: this is worrying but not an emergency")
    asks = as_list(turn.get("asks"))
    if asks and not any(shows_question(reply, item) for item in asks):
        failures.append("the reply does not ask " + " or ".join(asks))
    for item in as_list(turn.get("not_asks")):
        if shows_question(reply, item):
            failures.append(f"the reply asks {item}, which it must not")
    for item, value in (turn.get("recorded") or {}).items():
        if not recorded_as(reply, item, value):
            shown = recorded_label(reply, item)
            where = f" (it shows: {shown!r})" if shown is not None else " (the question is not in the reply)"
            failures.append(f"the summary does not show {item} as {value!r}{where}")
    if turn.get("answered") and not texts:
        failures.append("the assistant sent no reply")
    titles = {b.get("title") for b in buttons}
    for title in turn.get("not_button", []):
        if title in titles:
            failures.append(f"a button is titled {title!r}")
    return failures


@pytest.mark.parametrize("dialogue", DIALOGUES, ids=[d.id for d in DIALOGUES])
def test_conversation(stack, dialogue: Dialogue):
    bad = problems(dialogue)
    assert not bad, "\n".join(bad)
    Run(stack, dialogue).play()

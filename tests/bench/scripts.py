"""The conversations the load generator holds, one generator per conversation.

A script yields the message to send and receives the replies (the REST channel's JSON list); it
returns True when it reached what it was for (a checklist saved). Button presses send the button's
payload, as the web widget does. The assistant's turns are the ones the conversation tests use
(tests/conversations/*.yml, tests/integration/test_checklists.py).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Generator, List, Optional

Replies = List[Dict[str, Any]]
Conversation = Generator[str, Replies, bool]
Script = Callable[[], Conversation]


def text(replies: Replies) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def button_payload(replies: Replies, title: str) -> Optional[str]:
    for reply in replies:
        for button in reply.get("buttons") or []:
            if button.get("title") == title:
                return button.get("payload")
    return None


def button_titles(replies: Replies) -> List[str]:
    return [b.get("title", "") for r in replies for b in (r.get("buttons") or [])]


def talk(*messages: str) -> Script:
    def script() -> Conversation:
        for message in messages:  # noqa: UP028 (`yield from` a tuple would not accept the replies sent in)
            yield message
        return True

    script.__name__ = f"talk({messages[-1][:30]!r})"
    return script


def checklist(kind: str, partnership: str, answer: str) -> Script:
    """Start a checklist, answer every item with `answer` (buttons), give a role and a case
    reference, and save the outcome record."""

    def script() -> Conversation:
        yield f'/inform_partnership{{"partnership":"{partnership}"}}'
        replies = yield f"start the {kind.replace('_', ' ')} checklist"
        for _ in range(40):  # no checklist has 40 items: bounded even if something goes wrong
            titles = button_titles(replies)
            if "Why is this asked?" not in titles:
                break
            choice = answer if answer in titles else titles[0]
            replies = yield button_payload(replies, choice) or choice
        replies = yield "social_worker"
        replies = yield "CR-2024-0193"
        save = button_payload(replies, "Save")
        if save is None:
            return False
        replies = yield save
        return "Your reference is SGA-" in text(replies)

    script.__name__ = f"checklist({kind}, {partnership}, {answer})"
    return script


KM = '/inform_partnership{"partnership":"kent_medway"}'
WM = '/inform_partnership{"partnership":"west_midlands"}'

# Guidance questions, follow-ups ("timescales?", "who decides?"), partnership changes ("and in
# Birmingham?", "switch to kent"), an out-of-scope question (search fallback) and complete checklists
# that write outcome records, interleaved so every concurrency level sees the same mix.
ASSISTANT: List[Script] = [
    talk("what is sarahs law", "timescales?"),
    checklist("recognition", "kent_medway", "No"),
    talk(KM, "who decides if the LA discloses someone's history", "and in Birmingham?"),
    talk("what are the MAPPA levels?", "who can apply under Sarah's Law?", "what is Clare's Law right to ask?"),
    talk(KM, "how do we refer someone who may pose a risk", "actually I'm in Birmingham"),
    checklist("risk_assessment", "west_midlands", "No"),
    talk("hi im on duty desk in medway", "who decides whether we disclose", "what's the weather like?"),
    talk(WM, "what are the indicators someone poses a risk", "switch to kent", "when must a section 47 enquiry start?"),
    checklist("disclosure", "west_midlands", "Not known"),
]

# The stock bot's own domain: greet, mood_great, mood_unhappy, affirm, deny, goodbye, bot_challenge.
STOCK: List[Script] = [
    talk("hello", "I am great", "bye"),
    talk("hi", "I am sad", "yes", "goodbye"),
    talk("hey there", "not good", "no", "see you later"),
    talk("are you a bot?", "good morning", "perfect", "bye bye"),
]

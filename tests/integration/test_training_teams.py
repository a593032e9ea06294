"""A trainee joins a trainer's group session from Microsoft Teams (the offline stand-in connector of
tests/integration/test_teams.py): the code is typed in Teams, the pseudonyms arrive as card buttons,
and the trainer's results in the web chat / REST conversation count the Teams trainee."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.conftest import Conversation
from tests.integration.test_teams import (  # noqa: F401  (fixtures used by name)
    card_actions,
    connector,
    send,
    submit_value,
    teams_activity,
    teams_stack,
    text_of,
)

pytestmark = pytest.mark.integration


def test_a_trainee_joins_from_teams_with_the_code_and_a_pseudonym_card(teams_stack, connector):
    trainer = Conversation(teams_stack)
    trainer.say("start a group session for the prisoner released under MAPPA")
    code = re.search(r"Session code: ([A-Z0-9]{6})", trainer.text).group(1)

    user, chat = "29:1" + uuid.uuid4().hex, "a:1" + uuid.uuid4().hex
    join = teams_activity(connector, f"join session {code}", user=user, conversation=chat)
    assert send(teams_stack, join, connector.sign()).status_code == 200
    posted = connector.wait_for(chat, lambda p: bool(card_actions(p)))
    assert "name is not asked for" in text_of(posted)
    actions = {a["title"]: a for a in card_actions(posted)}
    assert "Stay anonymous" in actions and len(actions) == 5
    name = next(t for t in actions if t != "Stay anonymous")

    click = teams_activity(connector, None, user=user, conversation=chat, value=submit_value(actions[name]))
    before = len(posted)
    assert send(teams_stack, click, connector.sign()).status_code == 200
    posted = connector.wait_for(chat, lambda p: "question 1 of" in text_of(p[before:]))
    assert f"You have joined session {code} as {name}" in text_of(posted[before:])
    assert "A prisoner released under MAPPA" in text_of(posted[before:])

    trainer.say("show the session results")
    assert f"Session {code}" in trainer.text and "0 of 1 trainee finished." in trainer.text

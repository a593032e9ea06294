"""The Rasa server's start-up patch: action replies validated by a validator built once, and an
invalid reply still rejected."""

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

import rasa_addons  # noqa: F401  (applies the patches, as loading a channel does)
from rasa_addons import patches


def test_the_cached_validator_is_in_place():
    assert RemoteAction._validate_action_result is patches._validate_action_result


def test_a_valid_reply_passes_and_an_invalid_one_is_rejected():
    action = RemoteAction("action_answer_topic", None)
    assert action._validate_action_result(
        {"events": [{"event": "slot", "name": "topic", "value": "x"}], "responses": [{"text": "hi"}]}
    )
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": [{"no_event_key": 1}], "responses": []})
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": "not a list"})

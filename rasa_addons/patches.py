"""Start-up patches for the Rasa server (Rasa 3.6 is frozen, so fixes live here). Applied when the
server loads the project's channels (bot/credentials.yml imports `rasa_addons`).

- Action-server replies are validated against Rasa's response schema with a validator built once:
  `jsonschema.validate` re-checks the schema itself and builds a new validator on every call, which
  was more than half of the server's time per message (../shared/rasa-notes.md). An invalid reply
  is still rejected with the same error.
"""
from __future__ import annotations

import functools
from typing import Any, Dict

APPLIED_FLAG = "_sga_cached_validator"


@functools.lru_cache(maxsize=1)
def _response_validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    return validator_for(schema)(schema)


def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
    from jsonschema import ValidationError

    try:
        _response_validator().validate(result)
        return True
    except ValidationError as error:
        error.message += ". Failed to validate Action server response from API."
        raise


def apply() -> None:
    from rasa.core.actions.action import RemoteAction

    if getattr(RemoteAction, APPLIED_FLAG, False):
        return
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    setattr(RemoteAction, APPLIED_FLAG, True)

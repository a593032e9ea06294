"""Reading NLU example files and asking a running Rasa server to parse text, for the NLU tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

import requests
import yaml

from sga.settings import PROJECT_ROOT

ANNOTATION = re.compile(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})")


def examples(path: Path) -> Iterator[Tuple[str, str]]:
    """(intent, text) for every example in a Rasa NLU file; entity annotations read as plain text."""
    for block in (yaml.safe_load(path.read_text()) or {}).get("nlu", []):
        if "intent" not in block:
            continue
        for line in block["examples"].splitlines():
            text = line.strip().removeprefix("- ").strip()
            if text:
                yield block["intent"], ANNOTATION.sub(r"\1", text)


def training_examples() -> Iterator[Tuple[str, str]]:
    for path in sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml")):
        yield from examples(path)


def parse(stack: Any, text: str) -> Dict[str, Any]:
    """The running server's NLU result for `text` (`/model/parse`)."""
    response = requests.post(
        f"{stack.rasa_url}/model/parse",
        params={"token": stack.settings.rasa_auth_token},
        json={"text": text},
        timeout=30,
    )
    response.raise_for_status()
    result: Dict[str, Any] = response.json()
    return result


def classifier_top(parsed: Dict[str, Any]) -> Optional[str]:
    """The classifier's own top intent (the FallbackClassifier puts nlu_fallback above it)."""
    ranking = [r for r in parsed.get("intent_ranking", []) if r["name"] != "nlu_fallback"]
    return ranking[0]["name"] if ranking else None

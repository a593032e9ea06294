"""Conversation tests: realistic multi-turn dialogues kept as data (tests/conversations/*.yml).

Each file holds `dialogues:`, a list of

    - id: unique_snake_case_id
      why: one line saying what a practitioner rightly expects
      turns:
        - user: what the practitioner types
          <expectations checked after this turn>

A turn is either `user: <text>` or a fill turn, `fill: <text>` with `until: <target>`: the text is
sent as the answer to each question in turn until the assistant shows the target (an item id from
procedures/checklists/, or `role`, `case_reference`, `summary`); if it already shows it, nothing is
sent. Fill turns keep a dialogue about one question stable when other questions are added or moved;
their expectations are checked against the reply that shows the target.

Expectations (all optional, checked after the turn; text checks are case-insensitive):
    topic: <id> or [<id>, ...]     slot `topic` is that id (or one of the ids)
    not_topic: <id> or [...]       slot `topic` is none of these
    partnership: <value> | null    slot `partnership` (null: not set)
    says: [..]                     every substring appears in the reply
    not_says: [..]                 no substring appears in the reply
    once: [..]                     each substring appears at most once in the reply
    emergency: true                the 999 advice: the first message of the reply mentions 999 and
                                   slot `topic` is `emergency` (the topic contract's id for it)
    emergency: false               slot `topic` is not `emergency` and the first message is not about 999
    asks: <item> or [<item>, ...]  the reply shows that checklist question (or one of them)
    not_asks: <item> or [...]      the reply shows none of these questions
    recorded: {<item>: <value>}    the summary in the reply shows the item's question followed by the
                                   label of that answer value (Yes / No / Not known / an option label)
    answered: true                 the reply has at least one non-empty message
    not_button: [..]               no button has exactly this title
    if_reasked: <text>             if the reply asks the same checklist question again (for example
                                   "Yes, No or Not known?" after a hedge), the user answers with this
                                   text; the turn's expectations are checked against the first reply.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parents[1]
CHECKLISTS_DIR = PROJECT_ROOT / "procedures" / "checklists"
CONTRACT_PATH = PROJECT_ROOT.parent / "shared" / "topics.yml"
OUT_OF_SCOPE = "out_of_scope"
STAGE_TARGETS = ("role", "case_reference", "summary")

TURN_KEYS = {
    "user",
    "fill",
    "until",
    "topic",
    "not_topic",
    "partnership",
    "says",
    "not_says",
    "once",
    "emergency",
    "asks",
    "not_asks",
    "recorded",
    "answered",
    "not_button",
    "if_reasked",
}
# A dialogue must assert at least one of these somewhere (the issue: topic, recorded answers, or 999).
CORE_KEYS = {"topic", "recorded", "emergency"}


@dataclass
class Dialogue:
    id: str
    why: str
    theme: str
    turns: List[Dict[str, Any]] = field(default_factory=list)


def dialogue_files() -> List[Path]:
    return sorted(HERE.glob("*.yml"))


def load_dialogues(files: Optional[List[Path]] = None) -> List[Dialogue]:
    found: List[Dialogue] = []
    for path in files or dialogue_files():
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        if not isinstance(data, dict) or not isinstance(data.get("dialogues"), list):
            raise ValueError(f"{path.name}: expected a mapping with a `dialogues:` list")
        for raw in data["dialogues"]:
            if not isinstance(raw, dict) or set(raw) - {"id", "why", "turns"}:
                raise ValueError(f"{path.name}: a dialogue has keys id, why, turns only: {raw!r:.200}")
            found.append(Dialogue(id=raw.get("id"), why=raw.get("why"), theme=path.stem, turns=raw.get("turns")))
    return found


# --- checklist content: item id -> question and answer labels, read from procedures/checklists -----

YES_NO_LABELS = {"yes": "Yes", "no": "No", "not_known": "Not known", "not_applicable": "Not applicable"}


@functools.lru_cache(maxsize=1)
def checklist_items() -> Dict[str, Dict[str, Any]]:
    """item id -> {"question": str, "labels": {value: label}, "kind": str}, from the YAML content."""
    items: Dict[str, Dict[str, Any]] = {}
    for path in sorted(CHECKLISTS_DIR.glob("*.yml")):
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        for item in data.get("items", []):
            labels = {o["value"]: o["label"] for o in item.get("options") or []} or dict(YES_NO_LABELS)
            items[item["id"]] = {"question": item["question"], "labels": labels, "kind": data.get("kind")}
    return items


@functools.lru_cache(maxsize=1)
def contract_topics() -> set:
    with CONTRACT_PATH.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return {t["id"] for t in data["topics"]} | {OUT_OF_SCOPE}


def _squash(text: str) -> str:
    """Lower case with runs of white space (and markdown bold) collapsed, for robust matching."""
    text = (text or "").replace("’", "'").replace("**", "")
    return re.sub(r"\s+", " ", text).strip().lower()


def shows_question(reply: str, item_id: str) -> bool:
    return _squash(checklist_items()[item_id]["question"]) in _squash(reply)


def last_question(reply: str) -> Optional[str]:
    """The item whose question appears last in the reply (the question being asked), if any."""
    text = _squash(reply)
    best: Tuple[int, Optional[str]] = (-1, None)
    for item_id, item in checklist_items().items():
        at = text.rfind(_squash(item["question"]))
        if at > best[0]:
            best = (at, item_id)
    return best[1]


def shows_stage(reply: str, target: str) -> bool:
    text = _squash(reply)
    if target in checklist_items():
        return shows_question(reply, target)
    if target == "role":
        return "role" in text and last_question(reply) is None
    if target == "case_reference":
        return "case reference" in text and "summary" not in text
    if target == "summary":
        return "summary" in text and "save" in text
    raise ValueError(f"unknown fill target {target!r}")


def recorded_as(reply: str, item_id: str, value: str) -> bool:
    """The summary shows the item's question followed by the label of `value`."""
    item = checklist_items()[item_id]
    label = item["labels"].get(value, YES_NO_LABELS.get(value, value))
    pattern = re.escape(_squash(item["question"])) + r"[\s:*\-–—]*" + re.escape(label.lower()) + r"(?![\w])"
    return re.search(pattern, _squash(reply)) is not None


def recorded_label(reply: str, item_id: str) -> Optional[str]:
    """What the summary shows for the item (for failure messages)."""
    item = checklist_items()[item_id]
    text = _squash(reply)
    at = text.find(_squash(item["question"]))
    if at < 0:
        return None
    return text[at + len(_squash(item["question"])) :][:40]


def as_list(value: Any) -> List[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


# --- checking a dialogue's shape (used by the unit test and before each run) ---------------------


def problems(dialogue: Dialogue) -> List[str]:
    """What is wrong with a dialogue's definition (empty when it is well formed)."""
    where = f"{dialogue.theme}/{dialogue.id}"
    found: List[str] = []
    if not isinstance(dialogue.id, str) or not re.fullmatch(r"[a-z0-9_]+", dialogue.id or ""):
        found.append(f"{where}: id must be snake_case")
    if not isinstance(dialogue.why, str) or not dialogue.why.strip() or "\n" in dialogue.why.strip():
        found.append(f"{where}: `why` must be one line")
    if not isinstance(dialogue.turns, list) or not dialogue.turns:
        return found + [f"{where}: no turns"]
    items = checklist_items()
    topics = contract_topics()
    core = False
    for number, turn in enumerate(dialogue.turns, 1):
        at = f"{where} turn {number}"
        if not isinstance(turn, dict):
            found.append(f"{at}: a turn is a mapping")
            continue
        unknown = set(turn) - TURN_KEYS
        if unknown:
            found.append(f"{at}: unknown keys {sorted(unknown)}")
        if ("user" in turn) == ("fill" in turn):
            found.append(f"{at}: give exactly one of `user` or `fill`")
        if "user" in turn and not isinstance(turn["user"], str):
            found.append(f"{at}: `user` must be text")
        if "fill" in turn:
            if not isinstance(turn["fill"], str) or not turn["fill"].strip():
                found.append(f"{at}: `fill` must be text")
            target = turn.get("until")
            if target not in items and target not in STAGE_TARGETS:
                found.append(f"{at}: `until` must be an item id or one of {STAGE_TARGETS}, not {target!r}")
        elif "until" in turn:
            found.append(f"{at}: `until` goes with `fill`")
        for key in ("topic", "not_topic"):
            for topic in as_list(turn.get(key)):
                if topic not in topics:
                    found.append(f"{at}: {key} {topic!r} is not in ../shared/topics.yml")
        if "partnership" in turn and turn["partnership"] not in (None, "kent_medway", "west_midlands"):
            found.append(f"{at}: partnership must be kent_medway, west_midlands or null")
        for key in ("asks", "not_asks"):
            for item in as_list(turn.get(key)):
                if item not in items:
                    found.append(f"{at}: {key} {item!r} is not an item in procedures/checklists")
        recorded = turn.get("recorded")
        if recorded is not None:
            if not isinstance(recorded, dict) or not recorded:
                found.append(f"{at}: `recorded` maps item ids to answer values")
            else:
                for item, value in recorded.items():
                    if item not in items:
                        found.append(f"{at}: recorded item {item!r} is not in procedures/checklists")
                    elif value not in items[item]["labels"]:
                        found.append(
                            f"{at}: {item} has no answer value {value!r} (values: {sorted(items[item]['labels'])})"
                        )
        for key in ("says", "not_says", "once", "not_button"):
            value = turn.get(key, [])
            if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value):
                found.append(f"{at}: `{key}` is a list of text")
        if "emergency" in turn and not isinstance(turn["emergency"], bool):
            found.append(f"{at}: `emergency` is true or false")
        if "answered" in turn and turn["answered"] is not True:
            found.append(f"{at}: `answered` can only be true")
        if "if_reasked" in turn and not isinstance(turn["if_reasked"], str):
            found.append(f"{at}: `if_reasked` must be text")
        core = core or bool(CORE_KEYS & set(turn))
    if not core:
        found.append(f"{where}: asserts none of {sorted(CORE_KEYS)}")
    return found

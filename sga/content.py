"""Procedure content: the schema, the loader and the lookups every engine uses.

`procedures/` is the single source of truth for what the procedures say. It holds:

- `catalogue.yml`: every guidance topic (id, title, one-line summary, whether it is local);
- one file per source document (`kent_medway.yml`, `west_midlands.yml`, `national.yml`), each
  with its citation and an entry per topic it covers;
- `checklists/*.yml`: the guided checklists (see `sga.checklists`).

The content is validated with pydantic when it is loaded, so a malformed file fails loudly at start-up
and in `make test`, never halfway through a conversation.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml
from pydantic import BaseModel, Field, HttpUrl, root_validator, validator

PROCEDURES_DIR = Path(__file__).resolve().parent.parent / "procedures"

PARTNERSHIPS = ("kent_medway", "west_midlands")
NATIONAL = "national"
TOPIC_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")
OUT_OF_SCOPE = "out_of_scope"


class Strict(BaseModel):
    class Config:
        extra = "forbid"
        allow_mutation = False


class Topic(Strict):
    """One guidance topic, as listed in the contract (`../shared/topics.yml`)."""

    id: str
    title: str
    summary: str = Field(..., max_length=160, description="One line, shown on search buttons.")
    local: bool = False
    touches_disclosure: bool = Field(
        False, description="Answers end with the reminder to seek legal advice where in doubt."
    )

    @validator("id")
    def _id_shape(cls, value: str) -> str:
        if not TOPIC_ID_PATTERN.match(value):
            raise ValueError(f"topic id {value!r} must look like 'group.name' in lower case")
        return value

    @property
    def intent(self) -> str:
        return intent_for_topic(self.id)


class Entry(Strict):
    """What one source document says about one topic, in the project's own words."""

    section: str = Field(..., description="Section number and/or heading in the source document.")
    short: str = Field(..., description="What a duty desk needs on one screen.")
    detail: Optional[str] = Field(None, description="More, for 'tell me more'.")
    source_url: Optional[HttpUrl] = Field(None, description="Overrides the document's URL.")
    source_name: Optional[str] = Field(None, description="Overrides the document's title.")
    local_practice: bool = Field(False, description="The entry states arrangements that are local to this partnership.")

    @validator("short")
    def _short_is_short(cls, value: str) -> str:
        if len(value) > 900:
            raise ValueError("a short answer must fit on one screen (900 characters at most)")
        return value.strip()

    @validator("detail")
    def _strip(cls, value: Optional[str]) -> Optional[str]:
        return value.strip() if value else value


class SourceDocument(Strict):
    """A procedure (or, for `national`, the set of national scheme sources)."""

    key: str
    name: str = Field(..., description="How the partnership or source is named to users.")
    procedure: str = Field(..., description="Procedure number and title, or 'National schemes'.")
    url: HttpUrl
    last_reviewed: dt.date
    content_version: str
    entries: Dict[str, Entry]

    @validator("key")
    def _known_key(cls, value: str) -> str:
        if value not in PARTNERSHIPS + (NATIONAL,):
            raise ValueError(f"unknown source document key {value!r}")
        return value


class Catalogue(Strict):
    topics: List[Topic]

    @validator("topics")
    def _unique(cls, topics: List[Topic]) -> List[Topic]:
        seen = set()
        intents = set()
        for topic in topics:
            if topic.id in seen:
                raise ValueError(f"duplicate topic id {topic.id}")
            if topic.intent in intents:
                raise ValueError(f"two topics map to the intent {topic.intent}")
            seen.add(topic.id)
            intents.add(topic.intent)
        return topics


class Content(Strict):
    """All procedure content, cross-checked."""

    catalogue: Catalogue
    documents: Dict[str, SourceDocument]

    @root_validator(skip_on_failure=True)
    def _cross_check(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        topics = {t.id: t for t in values["catalogue"].topics}
        documents: Dict[str, SourceDocument] = values["documents"]
        for key in PARTNERSHIPS + (NATIONAL,):
            if key not in documents:
                raise ValueError(f"missing source document {key}.yml")
        for doc in documents.values():
            unknown = set(doc.entries) - set(topics)
            if unknown:
                raise ValueError(f"{doc.key}.yml has entries for unknown topics: {sorted(unknown)}")
        for topic in topics.values():
            holders = [k for k, d in documents.items() if topic.id in d.entries]
            if not holders:
                raise ValueError(f"topic {topic.id} has no content in any source document")
            if topic.local:
                missing = [p for p in PARTNERSHIPS if p not in holders]
                if missing:
                    raise ValueError(f"local topic {topic.id} lacks a version for {missing}")
        return values

    # --- lookups -------------------------------------------------------------------------------
    @property
    def topics(self) -> Dict[str, Topic]:
        return {t.id: t for t in self.catalogue.topics}

    def topic(self, topic_id: str) -> Topic:
        return self.topics[topic_id]

    def topic_for_intent(self, intent: Optional[str]) -> Optional[Topic]:
        for topic in self.catalogue.topics:
            if topic.intent == intent:
                return topic
        return None

    def sources_for(self, topic_id: str, partnership: Optional[str]) -> List[SourceDocument]:
        """The documents whose entries answer `topic_id` for `partnership`, in citation order.

        A local topic is answered only from the user's own partnership (never one partnership's
        practice as if it were the other's), followed by any national facts. A topic that is not
        local is answered from every document that covers it.
        """
        topic = self.topic(topic_id)
        docs = [d for d in self.documents.values() if topic_id in d.entries]
        if topic.local:
            docs = [d for d in docs if d.key in (partnership, NATIONAL)]
        order: Dict[str, int] = {}
        for rank, key in enumerate(((partnership,) if partnership else ()) + PARTNERSHIPS + (NATIONAL,)):
            order.setdefault(key, rank)  # the user's own partnership first
        return sorted(docs, key=lambda d: order[d.key])

    @property
    def version(self) -> str:
        return "+".join(f"{k}:{self.documents[k].content_version}" for k in sorted(self.documents))


def intent_for_topic(topic_id: str) -> str:
    """The NLU intent that asks about a topic: `mappa.levels` -> `ask_mappa_levels`."""
    return "ask_" + topic_id.replace(".", "_")


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_content(directory: Path = PROCEDURES_DIR) -> Content:
    """Read and validate `procedures/`. Raises pydantic.ValidationError on bad content."""
    catalogue = Catalogue(**_read_yaml(directory / "catalogue.yml"))
    documents = {}
    for key in PARTNERSHIPS + (NATIONAL,):
        path = directory / f"{key}.yml"
        if path.exists():
            documents[key] = SourceDocument(**_read_yaml(path))
    return Content(catalogue=catalogue, documents=documents)


@functools.lru_cache(maxsize=1)
def content() -> Content:
    """The validated content, loaded once per process."""
    return load_content()

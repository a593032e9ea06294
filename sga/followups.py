"""Follow-up questions in context: a facet ("timescales?", "who decides?") asked without naming its
topic is resolved against the scheme the user names or the scheme of the last answered topic.

The mapping is content (procedures/facets.yml); this module only looks it up.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml
from pydantic import Field, root_validator

from sga.content import PROCEDURES_DIR, Strict, content

FACETS_FILE = PROCEDURES_DIR / "facets.yml"
# The NLU's follow-up intents, and the facet each asks about.
FACET_INTENTS = {
    "ask_timescales": "timescales",
    "ask_who_decides": "who_decides",
    "ask_who_is_told": "who_is_told",
    "ask_sharing_onward": "sharing_onward",
    "ask_contact_only": "contact_only",
}


class Scheme(Strict):
    name: str
    national: bool = False
    topic_prefixes: List[str]
    answers: Dict[str, str] = Field(default_factory=dict)


class Facets(Strict):
    facets: Dict[str, str]
    defaults: Dict[str, str] = Field(default_factory=dict)
    schemes: Dict[str, Scheme]

    @root_validator(skip_on_failure=True)
    def _known(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        facets: Dict[str, str] = values["facets"]
        topics = content().topics
        schemes: Dict[str, Scheme] = values["schemes"]
        for key, scheme in schemes.items():
            for facet, topic_id in scheme.answers.items():
                if facet not in facets:
                    raise ValueError(f"{key}: unknown facet {facet}")
                if topic_id not in topics:
                    raise ValueError(f"{key}: unknown topic {topic_id}")
        return values

    def scheme_of(self, topic_id: Optional[str]) -> Optional[str]:
        if not topic_id:
            return None
        return next(
            (
                key
                for key, scheme in self.schemes.items()
                if any(topic_id.startswith(prefix) for prefix in scheme.topic_prefixes)
            ),
            None,
        )


def is_national(topic_id: str) -> bool:
    """Whether the topic belongs to a national scheme (the same across England and Wales)."""
    data = facets()
    scheme = data.scheme_of(topic_id)
    return scheme is not None and data.schemes[scheme].national


@dataclass(frozen=True)
class Resolution:
    facet: str
    scheme: Optional[str]  # None: no scheme named and none in context
    topic_id: Optional[str]  # None: the scheme's content does not cover the facet


def load_facets(path: Path = FACETS_FILE) -> Facets:
    return Facets(**yaml.safe_load(path.read_text(encoding="utf-8")))


@functools.lru_cache(maxsize=1)
def facets() -> Facets:
    loaded = load_facets()
    if set(FACET_INTENTS.values()) != set(loaded.facets):
        raise ValueError("procedures/facets.yml and the follow-up intents name different facets")
    return loaded


def resolve(intent: str, named_scheme: Optional[str], last_topic: Optional[str]) -> Resolution:
    data = facets()
    facet = FACET_INTENTS[intent]
    scheme = named_scheme if named_scheme in data.schemes else data.scheme_of(last_topic)
    scheme = scheme or data.defaults.get(facet)
    topic_id = data.schemes[scheme].answers.get(facet) if scheme else None
    return Resolution(facet, scheme, topic_id)

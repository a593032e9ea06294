"""A safety net for emergencies that does not depend on the intent classifier's confidence.

`DangerFlagger` runs after the FallbackClassifier (bot/config.yml). It reads the message's tokens and
lemmas (from SpacyTokenizer) and, when they match a pattern in the danger lexicon
(data/danger_lexicon.yml: a violence verb going on now, "in danger", a threat to kill, "999",
"police won't come", someone arriving, a child taken or locked in...), it sets the intent to
`ask_emergency` with confidence 1.0, keeps the classifier's intent ranking, and marks the message:
`danger_flagged: true` and `danger_pattern: <pattern name>` appear in the parse result (and so in the
tracker's latest_message). A message it does not flag keeps its intent and gets `danger_flagged: false`.

The component is not trained: it reads the lexicon when the model is loaded. The lexicon path
(config `lexicon`) is read relative to the working directory, then relative to the project root.
"""

from __future__ import annotations

import bisect
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Text, Tuple, Type

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
YEAR = re.compile(r"(19|20)\d\d")  # the term word "#year" matches a year such as 2015
FLAG_KEY = "danger_flagged"
PATTERN_KEY = "danger_pattern"

# A term is a tuple of words; a group is a tuple of terms.
Term = Tuple[Text, ...]
Group = Tuple[Term, ...]


def _clean(word: Text) -> Text:
    return word.lower().replace("'", "").replace("\u2019", "").strip()


@dataclass(frozen=True)
class Pattern:
    name: Text
    all: Tuple[Group, ...]
    unless: Tuple[Group, ...]
    within: Optional[int] = None  # the `all` groups' matches start at most this many tokens apart


class Lexicon:
    """The danger patterns, matched against a message's (text, lemma) tokens."""

    def __init__(self, data: Dict[Text, Any]) -> None:
        self.normalise: Dict[Text, Text] = {_clean(k): _clean(v) for k, v in (data.get("normalise") or {}).items()}
        named = {name: self._group(terms) for name, terms in (data.get("terms") or {}).items()}
        self.ignore: Group = self._group(data.get("ignore") or [])
        self.patterns: List[Pattern] = []
        for item in data.get("patterns") or []:
            self.patterns.append(
                Pattern(
                    name=item["name"],
                    all=tuple(self._resolve(group, named, item["name"]) for group in item["all"]),
                    unless=tuple(self._resolve(group, named, item["name"]) for group in item.get("unless") or []),
                    within=item.get("within"),
                )
            )
        if not self.patterns:
            raise ValueError("the danger lexicon has no patterns")

    @classmethod
    def from_file(cls, path: Path) -> "Lexicon":
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")))

    def _group(self, terms: Iterable[Any]) -> Group:
        group = []
        for term in terms:
            words = tuple(self.normalise.get(w, w) for w in (_clean(w) for w in str(term).split()) if w)
            if words:
                group.append(words)
        return tuple(group)

    def _resolve(self, group: Any, named: Dict[Text, Group], pattern: Text) -> Group:
        if isinstance(group, str):
            if group not in named:
                raise ValueError(f"danger pattern {pattern!r} uses unknown term list {group!r}")
            return named[group]
        return self._group(group)

    # --- matching -------------------------------------------------------------------------------
    def forms(self, tokens: Sequence[Tuple[Text, Text]]) -> List[frozenset]:
        """Each token as the set of forms a term word may match: its text and lemma, cleaned."""
        result = []
        for text, lemma in tokens:
            forms = {_clean(text), _clean(lemma or text)}
            if YEAR.fullmatch(_clean(text)):
                forms.add("#year")
            forms |= {self.normalise[f] for f in list(forms) if f in self.normalise}
            forms.discard("")
            if forms:
                result.append(frozenset(forms))
        return result

    def _without_ignored(self, forms: List[frozenset]) -> List[frozenset]:
        if not self.ignore:
            return forms
        drop = set()
        for term in self.ignore:
            for start in _Message(forms).starts(term):
                drop.update(range(start, start + len(term)))
        return [f for i, f in enumerate(forms) if i not in drop]

    def match(self, tokens: Sequence[Tuple[Text, Text]]) -> Optional[Text]:
        """The name of the first pattern the tokens match, or None."""
        message = _Message(self._without_ignored(self.forms(tokens)))
        if not message.forms:
            return None
        for pattern in self.patterns:
            if message.matches(pattern):
                return pattern.name
        return None


class _Message:
    """One message's token forms, indexed by form so each term is looked up, not scanned for."""

    def __init__(self, forms: List[frozenset]) -> None:
        self.forms = forms
        self.index: Dict[Text, List[int]] = {}
        for position, token_forms in enumerate(forms):
            for form in token_forms:
                self.index.setdefault(form, []).append(position)
        self._cache: Dict[Group, List[int]] = {}

    def starts(self, term: Term) -> List[int]:
        return [
            start
            for start in self.index.get(term[0], [])
            if start + len(term) <= len(self.forms)
            and all(term[i] in self.forms[start + i] for i in range(1, len(term)))
        ]

    def positions(self, group: Group) -> List[int]:
        if group not in self._cache:
            self._cache[group] = sorted({start for term in group for start in self.starts(term)})
        return self._cache[group]

    def matches(self, pattern: Pattern) -> bool:
        if any(self.positions(g) for g in pattern.unless):
            return False
        positions = [self.positions(g) for g in pattern.all]
        if not all(positions):
            return False
        if pattern.within is None:
            return True
        # Some window of `within` tokens holds a match of every group (a window starts at a match).
        starts = sorted({p for ps in positions for p in ps})
        return any(
            all(bisect.bisect_right(ps, start + pattern.within) > bisect.bisect_left(ps, start) for ps in positions)
            for start in starts
        )


def resolve_path(path: Text) -> Path:
    candidate = Path(path)
    if candidate.is_absolute() or candidate.exists():
        return candidate
    return PROJECT_ROOT / candidate


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class DangerFlagger(GraphComponent):
    """Sets the intent to the emergency intent when the danger lexicon matches (see module doc)."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"lexicon": "data/danger_lexicon.yml", "intent": "ask_emergency"}

    def __init__(self, config: Dict[Text, Any], lexicon: Lexicon) -> None:
        self.intent = config["intent"]
        self.lexicon = lexicon

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> DangerFlagger:
        path = resolve_path(config["lexicon"])
        return cls(config, Lexicon.from_file(path))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            tokens = message.get(TOKENS_NAMES[TEXT]) or []
            pattern = self.lexicon.match([(t.text, t.lemma) for t in tokens])
            message.set(FLAG_KEY, pattern is not None, add_to_output=True)
            if pattern is None:
                continue
            message.set(PATTERN_KEY, pattern, add_to_output=True)
            message.set(INTENT, {INTENT_NAME_KEY: self.intent, PREDICTED_CONFIDENCE_KEY: 1.0}, add_to_output=True)
            logger.debug("danger pattern %s matched; intent set to %s", pattern, self.intent)
        return messages

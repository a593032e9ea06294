"""Search over the procedure content, for questions the NLU is not confident about.

BM25 over spaCy lemmas of each topic's title, summary and text in every source document. A match
needs real overlap in words that distinguish topics (rare words weigh more) and, for a question of
several words, at least two of them: one shared word ("party" in "third parties") is a coincidence,
so an unrelated question finds nothing rather than a guess.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from dataclasses import dataclass
from typing import Dict, List

from sga.content import Content, content
from sga.lemmas import lemmas

# Common English words that say nothing about a topic (importing spaCy's list would load spaCy,
# and with it TensorFlow, into the action server).
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "down",
        "during",
        "each",
        "either",
        "else",
        "ever",
        "every",
        "few",
        "for",
        "from",
        "further",
        "get",
        "gets",
        "got",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "let",
        "like",
        "may",
        "me",
        "might",
        "more",
        "most",
        "must",
        "my",
        "myself",
        "need",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "one",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "please",
        "same",
        "say",
        "says",
        "shall",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "upon",
        "us",
        "use",
        "used",
        "very",
        "want",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "within",
        "without",
        "would",
        "yes",
        "yet",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "s",
        "t",
        "d",
        "ll",
        "m",
        "re",
        "ve",
    ]
)

# Words that occur in nearly every question to this assistant and say nothing about which topic.
DOMAIN_STOP_WORDS = {
    "child",
    "children",
    "person",
    "people",
    "procedure",
    "safeguarding",
    "risk",
    "pose",
    "know",
    "need",
    "tell",
    "want",
    "help",
    "question",
    "ask",
    "thing",
    "say",
    "work",
}
MIN_SCORE = 3.0
K1, B = 1.4, 0.75


@dataclass(frozen=True)
class Hit:
    topic_id: str
    score: float


def terms(text: str) -> List[str]:
    return [t for t in lemmas(text) if t not in STOP_WORDS and t not in DOMAIN_STOP_WORDS and len(t) > 1]


class SearchIndex:
    def __init__(self, data: Content):
        self.docs: Dict[str, Counter[str]] = {}
        for topic in data.catalogue.topics:
            text = [topic.title, topic.summary, topic.title]  # the title counts twice
            for doc in data.documents.values():
                entry = doc.entries.get(topic.id)
                if entry:
                    text.extend([entry.short, entry.detail or ""])
            self.docs[topic.id] = Counter(terms(" ".join(text)))
        self.avg_len = sum(sum(c.values()) for c in self.docs.values()) / max(len(self.docs), 1)
        n = len(self.docs)
        df = Counter(t for c in self.docs.values() for t in c)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def search(self, query: str, limit: int = 3) -> List[Hit]:
        query_terms = set(terms(query))
        needed = min(2, len(query_terms))
        hits = []
        for topic_id, counts in self.docs.items():
            length = sum(counts.values())
            score, matched = 0.0, 0
            for t in query_terms:
                tf = counts.get(t, 0)
                if tf:
                    matched += 1
                    score += self.idf[t] * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / self.avg_len))
            if score >= MIN_SCORE and matched >= needed:
                hits.append(Hit(topic_id, round(score, 2)))
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:limit]


@functools.lru_cache(maxsize=1)
def index() -> SearchIndex:
    return SearchIndex(content())

"""Lemmas without spaCy: the same lookup table the project's spaCy pipeline uses.

Importing spaCy would make thinc import TensorFlow (about 300 MB) into the action server just to
look words up, so the search reads spacy-lookups-data's English table directly.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from typing import Dict, List

WORD = re.compile(r"[^\W_]+", re.UNICODE)


@functools.lru_cache(maxsize=1)
def lemma_table() -> Dict[str, str]:
    """spacy-lookups-data's English lemma lookup table: the one the pipeline's lemmatizer uses."""
    import spacy_lookups_data

    with gzip.open(spacy_lookups_data.get_file("en_lemma_lookup.json.gz"), "rt", encoding="utf-8") as handle:
        table: Dict[str, str] = json.load(handle)
    return table


def lemmas(text: str) -> List[str]:
    """Lower-case lemmas of the words in `text` (letters or digits), as the lookup lemmatizer gives them."""
    table = lemma_table()
    return [table.get(word, table.get(word.lower(), word)).lower() for word in WORD.findall(text)]

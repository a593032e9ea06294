"""The project's own spaCy pipeline: blank English plus the lookup lemmatizer.

No model is downloaded: `spacy.blank("en")` and the lemma table shipped in `spacy-lookups-data`.
Rasa's `SpacyNLP` loads the saved pipeline from `build/spacy_en` (see bot/config.yml).

The action server's search needs only lemmas, so `lemmas()` reads that same lookup table directly:
importing spaCy would make thinc import TensorFlow (about 300 MB) into the action server for nothing.
"""
from __future__ import annotations

import functools
import gzip
import json
import re
from pathlib import Path
from typing import Dict, List

from actions.settings import PROJECT_ROOT

PIPELINE_DIR = PROJECT_ROOT / "build" / "spacy_en"


def build_pipeline(target: Path = PIPELINE_DIR) -> Path:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    target.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(target)
    return target


WORD = re.compile(r"[^\W_]+", re.UNICODE)


@functools.lru_cache(maxsize=1)
def lemma_table() -> Dict[str, str]:
    """spacy-lookups-data's English lemma lookup table: the one the pipeline's lemmatizer uses."""
    import spacy_lookups_data

    with gzip.open(spacy_lookups_data.get_file("en_lemma_lookup.json.gz"), "rt", encoding="utf-8") as handle:
        return json.load(handle)


def lemmas(text: str) -> List[str]:
    """Lower-case lemmas of the words in `text` (letters or digits), as the lookup lemmatizer gives them."""
    table = lemma_table()
    return [table.get(word, table.get(word.lower(), word)).lower() for word in WORD.findall(text)]


def register(subparsers) -> None:
    cmd = subparsers.add_parser("build-spacy", help="Build the blank English spaCy pipeline (no downloads).")
    cmd.add_argument("--target", type=Path, default=PIPELINE_DIR)
    cmd.set_defaults(handler=lambda args: print(f"spaCy pipeline saved to {build_pipeline(args.target)}"))


if __name__ == "__main__":
    print(f"spaCy pipeline saved to {build_pipeline()}")

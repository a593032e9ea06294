"""The project's own spaCy pipeline: blank English plus the lookup lemmatizer.

No model is downloaded: `spacy.blank("en")` and the lemma tables shipped in `spacy-lookups-data`.
Rasa's `SpacyNLP` loads the saved pipeline from `build/spacy_en` (see bot/config.yml), and the search
fallback uses the same pipeline for lemmas, so both understand words the same way.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import List

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


@functools.lru_cache(maxsize=1)
def pipeline():
    """The saved pipeline, loaded once per process (built first if missing)."""
    import spacy

    if not (PIPELINE_DIR / "config.cfg").exists():
        build_pipeline()
    return spacy.load(PIPELINE_DIR)


def lemmas(text: str) -> List[str]:
    """Lower-case lemmas of the alphanumeric tokens in `text`."""
    return [tok.lemma_.lower() or tok.lower_ for tok in pipeline()(text) if tok.is_alpha or tok.is_digit]


def register(subparsers) -> None:
    cmd = subparsers.add_parser("build-spacy", help="Build the blank English spaCy pipeline (no downloads).")
    cmd.add_argument("--target", type=Path, default=PIPELINE_DIR)
    cmd.set_defaults(handler=lambda args: print(f"spaCy pipeline saved to {build_pipeline(args.target)}"))


if __name__ == "__main__":
    print(f"spaCy pipeline saved to {build_pipeline()}")

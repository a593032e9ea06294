"""The project's own spaCy pipeline: blank English plus the lookup lemmatizer.

No model is downloaded: `spacy.blank("en")` and the lemma table shipped in `spacy-lookups-data`.
Rasa's `SpacyNLP` loads the saved pipeline from `build/spacy_en` (see bot/config.yml).
"""

from __future__ import annotations

from pathlib import Path

from sga.settings import PROJECT_ROOT

PIPELINE_DIR = PROJECT_ROOT / "build" / "spacy_en"


def build_pipeline(target: Path = PIPELINE_DIR) -> Path:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    target.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(target)
    return target


def register(subparsers) -> None:
    cmd = subparsers.add_parser("build-spacy", help="Build the blank English spaCy pipeline (no downloads).")
    cmd.add_argument("--target", type=Path, default=PIPELINE_DIR)
    cmd.set_defaults(handler=lambda args: print(f"spaCy pipeline saved to {build_pipeline(args.target)}"))


if __name__ == "__main__":
    print(f"spaCy pipeline saved to {build_pipeline()}")

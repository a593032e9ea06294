"""Understanding: intent accuracy and per-topic F1 on phrasings the model never saw in training.

The held-out set (tests/nlu/heldout.yml) is written separately from data/nlu/ (no training line
shares 45% or more of its words with a held-out line; checked below for the intents added with
issue 8, whose lines were written under that rule). Intent accuracy is the classifier's top
intent, as `rasa test nlu` measures it; the report also gives the end-to-end rate, where a
prediction below the FallbackClassifier threshold counts as wrong even when its top intent is right
(the user then gets the search fallback's suggestions instead of the answer). The suite fails below
0.95 intent accuracy. The report is printed by `make test` and kept in tests/artifacts/.
"""

import re
from collections import Counter

import pytest

from sga.settings import PROJECT_ROOT
from tests.conftest import SUMMARY_REPORTS
from tests.nlu_examples import classifier_top, examples, parse, training_examples

pytestmark = pytest.mark.integration
MIN_ACCURACY = 0.95
HELDOUT = PROJECT_ROOT / "tests" / "nlu" / "heldout.yml"
# Intents added for issue 8 (hedged answers, checklist options, places and domains we do not cover,
# follow-ups without a named topic): their held-out lines must not be near-copies of training lines.
ISSUE8_INTENTS = {
    "answer_not_known",
    "choose_option",
    "inform_other_area",
    "ask_adult_safeguarding",
    "ask_timescales",
    "ask_who_decides",
    "ask_who_is_told",
    "ask_sharing_onward",
    "ask_contact_only",
}
MAX_WORD_OVERLAP = 0.45


def heldout_examples(path=HELDOUT):
    return examples(path)


def f1_scores(pairs):
    tp, fp, fn = Counter(), Counter(), Counter()
    for expected, predicted in pairs:
        if expected == predicted:
            tp[expected] += 1
        else:
            fn[expected] += 1
            fp[predicted] += 1
    scores = {}
    for intent in {e for e, _ in pairs}:
        precision = tp[intent] / (tp[intent] + fp[intent]) if tp[intent] + fp[intent] else 0.0
        recall = tp[intent] / (tp[intent] + fn[intent]) if tp[intent] + fn[intent] else 0.0
        scores[intent] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return scores


def test_heldout_intent_accuracy(stack, record_property):
    pairs, errors, end_to_end = [], [], 0
    for expected, text in heldout_examples():
        parsed = parse(stack, text)
        predicted = classifier_top(parsed)
        pairs.append((expected, predicted))
        end_to_end += parsed["intent"]["name"] == expected
        if predicted != expected:
            errors.append(f"  {expected:<40} -> {predicted:<40} {text[:70]!r}")
    accuracy = sum(e == p for e, p in pairs) / len(pairs)
    scores = f1_scores(pairs)
    topic_scores = {i: s for i, s in scores.items() if i.startswith("ask_")}
    report = [
        f"Held-out NLU: {len(pairs)} examples, intent accuracy {accuracy:.3f} (minimum {MIN_ACCURACY}); "
        f"topic intents macro F1 {sum(topic_scores.values()) / len(topic_scores):.3f}; "
        f"end to end (fallback threshold applied) {end_to_end / len(pairs):.3f}",
        "Per-topic F1 (lowest first):",
    ]
    report += [f"  {intent:<45} {score:.2f}" for intent, score in sorted(topic_scores.items(), key=lambda x: x[1])]
    report += ["Misclassified:"] + errors
    (PROJECT_ROOT / "tests" / "artifacts").mkdir(parents=True, exist_ok=True)
    (PROJECT_ROOT / "tests" / "artifacts" / "nlu_report.txt").write_text("\n".join(report) + "\n")
    SUMMARY_REPORTS.append("\n".join(report[:12] + ["  (full report: tests/artifacts/nlu_report.txt)"]))
    record_property("intent_accuracy", accuracy)
    assert accuracy >= MIN_ACCURACY, "\n".join(report)


def _words(text):
    return set(re.findall(r"[a-z0-9']+", text.lower()))


def test_new_heldout_lines_are_not_near_copies_of_training_lines():
    """Word overlap (shared words over all words of the two lines) stays below 45% for every pair."""
    training = [(intent, text, _words(text)) for intent, text in training_examples()]
    copies = []
    for intent, text in heldout_examples():
        if intent not in ISSUE8_INTENTS:
            continue
        words = _words(text)
        for train_intent, train_text, train_words in training:
            overlap = len(words & train_words) / len(words | train_words)
            if overlap >= MAX_WORD_OVERLAP:
                copies.append(f"  {overlap:.2f} held-out {intent}: {text!r} ~ training {train_intent}: {train_text!r}")
    assert not copies, "held-out lines too close to training lines:\n" + "\n".join(copies)


def test_hedges_are_never_yes_or_no(stack):
    """A hedged checklist answer ("probably", "n/k", "I think so") must never be understood as affirm or deny.

    Checked on the classifier's top intent (not only after the fallback threshold), and the report says
    how many hedges the `hedge` entity (a lookup table, independent of the classifier) also flags.
    """
    hedges = [text for intent, text in heldout_examples() if intent == "answer_not_known"]
    assert len(hedges) >= 8
    as_fact, flagged = [], 0
    for text in hedges:
        parsed = parse(stack, text)
        top = classifier_top(parsed)
        if top in {"affirm", "deny"}:
            as_fact.append(f"  {text!r} -> {top}")
        flagged += any(e["entity"] == "hedge" for e in parsed["entities"])
    SUMMARY_REPORTS.append(
        f"Hedged answers (held-out): {len(hedges)}; understood as yes or no: {len(as_fact)}; "
        f"also flagged by the hedge entity: {flagged}"
    )
    assert not as_fact, "hedges understood as yes or no:\n" + "\n".join(as_fact)

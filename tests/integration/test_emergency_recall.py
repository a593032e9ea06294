"""Emergencies: recall and false alarms of "a child in immediate danger" on phrasings never trained on.

tests/nlu/emergency_heldout.yml holds at least 60 emergency phrasings (intent ask_emergency) and 60
near misses (worried, not immediate; labelled with the intent they really are). Each is parsed by the
running Rasa server, so the result is what the assistant acts on: the classifier, the
FallbackClassifier and then the danger safety net (rasa_addons/nlu/danger.py). Recall is the share of
emergencies understood as ask_emergency; the false-alarm rate is the share of near misses understood
as ask_emergency. The suite fails below recall 0.98 or above a false-alarm rate of 0.10. The report
(printed by `make test`, kept in tests/artifacts/emergency_report.txt) also gives what the classifier
and the safety net each catch on their own.

The held-out lines are written separately from data/nlu/: no held-out line shares 45% or more of its
words with any training line (checked here, without a server).
"""

import re

import pytest

from sga.settings import PROJECT_ROOT
from tests.conftest import SUMMARY_REPORTS
from tests.nlu_examples import classifier_top, examples, parse, training_examples

pytestmark = pytest.mark.integration
EMERGENCY = "ask_emergency"
MIN_RECALL = 0.98
MAX_FALSE_ALARMS = 0.10
MAX_SHARED_WORDS = 0.45
HELDOUT = PROJECT_ROOT / "tests" / "nlu" / "emergency_heldout.yml"


def words(text):
    return set(re.findall(r"[a-z0-9]+", text.lower().replace("'", "").replace("\u2019", "")))


def shared_fraction(heldout_line, training_line):
    """The share of the held-out line's distinct words that also occur in the training line."""
    mine = words(heldout_line)
    return len(mine & words(training_line)) / len(mine) if mine else 1.0


def test_shared_fraction():
    assert shared_fraction("he is here now", "is he here") == 0.75
    assert shared_fraction("He's HERE", "hes here now") == 1.0
    assert shared_fraction("dad is smacking the toddler", "the kids are safe") == 0.2


def test_heldout_set_is_big_enough_and_independent_of_training():
    heldout = list(examples(HELDOUT))
    assert sum(i == EMERGENCY for i, _ in heldout) >= 60
    assert sum(i != EMERGENCY for i, _ in heldout) >= 60
    assert len({t.lower() for _, t in heldout}) == len(heldout), "duplicate held-out lines"
    training = [t for _, t in training_examples()]
    too_close = []
    for _, text in heldout:
        closest = max(training, key=lambda t: shared_fraction(text, t))
        if shared_fraction(text, closest) >= MAX_SHARED_WORDS:
            too_close.append(f"{text!r} ~ training {closest!r} ({shared_fraction(text, closest):.2f})")
    assert not too_close, "\n".join(too_close)


def test_emergency_recall_and_false_alarms(stack, record_property):
    emergencies = near_misses = caught = false_alarms = 0
    by_classifier = by_net = net_false_alarms = 0
    missed, alarms = [], []
    for expected, text in examples(HELDOUT):
        parsed = parse(stack, text)
        understood = parsed["intent"]["name"] == EMERGENCY
        classifier_says = classifier_top(parsed) == EMERGENCY
        net_says = parsed.get("danger_flagged") is True
        if expected == EMERGENCY:
            emergencies += 1
            caught += understood
            by_classifier += classifier_says
            by_net += net_says
            if not understood:
                missed.append(f"  -> {parsed['intent']['name']:<40} {text!r}")
        else:
            near_misses += 1
            false_alarms += understood
            net_false_alarms += net_says
            if understood:
                alarms.append(
                    f"  {expected:<40} {'(net: ' + parsed.get('danger_pattern', '') + ')' if net_says else '(classifier)':<32} {text!r}"
                )
    recall = caught / emergencies
    false_alarm_rate = false_alarms / near_misses
    report = [
        f"Emergency held-out: {emergencies} emergencies, {near_misses} near misses; "
        f"recall {recall:.3f} (minimum {MIN_RECALL}), false alarms {false_alarm_rate:.3f} (maximum {MAX_FALSE_ALARMS})",
        f"  on their own: classifier recall {by_classifier / emergencies:.3f}, safety net recall {by_net / emergencies:.3f} "
        f"(safety net false alarms {net_false_alarms / near_misses:.3f})",
        "Missed emergencies:",
        *missed,
        "False alarms:",
        *alarms,
    ]
    (PROJECT_ROOT / "tests" / "artifacts").mkdir(parents=True, exist_ok=True)
    (PROJECT_ROOT / "tests" / "artifacts" / "emergency_report.txt").write_text("\n".join(report) + "\n")
    SUMMARY_REPORTS.append("\n".join(report))
    record_property("emergency_recall", recall)
    record_property("emergency_false_alarm_rate", false_alarm_rate)
    assert recall >= MIN_RECALL, "\n".join(report)
    assert false_alarm_rate <= MAX_FALSE_ALARMS, "\n".join(report)

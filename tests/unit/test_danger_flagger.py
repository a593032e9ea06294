"""The emergency safety net (rasa_addons/nlu/danger.py with data/danger_lexicon.yml) on real messages.

Messages go through Rasa's own SpacyNLP and SpacyTokenizer with the project's spaCy pipeline
(build/spacy_en, made by `make setup`), exactly as in bot/config.yml, so the lemmas and tokens the
lexicon sees are the ones the server sees. Recall and false alarms on the held-out set, with the
classifier, are measured in tests/integration/test_emergency_recall.py.
"""

import subprocess
import sys

import pytest
import yaml
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.spacy_tokenizer import SpacyTokenizer
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from rasa_addons.nlu.danger import DangerFlagger, Lexicon
from sga.settings import PROJECT_ROOT
from tests.nlu_examples import training_examples

SPACY_DIR = PROJECT_ROOT / "build" / "spacy_en"
LEXICON = PROJECT_ROOT / "data" / "danger_lexicon.yml"


@pytest.fixture(scope="module")
def pipeline():
    if not (SPACY_DIR / "config.cfg").exists():
        pytest.fail(f"no spaCy pipeline at {SPACY_DIR}: run `make setup`")
    nlp = SpacyNLP.create({"model": str(SPACY_DIR), "case_sensitive": False}, None, None, None)
    tokenizer = SpacyTokenizer.create(SpacyTokenizer.get_default_config(), None, None, None)

    def parse(text, intent="greet", confidence=0.9):
        message = Message({TEXT: text})
        nlp.process([message], nlp.provide())
        tokenizer.process([message])
        ranking = [{"name": intent, "confidence": confidence}, {"name": "ask_emergency", "confidence": 0.05}]
        message.set(INTENT, {"name": intent, "confidence": confidence}, add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return message

    return parse


@pytest.fixture(scope="module")
def flagger():
    return DangerFlagger.create(DangerFlagger.get_default_config(), None, None, None)


def tokens(message):
    return [(t.text, t.lemma) for t in message.get(TOKENS_NAMES[TEXT])]


# The messages the issue reports as missed, and other ways of saying a child is in danger now.
EMERGENCIES = [
    "hes hitting the baby",
    "HELP hes hitting her rn",
    "he's here now, what do I do??",
    "police wont come what do i do",
    "kid is being beaten right now",
    "she's locked the kids in and hes drunk",
    "he says he'll kill the children",
    "child missing with the suspect now",
    "she just disclosed and her stepdad is outside",
    "HE IS KICKING THE DOOR IN",
    "kids in danger",
    "should i ring 999",
]

# Worried, but not immediate: these must not be flagged.
NEAR_MISSES = [
    "I'm worried about a child",
    "what if he gets access to the kids",
    "he hit her years ago, is he a risk",
    "she told me last week that dad hit her",
    "does this need a section 47",
    "how do I make a sarahs law application",
    "historic allegations against a football coach",
    "what counts as immediate danger",
    "how do I know if it's an emergency",
    "no immediate danger but I'm worried about the kids",
    "a youngster keeps turning up hungry and bruised",
    "he was hitting her when they lived together",
    "is it cold outside",
    "police won't agree to the disclosure, who decides",
    "",
    "   ",
]


@pytest.mark.parametrize("text", EMERGENCIES)
def test_emergencies_are_flagged(pipeline, flagger, text):
    assert flagger.lexicon.match(tokens(pipeline(text))), text


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_near_misses_are_not_flagged(pipeline, flagger, text):
    assert flagger.lexicon.match(tokens(pipeline(text))) is None, text


def test_flagged_message_becomes_the_emergency_intent_with_its_ranking_kept(pipeline, flagger):
    # Whatever the classifier said (here the FallbackClassifier's nlu_fallback), the intent is replaced.
    message = pipeline("HELP hes hitting her rn", intent="nlu_fallback", confidence=0.7)
    ranking = list(message.get(INTENT_RANKING_KEY))
    flagger.process([message])
    assert message.get(INTENT) == {"name": "ask_emergency", "confidence": 1.0}
    assert message.get(INTENT_RANKING_KEY) == ranking
    assert message.get("danger_flagged") is True
    assert message.get("danger_pattern") == "violence_in_progress"
    output = message.as_dict(only_output_properties=True)
    assert output["danger_flagged"] is True and output[INTENT]["name"] == "ask_emergency"


def test_unflagged_message_keeps_its_intent(pipeline, flagger):
    message = pipeline("what counts as immediate danger", intent="ask_thresholds_referral", confidence=0.8)
    flagger.process([message])
    assert message.get(INTENT) == {"name": "ask_thresholds_referral", "confidence": 0.8}
    assert message.get("danger_flagged") is False
    assert message.get("danger_pattern") is None


def test_no_other_training_example_is_flagged(pipeline, flagger):
    """Precision on the whole training set: no greeting, scheme question or near miss sets off the net."""
    flagged = [
        (intent, text)
        for intent, text in training_examples()
        if intent != "ask_emergency" and flagger.lexicon.match(tokens(pipeline(text)))
    ]
    assert not flagged


def test_most_emergency_training_examples_are_flagged(pipeline, flagger):
    """The net catches the great majority on its own; the classifier covers the rest
    ("what do I do if a child is in danger" is a question, not a report, and is left to it)."""
    emergencies = [text for intent, text in training_examples() if intent == "ask_emergency"]
    missed = [text for text in emergencies if not flagger.lexicon.match(tokens(pipeline(text)))]
    assert len(emergencies) >= 200
    assert len(missed) / len(emergencies) <= 0.05, missed


def test_ignore_phrases_do_not_hide_a_time_cue(pipeline, flagger):
    # "now what" is not a time cue, but "right now what should I do" still is.
    assert flagger.lexicon.match(tokens(pipeline("a kid is unsafe right now what should I do")))
    assert flagger.lexicon.match(tokens(pipeline("he hit her a while ago, now what"))) is None


def test_within_limits_how_far_apart_the_words_are(pipeline):
    lexicon = Lexicon(
        {
            "terms": {"violence": ["hit"], "present": ["now"]},
            "patterns": [{"name": "near", "all": ["violence", "present"], "within": 2}],
        }
    )
    assert lexicon.match(tokens(pipeline("he is hitting her and the kids now"))) is None
    assert lexicon.match(tokens(pipeline("hitting her now"))) == "near"


def test_lexicon_errors_are_caught_when_loaded():
    with pytest.raises(ValueError, match="unknown term list"):
        Lexicon({"terms": {}, "patterns": [{"name": "p", "all": ["nowhere"]}]})
    with pytest.raises(ValueError, match="no patterns"):
        Lexicon({"terms": {"a": ["b"]}})


def test_lexicon_path_is_found_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    flagger = DangerFlagger.create({"lexicon": "data/danger_lexicon.yml", "intent": "ask_emergency"}, None, None, None)
    assert flagger.lexicon.patterns


def test_config_runs_the_flagger_after_the_fallback_classifier():
    config = yaml.safe_load((PROJECT_ROOT / "bot" / "config.yml").read_text())
    names = [c["name"] for c in config["pipeline"]]
    flagger = names.index("rasa_addons.nlu.danger.DangerFlagger")
    assert flagger > names.index("FallbackClassifier")
    assert (PROJECT_ROOT / config["pipeline"][flagger]["lexicon"]).resolve() == LEXICON.resolve()


def test_the_server_package_does_not_import_actions():
    code = (
        "import sys, rasa_addons.nlu.danger; "
        "sys.exit(any(m == 'actions' or m.startswith('actions.') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT).returncode == 0


def test_a_long_message_is_matched_quickly(pipeline, flagger):
    import time

    text = " ".join(["he said she was worried about the kids at home with him and her"] * 150)
    message = pipeline(text)
    started = time.perf_counter()
    flagger.lexicon.match(tokens(message))
    assert time.perf_counter() - started < 1.0

"""The checklist engine's handling of words versus the NLU's reading of them."""
from actions.checklists import current_item, handle, new_state


def at_confirm(kind="recognition", partnership="west_midlands"):
    state = new_state(kind, partnership)
    while state["stage"] == "items":
        handle(state, "No")
    handle(state, "skip")
    handle(state, "skip")
    assert state["stage"] == "confirm"
    return state


def test_a_button_text_wins_over_a_misread_intent():
    assert handle(at_confirm(), "Save", intent="stop").finished == "done"
    state = new_state("recognition", "kent_medway")
    handle(state, "Yes", intent="stop")
    assert state["stage"] == "items" and state["answers"]


def test_free_text_uses_the_intent():
    state = new_state("recognition", "kent_medway")
    handle(state, "I'd like to finish this now please", intent="stop")
    assert state["stage"] == "confirm_stop"
    assert handle(state, "No, carry on", intent="affirm").finished is None
    assert state["stage"] == "items"
    handle(state, "I'd like to finish this now please", intent="stop")
    assert handle(state, "yes", intent="deny").finished == "stopped"


def test_yes_with_a_typo_is_understood_through_the_intent():
    state = new_state("recognition", "kent_medway")
    first = current_item(state).id
    handle(state, "yess", intent="affirm")
    assert state["answers"][first] == "yes"


def test_go_back_reopens_the_previous_item():
    state = new_state("recognition", "kent_medway")
    first = current_item(state).id
    handle(state, "not sure")
    turn = handle(state, "go back")
    assert current_item(state).id == first and "Not known" in turn.say[0]


def test_not_applicable_and_unclear_answers():
    state = new_state("recognition", "kent_medway")
    first = current_item(state).id
    turn = handle(state, "purple")
    assert "didn't catch" in turn.say[0] and first not in state["answers"]
    handle(state, "n/a")
    assert state["answers"][first] == "not_applicable"

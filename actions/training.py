"""Training: the scenario library in the conversation, exercise controls and group sessions.

Exercises run in the checklist form (actions/checklist.py); these actions choose and start them,
change their feedback, skip to the debrief, restart, and run group sessions: a trainer starts one and
gets a code, trainees join with it (any channel), pick a generated pseudonym or stay anonymous, and the
trainer asks for the results. Everything about the session lives in the `training` slot (no names)
and the `training_` tables (sga/training/), never in the outcome log.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.checklist import FORM, STEP, TRAINING, context, current_state, running, state_events, training_store
from actions.common import latest_entities, latest_text, send
from sga.answers import Reply
from sga.checklists import engine
from sga.checklists.engine import Exercise, Stage
from sga.checklists.model import checklists
from sga.content import PARTNERSHIPS
from sga.outcomes import hash_conversation
from sga.scenarios import FEEDBACK_END, FEEDBACK_NOW, SKIPPED, Scenario, library, listing, scenarios, select
from sga.settings import load_settings

logger = logging.getLogger(__name__)
THEME_ENTITY, SCHEME_ENTITY, SCENARIO_ENTITY, PSEUDONYM_ENTITY = "scenario_theme", "scheme", "scenario", "pseudonym"
FINISH_FIRST = "Finish or stop the exercise or checklist in progress first (say “stop”), then {what}."


def _button(title: str, intent: str, **entities: str) -> Dict[str, str]:
    return {"title": title, "payload": f"/{intent}{json.dumps(entities) if entities else ''}"}


def training(tracker: Tracker) -> Dict[str, Any]:
    value = tracker.get_slot(TRAINING)
    return dict(value) if isinstance(value, dict) else {}


def _filters(tracker: Tracker) -> Dict[str, Optional[str]]:
    """The checklist, partnership and theme named in this message (for listing scenarios)."""
    found = latest_entities(tracker)
    theme = found.get(THEME_ENTITY) or found.get(SCHEME_ENTITY)
    checklist = found.get("checklist")
    partnership = found.get("partnership")
    return {
        "checklist": checklist if checklist in checklists() else None,
        "partnership": partnership if partnership in PARTNERSHIPS else None,
        "theme": theme if theme in library().themes else None,
    }


def _start_buttons(chosen: List[Scenario], intent: str = "start_scenario") -> List[Dict[str, str]]:
    return [_button(s.title, intent, scenario=s.id) for s in chosen]


def start_exercise(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    scenario: Scenario,
    session: Optional[str] = None,
    feedback: Optional[str] = None,
    extra: Optional[Dict[str, Any]] = None,
    settings: Optional[Dict[str, Any]] = None,
) -> List[EventType]:
    settings = dict(settings if settings is not None else training(tracker))
    mode = feedback or settings.get("feedback") or FEEDBACK_END
    if mode not in (FEEDBACK_NOW, FEEDBACK_END):
        mode = FEEDBACK_END
    exercise = Exercise(scenario=scenario.id, partnership=scenario.partnership, feedback=mode, session=session)
    state = engine.start(scenario.checklist, context(tracker), exercise=exercise)
    when = "after each answer" if mode == FEEDBACK_NOW else "at the end, in the debrief"
    send(
        dispatcher,
        Reply(
            f"{scenario.title}\n\n{scenario.narrative}\n\nAnswer as you would for this case. Feedback: {when} "
            "(say “feedback now” or “feedback at the end” to change it). You can say “skip” to skip a question, "
            "“skip to the debrief” to finish early, “restart the scenario” to start again, or “stop”.",
            [_button("Feedback after each answer", "feedback_now"), _button("Feedback at the end", "feedback_at_end")],
        ),
    )
    settings.update(extra or {})
    settings.update(last_scenario=scenario.id, feedback=mode)
    return [*state_events(state), SlotSet(STEP, None), SlotSet(TRAINING, settings), FollowupAction(FORM)]


class ActionStartScenario(Action):
    """A training exercise by name ("start the volunteer coach scenario"); without a name, the library:
    "how many scenarios are there", "list the west midlands scenarios", "scenarios about MAPPA" list
    the scenarios (all, or for the checklist, partnership or theme named) with their count."""

    def name(self) -> Text:
        return "action_start_scenario"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        scenario = scenarios().get(latest_entities(tracker).get(SCENARIO_ENTITY) or "")
        filters = _filters(tracker)
        if running(tracker) is not None:
            if scenario is not None:
                send(dispatcher, Reply(FINISH_FIRST.format(what="start the exercise")))
            else:
                send(dispatcher, Reply(listing(**filters) + "\n\nFinish or stop this one first to start another."))
            return []
        if scenario is not None:
            return start_exercise(dispatcher, tracker, scenario)
        send(dispatcher, Reply(listing(**filters), _start_buttons(select(**filters))))
        return []


class ActionSkipToDebrief(Action):
    """ "skip to the debrief": the remaining questions are marked skipped and the debrief follows."""

    def name(self) -> Text:
        return "action_skip_to_debrief"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        state = current_state(tracker)
        if state is None or state.exercise is None or running(tracker) is None:
            send(
                dispatcher,
                Reply(
                    "Skipping to the debrief is for training exercises"
                    + (
                        ": this checklist carries on."
                        if running(tracker)
                        else ". Say “list the scenarios” to start one."
                    )
                ),
            )
            return []
        if state.stage is Stage.CONFIRM_STOP:
            state.stage = state.resume_stage or Stage.ITEMS
        ctx = context(tracker)
        engine.advance(state, ctx)
        while state.stage is Stage.ITEMS:
            item = engine.current_item(state, ctx)
            assert item is not None
            state.answers[item.id] = SKIPPED
            state.history.append(item.id)
            engine.advance(state, ctx)
        send(dispatcher, Reply("Skipping the remaining questions: here is the debrief."))
        return [*state_events(state), SlotSet(STEP, "done")]


class ActionRestartScenario(Action):
    """ "restart the scenario": the same case from the first question (or the last one run)."""

    def name(self) -> Text:
        return "action_restart_scenario"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        state = current_state(tracker)
        if running(tracker) is not None and state is not None:
            if state.exercise is None:
                fresh = engine.start(state.kind, context(tracker))
                send(dispatcher, Reply("Starting this checklist again from the first question."))
            else:
                fresh = engine.start(state.kind, context(tracker), exercise=state.exercise)
                send(
                    dispatcher, Reply("Starting the exercise again from the first question. Your answers were cleared.")
                )
            return state_events(fresh)
        settings = training(tracker)
        scenario = scenarios().get(settings.get("last_scenario") or "")
        if scenario is None:
            send(dispatcher, Reply("There is no exercise to restart. Say “list the scenarios” to choose one."))
            return []
        return start_exercise(dispatcher, tracker, scenario, session=settings.get("joined"))


class _ChooseFeedback:
    """Shared by the two feedback actions (not itself an action: rasa-sdk registers every Action)."""

    mode = FEEDBACK_END

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        settings = training(tracker)
        settings["feedback"] = self.mode
        events: List[EventType] = [SlotSet(TRAINING, settings)]
        state = current_state(tracker)
        in_exercise = running(tracker) is not None and state is not None and state.exercise is not None
        if in_exercise:
            assert state is not None and state.exercise is not None
            state.exercise.feedback = self.mode
            events += state_events(state)
        if self.mode == FEEDBACK_NOW:
            text = (
                "Feedback after each answer: you will see straight away whether "
                "your answer matched the model answer, and why."
            )
        else:
            text = "Feedback at the end: your answers are compared with the model answers in the debrief."
        if not in_exercise:
            text += " This applies to the next exercise you start."
        send(dispatcher, Reply(text))
        return events


class ActionFeedbackNow(_ChooseFeedback, Action):
    mode = FEEDBACK_NOW

    def name(self) -> Text:
        return "action_feedback_now"


class ActionFeedbackAtEnd(_ChooseFeedback, Action):
    mode = FEEDBACK_END

    def name(self) -> Text:
        return "action_feedback_at_end"


def _trainer_hash(tracker: Tracker) -> str:
    return hash_conversation(tracker.sender_id, load_settings().conversation_salt)


async def _blocking(function: Any, *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


class ActionStartGroupSession(Action):
    """A trainer starts a group session for one scenario and gets a short code for the trainees."""

    def name(self) -> Text:
        return "action_start_group_session"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        from sga.training import TrainingUnavailable

        if running(tracker) is not None:
            send(dispatcher, Reply(FINISH_FIRST.format(what="start the group session")))
            return []
        scenario = scenarios().get(latest_entities(tracker).get(SCENARIO_ENTITY) or "")
        if scenario is None:
            filters = _filters(tracker)
            chosen = select(**filters) if any(filters.values()) else list(scenarios().values())
            send(
                dispatcher,
                Reply(
                    "Which scenario should the group work through? Each trainee runs it on their own device and "
                    "you see the results together.",
                    _start_buttons(chosen or list(scenarios().values()), "start_group_session"),
                ),
            )
            return []
        settings = training(tracker)
        feedback = (
            settings.get("feedback") if settings.get("feedback") in (FEEDBACK_NOW, FEEDBACK_END) else FEEDBACK_END
        )
        try:
            session = await _blocking(training_store().create_session, scenario.id, feedback, _trainer_hash(tracker))
        except TrainingUnavailable:
            logger.error("a group session could not be created")
            send(
                dispatcher,
                Reply("I could not start a group session because of a problem on the server. Please try again later."),
            )
            return []
        settings["session"] = session.code
        send(
            dispatcher,
            Reply(
                f"Group session started for “{scenario.title}”.\n\nSession code: {session.code}\n\n"
                f"Trainees join by typing “join session {session.code}” in the web chat or in Teams. No names are "
                "asked for or stored: each trainee picks a pseudonym from a list or stays anonymous. Feedback "
                + ("after each answer" if feedback == FEEDBACK_NOW else "comes at the end, in each trainee's debrief")
                + ". When they have finished, ask me “show the session results”.",
                [_button("Show the session results", "show_session_results")],
            ),
        )
        return [SlotSet(TRAINING, settings)]


class ActionJoinSession(Action):
    """A trainee joins a group session with its code, then picks a pseudonym or stays anonymous."""

    def name(self) -> Text:
        return "action_join_session"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        from sga.training import SessionNotFound, TrainingUnavailable, find_code, pseudonym_choices

        if running(tracker) is not None:
            send(dispatcher, Reply(FINISH_FIRST.format(what="join the session")))
            return []
        code = find_code(latest_text(tracker))
        if code is None:
            send(
                dispatcher,
                Reply(
                    "Type “join session” and the 6-character code your trainer "
                    "gave you, for example “join session K7P4QM”."
                ),
            )
            return []
        store = training_store()
        try:
            session = await _blocking(store.session, code)
            taken = [p.pseudonym for p in await _blocking(store.participants, code)]
        except SessionNotFound:
            send(dispatcher, Reply(f"I can't find a session with the code {code}. Check the code with your trainer."))
            return []
        except TrainingUnavailable:
            logger.error("a group session could not be read")
            send(
                dispatcher,
                Reply("I could not open that session because of a problem on the server. Please try again later."),
            )
            return []
        offered = pseudonym_choices(taken)
        scenario = scenarios().get(session.scenario_id)
        settings = training(tracker)
        settings.update(joining=code, offered=offered)
        send(
            dispatcher,
            Reply(
                f"Session {code}: “{scenario.title if scenario else session.scenario_id}”. Your name is not asked for "
                "or stored. Pick a pseudonym for the group's results, or stay anonymous.",
                [_button(name, "choose_pseudonym", pseudonym=name) for name in offered]
                + [_button("Stay anonymous", "choose_pseudonym")],
            ),
        )
        return [SlotSet(TRAINING, settings)]


class ActionChoosePseudonym(Action):
    def name(self) -> Text:
        return "action_choose_pseudonym"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        from sga.training import SessionNotFound, TrainingUnavailable

        if running(tracker) is not None:
            send(dispatcher, Reply("You are in an exercise already: carry on, or say “stop” first."))
            return []
        settings = training(tracker)
        code = settings.get("joining")
        if not isinstance(code, str):
            send(dispatcher, Reply("To join a group session, type “join session” and the code your trainer gave you."))
            return []
        chosen = latest_entities(tracker).get(PSEUDONYM_ENTITY)
        offered = settings.get("offered") or []
        if chosen is not None and chosen not in offered:
            send(
                dispatcher,
                Reply(
                    "Please pick one of the pseudonyms offered, or stay anonymous: names are never stored.",
                    [_button(name, "choose_pseudonym", pseudonym=name) for name in offered]
                    + [_button("Stay anonymous", "choose_pseudonym")],
                ),
            )
            return []
        store = training_store()
        try:
            session = await _blocking(store.session, code)
            participant = await _blocking(store.join, code, chosen)
        except (SessionNotFound, TrainingUnavailable):
            logger.error("a trainee could not join a group session")
            send(
                dispatcher,
                Reply("I could not add you to the session because of a problem on the server. Please try again."),
            )
            return []
        scenario = scenarios().get(session.scenario_id)
        if scenario is None:
            send(dispatcher, Reply("This session's scenario is no longer in the library. Please tell your trainer."))
            return []
        settings.pop("offered", None)
        settings.pop("joining", None)
        send(
            dispatcher,
            Reply(f"You have joined session {code} as {participant.display}."),
        )
        extra = {"participant": participant.id, "joined": code}
        return start_exercise(
            dispatcher, tracker, scenario, session=code, feedback=session.feedback, extra=extra, settings=settings
        )


class ActionShowSessionResults(Action):
    """ "show the session results": only for the conversation that started the session."""

    def name(self) -> Text:
        return "action_show_session_results"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        from sga.training import SessionNotFound, TrainingUnavailable, find_code, summarise, summary_text

        code = find_code(latest_text(tracker)) or training(tracker).get("session")
        if not isinstance(code, str):
            send(
                dispatcher,
                Reply(
                    "You have not started a group session in this conversation. "
                    "Say “start a group session” to begin one."
                ),
            )
            return []
        store = training_store()
        try:
            session = await _blocking(store.session, code)
            if session.trainer_hash != _trainer_hash(tracker):
                send(
                    dispatcher,
                    Reply(
                        "Only the trainer who started a session can see its "
                        "results, in the conversation that started it."
                    ),
                )
                return []
            joined = len(await _blocking(store.participants, code))
            rows = await _blocking(store.rows, code)
        except SessionNotFound:
            send(dispatcher, Reply(f"I can't find a session with the code {code}."))
            return []
        except TrainingUnavailable:
            logger.error("group session results could not be read")
            send(dispatcher, Reply("I could not read the session's results because of a problem on the server."))
            return []
        scenario = scenarios().get(session.scenario_id)
        title = scenario.title if scenario else session.scenario_id
        send(dispatcher, Reply(summary_text(code, title, joined, summarise(rows))))
        return []

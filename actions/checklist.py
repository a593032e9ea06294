"""The checklist form and its interruptions: Rasa wiring around the engine in sga/checklists/.

The form (`checklist_form`, one slot `checklist_step`) accepts only messages that answer the current
stage; everything else (an emergency, a guidance question, why / go back / stop, another place) is
not extracted into the slot, so the form rejects it and a rule in data/rules/checklists.yml handles
it before the form asks its question again.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, Callable, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import latest_entities, latest_intent, latest_text, send
from sga.answers import Reply
from sga.checklists import engine, prompts
from sga.checklists.engine import ChecklistState, Context, Heard, Stage
from sga.checklists.model import checklists
from sga.checklists.summary import Summary
from sga.limits import may_save
from sga.outcomes import OutcomeNotSaved
from sga.settings import load_settings

logger = logging.getLogger(__name__)
STATE, STEP, FORM, SAVED = "checklist_state", "checklist_step", "checklist_form", "outcome_saved"
TRAINING = "training"  # the conversation's training settings and group-session membership (actions/training.py)
EMERGENCY_INTENT, EMERGENCY_TOPIC = "ask_emergency", "emergency"  # a child in immediate danger
MAX_TEXT = 2000


@functools.lru_cache(maxsize=1)
def outcome_store():
    from sga.outcomes import OutcomeStore

    settings = load_settings()
    return OutcomeStore(settings.database_url, settings.spool_dir)


@functools.lru_cache(maxsize=1)
def training_store():
    from sga.training import TrainingStore

    return TrainingStore(load_settings().database_url)


async def record_session_results(state: ChecklistState, training: Any) -> str:
    """A group session's trainee finished: keep their answers (pseudonymous) for the trainer."""
    from sga.scenarios import compare, scenarios
    from sga.training import Answer, TrainingUnavailable

    assert state.exercise is not None and state.exercise.session
    participant = (training or {}).get("participant") if isinstance(training, dict) else None
    if not isinstance(participant, str):
        return "Your answers were not added to the group's results (you did not join the session with its code)."
    scenario = scenarios()[state.exercise.scenario]
    answers = [Answer(r.item_id, r.given, r.model, r.matched) for r in compare(scenario, state.answers)]
    store, code = training_store(), state.exercise.session
    try:
        await asyncio.get_running_loop().run_in_executor(None, store.record, code, participant, scenario.id, answers)
    except TrainingUnavailable:
        logger.error("training results could not be stored")
        return "Your answers could not be added to the group's results because of a problem on the server."
    return f"Your answers have been added to session {code}'s results (no name is stored). Thank you."


def context(tracker: Tracker) -> Context:
    return Context(partnership=tracker.get_slot("partnership"), role=tracker.get_slot("role"))


def current_state(tracker: Tracker) -> Optional[ChecklistState]:
    from sga.scenarios import exercise_is_known

    state = ChecklistState.from_slot(tracker.get_slot(STATE))
    return state if state is not None and exercise_is_known(state) else None


def running(tracker: Tracker) -> Optional[ChecklistState]:
    """The checklist in progress, if the form is active."""
    return current_state(tracker) if (tracker.active_loop or {}).get("name") == FORM else None


FORM_ACTIONS = {
    "action_listen",
    "action_extract_slots",
    FORM,
    "validate_checklist_form",
    "action_start_checklist",
    "action_start_scenario",
    "action_ask_checklist_step",
    "action_checklist_stop",
}


def _interrupted(tracker: Tracker) -> bool:
    """Whether something other than the form answered this message (a question, an emergency)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "action" and event.get("name") not in FORM_ACTIONS:
            return True
    return False


def state_events(state: ChecklistState) -> List[EventType]:
    return [SlotSet(STATE, state.to_slot())]


def choose_checklist(tracker: Tracker) -> Optional[Callable[[CollectingDispatcher], List[EventType]]]:
    """At the checklist picker, a message that names a checklist chooses it, whatever else the NLU
    read into it ("risk assessment" is also a topic); returns how to apply the choice, or None."""
    state = running(tracker)
    kind = latest_entities(tracker).get("checklist")
    if state is None or state.stage is not engine.Stage.KIND or kind not in checklists():
        return None

    def apply(dispatcher: CollectingDispatcher) -> List[EventType]:
        turn = engine.handle(state, Heard("start_checklist", {"checklist": kind}), context(tracker))
        for message in turn.say:
            send(dispatcher, Reply(message))
        return state_events(turn.state)

    return apply


def summary_record(state: ChecklistState, ctx: Context) -> Dict[str, str]:
    """The checklist's summary as a record to keep (the web chat's "Copy summary" and "Print")."""
    return {"kind": "summary", "title": "Checklist summary", "text": prompts.summary(state, ctx)}


class ActionStartChecklist(Action):
    def name(self) -> Text:
        return "action_start_checklist"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        # From this message only: a checklist named in an earlier question must not carry over.
        kind = latest_entities(tracker).get("checklist")
        state = running(tracker)
        if state is not None:
            if state.stage is engine.Stage.KIND and kind in checklists():
                turn = engine.handle(state, Heard("start_checklist", {"checklist": kind}), context(tracker))
                for message in turn.say:
                    send(dispatcher, Reply(message))
                return state_events(turn.state)
            title = state.checklist.title if state.kind else "checklist"
            send(
                dispatcher,
                Reply(
                    f"You're in the middle of the {title}. Finish it, or say “stop” "
                    "first if you want to start something else."
                ),
            )
            return []
        state = engine.start(kind, context(tracker))
        if state.kind:
            send(dispatcher, Reply(state.checklist.intro))
        return [*state_events(state), SlotSet(STEP, None)]


class ActionAskChecklistStep(Action):
    def name(self) -> Text:
        return "action_ask_checklist_step"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        state = current_state(tracker) or engine.start(None, context(tracker))
        if state.stage is not engine.Stage.CONFIRM_STOP:
            engine.advance(state, context(tracker))  # the partnership or role may have changed meanwhile
        if _interrupted(tracker) and latest_intent(tracker) == EMERGENCY_INTENT:
            # Not "back to the checklist" straight after a 999 message: record it, and let it wait.
            recorded = engine.emergency_reported(state, context(tracker))
            what = "exercise" if state.exercise else "checklist"
            carry_on = f"Carry on with the {what} when the child is safe."
            send(dispatcher, Reply(" ".join(filter(None, [recorded, carry_on]))))
        elif _interrupted(tracker):
            send(dispatcher, Reply("Back to the checklist."))
        at_summary = state.stage is engine.Stage.CONFIRM and state.exercise is None
        record = summary_record(state, context(tracker)) if at_summary else None
        # The summary also as data, for channels that draw it themselves (Teams: an Adaptive Card).
        summary = Summary.from_state(state, context(tracker)).as_data() if at_summary else None
        send(dispatcher, prompts.prompt(state, context(tracker)), record, summary)
        return state_events(state)


class ValidateChecklistForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_checklist_form"

    async def validate_checklist_step(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        if value is None:
            return {}  # the slot was reset (the form starting): no message to consume
        state = current_state(tracker)
        if state is None:
            return {STEP: "stopped"}
        if value == "done" and state.exercise is not None and state.stage is Stage.CONFIRM:
            return {STEP: "done"}  # "skip to the debrief" (actions/training.py), or "done" at the end of an exercise
        heard = Heard(latest_intent(tracker), latest_entities(tracker), latest_text(tracker)[:MAX_TEXT])
        answered_before = len(state.history)
        turn = engine.handle(state, heard, context(tracker))
        for message in turn.say:
            send(dispatcher, Reply(message))
        if turn.state.exercise is not None:
            from sga.scenarios import feedback_after  # "feedback now": matched or different, and why

            said = feedback_after(answered_before, turn.state)
            if said:
                send(dispatcher, Reply(said))
        slots: Dict[Text, Any] = {STATE: turn.state.to_slot(), STEP: turn.finished}
        if turn.emergency:
            slots["topic"] = EMERGENCY_TOPIC  # the answer was the 999 advice
        return slots


class ActionChecklistWhy(Action):
    def name(self) -> Text:
        return "action_checklist_why"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        state = current_state(tracker)
        if state is not None:
            send(dispatcher, Reply(prompts.why(state, context(tracker))))
        return []


class ActionChecklistBack(Action):
    def name(self) -> Text:
        return "action_checklist_back"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        state = current_state(tracker)
        if state is None:
            return []
        turn = engine.go_back(state, context(tracker))
        for message in turn.say:
            send(dispatcher, Reply(message))
        return [*state_events(turn.state), *([SlotSet("role", None)] if turn.clear_role else [])]


class ActionChecklistStop(Action):
    def name(self) -> Text:
        return "action_checklist_stop"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        state = current_state(tracker)
        return state_events(engine.request_stop(state)) if state is not None else []


class ActionFinishChecklist(Action):
    def name(self) -> Text:
        return "action_finish_checklist"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        state = current_state(tracker)
        finished = tracker.get_slot(STEP)
        reset: List[EventType] = [SlotSet(STATE, None), SlotSet(STEP, None)]
        if state is not None and state.exercise is not None and finished == "done":
            from sga.scenarios import debrief

            text = debrief(state)
            send(dispatcher, Reply(text), {"kind": "debrief", "title": "Training exercise debrief", "text": text})
            if state.exercise.session:
                send(dispatcher, Reply(await record_session_results(state, tracker.get_slot(TRAINING))))
            return reset
        if state is None or finished != "done":
            send(
                dispatcher,
                Reply(
                    "Checklist stopped. Nothing from it was saved, and nothing already "
                    "in the outcome log was changed. Ask me anything, or start another checklist."
                ),
            )
            return reset
        ctx, channel = context(tracker), tracker.get_latest_input_channel()
        if not await may_save(tracker.sender_id):
            send(
                dispatcher,
                Reply(
                    "This conversation has saved a lot of outcomes in a short time, so I have not "
                    "saved this one. Your answers are kept: try Save again later, or record the "
                    "outcome in the case file now."
                ),
            )
            return [SlotSet(STEP, None), FollowupAction(FORM)]  # back to the summary, nothing saved
        problems = engine.problems_before_saving(state, ctx, channel)
        if problems:
            logger.warning("refused to save a checklist: %s", "; ".join(problems))
            send(
                dispatcher,
                Reply(
                    "I can't save this checklist: it is not complete. Nothing was written "
                    "to the outcome log. Please start the checklist again."
                ),
            )
            return reset
        # The store blocks (and may wait for a database that is down): keep it off the event loop.
        record = summary_record(state, ctx)
        saved = False
        try:
            message = await asyncio.get_running_loop().run_in_executor(
                None, self._save, state, ctx, channel, tracker.sender_id
            )
            # What to keep for the case file: the summary and the reference (the message's first paragraph).
            reference = message.split("\n\n", 1)[0]
            record = {"kind": "saved", "title": "Checklist record", "text": f"{record['text']}\n\n{reference}"}
            saved = True
        except OutcomeNotSaved:
            logger.error("outcome could not be written to the outcome log or its spool")
            message = (
                "I could not save this outcome anywhere because of a problem on the server: nothing was "
                "recorded. Please record the outcome and your reasons in the case file now, and tell "
                "your administrator."
            )
        except Exception:  # the store spools before it raises, so say what happened rather than crash
            logger.exception("outcome could not be written to the outcome log")
            message = (
                "I could not write this outcome to the outcome log because of a problem on the server. "
                "It has been kept on the server for an administrator to recover (sga spool flush), "
                "but please record the outcome and your reasons in the case file now."
            )
        send(dispatcher, Reply(message), record)  # unsaved: the summary, to copy into the case file
        if saved:
            # Set and cleared at once: one event, which the usage markers (bot/markers/) count as a save.
            return [*reset, SlotSet(SAVED, state.kind), SlotSet(SAVED, None)]
        return reset

    @staticmethod
    def _save(state: ChecklistState, ctx: Context, channel: str, sender_id: str) -> str:
        from sga.outcomes import OutcomeDraft

        checklist = state.checklist
        partnership = engine.partnership_of(state, ctx)
        assert partnership is not None
        answers = engine.answers_for(state, ctx)
        result = checklist.evaluate(answers, partnership)
        draft = OutcomeDraft.new(
            checklist_kind=checklist.kind,
            content_version=checklist.version,
            partnership=partnership,
            channel=channel,
            practitioner_role=ctx.role,
            case_reference=state.case_reference,
            answers=answers,
            outcome=result.outcome,
            outcome_summary=result.summary,
            next_steps=result.next_steps,
            rationale=checklist.rationale(answers, partnership),
            sender_id=sender_id,
            salt=load_settings().conversation_salt,
            record_id=state.run_id,
        )
        saved = outcome_store().save(draft)
        return prompts.saved_message(saved.reference, saved.stored, result.next_steps, partnership)

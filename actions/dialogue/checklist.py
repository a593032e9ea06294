"""The checklist form: Rasa wiring around the engine in actions/checklists.py."""
from __future__ import annotations

import asyncio
import functools
import logging
import re
from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import checklists as engine
from actions.answers import Reply
from actions.content import content
from actions.dialogue.common import latest_confidence, latest_intent, latest_text, send
from actions.dialogue.guidance import respond_to_topic
from actions.settings import load_settings

logger = logging.getLogger(__name__)
STATE = "checklist_state"
STEP = "checklist_step"
EMERGENCY = re.compile(r"\b(999|immediate(ly)? danger|in danger (right )?now|being (hurt|abused) (right )?now)\b", re.I)
QUESTION_CONFIDENCE = 0.6


@functools.lru_cache(maxsize=1)
def settings():
    return load_settings()


@functools.lru_cache(maxsize=1)
def outcome_store():
    from actions.outcomes import OutcomeStore

    return OutcomeStore(settings().database_url, settings().spool_dir)


class ActionStartChecklist(Action):
    def name(self) -> Text:
        return "action_start_checklist"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        # From this message only: a checklist named in an earlier question must not carry over.
        kind = next(tracker.get_latest_entity_values("checklist"), None)
        training = latest_intent(tracker) == "start_scenario"
        state = engine.new_state(kind, tracker.get_slot("partnership"), training=training)
        if state["kind"]:
            send(dispatcher, Reply(engine.checklists()[state["kind"]].intro))
        return [SlotSet(STATE, state), SlotSet(STEP, None)]


class ActionAskChecklistStep(Action):
    def name(self) -> Text:
        return "action_ask_checklist_step"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        state = tracker.get_slot(STATE) or engine.new_state(None, tracker.get_slot("partnership"))
        question = engine.prompt(state)
        send(dispatcher, Reply(question.text, question.buttons))
        return [SlotSet(STATE, state)]


class ValidateChecklistForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_checklist_form"

    async def validate_checklist_step(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: Dict[Text, Any]) -> Dict[Text, Any]:
        state = tracker.get_slot(STATE)
        if not state:
            return {STEP: "stopped"}
        text = latest_text(tracker)[:2000]
        intent = latest_intent(tracker)
        confidence = latest_confidence(tracker)

        # Safety first: a child in danger gets the emergency advice, whatever the checklist is doing;
        # a guidance question is answered too. Either way the form then asks its question again.
        topic = content().topic_for_intent(intent)
        if intent == "ask_emergency" or EMERGENCY.search(text):
            topic_id = "emergency"
        elif topic and confidence >= QUESTION_CONFIDENCE and self._is_question(state, text):
            topic_id = topic.id
        else:
            topic_id = None
        if topic_id:
            reply, slots = respond_to_topic(topic_id, state.get("partnership") or tracker.get_slot("partnership"))
            send(dispatcher, reply)
            send(dispatcher, Reply("Back to the checklist."))
            return {STEP: None, **slots}

        turn = engine.handle(state, text, intent)
        for message in turn.say:
            send(dispatcher, Reply(message))
        slots: Dict[Text, Any] = {STATE: turn.state, STEP: turn.finished}
        if turn.state.get("partnership") and not tracker.get_slot("partnership"):
            slots["partnership"] = turn.state["partnership"]
        return slots

    @staticmethod
    def _is_question(state: Dict[str, Any], text: str) -> bool:
        """A guidance question, not an answer: only where answers are short choices."""
        if state["stage"] not in ("items", "kind", "confirm"):
            return False
        if state["stage"] == "items" and engine.current_item(state).interpret(text):
            return False
        return len(text.split()) >= 3


class ActionFinishChecklist(Action):
    def name(self) -> Text:
        return "action_finish_checklist"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]):
        state = tracker.get_slot(STATE)
        reset: List[Dict[str, Any]] = [SlotSet(STATE, None), SlotSet(STEP, None)]
        if state and state.get("training") and tracker.get_slot(STEP) == "done":
            from actions.scenarios import debrief

            send(dispatcher, Reply(debrief(state)))
            return reset
        if not state or tracker.get_slot(STEP) != "done":
            send(dispatcher, Reply("Checklist stopped. Nothing from it was saved, and nothing already "
                                   "in the outcome log was changed. Ask me anything, or start another checklist."))
            return reset
        # The store blocks (and may wait for a database that is down): keep it off the event loop.
        try:
            message = await asyncio.get_running_loop().run_in_executor(None, self._save, state, tracker)
        except Exception:  # the store spools before it raises, so say what happened rather than crash
            logger.exception("outcome could not be written to the outcome log")
            message = ("I could not write this outcome to the outcome log because of a problem on the server. "
                       "It has been kept on the server for an administrator to recover (sga spool flush), "
                       "but please record the outcome and your reasons in the case file now.")
        send(dispatcher, Reply(message))
        return reset

    @staticmethod
    def _save(state: Dict[str, Any], tracker: Tracker) -> str:
        from actions.outcomes import OutcomeDraft

        checklist = engine.checklists()[state["kind"]]
        result = checklist.evaluate(state["answers"], state["partnership"])
        draft = OutcomeDraft.new(
            checklist_kind=checklist.kind,
            content_version=checklist.version,
            partnership=state["partnership"],
            channel=tracker.get_latest_input_channel() or "unknown",
            practitioner_role=state.get("role"),
            case_reference=state.get("case_reference"),
            answers=dict(state["answers"]),
            outcome=result.outcome,
            outcome_summary=result.summary,
            next_steps=result.next_steps,
            rationale=engine.rationale(checklist, state["answers"], state["partnership"]),
            sender_id=tracker.sender_id,
            salt=settings().conversation_salt,
        )
        saved = outcome_store().save(draft)
        where = ("It is in the outcome log." if saved.stored else
                 "The outcome log is unavailable just now, so the record is kept safely on this server "
                 "and will be written to the log automatically; nothing is lost.")
        steps = "\n".join(f"- {s}" for s in result.next_steps) or "- None identified from these answers."
        return (f"Saved. Your reference is {saved.reference}. {where}\n\n"
                f"Outcome: {result.summary}\n\nNext steps (each with its source):\n{steps}\n\n"
                "Keep your own written record of decisions and reasons in the case file, as the procedure requires.")

"""Turns procedure content into replies: answers, details, citations, the partnership question.

Pure functions of the content (no Rasa here), so every wording rule is unit-tested in one place:
- every answer names its partnership and cites procedure and section;
- a local topic is answered only from the user's own partnership;
- a topic taken from the other partnership's procedure says so and points to local procedure;
- answers about disclosure remind the user to seek legal advice where in doubt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from sga.content import NATIONAL, PARTNERSHIPS, Content, Entry, SourceDocument, intent_for_topic

LEGAL_ADVICE = "Before sharing information about a person, seek legal advice wherever there is any doubt."
GUIDANCE_NOTICE = (
    "This is guidance from local procedures, not legal advice. If a child is in immediate danger, call 999."
)


@dataclass
class Reply:
    text: str
    buttons: List[Dict[str, str]] = field(default_factory=list)


def partnership_name(content: Content, partnership: str) -> str:
    return content.documents[partnership].name


def partnership_button(content: Content, partnership: str, title: Optional[str] = None) -> Dict[str, str]:
    return {
        "title": title or partnership_name(content, partnership),
        "payload": f'/inform_partnership{{"partnership":"{partnership}"}}',
    }


def topic_button(content: Content, topic_id: str) -> Dict[str, str]:
    return {"title": content.topic(topic_id).title, "payload": "/" + intent_for_topic(topic_id)}


def needs_partnership(content: Content, topic_id: str, partnership: Optional[str]) -> bool:
    return content.topic(topic_id).local and partnership not in PARTNERSHIPS


def ask_partnership(content: Content, topic_id: Optional[str] = None) -> Reply:
    about = f" about “{content.topic(topic_id).title}”" if topic_id else ""
    return Reply(
        text=(f"The answer{about} differs between the two partnerships' procedures. Which partnership do you work in?"),
        buttons=[partnership_button(content, p) for p in PARTNERSHIPS],
    )


def procedure_number(doc: SourceDocument) -> str:
    """The procedure's number: "2.4.1" from "2.4.1 Identified Offenders ..."."""
    return doc.procedure.split()[0]


def citation_line(doc: SourceDocument, entry: Entry) -> str:
    if doc.key == NATIONAL:
        name = entry.source_name or doc.procedure
        where = f"{name}: {entry.section}"
    else:
        where = f"{doc.name} procedure {doc.procedure}, section {entry.section}"
    url = entry.source_url or doc.url
    return f"Source: {where} ({url}; this assistant's content last reviewed {doc.last_reviewed:%d %B %Y})"


def _notes(content: Content, topic_id: str, partnership: Optional[str], docs: List[SourceDocument]) -> List[str]:
    notes = []
    procedure_keys = [d.key for d in docs if d.key != NATIONAL]
    if partnership in PARTNERSHIPS and procedure_keys and partnership not in procedure_keys:
        other = content.documents[procedure_keys[0]]
        notes.append(
            f"Note: this comes from the {other.name} procedure. "
            f"{partnership_name(content, partnership)} procedure {procedure_number(content.documents[partnership])} "
            "does not set this out; check your own partnership's procedures for local arrangements."
        )
    for doc in docs:
        if doc.entries[topic_id].local_practice:
            notes.append(f"This is local practice in {doc.name}; it does not apply elsewhere.")
    if content.topic(topic_id).touches_disclosure:
        notes.append(LEGAL_ADVICE)
    return notes


def answer(content: Content, topic_id: str, partnership: Optional[str], *, detailed: bool = False) -> Reply:
    """The answer to `topic_id` for `partnership` (which must be set for a local topic)."""
    topic = content.topic(topic_id)
    docs = content.sources_for(topic_id, partnership)
    heading = topic.title
    if topic.local:
        assert partnership is not None, "a local topic is answered only for a known partnership"
        heading += f" — {partnership_name(content, partnership)}"
    parts = [heading]
    for doc in docs:
        entry = doc.entries[topic_id]
        text = entry.detail if detailed and entry.detail else entry.short
        if len(docs) > 1:
            label = (
                "National position"
                if doc.key == NATIONAL
                else f"From the {doc.name} procedure ({procedure_number(doc)})"
            )
            text = f"{label}:\n{text}"
        parts.append(text)
    said_already = any("legal advice" in part.lower() for part in parts)
    parts.extend(n for n in _notes(content, topic_id, partnership, docs) if not (n == LEGAL_ADVICE and said_already))
    parts.extend(citation_line(doc, doc.entries[topic_id]) for doc in docs)

    buttons = []
    if not detailed and any(doc.entries[topic_id].detail for doc in docs):
        buttons.append({"title": "Tell me more", "payload": "/tell_more"})
    buttons.append({"title": "Where does that come from?", "payload": "/ask_source"})
    if topic.local:
        for other in PARTNERSHIPS:
            if other != partnership:
                buttons.append(partnership_button(content, other, f"Answer for {partnership_name(content, other)}"))
    return Reply(text="\n\n".join(parts), buttons=buttons)


def no_more_detail(content: Content, topic_id: str) -> Reply:
    return Reply(
        text=f"That is all the procedures say about “{content.topic(topic_id).title}”. "
        "Ask me where it comes from to read the source section."
    )


def sources(content: Content, topic_id: str, partnership: Optional[str]) -> Reply:
    docs = content.sources_for(topic_id, partnership)
    lines = [f"“{content.topic(topic_id).title}” comes from:"]
    lines.extend("- " + citation_line(doc, doc.entries[topic_id]).removeprefix("Source: ") for doc in docs)
    return Reply(text="\n".join(lines))


def capabilities(content: Content) -> Reply:
    groups = {
        "Recognising and responding": ["recognition.indicators", "thresholds.section47", "response.checks"],
        "Disclosure by the local authority": ["disclosure.presumption", "risk_assessment.factors"],
        "MAPPA": ["mappa.categories", "mappa.levels", "mappa.referral"],
        "Public disclosure schemes": ["sarahs_law.overview", "clares_law.overview"],
    }
    lines = [
        "I answer questions on working with people who may pose a risk to children, from the "
        "Kent and Medway (2.4.1) and West Midlands (2.14) procedures, and I cite the section each time. "
        "I can also walk you through a checklist (recognition, risk assessment before disclosure, "
        "the disclosure decision) and log its outcome. Trainers can run fictional training scenarios "
        "that compare answers with model answers.",
        "",
        "For example:",
    ]
    for group, ids in groups.items():
        lines.append(f"- {group}: " + "; ".join(content.topic(i).title for i in ids))
    lines.extend(["", GUIDANCE_NOTICE])
    buttons = [
        topic_button(content, "mappa.levels"),
        topic_button(content, "sarahs_law.overview"),
        {"title": "Start a checklist", "payload": "/start_checklist"},
        {"title": "Training scenario", "payload": "/start_scenario"},
    ]
    return Reply(text="\n".join(lines), buttons=buttons)


def out_of_scope(content: Content) -> Reply:
    return Reply(
        text=(
            "Sorry, I can't help with that. I only answer questions about people who may pose a risk "
            "to children, from the Kent and Medway and West Midlands procedures: recognition, "
            "referrals and Section 47, disclosure by the local authority, MAPPA, Sarah's Law and "
            "Clare's Law, and the related checklists.\n\n" + GUIDANCE_NOTICE
        ),
        buttons=[{"title": "What can you do?", "payload": "/help"}],
    )


AREA_NAMES = {
    "scotland": "Scotland",
    "wales": "Wales",
    "northern_ireland": "Northern Ireland",
    "england_elsewhere": "your area of England",
}


def coverage(content: Content, area: Optional[str]) -> Reply:
    """Said to someone outside the two partnerships: what is covered, and to use their own procedures."""
    where = AREA_NAMES.get(area or "", "your area")
    names = " and ".join(
        f"{content.documents[p].name} ({procedure_number(content.documents[p])})" for p in PARTNERSHIPS
    )
    return Reply(
        text=(
            f"I only cover two local procedures: {names}. They do not apply in {where}, so I can't tell you "
            "what your own procedures say. Please use your own safeguarding partnership's child protection "
            "procedures, or ask your designated safeguarding lead or manager.\n\n"
            "If you want to see what one of these two procedures says anyway, choose it below; the answer "
            "will be labelled as theirs, not your area's.\n\n" + GUIDANCE_NOTICE
        ),
        buttons=[partnership_button(content, p, f"Show {partnership_name(content, p)} anyway") for p in PARTNERSHIPS],
    )


def outside_coverage_note(area: Optional[str]) -> str:
    where = AREA_NAMES.get(area or "", "your area")
    return (
        f"These procedures do not cover {where}: below is what they say, not your own area's procedure. "
        "Check your own partnership's procedures."
    )


def adult_safeguarding(content: Content) -> Reply:
    return Reply(
        text=(
            "That sounds like adult safeguarding, which I don't cover: I only answer on people who may pose "
            "a risk to children, from the Kent and Medway and West Midlands children's procedures. For an "
            "adult at risk, follow your local adult safeguarding procedures (your Safeguarding Adults Board's "
            "multi-agency policy) and talk to your adult safeguarding lead. If a child is also at risk, ask "
            "me about that.\n\nIf anyone is in immediate danger, call 999."
        ),
        buttons=[{"title": "What can you do?", "payload": "/help"}],
    )


def facet_not_covered(scheme_name: str, facet_label: str) -> Reply:
    return Reply(
        text=(
            f"The content I have on {scheme_name} does not set out {facet_label}. Check your "
            "partnership's full procedure, or ask me about something else in it."
        )
    )


def which_scheme(schemes: Dict[str, str], intent: str, facet_label: str) -> Reply:
    """`schemes`: key -> name. Buttons ask the same follow-up for a named scheme."""
    return Reply(
        text=f"Which do you mean, for {facet_label}?",
        buttons=[
            {"title": name[:1].upper() + name[1:], "payload": f'/{intent}{{"scheme":"{key}"}}'}
            for key, name in schemes.items()
        ],
    )


def greeting(content: Content, partnership: str) -> Reply:
    """Hello to someone whose partnership is known (they named a place in it)."""
    name = partnership_name(content, partnership)
    return Reply(
        text=(
            f"Hello. I'll answer from the {name} procedure ({procedure_number(content.documents[partnership])}) "
            "and cite the section each time. Ask me a question, or I can walk you through the recognition, "
            "risk assessment or disclosure checklist. Working in the other partnership? Choose it below.\n\n"
            + GUIDANCE_NOTICE
        ),
        buttons=[
            {"title": "What can you do?", "payload": "/help"},
            {"title": "Start a checklist", "payload": "/start_checklist"},
            *(partnership_button(content, other) for other in PARTNERSHIPS if other != partnership),
        ],
    )


def welcome(content: Content) -> Reply:
    """Hello to someone whose partnership is not known yet."""
    return Reply(
        text=(
            "Hello. I answer questions about people who may pose a risk to children, from the Kent and Medway "
            "(2.4.1) and West Midlands (2.14) procedures, and I can walk you through the recognition, risk "
            "assessment and disclosure checklists.\n\n"
            "This is guidance, not legal advice. If a child is in immediate danger, call 999.\n\n"
            "Which partnership do you work in?"
        ),
        buttons=[partnership_button(content, p) for p in PARTNERSHIPS]
        + [{"title": "What can you do?", "payload": "/help"}],
    )

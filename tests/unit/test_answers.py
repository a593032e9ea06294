"""Wording rules for answers, checked on the real content."""

from sga import answers
from sga.content import content

data = content()


def test_every_answer_cites_partnership_procedure_and_section():
    for topic_id, topic in data.topics.items():
        for partnership in ("kent_medway", "west_midlands"):
            reply = answers.answer(data, topic_id, partnership)
            for doc in data.sources_for(topic_id, partnership):
                entry = doc.entries[topic_id]
                assert entry.short in reply.text, (topic_id, partnership)
                assert "Source: " in reply.text and entry.section in reply.text


def test_local_topic_uses_only_the_users_partnership():
    kent = answers.answer(data, "risk_assessment.decision_maker", "kent_medway").text
    west = answers.answer(data, "risk_assessment.decision_maker", "west_midlands").text
    assert "District Manager" in kent
    assert "District Manager" not in west
    assert "Kent and Medway procedure 2.4.1" not in west


def test_local_topic_without_partnership_asks_for_it():
    assert answers.needs_partnership(data, "mappa.referral", None)
    reply = answers.ask_partnership(data, "mappa.referral")
    payloads = [b["payload"] for b in reply.buttons]
    assert '/inform_partnership{"partnership":"kent_medway"}' in payloads
    assert '/inform_partnership{"partnership":"west_midlands"}' in payloads


def test_other_partnerships_source_is_flagged():
    reply = answers.answer(data, "mappa.levels", "kent_medway").text
    assert "comes from the West Midlands procedure" in reply
    assert "comes from" not in answers.answer(data, "mappa.levels", "west_midlands").text


def test_disclosure_answers_remind_about_legal_advice():
    for topic_id, topic in data.topics.items():
        reply = answers.answer(data, topic_id, "kent_medway").text
        if topic.touches_disclosure:  # once, from the content or the reminder, not twice from both
            assert "legal advice" in reply.lower(), topic_id
        else:
            assert answers.LEGAL_ADVICE not in reply, topic_id
    assert data.topic("disclosure.presumption").touches_disclosure


def test_emergency_says_999():
    assert "999" in answers.answer(data, "emergency", None).text

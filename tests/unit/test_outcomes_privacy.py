"""Case references must be pseudonymous: anything that could identify a person is refused."""

import pytest

from sga.outcomes import PRACTITIONER_ROLES, CaseReferenceRefused, validate_case_reference
from sga.outcomes.privacy import hash_conversation, validate_role


@pytest.mark.parametrize(
    "text, normalised",
    [
        ("CR-2024-0193", "CR-2024-0193"),
        ("KM/123/45", "KM/123/45"),
        ("  cr-2024-0193 ", "CR-2024-0193"),
        ("WM-55821", "WM-55821"),
    ],
)
def test_pseudonymous_references_are_accepted_and_normalised(text, normalised):
    assert validate_case_reference(text) == normalised


@pytest.mark.parametrize(
    "text, kind",
    [
        ("John Smith", "name"),
        ("jane doe", "name"),
        ("Mary-Jane O'Neill", "name"),
        ("Smith", "name"),
        ("jane.doe@example.org", "email"),
        ("j@x.co", "email"),
        ("07700 900123", "phone"),
        ("07700900123", "phone"),
        ("+44 7700 900123", "phone"),
        ("01632 960001", "phone"),
        ("020 7946 0018", "phone"),
        ("0161-496-0000", "phone"),
        ("ME14 1XX", "postcode"),
        ("B1 1AA", "postcode"),
        ("me141xx", "postcode"),
        ("12/03/2015", "date"),
        ("2015-03-12", "date"),
        ("12 March 2015", "date"),
        ("3rd Jan 2016", "date"),
        ("March 12, 2015", "date"),
        ("CR-12.03.15", "date"),
        ("DOB20150312", "date"),
        ("943 476 5919", "nhs_number"),
        ("9434765919", "nhs_number"),
        ("943-476-5919", "nhs_number"),
        ("NHS9434765919", "nhs_number"),
    ],
)
def test_identifying_details_are_refused_with_the_kind_they_look_like(text, kind):
    with pytest.raises(CaseReferenceRefused) as refused:
        validate_case_reference(text)
    assert refused.value.kind == kind
    assert "pseudonymous reference from your local case system" in refused.value.reason


@pytest.mark.parametrize(
    "text, words",
    [
        ("John Smith", "a person's name"),
        ("someone@example.org", "an email address"),
        ("07700 900123", "a phone number"),
        ("ME14 1XX", "a postcode"),
        ("12/03/2015", "a date"),
        ("943 476 5919", "an NHS number"),
    ],
)
def test_the_reason_says_what_the_text_looked_like(text, words):
    with pytest.raises(CaseReferenceRefused, match=words):
        validate_case_reference(text)


@pytest.mark.parametrize("text", ["", "   ", "AB", "CR_2024", "CR 2024 0193", "X" * 30 + "1", "ABC-DEF"])
def test_badly_shaped_references_are_refused(text):
    with pytest.raises(CaseReferenceRefused) as refused:
        validate_case_reference(text)
    assert refused.value.kind in ("format", "name")


@pytest.mark.parametrize("text", ["123", "CR-2024-0193-A", "CR-" + "1" * 28, "X"])
def test_anything_else_is_refused_with_an_example_of_the_shape(text):
    with pytest.raises(CaseReferenceRefused, match="CR-2024-0193"):
        validate_case_reference(text)


def test_the_refusal_is_a_value_error_that_says_what_to_use_instead():
    with pytest.raises(ValueError) as refused:
        validate_case_reference("John Smith")
    assert "name" in refused.value.reason and "CR-2024-0193" in refused.value.reason


@pytest.mark.parametrize(
    "value, role",
    [
        ("teacher", "teacher"),
        ("Social Worker", "social_worker"),
        ("designated-safeguarding-lead", "designated_safeguarding_lead"),
        ("GP", "gp"),
        (None, None),
        ("", None),
    ],
)
def test_roles_are_normalised(value, role):
    assert validate_role(value) == role


def test_unknown_roles_are_refused_listing_the_allowed_ones():
    with pytest.raises(ValueError, match="social_worker"):
        validate_role("head chef")
    assert len(PRACTITIONER_ROLES) == 12 and "other" in PRACTITIONER_ROLES


def test_conversation_hash_hides_the_sender_id():
    hashed = hash_conversation("socket-abc123", salt="pepper")
    assert len(hashed) == 64 and "abc123" not in hashed
    assert hashed == hash_conversation("socket-abc123", salt="pepper")
    assert hashed != hash_conversation("socket-abc123", salt="other")
    with pytest.raises(ValueError):
        hash_conversation("socket-abc123", salt="")


# Found by the security review: regrouped numbers, names with digits, compact dates and postcodes.
@pytest.mark.parametrize(
    "text",
    [
        "94347-65919",
        "943/476/5919",
        "9-4-3-4-7-6-5-9-1-9",
        "SMITH-JOHN-7",
        "JOHNSMITH1",
        "BLOGGS/JOE/2010",
        "JaydenSmith-2011",
        "ME14-1XX",
        "ME141XX",
        "447700900123",
        "12MAR2015",
        "120315",
        "AB123456C",
        "ab 12 34 56 c",
    ],
)
def test_identifiers_hidden_by_regrouping_are_refused(text):
    with pytest.raises(CaseReferenceRefused) as refused:
        validate_case_reference(text)
    assert "CR-2024-0193" in refused.value.reason


@pytest.mark.parametrize("text", ["CR-2024-0193", "LCS-448812", "CP/2024/118", "KM-2024-009", "REF/2024/0081"])
def test_case_system_references_are_accepted(text):
    assert validate_case_reference(text) == text.upper()


def test_a_deployment_sets_the_accepted_shape(monkeypatch):
    monkeypatch.setenv("CASE_REFERENCE_PATTERN", r"^MOS\d{6}$")
    assert validate_case_reference("MOS123456") == "MOS123456"
    with pytest.raises(CaseReferenceRefused):
        validate_case_reference("CR-2024-0193")


# --- free text (questions in the usage report): shown only when nothing in it could identify a person -----

KNOWN = frozenset({"mappa", "medway", "sarah's", "clare's", "london", "is", "what"})


@pytest.mark.parametrize(
    "text, kind",
    [
        ("can I tell the school about John Smith", "name"),
        ("what about Bob", "name"),
        ("is Dave on the register", "name"),
        ("he lives at ME14 1XX is that Kent", "postcode"),
        ("ring me on 07700 900123", "phone"),
        ("his nhs number is 943 476 5919", "nhs_number"),
        ("NI AB123456C on the form", "ni_number"),
        ("dob 12/03/2015 is that relevant", "date"),
        ("born 3rd March 2015", "date"),
        ("email jane.doe@example.org please", "email"),
    ],
)
def test_questions_that_could_identify_someone_are_flagged(text, kind):
    from sga.outcomes.privacy import identifying_in_text

    assert identifying_in_text(text, KNOWN) == kind


@pytest.mark.parametrize(
    "text",
    [
        "what are the MAPPA levels?",
        "What is the wifi password",  # a capital at the start of a sentence is not a name
        "how do I claim expenses for mileage",  # "I" is not a name
        "does Medway use Sarah's law. What about London",
        "how long does a level 2 referral take",
        "can I ask about 3 children",
    ],
)
def test_ordinary_questions_are_not_flagged(text):
    from sga.outcomes.privacy import identifying_in_text

    assert identifying_in_text(text, KNOWN) is None

"""What the outcome log may hold about people: pseudonymous case references and a fixed list of roles.

The log must never identify a child, family member or practitioner, so a case reference that looks
like a name, contact detail, postcode, date or NHS number is refused with an explanation of what to
use instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from typing import Collection, Optional, Tuple

# The roles a practitioner may give for the outcome log, with the label people see.
ROLE_LABELS = {
    "social_worker": "Social worker",
    "teacher": "Teacher",
    "designated_safeguarding_lead": "Designated safeguarding lead",
    "school_nurse": "School nurse",
    "health_visitor": "Health visitor",
    "gp": "GP",
    "police_officer": "Police officer",
    "probation_officer": "Probation officer",
    "youth_offending_worker": "Youth offending worker",
    "housing_officer": "Housing officer",
    "early_help_worker": "Early help worker",
    "other": "Other",
}
PRACTITIONER_ROLES = tuple(ROLE_LABELS)

INSTEAD = (
    "The outcome log must not hold anything that could identify a person. "
    "Please use the pseudonymous reference from your local case system instead "
    "(a short code of letters and digits, for example CR-2024-0193), or leave the case reference blank."
)
SEPARATORS = re.compile(r"[\s/.()_-]+")
NI_NUMBER = re.compile(r"[A-CEGHJ-PR-TW-Z]{2}\d{6}[A-D]")
COMPACT_POSTCODE = re.compile(r"(?<![A-Z])[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}(?![A-Z])")
COMPACT_TEXT_DATE = re.compile(r"(?<!\d)\d{1,2}(?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)[A-Z]*\d{2,4}(?!\d)")
SIX_DIGITS = re.compile(r"(?<!\d)\d{6}(?!\d)")
LETTER_RUN = re.compile(r"[^\W\d_]+")

EMAIL = re.compile(r"\S+@\S+")
MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
TEXT_DATE = re.compile(
    rf"\b\d{{1,2}}(?:st|nd|rd|th)?[\s./-]*{MONTH}\b[\s.,/-]*\d{{2,4}}\b"
    rf"|\b{MONTH}[\s./-]*\d{{1,2}}(?:st|nd|rd|th)?\b[\s.,/-]*\d{{2,4}}\b",
    re.IGNORECASE,
)
DAY_MONTH_YEAR = re.compile(r"(?<!\d)(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?!\d)")
YEAR_MONTH_DAY = re.compile(r"(?<!\d)(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})(?!\d)")
EIGHT_DIGITS = re.compile(r"(?<!\d)\d{8}(?!\d)")
# A run of digits possibly broken by spaces, hyphens or brackets, as phone and NHS numbers are written.
NUMBER_RUN = re.compile(r"\+?\d[\d\s()-]*\d")
POSTCODE = re.compile(r"\b(?:GIR\s?0AA|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2})\b", re.IGNORECASE)
WORD = re.compile(r"^[^\W\d_]+(?:['’-][^\W\d_]+)*$")
TEXT_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


class CaseReferenceRefused(ValueError):
    """The text is not a pseudonymous case reference; `reason` is written for the practitioner."""

    def __init__(self, reason: str, kind: str = "format") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


def validate_case_reference(text: str) -> str:
    """Return the reference normalised (trimmed, upper case) or raise `CaseReferenceRefused`."""
    candidate = (text or "").strip()
    looks_like = _identifying_kind(candidate)
    if looks_like:
        kind, description = looks_like
        raise CaseReferenceRefused(f"That looks like {description}. {INSTEAD}", kind)
    normalised = candidate.upper()
    if not re.fullmatch(_accepted_shape(), normalised):
        raise CaseReferenceRefused(
            f"That is not in the shape of a case reference this service accepts (for example CR-2024-0193). {INSTEAD}"
        )
    return normalised


def _accepted_shape() -> str:
    from sga.settings import load_settings

    return load_settings().case_reference_pattern


def validate_role(value: Optional[str]) -> Optional[str]:
    """Return the role id (None when not given) or raise ValueError listing the allowed roles."""
    if value is None or not str(value).strip():
        return None
    role = re.sub(r"[\s-]+", "_", str(value).strip().lower())
    if role not in PRACTITIONER_ROLES:
        raise ValueError(f"unknown practitioner role {value!r}; expected one of: {', '.join(PRACTITIONER_ROLES)}")
    return role


def hash_conversation(sender_id: str, salt: str) -> str:
    """Keyed SHA-256 of Rasa's sender id: links one conversation's outcomes without storing the id."""
    if not salt:
        raise ValueError("a non-empty salt is required to hash the conversation id")
    return hmac.new(salt.encode("utf-8"), sender_id.encode("utf-8"), hashlib.sha256).hexdigest()


def identifying_in_text(text: str, known_words: Collection[str] = ()) -> Optional[str]:
    """What in free text (a question someone typed) could identify a person, or None.

    The case-reference checks (email, a date, a phone, NHS or National Insurance number, a postcode,
    also with separators removed), and, as free text is words, a capitalised word that is neither at
    the start of a sentence nor one of `known_words` (lower case): it may be a name. It errs towards
    refusing: anything it returns must not be shown."""
    found = _identifying_kind(text, free_text=True)
    if found:
        return found[0]
    for sentence in re.split(r"[.!?]+\s+|\n", text):
        for word in TEXT_WORD.findall(sentence)[1:]:
            forms = {word.lower(), re.split(r"['’]", word)[0].lower()}
            if word[:1].isupper() and not word.isupper() and not any(f in known_words for f in forms):
                return "name"
    return None


def _identifying_kind(text: str, free_text: bool = False) -> Optional[Tuple[str, str]]:
    if EMAIL.search(text):
        return "email", "an email address"
    if _contains_date(text):
        return "date", "a date (such as a date of birth)"
    for match in NUMBER_RUN.finditer(text):
        number = match.group()
        digits = re.sub(r"\D", "", number)
        groups = [len(part) for part in re.split(r"[\s()-]+", number.lstrip("+")) if part]
        if number.startswith("+44") or digits.startswith("0044") or (digits[:1] == "0" and len(digits) in (10, 11)):
            return "phone", "a phone number"
        if len(digits) == 10 and groups in ([10], [3, 3, 4]):
            return "nhs_number", "an NHS number"
    if POSTCODE.search(text):
        return "postcode", "a postcode"
    words = text.split()
    if not free_text and words and all(WORD.match(word) for word in words):
        return "name", "a person's name" if len(words) > 1 else "a name or a word rather than a reference"
    return _identifying_once_compacted(text, free_text)


def _identifying_once_compacted(text: str, free_text: bool = False) -> Optional[Tuple[str, str]]:
    """The same checks with separators removed, so regrouping (94347-65919, ME14-1XX, 9-4-3-...)
    does not hide a number, postcode or date; and words that look like names."""
    compact = SEPARATORS.sub("", text).upper()
    for run in re.findall(r"\d{10,}", compact):
        if run.startswith(("0", "44")) and len(run) in (10, 11, 12, 13):
            return "phone", "a phone number"
        if any(_nhs_check_digit_ok(run[i : i + 10]) for i in range(len(run) - 9)):
            return "nhs_number", "an NHS number"
    if NI_NUMBER.search(compact):
        return "ni_number", "a National Insurance number"
    if COMPACT_POSTCODE.search(compact):
        return "postcode", "a postcode"
    if COMPACT_TEXT_DATE.search(compact) or _contains_date(compact):
        return "date", "a date (such as a date of birth)"
    for six in SIX_DIGITS.findall(compact):
        if _plausible(int(six[4:]), int(six[2:4]), int(six[:2])):
            return "date", "a date (such as a date of birth)"
    if free_text:
        return None
    letters = LETTER_RUN.findall(text)
    if (
        any(len(run) >= 5 or (len(run) >= 3 and run[1:].islower()) for run in letters)
        or sum(len(run) >= 3 for run in letters) >= 2
    ):
        return "name", "a name (a word of letters, or a name with a number)"
    return None


def _nhs_check_digit_ok(digits: str) -> bool:
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def _contains_date(text: str) -> bool:
    if TEXT_DATE.search(text):
        return True
    for day, month, year in DAY_MONTH_YEAR.findall(text):
        if _plausible(int(year), int(month), int(day)) or _plausible(int(year), int(day), int(month)):
            return True
    for year, month, day in YEAR_MONTH_DAY.findall(text):
        if _plausible(int(year), int(month), int(day)):
            return True
    for digits in EIGHT_DIGITS.findall(text):  # 20150312 or 12032015
        as_ymd = (int(digits[:4]), int(digits[4:6]), int(digits[6:]))
        as_dmy = (int(digits[4:]), int(digits[2:4]), int(digits[:2]))
        if any(1900 <= ymd[0] <= 2099 and _plausible(*ymd) for ymd in (as_ymd, as_dmy)):
            return True
    return False


def _plausible(year: int, month: int, day: int) -> bool:
    if year < 100:
        year += 2000
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True

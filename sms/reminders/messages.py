"""A member's reminder SMS of the day, rendered in their language from the rules' texts.

On an arrears day the arrears sentence (total overdue, days late, whom to pay, the code to dial)
replaces the due-date sentences of the loans that are late; sentences of loans that are not late
stay. A promise's day gets the promise sentence instead. The SMS stays within 2 segments: when
due-date sentences would take it further, the latest ones are left out (the next rule names them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache

from i18n.catalog import DEFAULT, LANGUAGES, gettext
from i18n.formatting import format_money, format_short_date
from i18n.gsm7 import BASIC, EXTENSION, fold
from sms.reminders.arrears import is_arrears_rule, is_promise_rule
from sms.reminders.rules import (
    ARREARS,
    ARREARS_NO_CODE,
    ARREARS_NO_OFFICER,
    ARREARS_NO_OFFICER_NO_CODE,
    BY_CODE,
    HEADER,
    OVERDUE,
    PROMISE,
    PROMISE_PART_PAID,
)

MAX_SEGMENTS = 2


@dataclass(frozen=True)
class Item:
    """One instalment that triggered a rule today, with what is still unpaid on it."""

    rule: str
    reference: str
    due_on: date
    unpaid: int
    # The item's loan has an instalment due before today still unpaid (an arrears sentence covers it).
    loan_late: bool = False


@dataclass(frozen=True)
class Officer:
    """Whom a late member pays: the cooperative's treasurer (or president) by name and number."""

    name: str
    phone: str


@dataclass(frozen=True)
class Promised:
    """A promise reminded on its date: the amount, and what has been paid towards it."""

    amount: int
    due_on: date
    paid: int


@dataclass(frozen=True)
class Recovery:
    """What an arrears or promise sentence needs beyond the items."""

    days_late: int = 0
    officer: Officer | None = None
    dial_code: str = ""
    promise: Promised | None = None


def language_of(member_language: str | None) -> str:
    """The member's language, French when theirs is missing or unknown."""
    return member_language if member_language in LANGUAGES else DEFAULT


def _gsm7(value: str) -> str:
    # The common case (ASCII references and codes) without a character-by-character walk.
    return value if set(value) <= BASIC else fold(value)


@cache
def template(language: str, msgid: str) -> str:
    """A text in a language, folded to GSM-7 once (a day's run renders tens of thousands of SMS)."""
    return fold(gettext(language, msgid))


def render(
    language: str, coop_code: str, items: list[Item], overdue: int, recovery: Recovery | None = None
) -> str:
    """The SMS, in GSM-7: header, the arrears or promise sentence, one sentence per due instalment
    (oldest first), the total overdue when no arrears sentence gives it; at most 2 segments."""
    language = language_of(language)
    recovery = recovery or Recovery()
    header = template(language, HEADER).format(coop=_gsm7(coop_code))
    special = [i for i in items if is_arrears_rule(i.rule) or is_promise_rule(i.rule)]
    lead = []
    if any(is_promise_rule(i.rule) for i in special) and recovery.promise:
        lead.append(_promise_sentence(language, recovery.promise, overdue))
    elif special:
        lead.append(_arrears_sentence(language, overdue, recovery))
    due = [i for i in items if i.rule in BY_CODE and not (lead and i.loan_late)]
    sentences = [
        template(language, BY_CODE[i.rule].text).format(
            ref=_gsm7(i.reference),
            amount=format_money(i.unpaid),
            date=format_short_date(i.due_on),
            days=abs(BY_CODE[i.rule].offset),
        )
        for i in sorted(due, key=lambda i: (i.due_on, i.reference, i.rule))
    ]
    tail = (
        [template(language, OVERDUE).format(overdue=format_money(overdue))]
        if overdue > 0 and not lead
        else []
    )
    body = " ".join([header, *lead, *sentences, *tail])
    while segments(body) > MAX_SEGMENTS and sentences:
        sentences.pop()
        body = " ".join([header, *lead, *sentences, *tail])
    return body


def _arrears_sentence(language: str, overdue: int, recovery: Recovery) -> str:
    officer, code = recovery.officer, _gsm7(recovery.dial_code)
    values = {"overdue": format_money(overdue), "days": recovery.days_late, "code": code}
    if officer:
        values |= {"officer": _gsm7(officer.name), "phone": local_phone(officer.phone)}
        msgid = ARREARS if code else ARREARS_NO_CODE
    else:
        msgid = ARREARS_NO_OFFICER if code else ARREARS_NO_OFFICER_NO_CODE
    return template(language, msgid).format(**values)


def _promise_sentence(language: str, promise: Promised, overdue: int) -> str:
    values = {
        "amount": format_money(promise.amount),
        "date": format_short_date(promise.due_on),
        "paid": format_money(promise.paid),
        "overdue": format_money(overdue),
    }
    return template(language, PROMISE_PART_PAID if promise.paid > 0 else PROMISE).format(**values)


def local_phone(phone: str) -> str:
    """`+221771234567` → `771234567`: what a member dials from a Senegalese phone."""
    return phone[4:] if phone.startswith("+221") and len(phone) == 13 else phone


_EXTENSION = re.compile("[" + re.escape("".join(sorted(EXTENSION))) + "]")


def segments(body: str) -> int:
    """SMS segments of a rendered reminder (GSM-7 by construction: 160, then 153 septets a segment)."""
    septets = len(body) + len(_EXTENSION.findall(body))  # an extension character takes two septets
    return 1 if septets <= 160 else -(-septets // 153)

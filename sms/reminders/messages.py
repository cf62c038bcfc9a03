"""A member's reminder SMS of the day, rendered in their language from the rules' texts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

from i18n.catalog import DEFAULT, LANGUAGES, gettext
from i18n.formatting import format_money, format_short_date
from i18n.gsm7 import BASIC, EXTENSION, fold
from sms.reminders.rules import BY_CODE, HEADER, OVERDUE


@dataclass(frozen=True)
class Item:
    """One instalment that triggered a rule today, with what is still unpaid on it."""

    rule: str
    reference: str
    due_on: date
    unpaid: int


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


def render(language: str, coop_code: str, items: list[Item], overdue: int) -> str:
    """The SMS, in GSM-7: header, one sentence per instalment (oldest due first), the total overdue if any."""
    language = language_of(language)
    parts = [template(language, HEADER).format(coop=_gsm7(coop_code))]
    for item in sorted(items, key=lambda i: (i.due_on, i.reference, i.rule)):
        rule = BY_CODE[item.rule]
        parts.append(
            template(language, rule.text).format(
                ref=_gsm7(item.reference),
                amount=format_money(item.unpaid),
                date=format_short_date(item.due_on),
                days=abs(rule.offset),
            )
        )
    if overdue > 0:
        parts.append(template(language, OVERDUE).format(overdue=format_money(overdue)))
    return " ".join(parts)


def segments(body: str) -> int:
    """SMS segments of a rendered reminder (GSM-7 by construction: 160, then 153 septets a segment)."""
    septets = len(body) + sum(body.count(ch) for ch in EXTENSION)
    return 1 if septets <= 160 else -(-septets // 153)

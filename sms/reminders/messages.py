"""A member's reminder SMS of the day, rendered in their language from the rules' texts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from i18n.catalog import DEFAULT, LANGUAGES, translate
from i18n.formatting import format_money, format_short_date
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


def render(language: str, coop_code: str, items: list[Item], overdue: int) -> str:
    """The SMS: header, one sentence per instalment (oldest due first), the total overdue if any."""
    language = language_of(language)
    parts = [translate(language, HEADER, coop=coop_code)]
    for item in sorted(items, key=lambda i: (i.due_on, i.reference, i.rule)):
        rule = BY_CODE[item.rule]
        parts.append(
            translate(
                language,
                rule.text,
                ref=item.reference,
                amount=format_money(item.unpaid),
                date=format_short_date(item.due_on),
                days=abs(rule.offset),
            )
        )
    if overdue > 0:
        parts.append(translate(language, OVERDUE, overdue=format_money(overdue)))
    return " ".join(parts)

"""Reminder rules and texts: the table, every language, GSM-7, one segment, sending hours."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from i18n.catalog import LANGUAGES, LOCALES, gettext, placeholders, reviewed_status
from i18n.gsm7 import fold, is_gsm7, segments
from models.clock import DAKAR
from sms import arrears_list
from sms.reminders import digest
from sms.reminders import rules as R
from sms.reminders.messages import Item, render
from sms.reminders.messages import segments as sms_segments
from sms.reminders.rules import HEADER, OVERDUE, RULES
from sms.sending_hours import SendingHours

# Every text of the reminders catalog: due-date rules, arrears and promise sentences, the digest
# and the arrears list it shares with RETARDS.
RECOVERY = [
    R.ARREARS,
    R.ARREARS_NO_CODE,
    R.ARREARS_NO_OFFICER,
    R.ARREARS_NO_OFFICER_NO_CODE,
    R.PROMISE,
    R.PROMISE_PART_PAID,
    digest.HEADER,
    digest.FOLLOW_UP,
    digest.OTHERS,
    arrears_list.LINE,
    arrears_list.HEADING,
    arrears_list.MORE,
    arrears_list.NONE,
]
TEXTS = [HEADER, OVERDUE, *sorted({rule.text for rule in RULES}), *RECOVERY]


def test_the_rules_are_weekly_d_minus_1_d_plus_1_and_monthly_d_minus_3_d0_d_plus_1_d_plus_7():
    """The contract's table, in one place."""
    table = {(r.code, str(r.frequency), r.offset) for r in RULES}
    assert table == {
        ("W-1", "weekly", -1),
        ("W+1", "weekly", 1),
        ("M-3", "monthly", -3),
        ("M0", "monthly", 0),
        ("M+1", "monthly", 1),
        ("M+7", "monthly", 7),
    }
    m7 = next(r for r in RULES if r.code == "M+7")
    assert m7.fires_on(date(2026, 12, 28)) == date(2027, 1, 4) and m7.due_on(date(2027, 1, 4)) == date(
        2026, 12, 28
    )


@pytest.mark.parametrize("language", ["wo", "en"])
@pytest.mark.parametrize("msgid", TEXTS)
def test_every_text_is_translated_and_keeps_its_placeholders(language, msgid):
    """wo and en entries exist, differ from the French and keep every {placeholder}."""
    translated = gettext(language, msgid)
    assert translated != msgid
    assert placeholders(translated) == placeholders(msgid)


def test_wolof_entries_are_marked_for_review():
    """Every Wolof reminder entry says `needs review`, or `reviewed` once a native speaker has."""
    text = (LOCALES / "wo" / "LC_MESSAGES" / "reminders.po").read_text(encoding="utf-8")
    entries = text.count('msgid "') - 1  # the header
    assert entries == len(TEXTS) == text.count("# needs review\n") + text.count("# reviewed\n")
    total, pending = reviewed_status("wo")
    assert pending >= entries and total >= entries


# Long but realistic: the longest cooperative code the column holds, a long loan reference,
# a seven-digit instalment and an eight-digit overdue total.
LONG = {"coop": "KEURMASSAR12", "ref": "KMS-2026-00142", "amount": 1_250_000, "overdue": 12_500_000}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_one_instalment_with_long_values_fits_one_gsm7_segment(language, rule):
    """Header, the rule's sentence and the overdue total: GSM-7 after folding, ≤ 160 characters."""
    due = rule.due_on(date(2026, 12, 1))
    body = fold(
        render(language, LONG["coop"], [Item(rule.code, LONG["ref"], due, LONG["amount"])], LONG["overdue"])
    )
    assert is_gsm7(body) and segments(body) == 1, (len(body), body)
    assert LONG["ref"] in body and "1 250 000 F" in body and "12 500 000 F" in body
    assert LONG["coop"] in body and due.strftime("%d/%m") in body


@pytest.mark.parametrize("language", LANGUAGES)
def test_two_instalments_of_a_typical_member_fit_one_segment(language):
    """Two loans the same day (weekly D+1 and D-1) with arrears: still one segment in every language."""
    items = [
        Item("W+1", "NDB-2026-0142", date(2026, 11, 30), 25_000),
        Item("W-1", "NDB-2026-0077", date(2026, 12, 2), 125_000),
    ]
    body = fold(render(language, "NDB", items, 275_000))
    assert is_gsm7(body) and segments(body) == 1, (len(body), body)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_overdue_total_without_arrears(language):
    """The total overdue appears only when there are arrears."""
    item = [Item("M-3", "L-1", date(2026, 12, 4), 10_000)]
    with_arrears = render(language, "NDB", item, 5_000)
    assert render(language, "NDB", item, 0) + " " + fold(
        gettext(language, OVERDUE).format(overdue="5 000 F")
    ) == (with_arrears)


def test_french_texts_read_as_expected():
    """The French sentences, as a member reads them."""
    items = [Item("M+7", "L-9", date(2026, 11, 24), 7_500), Item("M0", "L-3", date(2026, 12, 1), 10_000)]
    assert render("fr", "NDB", items, 7_500) == (
        "Rappel NDB: Pret L-9: 7 500 F du le 24/11, impayé depuis 7 jours. "
        "Pret L-3: 10 000 F à payer aujourd'hui (01/12). Total en retard: 7 500 F."
    )
    assert render("xx", "NDB", items[1:], 0) == render("fr", "NDB", items[1:], 0)  # unknown language → French


HOURS = SendingHours(tz=DAKAR, quiet=(20, 8), reminder_hour=9)


def local(*args) -> datetime:
    """A Dakar wall-clock instant."""
    return datetime(*args, tzinfo=DAKAR)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (local(2026, 12, 1, 0, 5), local(2026, 12, 1, 9, 0)),
        (local(2026, 12, 1, 9, 0), local(2026, 12, 1, 9, 0)),
        (local(2026, 12, 1, 14, 20), local(2026, 12, 1, 14, 20)),
        (local(2026, 12, 1, 19, 59), local(2026, 12, 1, 19, 59)),
        (local(2026, 12, 1, 20, 0), None),
        (local(2026, 12, 2, 0, 1), None),  # the day is over
    ],
)
def test_reminder_time_is_the_reminder_hour_or_later_and_never_in_quiet_hours(now, expected):
    """09:00, or the run's time if later; None once the day's quiet hours have begun."""
    assert HOURS.reminder_time(date(2026, 12, 1), now) == expected


def test_a_reminder_hour_inside_quiet_hours_waits_for_their_end():
    """REMINDER_HOUR 6 with quiet hours 20-8: the reminders go at 08:00."""
    early = SendingHours(tz=DAKAR, quiet=(20, 8), reminder_hour=6)
    assert early.reminder_time(date(2026, 12, 1), local(2026, 12, 1, 0, 5)) == local(2026, 12, 1, 8, 0)


@pytest.mark.parametrize(
    ("now", "opens"),
    [
        (local(2026, 12, 1, 21, 30), local(2026, 12, 2, 8, 0)),
        (local(2026, 12, 2, 3, 0), local(2026, 12, 2, 8, 0)),
        (local(2026, 12, 2, 8, 0), local(2026, 12, 2, 8, 0)),
        (local(2026, 12, 2, 12, 0), local(2026, 12, 2, 12, 0)),
    ],
)
def test_next_open_is_the_end_of_the_quiet_hours(now, opens):
    """A night broadcast waits until 08:00; a daytime one goes now."""
    assert HOURS.next_open(now) == opens
    assert HOURS.is_quiet(now) == (now != opens)


@pytest.mark.parametrize("count", [1, 2, 3, 6])
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_fast_segment_count_agrees_with_gsm7(language, count):
    """The planner's segment count of a rendered SMS equals i18n.gsm7's, one item or many, odd codes too."""
    items = [
        Item(RULES[k % len(RULES)].code, f"L-{k}[€]", date(2026, 12, k + 1), 10_000 * k) for k in range(count)
    ]
    body = render(language, "NDB{x}", items, 5_000)
    assert is_gsm7(body) and sms_segments(body) == segments(body)


def test_references_with_letters_gsm7_lacks_are_folded():
    """A reference typed with ç or a no-break space still gives a GSM-7 SMS."""
    body = render("fr", "FAç", [Item("M0", "L\u00a0ç1", date(2026, 12, 1), 1_000)], 0)
    assert "FAc:" in body and "L c1:" in body and is_gsm7(body)

"""Following a late loan until it is paid: arrears days, promises and the officers' Monday digest,
walked day by day over 200 days with the injected clock (docs/design.md, "Arrears, promises and
the officers' digest")."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from i18n.gsm7 import is_gsm7, segments
from models import DigestSent, OutboundSms
from models.arrears import arrears_due_dates, is_arrears_day, last_weekly_day, members_in_arrears
from models.clock import DAKAR
from models.enums import Frequency, Language, Role, SmsKind, SmsStatus, Source
from models.ledger import record_repayment, write_off
from models.promises import PromiseStatus, record_promise
from sms import arrears_list
from sms.reminders import digest, planner
from tests import factories as f
from tests.test_reminders import fired

START = date(2026, 12, 1)
CODE = "*384*123#"


def at(day: date, hour: int = 10) -> datetime:
    """A local (Dakar) instant on `day`."""
    return datetime(day.year, day.month, day.day, hour, 5, tzinfo=DAKAR)


def walk(runtime, first: date, last: date, skip: set[date] = frozenset()) -> None:
    """Run the planner on every day from first to last (twice a day), as the worker's tick does."""
    day = first
    while day <= last:
        if day not in skip:
            planner.run(runtime, at(day, 9))
            planner.run(runtime, at(day, 15))
        day += timedelta(days=1)


def arrears_days(lag: int, horizon: int) -> list[int]:
    """The contract's arrears days written out: L + 7k up to 90, then the last of those + 30k."""
    days = [lag + 7 * k for k in range(1, 14) if lag + 7 * k <= 90]
    d = days[-1] + 30
    while d <= horizon:
        days.append(d)
        d += 30
    return days


def sms_of(db, kind: SmsKind) -> list[OutboundSms]:
    """Outbox rows of one kind, oldest first."""
    db.expire_all()
    rows = list(db.scalars(select(OutboundSms).where(OutboundSms.kind == kind).order_by(OutboundSms.id)))
    db.commit()
    return rows


@pytest.fixture
def coded(runtime):
    """The runtime with a USSD service code, so member SMS name the code to dial."""
    runtime.config = replace(runtime.config, USSD_SERVICE_CODES=(CODE,))
    return runtime


@pytest.fixture
def coop(db):
    """A cooperative with a treasurer (Fatou Sarr) and a president (Moussa Ba)."""
    c = f.coop(db)
    f.member(db, c, "T01", "Fatou Sarr", phone="+221770001001", role=Role.TREASURER)
    f.member(db, c, "P01", "Moussa Ba", phone="+221770001002", role=Role.PRESIDENT, language=Language.WO)
    db.commit()
    return c


def test_the_arithmetic_matches_the_days_written_out():
    """is_arrears_day and arrears_due_dates agree with L + 7k ≤ 90, then + 30k, with no end."""
    for lag in (1, 7):
        expected = set(arrears_days(lag, 2000))
        assert {d for d in range(2001) if is_arrears_day(d, lag)} == expected
        today, oldest = date(2032, 6, 1), date(2026, 1, 1)
        horizon = (today - oldest).days
        dates = arrears_due_dates(today, lag, oldest)
        assert sorted((today - due).days for due in dates) == arrears_days(lag, horizon)
    assert last_weekly_day(1) == 85 and last_weekly_day(7) == 84


def test_a_never_repaid_weekly_loan_is_reminded_on_its_arrears_days_for_200_days(coded, db, coop):
    """Weekly: days 8, 15, … 85 after the first due date, then 115, 145, 175 — each once."""
    member = f.member(db, coop, "M0012", "Awa Diop")
    first = START + timedelta(days=2)
    f.loan(db, member, frequency=Frequency.WEEKLY, installments=30, first_due_on=first)
    db.commit()
    walk(coded, START, START + timedelta(days=200))
    expected = {(f"A{d}", first, first + timedelta(days=d)) for d in arrears_days(1, 198)}
    assert fired(db, recovery=True) == expected
    per_day = Counter(s.send_after.astimezone(DAKAR).date() for s in sms_of(db, SmsKind.REMINDER))
    assert max(per_day.values()) == 1, "at most one reminder SMS a day"
    assert all(s.segments <= 2 for s in sms_of(db, SmsKind.REMINDER))


def test_a_never_repaid_monthly_loan_is_reminded_from_day_14_weekly_then_monthly(coded, db, coop):
    """Monthly: days 14, 21, … 84 after the oldest due date, then 114, 144, 174."""
    member = f.member(db, coop, "M0013", "Binta Fall")
    first = START + timedelta(days=3)
    f.loan(db, member, installments=10, first_due_on=first)
    db.commit()
    walk(coded, START, START + timedelta(days=200))
    expected = {(f"A{d}", first, first + timedelta(days=d)) for d in arrears_days(7, 197)}
    assert fired(db, recovery=True) == expected
    day_114 = first + timedelta(days=114)
    sms = [s for s in sms_of(db, SmsKind.REMINDER) if s.send_after.astimezone(DAKAR).date() == day_114]
    assert len(sms) == 1
    text = sms[0].text
    assert "114 jours" in text and "Fatou Sarr (770001001)" in text and CODE in text, text
    # The arrears sentence replaces the due-date sentences of the late loan and gives the total.
    assert "Prêt" not in text and "Total en retard" not in text


def test_a_member_with_both_loans_is_counted_from_the_oldest_unpaid_due_date(coded, db, coop):
    """The oldest unpaid instalment sets D and the lag; one SMS a day within 2 segments."""
    member = f.member(db, coop, "M0014", "Coumba Ndiaye", language=Language.WO)
    monthly_first = START + timedelta(days=4)
    f.loan(db, member, "L-M", installments=8, first_due_on=monthly_first)
    f.loan(
        db, member, "L-W", frequency=Frequency.WEEKLY, installments=25, first_due_on=START + timedelta(days=9)
    )
    db.commit()
    walk(coded, START, START + timedelta(days=200))
    expected = {(f"A{d}", monthly_first, monthly_first + timedelta(days=d)) for d in arrears_days(7, 196)}
    assert fired(db, recovery=True) == expected
    reminders = sms_of(db, SmsKind.REMINDER)
    per_day = Counter(s.send_after.astimezone(DAKAR).date() for s in reminders)
    assert max(per_day.values()) == 1
    assert all(s.segments <= 2 and is_gsm7(s.text) for s in reminders)
    wolof = next(s.text for s in reminders if "Sa fey yéex na" in s.text)
    assert "Fatou Sarr" in wolof and CODE in wolof


def test_no_catch_up_after_a_gap_in_the_ticks(coded, db, coop):
    """Days missed while the worker was down are not sent later; the next own day is."""
    member = f.member(db, coop)
    first = START + timedelta(days=2)
    f.loan(db, member, frequency=Frequency.WEEKLY, installments=30, first_due_on=first)
    db.commit()
    gap = {first + timedelta(days=d) for d in range(10, 29)}  # days 15 and 22 fall inside
    walk(coded, START, first + timedelta(days=40), skip=gap)
    days = sorted(int(rule[1:]) for rule, _, _ in fired(db, recovery=True))
    assert days == [8, 29, 36]


def test_paying_the_oldest_instalment_moves_d_and_paying_everything_stops_reminders(coded, db, coop):
    """A payment that clears the oldest instalment restarts the count from the next oldest."""
    member = f.member(db, coop)
    first = START + timedelta(days=2)
    f.loan(
        db,
        member,
        frequency=Frequency.WEEKLY,
        installments=10,
        principal=10_000,
        interest=0,
        first_due_on=first,
    )
    db.commit()
    walk(coded, START, first + timedelta(days=16))  # A8, A15 fired from `first`
    record_repayment(
        db,
        member=member,
        amount=1_000,
        paid_on=first + timedelta(days=16),
        now=at(first + timedelta(days=16)),
        source=Source.CLI,
    )
    db.commit()
    walk(coded, first + timedelta(days=17), first + timedelta(days=30))
    second = first + timedelta(days=7)
    assert fired(db, recovery=True) == {
        ("A8", first, first + timedelta(days=8)),
        ("A15", first, first + timedelta(days=15)),
        ("A15", second, second + timedelta(days=15)),
        ("A22", second, second + timedelta(days=22)),
    }
    record_repayment(
        db,
        member=member,
        amount=9_000,
        paid_on=first + timedelta(days=31),
        now=at(first + timedelta(days=31)),
        source=Source.CLI,
    )
    db.commit()
    walk(coded, first + timedelta(days=31), first + timedelta(days=120))
    assert len(fired(db, recovery=True)) == 4


def test_written_off_loans_get_no_arrears_reminders(coded, db, coop):
    """A write-off ends the reminders."""
    member = f.member(db, coop)
    loan = f.loan(db, member, frequency=Frequency.WEEKLY, installments=10, first_due_on=START)
    db.commit()
    write_off(db, loan, now=at(START), actor="test", reason="gone", source=Source.CLI)
    db.commit()
    walk(coded, START, START + timedelta(days=60))
    assert fired(db, recovery=True) == set()


def _promise(db, member, amount, today, due_on):
    recorded = record_promise(
        db, member_id=member.id, amount=amount, due_on=due_on, today=today, now=at(today), recorded_by_id=None
    )
    db.commit()
    return recorded.promise


def test_a_broken_promise_pauses_arrears_reminders_then_they_resume(coded, db, coop):
    """Paused until the promise's date, which gets its own reminder; broken the day after; resumed."""
    member = f.member(db, coop)
    first = START + timedelta(days=2)
    f.loan(db, member, frequency=Frequency.WEEKLY, installments=30, first_due_on=first)
    db.commit()
    walk(coded, START, first + timedelta(days=9))  # A8 fired
    promise = _promise(db, member, 5_000, first + timedelta(days=9), first + timedelta(days=24))
    walk(coded, first + timedelta(days=10), first + timedelta(days=45))
    got = fired(db, recovery=True)
    rules = {rule for rule, _, _ in got}
    assert "A15" not in rules and "A22" not in rules, "paused while the promise runs"
    assert (f"P{promise.id}", first, first + timedelta(days=24)) in got
    assert {"A29", "A36", "A43"} <= rules, "resumed after the broken promise"
    db.expire_all()
    assert db.get(type(promise), promise.id).status == PromiseStatus.BROKEN
    text = next(s.text for s in sms_of(db, SmsKind.REMINDER) if "promis" in s.text)
    assert "5 000 F" in text


def test_a_kept_promise_gets_no_promise_reminder(coded, db, coop):
    """Paid in full before its date: kept, no promise reminder; arrears resume after the date."""
    member = f.member(db, coop)
    first = START + timedelta(days=2)
    f.loan(db, member, frequency=Frequency.WEEKLY, installments=30, first_due_on=first)
    db.commit()
    walk(coded, START, first + timedelta(days=9))
    promise = _promise(db, member, 5_000, first + timedelta(days=9), first + timedelta(days=20))
    record_repayment(
        db,
        member=member,
        amount=5_000,
        paid_on=first + timedelta(days=12),
        now=at(first + timedelta(days=12)),
        source=Source.CLI,
    )
    db.commit()
    walk(coded, first + timedelta(days=10), first + timedelta(days=40))
    db.expire_all()
    assert db.get(type(promise), promise.id).status == PromiseStatus.KEPT
    got = fired(db, recovery=True)
    assert not any(rule.startswith("P") for rule, _, _ in got)
    paused = [d for _, _, d in got if first + timedelta(days=9) < d <= first + timedelta(days=20)]
    assert paused == [], "no arrears reminder while the promise runs, kept or not"
    assert any(d > first + timedelta(days=20) for _, _, d in got), "resumed after its date"


def test_digests_go_on_mondays_only_and_only_when_someone_is_late(coded, db, coop):
    """Each officer gets one digest each Monday while someone is late; none before."""
    member = f.member(db, coop, "M0012", "Awa Diop")
    first = date(2026, 12, 9)  # a Wednesday: late from the 10th
    f.loan(db, member, frequency=Frequency.WEEKLY, installments=30, first_due_on=first)
    db.commit()
    walk(coded, START, START + timedelta(days=60))
    digests = sms_of(db, SmsKind.DIGEST)
    days = sorted({d.send_after.astimezone(DAKAR).date() for d in digests})
    assert days and all(d.weekday() == 0 for d in days)
    assert days[0] == date(2026, 12, 14), "the first Monday after the member became late"
    assert len(digests) == 2 * len(days), "treasurer and president, once each"
    for d in digests:
        assert d.segments <= 2 and is_gsm7(d.text)
        assert d.text.rstrip().split("\n")[-1].split()[-2:] in (["RETARDS", "1"], ["RETARDS", "2"])
    wolof = [d for d in digests if d.language == "wo"]
    assert wolof and "M0012" in wolof[0].text


def test_no_digest_for_a_cooperative_where_nobody_is_late(coded, db, coop):
    """A Monday with nobody late writes nothing."""
    member = f.member(db, coop)
    f.loan(db, member, first_due_on=date(2027, 1, 5))
    db.commit()
    planner.run(coded, at(date(2026, 12, 7)))
    assert sms_of(db, SmsKind.DIGEST) == []
    assert db.scalars(select(DigestSent)).all() == []


def test_the_digest_lists_follow_ups_first_and_points_to_the_next_retards_page(coded, db, coop):
    """With more members than fit, the digest ends with the RETARDS page of the first one left out."""
    for n in range(1, 31):
        m = f.member(db, coop, f"M{n:04d}", f"Membre Numero{n}")
        f.loan(
            db,
            m,
            f"L-{n}",
            frequency=Frequency.WEEKLY,
            installments=20,
            first_due_on=date(2026, 12, 9) - timedelta(days=3 * n),
        )
    db.commit()
    monday = date(2026, 12, 14)
    late = members_in_arrears(db, monday)
    text = digest.render("fr", "NDB", monday, late, set())
    assert segments(text) <= 2
    lines = text.split("\n")
    assert lines[0].startswith("Mbolo NDB 14/12: 30 membres en retard")
    assert lines[1] == "A suivre:"
    shown = {line.split()[0] for line in lines if line.startswith("M0")}
    first_missing = next(m for m in late if m.member_no not in shown)
    pages = arrears_list.pages("fr", "NDB", late)
    assert lines[-1] == f"Suite: RETARDS {arrears_list.page_of(first_missing.member_id, pages)}"


def test_retards_pages_are_whole_lines_within_160_characters(db, coop):
    """Pages of the arrears list: ≤ 160 GSM-7, sorted by days late then member no, `RETARDS n+1`."""
    for n in range(1, 26):
        m = f.member(db, coop, f"M{n:04d}", f"Aminata Ndiaye{n}")
        f.loan(
            db,
            m,
            f"L-{n}",
            frequency=Frequency.WEEKLY,
            installments=20,
            first_due_on=date(2026, 11, 1) + timedelta(days=n % 7),
        )
    db.commit()
    late = members_in_arrears(db, date(2026, 12, 14))
    for language in ("fr", "wo", "en"):
        pages = arrears_list.pages(language, "NDB", late)
        assert len(pages) > 1
        listed = [m for p in pages for m in p.members]
        assert listed == late
        for page in pages:
            assert len(page.text) <= 160 and is_gsm7(page.text)
            if page.number < len(pages):
                assert page.text.endswith(f"RETARDS {page.number + 1}")
    assert late == sorted(late, key=lambda m: (-m.days_late, m.member_no))


def test_preview_lists_arrears_promises_and_digests_with_their_cost(coded, db, coop):
    """`reminders preview` of a Monday shows the arrears reminders and the digests, writing nothing."""
    member = f.member(db, coop)
    f.loan(db, member, frequency=Frequency.WEEKLY, installments=30, first_due_on=date(2026, 12, 6))
    db.commit()
    monday = date(2026, 12, 14)  # day 8 after the 6th
    preview = planner.preview_day(
        db,
        monday,
        at(monday, 7),
        planner.SendingHours.from_config(coded.config),
        dial_code=CODE,
        cost_per_segment=15,
    )
    assert any("8 jours" in m.text for m in preview.messages)
    assert len(preview.digests) == 2
    assert preview.cost == 15 * (
        sum(m.segments for m in preview.messages) + sum(d.segments for d in preview.digests)
    )
    assert sms_of(db, SmsKind.REMINDER) == [] and sms_of(db, SmsKind.DIGEST) == []


def test_a_digest_ignores_stop_and_the_budget_but_waits_for_daytime(coded, db, coop, config):
    """An opted-out officer still gets the digest; the budget never cancels it; quiet hours hold it."""
    from sms import presend

    member = f.member(db, coop)
    f.loan(db, member, frequency=Frequency.WEEKLY, installments=30, first_due_on=date(2026, 12, 6))
    db.commit()
    for officer in db.scalars(select(type(member)).where(type(member).role != Role.MEMBER)):
        officer.opted_out = True
    db.commit()
    monday = date(2026, 12, 14)
    planner.run(coded, at(monday, 7))
    rows = sms_of(db, SmsKind.DIGEST)
    assert len(rows) == 2 and all(r.status == SmsStatus.QUEUED for r in rows)
    tight = replace(coded.config, SMS_DAILY_BUDGET=1)
    early = presend.review(db, rows, now=at(monday, 7), config=tight)
    assert all(v.action == presend.HOLD for v in early.values())
    later = presend.review(db, rows, now=at(monday, 10), config=tight)
    assert all(v.action == presend.SEND for v in later.values())
    night = presend.review(db, rows, now=at(monday, 21), config=tight)
    assert all(v.action == presend.CANCEL for v in night.values())


def test_the_reminder_effect_reports_arrears_days_as_one_line(coded, db, coop):
    """Every arrears day's rule (`A8`, `A15` …) counts under `arrears` in "whether reminders work"."""
    from sqlalchemy import update

    from models.portfolio.months import Month
    from models.portfolio.reminder_effect import reminder_effect

    member = f.member(db, coop)
    f.loan(db, member, frequency=Frequency.WEEKLY, installments=30, first_due_on=START)
    db.commit()
    walk(coded, START, START + timedelta(days=30))
    db.execute(update(OutboundSms).values(status=SmsStatus.SENT))
    db.commit()
    effects = reminder_effect(db, Month.of(START + timedelta(days=30)), START + timedelta(days=30), count=2)
    rules = {e.rule for e in effects}
    assert "arrears" in rules and not any(r.startswith("A") and r[1:].isdigit() for r in rules)
    arrears = sum(e.reminded for e in effects if e.rule == "arrears")
    assert arrears == len(fired(db, recovery=True))

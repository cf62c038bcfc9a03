"""Reminder planning over weekly and monthly schedules, with an injected clock.

See docs/design.md, "Reminders and announcements".
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from models import Instalment, Loan, OutboundSms, ReminderSent
from models.clock import DAKAR
from models.enums import Frequency, Language, MemberStatus, SmsKind, SmsStatus, Source
from models.ledger import record_repayment, write_off
from sms.reminders import planner
from sms.tick import run_tick
from tests import factories as f


def at(day: date, hour: int = 0, minute: int = 5) -> datetime:
    """A local (Dakar) instant on `day`."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=DAKAR)


def days(first: date, last: date):
    """Every day from first to last, inclusive."""
    while first <= last:
        yield first
        first += timedelta(days=1)


def fired(db, recovery: bool = False) -> set[tuple[str, date, date]]:
    """(rule, instalment due date, day fired) of the due-date rules' ReminderSent rows (with
    `recovery`, of the arrears and promise reminders instead; tests/test_recovery_reminders.py)."""
    db.expire_all()
    rows = db.execute(
        select(ReminderSent.rule, Instalment.due_on, ReminderSent.day).join(
            Instalment, Instalment.id == ReminderSent.instalment_id
        )
    ).all()
    db.commit()  # end the read: on SQLite every transaction holds the write lock
    return {tuple(r) for r in rows if (r.rule[0] in "AP") == recovery}


def reminder_sms(db) -> list[OutboundSms]:
    """The reminder rows of the outbox, oldest first."""
    db.expire_all()
    rows = list(
        db.scalars(select(OutboundSms).where(OutboundSms.kind == SmsKind.REMINDER).order_by(OutboundSms.id))
    )
    db.commit()  # end the read: on SQLite every transaction holds the write lock
    return rows


@pytest.fixture
def coop(db):
    """A cooperative whose SMS code is NDB."""
    return f.coop(db)


def test_weekly_rules_fire_the_day_before_and_the_day_after_each_due_date_only(runtime, db, coop):
    """Walking day by day over a weekly schedule, W-1 and W+1 fire once each, on their own day."""
    member = f.member(db, coop)
    f.loan(db, member, frequency=Frequency.WEEKLY, installments=4, first_due_on=date(2026, 12, 3))
    db.commit()
    for day in days(date(2026, 11, 25), date(2026, 12, 31)):
        planner.run(runtime, at(day))
        planner.run(runtime, at(day, 13))  # a second tick the same day changes nothing
    dues = [date(2026, 12, 3) + timedelta(weeks=k) for k in range(4)]
    expected = {("W-1", d, d - timedelta(days=1)) for d in dues} | {
        ("W+1", d, d + timedelta(days=1)) for d in dues
    }
    assert fired(db) == expected
    assert len(reminder_sms(db)) == 8  # one SMS a day that had a rule, never two


def test_monthly_rules_fire_three_days_before_on_the_day_after_and_a_week_after(runtime, db, coop):
    """M-3, M0, M+1 and M+7 each fire on their own day, for each unpaid monthly instalment."""
    member = f.member(db, coop)
    f.loan(db, member, installments=3, first_due_on=date(2026, 12, 5))
    db.commit()
    for day in days(date(2026, 11, 28), date(2027, 2, 20)):
        planner.run(runtime, at(day))
    expected = set()
    for due in (date(2026, 12, 5), date(2027, 1, 5), date(2027, 2, 5)):
        for rule, offset in (("M-3", -3), ("M0", 0), ("M+1", 1), ("M+7", 7)):
            expected.add((rule, due, due + timedelta(days=offset)))
    assert fired(db) == expected


def test_month_end_due_dates_are_reminded_on_their_clamped_day(runtime, db, coop):
    """A loan due on the 31st is due on 28 Feb; its M0 fires on 28 Feb, its M-3 on 25 Feb."""
    member = f.member(db, coop)
    f.loan(db, member, installments=3, first_due_on=date(2027, 1, 31))
    db.commit()
    for day in (date(2027, 2, 25), date(2027, 2, 28), date(2027, 3, 1)):
        planner.run(runtime, at(day))
    due = date(2027, 2, 28)
    assert fired(db) == {("M-3", due, date(2027, 2, 25)), ("M0", due, due), ("M+1", due, date(2027, 3, 1))}


def test_no_catch_up_after_a_gap(runtime, db, coop):
    """After an outage from 1 to 11 December, only the rule whose day is today fires."""
    member = f.member(db, coop)
    f.loan(db, member, installments=2, first_due_on=date(2026, 12, 5))
    db.commit()
    result = planner.run(runtime, at(date(2026, 12, 11)))
    assert result.planned == 0
    planner.run(runtime, at(date(2026, 12, 12)))
    planner.run(runtime, at(date(2026, 12, 13)))
    assert fired(db) == {("M+7", date(2026, 12, 5), date(2026, 12, 12))}


def test_one_sms_per_member_per_day_covers_every_instalment_with_the_overdue_total(runtime, db, coop):
    """Two loans triggering rules the same day, plus arrears on a third: one SMS naming all of it."""
    member = f.member(db, coop)
    f.loan(db, member, "L-W", principal=50_000, interest=0, installments=5, frequency=Frequency.WEEKLY,
           first_due_on=date(2026, 12, 2))  # fmt: skip
    f.loan(db, member, "L-M", principal=90_000, interest=0, installments=3, first_due_on=date(2026, 12, 4))
    f.loan(db, member, "L-OLD", principal=40_000, interest=0, installments=2, first_due_on=date(2026, 11, 4))
    other = f.member(db, coop, "M0002", "Modou Fall", language=Language.WO)
    f.loan(db, other, "L-WO", principal=60_000, interest=0, installments=2, first_due_on=date(2026, 12, 1))
    db.commit()

    result = planner.run(runtime, at(date(2026, 12, 1)))

    # L-W W-1 (due 2/12), L-M M-3 (due 4/12), L-OLD M-3 (second instalment due 4/12), L-WO M0.
    assert (result.planned, result.queued) == (4, 2)
    mine, theirs = reminder_sms(db)
    assert mine.to == member.phone and mine.language == "fr" and mine.segments == 1
    assert mine.text == (
        "Rappel NDB: Pret L-W: 10 000 F à payer demain (02/12). Pret L-M: 30 000 F à payer le 04/12. "
        "Pret L-OLD: 20 000 F à payer le 04/12. Total en retard: 20 000 F."
    )
    assert theirs.language == "wo" and theirs.text.startswith(
        "Fàttali NDB: Bor L-WO: tey (01/12) ngay fey 30 000 F."
    )
    assert "Li yàgg" not in theirs.text  # no arrears, no total
    linked = db.execute(
        select(ReminderSent.outbound_sms_id, func.count()).group_by(ReminderSent.outbound_sms_id)
    )
    assert dict(linked.all()) == {mine.id: 3, theirs.id: 1}


def test_reminders_go_at_the_reminder_hour_or_at_the_run_time_if_later(runtime, db, coop):
    """Planned at 00:05 → 09:00 Dakar; planned at 11:30 → 11:30; REMINDER_HOUR moves it."""
    a, b = f.member(db, coop, "M0001"), f.member(db, coop, "M0002")
    f.loan(db, a, "L-A", first_due_on=date(2026, 12, 1))
    f.loan(db, b, "L-B", first_due_on=date(2026, 12, 2))
    db.commit()
    planner.run(runtime, at(date(2026, 11, 28), 0, 5))  # L-A's M-3
    planner.run(runtime, at(date(2026, 11, 29), 11, 30))  # L-B's M-3
    first, second = reminder_sms(db)
    assert first.send_after == at(date(2026, 11, 28), 9, 0) == first.next_attempt_at
    assert second.send_after == at(date(2026, 11, 29), 11, 30)
    runtime.config = replace(runtime.config, REMINDER_HOUR=10)
    result = planner.run(runtime, at(date(2026, 12, 1), 7, 0))  # L-A's M0
    assert result.send_at == at(date(2026, 12, 1), 10, 0) == reminder_sms(db)[-1].send_after


def test_a_run_after_quiet_hours_begin_plans_but_sends_nothing(runtime, db, coop):
    """Planned at 20:30 the rule has fired, but its SMS is cancelled (expired), never sent tomorrow."""
    member = f.member(db, coop)
    f.loan(db, member, first_due_on=date(2026, 12, 4))
    db.commit()
    result = planner.run(runtime, at(date(2026, 12, 1), 20, 30))
    assert (result.planned, result.queued, result.expired) == (1, 0, 1)
    (sms,) = reminder_sms(db)
    assert (sms.status, sms.failure_reason) == (SmsStatus.CANCELLED, "expired")
    assert planner.run(runtime, at(date(2026, 12, 2), 0, 5)).planned == 0  # and no catch-up next day


def test_paid_before_planning_gets_no_reminder_and_a_partial_payment_shows_what_is_left(runtime, db, coop):
    """A fully paid instalment is not planned; a partly paid one shows the amount still unpaid."""
    paid, partly = f.member(db, coop, "M0001"), f.member(db, coop, "M0002")
    f.loan(db, paid, "L-P", principal=20_000, interest=0, installments=2, first_due_on=date(2026, 12, 4))
    f.loan(db, partly, "L-Q", principal=20_000, interest=0, installments=2, first_due_on=date(2026, 12, 4))
    db.flush()
    now = at(date(2026, 11, 30), 12)
    record_repayment(db, member=paid, amount=10_000, paid_on=now.date(), now=now, source=Source.CLI)
    record_repayment(db, member=partly, amount=4_000, paid_on=now.date(), now=now, source=Source.CLI)
    db.commit()
    result = planner.run(runtime, at(date(2026, 12, 1)))
    assert result.planned == 1
    (sms,) = reminder_sms(db)
    assert sms.to == partly.phone and "L-Q: 6 000 F" in sms.text


def test_opted_out_members_reminders_are_planned_and_their_sms_cancelled(runtime, db, coop):
    """STOP: the rule fires (recorded) but the SMS is written cancelled (opted_out), so nothing goes."""
    member = f.member(db, coop, opted_out=True)
    f.loan(db, member, first_due_on=date(2026, 12, 4))
    db.commit()
    result = planner.run(runtime, at(date(2026, 12, 1)))
    assert (result.planned, result.queued, result.opted_out) == (1, 0, 1)
    (sms,) = reminder_sms(db)
    assert (sms.status, sms.failure_reason, sms.cost) == (SmsStatus.CANCELLED, "opted_out", 0)
    assert db.scalar(select(ReminderSent.outbound_sms_id)) == sms.id


def test_written_off_and_closed_loans_get_none_but_inactive_members_active_loans_do(runtime, db, coop):
    """Written-off: none. Inactive member: reminders go on while the loan is active; repaid: none."""
    written = f.member(db, coop, "M0001")
    inactive = f.member(db, coop, "M0002", status=MemberStatus.INACTIVE)
    closed = f.member(db, coop, "M0003", status=MemberStatus.INACTIVE)
    lost = f.loan(db, written, "L-LOST", first_due_on=date(2026, 12, 4))
    f.loan(db, inactive, "L-INACT", first_due_on=date(2026, 12, 4))
    repaid = f.loan(
        db, closed, "L-DONE", principal=10_000, interest=0, installments=1, first_due_on=date(2026, 12, 4)
    )
    db.flush()
    now = at(date(2026, 11, 30), 12)
    write_off(db, lost, now=now, actor="system", reason="member left", source=Source.CLI)
    record_repayment(db, member=closed, amount=10_000, paid_on=now.date(), now=now, source=Source.CLI)
    db.commit()
    assert db.get(Loan, repaid.id).status == "repaid"
    planner.run(runtime, at(date(2026, 12, 1)))
    assert [s.to for s in reminder_sms(db)] == [inactive.phone]


def test_reruns_the_same_day_are_idempotent(runtime, db, coop):
    """Late, missed or doubled ticks: a rerun plans nothing and writes no second SMS."""
    member = f.member(db, coop)
    f.loan(db, member, first_due_on=date(2026, 12, 4))
    db.commit()
    first = planner.run(runtime, at(date(2026, 12, 1), 0, 5))
    again = planner.run(runtime, at(date(2026, 12, 1), 0, 5))
    late = planner.run(runtime, at(date(2026, 12, 1), 15, 40))
    assert (first.planned, first.created) == (1, 1)
    assert (again.planned, again.created, late.planned, late.created) == (0, 0, 0, 0)
    assert len(reminder_sms(db)) == 1


def test_reruns_do_not_draw_ids_for_reminders_already_planned(runtime, db, coop):
    """Every 10 minutes all day: the planned rows are skipped, not retried, so ids are not burnt."""
    member = f.member(db, coop)
    f.loan(db, member, "L-1", first_due_on=date(2026, 12, 4))
    db.commit()
    for minute in range(0, 60, 10):
        planner.run(runtime, at(date(2026, 12, 1), 1, minute))
    f.loan(db, member, "L-2", first_due_on=date(2026, 12, 4))
    db.commit()
    planner.run(runtime, at(date(2026, 12, 1), 2, 0))
    assert sorted(db.scalars(select(ReminderSent.id))) == [1, 2]


def test_a_loan_added_later_the_same_day_joins_the_queued_sms(runtime, db, coop):
    """Still queued: the day's one SMS is rendered again to name the new instalment too."""
    member = f.member(db, coop)
    f.loan(db, member, "L-1", first_due_on=date(2026, 12, 4))
    db.commit()
    planner.run(runtime, at(date(2026, 12, 1), 0, 5))
    f.loan(db, member, "L-2", frequency=Frequency.WEEKLY, first_due_on=date(2026, 12, 2))  # imported at 07:00
    db.commit()
    result = planner.run(runtime, at(date(2026, 12, 1), 7, 10))
    assert (result.planned, result.created, result.updated) == (1, 0, 1)
    (sms,) = reminder_sms(db)
    assert "L-1" in sms.text and "L-2" in sms.text and sms.status == SmsStatus.QUEUED
    assert set(db.scalars(select(ReminderSent.outbound_sms_id))) == {sms.id}


def test_a_loan_added_after_the_days_sms_went_makes_no_second_sms(runtime, db, coop):
    """Already sent: the new instalment is linked to the day's SMS; at most one reminder a day."""
    member = f.member(db, coop)
    f.loan(db, member, "L-1", first_due_on=date(2026, 12, 4))
    db.commit()
    planner.run(runtime, at(date(2026, 12, 1), 0, 5))
    (sms,) = reminder_sms(db)
    sms.status = SmsStatus.SENT
    f.loan(db, member, "L-2", frequency=Frequency.WEEKLY, first_due_on=date(2026, 12, 2))
    db.commit()
    result = planner.run(runtime, at(date(2026, 12, 1), 14, 0))
    assert (result.planned, result.created, result.updated, result.attached) == (1, 0, 0, 1)
    (again,) = reminder_sms(db)
    assert again.id == sms.id and "L-2" not in again.text
    assert set(db.scalars(select(ReminderSent.outbound_sms_id))) == {sms.id}


def test_a_member_without_a_phone_is_counted_and_retried_quietly(runtime, db, coop):
    """No phone: the rule is recorded, no outbox row; the summary says so."""
    member = f.member(db, coop)
    member.phone = None
    f.loan(db, member, first_due_on=date(2026, 12, 4))
    db.commit()
    result = planner.run(runtime, at(date(2026, 12, 1)))
    assert (result.planned, result.created, result.no_phone) == (1, 0, 1)
    assert "failed 1 (no phone)" in result.line()
    assert reminder_sms(db) == []


def test_two_concurrent_runs_never_double_a_reminder(runtime, db, coop):
    """Two workers planning the same day at once: each (instalment, rule) once, one SMS a member."""
    members = [f.member(db, coop, f"M{n:04d}") for n in range(1, 41)]
    for n, m in enumerate(members):
        f.loan(db, m, f"L-{n}-W", frequency=Frequency.WEEKLY, first_due_on=date(2026, 12, 2))
        f.loan(db, m, f"L-{n}-M", first_due_on=date(2026, 12, 4))
    db.commit()
    barrier = threading.Barrier(3)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(planner.run(runtime, at(date(2026, 12, 1), 9, 30)))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.planned for r in results) == [0, 0, 80]
    assert sorted(r.created for r in results) == [0, 0, 40]
    assert db.scalar(select(func.count()).select_from(ReminderSent)) == 80
    assert (
        db.scalar(
            select(func.count()).select_from(ReminderSent).where(ReminderSent.outbound_sms_id.is_(None))
        )
        == 0
    )
    assert len({s.member_id for s in reminder_sms(db)}) == len(reminder_sms(db)) == 40


def test_tick_task_plans_and_reports(runtime, db, coop):
    """The 10-minute tick plans the day of `now` (a short summary); a doubled tick adds nothing."""
    member = f.member(db, coop)
    f.loan(db, member, first_due_on=date(2026, 12, 4))
    db.commit()
    results = run_tick(runtime, at(date(2026, 12, 1)))  # the registry's line, among the other tasks
    assert results["reminder_planning"] == {"day": "2026-12-01", "planned": 1, "created": 1}
    assert planner.tick(runtime, at(date(2026, 12, 1), 0, 15)) == {
        "day": "2026-12-01",
        "planned": 0,
        "created": 0,
    }


# --- the command line --------------------------------------------------------------------------


def test_reminders_run_cli_takes_a_naive_local_now_and_prints_a_summary(runner, db, coop):
    """`reminders run --now` (naive = Dakar) plans that day and says what it wrote."""
    member = f.member(db, coop)
    f.loan(db, member, first_due_on=date(2026, 12, 4))
    db.commit()
    out = runner.invoke(args=["reminders", "run", "--now", "2026-12-01T08:00"])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("reminders 2026-12-01: 1 planned; created 1 SMS (queued 1 for 09:00")
    (sms,) = reminder_sms(db)
    assert sms.send_after == at(date(2026, 12, 1), 9, 0)
    # An explicit offset is honoured: 00:30 at UTC+1 is still 30 November in Dakar (UTC+0).
    out = runner.invoke(args=["reminders", "run", "--now", "2026-12-01T00:30:00+01:00"])
    assert out.output.startswith("reminders 2026-11-30: 0 planned")
    assert runner.invoke(args=["reminders", "run", "--now", "tomorrow"]).exit_code == 2


def test_reminders_run_cli_defaults_to_the_clock(runner, db, coop, clock):
    """Without --now the injected clock's day is planned."""
    member = f.member(db, coop)
    f.loan(db, member, first_due_on=date(2026, 12, 4))
    db.commit()
    clock.set(datetime(2026, 12, 1, 6, 0))
    out = runner.invoke(args=["reminders", "run"])
    assert "reminders 2026-12-01: 1 planned" in out.output


def test_reminders_preview_shows_each_rule_and_the_texts_and_writes_nothing(runner, db, coop):
    """`reminders preview --date` lists the rules' work and the SMS, and leaves the database as it was."""
    member = f.member(db, coop)
    f.loan(db, member, "L-1", first_due_on=date(2026, 12, 4))
    f.loan(db, member, "L-2", frequency=Frequency.WEEKLY, first_due_on=date(2026, 11, 30))
    f.member(db, coop, "M0002", opted_out=True)
    db.commit()
    out = runner.invoke(args=["reminders", "preview", "--date", "2026-12-01"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0] == "Reminders for Tuesday 2026-12-01 (preview: nothing written)"
    assert any(line.startswith("W+1   weekly   2026-11-30            1") for line in lines)
    assert any(line.startswith("M-3   monthly  2026-12-04            1       11 000 F") for line in lines)
    assert any(line.startswith("M0    monthly  2026-12-01            0") for line in lines)
    assert "SMS: 1 reminders to send at 10:00" in out.output
    assert "arrears reminders: 0 members; promise reminders: 0" in out.output
    assert (
        "Pret L-2: 11 000 F du hier (30/11) reste impayé. Pret L-1: 11 000 F à payer le 04/12." in out.output
    )
    assert db.scalar(select(func.count()).select_from(ReminderSent)) == 0
    assert reminder_sms(db) == []
    assert runner.invoke(args=["reminders", "preview", "--date", "01/12/2026"]).exit_code == 2


# --- through the sender's re-check (`sms send-pending`) ----------------------------------------


@pytest.fixture
def via_gateway(runtime, at_config, sms_gateway):
    """The CLI's sender posts to the local Africa's Talking–compatible server."""
    runtime.config = at_config
    return sms_gateway


def send_pending(runner, when: str) -> str:
    """`sms send-pending --now WHEN`; its summary line."""
    out = runner.invoke(args=["sms", "send-pending", "--now", when])
    assert out.exit_code == 0, out.output
    return out.output


def test_paid_between_planning_and_sending_is_cancelled_paid(runner, runtime, db, coop, via_gateway):
    """Planned at 00:05, paid at 08:00: at 09:00 the sender cancels it (paid); the other one goes."""
    payer, other = f.member(db, coop, "M0001"), f.member(db, coop, "M0002")
    f.loan(db, payer, "L-PAY", principal=20_000, interest=0, installments=2, first_due_on=date(2026, 12, 4))
    f.loan(db, other, "L-OTH", first_due_on=date(2026, 12, 4))
    db.commit()
    planner.run(runtime, at(date(2026, 12, 1), 0, 5))
    now = at(date(2026, 12, 1), 8, 0)
    record_repayment(db, member=payer, amount=10_000, paid_on=now.date(), now=now, source=Source.SMS)
    db.commit()
    send_pending(runner, "2026-12-01T09:00")
    paid, sent = reminder_sms(db)
    assert (paid.status, paid.failure_reason) == (SmsStatus.CANCELLED, "paid")
    assert sent.status == SmsStatus.SENT
    assert [m["to"] for m in via_gateway.messages()] == [other.phone]


def test_still_unsent_when_quiet_hours_begin_is_cancelled_expired_never_sent_next_day(
    runner, runtime, db, coop, via_gateway
):
    """A reminder still queued at 20:00 (no sender ran that day) expires; 19:59 was still in time."""
    early, late = f.member(db, coop, "M0001"), f.member(db, coop, "M0002")
    f.loan(db, early, "L-E", first_due_on=date(2026, 12, 4))
    f.loan(db, late, "L-L", first_due_on=date(2026, 12, 5))
    db.commit()
    planner.run(runtime, at(date(2026, 12, 1)))  # L-E's M-3
    planner.run(runtime, at(date(2026, 12, 2)))  # L-L's M-3
    send_pending(runner, "2026-12-01T19:59")
    send_pending(runner, "2026-12-02T20:00")
    send_pending(runner, "2026-12-03T09:00")
    went, expired = reminder_sms(db)
    assert went.status == SmsStatus.SENT
    assert (expired.status, expired.failure_reason) == (SmsStatus.CANCELLED, "expired")
    assert [m["to"] for m in via_gateway.messages()] == [early.phone]


def test_opting_out_after_planning_cancels_the_queued_reminder(runner, runtime, db, coop, via_gateway):
    """STOP at 08:00 after the 00:05 planning: the sender cancels it (opted_out)."""
    member = f.member(db, coop)
    f.loan(db, member, first_due_on=date(2026, 12, 4))
    db.commit()
    planner.run(runtime, at(date(2026, 12, 1)))
    member.opted_out = True
    db.commit()
    send_pending(runner, "2026-12-01T09:00")
    (sms,) = reminder_sms(db)
    assert (sms.status, sms.failure_reason) == (SmsStatus.CANCELLED, "opted_out")
    assert via_gateway.messages() == []


def test_reminders_above_the_daily_budget_are_cancelled_budget(runner, runtime, db, coop, via_gateway):
    """SMS_DAILY_BUDGET 20 F at 15 F a segment: the first reminder goes, the second waits (budget)."""
    runtime.config = replace(runtime.config, SMS_DAILY_BUDGET=20)
    a, b = f.member(db, coop, "M0001"), f.member(db, coop, "M0002")
    f.loan(db, a, "L-A", first_due_on=date(2026, 12, 4))
    f.loan(db, b, "L-B", first_due_on=date(2026, 12, 4))
    db.commit()
    planner.run(runtime, at(date(2026, 12, 1)))
    send_pending(runner, "2026-12-01T09:00")
    statuses = sorted((s.status, s.failure_reason) for s in reminder_sms(db))
    assert statuses == [(SmsStatus.CANCELLED, "budget"), (SmsStatus.SENT, None)]
    assert len(via_gateway.messages()) == 1

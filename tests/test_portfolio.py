"""Dashboard figures against sums computed independently, on a hand-built portfolio."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text

from models import production
from models.enums import MemberStatus, SmsKind, SmsStatus, Source
from models.ledger import record_repayment, reverse_repayment, write_off
from models.portfolio import (
    Month,
    collections,
    cooperative_lines,
    dashboard,
    member_file,
    overdue_list,
    portfolio,
    production_lines,
    reminder_counts,
    sms_cost,
)
from models.position import active_loan_arrears, loan_arrears, member_position
from sms.outbox import queue_sms
from tests import factories as f
from tests.conftest import DEFAULT_NOW

TODAY = date(2026, 12, 1)
NOV = Month(2026, 11)


def _loan(db, member, ref, first_due, installments=4, principal=40_000):
    return f.loan(
        db,
        member,
        reference=ref,
        principal=principal,
        interest=0,
        installments=installments,
        disbursed_on=date(2026, 1, 1),
        first_due_on=first_due,
    )


def _pay(db, member, amount, paid_on, loan=None):
    return record_repayment(
        db, member=member, amount=amount, paid_on=paid_on, now=DEFAULT_NOW, source=Source.CLI, loan=loan
    )


@pytest.fixture
def book(db):
    """Cooperative A with loans in every ageing bucket, and cooperative B with one late loan."""
    a = f.coop(db, "GIE Ndiambour", "NDB")
    b = f.coop(db, "GIE Saloum", "SLM", commune="Kaolack", region="Kaolack")
    m = {}
    for no in range(1, 12):
        m[no] = f.member(db, a, f"M{no:04d}", f"Membre {no}", savings=1_000 * no)
    m[11].status = MemberStatus.INACTIVE
    _loan(db, m[1], "L-A", date(2026, 12, 1))  # due today: on time
    _loan(db, m[2], "L-B", date(2026, 11, 16))  # 15 days late
    _loan(db, m[3], "L-C", date(2026, 11, 1))  # 30 days late: not yet PAR30
    _loan(db, m[4], "L-D", date(2026, 10, 31))  # 31 days late: PAR30
    _loan(db, m[5], "L-E", date(2026, 9, 17))  # 75 days
    _loan(db, m[6], "L-F", date(2026, 8, 3))  # 120 days, every instalment late
    g = _loan(db, m[7], "L-G", date(2026, 9, 1))
    _pay(db, m[7], 10_000, date(2026, 9, 1), loan=g)  # first paid: oldest unpaid 01/10, 61 days
    _loan(db, m[8], "L-H1", date(2026, 10, 20))  # 42 days late
    _loan(db, m[8], "L-H2", date(2026, 12, 15))  # same member, on time: outside PAR30
    w = _loan(db, m[9], "L-W", date(2026, 6, 1))
    write_off(db, w, now=DEFAULT_NOW, actor="system", reason="test", source=Source.CLI)
    _loan(db, m[10], "L-R", date(2026, 11, 5), installments=2, principal=20_000)
    _pay(db, m[10], 20_000, date(2026, 11, 5))  # repaid in full
    reversed_ = _pay(db, m[3], 10_000, date(2026, 11, 10))
    reverse_repayment(db, reversed_.repayment, now=DEFAULT_NOW, by="system", reason="typo", source=Source.CLI)
    b1 = f.member(db, b, "M0001", "Binta Sarr")
    _loan(db, b1, "L-X", date(2026, 10, 1))  # 61 days
    db.commit()
    return {"a": a, "b": b, "m": m, "b1": b1}


def _independent_portfolio(db, cooperative_id=None):
    """PAR30 and ageing straight from the instalment rows, without models.position."""
    where = "AND m.cooperative_id = :c" if cooperative_id else ""
    rows = db.execute(
        text(
            f"""SELECT l.id, i.due_on, i.amount_due - i.amount_paid FROM instalment i
            JOIN loan l ON l.id = i.loan_id JOIN member m ON m.id = l.member_id
            WHERE l.status = 'active' AND i.amount_paid < i.amount_due {where}"""
        ),
        {"c": cooperative_id},
    ).all()
    loans: dict[int, list] = {}
    for loan_id, due_on, unpaid in rows:
        due_on = due_on if isinstance(due_on, date) else date.fromisoformat(due_on)
        loans.setdefault(loan_id, []).append((due_on, int(unpaid)))
    total = par = 0
    ageing = {"on_time": [0, 0], "1_30": [0, 0], "31_60": [0, 0], "61_90": [0, 0], "over_90": [0, 0]}
    for dues in loans.values():
        outstanding = sum(u for _, u in dues)
        late = [d for d, _ in dues if d < TODAY]
        days = (TODAY - min(late)).days if late else 0
        total += outstanding
        if days > 30:
            par += outstanding
        key = (
            "on_time"
            if days == 0
            else "1_30"
            if days <= 30
            else "31_60"
            if days <= 60
            else "61_90"
            if days <= 90
            else "over_90"
        )
        ageing[key][0] += 1
        ageing[key][1] += outstanding
    return total, par, ageing


def test_par30_and_ageing_match_hand_figures_and_independent_sums(db, book):
    """PAR30 counts only loans more than 30 days late; each bucket holds the loans of its days."""
    figures = portfolio(db, TODAY, [book["a"].id])
    # By hand: 8 loans of 40 000 unpaid + L-G's 30 000; late > 30 days: D, E, F, G, H1.
    assert figures.outstanding == 350_000
    assert figures.par30_outstanding == 40_000 + 40_000 + 40_000 + 30_000 + 40_000
    assert figures.par30 == pytest.approx(190_000 / 350_000)
    by_key = {b.key: (b.loans, b.outstanding) for b in figures.buckets}
    assert by_key == {
        "on_time": (2, 80_000),
        "1_30": (2, 80_000),
        "31_60": (2, 80_000),
        "61_90": (2, 70_000),
        "over_90": (1, 40_000),
    }
    total, par, ageing = _independent_portfolio(db, book["a"].id)
    assert (figures.outstanding, figures.par30_outstanding) == (total, par)
    assert by_key == {k: tuple(v) for k, v in ageing.items()}


def test_overall_portfolio_is_the_sum_of_the_cooperatives(db, book):
    """The overall figures add cooperative B's late loan to A's."""
    overall = portfolio(db, TODAY)
    total, par, ageing = _independent_portfolio(db)
    assert overall.outstanding == total == 390_000
    assert overall.par30_outstanding == par == 230_000
    assert {b.key: [b.loans, b.outstanding] for b in overall.buckets} == ageing
    assert portfolio(db, TODAY, [book["b"].id]).par30 == 1.0


def test_members_loans_savings_and_written_off_counts(db, book):
    """Active and inactive members, active loans, borrowers, savings and written-off balance."""
    figures = portfolio(db, TODAY, [book["a"].id])
    assert figures.members == 10
    assert figures.members_inactive == 1
    assert figures.active_loans == 9  # A, B, C, D, E, F, G, H1, H2 (L-W written off, L-R repaid)
    assert figures.borrowers == 8
    assert figures.savings == sum(1_000 * n for n in range(1, 12))
    assert figures.written_off_outstanding == 40_000
    counted = db.execute(
        text(
            "SELECT count(*) FROM loan l JOIN member m ON m.id = l.member_id"
            " WHERE l.status = 'active' AND m.cooperative_id = :c"
        ),
        {"c": book["a"].id},
    ).scalar()
    assert figures.active_loans == counted


def test_grouped_loan_arrears_equal_each_members_position(db, book):
    """The dashboards' grouped arrears are the USSD position's arrears, loan by loan, member by member."""
    rows = active_loan_arrears(db, TODAY)
    grouped: dict[int, list] = {}
    for row in rows:
        grouped.setdefault(row.member_id, []).append(row.arrears)
    members = [*book["m"].values(), book["b1"]]
    for member in members:
        expected = loan_arrears(member_position(db, member.id, TODAY), TODAY)
        key = lambda a: a.loan_reference  # noqa: E731
        assert sorted(grouped.get(member.id, []), key=key) == sorted(expected, key=key), member.member_no
    assert {r.cooperative_id for r in active_loan_arrears(db, TODAY, [book["b"].id])} == {book["b"].id}


def test_overdue_list_agrees_with_each_members_position(db, book):
    """Overdue, outstanding and days late of each line are the member's own position figures."""
    for line in overdue_list(db, TODAY):
        position = member_position(db, line.member_id, TODAY)
        assert (line.overdue, line.outstanding, line.days_late) == (
            position.overdue,
            position.outstanding,
            position.days_late,
        )


def test_collections_due_collected_and_cash(db, book):
    """November: what fell due, what of it is paid, cash received (reversed payments left out)."""
    nov = collections(db, NOV, TODAY, 1, [book["a"].id])[0]
    # Due in November: B 16/11, C 01/11, D 30/11, E 17/11, F 03/11, G 01/11, H1 20/11, R 05/11.
    assert nov.due == 80_000
    assert nov.collected == 10_000  # only L-R's first instalment
    assert nov.cash_in == 20_000  # L-R's payment; the reversed 10 000 is not cash
    assert nov.rate == pytest.approx(0.125)
    independent = db.execute(
        text(
            """SELECT sum(i.amount_due), sum(i.amount_paid) FROM instalment i JOIN loan l ON l.id=i.loan_id
            JOIN member m ON m.id=l.member_id WHERE m.cooperative_id=:c
            AND i.due_on >= :a AND i.due_on <= :b"""
        ),
        {"c": book["a"].id, "a": date(2026, 11, 1), "b": date(2026, 11, 30)},
    ).one()
    assert (nov.due, nov.collected) == tuple(int(v) for v in independent)


def test_collection_history_is_twelve_months_ending_with_the_chosen_one(db, book):
    """The chart's history holds 12 months, oldest first, and September carries L-G's payment."""
    history = collections(db, NOV, TODAY, 12, [book["a"].id])
    assert len(history) == 12 and history[0].month.key == "2025-12"
    assert history[-1].month == NOV
    september = next(c for c in history if c.month.key == "2026-09")
    assert september.cash_in == 10_000
    # Due in September: E 17/09, F 03/09, G 01/09, W 01/09 (written off stays in).
    assert september.due == 40_000
    assert september.collected == 10_000


def test_cooperative_lines_agree_with_single_cooperative_figures(db, book):
    """The overview table repeats each cooperative's own dashboard figures."""
    lines = cooperative_lines(db, TODAY, NOV)
    assert [line.name for line in lines] == ["GIE Ndiambour", "GIE Saloum"]
    for line in lines:
        alone = portfolio(db, TODAY, [line.id])
        assert line.portfolio.outstanding == alone.outstanding
        assert line.portfolio.par30_outstanding == alone.par30_outstanding
        nov = collections(db, NOV, TODAY, 1, [line.id])[0]
        assert (line.collection.due, line.collection.collected, line.collection.cash_in) == (
            nov.due,
            nov.collected,
            nov.cash_in,
        )


def test_overdue_list_with_last_reminder_and_opt_out(db, book, runtime):
    """Only late members, most days late first, with their last reminder's status and opt-out."""
    m = book["m"]
    m[5].opted_out = True
    first = queue_sms(
        db,
        to=m[4].phone,
        text="Rappel 1",
        kind=SmsKind.REMINDER,
        language="fr",
        now=datetime(2026, 11, 1, 9, tzinfo=UTC),
        cooperative_id=book["a"].id,
        member_id=m[4].id,
    )
    first.status = SmsStatus.DELIVERED
    last = queue_sms(
        db,
        to=m[4].phone,
        text="Rappel 2",
        kind=SmsKind.REMINDER,
        language="fr",
        now=datetime(2026, 11, 30, 9, tzinfo=UTC),
        cooperative_id=book["a"].id,
        member_id=m[4].id,
    )
    last.status = SmsStatus.FAILED
    db.commit()
    lines = overdue_list(db, TODAY, book["a"].id)
    assert [line.member_no for line in lines] == [
        "M0006",
        "M0005",
        "M0007",
        "M0008",
        "M0004",
        "M0003",
        "M0002",
    ]
    by_no = {line.member_no: line for line in lines}
    assert by_no["M0006"].days_late == 120 and by_no["M0006"].overdue == 40_000
    assert by_no["M0007"].overdue == 20_000 and by_no["M0007"].outstanding == 30_000
    assert by_no["M0008"].overdue == 20_000  # H1: 20/10 and 20/11 and by_no["M0008"].outstanding == 80_000
    assert by_no["M0005"].opted_out is True
    assert by_no["M0004"].last_reminder_status == SmsStatus.FAILED
    assert by_no["M0004"].last_reminder_at == datetime(2026, 11, 30, 9, tzinfo=UTC)
    assert by_no["M0002"].last_reminder_status is None
    expected_overdue = db.execute(
        text(
            """SELECT sum(i.amount_due - i.amount_paid) FROM instalment i JOIN loan l ON l.id=i.loan_id
            JOIN member m ON m.id=l.member_id WHERE m.cooperative_id=:c AND l.status='active'
            AND i.due_on < :t"""
        ),
        {"c": book["a"].id, "t": TODAY},
    ).scalar()
    assert sum(line.overdue for line in lines) == int(expected_overdue)
    assert [line.member_no for line in overdue_list(db, TODAY, book["b"].id)] == ["M0001"]


def _sms(db, coop, status, *, kind=SmsKind.REMINDER, at, reason=None, text_="Rappel"):
    row = queue_sms(
        db, to="+221770000001", text=text_, kind=kind, language="fr", now=at, cooperative_id=coop.id
    )
    row.status = status
    row.failure_reason = reason
    return row


def test_reminder_counts_by_outcome(db, book):
    """Reminders of the month, by outcome; other months, cooperatives and kinds are left out."""
    a, b = book["a"], book["b"]
    nov = datetime(2026, 11, 10, 9, tzinfo=UTC)
    for status, reason in [
        (SmsStatus.QUEUED, None),
        (SmsStatus.SENT, None),
        (SmsStatus.DELIVERED, None),
        (SmsStatus.DELIVERED, None),
        (SmsStatus.FAILED, "InvalidPhoneNumber"),
        (SmsStatus.CANCELLED, "paid"),
        (SmsStatus.CANCELLED, "paid"),
        (SmsStatus.CANCELLED, "opted_out"),
        (SmsStatus.UNKNOWN, None),
    ]:
        _sms(db, a, status, at=nov, reason=reason)
    _sms(db, a, SmsStatus.DELIVERED, at=datetime(2026, 10, 31, 9, tzinfo=UTC))  # October
    _sms(db, b, SmsStatus.DELIVERED, at=nov)  # another cooperative
    _sms(db, a, SmsStatus.DELIVERED, at=nov, kind=SmsKind.RECEIPT)  # not a reminder
    db.commit()
    counts = reminder_counts(db, NOV, [a.id])
    assert counts.planned == 9
    outcome = (counts.pending, counts.sent, counts.delivered, counts.failed, counts.cancelled, counts.unknown)
    assert outcome == (1, 3, 2, 1, 3, 1)
    assert counts.cancelled_by_reason == {"paid": 2, "opted_out": 1}
    assert reminder_counts(db, NOV).planned == 10  # with cooperative B's


def test_sms_cost_counts_billed_messages_against_the_budget(db, book):
    """Cost sums billed SMS of the month (sent, delivered, unknown); budget = daily × days × cooperatives."""
    a = book["a"]
    nov = datetime(2026, 11, 10, 9, tzinfo=UTC)
    long_text = "x" * 200  # two segments
    billed = [
        _sms(db, a, SmsStatus.SENT, at=nov, kind=SmsKind.RECEIPT),
        _sms(db, a, SmsStatus.DELIVERED, at=nov, text_=long_text),
        _sms(db, a, SmsStatus.UNKNOWN, at=nov, kind=SmsKind.REPLY),
    ]
    _sms(db, a, SmsStatus.FAILED, at=nov)
    _sms(db, a, SmsStatus.QUEUED, at=nov)
    _sms(db, a, SmsStatus.CANCELLED, at=nov, reason="budget")
    _sms(db, a, SmsStatus.CANCELLED, at=nov, reason="budget")
    _sms(db, a, SmsStatus.DELIVERED, at=datetime(2026, 12, 1, 8, tzinfo=UTC))  # today, December
    db.commit()
    cost = sms_cost(db, NOV, TODAY, 500, [a.id])
    assert cost.messages == 3
    assert cost.segments == sum(r.segments for r in billed) == 4
    assert cost.cost == sum(r.cost for r in billed) == 4 * 15
    assert cost.budget == 500 * 30
    assert cost.held_for_budget == 2
    assert cost.today_cost == 15 and cost.daily_budget == 500
    assert sms_cost(db, NOV, TODAY, 500).budget == 500 * 30 * 2


def test_production_per_product_against_previous_month_and_year(db, book):
    """November's quantities per product, against October's and November 2025's weeks."""
    a, m = book["a"], book["m"]
    arachide = f.product(db, a, "Arachide", "kg")
    lait = f.product(db, a, "Lait", "litre")
    week = production.Week
    reports = [
        (m[1], arachide, 100, week(2026, 45)),  # Thursday 05/11/2026: November
        (m[2], arachide, 50, week(2026, 48)),  # Thursday 26/11: November
        (m[1], lait, 30, week(2026, 44)),  # Thursday 29/10: October
        (m[2], arachide, 70, week(2026, 40)),  # Thursday 01/10: October
        (m[3], arachide, 40, week(2025, 46)),  # Thursday 13/11/2025: a year before
        (m[3], lait, 5, week(2026, 49)),  # Thursday 03/12: December, left out
    ]
    for member, product, quantity, wk in reports:
        production.save_report(
            db,
            member_id=member.id,
            product_id=product.id,
            quantity=quantity,
            week=wk,
            now=DEFAULT_NOW,
            idempotency_key=None,
            source=Source.CLI,
        )
    # A second report for the same week supersedes the first: 100 → 120.
    production.save_report(
        db,
        member_id=m[1].id,
        product_id=arachide.id,
        quantity=120,
        week=week(2026, 45),
        now=DEFAULT_NOW,
        idempotency_key=None,
        source=Source.CLI,
    )
    db.commit()
    period, lines = production_lines(db, NOV, TODAY, [a.id])
    assert period is not None and not period.to_date
    assert [(line.product, line.unit, line.quantity, line.previous, line.last_year) for line in lines] == [
        ("Arachide", "kg", 120 + 50, 70, 40),
        ("Lait", "litre", 0, 30, 0),
    ]
    assert production_lines(db, Month(2027, 1), TODAY, [a.id]) == (None, [])


def test_dashboard_bundles_the_figures_for_the_month(db, book):
    """The dashboard gathers the same figures as the separate functions."""
    board = dashboard(db, NOV, TODAY, daily_budget=100, cooperative_ids=[book["a"].id])
    assert board.portfolio.outstanding == 350_000
    assert board.collection.month == NOV and board.collection.due == 80_000
    assert len(board.history) == 12
    assert board.sms.budget == 100 * 30


def test_member_file_gathers_schedule_repayments_and_sms(db, book):
    """The member page's data: position, loans with schedule, repayments, savings, SMS."""
    m7 = book["m"][7]
    queue_sms(
        db, to=m7.phone, text="Recu", kind=SmsKind.RECEIPT, language="fr", now=DEFAULT_NOW, member_id=m7.id
    )
    db.commit()
    file = member_file(db, m7, TODAY)
    assert file.position.outstanding == 30_000
    assert [loan.reference for loan in file.loans] == ["L-G"]
    assert len(file.loans[0].instalments) == 4
    assert [r.amount for r in file.repayments] == [10_000]
    assert list(file.loan_lines.values()) == [[("L-G", 10_000)]]
    assert [s.amount for s in file.savings] == [7_000]
    assert [s.text for s in file.sms_out] == ["Recu"]


def test_month_parsing_and_bounds():
    """Months parse from YYYY-MM, shift across years and bound the local calendar in UTC."""
    assert Month.parse("2026-11") == NOV
    assert NOV.shift(-11).key == "2025-12" and NOV.shift(2).key == "2027-01"
    assert NOV.days == 30 and Month(2028, 2).days == 29
    assert NOV.utc_bounds() == (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    with pytest.raises(ValueError):
        Month.parse("2026-13")

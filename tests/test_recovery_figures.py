"""Recovery figures: collection rate to date, on-time rate, PAR with write-offs, snapshots, reminders."""

from __future__ import annotations

import importlib.util
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from models import Instalment, Loan, Member, PortfolioSnapshot, ReminderSent, Repayment, RepaymentLine
from models.clock import DAKAR
from models.enums import SmsKind, SmsStatus, Source
from models.ledger import find_repayment, record_repayment, respread, reverse_repayment, write_off
from models.portfolio import (
    Month,
    collection_of,
    collections,
    cooperative_lines,
    portfolio,
    portfolios,
    portfolios_as_of,
    reminder_effect,
)
from models.portfolio.snapshots import backfill, tick, write_month
from sms.outbox import queue_sms
from tests import factories as f
from tests.admin_support import add_user, login
from tests.conftest import DEFAULT_NOW

DEC_4 = datetime(2026, 12, 4, 10, 0, tzinfo=DAKAR)


def _loan(db, member, ref, first_due, amount, installments=1, disbursed_on=None):
    return f.loan(
        db,
        member,
        reference=ref,
        principal=amount,
        interest=0,
        installments=installments,
        disbursed_on=disbursed_on or date(2026, 6, 1),
        first_due_on=first_due,
    )


def _pay(db, member, amount, paid_on, loan=None, now=DEFAULT_NOW):
    return record_repayment(
        db, member=member, amount=amount, paid_on=paid_on, now=now, source=Source.CLI, loan=loan
    ).repayment


def _figure(page: str, ident: str) -> str:
    match = re.search(rf'id="{ident}">([^<]*)<', page)
    assert match, ident
    return match.group(1)


# --- the 04/12 example: a running month's dues after today are not in its rate -------------------


@pytest.fixture
def december(db, clock):
    """On 04/12: 12 000 F fell due on 02/12 (11 005 paid); 67 750 F falls due on the 24th and 28th."""
    clock.set(DEC_4)
    coop = f.coop(db, "GIE Thiès", "THS")
    awa = f.member(db, coop, "M0001", "Awa Diop")
    binta = f.member(db, coop, "M0002", "Binta Sarr")
    cheikh = f.member(db, coop, "M0003", "Cheikh Fall")
    _loan(db, awa, "L-A", date(2026, 12, 2), 12_000, disbursed_on=date(2026, 11, 2))
    _loan(db, binta, "L-B", date(2026, 12, 24), 30_000, disbursed_on=date(2026, 11, 24))
    _loan(db, cheikh, "L-C", date(2026, 12, 28), 37_750, disbursed_on=date(2026, 11, 28))
    _pay(db, awa, 11_005, date(2026, 12, 2))
    db.commit()
    return coop


def test_running_month_counts_only_instalments_due_up_to_today(db, december):
    """The coordinator's 13,8 % (11 005 ÷ 79 750) was a month not yet over: the true rate is 91,7 %."""
    dec = collection_of(db, Month(2026, 12), DEC_4.date(), [december.id])
    assert (dec.due, dec.collected, dec.through) == (12_000, 11_005, DEC_4.date())
    assert dec.rate == pytest.approx(11_005 / 12_000)
    all_december = db.execute(
        text("SELECT SUM(amount_due) FROM instalment WHERE due_on BETWEEN '2026-12-01' AND '2026-12-31'")
    ).scalar()
    assert round(11_005 / int(all_december), 3) == 0.138  # what the old page showed
    # A past month counts its whole month.
    assert collection_of(db, Month(2026, 12), date(2027, 1, 5), [december.id]).due == 79_750


def test_the_dashboard_and_report_portfolio_show_the_rate_to_date(db, december, client, runner):
    """The page, the cooperatives table and `report portfolio --json` all say 91,7 %, never 13,8 %."""
    add_user(db, "coord@mbolo.sn")
    login(client, "coord@mbolo.sn")
    page = client.get(f"/admin/cooperatives/{december.id}").get_data(as_text=True)
    assert _figure(page, "fig-due") == "12 000 F"
    assert _figure(page, "fig-collected") == "11 005 F"
    assert _figure(page, "fig-rate") == "91,7 %"
    assert "13,8" not in page
    assert "du 01/12/2026 au 04/12/2026" in page
    overview = client.get("/admin/").get_data(as_text=True)
    row = re.search(r'<td class="num rate">([^<]*)<', overview)
    assert row.group(1) == "91,7 %"
    result = runner.invoke(args=["report", "portfolio", "--coop", "THS", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["date"] == "2026-12-04"
    assert (figures["month_due_to_date"], figures["month_collected"]) == (12_000, 11_005)
    assert figures["collection_rate"] == pytest.approx(11_005 / 12_000)
    assert figures["cash_in"] == 11_005
    for key in ("outstanding", "overdue", "par1", "par30", "par90", "written_off"):
        assert key in figures
    assert (figures["members_in_arrears"], figures["loans_in_arrears"]) == (1, 1)  # Awa's 995 F since 02/12
    assert figures["overdue"] == 995 and figures["outstanding"] == 995 + 30_000 + 37_750
    # As of 01/12 nothing of December was due yet: no rate rather than 0 %.
    early = json.loads(runner.invoke(args=["report", "portfolio", "--date", "2026-12-01", "--json"]).output)
    assert (early["month_due_to_date"], early["collection_rate"]) == (0, None)
    text_out = runner.invoke(args=["report", "portfolio"]).output
    assert "collection_rate" in text_out and "91.7%" in text_out
    refused = runner.invoke(args=["report", "portfolio", "--date", "2026-12-05"])
    assert refused.exit_code != 0 and "after today" in refused.output


# --- on time, late, and reversals ----------------------------------------------------------------


def _dates(db, loan) -> list[date | None]:
    db.expire_all()
    return [
        i.fully_paid_on
        for i in db.scalars(
            select(Instalment).where(Instalment.loan_id == loan.id).order_by(Instalment.number)
        )
    ]


def test_on_time_and_late_payments(db):
    """fully_paid_on is the date of the repayment that completed the instalment; on time = by its due date."""
    coop = f.coop(db)
    awa = f.member(db, coop)
    loan = _loan(db, awa, "L-1", date(2026, 9, 1), 30_000, installments=3)  # 01/09, 01/10, 01/11
    _pay(db, awa, 10_000, date(2026, 9, 1))  # on its due date: on time
    _pay(db, awa, 10_000, date(2026, 10, 5))  # four days late
    _pay(db, awa, 5_000, date(2026, 10, 25))  # half of November's, early
    _pay(db, awa, 5_000, date(2026, 11, 1))  # completes it on its due date
    db.commit()
    assert _dates(db, loan) == [date(2026, 9, 1), date(2026, 10, 5), date(2026, 11, 1)]
    sep, oct_, nov = collections(db, Month(2026, 11), date(2026, 12, 1), 3, [coop.id])
    assert (sep.instalments_on_time, sep.instalments_decided) == (1, 1)
    assert (oct_.instalments_on_time, oct_.instalments_decided, oct_.on_time_rate) == (0, 1, 0.0)
    assert (nov.instalments_on_time, nov.on_time_rate) == (1, 1.0)
    assert oct_.rate == 1.0  # collected in full, but late: the two rates say different things


def test_an_instalment_due_today_is_not_yet_late(db):
    """Unpaid on its due date it is not counted against the on-time rate until the day after."""
    coop = f.coop(db)
    awa = f.member(db, coop)
    _loan(db, awa, "L-1", date(2026, 12, 1), 10_000)
    db.commit()
    today = collection_of(db, Month(2026, 12), date(2026, 12, 1), [coop.id])
    assert (today.due, today.instalments_decided, today.on_time_rate) == (10_000, 0, None)
    tomorrow = collection_of(db, Month(2026, 12), date(2026, 12, 2), [coop.id])
    assert (tomorrow.instalments_decided, tomorrow.on_time_rate) == (1, 0.0)


def test_a_reversal_that_uncompletes_an_instalment_clears_or_moves_its_date(db, client):
    """Reversing the completing repayment clears the date; reversing an earlier one moves it later."""
    coop = f.coop(db)
    awa = f.member(db, coop)
    loan = _loan(db, awa, "L-1", date(2026, 9, 1), 20_000, installments=2)  # 01/09, 01/10
    first = _pay(db, awa, 10_000, date(2026, 9, 1))
    second = _pay(db, awa, 10_000, date(2026, 9, 28))
    db.commit()
    assert _dates(db, loan) == [date(2026, 9, 1), date(2026, 9, 28)]
    reverse_repayment(db, second, now=DEFAULT_NOW, by="system", reason="typo", source=Source.CLI)
    db.commit()
    assert _dates(db, loan) == [date(2026, 9, 1), None]
    _pay(db, awa, 10_000, date(2026, 10, 10))
    db.commit()
    assert _dates(db, loan) == [date(2026, 9, 1), date(2026, 10, 10)]
    oct_ = collection_of(db, Month(2026, 10), date(2026, 12, 1), [coop.id])
    assert (oct_.on_time_rate, oct_.rate) == (0.0, 1.0)
    # Reversing the first: the 10/10 payment now completes September's instalment, October's is open.
    reverse_repayment(
        db, find_repayment(db, first.receipt), now=DEFAULT_NOW, by="x", reason="y", source="cli"
    )
    db.commit()
    assert _dates(db, loan) == [date(2026, 10, 10), None]
    assert [i.amount_paid for i in db.get(Loan, loan.id).instalments] == [10_000, 0]


def test_the_migration_backfills_fully_paid_on_by_replaying_allocation(db, engine):
    """The migration's replay gives the dates the ledger gives, reversals and split payments included."""
    coop = f.coop(db)
    awa = f.member(db, coop)
    binta = f.member(db, coop, "M0002", "Binta Sarr")
    one = _loan(db, awa, "L-1", date(2026, 9, 1), 30_000, installments=3)
    two = _loan(db, awa, "L-2", date(2026, 9, 15), 10_000)
    three = _loan(db, binta, "L-3", date(2026, 10, 1), 10_000, installments=2)
    _pay(db, awa, 15_000, date(2026, 9, 2))  # L-1 #1, then L-2's 5 000 (oldest due first)
    wrong = _pay(db, awa, 20_000, date(2026, 9, 20))
    reverse_repayment(db, wrong, now=DEFAULT_NOW, by="system", reason="typo", source=Source.CLI)
    _pay(db, awa, 12_000, date(2026, 10, 3))  # L-2's 5 000 left first, then 7 000 of L-1 #2
    _pay(db, binta, 5_000, date(2026, 10, 1))
    db.commit()
    expected = {loan.id: _dates(db, loan) for loan in (one, two, three)}
    assert expected[one.id][0] == date(2026, 9, 2) and expected[two.id] == [date(2026, 10, 3)]
    db.execute(text("UPDATE instalment SET fully_paid_on = NULL"))
    db.commit()
    path = next(Path(__file__).resolve().parent.parent.glob("migrations/versions/0030_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0030", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with engine.begin() as conn:
        module._backfill_fully_paid_on(conn)
    assert {loan.id: _dates(db, loan) for loan in (one, two, three)} == expected


# --- PAR, write-off, recovery --------------------------------------------------------------------


def _recover(db, loan, amount, paid_on, now):
    """A recovery as any recorder would write it: a repayment on the written-off loan, then respread."""
    repayment = Repayment(
        member_id=loan.member_id,
        loan_id=loan.id,
        amount=amount,
        paid_on=paid_on,
        recorded_at=now,
        source=Source.SMS,
        receipt=f"RX{amount}",
    )
    repayment.lines = [RepaymentLine(loan_id=loan.id, amount=amount)]
    db.add(repayment)
    db.flush()
    respread(db, loan)
    return repayment


def test_par_excludes_written_off_loans_and_shows_recoveries_after_write_off(db, runner):
    """PAR1/30/90 over active loans; the written-off loan apart, with what was recovered after it."""
    coop = f.coop(db, "GIE Louga", "LGA")
    people = [f.member(db, coop, f"M000{k}", f"Membre {k}") for k in range(1, 6)]
    _loan(db, people[0], "L-ON", date(2026, 12, 10), 10_000)  # not due yet
    _loan(db, people[1], "L-5", date(2026, 11, 26), 20_000)  # 5 days late: PAR1 only
    _loan(db, people[2], "L-45", date(2026, 10, 17), 30_000)  # 45 days: PAR1 and PAR30
    _loan(db, people[3], "L-120", date(2026, 8, 3), 40_000)  # 120 days: PAR1, 30 and 90
    gone = _loan(db, people[4], "L-W", date(2026, 7, 1), 50_000)
    before = datetime(2026, 7, 2, 9, tzinfo=UTC)
    _pay(db, people[4], 5_000, date(2026, 7, 2), now=before)  # before the write-off: not a recovery
    write_off(db, gone, now=datetime(2026, 11, 10, 9, tzinfo=UTC), actor="system", reason="x", source="cli")
    _recover(db, gone, 8_000, date(2026, 11, 20), datetime(2026, 11, 20, 9, tzinfo=UTC))
    db.commit()
    p = portfolio(db, date(2026, 12, 1), [coop.id])
    assert p.outstanding == 100_000
    assert (p.par1_outstanding, p.par30_outstanding, p.par90_outstanding) == (90_000, 70_000, 40_000)
    assert (p.par1, p.par30, p.par90) == (0.9, 0.7, 0.4)
    assert (p.written_off_outstanding, p.recoveries) == (50_000 - 5_000 - 8_000, 8_000)
    assert (p.loans_in_arrears, p.members_in_arrears) == (3, 3)
    db.commit()
    figures = json.loads(runner.invoke(args=["report", "portfolio", "--coop", "LGA", "--json"]).output)
    assert (figures["par1"], figures["par30"], figures["par90"]) == (0.9, 0.7, 0.4)
    assert (figures["written_off"], figures["recoveries"]) == (37_000, 8_000)
    # Before the write-off (31/10) the loan was active and in PAR; the recovery had not happened.
    october = portfolios_as_of(db, date(2026, 10, 31), [coop.id])[coop.id]
    assert october.written_off_outstanding == 0 and october.recoveries == 0
    assert october.outstanding == 20_000 + 30_000 + 40_000 + 45_000 + 10_000
    # Collection rates keep the written-off loan's instalment: July's 50 000 due, 13 000 paid.
    july = collection_of(db, Month(2026, 7), date(2026, 12, 1), [coop.id])
    assert (july.due, july.collected) == (50_000, 13_000)


# --- snapshots and their backfill equal a replay -------------------------------------------------


def _independent_replay(db, day: date, cooperative_id: int) -> dict:
    """The month-end figures by hand: each loan's repayments paid by `day`, oldest instalment first."""
    loans = db.execute(
        select(Loan.id, Loan.status, Loan.closed_at, Loan.disbursed_on)
        .join(Member, Member.id == Loan.member_id)
        .where(Member.cooperative_id == cooperative_id)
    ).all()
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=DAKAR)
    out = dict.fromkeys(("outstanding", "par1", "par30", "par90", "written_off", "loans"), 0)
    for loan_id, status, closed_at, disbursed_on in loans:
        if _d(disbursed_on) > day:
            continue
        paid = sum(
            int(amount)
            for amount, paid_on, reversed_at in db.execute(
                text(
                    "SELECT rl.amount, r.paid_on, r.reversed_at FROM repayment_line rl "
                    "JOIN repayment r ON r.id = rl.repayment_id WHERE rl.loan_id = :l"
                ),
                {"l": loan_id},
            )
            if reversed_at is None and _d(paid_on) <= day
        )
        unpaid = []
        for due_on, amount_due in db.execute(
            text("SELECT due_on, amount_due FROM instalment WHERE loan_id = :l ORDER BY number"),
            {"l": loan_id},
        ):
            take = min(paid, int(amount_due))
            paid -= take
            if take < amount_due:
                unpaid.append((_d(due_on), int(amount_due) - take))
        outstanding = sum(u for _, u in unpaid)
        if not outstanding:
            continue
        if status == "written_off" and closed_at < end:
            out["written_off"] += outstanding
            continue
        late = [d for d, _ in unpaid if d < day]
        days = (day - min(late)).days if late else 0
        out["outstanding"] += outstanding
        out["loans"] += 1
        for n in (1, 30, 90):
            if days > n:
                out[f"par{n}"] += outstanding
    return out


def _d(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


@pytest.fixture
def history(db):
    """Six months of a cooperative: on-time and late payers, a reversal, a write-off, a back-dated payment."""
    coop = f.coop(db, "GIE Kolda", "KLD")
    a, b, c, d = (f.member(db, coop, f"M000{k}", f"Membre {k}") for k in range(1, 5))
    _loan(db, a, "L-A", date(2026, 7, 1), 60_000, installments=6, disbursed_on=date(2026, 6, 1))
    _loan(db, b, "L-B", date(2026, 7, 15), 40_000, installments=4, disbursed_on=date(2026, 6, 15))
    gone = _loan(db, c, "L-C", date(2026, 8, 1), 30_000, installments=3, disbursed_on=date(2026, 7, 1))
    _loan(db, d, "L-D", date(2026, 10, 5), 20_000, installments=2, disbursed_on=date(2026, 9, 5))
    for month in range(7, 12):
        _pay(db, a, 10_000, date(2026, month, 1))  # A pays on time every month
    _pay(db, b, 10_000, date(2026, 8, 20))  # B pays late, then stops
    wrong = _pay(db, b, 10_000, date(2026, 9, 20))
    reverse_repayment(db, wrong, now=DEFAULT_NOW, by="system", reason="typo", source=Source.CLI)
    _pay(db, c, 5_000, date(2026, 8, 10))
    write_off(db, gone, now=datetime(2026, 10, 15, 9, tzinfo=UTC), actor="system", reason="x", source="cli")
    _pay(db, d, 10_000, date(2026, 10, 28), now=datetime(2026, 11, 2, 9, tzinfo=UTC))  # recorded later
    db.commit()
    return coop


def _snapshot(db, coop, month: Month) -> dict:
    row = db.scalar(
        select(PortfolioSnapshot).where(
            PortfolioSnapshot.cooperative_id == coop.id, PortfolioSnapshot.as_of == month.last
        )
    )
    return {
        "outstanding": row.outstanding,
        "par1": row.par1,
        "par30": row.par30,
        "par90": row.par90,
        "written_off": row.written_off,
        "loans": row.loans,
    }


def test_backfilled_snapshots_equal_a_replay_of_the_repayments(db, history, runner):
    """`report snapshots --backfill` writes each past month-end; each equals an independent replay."""
    result = runner.invoke(args=["report", "snapshots", "--backfill"])
    assert result.exit_code == 0, result.output
    assert "6 month(s), 2026-06 to 2026-11" in result.output
    for k in range(6, 12):
        month = Month(2026, k)
        assert _snapshot(db, history, month) == _independent_replay(db, month.last, history.id), month.key
    september = _snapshot(db, history, Month(2026, 9))
    assert september["par30"] > 0 and september["written_off"] == 0
    assert _snapshot(db, history, Month(2026, 10))["written_off"] == 25_000
    db.commit()
    again = runner.invoke(args=["report", "snapshots", "--backfill"])
    assert "written: 0" in again.output
    assert db.scalar(select(text("count(*)")).select_from(PortfolioSnapshot)) == 6


def test_the_replay_of_today_equals_the_live_portfolio(db, history):
    """The ledger's present amounts and the replay of the repayments agree on today."""
    today = date(2026, 12, 1)
    live = portfolios(db, today, [history.id])[history.id]
    replayed = portfolios_as_of(db, today, [history.id])[history.id]
    for name in ("outstanding", "overdue", "par1_outstanding", "par30_outstanding", "par90_outstanding"):
        assert getattr(live, name) == getattr(replayed, name), name
    assert live.written_off_outstanding == replayed.written_off_outstanding
    assert [b.outstanding for b in live.buckets] == [b.outstanding for b in replayed.buckets]
    assert (live.loans_in_arrears, live.members_in_arrears) == (
        replayed.loans_in_arrears,
        replayed.members_in_arrears,
    )


def test_the_tick_writes_the_month_end_once_and_settles_back_dated_payments(db, history, runtime, clock):
    """On the 1st the tick writes November; the same day again changes nothing; a week on it is frozen."""
    clock.set(datetime(2026, 12, 1, 0, 10, tzinfo=DAKAR))
    assert tick(runtime, clock.now()) == "2026-11: 1 cooperatives"
    assert tick(runtime, clock.now()) == "up to date"
    db.expire_all()
    first = _snapshot(db, history, Month(2026, 11))
    assert first == _independent_replay(db, date(2026, 11, 30), history.id)
    db.commit()
    # A payment dated 29/11 recorded on 03/12: the next day's tick rewrites November.
    member = db.scalar(select(Loan).where(Loan.reference == "L-D")).member_id
    _pay(db, db.get(Member, member), 5_000, date(2026, 11, 29), now=datetime(2026, 12, 3, 9, tzinfo=UTC))
    db.commit()
    clock.set(datetime(2026, 12, 3, 10, 0, tzinfo=DAKAR))
    assert tick(runtime, clock.now()).startswith("2026-11")
    db.expire_all()
    assert _snapshot(db, history, Month(2026, 11))["outstanding"] == first["outstanding"] - 5_000
    db.commit()
    clock.set(datetime(2026, 12, 20, 10, 0, tzinfo=DAKAR))
    assert tick(runtime, clock.now()) == "up to date"
    assert db.scalar(select(text("count(*)")).select_from(PortfolioSnapshot)) == 1


def test_the_cooperative_page_shows_twelve_months_with_par30_from_the_snapshots(db, history, client):
    """Collection and on-time rates from the instalments, PAR30 from the month-end snapshots."""
    write_month(db, Month(2026, 10), DEFAULT_NOW)
    db.commit()
    october = _independent_replay(db, date(2026, 10, 31), history.id)
    add_user(db, "coord@mbolo.sn")
    login(client, "coord@mbolo.sn")
    page = client.get(f"/admin/cooperatives/{history.id}").get_data(as_text=True)
    rows = re.findall(r"<tr><td>(\d{4}-\d\d)</td>((?:<td class=\"num\">[^<]*</td>){3})</tr>", page)
    assert [month for month, _ in rows] == [Month(2026, 12).shift(-k).key for k in reversed(range(12))]
    cells = {month: re.findall(r'<td class="num">([^<]*)</td>', rest) for month, rest in rows}
    expected = f"{october['par30'] / october['outstanding'] * 100:.1f} %".replace(".", ",")
    assert cells["2026-10"][2] == expected
    assert cells["2026-09"][2] == "–"  # no snapshot written for September
    assert cells["2026-08"][1] == "33,3 %"  # A's 01/08 on time; B's 15/08 and C's 01/08 unpaid
    assert "chart-series-par30" in page and "chart-series-on-time" in page and "<polyline" in page


# --- the cooperatives table sorts --------------------------------------------------------------


def test_cooperatives_table_sorts_by_par30_and_collection_rate(db, client):
    """?sort=-par30 puts the worst portfolio first; ?sort=rate the lowest collection rate first."""
    good, bad, mid = f.coop(db, "A Good", "AGD"), f.coop(db, "B Bad", "BBD"), f.coop(db, "C Mid", "CMD")
    for coop, paid in ((good, 10_000), (bad, 0), (mid, 5_000)):
        m = f.member(db, coop, "M0001", "X")
        _loan(db, m, f"L-{coop.code}-1", date(2026, 10, 1), 10_000)
        _loan(db, m, f"L-{coop.code}-2", date(2026, 12, 15), 10_000)
        if paid:
            _pay(db, m, paid, date(2026, 10, 1))
    db.commit()
    lines = cooperative_lines(db, date(2026, 12, 1), Month(2026, 10), sort="-par30")
    assert [line.code for line in lines] == ["BBD", "CMD", "AGD"]
    assert [line.code for line in cooperative_lines(db, date(2026, 12, 1), Month(2026, 10), sort="rate")] == [
        "BBD",
        "CMD",
        "AGD",
    ]
    assert [
        line.code for line in cooperative_lines(db, date(2026, 12, 1), Month(2026, 10), sort="-rate")
    ] == [
        "AGD",
        "CMD",
        "BBD",
    ]
    add_user(db, "coord@mbolo.sn")
    login(client, "coord@mbolo.sn")
    page = client.get("/admin/?month=2026-10&sort=-par30").get_data(as_text=True)
    assert page.index("B Bad") < page.index("C Mid") < page.index("A Good")
    assert 'id="sort-par30"' in page and "sort=par30" in page  # a second click reverses
    csv_text = client.get("/admin/cooperatives.csv?month=2026-10&sort=rate").get_data(as_text=True)
    header, first = csv_text.lstrip("\ufeff").splitlines()[:2]
    assert header.split(";")[:2] == ["cooperative", "code"] and "collection_rate" in header
    assert first.startswith("B Bad;BBD") and ";0.0000;" in first


# --- whether reminders work ------------------------------------------------------------------------


def _remind(db, coop, member, instalment, rule, day, status=SmsStatus.SENT):
    sms = queue_sms(
        db,
        to=member.phone,
        text="Rappel",
        kind=SmsKind.REMINDER,
        language="fr",
        now=datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9),
        cooperative_id=coop.id,
        member_id=member.id,
    )
    sms.status = status
    db.flush()
    db.add(ReminderSent(instalment_id=instalment.id, rule=rule, day=day, outbound_sms_id=sms.id))


def test_reminder_effect_on_a_known_history(db, client):
    """Per rule and month: reminded instalments (SMS gone), paid within 7 days, still open."""
    coop = f.coop(db)
    people = [f.member(db, coop, f"M000{k}", f"Membre {k}") for k in range(1, 6)]
    loans = [_loan(db, p, f"L-{k}", date(2026, 11, 1), 10_000) for k, p in enumerate(people)]
    inst = [loan.instalments[0] for loan in loans]
    _remind(db, coop, people[0], inst[0], "M-3", date(2026, 10, 29))
    _pay(db, people[0], 10_000, date(2026, 11, 1))  # 3 days after: within the week
    _remind(db, coop, people[1], inst[1], "M+1", date(2026, 11, 2))
    _pay(db, people[1], 10_000, date(2026, 11, 20))  # 18 days after: not within
    _remind(db, coop, people[2], inst[2], "arrears", date(2026, 11, 10))
    _pay(db, people[2], 10_000, date(2026, 11, 17))  # exactly 7 days: within
    _remind(db, coop, people[3], inst[3], "M+1", date(2026, 11, 2), status=SmsStatus.CANCELLED)
    _remind(db, coop, people[4], inst[4], "promise", date(2026, 11, 28))  # unpaid, its week not over
    db.commit()
    cells = {(e.rule, e.month.key): e for e in reminder_effect(db, Month(2026, 11), date(2026, 12, 1), 2)}
    assert set(cells) == {
        ("M-3", "2026-10"),
        ("M+1", "2026-11"),
        ("arrears", "2026-11"),
        ("promise", "2026-11"),
    }
    assert (cells["M-3", "2026-10"].reminded, cells["M-3", "2026-10"].share) == (1, 1.0)
    assert (cells["M+1", "2026-11"].reminded, cells["M+1", "2026-11"].share) == (1, 0.0)
    assert cells["arrears", "2026-11"].share == 1.0
    promise = cells["promise", "2026-11"]
    assert (promise.reminded, promise.open, promise.share) == (1, 1, None)
    # A week later the promise's reminder is decided: unpaid.
    later = reminder_effect(db, Month(2026, 11), date(2026, 12, 6), 1)
    assert next(e for e in later if e.rule == "promise").share == 0.0
    add_user(db, "coord@mbolo.sn")
    login(client, "coord@mbolo.sn")
    page = client.get(f"/admin/cooperatives/{coop.id}?month=2026-11").get_data(as_text=True)
    table = re.search(r'<table class="figures" id="reminder-effect">(.*?)</table>', page, re.S).group(1)
    assert [r for r in re.findall(r"<tr><td>([^<]+)</td>", table)] == ["M-3", "M+1", "arrears", "promise"]
    assert "1 en cours" in table


def test_backfill_and_month_figures_need_no_snapshot_for_an_empty_database(db, runtime):
    """Nothing lent yet: no month to write, and the tick writes an empty month without failing."""
    assert backfill(db, date(2026, 12, 1), DEFAULT_NOW) == []
    db.commit()
    assert tick(runtime, DEFAULT_NOW) == "2026-11: 0 cooperatives"

"""A region's figures are its cooperatives' figures, and nothing of another region's.

Every section of a dashboard (portfolio and ageing, collections and the 12-month series, month-end
snapshots, production, reminders and their effect, SMS cost and budget) is computed here for a
region, for the programme and for each cooperative alone, on a programme of four cooperatives in
two regions (one spelt two ways) and one without a region, each with loans in every ageing bucket
and on each bucket's edge, payments, a reversal, a write-off and its recovery, savings, reminders,
billed SMS and production. Runs on SQLite and on PostgreSQL (DATABASE_URL). Last, the overview
page: a regional coordinator's shows every section, with those figures and nothing of another's.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from i18n.formatting import format_money
from models import Member, production
from models.enums import MemberStatus, SmsKind, SmsStatus, Source
from models.ledger import record_repayment, reverse_repayment, write_off
from models.messaging import ReminderSent
from models.portfolio import (
    Dashboard,
    Month,
    cooperative_lines,
    dashboard,
    empty_portfolio,
    portfolio,
    standing,
)
from models.portfolio.report import portfolio_report
from models.portfolio.snapshots import backfill, month_ends
from models.portfolio.standing import count_arrears, loan_figures
from models.position import active_loan_arrears
from models.scope import Scope
from sms.outbox import queue_sms
from tests import factories as f
from tests.admin_support import add_user, login
from tests.conftest import DEFAULT_NOW
from ussd_app.admin import charts

TODAY = date(2026, 12, 1)
NOV = Month(2026, 11)
BUDGET = 500
PORTFOLIO_FIELDS = standing.SUMMED
# First due dates, as days before TODAY, that put a loan on each bucket's and each PAR's edge.
DAYS_LATE = (0, 1, 2, 30, 31, 60, 61, 90, 91, 120)


def _pay(db, member, amount, paid_on, loan=None):
    return record_repayment(
        db, member=member, amount=amount, paid_on=paid_on, now=DEFAULT_NOW, source=Source.CLI, loan=loan
    )


def _sms(db, coop, member, status, *, at, kind=SmsKind.REMINDER, text="Rappel", reason=None):
    sms = queue_sms(
        db,
        to=member.phone,
        text=text,
        kind=kind,
        language="fr",
        now=at,
        cooperative_id=coop.id,
        member_id=member.id,
    )
    sms.status = status
    sms.failure_reason = reason
    db.flush()
    return sms


def _stock(db, coop, seed: int, product_name: str):
    """One cooperative's activity; `seed` makes its amounts its own, so that a leak shows in a sum."""
    size = 10_000 * seed
    members = [
        f.member(db, coop, f"M{n:04d}", f"Membre {seed}-{n}", savings=1_000 * seed + n)
        for n in range(1, len(DAYS_LATE) + 6)
    ]
    members[-1].status = MemberStatus.INACTIVE
    loans = []
    for n, days in enumerate(DAYS_LATE):
        loan = f.loan(
            db,
            members[n],
            f"L-{coop.code}-{n}",
            principal=4 * size,
            interest=0,
            installments=4,
            disbursed_on=date(2026, 1, 1),
            first_due_on=TODAY - timedelta(days=days),
        )
        loans.append(loan)
    extra = len(DAYS_LATE)
    # A second loan of the same member, not yet due: one borrower, two loans.
    f.loan(
        db,
        members[0],
        f"L-{coop.code}-2nd",
        principal=size,
        interest=0,
        installments=2,
        disbursed_on=date(2026, 11, 1),
        first_due_on=date(2026, 12, 20),
    )
    # Part-paid in November, and a reversed payment.
    _pay(db, members[4], size // 2, date(2026, 11, 12))
    wrong = _pay(db, members[5], size, date(2026, 11, 14))
    reverse_repayment(db, wrong.repayment, now=DEFAULT_NOW, by="system", reason="typo", source=Source.CLI)
    # Repaid in full in November.
    repaid = f.loan(
        db,
        members[extra],
        f"L-{coop.code}-R",
        principal=size,
        interest=0,
        installments=1,
        disbursed_on=date(2026, 10, 1),
        first_due_on=date(2026, 11, 5),
    )
    _pay(db, members[extra], size, date(2026, 11, 5), loan=repaid)
    # Written off, then part recovered.
    lost = f.loan(
        db,
        members[extra + 1],
        f"L-{coop.code}-W",
        principal=2 * size,
        interest=0,
        installments=2,
        disbursed_on=date(2026, 1, 1),
        first_due_on=date(2026, 5, 1),
    )
    write_off(db, lost, now=DEFAULT_NOW, actor="system", reason="test", source=Source.CLI)
    _pay(db, members[extra + 1], size // 4, date(2026, 12, 1))

    # Reminders of November by outcome, their effect, billed SMS and SMS held for the budget.
    nov = datetime(2026, 11, 2, 9, tzinfo=UTC)
    statuses = [SmsStatus.DELIVERED, SmsStatus.SENT, SmsStatus.FAILED, SmsStatus.QUEUED][: 1 + seed % 4]
    for n, status in enumerate(statuses):
        sms = _sms(db, coop, members[n], status, at=nov)
        db.add(
            ReminderSent(
                instalment_id=loans[n].instalments[0].id, rule="M+1", day=nov.date(), outbound_sms_id=sms.id
            )
        )
    _sms(db, coop, members[1], SmsStatus.CANCELLED, at=nov, reason="paid")
    _sms(
        db,
        coop,
        members[2],
        SmsStatus.DELIVERED,
        at=nov,
        kind=SmsKind.RECEIPT,
        text="Recu " + "x" * 150 * seed,
    )
    _sms(db, coop, members[3], SmsStatus.CANCELLED, at=nov, kind=SmsKind.RECEIPT, reason="budget")
    _sms(
        db, coop, members[3], SmsStatus.DELIVERED, at=datetime(2026, 12, 1, 8, tzinfo=UTC), kind=SmsKind.REPLY
    )

    # Production: this month, the month before and a year before.
    product = f.product(db, coop, product_name, "kg")
    for member, quantity, week in (
        (members[0], 100 * seed, production.Week(2026, 45)),
        (members[1], 10 * seed, production.Week(2026, 48)),
        (members[0], 70 * seed, production.Week(2026, 41)),
        (members[2], 40 * seed, production.Week(2025, 46)),
    ):
        production.save_report(
            db,
            member_id=member.id,
            product_id=product.id,
            quantity=quantity,
            week=week,
            now=DEFAULT_NOW,
            idempotency_key=None,
            source=Source.CLI,
        )
    return product


@pytest.fixture
def programme(db):
    """Thiès (KMS, and TIV spelt THIES), Louga (NDB), and SRG without a region; month-end snapshots."""
    coops = {
        "kms": f.coop(db, "GIE Keur Massar", "KMS", region="Thiès"),
        "tiv": f.coop(db, "GIE Tivaouane", "TIV", region="THIES "),
        "ndb": f.coop(db, "GIE Ndiambour", "NDB", region="Louga"),
        "srg": f.coop(db, "GIE Sans Region", "SRG", region=None),
    }
    products = {}
    for seed, (key, product_name) in enumerate(
        (("kms", "Mil"), ("tiv", "Mil"), ("ndb", "Niébé"), ("srg", "Arachide")), start=1
    ):
        products[key] = _stock(db, coops[key], seed, product_name)
    backfill(db, TODAY, DEFAULT_NOW, since=Month(2026, 6))
    db.commit()
    return {**coops, "products": products}


def _board(db, ids, month=NOV) -> Dashboard:
    return dashboard(db, month, TODAY, daily_budget=BUDGET, cooperative_ids=ids)


def _flat(db, board: Dashboard, ids) -> dict[str, int]:
    """Every count and amount of a dashboard (the rates are ratios of these), zeros left out."""
    out: dict[str, int] = {}
    p = board.portfolio
    out.update({f"portfolio.{name}": getattr(p, name) for name in PORTFOLIO_FIELDS})
    for b in p.buckets:
        out[f"bucket.{b.key}.loans"], out[f"bucket.{b.key}.outstanding"] = b.loans, b.outstanding
    for c in board.history:
        for name in ("due", "collected", "cash_in", "instalments_decided", "instalments_on_time"):
            out[f"collection.{c.month.key}.{name}"] = getattr(c, name)
    for end in month_ends(db, [c.month for c in board.history], ids).values():
        for name in ("outstanding", "par1", "par30", "par90", "written_off"):
            out[f"month_end.{end.month.key}.{name}"] = getattr(end, name)
    for line in board.production:
        for name in ("quantity", "previous", "last_year"):
            out[f"production.{line.product}.{line.unit}.{name}"] = getattr(line, name)
    r = board.reminders
    for name in ("planned", "pending", "sent", "delivered", "failed", "cancelled", "unknown"):
        out[f"reminders.{name}"] = getattr(r, name)
    out.update({f"reminders.cancelled.{k}": v for k, v in r.cancelled_by_reason.items()})
    for rule, cells in board.reminder_effect.rows:
        for cell in cells:
            for name in ("reminded", "paid_within", "open"):
                out[f"effect.{rule}.{cell.month.key}.{name}"] = getattr(cell, name)
    s = board.sms
    for name in ("messages", "segments", "cost", "budget", "today_cost", "daily_budget", "held_for_budget"):
        out[f"sms.{name}"] = getattr(s, name)
    return {k: v for k, v in out.items() if v}


def _summed(flats) -> dict[str, int]:
    total: dict[str, int] = defaultdict(int)
    for flat in flats:
        for key, value in flat.items():
            total[key] += value
    return {k: v for k, v in total.items() if v}


def _alone(db, cooperative_id) -> dict[str, int]:
    return _flat(db, _board(db, [cooperative_id]), [cooperative_id])


def test_a_regions_figures_are_the_sum_of_its_cooperatives_alone(db, programme):
    """Thiès (spelt two ways) = KMS + TIV in every section; the programme = all four cooperatives."""
    thies = Scope(region="thies").cooperative_ids(db)
    assert sorted(thies) == sorted([programme["kms"].id, programme["tiv"].id])
    region = _flat(db, _board(db, thies), thies)
    assert region == _summed(_alone(db, cid) for cid in thies)
    # Every section has something in it, so that the equality above is not one of empty sections.
    for section in (
        "portfolio",
        "bucket",
        "collection",
        "month_end",
        "production",
        "reminders",
        "effect",
        "sms",
    ):
        assert any(key.startswith(section + ".") for key in region), section
    assert region["sms.budget"] == BUDGET * NOV.days * 2 and region["sms.daily_budget"] == BUDGET * 2
    everything = _flat(db, _board(db, None), None)
    assert everything == _summed(_alone(db, programme[k].id) for k in ("kms", "tiv", "ndb", "srg"))
    louga = Scope(region="Louga").cooperative_ids(db)
    assert _flat(db, _board(db, louga), louga) == _alone(db, programme["ndb"].id)


def test_a_region_leaks_nothing_of_another(db, programme):
    """New activity in Louga and outside any region changes the programme's figures, never Thiès's."""
    thies = Scope(region="Thiès").cooperative_ids(db)
    before = _flat(db, _board(db, thies), thies)
    programme_before = _flat(db, _board(db, None), None)
    assert "production.Niébé.kg.quantity" not in before and "production.Arachide.kg.quantity" not in before
    for key in ("ndb", "srg"):
        coop = programme[key]
        newcomer = f.member(db, coop, "M0900", "Nouvelle", savings=9_999)
        loan = f.loan(
            db,
            newcomer,
            f"L-{coop.code}-new",
            principal=90_000,
            interest=0,
            installments=3,
            disbursed_on=date(2026, 8, 1),
            first_due_on=date(2026, 9, 1),
        )
        _pay(db, newcomer, 5_000, date(2026, 11, 20))
        sms = _sms(db, coop, newcomer, SmsStatus.DELIVERED, at=datetime(2026, 11, 25, 9, tzinfo=UTC))
        db.add(
            ReminderSent(
                instalment_id=loan.instalments[2].id,
                rule="W+1",
                day=date(2026, 11, 25),
                outbound_sms_id=sms.id,
            )
        )
        production.save_report(
            db,
            member_id=newcomer.id,
            product_id=programme["products"][key].id,
            quantity=555,
            week=production.Week(2026, 46),
            now=DEFAULT_NOW,
            idempotency_key=None,
            source=Source.CLI,
        )
    backfill(db, TODAY, DEFAULT_NOW, since=Month(2026, 6), rebuild=True)
    db.commit()
    assert _flat(db, _board(db, thies), thies) == before
    assert _flat(db, _board(db, None), None) != programme_before


def test_the_overview_total_is_the_regions_portfolio(db, programme):
    """The overview adds up its table's lines: the same portfolio as the region's own figures."""
    thies = Scope(region="Thiès").cooperative_ids(db)
    lines = cooperative_lines(db, TODAY, NOV, thies, sort="-par30")
    assert {line.id for line in lines} == set(thies)
    total = empty_portfolio(TODAY)
    for line in lines:
        total.absorb(line.portfolio)
    figures = portfolio(db, TODAY, thies)
    assert {n: getattr(total, n) for n in PORTFOLIO_FIELDS} == {
        n: getattr(figures, n) for n in PORTFOLIO_FIELDS
    }
    assert [(b.loans, b.outstanding) for b in total.buckets] == [
        (b.loans, b.outstanding) for b in figures.buckets
    ]
    # The programme's table (no list of ids) holds every cooperative, those without a region too.
    assert {line.id for line in cooperative_lines(db, TODAY, NOV)} == {
        programme[k].id for k in ("kms", "tiv", "ndb", "srg")
    }


def test_grouped_loan_figures_equal_each_loans_arrears_counted(db, programme):
    """The one grouped statement counts what counting each loan's position arrears counts, per cooperative."""
    for ids in (None, [programme["kms"].id], Scope(region="Thiès").cooperative_ids(db)):
        grouped = loan_figures(db, TODAY, ids)
        expected = {cid: empty_portfolio(TODAY) for cid in grouped}
        count_arrears(expected, active_loan_arrears(db, TODAY, ids))
        assert set(grouped) == {row.cooperative_id for row in active_loan_arrears(db, TODAY, ids)}
        for cid, figures in grouped.items():
            want = expected[cid]
            for name in PORTFOLIO_FIELDS[4:11]:
                assert getattr(figures, name) == getattr(want, name), (cid, name)
            assert [(b.loans, b.outstanding) for b in figures.buckets] == [
                (b.loans, b.outstanding) for b in want.buckets
            ]
    kms = loan_figures(db, TODAY, [programme["kms"].id])[programme["kms"].id]
    # Each bucket's edges: 0 | 1, 2, 30 | 31, 60 | 61, 90 | 91, 120 days late (and the 2nd loan on time).
    assert [b.loans for b in kms.buckets] == [2, 3, 2, 2, 2]
    assert kms.active_loans == 11 and kms.borrowers == 10


def test_portfolio_report_of_a_region(db, programme):
    """`report portfolio`'s figures for a region, today and replayed, are its cooperatives' sums."""
    thies = Scope(region="Thiès").cooperative_ids(db)
    for day in (TODAY, date(2026, 11, 15)):
        region = portfolio_report(db, day, TODAY, thies).as_json()
        parts = [portfolio_report(db, day, TODAY, [cid]).as_json() for cid in thies]
        for key in (
            "month_due_to_date",
            "month_collected",
            "cash_in",
            "outstanding",
            "overdue",
            "written_off",
            "recoveries",
            "members_in_arrears",
            "loans_in_arrears",
        ):
            assert region[key] == sum(p[key] for p in parts), (day, key)


def test_a_scope_with_no_cooperative_counts_nothing(db, programme):
    """A search that matches no cooperative gives an empty overview, not the programme's."""
    assert _flat(db, _board(db, []), []) == {}


# --- the overview page -----------------------------------------------------------------------------

SECTIONS = (
    "fig-outstanding",
    "fig-par30",
    "fig-due",
    "fig-collected",
    "fig-cash",
    "fig-rate",
    "fig-on-time",
    "fig-reminders-sent",
    "fig-reminders-delivered",
    "fig-sms-cost",
    "fig-sms-budget",
    "fig-sms-held",
)
TABLES = ("series-table", "ageing-table", "production-table", "reminder-effect", "cooperatives-table")


def _figure(page: str, ident: str) -> str:
    match = re.search(rf'id="{ident}">([^<]*)<', page)
    assert match, f"section {ident} is not on the page"
    return match.group(1)


def _expected(board: Dashboard) -> dict[str, str]:
    p, c, r, s = board.portfolio, board.collection, board.reminders, board.sms
    return {
        "fig-outstanding": format_money(p.outstanding),
        "fig-par30": charts.percent(p.par30),
        "fig-due": format_money(c.due),
        "fig-collected": format_money(c.collected),
        "fig-cash": format_money(c.cash_in),
        "fig-rate": charts.percent(c.rate),
        "fig-on-time": charts.percent(c.on_time_rate),
        "fig-reminders-sent": str(r.sent),
        "fig-reminders-delivered": str(r.delivered),
        "fig-sms-cost": format_money(s.cost),
        "fig-sms-budget": format_money(s.budget) if s.budget else "sans budget",
        "fig-sms-held": str(s.held_for_budget),
    }


def _overview(client, db, email: str, url: str = "/admin/?month=2026-11", **account) -> str:
    add_user(db, email, **account)
    login(client, email)
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_regional_overview_shows_every_section_with_the_regions_figures(client, db, runtime, programme):
    """A coordinator of Thiès sees each section, each computed over Thiès's cooperatives alone."""
    page = _overview(client, db, "thies@mbolo.sn", region="Thies")
    thies = Scope(region="Thiès").cooperative_ids(db)
    board = dashboard(db, NOV, TODAY, daily_budget=runtime.config.SMS_DAILY_BUDGET, cooperative_ids=thies)
    db.commit()
    assert {ident: _figure(page, ident) for ident in SECTIONS} == _expected(board)
    for table in TABLES:
        assert f'id="{table}"' in page, f"section {table} is not on the page"
    assert 'id="scope-note"' in page and "Région Thiès" in page
    production = re.search(r'id="production-table">(.*?)</table>', page, re.S).group(1)
    mil = next(line for line in board.production if line.product == "Mil")
    assert "Mil (kg)" in production and f">{mil.quantity}<" in production
    # Nothing of Louga's or of the cooperative without a region: neither names nor products.
    for other in ("GIE Ndiambour", "GIE Sans Region", "Niébé", "Arachide"):
        assert other not in page, other
    programme_page = _overview(client, db, "coord@mbolo.sn")
    assert _figure(programme_page, "fig-outstanding") != _figure(page, "fig-outstanding")
    assert "Niébé" in programme_page and 'id="scope-note"' not in programme_page


def test_the_region_filter_scopes_every_section_too(client, db, runtime, programme):
    """A programme coordinator filtering the table on Louga reads Louga's figures in every section."""
    locked = db.scalar(select(Member).where(Member.cooperative_id == programme["kms"].id).limit(1))
    locked.locked = True  # on the needs-attention list of Thiès, not of Louga
    db.commit()
    assert 'id="attention-locked"' in _overview(client, db, "thies@mbolo.sn", region="Thies")
    page = _overview(client, db, "coord@mbolo.sn", url="/admin/?month=2026-11&region=louga")
    assert 'id="attention-locked"' not in page
    louga = [programme["ndb"].id]
    board = dashboard(db, NOV, TODAY, daily_budget=runtime.config.SMS_DAILY_BUDGET, cooperative_ids=louga)
    db.commit()
    assert {ident: _figure(page, ident) for ident in SECTIONS} == _expected(board)
    assert "Niébé (kg)" in page and "Mil (kg)" not in page and 'id="scope-note"' in page


def test_the_regional_tables_csv_holds_the_regions_cooperatives_alone(client, db, programme):
    """The table's CSV of a Thiès coordinator: KMS and TIV, adding up to the region's figures."""
    body = _overview(
        client, db, "thies@mbolo.sn", url="/admin/cooperatives.csv?month=2026-11", region="Thies"
    )
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert sorted(row["code"] for row in rows) == ["KMS", "TIV"]
    board = _board(db, Scope(region="Thiès").cooperative_ids(db))
    db.commit()
    assert sum(int(row["outstanding"]) for row in rows) == board.portfolio.outstanding
    assert sum(int(row["month_due_to_date"]) for row in rows) == board.collection.due
    assert sum(int(row["recoveries"]) for row in rows) == board.portfolio.recoveries > 0

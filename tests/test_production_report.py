"""Production reports: ISO weeks, the supersede and idempotency rules, and `report production`.

The expected figures are computed here in plain Python from what the test itself submitted
(the latest quantity per member, product and week; a week's month from its Thursday with the
standard library), never by the SQL under test.
"""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import AuditEvent, ProductionReport
from models.clock import DAKAR
from models.codes import is_valid
from models.enums import MemberStatus
from models.errors import Refused
from models.production import (
    MAX_QUANTITY,
    PeriodError,
    Week,
    comparison_period,
    current_period,
    month_period,
    parse_month,
    reportable_weeks,
    save_report,
    weeks_of_month,
)
from tests import factories
from tests.conftest import DEFAULT_NOW

# --- weeks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "key", "month"),
    [
        (date(2026, 11, 29), "2026-W48", (2026, 11)),  # Sunday ends week 48
        (date(2026, 11, 30), "2026-W49", (2026, 12)),  # Monday 30 Nov: its Thursday is 3 Dec
        (date(2026, 12, 6), "2026-W49", (2026, 12)),
        (date(2026, 10, 26), "2026-W44", (2026, 10)),  # Mon 26 Oct - Sun 1 Nov: Thursday 29 Oct
        (date(2026, 11, 1), "2026-W44", (2026, 10)),
        (date(2026, 12, 31), "2026-W53", (2026, 12)),  # 2026 has 53 ISO weeks
        (date(2027, 1, 3), "2026-W53", (2026, 12)),  # a January Sunday still in 2026's last week
        (date(2027, 1, 4), "2027-W01", (2027, 1)),
        (date(2021, 1, 1), "2020-W53", (2020, 12)),
    ],
)
def test_a_day_falls_in_its_iso_week_and_the_week_in_the_month_of_its_thursday(day, key, month):
    """Weeks run Monday to Sunday and belong to the month of their Thursday."""
    week = Week.of(day)
    assert week.key == key
    assert week.month == month
    assert week.monday <= day <= week.sunday
    assert week.monday.weekday() == 0 and week.sunday.weekday() == 6
    assert Week.parse(key) == week


def test_months_hold_the_weeks_whose_thursday_they_contain():
    """November 2026 has four weeks (2 Nov - 29 Nov), December five (30 Nov - 3 Jan)."""
    november = weeks_of_month(2026, 11)
    assert [w.number for w in november] == [45, 46, 47, 48]
    assert (november[0].monday, november[-1].sunday) == (date(2026, 11, 2), date(2026, 11, 29))
    december = weeks_of_month(2026, 12)
    assert [w.number for w in december] == [49, 50, 51, 52, 53]
    assert (december[0].monday, december[-1].sunday) == (date(2026, 11, 30), date(2027, 1, 3))
    assert next(w.key for w in weeks_of_month(2027, 1)) == "2027-W01"


def test_this_week_and_last_week_are_reportable():
    """A member reports for this week (default) or last week."""
    this, last = reportable_weeks(date(2026, 12, 1))
    assert (this.key, last.key) == ("2026-W49", "2026-W48")
    this, last = reportable_weeks(date(2027, 1, 5))
    assert (this.key, last.key) == ("2027-W01", "2026-W53")


def test_the_default_period_is_the_month_to_date_compared_with_as_many_weeks_before():
    """On Tue 1 Dec: December so far (week 49) against November's first week."""
    period = current_period(date(2026, 12, 1))
    assert period.label == "2026-12" and period.to_date
    assert [w.number for w in period.weeks] == [49]
    before = comparison_period(period)
    assert before.label == "2026-11" and [w.number for w in before.weeks] == [45]
    full = month_period(2026, 11, date(2026, 12, 1))
    assert not full.to_date and [w.number for w in full.weeks] == [45, 46, 47, 48]
    assert [w.number for w in comparison_period(full).weeks] == [40, 41, 42, 43, 44]


@pytest.mark.parametrize("text", ["2026-13", "2026/11", "novembre", "26-11", "2026-00", ""])
def test_a_malformed_month_is_refused(text):
    """Months are YYYY-MM."""
    with pytest.raises(PeriodError):
        parse_month(text)


def test_a_month_that_has_not_started_is_refused():
    """January 2027's first week starts on 4 January."""
    with pytest.raises(PeriodError):
        month_period(2027, 1, date(2027, 1, 3))
    assert [w.key for w in month_period(2027, 1, date(2027, 1, 4)).weeks] == ["2027-W01"]


# --- saving ---------------------------------------------------------------------------------------


@pytest.fixture
def grower(db):
    """A member of a cooperative with one product."""
    coop = factories.coop(db)
    member = factories.member(db, coop)
    product = factories.product(db, coop, "Arachide", "kg")
    db.commit()
    return member, product


THIS_WEEK = Week.of(DEFAULT_NOW.date())


def test_a_report_gets_a_checked_reference_and_an_audit_event(db, grower):
    """Saving writes the report, a P… reference with its check character, and one audit event."""
    member, product = grower
    saved = save_report(
        db,
        member_id=member.id,
        product_id=product.id,
        quantity=120,
        week=THIS_WEEK,
        now=DEFAULT_NOW,
        idempotency_key="s1:1",
    )
    db.commit()
    assert saved.created and saved.superseded is None
    assert saved.report.reference.startswith("P") and is_valid(saved.report.reference)
    event = db.scalars(select(AuditEvent)).one()
    assert event.action == "production.report" and event.member_id == member.id
    assert event.after == {"product": "Arachide", "unit": "kg", "quantity": 120, "week": "2026-W49"}


def test_the_same_idempotency_key_saves_once(db, grower):
    """A replayed confirmation returns the first report and writes nothing more."""
    member, product = grower
    first = save_report(
        db,
        member_id=member.id,
        product_id=product.id,
        quantity=50,
        week=THIS_WEEK,
        now=DEFAULT_NOW,
        idempotency_key="s1:1",
    )
    db.commit()
    again = save_report(
        db,
        member_id=member.id,
        product_id=product.id,
        quantity=50,
        week=THIS_WEEK,
        now=DEFAULT_NOW,
        idempotency_key="s1:1",
    )
    db.commit()
    assert not again.created and again.report.id == first.report.id
    assert db.scalar(select(func.count(ProductionReport.id))) == 1
    assert db.scalar(select(func.count(AuditEvent.id))) == 1


def test_a_second_report_for_the_same_week_supersedes_the_first(db, grower):
    """The first report is kept, marked superseded; only the second is current."""
    member, product = grower
    first = save_report(
        db,
        member_id=member.id,
        product_id=product.id,
        quantity=50,
        week=THIS_WEEK,
        now=DEFAULT_NOW,
        idempotency_key="a:1",
    )
    later = DEFAULT_NOW + timedelta(hours=2)
    second = save_report(
        db,
        member_id=member.id,
        product_id=product.id,
        quantity=80,
        week=THIS_WEEK,
        now=later,
        idempotency_key="b:1",
    )
    db.commit()
    assert second.superseded is not None and second.superseded.id == first.report.id
    rows = db.scalars(select(ProductionReport).order_by(ProductionReport.id)).all()
    assert [(r.quantity, r.superseded_at) for r in rows] == [(50, later), (80, None)]
    audit = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert audit[1].before == {"reference": first.report.reference, "quantity": 50}
    # Last week is a different week: it does not supersede this week's report.
    save_report(
        db,
        member_id=member.id,
        product_id=product.id,
        quantity=10,
        week=THIS_WEEK.previous(),
        now=later,
        idempotency_key="c:1",
    )
    db.commit()
    assert db.scalar(select(func.count()).where(ProductionReport.superseded_at.is_(None))) == 2


def test_the_database_keeps_one_current_report_per_member_product_and_week(db, grower):
    """The partial unique index refuses a second current report written around the operation."""
    member, product = grower
    for key in ("x", "y"):
        db.add(
            ProductionReport(
                member_id=member.id,
                product_id=product.id,
                quantity=1,
                iso_year=2026,
                iso_week=49,
                reported_at=DEFAULT_NOW,
                source="ussd",
                idempotency_key=key,
            )
        )
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


@pytest.mark.parametrize("quantity", [0, -3, MAX_QUANTITY + 1])
def test_quantities_outside_the_range_are_refused(db, grower, quantity):
    """Whole numbers from 1 to MAX_QUANTITY only."""
    member, product = grower
    with pytest.raises(Refused) as err:
        save_report(
            db,
            member_id=member.id,
            product_id=product.id,
            quantity=quantity,
            week=THIS_WEEK,
            now=DEFAULT_NOW,
            idempotency_key=None,
        )
    assert err.value.code == "quantity"


def test_another_cooperatives_product_and_future_weeks_are_refused(db, grower):
    """A member reports only their cooperative's products, and not for weeks still to come."""
    member, _ = grower
    other = factories.coop(db, "GIE Saloum", "SLM")
    foreign = factories.product(db, other, "Sel", "kg")
    own = factories.product(db, member.cooperative, "Mil", "kg")
    with pytest.raises(Refused, match="product"):
        save_report(
            db,
            member_id=member.id,
            product_id=foreign.id,
            quantity=5,
            week=THIS_WEEK,
            now=DEFAULT_NOW,
            idempotency_key=None,
        )
    with pytest.raises(Refused, match="week"):
        save_report(
            db,
            member_id=member.id,
            product_id=own.id,
            quantity=5,
            week=THIS_WEEK.next(),
            now=DEFAULT_NOW,
            idempotency_key=None,
        )


# --- the coordinators' report --------------------------------------------------------------------

WEEKS = [Week(2026, n) for n in range(40, 50)]  # 28 Sep - 6 Dec 2026: October, November, week 49


class Dataset:
    """Cooperatives, members and products, with the latest quantity the test submitted for each week."""

    def __init__(self, db):
        self.coops = {
            "A": factories.coop(db, "GIE Ndiambour", "NDB", commune="Louga"),
            "B": factories.coop(db, "GIE Saloum", "SLM", commune="Kaolack", region="Kaolack"),
            "C": factories.coop(db, "GIE Keur Momar", "KMS", commune="Louga"),
            "D": factories.coop(db, "GIE Sans Produit", "SPR", commune="Thies"),
        }
        spec = {
            "A": [("Arachide", "kg"), ("Mil", "kg"), ("Lait", "litre")],
            "B": [("Arachide", "sac"), ("Sel", "kg")],
            "C": [("Arachide", "kg"), ("Oeufs", "piece")],
            "D": [],
        }
        self.products = {
            k: [factories.product(db, self.coops[k], n, u) for n, u in v] for k, v in spec.items()
        }
        self.members = {}
        for key, count in (("A", 4), ("B", 3), ("C", 2), ("D", 2)):
            for i in range(1, count + 1):
                self.members[f"{key}{i}"] = factories.member(
                    db, self.coops[key], f"M{i:04d}", f"Membre {key}{i}", role="member"
                )
        self.members["A4"].status = MemberStatus.INACTIVE
        db.flush()
        self.latest: dict[tuple[str, int, Week], int] = {}
        self.reported_at: dict[str, datetime] = {}

    def submit(self, db, member_key: str, product, week: Week, quantity: int, at: datetime) -> None:
        """Save through the operation and remember what should now be current."""
        save_report(
            db,
            member_id=self.members[member_key].id,
            product_id=product.id,
            quantity=quantity,
            week=week,
            now=at,
            idempotency_key=f"test:{len(self.reported_at)}:{member_key}:{product.id}:{week.key}:{at.isoformat()}",
        )
        self.latest[(member_key, product.id, week)] = quantity
        self.reported_at[member_key] = max(at, self.reported_at.get(member_key, at))


@pytest.fixture
def dataset(db):
    """A random but reproducible history over weeks 40-49, with supersedes and a silent member."""
    data = Dataset(db)
    rng = random.Random(20261201)
    at = datetime(2026, 10, 1, 9, 0, tzinfo=DAKAR)
    reporters = ["A1", "A2", "A3", "A4", "B1", "B2", "C1", "C2"]  # B3 never reports
    for _ in range(160):
        who = rng.choice(reporters)
        week = rng.choice(WEEKS)
        # A3 stays silent from November on, C2 in October: the --missing lists differ per month.
        if (who == "A3" and week.month >= (2026, 11)) or (who == "C2" and week.month == (2026, 10)):
            continue
        product = rng.choice(data.products[who[0]])
        at = max(at + timedelta(minutes=17), datetime.combine(week.monday, datetime.min.time(), DAKAR))
        data.submit(db, who, product, week, rng.randint(1, 900), min(at, DEFAULT_NOW))
    # Explicit supersedes of the spanning week 49 and of a November week, then one more report.
    week49, week46 = Week(2026, 49), Week(2026, 46)
    arachide_a = data.products["A"][0]
    data.submit(db, "A1", arachide_a, week49, 300, DEFAULT_NOW - timedelta(hours=3))
    data.submit(db, "A1", arachide_a, week49, 325, DEFAULT_NOW - timedelta(hours=2))
    data.submit(db, "B1", data.products["B"][0], week46, 40, DEFAULT_NOW - timedelta(hours=1))
    data.submit(db, "B1", data.products["B"][0], week46, 42, DEFAULT_NOW)
    db.commit()
    assert db.scalar(select(func.count()).where(ProductionReport.superseded_at.is_not(None))) > 0
    # On SQLite every transaction takes the write lock (BEGIN IMMEDIATE): end the read before the CLI
    # runs, with a commit, which (unlike a rollback) leaves the objects loaded for the expectations.
    db.commit()
    return data


def thursday_month(week: Week) -> tuple[int, int]:
    """The month a week is counted in, from the standard library's ISO calendar."""
    thursday = date.fromisocalendar(week.year, week.number, 4)
    return thursday.year, thursday.month


def expected_totals(data: Dataset, weeks: set[Week], *, by: str = "product", coop: str | None = None) -> dict:
    """{(group…, product, unit): (quantity, reporting members)} over the latest submissions."""
    products = {p.id: p for ps in data.products.values() for p in ps}
    sums: dict[tuple, int] = defaultdict(int)
    people: dict[tuple, set] = defaultdict(set)
    for (who, product_id, week), quantity in data.latest.items():
        if week not in weeks or (coop and who[0] != coop):
            continue
        product = products[product_id]
        member = data.members[who]
        group = {
            "product": (),
            "member": (data.coops[who[0]].name, member.member_no, member.name),
            "commune": (data.coops[who[0]].commune,),
        }[by]
        key = (*group, product.name, product.unit)
        sums[key] += quantity
        people[key].add(who)
    return {k: (v, len(people[k])) for k, v in sums.items()}


def month_weeks(year: int, month: int, today: date | None = None) -> set[Week]:
    """The weeks of WEEKS counted in a month (begun by `today` when given)."""
    return {w for w in WEEKS if thursday_month(w) == (year, month) and (today is None or w.monday <= today)}


def read_csv(output: str) -> list[dict]:
    """Rows of a CSV printed on stdout."""
    return list(csv.DictReader(io.StringIO(output)))


def csv_totals(rows: list[dict], group: tuple[str, ...] = ()) -> dict:
    """{(group…, product, unit): (quantity, members)} from the command's CSV."""
    return {
        (*(r[g] for g in group), r["product"], r["unit"]): (int(r["quantity"]), int(r["reporting_members"]))
        for r in rows
        if int(r["quantity"])
    }


def csv_previous(rows: list[dict], group: tuple[str, ...] = ()) -> dict:
    """{(group…, product, unit): previous quantity} from the command's CSV."""
    return {
        (*(r[g] for g in group), r["product"], r["unit"]): int(r["previous_quantity"])
        for r in rows
        if int(r["previous_quantity"])
    }


def run(runner, *args: str):
    """`flask report production …`; the exit code must be 0."""
    result = runner.invoke(args=["report", "production", *args])
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize(("month", "previous"), [((2026, 11), (2026, 10)), ((2026, 10), (2026, 9))])
def test_monthly_totals_per_product_match_the_submissions(runner, dataset, month, previous):
    """Totals per product and unit, reporting members and the previous month's figures, all cooperatives."""
    rows = read_csv(run(runner, "--month", f"{month[0]}-{month[1]:02d}", "--csv").stdout)
    expected_now = expected_totals(dataset, month_weeks(*month))
    assert expected_now and csv_totals(rows) == expected_now
    # Arachide in kg (two cooperatives) and in sacs stay apart.
    assert ("Arachide", "kg") in expected_now and ("Arachide", "sac") in expected_now
    expected_before = {k: q for k, (q, _) in expected_totals(dataset, month_weeks(*previous)).items()}
    assert csv_previous(rows) == expected_before
    for r in rows:
        assert int(r["change"]) == int(r["quantity"]) - int(r["previous_quantity"])
        assert r["period"] == f"{month[0]}-{month[1]:02d}"


def test_the_week_spanning_two_months_counts_in_the_month_of_its_thursday(runner, dataset):
    """Week 49 (30 Nov - 6 Dec) is December's: absent from November, the whole of December to date."""
    assert any(week.number == 49 for (_, _, week) in dataset.latest)
    november = read_csv(run(runner, "--month", "2026-11", "--csv").stdout)
    assert csv_totals(november) == expected_totals(dataset, month_weeks(2026, 11))
    december = read_csv(run(runner, "--csv").stdout)  # default: December 2026 to date
    week49 = expected_totals(dataset, {Week(2026, 49)})
    assert csv_totals(december) == week49
    # Compared with as many weeks at the start of November: week 45 only.
    assert csv_previous(december) == {
        k: q for k, (q, _) in expected_totals(dataset, {Week(2026, 45)}).items()
    }
    # The superseded 300 kg is not counted; the 325 kg that replaced it is.
    a1 = dataset.latest[("A1", dataset.products["A"][0].id, Week(2026, 49))]
    assert a1 == 325


@pytest.mark.parametrize("coop", ["A", "B", "C"])
def test_one_cooperatives_totals(runner, dataset, coop):
    """`--coop` keeps one cooperative's members only (by name or by code)."""
    name = dataset.coops[coop].name
    rows = read_csv(run(runner, "--coop", name, "--month", "2026-11", "--csv").stdout)
    assert csv_totals(rows) == expected_totals(dataset, month_weeks(2026, 11), coop=coop)
    by_code = read_csv(
        run(runner, "--coop", dataset.coops[coop].code.lower(), "--month", "2026-11", "--csv").stdout
    )
    assert by_code == rows


@pytest.mark.parametrize("month", [(2026, 10), (2026, 11)])
def test_totals_by_member(runner, dataset, month):
    """`--by member`: one line per member and product, one reporting member each."""
    rows = read_csv(run(runner, "--by", "member", "--month", f"{month[0]}-{month[1]:02d}", "--csv").stdout)
    group = ("cooperative", "member_no", "member")
    expected = expected_totals(dataset, month_weeks(*month), by="member")
    assert csv_totals(rows, group) == expected
    assert all(members == 1 for _, members in expected.values())


def test_totals_by_commune(runner, dataset):
    """`--by commune`: two cooperatives of Louga are added together."""
    rows = read_csv(run(runner, "--by", "commune", "--month", "2026-11", "--csv").stdout)
    expected = expected_totals(dataset, month_weeks(2026, 11), by="commune")
    assert csv_totals(rows, ("commune",)) == expected
    louga = expected[("Louga", "Arachide", "kg")]
    parts = [
        expected_totals(dataset, month_weeks(2026, 11), coop=c).get(("Arachide", "kg"), (0, 0))[0]
        for c in "AC"
    ]
    assert louga[0] == sum(parts)


def test_a_month_to_date_earlier_in_the_month(runner, dataset, clock):
    """On 18 November, November so far is weeks 45-47, compared with October's weeks 40-42."""
    clock.set(datetime(2026, 11, 18, 12, 0))
    rows = read_csv(run(runner, "--csv").stdout)
    assert csv_totals(rows) == expected_totals(dataset, month_weeks(2026, 11, date(2026, 11, 18)))
    october_start = {Week(2026, n) for n in (40, 41, 42)}
    assert csv_previous(rows) == {k: q for k, (q, _) in expected_totals(dataset, october_start).items()}


def test_the_terminal_table_is_aligned_and_counts_reporting_members(runner, dataset):
    """Numbers are right-aligned under their headers; the footer counts reporting and active members."""
    out = run(runner, "--month", "2026-11").stdout
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("product"))
    table = lines[header : lines.index("", header)]
    end = len(table[0].split("quantity")[0]) + len("quantity")
    for line in table[2:]:
        assert line[end - 1] != " " and (len(line) == end or line[end] == " ")
    assert "2026-11 (02/11/2026-29/11/2026, weeks 45-48)" in out
    reporters = {who for (who, _, week) in dataset.latest if thursday_month(week) == (2026, 11)}
    active = sum(1 for m in dataset.members.values() if m.status == MemberStatus.ACTIVE)
    assert f"Reporting members: {len(reporters)} of {active} active" in out


@pytest.mark.parametrize(("month", "silent"), [("2026-11", {"A3", "B3"}), ("2026-10", {"C2", "B3"})])
def test_missing_lists_active_members_who_did_not_report(runner, dataset, month, silent):
    """`--missing`: active members without a current report in the month; inactive ones and
    cooperatives without products are left out."""
    weeks = month_weeks(*parse_month(month))
    reported = {who for (who, _, week) in dataset.latest if week in weeks}
    expected = {
        (dataset.coops[k[0]].name, dataset.members[k].member_no)
        for k in dataset.members
        if k not in reported and k[0] != "D" and dataset.members[k].status == MemberStatus.ACTIVE
    }
    assert silent <= {k for k in dataset.members if k not in reported}
    result = run(runner, "--missing", "--month", month, "--csv")
    rows = read_csv(result.stdout)
    assert {(r["cooperative"], r["member_no"]) for r in rows} == expected
    assert "GIE Sans Produit" in result.stderr
    table = run(runner, "--missing", "--coop", "GIE Ndiambour", "--month", month).stdout
    assert ("Membre A3" in table) == ("A3" not in reported)
    assert "Membre B" not in table


def test_unknown_cooperative_and_bad_month_are_clear_errors(runner, dataset):
    """A wrong --coop names the known cooperatives; a wrong --month shows the expected form."""
    result = runner.invoke(args=["report", "production", "--coop", "GIE Inconnue"])
    assert result.exit_code != 0
    assert "no cooperative named 'GIE Inconnue'" in result.output and "GIE Saloum" in result.output
    result = runner.invoke(args=["report", "production", "--month", "2026-13"])
    assert result.exit_code != 0 and "expected YYYY-MM" in result.output
    result = runner.invoke(args=["report", "production", "--month", "2027-02"])
    assert result.exit_code != 0 and "has not started" in result.output


def test_an_empty_database_reports_nothing_without_failing(runner, db):
    """No reports yet: a clear line, not a stack trace."""
    factories.coop(db)
    db.commit()
    out = run(runner).stdout
    assert "No production reported" in out

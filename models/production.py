"""Production reports: ISO weeks in Africa/Dakar, saving a report, and the coordinators' figures.

Over 400 lines: the week arithmetic, saving a report and the figures share one vocabulary; the
figures move out when the portfolio figures are split by subject.

A week runs Monday to Sunday on the Dakar calendar and belongs to the month of its Thursday, so a
week is counted in exactly one month (ISO 8601's own rule for the year). A second report for the
same member, product and week supersedes the first: the first is kept with `superseded_at` set,
and every figure reads current (non-superseded) reports only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from i18n.accents import strip_accents
from models import audit, codes
from models.activity import ProductionReport
from models.clock import DAKAR
from models.cooperative import Cooperative, Member, Product
from models.database import is_postgres, plain_rows
from models.enums import MemberStatus, Source
from models.errors import NotFound, Refused

REFERENCE_PREFIX = "P"
# One member's production of one product in one week. 100 000 is beyond any member of a
# solidarity cooperative (100 t of groundnuts, 100 000 litres of milk in a week) yet leaves
# room for the largest counts in pieces (eggs, seedlings); anything above is a typing slip.
MAX_QUANTITY = 100_000


# --- weeks and periods -------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Week:
    """An ISO week (Monday–Sunday)."""

    year: int
    number: int

    @classmethod
    def of(cls, day: date) -> Week:
        """The ISO week holding `day`."""
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def parse(cls, key: str) -> Week:
        """A week from its key `2026-W49`; ValueError if it is not a real ISO week."""
        year, _, number = key.partition("-W")
        week = cls(int(year), int(number))
        week.monday  # noqa: B018 — date.fromisocalendar validates the week number
        return week

    @property
    def key(self) -> str:
        """`2026-W49`: stable, sortable, used in session context and CSV."""
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        """First day of the week."""
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        """Last day of the week."""
        return self.monday + timedelta(days=6)

    @property
    def thursday(self) -> date:
        """The day that decides the week's year and month."""
        return self.monday + timedelta(days=3)

    @property
    def month(self) -> tuple[int, int]:
        """(year, month) the week belongs to: the month of its Thursday."""
        return self.thursday.year, self.thursday.month

    def previous(self) -> Week:
        """The week before."""
        return Week.of(self.monday - timedelta(days=7))

    def next(self) -> Week:
        """The week after."""
        return Week.of(self.monday + timedelta(days=7))


def local_today(now: datetime, tz: ZoneInfo = DAKAR) -> date:
    """The calendar day of `now` where the members live."""
    return now.astimezone(tz).date()


def reportable_weeks(today: date) -> tuple[Week, Week]:
    """The weeks a member may report for: this week (the default) and last week."""
    this = Week.of(today)
    return this, this.previous()


def weeks_of_month(year: int, month: int) -> tuple[Week, ...]:
    """The weeks whose Thursday falls in the month (four or five)."""
    first = date(year, month, 1)
    thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    weeks = []
    while thursday.month == month:
        weeks.append(Week.of(thursday))
        thursday += timedelta(days=7)
    return tuple(weeks)


def previous_month(year: int, month: int) -> tuple[int, int]:
    """(year, month) of the month before."""
    return (year - 1, 12) if month == 1 else (year, month - 1)


@dataclass(frozen=True)
class Period:
    """A month of weeks, possibly cut at today (`to_date`)."""

    year: int
    month: int
    weeks: tuple[Week, ...]
    to_date: bool = False

    @property
    def label(self) -> str:
        """`2026-11`."""
        return f"{self.year}-{self.month:02d}"

    @property
    def first_day(self) -> date | None:
        """Monday of the first week (None for a period with no week yet)."""
        return self.weeks[0].monday if self.weeks else None

    @property
    def last_day(self) -> date | None:
        """Sunday of the last week."""
        return self.weeks[-1].sunday if self.weeks else None


class PeriodError(ValueError):
    """A month that is malformed or has not started."""


def parse_month(text: str) -> tuple[int, int]:
    """`YYYY-MM` → (year, month); PeriodError otherwise."""
    try:
        year_text, month_text = text.strip().split("-")
        if len(year_text) != 4 or not 1 <= len(month_text) <= 2:
            raise ValueError
        year, month = int(year_text), int(month_text)
        date(year, month, 1)
    except ValueError:
        raise PeriodError(f"bad month {text!r}: expected YYYY-MM, e.g. 2026-11") from None
    return year, month


def month_period(year: int, month: int, today: date) -> Period:
    """The month's weeks that have begun by `today`; `to_date` when some week of it is not over."""
    weeks = weeks_of_month(year, month)
    if weeks[0].monday > today:
        raise PeriodError(f"month {year}-{month:02d} has not started yet (today is {today.isoformat()})")
    begun = tuple(w for w in weeks if w.monday <= today)
    return Period(year, month, begun, to_date=weeks[-1].sunday >= today)


def comparison_period(period: Period) -> Period:
    """What a period is compared with: the previous month; for a month to date, its first as many weeks.

    Comparing three weeks of this month with five of last month would show a fall that is only
    the calendar; the same number of weeks at the start of the previous month is a fair match.
    """
    year, month = previous_month(period.year, period.month)
    weeks = weeks_of_month(year, month)
    if period.to_date:
        weeks = weeks[: len(period.weeks)]
    return Period(year, month, weeks, to_date=period.to_date)


def current_period(today: date) -> Period:
    """The default period of the reports: the current calendar month to date."""
    return month_period(today.year, today.month, today)


def _in_weeks(weeks: Iterable[Week]):
    """SQL condition: the report's (iso_year, iso_week) is one of `weeks`."""
    by_year: dict[int, list[int]] = {}
    for week in weeks:
        by_year.setdefault(week.year, []).append(week.number)
    if not by_year:
        return ProductionReport.id.is_(None)  # an empty period matches nothing
    return or_(
        *(
            and_(ProductionReport.iso_year == year, ProductionReport.iso_week.in_(numbers))
            for year, numbers in by_year.items()
        )
    )


# --- saving a report ---------------------------------------------------------------------------


def sort_key(name: str) -> str:
    """Alphabetical order as a reader expects it (Pâte before Poudre), the same on every database."""
    return strip_accents(name).casefold()


# The statements of the USSD production screens, built once (compiled once, prepared by the
# driver) and run on the session's connection: plain columns, no entities (see plain_rows).
_PRODUCTS = select(Product.id, Product.name, Product.unit).where(
    Product.cooperative_id == bindparam("cooperative_id", type_=Integer)
)


# A member's current report of a product for a week, reached by member whatever the statistics say:
# the week is compared as one expression (year * 100 + week) that no index matches, so the planner
# cannot take the index by week (every report of that week) for the lookup of one member's report.
# With the statistics of a table freshly created or still small, it did, and the lookup read the
# whole week.
def _member_week(product_id) -> list:
    year_week = ProductionReport.iso_year * 100 + ProductionReport.iso_week
    return [
        ProductionReport.member_id == bindparam("member_id", type_=Integer),
        ProductionReport.product_id == product_id,
        year_week == bindparam("year_week", type_=Integer),
        ProductionReport.superseded_at.is_(None),
    ]


_CURRENT = (
    select(ProductionReport.quantity).where(*_member_week(Product.id)).correlate(Product).scalar_subquery()
)
_PRODUCT = select(Product.name, Product.unit).where(
    Product.id == bindparam("product_id", type_=Integer),
    Product.cooperative_id == bindparam("cooperative_id", type_=Integer),
)
# The product about to be confirmed and what the member already reported of it that week.
_PRODUCT_AND_CURRENT = _PRODUCT.add_columns(_CURRENT)
# The member (their row locked for the transaction on PostgreSQL) and the product, when it is one
# of the member's cooperative: one statement for what saving a report must lock and read.
_REPORTER = (
    select(Member.id, Member.cooperative_id, Member.name, Member.phone, Product.name, Product.unit)
    .outerjoin(
        Product,
        and_(
            Product.id == bindparam("product_id", type_=Integer),
            Product.cooperative_id == Member.cooperative_id,
        ),
    )
    .where(Member.id == bindparam("member_id", type_=Integer))
)
# On PostgreSQL the same statement also takes the new report's id from its sequence, so the
# report is inserted with its reference (derived from the id) instead of updated to carry it: one
# statement and one row version fewer. An id taken for a save that turns out a replay is skipped.
_REPORTER_LOCKED = _REPORTER.add_columns(
    func.nextval(f"{ProductionReport.__tablename__}_id_seq", type_=Integer)
).with_for_update(of=Member)
# The report a key already saved, and the member's current report of the product and week.
_SAVED_OR_CURRENT = select(
    ProductionReport.id,
    ProductionReport.reference,
    ProductionReport.quantity,
    ProductionReport.idempotency_key,
).where(
    or_(
        ProductionReport.idempotency_key == bindparam("key", type_=String),
        and_(*_member_week(bindparam("product_id", type_=Integer))),
    )
)
_INSERT = insert(ProductionReport)
_INSERT_RETURNING_ID = insert(ProductionReport).returning(ProductionReport.id)
_SET_REFERENCE = (
    update(ProductionReport)
    .where(ProductionReport.id == bindparam("report_id", type_=Integer))
    .values(reference=bindparam("reference", type_=String))
)
_SUPERSEDE = (
    update(ProductionReport)
    .where(ProductionReport.id == bindparam("report_id", type_=Integer))
    .values(superseded_at=bindparam("at", type_=ProductionReport.superseded_at.type))
)


@dataclass(frozen=True)
class ProductLine:
    """A product as the USSD screens show it."""

    id: int
    name: str
    unit: str


def products_of(session: Session, cooperative_id: int) -> list[ProductLine]:
    """The cooperative's products in alphabetical order (the USSD list order).

    Sorted here rather than by SQL ORDER BY, whose collation differs between SQLite and PostgreSQL.
    """
    rows = plain_rows(session, _PRODUCTS, {"cooperative_id": cooperative_id})
    return sorted((ProductLine(*row) for row in rows), key=lambda p: (sort_key(p.name), p.id))


def product_line(session: Session, *, cooperative_id: int, product_id: int) -> ProductLine | None:
    """One product of the cooperative (None when it is not one of theirs)."""
    rows = plain_rows(session, _PRODUCT, {"product_id": product_id, "cooperative_id": cooperative_id})
    return ProductLine(product_id, *rows[0]) if rows else None


def product_and_current(
    session: Session, *, member_id: int, cooperative_id: int, product_id: int, week: Week
) -> tuple[ProductLine | None, int | None]:
    """The product (None when not the cooperative's) and the member's current quantity of it that week."""
    rows = plain_rows(
        session,
        _PRODUCT_AND_CURRENT,
        {
            "product_id": product_id,
            "cooperative_id": cooperative_id,
            "member_id": member_id,
            "year_week": week.year * 100 + week.number,
        },
    )
    if not rows:
        return None, None
    name, unit, current = rows[0]
    return ProductLine(product_id, name, unit), current


@dataclass(frozen=True)
class Reporter:
    """A member saving a report and the product, as read (and locked) by `save_report`."""

    member_id: int
    cooperative_id: int
    name: str
    phone: str | None
    product: ProductLine


@dataclass(frozen=True)
class SavedRow:
    """A production report as saving one needs it."""

    id: int
    reference: str | None
    quantity: int


@dataclass(frozen=True)
class SavedReport:
    """The outcome of a save: the report, whether this call created it, what it superseded, who saved it."""

    report: SavedRow
    created: bool
    reporter: Reporter
    superseded: SavedRow | None = None


def check_quantity(quantity: int) -> None:
    """Refuse a quantity outside 1..MAX_QUANTITY."""
    if not 1 <= quantity <= MAX_QUANTITY:
        raise Refused("quantity", quantity=quantity, maximum=MAX_QUANTITY)


def _reporter(session: Session, member_id: int, product_id: int) -> tuple[Reporter, int | None]:
    """Lock the member's row and read the product of their cooperative, in one statement.

    Also the id the new report will have, on PostgreSQL (None on SQLite: the insert returns it).
    """
    statement = _REPORTER_LOCKED if is_postgres(session) else _REPORTER
    rows = plain_rows(session, statement, {"member_id": member_id, "product_id": product_id})
    if not rows:
        raise NotFound(f"no member {member_id}")
    member_id, cooperative_id, name, phone, product_name, unit, *next_id = rows[0]
    if product_name is None:
        raise Refused("product", product=product_id)
    product = ProductLine(product_id, product_name, unit)
    return Reporter(member_id, cooperative_id, name, phone, product), next(iter(next_id), None)


def save_report(
    session: Session,
    *,
    member_id: int,
    product_id: int,
    quantity: int,
    week: Week,
    now: datetime,
    idempotency_key: str | None,
    source: str = Source.USSD,
    tz: ZoneInfo = DAKAR,
) -> SavedReport:
    """Record a member's quantity for a week, superseding their earlier report; idempotent by key.

    The same `idempotency_key` again returns the report it saved, changing nothing. The member's
    row is locked first (PostgreSQL; SQLite transactions are serialised already) so two reports
    racing for the same week supersede one another in order instead of both staying current.
    Refused("product") when the product is not of the member's cooperative.
    """
    check_quantity(quantity)
    if week.monday > local_today(now, tz):
        raise Refused("week", week=week.key)
    reporter, report_id = _reporter(session, member_id, product_id)
    found = plain_rows(
        session,
        _SAVED_OR_CURRENT,
        {
            "key": idempotency_key,
            "member_id": member_id,
            "product_id": product_id,
            "year_week": week.year * 100 + week.number,
        },
    )
    earlier = None
    for found_id, found_reference, found_quantity, key in found:
        if idempotency_key is not None and key == idempotency_key:
            done = SavedRow(found_id, found_reference, found_quantity)
            return SavedReport(done, created=False, reporter=reporter)
        earlier = SavedRow(found_id, found_reference, found_quantity)
    connection = session.connection()
    if earlier is not None:
        # The partial unique index allows one current report per week: retire the old one first.
        connection.execute(_SUPERSEDE, {"report_id": earlier.id, "at": now})
    row = {
        "member_id": member_id,
        "product_id": product_id,
        "quantity": quantity,
        "iso_year": week.year,
        "iso_week": week.number,
        "reported_at": now,
        "source": str(source),
        "idempotency_key": idempotency_key,
    }
    if report_id is not None:
        reference = codes.encode(REFERENCE_PREFIX, report_id)
        connection.execute(_INSERT, {**row, "id": report_id, "reference": reference})
    else:
        report_id = connection.execute(_INSERT_RETURNING_ID, row).scalar_one()
        reference = codes.encode(REFERENCE_PREFIX, report_id)
        connection.execute(_SET_REFERENCE, {"report_id": report_id, "reference": reference})
    audit.write(
        session,
        actor=audit.member_actor(member_id),
        action="production.report",
        target=f"production:{reference}",
        source=str(source),
        at=now,
        member_id=member_id,
        before={"reference": earlier.reference, "quantity": earlier.quantity} if earlier else None,
        after={
            "product": reporter.product.name,
            "unit": reporter.product.unit,
            "quantity": quantity,
            "week": week.key,
        },
    )
    report = SavedRow(report_id, reference, quantity)
    return SavedReport(report, created=True, reporter=reporter, superseded=earlier)


# --- figures for coordinators ------------------------------------------------------------------


class Grouping(StrEnum):
    """How the totals are broken down (always per product and unit as well)."""

    PRODUCT = "product"
    MEMBER = "member"
    COMMUNE = "commune"


@dataclass
class TotalRow:
    """One line of the report: a group, a product and unit, this period and the one before."""

    group: tuple[str, ...]
    product: str
    unit: str
    quantity: int = 0
    reporters: int = 0
    previous: int = 0
    previous_reporters: int = 0

    @property
    def change(self) -> int:
        """Quantity difference against the previous period."""
        return self.quantity - self.previous

    @property
    def change_percent(self) -> float | None:
        """Relative change in percent; None when there is nothing to compare with."""
        if not self.previous:
            return None
        return 100.0 * (self.quantity - self.previous) / self.previous


@dataclass
class ProductionSummary:
    """Totals over a period, with the comparison period and the reporting members."""

    period: Period
    compared_with: Period
    grouping: Grouping
    group_columns: tuple[str, ...]
    rows: list[TotalRow] = field(default_factory=list)
    reporters: int = 0
    previous_reporters: int = 0
    active_members: int = 0


GROUP_COLUMNS = {
    Grouping.PRODUCT: (),
    Grouping.MEMBER: ("cooperative", "member_no", "member"),
    Grouping.COMMUNE: ("commune",),
}


def find_cooperative(session: Session, name: str) -> Cooperative:
    """The cooperative named `name` (exact, else case-insensitive, else by code); NotFound otherwise."""
    coop = session.scalar(select(Cooperative).where(Cooperative.name == name))
    if coop is None:
        coop = session.scalar(
            select(Cooperative).where(
                or_(
                    func.lower(Cooperative.name) == name.strip().lower(),
                    func.upper(Cooperative.code) == name.strip().upper(),
                )
            )
        )
    if coop is None:
        raise NotFound(f"no cooperative named {name!r}")
    return coop


def _group_exprs(grouping: Grouping) -> list:
    if grouping is Grouping.MEMBER:
        return [Cooperative.name, Member.member_no, Member.name]
    if grouping is Grouping.COMMUNE:
        return [func.coalesce(Cooperative.commune, "")]
    return []


def _totals(
    session: Session, weeks: Sequence[Week], grouping: Grouping, cooperative_ids: list[int] | None
) -> dict[tuple, tuple[int, int]]:
    """(group…, product, unit) → (quantity, distinct reporting members), current reports only."""
    groups = _group_exprs(grouping)
    stmt = (
        select(
            *groups,
            Product.name,
            Product.unit,
            func.sum(ProductionReport.quantity),
            func.count(func.distinct(ProductionReport.member_id)),
        )
        .join(Product, Product.id == ProductionReport.product_id)
        .join(Member, Member.id == ProductionReport.member_id)
        .join(Cooperative, Cooperative.id == Member.cooperative_id)
        .where(ProductionReport.superseded_at.is_(None), _in_weeks(weeks))
        .group_by(*groups, Product.name, Product.unit)
    )
    if cooperative_ids is not None:
        stmt = stmt.where(Member.cooperative_id.in_(cooperative_ids))
    return {tuple(row[:-2]): (int(row[-2]), int(row[-1])) for row in session.execute(stmt)}


def product_totals(
    session: Session, weeks: Sequence[Week], cooperative_ids: Iterable[int] | None = None
) -> dict[tuple[str, str], int]:
    """(product, unit) → quantity of the current reports of these weeks, of these cooperatives (None: all)."""
    ids = None if cooperative_ids is None else list(cooperative_ids)
    return {key: quantity for key, (quantity, _) in _totals(session, weeks, Grouping.PRODUCT, ids).items()}


def _reporters(session: Session, weeks: Sequence[Week], cooperative_ids: list[int] | None) -> int:
    stmt = (
        select(func.count(func.distinct(ProductionReport.member_id)))
        .join(Member, Member.id == ProductionReport.member_id)
        .where(ProductionReport.superseded_at.is_(None), _in_weeks(weeks))
    )
    if cooperative_ids is not None:
        stmt = stmt.where(Member.cooperative_id.in_(cooperative_ids))
    return int(session.scalar(stmt) or 0)


def summarise(
    session: Session,
    period: Period,
    *,
    grouping: Grouping = Grouping.PRODUCT,
    cooperative: Cooperative | None = None,
) -> ProductionSummary:
    """Totals per product and unit (and per member or commune) over current reports, with the change."""
    compared = comparison_period(period)
    coop_id = cooperative.id if cooperative is not None else None
    ids = [coop_id] if coop_id is not None else None
    now_totals = _totals(session, period.weeks, grouping, ids)
    before_totals = _totals(session, compared.weeks, grouping, ids)
    width = len(GROUP_COLUMNS[grouping])
    rows = []
    for key in sorted(set(now_totals) | set(before_totals), key=lambda k: tuple(str(v).lower() for v in k)):
        quantity, reporters = now_totals.get(key, (0, 0))
        previous, previous_reporters = before_totals.get(key, (0, 0))
        rows.append(
            TotalRow(
                group=tuple(str(v) for v in key[:width]),
                product=key[width],
                unit=key[width + 1],
                quantity=quantity,
                reporters=reporters,
                previous=previous,
                previous_reporters=previous_reporters,
            )
        )
    active = select(func.count(Member.id)).where(Member.status == MemberStatus.ACTIVE)
    if coop_id is not None:
        active = active.where(Member.cooperative_id == coop_id)
    return ProductionSummary(
        period=period,
        compared_with=compared,
        grouping=grouping,
        group_columns=GROUP_COLUMNS[grouping],
        rows=rows,
        reporters=_reporters(session, period.weeks, ids),
        previous_reporters=_reporters(session, compared.weeks, ids),
        active_members=int(session.scalar(active) or 0),
    )


@dataclass(frozen=True)
class MissingMember:
    """An active member with no current report in the period, for a coordinator to call."""

    cooperative: str
    member_no: str
    name: str
    phone: str | None
    last_reported_at: datetime | None


def missing_members(
    session: Session, period: Period, *, cooperative: Cooperative | None = None
) -> list[MissingMember]:
    """Active members of cooperatives that have products who reported nothing in the period.

    Members of a cooperative without products cannot report at all; they are left out here and
    `cooperatives_without_products` names their cooperatives instead.
    """
    reported = exists().where(
        ProductionReport.member_id == Member.id,
        ProductionReport.superseded_at.is_(None),
        _in_weeks(period.weeks),
    )
    has_products = exists().where(Product.cooperative_id == Member.cooperative_id)
    last = (
        select(func.max(ProductionReport.reported_at))
        .where(ProductionReport.member_id == Member.id)
        .correlate(Member)
        .scalar_subquery()
    )
    stmt = (
        select(Cooperative.name, Member.member_no, Member.name, Member.phone, last)
        .join(Cooperative, Cooperative.id == Member.cooperative_id)
        .where(Member.status == MemberStatus.ACTIVE, has_products, ~reported)
        .order_by(Cooperative.name, Member.member_key, Member.id)
    )
    if cooperative is not None:
        stmt = stmt.where(Member.cooperative_id == cooperative.id)
    return [MissingMember(*row) for row in session.execute(stmt)]


def cooperatives_without_products(session: Session, *, cooperative: Cooperative | None = None) -> list[str]:
    """Names of the cooperatives (all, or the one given) that have no product to report on."""
    stmt = (
        select(Cooperative.name)
        .where(~exists().where(Product.cooperative_id == Cooperative.id))
        .order_by(Cooperative.name)
    )
    if cooperative is not None:
        stmt = stmt.where(Cooperative.id == cooperative.id)
    return list(session.scalars(stmt))

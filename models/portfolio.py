"""The coordinators' figures: portfolio, arrears, collections, production, reminders and SMS cost.

No Flask here. Every amount a member could also read on USSD or in an SMS comes from
`models.position` (one ledger, one position function): outstanding, days late and the per-loan
arrears behind PAR30, the ageing buckets and the overdue list (`active_loan_arrears`, the grouped
form of `loan_arrears`, tested equal to it member by member).

The portfolio (outstanding, PAR30, ageing, the overdue list) is always today's: instalments keep
their present `amount_paid`, not their history, so a past month cannot be re-read from them. The
chosen month selects the flows: what fell due and what of it was collected, cash received,
production, reminders and SMS cost.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models import production
from models.activity import ProductionReport
from models.clock import DAKAR
from models.cooperative import Cooperative, Member, Product
from models.enums import LoanStatus, MemberStatus, SmsKind, SmsStatus
from models.ledger_tables import Instalment, Loan, Repayment, RepaymentLine, SavingsEntry
from models.messaging import InboundSms, OutboundSms
from models.position import LoanArrears, Position, active_loan_arrears, member_position

# Ageing buckets by days late of each active loan: (key, label, lowest, highest).
BUCKETS = (
    ("on_time", "À jour", 0, 0),
    ("1_30", "1–30 j", 1, 30),
    ("31_60", "31–60 j", 31, 60),
    ("61_90", "61–90 j", 61, 90),
    ("over_90", "> 90 j", 91, None),
)
PAR_DAYS = 30
# Statuses whose SMS left for the gateway and are billed ("unknown" may have gone: counted, to be safe).
BILLED = (SmsStatus.SENT, SmsStatus.DELIVERED, SmsStatus.UNKNOWN)


# --- months ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Month:
    """A calendar month."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """`YYYY-MM` → Month; ValueError otherwise."""
        try:
            year, month = production.parse_month(text)
        except production.PeriodError as exc:
            raise ValueError(str(exc)) from None
        return cls(year, month)

    @classmethod
    def of(cls, day: date) -> Month:
        """The month holding `day`."""
        return cls(day.year, day.month)

    @property
    def key(self) -> str:
        """`2026-11`."""
        return f"{self.year}-{self.month:02d}"

    @property
    def first(self) -> date:
        """First day."""
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        """Last day."""
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def days(self) -> int:
        """Number of days."""
        return self.last.day

    def shift(self, months: int) -> Month:
        """The month `months` later (negative: earlier)."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def utc_bounds(self, tz: ZoneInfo = DAKAR) -> tuple[datetime, datetime]:
        """[start, end) of the month on the local calendar, as UTC instants."""
        start = datetime.combine(self.first, time(0), tzinfo=tz)
        end = datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=tz)
        return start.astimezone(UTC), end.astimezone(UTC)


def ratio(part: int, whole: int) -> float | None:
    """part ÷ whole, None when there is no whole to divide by."""
    return part / whole if whole else None


def _members_of(cooperative_id: int | None) -> Select:
    stmt = select(Member.id)
    if cooperative_id is not None:
        stmt = stmt.where(Member.cooperative_id == cooperative_id)
    return stmt


# --- the portfolio today ---------------------------------------------------------------------


@dataclass
class Bucket:
    """One ageing bucket: active loans whose days late fall in [low, high]."""

    key: str
    label: str
    low: int
    high: int | None
    loans: int = 0
    outstanding: int = 0

    def holds(self, days_late: int) -> bool:
        """True when a loan this many days late belongs here."""
        return days_late >= self.low and (self.high is None or days_late <= self.high)


@dataclass
class Portfolio:
    """Members, active loans, outstanding, PAR30 and ageing, as of `today`."""

    today: date
    members: int = 0
    members_inactive: int = 0
    active_loans: int = 0
    borrowers: int = 0
    outstanding: int = 0
    overdue: int = 0
    par30_outstanding: int = 0
    written_off_outstanding: int = 0
    savings: int = 0
    buckets: list[Bucket] = field(default_factory=list)

    @property
    def par30(self) -> float | None:
        """Outstanding of active loans more than 30 days late ÷ outstanding of all active loans."""
        return ratio(self.par30_outstanding, self.outstanding)

    def count_loan(self, loan: LoanArrears) -> None:
        """Count one active loan's arrears in: outstanding, overdue, PAR30 and its ageing bucket."""
        self.outstanding += loan.outstanding
        self.overdue += loan.overdue
        if loan.days_late > PAR_DAYS:
            self.par30_outstanding += loan.outstanding
        bucket = next(b for b in self.buckets if b.holds(loan.days_late))
        bucket.loans += 1
        bucket.outstanding += loan.outstanding

    def absorb(self, other: Portfolio) -> None:
        """Add another portfolio's figures to this one (the overall total of the cooperatives)."""
        for name in (
            "members",
            "members_inactive",
            "active_loans",
            "borrowers",
            "outstanding",
            "overdue",
            "par30_outstanding",
            "written_off_outstanding",
            "savings",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for mine, theirs in zip(self.buckets, other.buckets, strict=True):
            mine.loans += theirs.loans
            mine.outstanding += theirs.outstanding


def empty_portfolio(today: date) -> Portfolio:
    """A portfolio with nothing in it yet, its buckets laid out."""
    return Portfolio(today=today, buckets=[Bucket(*b) for b in BUCKETS])


def portfolios(
    session: Session, today: date, cooperative_ids: Iterable[int] | None = None
) -> dict[int, Portfolio]:
    """Today's portfolio of each cooperative (all, or those given), in a few grouped statements."""
    ids = list(cooperative_ids) if cooperative_ids is not None else None
    coops = select(Cooperative.id)
    if ids is not None:
        coops = coops.where(Cooperative.id.in_(ids))
    result = {cid: empty_portfolio(today) for cid in session.scalars(coops)}
    scope = [Member.cooperative_id.in_(list(result))]

    for cooperative_id, status, count in session.execute(
        select(Member.cooperative_id, Member.status, func.count())
        .where(*scope)
        .group_by(Member.cooperative_id, Member.status)
    ):
        if status == MemberStatus.ACTIVE:
            result[cooperative_id].members += int(count)
        else:
            result[cooperative_id].members_inactive += int(count)
    for cooperative_id, amount in session.execute(
        select(Member.cooperative_id, func.sum(SavingsEntry.amount))
        .join(Member, Member.id == SavingsEntry.member_id)
        .where(*scope)
        .group_by(Member.cooperative_id)
    ):
        result[cooperative_id].savings = int(amount or 0)
    for cooperative_id, loans, borrowers in session.execute(
        select(Member.cooperative_id, func.count(Loan.id), func.count(func.distinct(Loan.member_id)))
        .join(Member, Member.id == Loan.member_id)
        .where(*scope, Loan.status == LoanStatus.ACTIVE)
        .group_by(Member.cooperative_id)
    ):
        result[cooperative_id].active_loans = int(loans)
        result[cooperative_id].borrowers = int(borrowers)
    for row in active_loan_arrears(session, today, list(result)):
        result[row.cooperative_id].count_loan(row.arrears)
    for cooperative_id, amount in session.execute(
        select(Member.cooperative_id, func.sum(Instalment.amount_due - Instalment.amount_paid))
        .join(Loan, Loan.id == Instalment.loan_id)
        .join(Member, Member.id == Loan.member_id)
        .where(*scope, Loan.status == LoanStatus.WRITTEN_OFF)
        .group_by(Member.cooperative_id)
    ):
        result[cooperative_id].written_off_outstanding = int(amount or 0)
    return result


def portfolio(session: Session, today: date, cooperative_id: int | None = None) -> Portfolio:
    """Today's portfolio of one cooperative, or of all of them together."""
    if cooperative_id is not None:
        return portfolios(session, today, [cooperative_id]).get(cooperative_id) or empty_portfolio(today)
    total = empty_portfolio(today)
    for figures in portfolios(session, today).values():
        total.absorb(figures)
    return total


# --- collections -----------------------------------------------------------------------------


@dataclass
class Collection:
    """What fell due in a month, how much of it is paid today, and the cash received that month."""

    month: Month
    due: int = 0
    collected: int = 0
    cash_in: int = 0

    @property
    def rate(self) -> float | None:
        """Repayment rate: collected ÷ due for the instalments that fell due in the month."""
        return ratio(self.collected, self.due)


def collections(
    session: Session, last: Month, count: int = 12, cooperative_id: int | None = None
) -> list[Collection]:
    """Due, collected and cash in for `count` months ending with `last`, oldest first.

    Written-off loans stay in: what fell due on them and was never paid is what the rate measures.
    """
    months = [last.shift(-k) for k in reversed(range(count))]
    by_month = {m: Collection(m) for m in months}
    first_day, last_day = months[0].first, months[-1].last
    dues = (
        select(Instalment.due_on, func.sum(Instalment.amount_due), func.sum(Instalment.amount_paid))
        .where(Instalment.due_on.between(first_day, last_day))
        .group_by(Instalment.due_on)
    )
    cash = (
        select(Repayment.paid_on, func.sum(Repayment.amount))
        .where(Repayment.paid_on.between(first_day, last_day), Repayment.reversed_at.is_(None))
        .group_by(Repayment.paid_on)
    )
    if cooperative_id is not None:
        dues = dues.join(Loan, Loan.id == Instalment.loan_id).where(
            Loan.member_id.in_(_members_of(cooperative_id))
        )
        cash = cash.where(Repayment.member_id.in_(_members_of(cooperative_id)))
    for day, due, paid in session.execute(dues):
        row = by_month[Month.of(day)]
        row.due += int(due)
        row.collected += int(paid)
    for day, amount in session.execute(cash):
        by_month[Month.of(day)].cash_in += int(amount)
    return [by_month[m] for m in months]


# --- production ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductLine:
    """One product's quantity in a month against the month before and the same month a year before."""

    product: str
    unit: str
    quantity: int
    previous: int
    last_year: int


def production_lines(
    session: Session, month: Month, today: date, cooperative_id: int | None = None
) -> tuple[production.Period | None, list[ProductLine]]:
    """Production per product and unit (models.production's figures), None before the month starts.

    A month to date is compared with as many weeks at the start of the other months, as the
    production report does, so that an unfinished month does not look like a fall.
    """
    try:
        period = production.month_period(month.year, month.month, today)
    except production.PeriodError:
        return None, []
    coop = session.get(Cooperative, cooperative_id) if cooperative_id is not None else None
    summary = production.summarise(session, period, cooperative=coop)
    year_weeks = production.weeks_of_month(month.year - 1, month.month)
    if period.to_date:
        year_weeks = year_weeks[: len(period.weeks)]
    year_ago = production.Period(month.year - 1, month.month, year_weeks, to_date=period.to_date)
    last_year = {
        (r.product, r.unit): r.quantity
        for r in production.summarise(session, year_ago, cooperative=coop).rows
    }
    lines = {
        (r.product, r.unit): ProductLine(
            r.product, r.unit, r.quantity, r.previous, last_year.get((r.product, r.unit), 0)
        )
        for r in summary.rows
    }
    for key, quantity in last_year.items():
        lines.setdefault(key, ProductLine(key[0], key[1], 0, 0, quantity))
    return period, sorted(lines.values(), key=lambda line: (line.product.lower(), line.unit))


# --- reminders and SMS -----------------------------------------------------------------------


@dataclass
class ReminderCounts:
    """Reminder SMS meant for a month (by their sending day), by outcome."""

    planned: int = 0
    pending: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    cancelled: int = 0
    unknown: int = 0
    cancelled_by_reason: dict[str, int] = field(default_factory=dict)


def reminder_counts(
    session: Session, month: Month, cooperative_id: int | None = None, tz: ZoneInfo = DAKAR
) -> ReminderCounts:
    """Reminders of the month: sent counts every one the gateway accepted (delivered ones included)."""
    start, end = month.utc_bounds(tz)
    stmt = (
        select(OutboundSms.status, OutboundSms.failure_reason, func.count())
        .where(
            OutboundSms.kind == SmsKind.REMINDER,
            OutboundSms.send_after >= start,
            OutboundSms.send_after < end,
        )
        .group_by(OutboundSms.status, OutboundSms.failure_reason)
    )
    if cooperative_id is not None:
        stmt = stmt.where(OutboundSms.cooperative_id == cooperative_id)
    counts = ReminderCounts()
    for status, reason, count in session.execute(stmt):
        count = int(count)
        counts.planned += count
        if status in (SmsStatus.QUEUED, SmsStatus.SENDING):
            counts.pending += count
        elif status in (SmsStatus.SENT, SmsStatus.DELIVERED):
            counts.sent += count
            counts.delivered += count if status == SmsStatus.DELIVERED else 0
        elif status == SmsStatus.FAILED:
            counts.failed += count
        elif status == SmsStatus.CANCELLED:
            counts.cancelled += count
            key = reason or "-"
            counts.cancelled_by_reason[key] = counts.cancelled_by_reason.get(key, 0) + count
        else:
            counts.unknown += count
    return counts


@dataclass
class SmsCost:
    """SMS billed in a month against the budget (SMS_DAILY_BUDGET per cooperative per day)."""

    month: Month
    messages: int = 0
    segments: int = 0
    cost: int = 0
    budget: int = 0
    today_cost: int = 0
    daily_budget: int = 0
    held_for_budget: int = 0

    @property
    def used(self) -> float | None:
        """Share of the month's budget spent; None when there is no budget."""
        return ratio(self.cost, self.budget)


def sms_cost(
    session: Session,
    month: Month,
    today: date,
    daily_budget: int,
    cooperative_id: int | None = None,
    tz: ZoneInfo = DAKAR,
) -> SmsCost:
    """Messages, segments and estimated cost billed in the month (by creation day), with the budget."""
    start, end = month.utc_bounds(tz)
    scope = [OutboundSms.status.in_(BILLED)]
    coops = 1
    if cooperative_id is not None:
        scope.append(OutboundSms.cooperative_id == cooperative_id)
    else:
        coops = int(session.scalar(select(func.count()).select_from(Cooperative)) or 0)
    count, parts, cost = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(OutboundSms.segments), 0),
            func.coalesce(func.sum(OutboundSms.cost), 0),
        ).where(*scope, OutboundSms.created_at >= start, OutboundSms.created_at < end)
    ).one()
    day_start = datetime.combine(today, time(0), tzinfo=tz).astimezone(UTC)
    today_cost = session.scalar(
        select(func.coalesce(func.sum(OutboundSms.cost), 0)).where(
            *scope,
            OutboundSms.created_at >= day_start,
            OutboundSms.created_at < day_start + timedelta(days=1),
        )
    )
    held = select(func.count()).where(
        OutboundSms.status == SmsStatus.CANCELLED,
        OutboundSms.failure_reason == "budget",
        OutboundSms.created_at >= start,
        OutboundSms.created_at < end,
    )
    if cooperative_id is not None:
        held = held.where(OutboundSms.cooperative_id == cooperative_id)
    return SmsCost(
        month=month,
        messages=int(count),
        segments=int(parts),
        cost=int(cost),
        budget=daily_budget * month.days * coops,
        today_cost=int(today_cost),
        daily_budget=daily_budget * coops,
        held_for_budget=int(session.scalar(held) or 0),
    )


# --- per-cooperative table and the overdue list ----------------------------------------------


@dataclass(frozen=True)
class CooperativeLine:
    """One cooperative in the coordinator's overview."""

    id: int
    name: str
    code: str
    region: str | None
    demo: bool
    portfolio: Portfolio
    collection: Collection


def cooperative_lines(
    session: Session, today: date, month: Month, cooperative_ids: Iterable[int] | None = None
) -> list[CooperativeLine]:
    """The overview table: each cooperative's portfolio today and its collection for the month."""
    ids = list(cooperative_ids) if cooperative_ids is not None else None
    figures = portfolios(session, today, ids)
    collected = {cid: Collection(month) for cid in figures}
    dues = (
        select(Member.cooperative_id, func.sum(Instalment.amount_due), func.sum(Instalment.amount_paid))
        .join(Loan, Loan.id == Instalment.loan_id)
        .join(Member, Member.id == Loan.member_id)
        .where(Instalment.due_on.between(month.first, month.last), Member.cooperative_id.in_(list(figures)))
        .group_by(Member.cooperative_id)
    )
    for cooperative_id, due, paid in session.execute(dues):
        collected[cooperative_id].due = int(due)
        collected[cooperative_id].collected = int(paid)
    cash = (
        select(Member.cooperative_id, func.sum(Repayment.amount))
        .join(Member, Member.id == Repayment.member_id)
        .where(
            Repayment.paid_on.between(month.first, month.last),
            Repayment.reversed_at.is_(None),
            Member.cooperative_id.in_(list(figures)),
        )
        .group_by(Member.cooperative_id)
    )
    for cooperative_id, amount in session.execute(cash):
        collected[cooperative_id].cash_in = int(amount)
    coops = session.scalars(
        select(Cooperative).where(Cooperative.id.in_(list(figures))).order_by(Cooperative.name)
    )
    return [
        CooperativeLine(
            id=coop.id,
            name=coop.name,
            code=coop.code,
            region=coop.region,
            demo=coop.demo,
            portfolio=figures[coop.id],
            collection=collected[coop.id],
        )
        for coop in coops
    ]


@dataclass(frozen=True)
class OverdueLine:
    """A member with something late, for a treasurer to follow up."""

    member_id: int
    cooperative: str
    member_no: str
    name: str
    phone: str | None
    overdue: int
    outstanding: int
    days_late: int
    opted_out: bool
    last_reminder_at: datetime | None
    last_reminder_status: str | None


def overdue_list(session: Session, today: date, cooperative_id: int | None = None) -> list[OverdueLine]:
    """Members with an overdue amount, most days late first, with their last reminder.

    A member's figures add up their loans' arrears (models.position): overdue and outstanding are
    the sums, days late the largest, which is today − the oldest unpaid due date of all the loans.
    """
    figures: dict[int, list[int]] = {}
    for row in active_loan_arrears(session, today, [cooperative_id] if cooperative_id is not None else None):
        overdue, outstanding, days = figures.setdefault(row.member_id, [0, 0, 0])
        figures[row.member_id] = [
            overdue + row.arrears.overdue,
            outstanding + row.arrears.outstanding,
            max(days, row.arrears.days_late),
        ]
    late = {mid for mid, (overdue, _, _) in figures.items() if overdue > 0}
    # Scoped by cooperative, not by IN (…) lists of ids: the overall list may hold tens of thousands.
    last_ids = (
        select(func.max(OutboundSms.id))
        .where(OutboundSms.kind == SmsKind.REMINDER, OutboundSms.member_id.is_not(None))
        .group_by(OutboundSms.member_id)
    )
    people_stmt = select(
        Member.id, Cooperative.name, Member.member_no, Member.name, Member.phone, Member.opted_out
    ).join(Cooperative, Cooperative.id == Member.cooperative_id)
    if cooperative_id is not None:
        last_ids = last_ids.where(OutboundSms.cooperative_id == cooperative_id)
        people_stmt = people_stmt.where(Member.cooperative_id == cooperative_id)
    reminders = {
        member_id: (created_at, status)
        for member_id, created_at, status in session.execute(
            select(OutboundSms.member_id, OutboundSms.created_at, OutboundSms.status).where(
                OutboundSms.id.in_(last_ids)
            )
        )
        if member_id in late
    }
    people = [row for row in session.execute(people_stmt) if row[0] in late]
    lines = []
    for member_id, coop_name, member_no, name, phone, opted_out in people:
        overdue, outstanding, days = figures[member_id]
        at, status = reminders.get(member_id, (None, None))
        lines.append(
            OverdueLine(
                member_id=member_id,
                cooperative=coop_name,
                member_no=member_no,
                name=name,
                phone=phone,
                overdue=overdue,
                outstanding=outstanding,
                days_late=days,
                opted_out=bool(opted_out),
                last_reminder_at=at,
                last_reminder_status=status,
            )
        )
    lines.sort(key=lambda line: (-line.days_late, -line.overdue, line.cooperative, line.member_no))
    return lines


# --- one member ------------------------------------------------------------------------------


@dataclass
class MemberFile:
    """Everything the member page shows."""

    member: Member
    cooperative: Cooperative
    position: Position
    loans: list[Loan]
    repayments: list[Repayment]
    savings: list[SavingsEntry]
    production: list[tuple]
    sms_out: list[OutboundSms]
    sms_in: list[InboundSms]
    loan_lines: dict[int, list[tuple[str, int]]] = field(default_factory=dict)


def member_file(session: Session, member: Member, today: date, limit: int = 50) -> MemberFile:
    """Position, schedule, repayments, savings, production and SMS history of one member."""
    loans = list(
        session.scalars(
            select(Loan).where(Loan.member_id == member.id).order_by(Loan.disbursed_on.desc(), Loan.id)
        )
    )
    repayments = list(
        session.scalars(
            select(Repayment)
            .where(Repayment.member_id == member.id)
            .order_by(Repayment.paid_on.desc(), Repayment.id.desc())
            .limit(limit)
        )
    )
    references = {loan.id: loan.reference for loan in loans}
    loan_lines: dict[int, list[tuple[str, int]]] = {}
    if repayments:
        for repayment_id, loan_id, amount in session.execute(
            select(RepaymentLine.repayment_id, RepaymentLine.loan_id, RepaymentLine.amount).where(
                RepaymentLine.repayment_id.in_([r.id for r in repayments])
            )
        ):
            loan_lines.setdefault(repayment_id, []).append((references.get(loan_id, "?"), int(amount)))
    savings = list(
        session.scalars(
            select(SavingsEntry)
            .where(SavingsEntry.member_id == member.id)
            .order_by(SavingsEntry.entry_on.desc(), SavingsEntry.id.desc())
            .limit(limit)
        )
    )
    reports = session.execute(
        select(ProductionReport, Product.name, Product.unit)
        .join(Product, Product.id == ProductionReport.product_id)
        .where(ProductionReport.member_id == member.id)
        .order_by(
            ProductionReport.iso_year.desc(), ProductionReport.iso_week.desc(), ProductionReport.id.desc()
        )
        .limit(limit)
    ).all()
    sms_filter = OutboundSms.member_id == member.id
    if member.phone:
        sms_filter = sms_filter | (OutboundSms.to == member.phone)
    sms_out = list(
        session.scalars(select(OutboundSms).where(sms_filter).order_by(OutboundSms.id.desc()).limit(limit))
    )
    sms_in = (
        list(
            session.scalars(
                select(InboundSms)
                .where(InboundSms.from_phone == member.phone)
                .order_by(InboundSms.id.desc())
                .limit(limit)
            )
        )
        if member.phone
        else []
    )
    return MemberFile(
        member=member,
        cooperative=session.get(Cooperative, member.cooperative_id),
        position=member_position(session, member.id, today),
        loans=loans,
        repayments=repayments,
        savings=savings,
        production=[tuple(row) for row in reports],
        sms_out=sms_out,
        sms_in=sms_in,
        loan_lines=loan_lines,
    )


# --- the whole dashboard ---------------------------------------------------------------------


@dataclass
class Dashboard:
    """Every figure of one dashboard page."""

    month: Month
    today: date
    portfolio: Portfolio
    collection: Collection
    history: list[Collection]
    production_period: production.Period | None
    production: list[ProductLine]
    reminders: ReminderCounts
    sms: SmsCost


def dashboard(
    session: Session,
    month: Month,
    today: date,
    *,
    daily_budget: int = 0,
    cooperative_id: int | None = None,
    tz: ZoneInfo = DAKAR,
    figures: Portfolio | None = None,
) -> Dashboard:
    """All the figures of the overall (cooperative_id None) or one cooperative's dashboard.

    `figures`: the portfolio when the caller already has it (the overview adds up its table's).
    """
    history = collections(session, month, 12, cooperative_id)
    period, lines = production_lines(session, month, today, cooperative_id)
    return Dashboard(
        month=month,
        today=today,
        portfolio=figures if figures is not None else portfolio(session, today, cooperative_id),
        collection=history[-1],
        history=history,
        production_period=period,
        production=lines,
        reminders=reminder_counts(session, month, cooperative_id, tz),
        sms=sms_cost(session, month, today, daily_budget, cooperative_id, tz),
    )

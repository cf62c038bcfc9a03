"""Reminder planning: set-based SQL into reminder_sent, then one outbox row per member and day.

Over 400 lines: to be split by subject (planning SQL, writing messages) when next reworked.

A run for day D (Africa/Dakar) does, in one transaction:
1. one INSERT … SELECT into reminder_sent of every (unpaid instalment of an active loan, rule)
   whose rule fires on D, driven by the partial index `ix_instalment_unpaid_due_on`, with
   ON CONFLICT DO NOTHING on the unique (instalment_id, rule): a rule fires at most once;
2. for the day's rows not yet linked to an SMS, one outbox row per member (rendered in Python,
   written in bulk), linked through ReminderSent.outbound_sms_id.

Runs are serialised (a PostgreSQL advisory transaction lock; on SQLite every transaction begins
IMMEDIATE), so two workers' ticks or a tick and `reminders run` never double a reminder, and a
member never gets two reminder rows for one day. A rule fires only on its own day: a run for a
later day never looks back, so there is no catch-up after a gap.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import Date, Select, and_, bindparam, case, exists, func, literal, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from models.arrears import payee_of
from models.cooperative import Cooperative, Member
from models.enums import CancelReason, LoanStatus, SmsKind, SmsStatus
from models.ledger_tables import Instalment, Loan
from models.messaging import OutboundSms, ReminderSent
from models.promises import Promise, paid_towards
from models.promises import settle as settle_promises
from sms import telemetry
from sms.outbox import mark_outbox_changed
from sms.reminders import arrears, digest
from sms.reminders.messages import Item, Officer, Promised, Recovery, language_of, render, segments
from sms.reminders.rules import RULES, Rule
from sms.sending_hours import SendingHours

log = logging.getLogger("mbolo.reminders")

# One planner at a time across processes (PostgreSQL); the key only has to be stable.
LOCK_KEY = zlib.crc32(b"mbolo.reminders.planner")
# Per transaction (SET LOCAL), for the planner's run only.
WORK_MEM = "64MB"


def rules_on(day: date) -> list[tuple[Rule, date]]:
    """Each rule with the due date it looks at on `day`."""
    return [(rule, rule.due_on(day)) for rule in RULES]


def _matches(day: date):
    """(rule, condition) pairs: the loan's frequency and the instalment's due date for each rule."""
    return [
        (rule, and_(Loan.frequency == str(rule.frequency), Instalment.due_on == due))
        for rule, due in rules_on(day)
    ]


def candidates(day: date, *columns) -> Select:
    """Unpaid instalments of active loans that a rule reminds about on `day`, with their rule."""
    matches = _matches(day)
    rule = case(*[(cond, literal(r.code)) for r, cond in matches]).label("rule")
    due_dates = sorted({due for _, due in rules_on(day)})
    return (
        select(Instalment.id.label("instalment_id"), rule, literal(day, Date).label("day"), *columns)
        .join(Loan, Loan.id == Instalment.loan_id)
        .where(
            # The literal dates and the partial index's own predicate let the planner use it.
            Instalment.due_on.in_(due_dates),
            Instalment.amount_paid < Instalment.amount_due,
            Loan.status == LoanStatus.ACTIVE,
            or_(*[cond for _, cond in matches]),
        )
    )


def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def plan(session: Session, day: date) -> int:
    """Insert the day's (instalment, rule) rows, leaving existing ones alone; return how many are new."""
    query = candidates(day)
    # Skip what an earlier tick planned: ON CONFLICT alone would still draw an id from the sequence
    # for every candidate, every 10 minutes (millions a day at scale). ON CONFLICT stays for races.
    query = query.where(
        ~exists().where(
            ReminderSent.instalment_id == Instalment.id, ReminderSent.rule == query.selected_columns.rule
        )
    )
    stmt = (
        _insert(session)(ReminderSent)
        .from_select(["instalment_id", "rule", "day"], query)
        .on_conflict_do_nothing(index_elements=["instalment_id", "rule"])
    )
    # preserve_rowcount: SQLAlchemy only promises rowcount for UPDATE/DELETE otherwise.
    return max(session.execute(stmt, execution_options={"preserve_rowcount": True}).rowcount, 0)


def lock(session: Session) -> None:
    """Serialise planners until the transaction ends (SQLite: BEGIN IMMEDIATE already does).

    On PostgreSQL it also gives the run's transaction room to hash in memory: the day's joins and
    the digest's grouping cover hundreds of thousands of rows, which the default 4 MB spills to disk.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))


@dataclass
class DayResult:
    """What one run did for one day; `line()` is the command's summary."""

    day: date
    planned: int = 0
    digests: int = 0
    queued: int = 0
    opted_out: int = 0
    expired: int = 0
    updated: int = 0
    attached: int = 0
    no_phone: int = 0
    send_at: datetime | None = None

    @property
    def created(self) -> int:
        """Outbox rows written by this run."""
        return self.queued + self.opted_out + self.expired

    def line(self) -> str:
        """One summary line: created, updated, unchanged, failed."""
        when = self.send_at.strftime("%H:%M") if self.send_at else "-"
        return (
            f"reminders {self.day.isoformat()}: {self.planned} planned; created {self.created} SMS "
            f"(queued {self.queued} for {when}, cancelled opted_out {self.opted_out}, "
            f"cancelled expired {self.expired}), updated {self.updated}, "
            f"unchanged {self.attached} (already sent today), failed {self.no_phone} (no phone); "
            f"{self.digests} officers' digests"
        )


@dataclass
class _Row:
    reminder_id: int
    item: Item
    member_id: int
    phone: str | None
    language: str
    opted_out: bool
    cooperative_id: int
    coop_code: str
    overdue: int


def loan_is_late(today: date):
    """Correlated: the row's loan has an instalment due before `today` still unpaid."""
    inst = aliased(Instalment)
    return (
        select(inst.id)
        .where(inst.loan_id == Loan.id, inst.amount_paid < inst.amount_due, inst.due_on < today)
        .exists()
    )


@dataclass
class _Recoveries:
    """What arrears and promise sentences need, loaded once per run for the cooperatives concerned."""

    day: date
    dial_code: str
    officers: dict[int, Officer] = field(default_factory=dict)
    promises: dict[int, Promised] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, day: date, dial_code: str, coop_ids, rules) -> _Recoveries:
        loaded = cls(day, dial_code)
        if not any(arrears.is_arrears_rule(r) or arrears.is_promise_rule(r) for r in rules):
            return loaded
        # Every cooperative of the day: a queued SMS re-rendered by `_attach` may hold arrears too.
        loaded.officers = {
            coop: Officer(o.name, o.phone) for coop, o in payee_of(session, sorted(set(coop_ids))).items()
        }
        ids = [arrears.promise_id(r) for r in rules if arrears.is_promise_rule(r)]
        if ids:
            rows = session.execute(
                select(
                    Promise.id,
                    Promise.amount,
                    Promise.due_on,
                    paid_towards(Promise.member_id, Promise.recorded_on, Promise.due_on),
                ).where(Promise.id.in_(ids))
            )
            loaded.promises = {r[0]: Promised(int(r[1]), r[2], int(r[3])) for r in rows}
        return loaded

    def recovery(self, cooperative_id: int, items: list[Item]) -> Recovery:
        """The arrears/promise details of one member's SMS of the day."""
        oldest = [
            i.due_on for i in items if arrears.is_arrears_rule(i.rule) or arrears.is_promise_rule(i.rule)
        ]
        promise = next(
            (self.promises.get(arrears.promise_id(i.rule)) for i in items if arrears.is_promise_rule(i.rule)),
            None,
        )
        return Recovery(
            days_late=max((self.day - min(oldest)).days, 0) if oldest else 0,
            officer=self.officers.get(cooperative_id),
            dial_code=self.dial_code,
            promise=promise,
        )


def overdue_of_member(today: date):
    """Correlated Σ unpaid of the row's member's active loans' instalments due before `today`."""
    loan, inst = aliased(Loan), aliased(Instalment)
    return (
        select(func.coalesce(func.sum(inst.amount_due - inst.amount_paid), 0))
        .select_from(loan)
        .join(inst, inst.loan_id == loan.id)
        .where(
            loan.member_id == Loan.member_id,
            loan.status == LoanStatus.ACTIVE,
            inst.amount_paid < inst.amount_due,
            inst.due_on < today,
        )
        .scalar_subquery()
    )


def _day_rows(day: date, *conditions) -> Select:
    return (
        select(
            ReminderSent.id,
            ReminderSent.rule,
            Instalment.due_on,
            (Instalment.amount_due - Instalment.amount_paid).label("unpaid"),
            Loan.reference,
            Loan.member_id,
            Member.phone,
            Member.language,
            Member.opted_out,
            Member.cooperative_id,
            Cooperative.code,
            overdue_of_member(day).label("overdue"),
            loan_is_late(day).label("loan_late"),
        )
        .join(Instalment, Instalment.id == ReminderSent.instalment_id)
        .join(Loan, Loan.id == Instalment.loan_id)
        .join(Member, Member.id == Loan.member_id)
        .join(Cooperative, Cooperative.id == Member.cooperative_id)
        .where(ReminderSent.day == day, *conditions)
    )


def _as_row(r) -> _Row:
    return _Row(
        reminder_id=r[0],
        item=Item(rule=r[1], reference=r[4], due_on=r[2], unpaid=int(r[3]), loan_late=bool(r[12])),
        member_id=r[5],
        phone=r[6],
        language=language_of(r[7]),
        opted_out=bool(r[8]),
        cooperative_id=r[9],
        coop_code=r[10],
        overdue=int(r[11]),
    )


def write_messages(
    session: Session,
    day: date,
    now: datetime,
    hours: SendingHours,
    cost_per_segment: int,
    dial_code: str = "",
) -> DayResult:
    """One outbox row per member for the day's reminders not yet linked to an SMS; link them."""
    result = DayResult(day=day, send_at=hours.reminder_time(day, now))
    unlinked = (
        ReminderSent.outbound_sms_id.is_(None),
        Instalment.amount_paid < Instalment.amount_due,
        Loan.status == LoanStatus.ACTIVE,
    )
    rows = [_as_row(r) for r in session.execute(_day_rows(day, *unlinked))]
    if not rows:
        return result
    by_member: dict[int, list[_Row]] = defaultdict(list)
    for row in rows:
        by_member[row.member_id].append(row)
    recoveries = _Recoveries.load(
        session, day, dial_code, [r.cooperative_id for r in rows], [r.item.rule for r in rows]
    )

    links: list[tuple[int, int]] = []  # (reminder_sent id, outbound_sms id)
    earlier = _earlier_sms(session, day)
    mine = [m for m in by_member if m in earlier]
    if mine:
        groups = {m: by_member.pop(m) for m in mine}
        links += _attach(session, day, now, groups, earlier, cost_per_segment, result, recoveries)

    messages = []
    for member_id, group in sorted(by_member.items()):
        first = group[0]
        if not first.phone:
            result.no_phone += len(group)
            continue
        items = [g.item for g in group]
        recovery = recoveries.recovery(first.cooperative_id, items)
        body = render(first.language, first.coop_code, items, first.overdue, recovery)
        parts = segments(body)
        status, reason, cost = SmsStatus.QUEUED, None, parts * cost_per_segment
        if first.opted_out:
            status, reason, cost = SmsStatus.CANCELLED, CancelReason.OPTED_OUT, 0
            result.opted_out += 1
        elif result.send_at is None:
            status, reason, cost = SmsStatus.CANCELLED, CancelReason.EXPIRED, 0
            result.expired += 1
        else:
            result.queued += 1
        messages.append(
            {
                "to": first.phone,
                "text": body,
                "language": first.language,
                "status": str(status),
                "failure_reason": str(reason) if reason else None,
                "cooperative_id": first.cooperative_id,
                "member_id": member_id,
                "segments": parts,
                "cost": cost,
                "reminders": [g.reminder_id for g in group],
            }
        )
    if messages:
        insert_reminder_sms(session, messages, send_after=result.send_at or now, now=now)
    _link(session, links)
    return result


# PostgreSQL: one statement writes the day's SMS and links their reminders, its rows passed as one
# JSON document (about 17 000 SMS at the bench's scale: a multi-row VALUES costs seconds in the driver,
# arrays cost a regular-expression check per element; json.dumps and json_to_recordset do not).
_INSERT_AND_LINK = text(
    "WITH m AS (SELECT * FROM json_to_recordset(CAST(:messages AS json)) AS m("
    '"to" text, text text, language text, status text, failure_reason text, cooperative_id integer, '
    "member_id integer, segments integer, cost integer, reminders integer[])), "
    "new AS (INSERT INTO outbound_sms "
    '("to", text, kind, language, status, failure_reason, cooperative_id, member_id, attempts, '
    "send_after, next_attempt_at, segments, cost, created_at, updated_at) "
    'SELECT m."to", m.text, :kind, m.language, m.status, m.failure_reason, m.cooperative_id, m.member_id, '
    "0, :send_after, :send_after, m.segments, m.cost, :now, :now FROM m RETURNING id, member_id) "
    "UPDATE reminder_sent SET outbound_sms_id = new.id "
    "FROM new JOIN m ON m.member_id = new.member_id CROSS JOIN LATERAL unnest(m.reminders) AS r(id) "
    "WHERE reminder_sent.id = r.id"
)


def insert_reminder_sms(
    session: Session, messages: list[dict], *, send_after: datetime, now: datetime
) -> None:
    """Write one reminder SMS per member in bulk and link each to its `reminders` (ReminderSent ids)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            _INSERT_AND_LINK,
            {
                "messages": json.dumps(messages),
                "kind": str(SmsKind.REMINDER),
                "send_after": send_after.astimezone(UTC),
                "now": now.astimezone(UTC),
            },
        )
        mark_outbox_changed(session)  # raw SQL: ask for a send job after commit
        return
    table = OutboundSms.__table__
    rows = [
        {
            **{k: v for k, v in message.items() if k != "reminders"},
            "kind": str(SmsKind.REMINDER),
            "attempts": 0,
            "send_after": send_after,
            "next_attempt_at": send_after,
            "created_at": now,
            "updated_at": now,
        }
        for message in messages
    ]
    ids = session.scalars(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows)
    _link(session, [(rid, sms_id) for sms_id, m in zip(ids, messages, strict=True) for rid in m["reminders"]])


def _earlier_sms(session: Session, day: date) -> dict[int, tuple[int, str]]:
    """member id → (outbox id, status) of the reminder SMS an earlier run wrote for `day`."""
    rows = session.execute(
        select(Loan.member_id, OutboundSms.id, OutboundSms.status)
        .select_from(ReminderSent)
        .join(Instalment, Instalment.id == ReminderSent.instalment_id)
        .join(Loan, Loan.id == Instalment.loan_id)
        .join(OutboundSms, OutboundSms.id == ReminderSent.outbound_sms_id)
        .where(ReminderSent.day == day)
        .distinct()
    ).all()
    return {member_id: (sms_id, status) for member_id, sms_id, status in rows}


def _attach(
    session, day, now, groups, earlier, cost_per_segment, result, recoveries
) -> list[tuple[int, int]]:
    """New rows of a member who already has the day's SMS: that SMS carries them (one a day).

    While it is still queued it is rendered again to name every instalment of the day; once the
    sender has taken it, the new rows are only linked (the next rule's day will name them).
    """
    links = []
    queued = {earlier[m][0]: m for m in groups if earlier[m][1] == SmsStatus.QUEUED}
    if queued:
        old = [_as_row(r) for r in session.execute(_day_rows(day, ReminderSent.outbound_sms_id.in_(queued)))]
        for sms_id, member_id in queued.items():
            rows = [r for r in old if r.member_id == member_id and r.item.unpaid > 0] + groups[member_id]
            first = rows[0]
            items = [r.item for r in rows]
            recovery = recoveries.recovery(first.cooperative_id, items)
            body = render(first.language, first.coop_code, items, first.overdue, recovery)
            parts = segments(body)
            # Only while still queued: the sender may have taken it since we read its status.
            changed = session.execute(
                update(OutboundSms)
                .where(OutboundSms.id == sms_id, OutboundSms.status == SmsStatus.QUEUED)
                .values(text=body, segments=parts, cost=parts * cost_per_segment, updated_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if changed:
                result.updated += 1
            else:
                result.attached += len(groups[member_id])
    for member_id, group in groups.items():
        if earlier[member_id][0] not in queued:
            result.attached += len(group)
        links += [(row.reminder_id, earlier[member_id][0]) for row in group]
    return links


def _link(session: Session, links: list[tuple[int, int]]) -> None:
    """Set ReminderSent.outbound_sms_id in bulk (one statement on PostgreSQL)."""
    if not links:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "UPDATE reminder_sent SET outbound_sms_id = v.sms_id "
                "FROM unnest(CAST(:rids AS integer[]), CAST(:sids AS integer[])) AS v(rid, sms_id) "
                "WHERE reminder_sent.id = v.rid"
            ),
            {"rids": [r for r, _ in links], "sids": [s for _, s in links]},
        )
        return
    session.execute(
        update(ReminderSent.__table__)
        .where(ReminderSent.__table__.c.id == bindparam("rid"))
        .values(outbound_sms_id=bindparam("sid")),
        [{"rid": r, "sid": s} for r, s in links],
    )


def run_day(
    session: Session, now: datetime, hours: SendingHours, cost_per_segment: int, dial_code: str = ""
) -> DayResult:
    """Plan the rules, arrears days, promises and digests of `now`'s local day and write their
    outbox rows; the caller commits."""
    day = hours.local(now).date()
    lock(session)
    # Promises first: one broken yesterday no longer pauses today's arrears reminders.
    settle_promises(session, day)
    planned = plan(session, day) + arrears.plan(session, day, _insert(session))
    result = write_messages(session, day, now, hours, cost_per_segment, dial_code)
    result.planned = planned
    result.digests = digest.write_digests(session, day, now, hours, cost_per_segment)
    return result


def run(runtime, now: datetime | None = None) -> DayResult:
    """`reminders run` and the worker's tick: one transaction, idempotent, safe to call twice."""
    now = now or runtime.clock.now()
    hours = SendingHours.from_config(runtime.config)
    with runtime.sessions() as session, session.begin():
        result = run_day(session, now, hours, runtime.config.SMS_COST_PER_SEGMENT, runtime.config.dial_code)
    telemetry.mark_reminder_planning(runtime.clock.now())
    log.info(
        "reminders planned",
        extra={
            "day": result.day.isoformat(),
            "planned": result.planned,
            "queued": result.queued,
            "opted_out": result.opted_out,
            "expired": result.expired,
            "updated": result.updated,
            "attached": result.attached,
            "no_phone": result.no_phone,
            "digests": result.digests,
        },
    )
    return result


# --- preview ------------------------------------------------------------------------------------


@dataclass
class RuleLine:
    """One rule's share of a day: how many instalments, how much unpaid, how many already planned."""

    rule: Rule
    due_on: date
    instalments: int = 0
    unpaid: int = 0
    planned: int = 0


@dataclass
class PreviewSms:
    """The SMS a member would get that day."""

    member_no: str
    phone: str | None
    language: str
    text: str
    segments: int
    opted_out: bool
    cooperative_id: int = 0
    # Past the cooperative's daily budget (SMS_DAILY_BUDGET): it would be cancelled (`budget`).
    over_budget: bool = False


@dataclass
class Preview:
    """What would go out on a day — due-date rules, arrears days, promises, digests; nothing written."""

    day: date
    send_at: datetime | None
    cost_per_segment: int = 0
    rules: list[RuleLine] = field(default_factory=list)
    arrears: int = 0
    promises: int = 0
    messages: list[PreviewSms] = field(default_factory=list)
    digests: list[digest.Digest] = field(default_factory=list)

    @property
    def cost(self) -> int:
        """Estimated XOF of everything that would go (reminders to phones not opted out, digests)."""
        going = [m.segments for m in self.messages if m.phone and not m.opted_out and not m.over_budget]
        return self.cost_per_segment * (sum(going) + sum(d.segments for d in self.digests))


def _preview_columns(day: date) -> tuple:
    return (
        Instalment.due_on,
        (Instalment.amount_due - Instalment.amount_paid).label("unpaid"),
        Loan.reference,
        Loan.member_id,
        Member.member_no,
        Member.phone,
        Member.language,
        Member.opted_out,
        Member.cooperative_id,
        Cooperative.code,
        overdue_of_member(day).label("overdue"),
        loan_is_late(day).label("loan_late"),
    )


def _with_member(query):
    return query.join(Member, Member.id == Loan.member_id).join(
        Cooperative, Cooperative.id == Member.cooperative_id
    )


def preview_day(
    session: Session,
    day: date,
    now: datetime,
    hours: SendingHours,
    *,
    dial_code: str = "",
    cost_per_segment: int = 0,
    budget: int = 0,
) -> Preview:
    """The day's reminders and digests as they would be planned and rendered now (read-only)."""
    preview = Preview(day=day, send_at=hours.reminder_time(day, now), cost_per_segment=cost_per_segment)
    lines = {rule.code: RuleLine(rule, due) for rule, due in rules_on(day)}
    planned = set(
        session.execute(
            select(ReminderSent.instalment_id, ReminderSent.rule).where(ReminderSent.day == day)
        ).all()
    )
    columns = _preview_columns(day)
    queries = [_with_member(candidates(day, *columns))]
    for query in (
        arrears.arrears_candidates(session, day, *columns),
        arrears.promise_candidates(day, *columns),
    ):
        if query is not None:
            queries.append(_with_member(query))
    by_member: dict[int, list] = defaultdict(list)
    for query in queries:
        for r in session.execute(query):
            if r.rule in lines:
                line = lines[r.rule]
                line.instalments += 1
                line.unpaid += int(r.unpaid)
                line.planned += (r.instalment_id, r.rule) in planned
            elif arrears.is_arrears_rule(r.rule):
                preview.arrears += 1
            else:
                preview.promises += 1
            by_member[r.member_id].append(r)
    preview.rules = list(lines.values())
    rows = [r for group in by_member.values() for r in group]
    recoveries = _Recoveries.load(
        session, day, dial_code, [r.cooperative_id for r in rows], [r.rule for r in rows]
    )
    for group in by_member.values():
        first = group[0]
        items = [Item(r.rule, r.reference, r.due_on, int(r.unpaid), bool(r.loan_late)) for r in group]
        recovery = recoveries.recovery(first.cooperative_id, items)
        body = render(first.language, first.code, items, int(first.overdue), recovery)
        preview.messages.append(
            PreviewSms(
                first.member_no,
                first.phone,
                language_of(first.language),
                body,
                segments(body),
                first.opted_out,
                first.cooperative_id,
            )
        )
    preview.messages.sort(key=lambda m: (m.phone or "", m.member_no))
    preview.digests = digest.compose(session, day)
    if budget:
        _mark_over_budget(preview, budget)
    return preview


def _mark_over_budget(preview: Preview, budget: int) -> None:
    """Flag the reminders a cooperative's daily budget would cancel (digests count but always go)."""
    spent: dict[int, int] = defaultdict(int)
    for d in preview.digests:
        spent[d.officer.cooperative_id] += d.segments * preview.cost_per_segment
    for message in preview.messages:
        if not message.phone or message.opted_out:
            continue
        cost = message.segments * preview.cost_per_segment
        if spent[message.cooperative_id] + cost > budget:
            message.over_budget = True
        else:
            spent[message.cooperative_id] += cost


def tick(runtime, now: datetime) -> dict:
    """The worker's 10-minute task: late, missed or doubled ticks are harmless (see `run`)."""
    result = run(runtime, now)
    return {"day": result.day.isoformat(), "planned": result.planned, "created": result.created}

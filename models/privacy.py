"""Personal data: purging old message texts and exporting everything held on one person.

Kept whole (~440 lines) on purpose: the purge and the export must name the same tables, and
are checked against the law side by side.

Senegal's personal data law (Law 2008-12, the CDP) asks that data be kept no longer than its
purpose needs and that a person can learn what is held on them. The ledger (savings, loans,
instalments, repayments, declarations, production reports, audit) is the cooperative's books
and is kept; what only served to carry a message (SMS texts, USSD end-of-session notices, the
phone numbers on those rows) is anonymised after `PURGE_MONTHS`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, not_, or_, select, update
from sqlalchemy.orm import Session

from models import audit
from models.activity import ProductionReport, RepaymentDeclaration
from models.cooperative import Cooperative, Member, Product
from models.enums import InboundStatus, SmsStatus, Source
from models.ledger_tables import Instalment, Loan, Repayment, RepaymentLine, SavingsEntry
from models.messaging import AuditEvent, InboundSms, OutboundSms, UssdEvent
from models.phones import mask
from models.schedule import add_months

PURGED_TEXT = "[purged]"
DEFAULT_BATCH = 2000

# End-of-session notice fields that say nothing about the person (AT's USSD events callback);
# the phone number, the last screen shown (balances, names) and anything unknown are dropped.
USSD_PAYLOAD_KEPT = frozenset(
    {"status", "networkCode", "serviceCode", "durationInSeconds", "cost", "hopsCount", "errorMessage"}
)

# Rows a sender or handler may still act on keep their text: the outbox sends `text`, and the
# inbound sweep handles again `received` rows and `failed` ones below its attempt limit.
_OUTBOX_IN_FLIGHT = (SmsStatus.QUEUED, SmsStatus.SENDING)
INBOUND_RETRY_LIMIT = 5  # sms.inbound.MAX_ATTEMPTS; the CLI passes the live value


class PrivacyError(ValueError):
    """A purge or export request that cannot be carried out as asked."""


# --- purge ---------------------------------------------------------------------------------------


def default_cutoff(today: date, months: int, tz: ZoneInfo) -> datetime:
    """Local midnight `months` months before `today` (the day clamped to the month's end)."""
    return cutoff_at(add_months(today, -months), tz)


def cutoff_at(day: date, tz: ZoneInfo) -> datetime:
    """Local midnight at the start of `day`, as an aware datetime."""
    return datetime.combine(day, time(0, 0), tzinfo=tz)


@dataclass
class PurgeSummary:
    """What a purge changed (or, on a dry run, would change), per table."""

    cutoff: datetime
    dry_run: bool
    outbound: int = 0
    inbound: int = 0
    ussd_events: int = 0
    held: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Rows anonymised over the three tables."""
        return self.outbound + self.inbound + self.ussd_events

    def as_dict(self) -> dict:
        """The counts for the audit event and `--json` style output."""
        return {
            "before": self.cutoff.isoformat(),
            "outbound_sms": self.outbound,
            "inbound_sms": self.inbound,
            "ussd_events": self.ussd_events,
            "held_in_flight": dict(self.held),
        }


def _outbound_due(cutoff: datetime):
    return (
        OutboundSms.purged_at.is_(None),
        OutboundSms.created_at < cutoff,
        OutboundSms.status.not_in([str(s) for s in _OUTBOX_IN_FLIGHT]),
    )


def _inbound_retriable(retry_limit: int):
    return or_(
        InboundSms.status == str(InboundStatus.RECEIVED),
        (InboundSms.status == str(InboundStatus.FAILED)) & (InboundSms.attempts < retry_limit),
    )


def _inbound_due(cutoff: datetime, retry_limit: int = INBOUND_RETRY_LIMIT):
    return (
        InboundSms.purged_at.is_(None),
        InboundSms.received_at < cutoff,
        not_(_inbound_retriable(retry_limit)),
    )


def _ussd_due(cutoff: datetime):
    return (UssdEvent.purged_at.is_(None), UssdEvent.received_at < cutoff)


def _count(session: Session, model, conditions) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*conditions)))


def _held(session: Session, cutoff: datetime, retry_limit: int) -> dict[str, int]:
    """Old rows left alone because a sender or handler may still need their text."""
    out = _count(
        session,
        OutboundSms,
        (
            OutboundSms.purged_at.is_(None),
            OutboundSms.created_at < cutoff,
            OutboundSms.status.in_([str(s) for s in _OUTBOX_IN_FLIGHT]),
        ),
    )
    inb = _count(
        session,
        InboundSms,
        (
            InboundSms.purged_at.is_(None),
            InboundSms.received_at < cutoff,
            _inbound_retriable(retry_limit),
        ),
    )
    return {k: v for k, v in (("outbound_sms", out), ("inbound_sms", inb)) if v}


def _anonymise_outbound(rows) -> list[dict]:
    return [{"id": r.id, "text": PURGED_TEXT, "to": mask(r.to)} for r in rows]


def _anonymise_inbound(rows) -> list[dict]:
    return [
        {"id": r.id, "text": PURGED_TEXT, "from_phone": mask(r.from_phone), "link_id": None} for r in rows
    ]


def _anonymise_ussd(rows) -> list[dict]:
    return [
        {
            "id": r.id,
            "payload": {k: v for k, v in (r.payload or {}).items() if k in USSD_PAYLOAD_KEPT},
            "phone": mask(r.phone) if r.phone else None,
        }
        for r in rows
    ]


# (summary field, table, columns read, anonymised values per row)
_TABLES = (
    ("outbound", OutboundSms, (OutboundSms.id, OutboundSms.to), _anonymise_outbound),
    ("inbound", InboundSms, (InboundSms.id, InboundSms.from_phone), _anonymise_inbound),
    ("ussd_events", UssdEvent, (UssdEvent.id, UssdEvent.phone, UssdEvent.payload), _anonymise_ussd),
)


def purge(
    sessions,
    *,
    cutoff: datetime,
    now: datetime,
    actor: str = "system",
    source: str = Source.CLI,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH,
    inbound_retry_limit: int = INBOUND_RETRY_LIMIT,
    on_batch=None,
) -> PurgeSummary:
    """Anonymise SMS texts and USSD events older than `cutoff`, `batch_size` rows per transaction.

    `sessions` is a session factory: each batch commits on its own so that a purge of millions
    of rows never holds one long transaction. The audit event (cut-off and the rows eligible)
    commits with the first batch; every purged row carries `purged_at`, so a purge that stops
    half-way is finished by running it again. Ledger tables are never touched.
    """
    if cutoff.tzinfo is None:
        raise PrivacyError("the cut-off must be timezone-aware")
    if cutoff > now:
        raise PrivacyError("the cut-off is in the future: only past messages can be purged")
    if batch_size < 1:
        raise PrivacyError("the batch size must be at least 1")
    summary = PurgeSummary(cutoff=cutoff, dry_run=dry_run)
    conditions = {
        "outbound": _outbound_due(cutoff),
        "inbound": _inbound_due(cutoff, inbound_retry_limit),
        "ussd_events": _ussd_due(cutoff),
    }
    with sessions() as session:
        eligible = {name: _count(session, model, conditions[name]) for name, model, *_ in _TABLES}
        summary.held = _held(session, cutoff, inbound_retry_limit)
        if dry_run:
            summary.outbound = eligible["outbound"]
            summary.inbound = eligible["inbound"]
            summary.ussd_events = eligible["ussd_events"]
            return summary
        audit.record(
            session,
            actor=actor,
            action="privacy.purge",
            target=f"before:{cutoff.date().isoformat()}",
            source=source,
            at=now,
            after={
                "before": cutoff.isoformat(),
                "eligible": {
                    "outbound_sms": eligible["outbound"],
                    "inbound_sms": eligible["inbound"],
                    "ussd_events": eligible["ussd_events"],
                },
                "held_in_flight": summary.held,
            },
        )
        session.commit()

    for name, model, columns, anonymise in _TABLES:
        while True:
            with sessions() as session, session.begin():
                rows = session.execute(
                    select(*columns).where(*conditions[name]).order_by(model.id).limit(batch_size)
                ).all()
                if not rows:
                    break
                changes = anonymise(rows)
                for change in changes:
                    change["purged_at"] = now
                # ORM bulk UPDATE by primary key: one executemany per batch.
                session.execute(update(model), changes)
            setattr(summary, name, getattr(summary, name) + len(rows))
            if on_batch is not None:
                on_batch(name, len(rows))
    return summary


# --- export --------------------------------------------------------------------------------------


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.isoformat()


def _row(obj, names: Iterable[str]) -> dict:
    out = {}
    for name in names:
        value = getattr(obj, name)
        out[name] = _iso(value) if isinstance(value, date | datetime) else value
    return out


def export_member(session: Session, member: Member, *, now: datetime) -> dict:
    """Everything held on one person, as JSON-ready data (an access request under Law 2008-12).

    Rows are selected by this member's id, or by their current phone for messages; nothing
    about another person is added (who recorded a payment is left out: the receipt SMS the
    member received already names the treasurer). The PIN hash is a secret, not shown.
    """
    cooperative = session.get(Cooperative, member.cooperative_id)
    person = _row(
        member,
        (
            "id",
            "member_no",
            "name",
            "phone",
            "role",
            "language",
            "status",
            "wrong_pins",
            "locked",
            "opted_out",
            "created_at",
            "updated_at",
        ),
    )
    person["pin_set"] = member.pin_hash is not None
    person["cooperative"] = {"name": cooperative.name, "code": cooperative.code}

    savings = [
        _row(
            e, ("id", "kind", "amount", "entry_on", "created_at", "source", "receipt", "reverses_id", "note")
        )
        for e in session.scalars(
            select(SavingsEntry).where(SavingsEntry.member_id == member.id).order_by(SavingsEntry.id)
        )
    ]
    loans = []
    for loan in session.scalars(select(Loan).where(Loan.member_id == member.id).order_by(Loan.id)):
        item = _row(
            loan,
            (
                "reference",
                "principal",
                "interest",
                "disbursed_on",
                "first_due_on",
                "frequency",
                "status",
                "created_at",
                "closed_at",
            ),
        )
        item["instalments"] = [
            _row(i, ("number", "due_on", "amount_due", "amount_paid", "fully_paid_on"))
            for i in session.scalars(
                select(Instalment).where(Instalment.loan_id == loan.id).order_by(Instalment.number)
            )
        ]
        loans.append(item)
    loan_refs = dict(
        session.execute(select(Loan.id, Loan.reference).where(Loan.member_id == member.id)).all()
    )
    repayments = []
    for rep in session.scalars(
        select(Repayment).where(Repayment.member_id == member.id).order_by(Repayment.id)
    ):
        item = _row(
            rep,
            (
                "receipt",
                "amount",
                "paid_on",
                "recorded_at",
                "source",
                "reversed_at",
                "reverse_reason",
            ),
        )
        item["loans"] = {
            loan_refs.get(line.loan_id, str(line.loan_id)): line.amount
            for line in session.scalars(select(RepaymentLine).where(RepaymentLine.repayment_id == rep.id))
        }
        repayments.append(item)
    declarations = [
        _row(d, ("id", "amount", "code", "status", "created_at", "decided_at"))
        for d in session.scalars(
            select(RepaymentDeclaration)
            .where(RepaymentDeclaration.member_id == member.id)
            .order_by(RepaymentDeclaration.id)
        )
    ]
    production = []
    for report, product in session.execute(
        select(ProductionReport, Product)
        .join(Product, Product.id == ProductionReport.product_id)
        .where(ProductionReport.member_id == member.id)
        .order_by(ProductionReport.id)
    ):
        item = _row(
            report,
            ("reference", "quantity", "iso_year", "iso_week", "reported_at", "source", "superseded_at"),
        )
        item["product"] = product.name
        item["unit"] = product.unit
        production.append(item)

    sms_out, sms_in, ussd = [], [], []
    if member.phone:
        sms_out = [
            _row(
                s,
                (
                    "id",
                    "to",
                    "kind",
                    "language",
                    "text",
                    "status",
                    "failure_reason",
                    "segments",
                    "created_at",
                    "sent_at",
                    "delivered_at",
                    "purged_at",
                ),
            )
            for s in session.scalars(
                select(OutboundSms).where(OutboundSms.to == member.phone).order_by(OutboundSms.id)
            )
        ]
        sms_in = [
            _row(s, ("id", "from_phone", "to", "text", "received_at", "status", "purged_at"))
            for s in session.scalars(
                select(InboundSms).where(InboundSms.from_phone == member.phone).order_by(InboundSms.id)
            )
        ]
        ussd = [
            _row(e, ("session_id", "phone", "status", "payload", "received_at", "purged_at"))
            for e in session.scalars(
                select(UssdEvent).where(UssdEvent.phone == member.phone).order_by(UssdEvent.id)
            )
        ]
    audit_events = [
        _row(a, ("at", "actor", "action", "target", "before", "after", "source", "reason"))
        for a in session.scalars(
            select(AuditEvent).where(AuditEvent.member_id == member.id).order_by(AuditEvent.id)
        )
    ]
    return {
        "generated_at": now.isoformat(),
        "member": person,
        "savings_entries": savings,
        "loans": loans,
        "repayments": repayments,
        "declarations": declarations,
        "production_reports": production,
        "sms_sent_to_member": sms_out,
        "sms_received_from_member": sms_in,
        "ussd_events": ussd,
        "audit_events": audit_events,
    }


def record_export(session: Session, member: Member, *, now: datetime, actor: str, reason: str | None) -> None:
    """Audit that someone read a person's whole file (the export is itself a processing)."""
    audit.record(
        session,
        actor=actor,
        action="privacy.export",
        target=f"member:{member.id}",
        source=Source.CLI,
        at=now,
        member_id=member.id,
        reason=reason,
    )

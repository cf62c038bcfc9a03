"""Everything the member page shows: position, schedule, repayments, savings, production, SMS."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.activity import ProductionReport
from models.cooperative import Cooperative, Member, Product
from models.ledger_tables import Loan, Repayment, RepaymentLine, SavingsEntry
from models.messaging import InboundSms, OutboundSms
from models.portfolio.collection import Collection
from models.portfolio.months import Month
from models.position import Position, member_position


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
    collection: Collection | None = None
    today: date | None = None

    def punctual(self, instalment) -> bool | None:
        """True when fully paid by its due date, False when not, None while its due date is ahead."""
        paid_on = instalment.fully_paid_on
        if paid_on is not None and paid_on <= instalment.due_on:
            return True
        return False if instalment.due_on < self.today else None


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
        collection=_member_collection(loans, today),
        today=today,
    )


def _member_collection(loans: list[Loan], today: date) -> Collection:
    """The member's collection and on-time rates over every instalment due up to today, any loan."""
    figures = Collection(Month.of(today), through=today)
    for loan in loans:
        for inst in loan.instalments:
            if inst.due_on > today:
                continue
            decided = inst.due_on < today
            on_time = decided and inst.fully_paid_on is not None and inst.fully_paid_on <= inst.due_on
            figures.add(inst.amount_due, inst.amount_paid, int(decided), int(on_time))
    return figures

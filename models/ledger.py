"""Money operations: loans, repayments and their allocation, reversals, savings.

Each function changes the session only; the caller commits once, with the receipts written to
the outbox and the audit event in the same transaction. On PostgreSQL the rows a change depends
on are locked first (SELECT … FOR UPDATE); on SQLite every transaction begins IMMEDIATE, which
serialises writers (see models.database).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.settings import AMOUNT_CEILING
from models import audit, codes
from models.cooperative import Member
from models.database import for_update, lock_member
from models.enums import LoanStatus, SavingsKind, Source
from models.errors import NotFound, Refused
from models.ledger_tables import Instalment, Loan, Repayment, RepaymentLine, SavingsEntry
from models.schedule import due_dates, first_due_date, instalment_amounts, replay_instalments

RECEIPT_PREFIX = {"repayment": "R", SavingsKind.DEPOSIT: "D", SavingsKind.WITHDRAWAL: "W"}


def create_loan(
    session: Session,
    *,
    member: Member,
    reference: str,
    principal: int,
    interest: int,
    disbursed_on: date,
    installments: int,
    frequency: str,
    now: datetime,
    first_due_on: date | None = None,
    rounding: int = 5,
    actor: str = "system",
    source: str = Source.CLI,
) -> Loan:
    """Create a loan and its schedule."""
    if not 0 < principal <= AMOUNT_CEILING:
        raise Refused("principal", principal=principal)
    if not 0 <= interest <= AMOUNT_CEILING:
        raise Refused("interest", interest=interest)
    if interest < 0:
        raise Refused("interest", interest=interest)
    first = first_due_date(disbursed_on, frequency, first_due_on)
    loan = Loan(
        member_id=member.id,
        reference=reference,
        principal=principal,
        interest=interest,
        disbursed_on=disbursed_on,
        first_due_on=first,
        frequency=frequency,
        status=LoanStatus.ACTIVE,
        created_at=now,
    )
    amounts = instalment_amounts(principal + interest, installments, rounding)
    for number, (due_on, amount) in enumerate(
        zip(due_dates(first, installments, frequency), amounts, strict=True), 1
    ):
        loan.instalments.append(Instalment(number=number, due_on=due_on, amount_due=amount, amount_paid=0))
    session.add(loan)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="loan.create",
        target=f"loan:{reference}",
        source=source,
        at=now,
        member_id=member.id,
        after={
            "principal": principal,
            "interest": interest,
            "installments": installments,
            "frequency": frequency,
            "first_due_on": first.isoformat(),
        },
    )
    return loan


def _lock_loans(session: Session, stmt):
    return session.scalars(for_update(session, stmt).execution_options(populate_existing=True)).all()


def _unpaid_instalments(session: Session, loans: list[Loan]) -> list[Instalment]:
    """Unpaid instalments of these loans, oldest due date first, ties by disbursement date."""
    if not loans:
        return []
    order = {loan.id: (loan.disbursed_on, loan.id) for loan in loans}
    rows = session.scalars(
        select(Instalment)
        .where(Instalment.loan_id.in_(order), Instalment.amount_paid < Instalment.amount_due)
        .execution_options(populate_existing=True)
    ).all()
    return sorted(rows, key=lambda i: (i.due_on, order[i.loan_id], i.number))


@dataclass(frozen=True)
class Allocation:
    """The result of a payment: the repayment row and the outstanding left afterwards.

    `recovery` is a payment on written-off loans: what is left is what remains of those loans.
    """

    repayment: Repayment
    outstanding_after: int
    recovery: bool = False


def record_repayment(
    session: Session,
    *,
    member: Member,
    amount: int,
    paid_on: date,
    now: datetime,
    source: str,
    recorded_by: Member | None = None,
    loan: Loan | None = None,
    external_id: str | None = None,
    declaration_id: int | None = None,
    actor: str | None = None,
) -> Allocation:
    """Post a repayment, filling unpaid instalments oldest due date first (or one loan's only).

    Active loans take it. A payment on a written-off loan (the one given, or the member's
    written-off loans when none is active) is a recovery: it fills that loan's instalments the
    same way, the loan stays written off, and reports count it apart.
    """
    if not 0 < amount <= AMOUNT_CEILING:
        raise Refused("amount", amount=amount)
    loans = _payable_loans(session, member, loan, LoanStatus.ACTIVE)
    recovery = not loans
    if recovery:
        loans = _payable_loans(session, member, loan, LoanStatus.WRITTEN_OFF)
    instalments = _unpaid_instalments(session, loans)
    if not loans or (recovery and not instalments):
        raise Refused("no_active_loan")
    outstanding = sum(i.unpaid for i in instalments)
    if amount > outstanding:
        raise Refused("too_much", remaining=outstanding)

    left = amount
    per_loan: dict[int, int] = {}
    for inst in instalments:
        if left == 0:
            break
        take = min(left, inst.unpaid)
        inst.amount_paid += take
        if inst.amount_paid >= inst.amount_due:
            inst.fully_paid_on = paid_on
        per_loan[inst.loan_id] = per_loan.get(inst.loan_id, 0) + take
        left -= take

    repayment = Repayment(
        member_id=member.id,
        loan_id=loan.id if loan is not None else None,
        amount=amount,
        paid_on=paid_on,
        recorded_at=now,
        recorded_by_id=recorded_by.id if recorded_by is not None else None,
        source=source,
        external_id=external_id,
        declaration_id=declaration_id,
    )
    repayment.lines = [RepaymentLine(loan_id=loan_id, amount=part) for loan_id, part in per_loan.items()]
    session.add(repayment)
    session.flush()
    repayment.receipt = codes.encode(RECEIPT_PREFIX["repayment"], repayment.id)
    _close_repaid(session, [lo for lo in loans if lo.id in per_loan], now)
    audit.record(
        session,
        actor=actor or audit.actor_of(recorded_by),
        action="repayment.record",
        target=f"receipt:{repayment.receipt}",
        source=source,
        at=now,
        member_id=member.id,
        after={
            "amount": amount,
            "paid_on": paid_on.isoformat(),
            "loans": {str(k): v for k, v in per_loan.items()},
            "outstanding": outstanding - amount,
            **({"recovery": True} if recovery else {}),
        },
    )
    return Allocation(repayment, outstanding - amount, recovery)


def _payable_loans(session: Session, member: Member, loan: Loan | None, status: LoanStatus) -> list[Loan]:
    """The member's loans in `status` (only `loan` when given), locked, in id order."""
    stmt = select(Loan).where(Loan.member_id == member.id, Loan.status == status)
    if loan is not None:
        stmt = stmt.where(Loan.id == loan.id)
    return list(_lock_loans(session, stmt.order_by(Loan.id)))


def _close_repaid(session: Session, loans, now: datetime) -> None:
    for loan in loans:
        unpaid = session.scalar(
            select(func.count())
            .select_from(Instalment)
            .where(Instalment.loan_id == loan.id, Instalment.amount_paid < Instalment.amount_due)
        )
        if unpaid == 0 and loan.status == LoanStatus.ACTIVE:
            loan.status = LoanStatus.REPAID
            loan.closed_at = now
        elif unpaid and loan.status == LoanStatus.REPAID:
            loan.status = LoanStatus.ACTIVE
            loan.closed_at = None


def respread(session: Session, loan: Loan) -> None:
    """Recompute amount_paid and fully_paid_on of a loan's instalments from its non-reversed lines.

    The remaining repayments are replayed in the order they were recorded, filling the instalments
    in schedule order as the allocation did: the one that completes an instalment gives it its
    `fully_paid_on`, so a reversal that un-completes an instalment clears or moves that date.
    """
    lines = session.execute(
        select(RepaymentLine.amount, Repayment.paid_on)
        .join(Repayment, Repayment.id == RepaymentLine.repayment_id)
        .where(RepaymentLine.loan_id == loan.id, Repayment.reversed_at.is_(None))
        .order_by(Repayment.id)
    ).all()
    instalments = session.scalars(
        select(Instalment)
        .where(Instalment.loan_id == loan.id)
        .order_by(Instalment.number)
        .execution_options(populate_existing=True)
    ).all()
    for inst, paid, completed_on in replay_instalments(
        [(i.amount_due, i) for i in instalments], [(int(a), on) for a, on in lines]
    ):
        inst.amount_paid = paid
        inst.fully_paid_on = completed_on


def reverse_repayment(
    session: Session,
    repayment: Repayment,
    *,
    now: datetime,
    by: str,
    reason: str,
    source: str,
) -> list[Loan]:
    """Mark a repayment reversed and recompute the instalments of every loan it touched."""
    if repayment.reversed_at is not None:
        raise Refused("already_reversed", receipt=repayment.receipt)
    loan_ids = [line.loan_id for line in repayment.lines]
    loans = _lock_loans(session, select(Loan).where(Loan.id.in_(loan_ids)).order_by(Loan.id))
    before = {"amount": repayment.amount, "paid_on": repayment.paid_on.isoformat()}
    repayment.reversed_at = now
    repayment.reversed_by = by[:80]
    repayment.reverse_reason = reason[:200]
    session.flush()
    for loan in loans:
        respread(session, loan)
    session.flush()
    _close_repaid(session, [lo for lo in loans if lo.status != LoanStatus.WRITTEN_OFF], now)
    audit.record(
        session,
        actor=by,
        action="repayment.reverse",
        target=f"receipt:{repayment.receipt}",
        source=source,
        at=now,
        member_id=repayment.member_id,
        before=before,
        after={"reversed": True},
        reason=reason,
    )
    return list(loans)


def find_repayment(session: Session, receipt: str) -> Repayment:
    """The repayment with this receipt code; NotFound otherwise."""
    repayment = session.scalar(select(Repayment).where(Repayment.receipt == codes.normalise(receipt)))
    if repayment is None:
        raise NotFound(receipt)
    return repayment


def savings_balance(session: Session, member_id: int) -> int:
    """The member's savings: the sum of the ledger."""
    # SUM over BIGINT is NUMERIC on PostgreSQL: cast back to int so money stays integer XOF.
    return int(
        session.scalar(
            select(func.coalesce(func.sum(SavingsEntry.amount), 0)).where(SavingsEntry.member_id == member_id)
        )
    )


def _lock_member(session: Session, member: Member) -> None:
    lock_member(session, member.id)


def post_savings(
    session: Session,
    *,
    member: Member,
    kind: SavingsKind,
    amount: int,
    entry_on: date,
    now: datetime,
    source: str,
    recorded_by: Member | None = None,
    external_id: str | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> tuple[SavingsEntry, int]:
    """Post an opening, deposit or withdrawal (amount > 0); return the entry and the new balance."""
    if not 0 < amount <= AMOUNT_CEILING:
        raise Refused("amount", amount=amount)
    _lock_member(session, member)
    balance = savings_balance(session, member.id)
    signed = -amount if kind == SavingsKind.WITHDRAWAL else amount
    if balance + signed < 0:
        raise Refused("insufficient_savings", balance=balance)
    entry = SavingsEntry(
        member_id=member.id,
        kind=kind,
        amount=signed,
        entry_on=entry_on,
        created_at=now,
        recorded_by_id=recorded_by.id if recorded_by is not None else None,
        source=source,
        external_id=external_id,
        note=note,
    )
    session.add(entry)
    session.flush()
    if kind in RECEIPT_PREFIX:
        entry.receipt = codes.encode(RECEIPT_PREFIX[kind], entry.id)
    audit.record(
        session,
        actor=actor or audit.actor_of(recorded_by),
        action=f"savings.{kind}",
        target=f"receipt:{entry.receipt}" if entry.receipt else f"member:{member.id}",
        source=source,
        at=now,
        member_id=member.id,
        before={"balance": balance},
        after={"balance": balance + signed, "amount": signed},
    )
    return entry, balance + signed


def reverse_savings(
    session: Session, entry: SavingsEntry, *, now: datetime, by: str, reason: str, source: str
) -> tuple[SavingsEntry, int]:
    """Cancel a deposit or withdrawal with a reversal entry; never below a zero balance."""
    if entry.kind not in (SavingsKind.DEPOSIT, SavingsKind.WITHDRAWAL):
        raise Refused("not_reversible", receipt=entry.receipt)
    member = session.get(Member, entry.member_id)
    _lock_member(session, member)
    if session.scalar(select(SavingsEntry.id).where(SavingsEntry.reverses_id == entry.id)):
        raise Refused("already_reversed", receipt=entry.receipt)
    balance = savings_balance(session, entry.member_id)
    if balance - entry.amount < 0:
        raise Refused("insufficient_savings", balance=balance)
    reversal = SavingsEntry(
        member_id=entry.member_id,
        kind=SavingsKind.REVERSAL,
        amount=-entry.amount,
        entry_on=now.date(),
        created_at=now,
        source=source,
        reverses_id=entry.id,
        note=reason[:200],
    )
    session.add(reversal)
    audit.record(
        session,
        actor=by,
        action="savings.reverse",
        target=f"receipt:{entry.receipt}",
        source=source,
        at=now,
        member_id=entry.member_id,
        before={"balance": balance},
        after={"balance": balance - entry.amount},
        reason=reason,
    )
    session.flush()
    return reversal, balance - entry.amount


def find_savings_entry(session: Session, receipt: str) -> SavingsEntry:
    """The deposit or withdrawal with this receipt code; NotFound otherwise."""
    entry = session.scalar(select(SavingsEntry).where(SavingsEntry.receipt == codes.normalise(receipt)))
    if entry is None:
        raise NotFound(receipt)
    return entry


def write_off(session: Session, loan: Loan, *, now: datetime, actor: str, reason: str, source: str) -> None:
    """Write a loan off: no more reminders, shown apart in reports."""
    if loan.status != LoanStatus.ACTIVE:
        raise Refused("not_active", status=loan.status)
    outstanding = sum(i.unpaid for i in loan.instalments)
    loan.status = LoanStatus.WRITTEN_OFF
    loan.closed_at = now
    audit.record(
        session,
        actor=actor,
        action="loan.write_off",
        target=f"loan:{loan.reference}",
        source=source,
        at=now,
        member_id=loan.member_id,
        before={"status": LoanStatus.ACTIVE, "outstanding": outstanding},
        after={"status": LoanStatus.WRITTEN_OFF},
        reason=reason,
    )

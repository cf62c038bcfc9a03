"""One function per SMS command, named by its spec in sms/commands/registry.py; each stages its changes.

Who may do what: a sender acts only on members of their own cooperative; only an active treasurer
or the president records money, answers declarations, resets PINs or asks a balance (the spec's
`who`, checked before the handler runs, so `req.sender` is that treasurer here); nobody
records on their own loan or savings. Lock order, the same everywhere: the member concerned
(FOR UPDATE on PostgreSQL), then their declaration, then their loans (models.ledger); SQLite
serialises whole transactions (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from i18n.formatting import format_money, format_short_date
from models import audit
from models.activity import RepaymentDeclaration
from models.cooperative import Member
from models.database import is_postgres
from models.declarations import decide, find_by_code, pending_of
from models.enums import DeclarationStatus, LoanStatus, SavingsKind, SmsKind, Source
from models.errors import Refused
from models.ledger import post_savings, record_repayment
from models.ledger_tables import Instalment, Loan, Repayment, SavingsEntry
from models.pin import reset_pin
from models.position import member_position
from sms.commands import texts as T
from sms.commands.errors import Refusal
from sms.commands.messenger import Text, label, text
from sms.commands.request import Outcome, Request, both_sides, minutes_ago
from sms.commands.spec import Command

RESEND_WINDOW = timedelta(minutes=30)


# --- PAY ------------------------------------------------------------------------------------------


def check_plausible(req: Request, cmd: Command, member: Member, remaining: int | None) -> None:
    """Below MIN_PLAUSIBLE_AMOUNT and not exactly what remains: held until resent with OK.

    A dropped "000" (`PAY 77 000 00 07 5`) must not become a real entry.
    """
    if cmd.force or cmd.amount >= req.config.MIN_PLAUSIBLE_AMOUNT or cmd.amount == remaining:
        return
    if remaining is not None and cmd.amount > remaining:
        return  # refused anyway, with what remains: that answer helps more
    again = " ".join((req.inbound.text or "").split()) + " OK"
    raise Refusal(
        "implausible",
        text(
            T.IMPLAUSIBLE, coop=req.coop, amount=format_money(cmd.amount), member=label(member), again=again
        ),
    )


def pay(req: Request, cmd: Command) -> Outcome:
    """Record a repayment; receipts to the member and the treasurer."""
    treasurer = req.sender
    member = req.member(cmd.member, lock=True)
    req.not_own(member)
    loan = None
    if cmd.loan_ref:
        loan = req.session.scalar(
            select(Loan).where(
                Loan.member_id == member.id,
                func.upper(Loan.reference) == cmd.loan_ref.upper(),
                # A written-off loan still takes payments: they are recoveries (models.ledger).
                Loan.status.in_((LoanStatus.ACTIVE, LoanStatus.WRITTEN_OFF)),
            )
        )
        if loan is None:
            raise Refusal(
                "unknown_loan", text(T.UNKNOWN_LOAN, coop=req.coop, loan=cmd.loan_ref, member=label(member))
            )
    if loan is not None:
        check_plausible(req, cmd, member, _loan_remaining(req.session, loan.id))
    else:
        check_plausible(req, cmd, member, member_position(req.session, member.id, req.today).outstanding)
    if not cmd.force:
        earlier = req.session.scalar(
            select(Repayment)
            .where(
                Repayment.recorded_by_id == treasurer.id,
                Repayment.member_id == member.id,
                Repayment.amount == cmd.amount,
                Repayment.recorded_at >= req.now - RESEND_WINDOW,
                Repayment.reversed_at.is_(None),
            )
            .order_by(Repayment.recorded_at.desc(), Repayment.id.desc())
            .limit(1)
        )
        if earlier is not None:
            raise _resend_refusal(req, member, cmd.amount, earlier.receipt, earlier.recorded_at)
    declaration = pending_of(req.session, member.id, lock=True)
    if declaration is not None and declaration.amount != cmd.amount:
        declaration = None
    repayment = _record(
        req, member, treasurer, cmd.amount, cmd.paid_on or req.today, req.source, loan, declaration
    )
    return Outcome(cmd.keyword, "posted", repayment.receipt)


def _loan_remaining(session: Session, loan_id: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Instalment.amount_due - Instalment.amount_paid), 0)).where(
                Instalment.loan_id == loan_id
            )
        )
    )


def _record(
    req: Request,
    member: Member,
    treasurer: Member,
    amount: int,
    paid_on: date,
    source: str,
    loan: Loan | None,
    declaration: RepaymentDeclaration | None,
    *,
    answering: bool = False,
) -> Repayment:
    """Post the repayment (confirming the declaration it answers) and send both receipts.

    `answering` is an OUI: a refusal then speaks of the declaration rather than of a PAY.
    """
    try:
        allocation = record_repayment(
            req.session,
            member=member,
            amount=amount,
            paid_on=paid_on,
            now=req.now,
            source=source,
            recorded_by=treasurer,
            loan=loan,
            external_id=req.external_id,
            declaration_id=declaration.id if declaration is not None else None,
        )
    except Refused as exc:
        if answering and declaration is not None and exc.code in ("too_much", "no_active_loan"):
            # An OUI: the amount is checked again against what remains now.
            remaining = exc.details.get("remaining", 0)
            raise Refusal(
                "declaration_too_much",
                text(
                    T.DECLARATION_TOO_MUCH,
                    coop=req.coop,
                    code=declaration.code,
                    amount=format_money(amount),
                    member=label(member),
                    remaining=format_money(remaining),
                ),
            ) from exc
        raise req.money_refusal(exc, member, amount) from exc
    repayment = allocation.repayment
    extra: tuple[Text, ...] = ()
    if declaration is not None:
        decide(
            req.session,
            declaration,
            status=DeclarationStatus.CONFIRMED,
            by=treasurer,
            now=req.now,
            source=req.source,
        )
        extra = (text(T.DECLARATION_CONFIRMED, code=declaration.code),)
    # A recovery's "still owed" is what remains of the written-off loans, which outstanding leaves out.
    if allocation.recovery:
        outstanding = allocation.outstanding_after
    else:
        outstanding = member_position(req.session, member.id, req.today).outstanding
    receipt = text(
        T.RECOVERY_RECEIPT if allocation.recovery else T.PAY_RECEIPT,
        coop=req.coop,
        member=label(member),
        amount=format_money(amount),
        day=format_short_date(paid_on),
        treasurer=label(treasurer),
        receipt=repayment.receipt,
        outstanding=format_money(outstanding),
    )
    for person in both_sides(member, treasurer):
        req.out.tell(person, SmsKind.RECEIPT, receipt, *extra)
    return repayment


def _resend_refusal(req: Request, member: Member, amount: int, receipt: str | None, at: datetime) -> Refusal:
    return Refusal(
        "resend_guard",
        text(
            T.RESEND_GUARD,
            coop=req.coop,
            minutes=minutes_ago(req.now, at),
            amount=format_money(amount),
            member=label(member),
            receipt=receipt or "-",
        ),
    )


# --- DEP and RETRAIT ------------------------------------------------------------------------------


def deposit(req: Request, cmd: Command) -> Outcome:
    """Record a savings deposit; receipts to both sides."""
    return _savings(req, cmd, SavingsKind.DEPOSIT)


def withdraw(req: Request, cmd: Command) -> Outcome:
    """Record a savings withdrawal, never below 0; receipts to both sides."""
    return _savings(req, cmd, SavingsKind.WITHDRAWAL)


def _savings(req: Request, cmd: Command, kind: SavingsKind) -> Outcome:
    treasurer = req.sender
    member = req.member(cmd.member, lock=True)
    req.not_own(member)
    signed = -cmd.amount if kind == SavingsKind.WITHDRAWAL else cmd.amount
    # Withdrawing the whole of a small balance is plausible; a deposit has no "what remains".
    savings = member_position(req.session, member.id, req.today).savings
    check_plausible(req, cmd, member, savings if kind == SavingsKind.WITHDRAWAL else None)
    if not cmd.force:
        reversal = aliased(SavingsEntry)
        earlier = req.session.scalar(
            select(SavingsEntry)
            .where(
                SavingsEntry.recorded_by_id == treasurer.id,
                SavingsEntry.member_id == member.id,
                SavingsEntry.kind == kind,
                SavingsEntry.amount == signed,
                SavingsEntry.created_at >= req.now - RESEND_WINDOW,
                ~select(reversal.id).where(reversal.reverses_id == SavingsEntry.id).exists(),
            )
            .order_by(SavingsEntry.created_at.desc(), SavingsEntry.id.desc())
            .limit(1)
        )
        if earlier is not None:
            raise _resend_refusal(req, member, cmd.amount, earlier.receipt, earlier.created_at)
    entry_on = cmd.paid_on or req.today
    try:
        entry, balance = post_savings(
            req.session,
            member=member,
            kind=kind,
            amount=cmd.amount,
            entry_on=entry_on,
            now=req.now,
            source=req.source,
            recorded_by=treasurer,
            external_id=req.external_id,
        )
    except Refused as exc:
        raise req.money_refusal(exc, member, cmd.amount) from exc
    values = {
        "coop": req.coop,
        "member": label(member),
        "amount": format_money(cmd.amount),
        "treasurer": label(treasurer),
        "receipt": entry.receipt,
        "balance": format_money(balance),
    }
    if kind == SavingsKind.DEPOSIT:
        receipt = text(T.DEP_RECEIPT, day=format_short_date(entry_on), **values)
    else:
        receipt = text(T.RETRAIT_RECEIPT, **values)
    for person in both_sides(member, treasurer):
        req.out.tell(person, SmsKind.RECEIPT, receipt)
    return Outcome(cmd.keyword, "posted", entry.receipt)


# --- OUI and NON ----------------------------------------------------------------------------------

_ALREADY = {
    DeclarationStatus.CONFIRMED: T.DECLARATION_ALREADY_CONFIRMED,
    DeclarationStatus.REJECTED: T.DECLARATION_ALREADY_REJECTED,
    DeclarationStatus.EXPIRED: T.DECLARATION_ALREADY_EXPIRED,
    DeclarationStatus.REPLACED: T.DECLARATION_ALREADY_REPLACED,
}


def confirm(req: Request, cmd: Command) -> Outcome:
    """OUI: confirm a declaration, which posts its repayment; the first answer wins."""
    return _answer(req, cmd, confirmed=True)


def reject(req: Request, cmd: Command) -> Outcome:
    """NON: reject a declaration; the member is told; the first answer wins."""
    return _answer(req, cmd, confirmed=False)


def _answer(req: Request, cmd: Command, *, confirmed: bool) -> Outcome:
    treasurer = req.sender
    if cmd.code is None:
        return _pending_declarations(req, cmd, treasurer)
    found = find_by_code(req.session, treasurer.cooperative_id, cmd.code)
    if found is None:
        raise Refusal("unknown_declaration", text(T.DECLARATION_UNKNOWN, coop=req.coop, code=cmd.code))
    member = req.lock_member(found.member_id)
    declaration = req.session.get(
        RepaymentDeclaration, found.id, with_for_update=is_postgres(req.session), populate_existing=True
    )
    if declaration.member_id == treasurer.id:
        raise Refusal("own_account", text(T.OWN_ACCOUNT, coop=req.coop))
    if declaration.status != DeclarationStatus.PENDING:
        decider = req.session.get(Member, declaration.decided_by_id) if declaration.decided_by_id else None
        raise Refusal(
            f"already_{declaration.status}",
            text(
                _ALREADY[DeclarationStatus(declaration.status)],
                coop=req.coop,
                code=declaration.code,
                who=label(decider) if decider is not None else "-",
            ),
        )
    if confirmed:
        # The member paid on the day they declared it (at most 72 h ago: within the 7-day backdating).
        paid_on = declaration.created_at.astimezone(req.config.tz).date()
        # Money confirmed from a declaration records `ussd` (the member's declaration is where it
        # came from), except when the OUI was the simulator's: what the simulator injects says so.
        source = Source.SIMULATOR if req.source == Source.SIMULATOR else Source.USSD
        repayment = _record(
            req, member, treasurer, declaration.amount, paid_on, source, None, declaration, answering=True
        )
        return Outcome(cmd.keyword, "posted", repayment.receipt)
    decide(
        req.session,
        declaration,
        status=DeclarationStatus.REJECTED,
        by=treasurer,
        now=req.now,
        source=req.source,
    )
    amount = format_money(declaration.amount)
    req.out.tell(
        member,
        SmsKind.NOTICE,
        text(
            T.DECLARATION_REJECTED_MEMBER,
            coop=req.coop,
            amount=amount,
            code=declaration.code,
            treasurer=label(treasurer),
        ),
    )
    req.out.tell(
        treasurer,
        SmsKind.NOTICE,
        text(
            T.DECLARATION_REJECTED_DONE,
            coop=req.coop,
            code=declaration.code,
            member=label(member),
            amount=amount,
        ),
    )
    return Outcome(cmd.keyword, "done", declaration.code)


# --- PIN, SOLDE, AIDE -----------------------------------------------------------------------------


MAX_LISTED = 3  # declarations named in one reply to a bare OUI/NON; the rest by count


def _pending_declarations(req: Request, cmd: Command, treasurer: Member) -> Outcome:
    """OUI/NON without a code: name the one pending declaration, list several, or say none is."""
    rows = req.session.execute(
        select(RepaymentDeclaration, Member)
        .join(Member, Member.id == RepaymentDeclaration.member_id)
        .where(
            Member.cooperative_id == treasurer.cooperative_id,
            RepaymentDeclaration.status == DeclarationStatus.PENDING,
            RepaymentDeclaration.member_id != treasurer.id,
        )
        .order_by(RepaymentDeclaration.created_at, RepaymentDeclaration.id)
    ).all()
    if not rows:
        req.reply(text(T.NO_PENDING_DECLARATION, coop=req.coop))
    elif len(rows) == 1:
        declaration, member = rows[0]
        req.reply(
            text(
                T.ONE_PENDING_DECLARATION,
                coop=req.coop,
                member=label(member),
                amount=format_money(declaration.amount),
                code=declaration.code,
            )
        )
    else:
        items = "; ".join(
            f"{d.code} {m.member_no} {format_money(d.amount)}" for d, m in rows[:MAX_LISTED]
        ) + (f"; +{len(rows) - MAX_LISTED}" if len(rows) > MAX_LISTED else "")
        req.reply(text(T.PENDING_DECLARATIONS, coop=req.coop, count=len(rows), items=items))
    return Outcome(cmd.keyword, "replied", str(len(rows)))


def pin(req: Request, cmd: Command) -> Outcome:
    """Clear a member's PIN, wrong-PIN count and lock; the member is told and chooses a new PIN."""
    treasurer = req.sender
    member = req.member(cmd.member, lock=True)
    if member.id == treasurer.id:
        # A stolen phone must not be enough to take over its owner's PIN.
        raise Refusal("own_pin", text(T.OWN_PIN, coop=req.coop))
    reset_pin(req.session, member, actor=audit.actor_of(treasurer), source=req.source, now=req.now)
    req.out.tell(
        member,
        SmsKind.NOTICE,
        text(T.PIN_RESET_MEMBER, coop=req.coop, treasurer=label(treasurer), ussd=req.ussd),
    )
    req.out.tell(treasurer, SmsKind.NOTICE, text(T.PIN_RESET_DONE, coop=req.coop, member=label(member)))
    return Outcome(cmd.keyword, "done", str(member.id))

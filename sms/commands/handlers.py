"""One function per SMS command, named by its spec in sms/commands/registry.py; each stages its changes.

Who may do what: a sender acts only on members of their own cooperative; only an active treasurer
or the president records money, answers declarations, resets PINs or asks a balance (the spec's
`who`, checked before the handler runs, so `req.sender` is that treasurer here); nobody
records on their own loan or savings. Lock order, the same everywhere: the member concerned
(FOR UPDATE on PostgreSQL), then their declaration, then their loans (models.ledger); SQLite
serialises whole transactions (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from config import Config
from i18n.formatting import format_money, format_short_date
from models import audit, codes, member_key
from models.activity import RepaymentDeclaration
from models.cooperative import Member
from models.database import for_update, is_postgres
from models.declarations import decide, find_by_code, pending_of
from models.enums import DeclarationStatus, LoanStatus, MemberStatus, SavingsKind, SmsKind, Source
from models.errors import Refused
from models.ledger import post_savings, record_repayment, reverse_repayment, reverse_savings
from models.ledger_tables import Loan, Repayment, SavingsEntry
from models.messaging import InboundSms
from models.pin import reset_pin
from models.position import member_position
from sms.commands import texts as T
from sms.commands.errors import Refusal
from sms.commands.messenger import Messenger, Text, label, text
from sms.commands.spec import Command, MemberRef

RESEND_WINDOW = timedelta(minutes=30)
EXTERNAL_ID_LENGTH = 80  # Repayment.external_id and SavingsEntry.external_id
CANCEL_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Outcome:
    """What a message came to: posted (money moved), done, replied, refused, duplicate or ignored."""

    keyword: str | None
    result: str
    detail: str = ""


@dataclass
class Request:
    """One incoming command and what its handler needs: who wrote, when, and where replies go."""

    session: Session
    inbound: InboundSms
    sender: Member | None
    now: datetime
    today: date
    config: Config
    out: Messenger

    @property
    def external_id(self) -> str:
        """The key that makes this message's money change unique: its gateway id (hashed if too long)."""
        return external_id_of(self.inbound)

    @property
    def source(self) -> str:
        """What this message's own changes record as their source: `simulator` or `sms`.

        Decided by the webhook from its trusted marker and stored with the inbound row
        (ussd_app.origin), so a retry records the same source as the first attempt.
        """
        return self.inbound.source

    @property
    def coop(self) -> str:
        """The sender's cooperative code, first word of every SMS."""
        return self.sender.cooperative.code if self.sender is not None else "Mbolo"

    def reply(self, *texts: Text) -> None:
        """Answer the sender (within the reply limits)."""
        self.out.reply(self.inbound.from_phone, self.sender, *texts)

    def recorder(self, keyword: str) -> Member:
        """The sender, when an active treasurer or president; else a refusal."""
        if self.sender is None:
            raise Refusal("not_registered", text(T.NOT_REGISTERED))
        if not self.sender.can_record_money or self.sender.status != MemberStatus.ACTIVE:
            raise Refusal("not_allowed", text(T.NOT_ALLOWED, coop=self.coop, keyword=str(keyword)))
        return self.sender

    def member(self, ref: MemberRef, *, lock: bool = False) -> Member:
        """The member of the sender's cooperative the reference names (locked when asked)."""
        stmt = select(Member).where(Member.cooperative_id == self.sender.cooperative_id)
        if ref.phone:
            stmt = stmt.where(Member.phone == ref.phone)
        else:
            stmt = stmt.where(Member.member_key == member_key(ref.member_no or ""))
        found = self.session.scalar(for_update(self.session, stmt) if lock else stmt)
        if found is None:
            raise Refusal("unknown_member", text(T.UNKNOWN_MEMBER, coop=self.coop, who=str(ref)))
        return found

    def not_own(self, member: Member) -> None:
        """Nobody records on their own loan or savings."""
        if member.id == self.sender.id:
            raise Refusal("own_account", text(T.OWN_ACCOUNT, coop=self.coop))

    def lock_member(self, member_id: int) -> Member:
        """The member row, locked FOR UPDATE on PostgreSQL (first lock of every money change)."""
        stmt = for_update(self.session, select(Member).where(Member.id == member_id))
        return self.session.scalars(stmt).one()

    def money_refusal(self, exc: Refused, member: Member, amount: int) -> Refusal:
        """A ledger refusal as the reply a treasurer reads."""
        who = label(member)
        if exc.code == "too_much":
            remaining = format_money(exc.details.get("remaining", 0))
            return Refusal(
                "too_much",
                text(
                    T.TOO_MUCH, coop=self.coop, amount=format_money(amount), member=who, remaining=remaining
                ),
            )
        if exc.code == "no_active_loan":
            return Refusal("no_active_loan", text(T.NO_ACTIVE_LOAN, coop=self.coop, member=who))
        if exc.code == "insufficient_savings":
            balance = format_money(exc.details.get("balance", 0))
            return Refusal(
                "insufficient_savings",
                text(T.INSUFFICIENT_SAVINGS, coop=self.coop, member=who, balance=balance),
            )
        raise exc


def external_id_of(inbound: InboundSms) -> str:
    """The inbound gateway id as a ledger `external_id` (80 characters; longer ids are hashed)."""
    if len(inbound.gateway_id) <= EXTERNAL_ID_LENGTH:
        return inbound.gateway_id
    return "sha256:" + hashlib.sha256(inbound.gateway_id.encode()).hexdigest()[:64]


def minutes_ago(now: datetime, then: datetime) -> int:
    """Whole minutes between two instants, at least 1 (\"0 min ago\" reads as a mistake)."""
    return max(1, int((now - then).total_seconds() // 60))


# --- PAY ------------------------------------------------------------------------------------------


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
                Loan.status == LoanStatus.ACTIVE,
            )
        )
        if loan is None:
            raise Refusal(
                "unknown_loan", text(T.UNKNOWN_LOAN, coop=req.coop, loan=cmd.loan_ref, member=label(member))
            )
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
    outstanding = member_position(req.session, member.id, req.today).outstanding
    receipt = text(
        T.PAY_RECEIPT,
        coop=req.coop,
        member=label(member),
        amount=format_money(amount),
        day=format_short_date(paid_on),
        treasurer=label(treasurer),
        receipt=repayment.receipt,
        outstanding=format_money(outstanding),
    )
    for person in _both(member, treasurer):
        req.out.tell(person, SmsKind.RECEIPT, receipt, *extra)
    return repayment


def _both(member: Member, treasurer: Member) -> list[Member]:
    """The two sides of a receipt, once each."""
    return [member] if member.id == treasurer.id else [member, treasurer]


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
    for person in _both(member, treasurer):
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


# --- ANNULE ---------------------------------------------------------------------------------------


def cancel(req: Request, cmd: Command) -> Outcome:
    """Reverse a repayment (R…) or a deposit/withdrawal (D…/W…) its recorder made within 24 h."""
    sender = req.sender
    receipt = codes.normalise(cmd.code)
    unknown = Refusal("unknown_receipt", text(T.RECEIPT_UNKNOWN, coop=req.coop, receipt=receipt))
    if not codes.is_valid(receipt):
        raise unknown
    if receipt.startswith("R"):
        row = req.session.scalar(select(Repayment).where(Repayment.receipt == receipt))
        at = row.recorded_at if row is not None else None
    elif receipt[0] in "DW":
        row = req.session.scalar(select(SavingsEntry).where(SavingsEntry.receipt == receipt))
        at = row.created_at if row is not None else None
    else:
        raise unknown
    if row is None:
        raise unknown
    member = req.lock_member(row.member_id)
    if member.cooperative_id != sender.cooperative_id:
        raise unknown
    req.session.refresh(row)
    if _is_reversed(req.session, row):
        raise Refusal("already_reversed", text(T.REVERSE_ALREADY, coop=req.coop, receipt=receipt))
    if row.recorded_by_id is None:
        raise Refusal("coordinator_only", text(T.REVERSE_COORDINATOR, coop=req.coop, receipt=receipt))
    if row.recorded_by_id != sender.id:
        recorder = req.session.get(Member, row.recorded_by_id)
        raise Refusal(
            "not_recorder", text(T.REVERSE_NOT_YOURS, coop=req.coop, who=label(recorder), receipt=receipt)
        )
    if req.now - at > CANCEL_WINDOW:
        raise Refusal("too_old", text(T.REVERSE_TOO_OLD, coop=req.coop, receipt=receipt))
    by = audit.actor_of(sender)
    reason = f"ANNULE by SMS {req.inbound.gateway_id}"
    values = {"coop": req.coop, "receipt": receipt, "member": label(member), "treasurer": label(sender)}
    if isinstance(row, Repayment):
        reverse_repayment(req.session, row, now=req.now, by=by, reason=reason, source=req.source)
        outstanding = member_position(req.session, member.id, req.today).outstanding
        notice = text(
            T.REPAYMENT_REVERSED,
            amount=format_money(row.amount),
            outstanding=format_money(outstanding),
            **values,
        )
    else:
        try:
            _, balance = reverse_savings(
                req.session, row, now=req.now, by=by, reason=reason, source=req.source
            )
        except Refused as exc:
            balance = format_money(exc.details.get("balance", 0))
            raise Refusal(
                "insufficient_savings",
                text(
                    T.REVERSE_INSUFFICIENT,
                    coop=req.coop,
                    receipt=receipt,
                    member=label(member),
                    balance=balance,
                ),
            ) from exc
        notice = text(
            T.SAVINGS_REVERSED, amount=format_money(abs(row.amount)), balance=format_money(balance), **values
        )
    for person in _both(member, sender):
        req.out.tell(person, SmsKind.RECEIPT, notice)
    return Outcome(cmd.keyword, "posted", receipt)


def _is_reversed(session: Session, row: Repayment | SavingsEntry) -> bool:
    if isinstance(row, Repayment):
        return row.reversed_at is not None
    return session.scalar(select(SavingsEntry.id).where(SavingsEntry.reverses_id == row.id)) is not None


# --- PIN, SOLDE, AIDE -----------------------------------------------------------------------------


def pin(req: Request, cmd: Command) -> Outcome:
    """Clear a member's PIN, wrong-PIN count and lock; the member is told and chooses a new PIN."""
    treasurer = req.sender
    member = req.member(cmd.member, lock=True)
    if member.id == treasurer.id:
        # A stolen phone must not be enough to take over its owner's PIN.
        raise Refusal("own_pin", text(T.OWN_PIN, coop=req.coop))
    reset_pin(req.session, member, actor=audit.actor_of(treasurer), source=req.source, now=req.now)
    req.out.tell(member, SmsKind.NOTICE, text(T.PIN_RESET_MEMBER, coop=req.coop, treasurer=label(treasurer)))
    req.out.tell(treasurer, SmsKind.NOTICE, text(T.PIN_RESET_DONE, coop=req.coop, member=label(member)))
    return Outcome(cmd.keyword, "done", str(member.id))


def balance(req: Request, cmd: Command) -> Outcome:
    """Savings, outstanding and days late of a member of the sender's cooperative."""
    member = req.member(cmd.member)
    position = member_position(req.session, member.id, req.today)
    texts = [
        text(
            T.BALANCE,
            coop=req.coop,
            member=label(member),
            savings=format_money(position.savings),
            outstanding=format_money(position.outstanding),
            days=position.days_late,
        )
    ]
    pending = pending_of(req.session, member.id)
    if pending is not None:
        texts.append(text(T.BALANCE_PENDING, amount=format_money(pending.amount), code=pending.code))
    req.reply(*texts)
    return Outcome(cmd.keyword, "replied")


def help_texts(req: Request) -> tuple[Text, ...]:
    """The commands this sender may use."""
    if req.sender is None:
        return (text(T.NOT_REGISTERED),)
    if req.sender.can_record_money and req.sender.status == MemberStatus.ACTIVE:
        return (text(T.HELP_RECORDER),)
    return (text(T.HELP_MEMBER, coop=req.coop),)


def aide(req: Request, cmd: Command) -> Outcome:
    """List the commands this sender may use."""
    req.reply(*help_texts(req))
    return Outcome(cmd.keyword, "replied")

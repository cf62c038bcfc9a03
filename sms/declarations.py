"""The declaration lifecycle with its SMS: declared (treasurers told), reminded at 24 h, expired at 72 h.

The state changes are models.declarations'; this module writes who is told what. Messages to
treasurers and the president about declarations are unsolicited, so they wait for the end of the
quiet hours (`QUIET_HOURS`), like the member's expiry notice; receipts never wait.
"""

from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy.orm import Session

from config import Config
from i18n.formatting import format_money
from models.activity import RepaymentDeclaration
from models.cooperative import Cooperative, Member
from models.declarations import Declared, answerers, decide, declare, due_for_expiry, due_for_reminder
from models.enums import DeclarationStatus, SmsKind, Source
from sms.commands import texts as T
from sms.commands.messenger import Messenger, label, text
from sms.sending_hours import SendingHours


def after_quiet_hours(now: datetime, config: Config) -> datetime | None:
    """When an unsolicited notice may go: None (now) outside quiet hours, else the hour they end."""
    return SendingHours.from_config(config).held_until(now)


def declare_repayment(
    session: Session,
    *,
    member: Member,
    amount: int,
    now: datetime,
    config: Config,
    idempotency_key: str | None = None,
    rng: random.Random | None = None,
    source: str = Source.USSD,
) -> Declared:
    """A member's declaration (USSD option 4): recorded, and every treasurer and the president told."""
    today = now.astimezone(config.tz).date()
    declared = declare(
        session,
        member=member,
        amount=amount,
        now=now,
        today=today,
        idempotency_key=idempotency_key,
        rng=rng,
        source=source,
    )
    if declared.created:
        declaration, replaced = declared.declaration, declared.replaced
        values = {
            "coop": _coop_code(session, member),
            "member": label(member),
            "amount": format_money(amount),
            "code": declaration.code,
        }
        if replaced is not None:
            notice = text(T.DECLARATION_REPLACES, old_code=replaced.code, **values)
        else:
            notice = text(T.DECLARATION_NEW, **values)
        out = Messenger(session, now, config)
        send_after = after_quiet_hours(now, config)
        for person in answerers(session, declaration):
            out.tell(person, SmsKind.NOTICE, notice, send_after=send_after)
    return declared


def run_declaration_lifecycle(session: Session, now: datetime, config: Config) -> dict[str, int]:
    """Expire declarations older than 72 h (member told), remind treasurers of those older than 24 h."""
    out = Messenger(session, now, config)
    send_after = after_quiet_hours(now, config)
    expired = 0
    for declaration in due_for_expiry(session, now):
        decide(session, declaration, status=DeclarationStatus.EXPIRED, by=None, now=now, source=Source.SYSTEM)
        member = session.get(Member, declaration.member_id)
        out.tell(
            member,
            SmsKind.NOTICE,
            text(
                T.DECLARATION_EXPIRED_MEMBER,
                coop=_coop_code(session, member),
                amount=format_money(declaration.amount),
                code=declaration.code,
            ),
            send_after=send_after,
        )
        expired += 1
    reminded = 0
    for declaration in due_for_reminder(session, now):
        declaration.reminded_at = now
        _remind(session, out, declaration, send_after)
        reminded += 1
    session.flush()
    return {"expired": expired, "reminded": reminded}


def _remind(session: Session, out: Messenger, declaration: RepaymentDeclaration, send_after) -> None:
    member = session.get(Member, declaration.member_id)
    notice = text(
        T.DECLARATION_REMINDER,
        coop=_coop_code(session, member),
        member=label(member),
        amount=format_money(declaration.amount),
        code=declaration.code,
    )
    for person in answerers(session, declaration):
        out.tell(person, SmsKind.NOTICE, notice, send_after=send_after)


def _coop_code(session: Session, member: Member) -> str:
    return session.get(Cooperative, member.cooperative_id).code


def tick(runtime, now: datetime) -> dict[str, int]:
    """The 10-minute tick's task (sms.tick registry): the lifecycle in one committed transaction."""
    with runtime.sessions() as session:
        summary = run_declaration_lifecycle(session, now, runtime.config)
        session.commit()
    return summary

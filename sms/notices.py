"""Operations that change data and tell the members concerned: the change (models/) and its SMS.

One function per operation, called by the CLI, the web pages, USSD screens and jobs alike; each
stages the change, its audit event and its SMS (outbox, sent after commit) on the caller's
session, so one commit keeps them together.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from config import Config
from i18n.catalog import N_, translate
from i18n.formatting import format_money, format_short_date
from models.cooperative import Cooperative, Member
from models.enums import SmsKind
from models.ledger import reverse_repayment
from models.ledger_tables import Repayment
from models.membership import PhoneChange, set_phone
from models.position import member_position
from sms.commands.texts import USSD_SERVICE
from sms.outbox import queue_sms

MOVED_AWAY = N_(
    "{coop}: votre compte Mbolo est passé sur un autre numéro (...{last}). "
    "Si vous ne l'avez pas demandé, contactez votre coopérative."
)
MOVED_HERE = N_(
    "{coop}: ce numéro est maintenant celui de votre compte Mbolo. "
    "Composez {ussd} et choisissez votre code PIN (4 chiffres)."
)
REVERSED = N_(
    "{coop}: le paiement {receipt} de {amount} du {day} a été annulé par la coopérative. "
    "Reste à payer: {outstanding}."
)


def move_phone(
    session: Session,
    member: Member,
    phone: str,
    *,
    reason: str,
    actor: str,
    source: str,
    now: datetime,
    config: Config,
) -> PhoneChange:
    """Move a member to a new phone (PIN cleared); the old number and the new one are told."""
    change = set_phone(session, member, phone, reason=reason, actor=actor, source=source, now=now)
    coop = session.get(Cooperative, member.cooperative_id)
    notice = {
        "kind": SmsKind.NOTICE,
        "language": member.language,
        "now": now,
        "cooperative_id": coop.id,
        "member_id": member.id,
        "cost_per_segment": config.SMS_COST_PER_SEGMENT,
    }
    if change.old:
        text = translate(member.language, MOVED_AWAY, coop=coop.code, last=phone[-2:])
        queue_sms(session, to=change.old, text=text, **notice)
    # The code the member dials (the first of USSD_SERVICE_CODES) is named, never "the service".
    ussd = next(iter(config.USSD_SERVICE_CODES), None) or translate(member.language, USSD_SERVICE)
    text = translate(member.language, MOVED_HERE, coop=coop.code, ussd=ussd)
    queue_sms(session, to=phone, text=text, **notice)
    return change


def reverse_and_tell(
    session: Session,
    repayment: Repayment,
    *,
    reason: str,
    actor: str,
    source: str,
    now: datetime,
    today: date,
    config: Config,
) -> int:
    """Reverse a repayment of any age, recompute its loans, tell the member; returns what remains owed."""
    reverse_repayment(session, repayment, now=now, by=actor, reason=reason, source=source)
    session.flush()
    member = session.get(Member, repayment.member_id)
    outstanding = member_position(session, member.id, today).outstanding
    if member.phone:
        coop = session.get(Cooperative, member.cooperative_id)
        queue_sms(
            session,
            to=member.phone,
            text=translate(
                member.language,
                REVERSED,
                coop=coop.code,
                receipt=repayment.receipt,
                amount=format_money(repayment.amount),
                day=format_short_date(repayment.paid_on),
                outstanding=format_money(outstanding),
            ),
            kind=SmsKind.NOTICE,
            language=member.language,
            now=now,
            cooperative_id=coop.id,
            member_id=member.id,
            cost_per_segment=config.SMS_COST_PER_SEGMENT,
        )
    return outstanding

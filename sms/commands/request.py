"""What a command handler is given and returns: the `Request` (who wrote, when, where replies go)
and the `Outcome` (posted, done, replied, refused, duplicate or ignored).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Config
from i18n.formatting import format_money
from models import member_key
from models.cooperative import Member
from models.database import for_update
from models.enums import MemberStatus
from models.errors import Refused
from models.messaging import InboundSms
from sms.commands import texts as T
from sms.commands.errors import Refusal
from sms.commands.messenger import Messenger, Text, label, text
from sms.commands.spec import MemberRef

EXTERNAL_ID_LENGTH = 80  # Repayment.external_id and SavingsEntry.external_id


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

    @property
    def ussd(self) -> str | Text:
        """The code members dial (the first configured one), or "the USSD service" when none is set."""
        codes = self.config.USSD_SERVICE_CODES
        return codes[0] if codes else text(T.USSD_SERVICE)

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


def both_sides(member: Member, treasurer: Member) -> list[Member]:
    """The two sides of a receipt, once each."""
    return [member] if member.id == treasurer.id else [member, treasurer]

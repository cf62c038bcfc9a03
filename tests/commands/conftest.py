"""Fixtures for the treasurer commands: a cooperative with its treasurer, president and members,
and `sms`, which delivers a text as the gateway would and hands it to `sms.commands.handle`."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from models import InboundSms, Member, OutboundSms
from models.enums import InboundStatus, Language, Role
from sms.commands import Outcome, handle
from tests import factories


@dataclass
class Coop:
    """The people of the test cooperative (ids; tests reload what they check)."""

    coop_id: int
    treasurer: int
    president: int
    awa: int
    binta: int
    other_treasurer: int  # treasurer of another cooperative


TREASURER = "+221770000001"
PRESIDENT = "+221770000002"
AWA = "+221771234567"
BINTA = "+221781112233"
OTHER_TREASURER = "+221770000009"
STRANGER = "+221765554433"


@pytest.fixture
def coop(db) -> Coop:
    """GIE Ndiambour: treasurer Fatou (fr), president Moussa (wo), members Awa M0012 (fr, loan
    L-001 of 110 000 F in 10 monthly instalments of 11 000 F, the first one late, 5 000 F savings)
    and Binta M0013 (en, no loan); plus a second cooperative with its own treasurer."""
    ndb = factories.coop(db)
    treasurer = factories.member(db, ndb, "T0001", "Fatou Sarr", TREASURER, role=Role.TREASURER)
    president = factories.member(db, ndb, "P0001", "Moussa Ndiaye", PRESIDENT, Role.PRESIDENT, Language.WO)
    awa = factories.member(db, ndb, "M0012", "Awa Diop", AWA, savings=5_000)
    binta = factories.member(db, ndb, "M0013", "Binta Fall", BINTA, language=Language.EN)
    factories.loan(db, awa, "L-001")
    other = factories.coop(db, "GIE Thies", "THS")
    other_treasurer = factories.member(db, other, "T0001", "Ousmane Ba", OTHER_TREASURER, role=Role.TREASURER)
    db.commit()
    return Coop(ndb.id, treasurer.id, president.id, awa.id, binta.id, other_treasurer.id)


@pytest.fixture
def sms(runtime, clock, db):
    """`sms(text, sender_phone, gateway_id=None)` → Outcome: store the inbound row, handle, commit.

    The test's own session (`db`) is committed first: on SQLite every transaction takes the write
    lock at BEGIN, so a read left open there would block the message's transaction.
    """
    ids = itertools.count(1)

    def deliver(text: str, phone: str = TREASURER, gateway_id: str | None = None) -> Outcome:
        db.commit()
        with runtime.sessions() as session:
            inbound = InboundSms(
                gateway_id=gateway_id or f"ATXid_{next(ids):04d}",
                from_phone=phone,
                text=text,
                received_at=clock.now(),
                status=InboundStatus.RECEIVED,
                attempts=0,
            )
            session.add(inbound)
            session.commit()
            sender = session.scalar(select(Member).where(Member.phone == phone))
            outcome = handle(session, inbound, sender, clock.now(), runtime)
            inbound.status = InboundStatus.HANDLED
            session.commit()
        return outcome

    return deliver


@pytest.fixture
def outbox(db):
    """`outbox(to=None, kind=None)` → the outbox rows, oldest first, read afresh."""

    def rows(to: str | None = None, kind: str | None = None) -> list[OutboundSms]:
        db.expire_all()
        stmt = select(OutboundSms).order_by(OutboundSms.id)
        if to:
            stmt = stmt.where(OutboundSms.to == to)
        if kind:
            stmt = stmt.where(OutboundSms.kind == kind)
        return list(db.scalars(stmt))

    return rows

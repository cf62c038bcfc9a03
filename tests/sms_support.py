"""Small builders shared by the SMS platform tests."""

from __future__ import annotations

from sqlalchemy import select

from models.messaging import OutboundSms
from sms.outbox import queue_sms


def queue(db, clock, to="+221770000001", text="Recu R-1: 5 000 F", kind="receipt", **kw) -> OutboundSms:
    """One committed outbox row."""
    row = queue_sms(db, to=to, text=text, kind=kind, language=kw.pop("language", "fr"), now=clock.now(), **kw)
    db.commit()
    return row


def fresh(db, row_id: int) -> OutboundSms:
    """The row as the database holds it now (the read transaction is ended: SQLite writers wait on it)."""
    db.expire_all()
    row = db.scalar(select(OutboundSms).where(OutboundSms.id == row_id))
    db.commit()
    return row

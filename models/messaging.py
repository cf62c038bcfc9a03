"""The SMS outbox, inbound messages, early delivery reports, reminders and USSD events."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime
from models.enums import InboundStatus, SmsStatus, Source


class OutboundSms(Base):
    """One SMS to send; status moves only forward (see SmsStatus)."""

    __tablename__ = "outbound_sms"
    __table_args__ = (
        # The sender polls queued rows whose time has come; the index holds only those.
        Index(
            "ix_outbound_sms_due",
            "next_attempt_at",
            postgresql_where=text("status = 'queued'"),
            sqlite_where=text("status = 'queued'"),
        ),
        Index(
            "ix_outbound_sms_leased",
            "lease_until",
            postgresql_where=text("status = 'sending'"),
            sqlite_where=text("status = 'sending'"),
        ),
        Index("ix_outbound_sms_to_created", "to", "created_at"),
        Index("ix_outbound_sms_coop_created", "cooperative_id", "created_at"),
        Index("ix_outbound_sms_coop_claimed", "cooperative_id", "claimed_at"),
        # /metrics counts rows lost in a crash on every scrape.
        Index(
            "ix_outbound_sms_unknown",
            "kind",
            postgresql_where=text("status = 'unknown'"),
            sqlite_where=text("status = 'unknown'"),
        ),
        # `purge` walks only the rows it has not anonymised yet.
        Index(
            "ix_outbound_sms_unpurged",
            "created_at",
            postgresql_where=text("purged_at IS NULL"),
            sqlite_where=text("purged_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(10), default=SmsStatus.QUEUED)
    cooperative_id: Mapped[int | None] = mapped_column(ForeignKey("cooperative.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    gateway_message_id: Mapped[str | None] = mapped_column(String(100), index=True)
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    send_after: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    segments: Mapped[int] = mapped_column(Integer, default=1)
    cost_raw: Mapped[str | None] = mapped_column(String(40))
    cost: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # First time a sender took the row (the day's budget counts rows by it).
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # From the last delivery report: the operator's network and how often the gateway retried.
    network_code: Mapped[str | None] = mapped_column(String(10))
    retry_count: Mapped[int | None] = mapped_column(Integer)
    # The delivery report was matched by phone number, not by message id (Orange's receipts name
    # the number only): it may belong to another SMS sent to the same number.
    delivery_approximate: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Set by `purge` when the text and number were anonymised (docs/privacy.md, purge).
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EarlyDeliveryReport(Base):
    """A delivery report whose message id is not known yet; kept an hour, applied when it appears."""

    __tablename__ = "early_delivery_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway_message_id: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20))
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The report's phoneNumber: lets a row left `unknown` by a dead worker adopt its report.
    phone: Mapped[str | None] = mapped_column(String(20))
    network_code: Mapped[str | None] = mapped_column(String(10))
    retry_count: Mapped[int | None] = mapped_column(Integer)


class InboundSms(Base):
    """An SMS received by the service; stored before it is handled, unique on the gateway id."""

    __tablename__ = "inbound_sms"
    __table_args__ = (
        Index("ix_inbound_sms_status", "status"),
        # `purge` walks only the rows it has not anonymised yet.
        Index(
            "ix_inbound_sms_unpurged",
            "received_at",
            postgresql_where=text("purged_at IS NULL"),
            sqlite_where=text("purged_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway_id: Mapped[str] = mapped_column(String(100), unique=True)
    from_phone: Mapped[str] = mapped_column(String(20), index=True)
    to: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    link_id: Mapped[str | None] = mapped_column(String(100))
    network_code: Mapped[str | None] = mapped_column(String(10))
    # The gateway's `date` (when the member's phone sent it, UTC); None when absent or unreadable.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # `simulator` when the phone simulator posted it (the webhook's trusted marker), else `sms`:
    # kept with the row so a retried message records the same source as its first attempt.
    source: Mapped[str] = mapped_column(String(12), default=Source.SMS, server_default=Source.SMS.value)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default=InboundStatus.RECEIVED)
    error: Mapped[str | None] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by `purge` when the text and number were anonymised (docs/privacy.md, purge).
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReminderSent(Base):
    """One (instalment, rule) reminder; unique, so each rule fires at most once per instalment."""

    __tablename__ = "reminder_sent"
    __table_args__ = (
        UniqueConstraint("instalment_id", "rule"),
        Index("ix_reminder_sent_day", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instalment_id: Mapped[int] = mapped_column(ForeignKey("instalment.id"))
    # A due-date rule (`W-1`, `M+7` …), an arrears day (`A15`: 15 days after the oldest unpaid
    # due date) or a promise's reminder (`P` + the promise id).
    rule: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date)
    outbound_sms_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_sms.id"), index=True)


class DigestSent(Base):
    """One officer's weekly arrears digest for a day; unique, so a digest goes at most once."""

    __tablename__ = "digest_sent"
    __table_args__ = (UniqueConstraint("member_id", "day"), Index("ix_digest_sent_day", "day"))

    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperative.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))  # the treasurer or president
    day: Mapped[date] = mapped_column(Date)
    outbound_sms_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_sms.id"))


class UssdEvent(Base):
    """An end-of-session notice from the aggregator, stored without its `input` field."""

    __tablename__ = "ussd_event"
    __table_args__ = (
        # `purge` walks only the rows it has not anonymised yet.
        Index(
            "ix_ussd_event_unpurged",
            "received_at",
            postgresql_where=text("purged_at IS NULL"),
            sqlite_where=text("purged_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(100), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Set by `purge` when the payload and number were anonymised (docs/privacy.md, purge).
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Append-only record of every change of money, PIN reset, phone/role change, import and admin act."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_target", "target"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(80))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(300))

"""Closed vocabularies of the data model, stored as short strings."""

from enum import StrEnum


class Role(StrEnum):
    """What a member may do by SMS: members use USSD; treasurers and the president record money."""

    MEMBER = "member"
    TREASURER = "treasurer"
    PRESIDENT = "president"


class Language(StrEnum):
    """Languages of screens and SMS; French is the default."""

    FR = "fr"
    WO = "wo"
    EN = "en"


class MemberStatus(StrEnum):
    """active → inactive (no broadcasts, USSD balance only; reminders go on while a loan is active)."""

    ACTIVE = "active"
    INACTIVE = "inactive"


class Frequency(StrEnum):
    """How often a loan's instalments fall due."""

    WEEKLY = "weekly"
    MONTHLY = "monthly"


class LoanStatus(StrEnum):
    """active → repaid (every instalment paid; back to active if a reversal reopens one) | written_off."""

    ACTIVE = "active"
    REPAID = "repaid"
    WRITTEN_OFF = "written_off"


class Source(StrEnum):
    """Where a change came from."""

    SMS = "sms"
    USSD = "ussd"
    IMPORT = "import"
    CLI = "cli"
    SIMULATOR = "simulator"
    SYSTEM = "system"
    WEB = "web"


class SavingsKind(StrEnum):
    """Kinds of savings entries; the ledger is append-only, a reversal is a new entry."""

    OPENING = "opening"
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    REVERSAL = "reversal"


class DeclarationStatus(StrEnum):
    """pending → confirmed | rejected | expired (72 h) | replaced (the member declared again)."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    REPLACED = "replaced"


class SmsKind(StrEnum):
    """Kinds of outbound SMS. Receipts, replies and notices always go at once and are never sent twice;
    reminders and broadcasts wait for daytime, STOP and the budget; digests wait for daytime only."""

    RECEIPT = "receipt"
    REPLY = "reply"
    NOTICE = "notice"
    REMINDER = "reminder"
    BROADCAST = "broadcast"
    DIGEST = "digest"
    PAUSE = "pause"  # the one notice that replies to a sender pause, and until when; never limited

    @property
    def is_bulk(self) -> bool:
        """Reminders and broadcasts: suppressed by STOP and cancelled for the budget."""
        return self in (SmsKind.REMINDER, SmsKind.BROADCAST)

    @property
    def waits_for_daytime(self) -> bool:
        """Held by quiet hours: reminders, broadcasts and the officers' digests."""
        return self in (SmsKind.REMINDER, SmsKind.BROADCAST, SmsKind.DIGEST)

    @property
    def belongs_to_its_day(self) -> bool:
        """Planned for one day: cancelled (expired) once that day's quiet hours begin."""
        return self in (SmsKind.REMINDER, SmsKind.DIGEST)

    @property
    def resent_when_lost(self) -> bool:
        """Sent again after a lost lease or an uncertain answer: a second copy costs only money."""
        return self.waits_for_daytime


class SmsStatus(StrEnum):
    """queued → sending → sent → delivered, or failed | cancelled | unknown; only ever forward."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


class CancelReason(StrEnum):
    """Why an outbound SMS was cancelled before sending."""

    PAID = "paid"
    OPTED_OUT = "opted_out"
    EXPIRED = "expired"
    BUDGET = "budget"


class InboundStatus(StrEnum):
    """received → handled | failed (a sweep retries failed rows)."""

    RECEIVED = "received"
    HANDLED = "handled"
    FAILED = "failed"

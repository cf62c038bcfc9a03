"""Tables and business operations over a plain SQLAlchemy `Session`; no Flask here."""

from models.activity import ProductionBaseline, ProductionReport, RepaymentDeclaration
from models.admin_user import AdminUser
from models.base import Base, UTCDateTime
from models.cooperative import Cooperative, Member, Product, member_key
from models.history_tables import PortfolioSnapshot
from models.ledger_tables import Instalment, Loan, Repayment, RepaymentLine, SavingsEntry
from models.messaging import (
    AuditEvent,
    DigestSent,
    EarlyDeliveryReport,
    InboundSms,
    OutboundSms,
    ReminderSent,
    UssdEvent,
)
from models.promises import Promise, PromiseStatus

__all__ = [
    "AdminUser",
    "AuditEvent",
    "Base",
    "Cooperative",
    "DigestSent",
    "EarlyDeliveryReport",
    "InboundSms",
    "Instalment",
    "Loan",
    "Member",
    "OutboundSms",
    "PortfolioSnapshot",
    "Product",
    "ProductionBaseline",
    "ProductionReport",
    "Promise",
    "PromiseStatus",
    "ReminderSent",
    "Repayment",
    "RepaymentDeclaration",
    "RepaymentLine",
    "SavingsEntry",
    "UTCDateTime",
    "UssdEvent",
    "member_key",
]

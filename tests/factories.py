"""Building test data through the same operations the service uses."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Cooperative, Member, Product, member_key
from models.enums import Frequency, Language, Role, SavingsKind, Source
from models.ledger import create_loan, post_savings
from tests.conftest import DEFAULT_NOW

_seq = {"phone": 0}


def _unused_phone(session: Session) -> str:
    """The next phone of the sequence that no member has: fixtures also write phones of this range
    by hand (`+221770001001`), and how far the sequence has gone depends on the tests run before."""
    while True:
        _seq["phone"] += 1
        phone = f"+22177{_seq['phone']:07d}"
        if session.scalar(select(Member.id).where(Member.phone == phone)) is None:
            return phone


def coop(session: Session, name: str = "GIE Ndiambour", code: str = "NDB", **kw) -> Cooperative:
    """A cooperative."""
    c = Cooperative(
        name=name,
        code=code,
        created_at=DEFAULT_NOW,
        commune=kw.pop("commune", "Louga"),
        region=kw.pop("region", "Louga"),
        **kw,
    )
    session.add(c)
    session.flush()
    return c


def member(
    session: Session,
    cooperative: Cooperative,
    member_no: str = "M0001",
    name: str = "Awa Diop",
    phone: str | None = None,
    role: str = Role.MEMBER,
    language: str = Language.FR,
    savings: int = 0,
    **kw,
) -> Member:
    """A member (with an opening savings entry when `savings` > 0)."""
    if phone is None:
        phone = _unused_phone(session)
    m = Member(
        cooperative_id=cooperative.id,
        member_no=member_no,
        member_key=member_key(member_no),
        name=name,
        phone=phone,
        role=role,
        language=language,
        created_at=DEFAULT_NOW,
        updated_at=DEFAULT_NOW,
        **kw,
    )
    session.add(m)
    session.flush()
    if savings:
        post_savings(
            session,
            member=m,
            kind=SavingsKind.OPENING,
            amount=savings,
            entry_on=DEFAULT_NOW.date(),
            now=DEFAULT_NOW,
            source=Source.IMPORT,
        )
    return m


def loan(
    session: Session,
    borrower: Member,
    reference: str = "L-001",
    principal: int = 100_000,
    interest: int = 10_000,
    installments: int = 10,
    frequency: str = Frequency.MONTHLY,
    disbursed_on: date = date(2026, 10, 1),
    first_due_on: date | None = None,
):
    """A loan with its schedule."""
    return create_loan(
        session,
        member=borrower,
        reference=reference,
        principal=principal,
        interest=interest,
        disbursed_on=disbursed_on,
        installments=installments,
        frequency=frequency,
        first_due_on=first_due_on,
        now=DEFAULT_NOW,
    )


def product(session: Session, cooperative: Cooperative, name: str = "Arachide", unit: str = "kg") -> Product:
    """A product of a cooperative."""
    p = Product(cooperative_id=cooperative.id, name=name, unit=unit, created_at=DEFAULT_NOW)
    session.add(p)
    session.flush()
    return p

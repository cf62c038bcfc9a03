"""`seed-demo`: a demo cooperative to dial as, with loans at every stage.

Idempotent: each member, product and loan is created only when missing (members by number,
products by name, loans by reference), and savings and repayments are posted only with the row
they belong to, so a second run changes nothing. Dates are relative to the day of the first run.
Members start without a PIN: their first dial asks them to choose one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from i18n.formatting import format_date, format_money
from models.cooperative import Cooperative, Member, Product, member_key
from models.directory import find_phone_holder
from models.enums import Frequency, Language, LoanStatus, MemberStatus, Role, SavingsKind, Source
from models.ledger import create_loan, post_savings, record_repayment
from models.ledger_tables import Loan
from models.position import member_position

COOP = {"name": "GIE Mbolo Demo", "code": "DEMO", "commune": "Louga", "region": "Louga"}


@dataclass(frozen=True)
class DemoMember:
    """A demo member and the opening savings posted when it is created."""

    member_no: str
    name: str
    phone: str
    role: str
    language: str
    savings: int


@dataclass(frozen=True)
class DemoLoan:
    """A demo loan, disbursed `days_ago`, with `repaid` paid `paid_days_ago` (recorded by `recorder`)."""

    reference: str
    member_no: str
    principal: int
    interest: int
    installments: int
    frequency: str
    days_ago: int
    repaid: int = 0
    paid_days_ago: int = 0
    recorder: str = "M002"


MEMBERS = (
    DemoMember("M001", "Awa Diop", "+221770000001", Role.PRESIDENT, Language.FR, 25_000),
    DemoMember("M002", "Moussa Ndiaye", "+221770000002", Role.TREASURER, Language.WO, 40_000),
    DemoMember("M003", "Fatou Sow", "+221770000003", Role.MEMBER, Language.WO, 12_500),
    DemoMember("M004", "Aminata Fall", "+221770000004", Role.MEMBER, Language.FR, 30_000),
    DemoMember("M005", "John Mendy", "+221770000005", Role.MEMBER, Language.EN, 8_000),
    DemoMember("M006", "Khady Ba", "+221770000006", Role.MEMBER, Language.FR, 15_000),
    DemoMember("M007", "Ousmane Diallo", "+221770000007", Role.MEMBER, Language.WO, 5_000),
    DemoMember("M008", "Grace Gomis", "+221770000008", Role.MEMBER, Language.EN, 0),
)
PRODUCTS = (("Arachide", "kg"), ("Mil", "kg"), ("Lait", "litre"), ("Bissap", "sac"), ("Savon", "piece"))
LOANS = (
    # Three monthly instalments missed: about two months late.
    DemoLoan("DEMO-001", "M003", 100_000, 10_000, 10, Frequency.MONTHLY, 95),
    # Two instalments paid on time: up to date.
    DemoLoan("DEMO-002", "M004", 60_000, 6_000, 6, Frequency.MONTHLY, 65, repaid=22_000, paid_days_ago=4),
    # Weekly, one instalment paid, two weeks late.
    DemoLoan("DEMO-003", "M005", 20_000, 2_000, 8, Frequency.WEEKLY, 30, repaid=2_750, paid_days_ago=22),
    # Paid in full.
    DemoLoan("DEMO-004", "M006", 30_000, 3_000, 3, Frequency.MONTHLY, 120, repaid=33_000, paid_days_ago=30),
    # Just disbursed: the first instalment is due in about three weeks.
    DemoLoan("DEMO-005", "M007", 50_000, 5_000, 5, Frequency.MONTHLY, 5),
    # Two active loans for one member, the older one late.
    DemoLoan("DEMO-006", "M008", 15_000, 1_500, 6, Frequency.WEEKLY, 50, repaid=5_500, paid_days_ago=30),
    DemoLoan("DEMO-007", "M008", 40_000, 4_000, 4, Frequency.MONTHLY, 10),
    # The treasurer's own loan: the president records its repayments.
    DemoLoan(
        "DEMO-008",
        "M002",
        80_000,
        8_000,
        8,
        Frequency.MONTHLY,
        40,
        repaid=11_000,
        paid_days_ago=9,
        recorder="M001",
    ),
)


@dataclass
class SeedReport:
    """What a run created, and what it had to skip."""

    cooperative: Cooperative
    created: dict[str, int]
    skipped: list[str]


def seed(session: Session, *, now: datetime, today: date, rounding: int = 5) -> SeedReport:
    """Create whatever part of the demo is missing; the caller commits."""
    created = {"members": 0, "products": 0, "loans": 0}
    skipped: list[str] = []
    coop = session.scalar(select(Cooperative).where(Cooperative.name == COOP["name"]))
    if coop is None:
        if session.scalar(select(Cooperative).where(Cooperative.code == COOP["code"])) is not None:
            raise click.ClickException(f"another cooperative already uses the code {COOP['code']}")
        coop = Cooperative(**COOP, demo=True, created_at=now)
        session.add(coop)
        session.flush()
    coop.demo = True

    members: dict[str, Member] = {
        m.member_key: m for m in session.scalars(select(Member).where(Member.cooperative_id == coop.id))
    }
    for spec in MEMBERS:
        key = member_key(spec.member_no)
        if key in members:
            continue
        holder = find_phone_holder(session, spec.phone)
        if holder is not None:
            skipped.append(f"{spec.member_no} {spec.name}: {spec.phone} belongs to another member")
            continue
        member = Member(
            cooperative_id=coop.id,
            member_no=spec.member_no,
            member_key=key,
            name=spec.name,
            phone=spec.phone,
            role=spec.role,
            language=spec.language,
            status=MemberStatus.ACTIVE,
            wrong_pins=0,
            locked=False,
            opted_out=False,
            created_at=now,
            updated_at=now,
        )
        session.add(member)
        session.flush()
        members[key] = member
        created["members"] += 1
        if spec.savings:
            post_savings(
                session,
                member=member,
                kind=SavingsKind.OPENING,
                amount=spec.savings,
                entry_on=today,
                now=now,
                source=Source.CLI,
                note="demo",
            )

    have = set(session.scalars(select(Product.name).where(Product.cooperative_id == coop.id)))
    for name, unit in PRODUCTS:
        if name not in have:
            session.add(Product(cooperative_id=coop.id, name=name, unit=unit, created_at=now))
            created["products"] += 1

    references = set(
        session.scalars(select(Loan.reference).where(Loan.reference.in_([s.reference for s in LOANS])))
    )
    for spec in LOANS:
        borrower = members.get(member_key(spec.member_no))
        if spec.reference in references or borrower is None:
            continue
        loan = create_loan(
            session,
            member=borrower,
            reference=spec.reference,
            principal=spec.principal,
            interest=spec.interest,
            disbursed_on=today - timedelta(days=spec.days_ago),
            installments=spec.installments,
            frequency=spec.frequency,
            now=now,
            rounding=rounding,
            source=Source.CLI,
        )
        created["loans"] += 1
        if spec.repaid:
            record_repayment(
                session,
                member=borrower,
                amount=spec.repaid,
                paid_on=today - timedelta(days=spec.paid_days_ago),
                now=now,
                source=Source.CLI,
                recorded_by=members.get(member_key(spec.recorder)),
                loan=loan,
            )
    session.flush()
    return SeedReport(coop, created, skipped)


def describe(session: Session, coop: Cooperative, today: date) -> list[str]:
    """One line per demo member: phone, who, language, PIN state, savings and loan state."""
    lines = []
    members = session.scalars(
        select(Member).where(Member.cooperative_id == coop.id).order_by(Member.member_no)
    )
    for member in members:
        position = member_position(session, member.id, today)
        if member.locked:
            pin = "locked (a treasurer's PIN command resets it)"
        elif member.pin_hash:
            pin = "PIN set"
        else:
            pin = "no PIN yet: the first dial asks to choose one"
        lines.append(
            f"  {member.phone}  {member.member_no} {member.name:<15} "
            f"{member.role:<9} {member.language}  {pin}"
        )
        lines.append(
            f"      savings {format_money(position.savings)}; {_loan_state(session, member, position)}"
        )
    return lines


def _loan_state(session: Session, member: Member, position) -> str:
    if position.active_loans == 0:
        repaid = session.scalar(
            select(Loan.reference)
            .where(Loan.member_id == member.id, Loan.status == LoanStatus.REPAID)
            .limit(1)
        )
        return f"loan {repaid} repaid in full" if repaid else "no loan"
    loans = f"{position.active_loans} active loans" if position.active_loans > 1 else "1 active loan"
    if position.days_late:
        return f"{loans}, {position.days_late} days late, {format_money(position.overdue)} overdue"
    if position.next_due is not None:
        return (
            f"{loans}, up to date, next {format_money(position.next_due.unpaid)} "
            f"on {format_date(position.next_due.due_on)}"
        )
    return loans


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Create the demo cooperative (idempotent) and print who to dial as."""
    from ussd_app.current import runtime

    rt = runtime()
    with rt.sessions() as session:
        report = seed(
            session, now=rt.clock.now(), today=rt.clock.today(), rounding=rt.config.INSTALMENT_ROUNDING
        )
        session.commit()
        coop = report.cooperative
        made = report.created
        if any(made.values()):
            click.echo(
                f"demo cooperative {coop.name} (code {coop.code}): created {made['members']} members, "
                f"{made['products']} products, {made['loans']} loans"
            )
        else:
            click.echo(f"demo cooperative {coop.name} (code {coop.code}) already there: nothing changed")
        for line in report.skipped:
            click.echo(f"  skipped {line}")
        click.echo("Demo members to dial as (`ussd dial PHONE`; make run prints the full command):")
        for line in describe(session, coop, rt.clock.today()):
            click.echo(line)
    treasurer = next(m for m in MEMBERS if m.role == Role.TREASURER)
    president = next(m for m in MEMBERS if m.role == Role.PRESIDENT)
    click.echo(
        f"SMS commands (PAY, DEP, OUI ...) come from the treasurer {treasurer.phone} "
        f"or the president {president.phone}."
    )


def register(app: Flask) -> None:
    """Add `seed-demo`."""
    app.cli.add_command(seed_demo_command)

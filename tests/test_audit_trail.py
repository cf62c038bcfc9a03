"""Every change of money, PIN reset, phone or role change, import, broadcast, reversal, write-off
and admin action writes its audit event in the same transaction as the change.

See docs/design.md, "Audit trail".

One row per operation. Each row stages the operation in a session without committing; the test
checks the event is there inside the transaction, names the right member, and disappears with a
rollback (an operation that committed its event on the side would leave it behind). A row whose
module is not built yet is skipped with its name, so a missing operation shows in the summary.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import func, select

from models import AuditEvent, RepaymentDeclaration
from models.enums import DeclarationStatus, Role, SavingsKind, Source
from models.ledger import post_savings, record_repayment, reverse_repayment, reverse_savings, write_off
from tests import factories


@dataclass
class Ctx:
    """What the rows work on: a cooperative with a member, a treasurer, a loan, a payment and a deposit."""

    db: object
    runtime: object
    clock: object
    coop: object
    member: object
    treasurer: object
    loan: object
    repayment: object
    deposit: object
    declaration: object

    @property
    def now(self):
        return self.clock.now()

    @property
    def today(self) -> date:
        return self.clock.today()


@dataclass(frozen=True)
class Op:
    """An audited operation: what the rule calls it, the action(s) it must write, how to run it."""

    operation: str
    actions: tuple[str, ...]
    run: Callable[[Ctx], int | None]  # stages the change; returns the member the event is about
    needs: str | None = None  # the module that provides it (skipped while it does not exist)


def _repay(c: Ctx):
    record_repayment(
        c.db,
        member=c.member,
        amount=3_000,
        paid_on=c.today,
        now=c.now,
        source=Source.SMS,
        recorded_by=c.treasurer,
    )
    return c.member.id


def _savings(kind: SavingsKind, amount: int):
    def run(c: Ctx):
        post_savings(
            c.db,
            member=c.member,
            kind=kind,
            amount=amount,
            entry_on=c.today,
            now=c.now,
            source=Source.SMS,
            recorded_by=c.treasurer,
        )
        return c.member.id

    return run


def _loan(c: Ctx):
    factories.loan(c.db, c.member, reference="L-NEW")
    return c.member.id


def _confirm_declaration(c: Ctx):
    from models.declarations import decide

    record_repayment(
        c.db,
        member=c.member,
        amount=c.declaration.amount,
        paid_on=c.today,
        now=c.now,
        source=Source.SMS,
        recorded_by=c.treasurer,
        declaration_id=c.declaration.id,
    )
    decide(c.db, c.declaration, status=DeclarationStatus.CONFIRMED, by=c.treasurer, now=c.now)
    return c.member.id


def _reverse_repayment(c: Ctx):
    reverse_repayment(
        c.db, c.repayment, now=c.now, by="user:coordinator", reason="wrong member", source=Source.CLI
    )
    return c.member.id


def _reverse_savings(c: Ctx):
    reverse_savings(c.db, c.deposit, now=c.now, by="user:coordinator", reason="typo", source=Source.CLI)
    return c.member.id


def _write_off(c: Ctx):
    write_off(c.db, c.loan, now=c.now, actor="user:coordinator", reason="deceased", source=Source.CLI)
    return c.member.id


def _pin_reset(c: Ctx):
    from models.audit import actor_of
    from models.pin import reset_pin

    reset_pin(c.db, c.member, actor=actor_of(c.treasurer), source=Source.SMS, now=c.now)
    return c.member.id


def _set_phone(c: Ctx):
    from sms.notices import move_phone

    move_phone(
        c.db,
        c.member,
        "+221779990001",
        reason="new SIM",
        actor="user:coordinator",
        source=Source.CLI,
        now=c.now,
        config=c.runtime.config,
    )
    return c.member.id


def _deactivate(c: Ctx):
    from models.membership import deactivate

    deactivate(
        c.db, c.member, reason="left the village", actor="user:coordinator", source=Source.CLI, now=c.now
    )
    return c.member.id


def _members_csv(c: Ctx, role: str) -> bytes:
    return (
        "cooperative,member_no,name,phone,role\n"
        f"{c.coop.name},{c.member.member_no},{c.member.name},{c.member.phone},{role}\n"
        f"{c.coop.name},M0077,Moussa Ba,+221771234577,member\n"
    ).encode()


def _import_members(c: Ctx):
    from models.csv_import.members import import_members

    import_members(
        c.db, _members_csv(c, "member"), now=c.now, today=c.today, actor="user:ops", filename="m.csv"
    )
    return None


def _role_change(c: Ctx):
    from models.csv_import.members import import_members

    import_members(c.db, _members_csv(c, "treasurer"), now=c.now, today=c.today, actor="user:ops")
    return c.member.id


def _import_loans(c: Ctx):
    from models.csv_import.loans import import_loans

    data = (
        "loan_ref,phone,principal,interest,disbursed_on,installments,frequency\n"
        f"L-IMP,{c.member.phone},50000,5000,2026-11-01,5,monthly\n"
    ).encode()
    import_loans(c.db, data, now=c.now, today=c.today, actor="user:ops", filename="l.csv")
    return None


def _import_products(c: Ctx):
    from models.csv_import.products import import_products

    data = f"cooperative,product,unit\n{c.coop.name},Mil,kg\n".encode()
    import_products(c.db, data, now=c.now, actor="user:ops", filename="p.csv")
    return None


def _broadcast(c: Ctx):
    from sms.broadcast import plan_broadcast, write_broadcast
    from sms.sending_hours import SendingHours

    plan = plan_broadcast(
        c.db,
        coop_name=c.coop.name,
        texts={"fr": "Assemblee generale samedi a 10h."},
        now=c.now,
        hours=SendingHours.from_config(c.runtime.config),
        cost_per_segment=15,
    )
    write_broadcast(c.db, plan, actor="user:ops")
    return None


def _opt_out(c: Ctx):
    from models.opt_out import set_opt_out

    set_opt_out(c.db, c.member, True, c.now)
    return c.member.id


def _admin_user(c: Ctx):
    from models.admin_user import create_user

    create_user(
        c.db,
        email="gerant@example.sn",
        password="a-long-password-1",
        role="manager",
        now=c.now,
        cooperative=c.coop,
    )
    return None


def _privacy_export(c: Ctx):
    from models.privacy import export_member, record_export

    export_member(c.db, c.member, now=c.now)
    record_export(c.db, c.member, now=c.now, actor="user:dpo", reason="access request")
    return c.member.id


def _resend(c: Ctx):
    from sms.outbox import queue_sms
    from sms.resend import resend

    row = queue_sms(c.db, to=c.member.phone, text="Recu", kind="receipt", language="fr", now=c.now)
    row.status, row.failure_reason = "failed", "HTTP 503 (gave up after 5 attempts)"
    c.db.flush()
    resend(c.db, [row], now=c.now, actor="user:ops", cost_per_segment=15)
    return None


OPS = [
    Op("money: repayment", ("repayment.record",), _repay),
    Op("money: savings opening", ("savings.opening",), _savings(SavingsKind.OPENING, 2_000)),
    Op("money: savings deposit", ("savings.deposit",), _savings(SavingsKind.DEPOSIT, 2_000)),
    Op("money: savings withdrawal", ("savings.withdrawal",), _savings(SavingsKind.WITHDRAWAL, 2_000)),
    Op("money: loan disbursed", ("loan.create",), _loan),
    Op(
        "money: declaration confirmed (OUI)",
        ("repayment.record", "declaration.confirmed"),
        _confirm_declaration,
        needs="models.declarations",
    ),
    Op("reversal: repayment", ("repayment.reverse",), _reverse_repayment),
    Op("reversal: savings", ("savings.reverse",), _reverse_savings),
    Op("write-off", ("loan.write_off",), _write_off),
    Op("PIN reset", ("pin.reset",), _pin_reset, needs="models.pin"),
    Op(
        "phone change (members set-phone)",
        ("member.set_phone",),
        _set_phone,
        needs="sms.notices",
    ),
    Op("role change (import members)", ("member.role",), _role_change, needs="models.csv_import.members"),
    Op("import: members", ("import.members",), _import_members, needs="models.csv_import.members"),
    Op("import: loans", ("import.loans",), _import_loans, needs="models.csv_import.loans"),
    Op("import: products", ("import.products",), _import_products, needs="models.csv_import.products"),
    Op("broadcast", ("broadcast",), _broadcast, needs="sms.broadcast"),
    Op("admin: member deactivated", ("member.deactivate",), _deactivate, needs="models.membership"),
    Op("admin: coordinator account created", ("admin_user.create",), _admin_user, needs="models.admin_user"),
    Op("opt-out (STOP)", ("sms.opt_out",), _opt_out, needs="models.opt_out"),
    Op("personal data export", ("privacy.export",), _privacy_export),
    Op("admin: failed SMS resent", ("sms.resend",), _resend, needs="sms.resend"),
]


@pytest.fixture
def ctx(db, runtime, clock):
    """The scene, committed: the rows then change it inside one open transaction."""
    now = clock.now()
    coop = factories.coop(db)
    member = factories.member(db, coop, "M0001", "Awa Diop", savings=10_000)
    treasurer = factories.member(db, coop, "T0001", "Fatou Sall", role=Role.TREASURER)
    loan = factories.loan(db, member)
    repayment = record_repayment(
        db, member=member, amount=5_000, paid_on=now.date(), now=now, source=Source.SMS, recorded_by=treasurer
    ).repayment
    deposit, _ = post_savings(
        db,
        member=member,
        kind=SavingsKind.DEPOSIT,
        amount=1_000,
        entry_on=now.date(),
        now=now,
        source=Source.SMS,
        recorded_by=treasurer,
    )
    declaration = RepaymentDeclaration(
        cooperative_id=coop.id,
        member_id=member.id,
        amount=4_000,
        code="4321",
        status="pending",
        created_at=now,
    )
    db.add(declaration)
    db.commit()
    return Ctx(db, runtime, clock, coop, member, treasurer, loan, repayment, deposit, declaration)


@pytest.mark.parametrize("op", OPS, ids=[op.operation for op in OPS])
def test_each_operation_writes_its_audit_event_in_the_same_transaction(op: Op, ctx: Ctx, runtime):
    """The operation's event is staged with the change and rolled back with it."""
    if op.needs and importlib.util.find_spec(op.needs) is None:
        pytest.skip(f"not built yet: {op.needs}")
    db = ctx.db
    last = db.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))

    about = op.run(ctx)
    db.flush()

    staged = db.scalars(select(AuditEvent).where(AuditEvent.id > last).order_by(AuditEvent.id)).all()
    actions = [e.action for e in staged]
    for action in op.actions:
        assert action in actions, f"{op.operation}: no {action!r} audit event (got {actions})"
    event = next(e for e in staged if e.action == op.actions[0])
    assert event.at == ctx.now
    assert event.actor and event.source and event.target
    if about is not None:
        assert event.member_id == about
    if event.action.startswith("import."):  # an import is audited with its file hash and counts
        assert len(event.after["sha256"]) == 64 and event.after["created"] >= 1

    db.rollback()
    with runtime.sessions() as other:
        left = other.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.id > last))
        other.rollback()
    assert left == 0, f"{op.operation}: the audit event was committed outside the change's transaction"


def test_audit_log_command_filters_by_member_action_and_date(ctx, runner):
    """`audit log --member NDB:M0001 --action savings --json` lists that member's savings events only."""
    import json

    ctx.db.rollback()
    result = runner.invoke(args=["audit", "log", "--member", "NDB:m1", "--action", "savings", "--json"])
    assert result.exit_code == 0, result.output
    events = json.loads(result.stdout)
    assert {e["action"] for e in events} == {"savings.opening", "savings.deposit"}
    assert all(e["member_id"] == ctx.member.id for e in events)

    text = runner.invoke(args=["audit", "log", "--member", str(ctx.member.id), "--since", "2026-12-01"])
    assert text.exit_code == 0, text.output
    assert "repayment.record receipt:" in text.output and "loan.create loan:L-001" in text.output
    assert "Fatou" not in text.output

    later = runner.invoke(args=["audit", "log", "--since", "2026-12-02", "--json"])
    assert json.loads(later.stdout) == []
    bad = runner.invoke(args=["audit", "log", "--member", "NDB:M0999"])
    assert bad.exit_code != 0 and "no member" in bad.output

"""The coordinator's commands: set-phone, deactivate, write-off, reverse — audited, no prompts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from models import AuditEvent, Loan, Member, OutboundSms, Repayment
from models.enums import Frequency, LoanStatus, Source
from models.ledger import record_repayment
from tests import factories as f
from tests.conftest import DEFAULT_NOW


@pytest.fixture
def setup(runtime):
    """A cooperative with a member holding a PIN and a loan, and a second member."""
    with runtime.sessions() as session:
        coop = f.coop(session)
        awa = f.member(session, coop, "M0012", "Awa Diop", phone="+221771234567", language="wo")
        awa.pin_hash = "scrypt$stored"
        awa.wrong_pins = 2
        other = f.member(session, coop, "M0013", "Moussa Ndiaye", phone="+221781234567")
        loan = f.loan(session, awa, "L-001", 9_000, 1_000, 2, Frequency.MONTHLY, date(2026, 9, 1))
        repayment = record_repayment(
            session,
            member=awa,
            amount=10_000,
            paid_on=DEFAULT_NOW.date() - timedelta(days=40),
            now=DEFAULT_NOW - timedelta(days=40),
            source=Source.SMS,
        ).repayment
        session.commit()
        return {"awa": awa.id, "other": other.id, "loan": loan.id, "receipt": repayment.receipt}


def load(runtime, model, pk):
    with runtime.sessions() as session:
        return session.get(model, pk)


def outbox(runtime) -> list[OutboundSms]:
    with runtime.sessions() as session:
        return list(session.scalars(select(OutboundSms).order_by(OutboundSms.id)))


def audit_events(runtime, action: str) -> list[AuditEvent]:
    with runtime.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_set_phone_moves_the_member_clears_the_pin_and_tells_both_numbers(runner, runtime, setup):
    """The new phone starts without a PIN; notices go to the old and the new number; audited."""
    result = runner.invoke(
        args=["members", "set-phone", "NDB", "m12", "70 111 22 33", "--reason", "lost her phone"]
    )
    assert result.exit_code == 0, result.output
    assert "moved from +221771234567 to +221701112233" in result.output
    awa = load(runtime, Member, setup["awa"])
    assert (awa.phone, awa.pin_hash, awa.wrong_pins, awa.locked) == ("+221701112233", None, 0, False)
    old, new = outbox(runtime)
    assert (old.to, old.kind, old.language) == ("+221771234567", "notice", "wo")
    assert "...33" in old.text and "NDB" in old.text
    assert (new.to, new.kind) == ("+221701112233", "notice")
    assert "PIN" in new.text and "*384*123#" in new.text  # the code to dial, named
    (event,) = audit_events(runtime, "member.set_phone")
    assert event.reason == "lost her phone" and event.actor.startswith("user:")
    assert (event.before["phone"], event.after["phone"]) == ("+221771234567", "+221701112233")


def test_set_phone_refuses_a_phone_held_by_another_member(runner, runtime, setup):
    """One member per phone: refused, exit 1, nothing changed and nothing sent."""
    result = runner.invoke(
        args=["members", "set-phone", "GIE Ndiambour", "M0012", "+221781234567", "--reason", "swap"]
    )
    assert result.exit_code == 1
    assert "held by member M0013" in result.output
    assert load(runtime, Member, setup["awa"]).phone == "+221771234567"
    assert outbox(runtime) == [] and audit_events(runtime, "member.set_phone") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["members", "set-phone", "NDB", "M0012", "12345", "--reason", "x"], "not a valid number"),
        (["members", "set-phone", "XYZ", "M0012", "701112233", "--reason", "x"], "no cooperative"),
        (["members", "set-phone", "NDB", "M0099", "701112233", "--reason", "x"], "no member"),
        (["members", "deactivate", "NDB", "M0099", "--reason", "x"], "no member"),
        (["loans", "write-off", "L-404", "--reason", "x"], "no loan"),
        (["repayments", "reverse", "R00000", "--reason", "x"], "no repayment"),
    ],
)
def test_unknown_or_invalid_arguments_exit_1_with_the_reason(runner, setup, args, message):
    """Each refusal is one line and exit status 1."""
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert message in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["members", "set-phone", "NDB", "M0012", "701112233"],
        ["members", "deactivate", "NDB", "M0012"],
        ["loans", "write-off", "L-001"],
        ["repayments", "reverse", "R00000"],
    ],
)
def test_reason_is_required_and_nothing_prompts(runner, runtime, setup, args):
    """Without --reason: usage error (exit 2), no prompt, nothing written."""
    with runtime.sessions() as session:
        before = session.scalar(select(func.count()).select_from(AuditEvent))
    result = runner.invoke(args=args, input="")
    assert result.exit_code == 2
    assert "--reason" in result.output
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_deactivate_marks_the_member_inactive_once(runner, runtime, setup):
    """Inactive and audited; a second run says so and changes nothing."""
    result = runner.invoke(args=["members", "deactivate", "ndb", "M12", "--reason", "left the GIE"])
    assert result.exit_code == 0, result.output
    assert load(runtime, Member, setup["awa"]).status == "inactive"
    again = runner.invoke(args=["members", "deactivate", "NDB", "M12", "--reason", "left the GIE"])
    assert again.exit_code == 0 and "already inactive" in again.output
    (event,) = audit_events(runtime, "member.deactivate")
    assert (event.before, event.after, event.reason) == (
        {"status": "active"},
        {"status": "inactive"},
        "left the GIE",
    )


def test_write_off_closes_the_loan_and_is_audited(runner, runtime, setup):
    """written_off with the reason; a second write-off is refused."""
    with runtime.sessions() as session:
        loan = f.loan(session, session.get(Member, setup["other"]), "L-777", 50_000, 0, 5)
        session.commit()
    result = runner.invoke(args=["loans", "write-off", "l-777", "--reason", "deceased"])
    assert result.exit_code == 0, result.output
    assert "50 000 F unpaid" in result.output
    assert load(runtime, Loan, loan.id).status == LoanStatus.WRITTEN_OFF
    (event,) = audit_events(runtime, "loan.write_off")
    assert event.reason == "deceased" and event.before["outstanding"] == 50_000
    again = runner.invoke(args=["loans", "write-off", "L-777", "--reason", "deceased"])
    assert again.exit_code == 1 and "written_off, not active" in again.output


def test_reverse_of_an_old_repayment_reopens_the_loan_and_tells_the_member(runner, runtime, setup):
    """Any age: a 40-day-old payment is reversed, the loan is active again, the member gets a notice."""
    assert load(runtime, Loan, setup["loan"]).status == LoanStatus.REPAID
    result = runner.invoke(args=["repayments", "reverse", setup["receipt"].lower(), "--reason", "bounced"])
    assert result.exit_code == 0, result.output
    assert "now owes 10 000 F" in result.output
    assert load(runtime, Loan, setup["loan"]).status == LoanStatus.ACTIVE
    with runtime.sessions() as session:
        repayment = session.scalar(select(Repayment).where(Repayment.receipt == setup["receipt"]))
        assert repayment.reversed_at == DEFAULT_NOW and repayment.reverse_reason == "bounced"
    (notice,) = outbox(runtime)
    assert (notice.to, notice.kind, notice.language) == ("+221771234567", "notice", "wo")
    assert setup["receipt"] in notice.text and "10 000 F" in notice.text
    (event,) = audit_events(runtime, "repayment.reverse")
    assert event.reason == "bounced" and event.source == "cli"
    again = runner.invoke(args=["repayments", "reverse", setup["receipt"], "--reason", "bounced"])
    assert again.exit_code == 1 and "already reversed" in again.output

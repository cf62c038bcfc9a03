"""Money rules: allocation oldest due first across loans, over-payment, reversal, savings floor."""

from datetime import date

import pytest
from sqlalchemy import select

from models import AuditEvent, Instalment, Loan
from models.enums import Frequency, LoanStatus, SavingsKind, Source
from models.errors import Refused
from models.ledger import (
    find_repayment,
    post_savings,
    record_repayment,
    reverse_repayment,
    reverse_savings,
    savings_balance,
    write_off,
)
from models.portfolio.standing import recoveries
from tests import factories as f
from tests.conftest import DEFAULT_NOW

TODAY = DEFAULT_NOW.date()


def paid(db, loan) -> list[int]:
    """amount_paid of a loan's instalments, in order, as stored."""
    return list(
        db.scalars(
            select(Instalment.amount_paid).where(Instalment.loan_id == loan.id).order_by(Instalment.number)
        )
    )


def status(db, loan) -> str:
    """The loan's status as the database holds it once the session is flushed."""
    db.flush()
    return db.scalar(select(Loan.status).where(Loan.id == loan.id))


def pay(db, member, amount, **kw):
    return record_repayment(
        db, member=member, amount=amount, paid_on=TODAY, now=DEFAULT_NOW, source=Source.CLI, **kw
    )


@pytest.fixture
def member(db):
    return f.member(db, f.coop(db))


def test_a_payment_fills_the_oldest_due_instalment_first_across_loans(db, member):
    """Unpaid instalments are filled by due date, whichever loan they belong to."""
    older = f.loan(
        db, member, "L-A", 30_000, 0, 3, Frequency.MONTHLY, date(2026, 9, 1)
    )  # due 1/10, 1/11, 1/12
    newer = f.loan(db, member, "L-B", 20_000, 0, 2, Frequency.MONTHLY, date(2026, 10, 15))  # due 15/11, 15/12
    allocation = pay(db, member, 25_000)
    # 1/10 A 10 000 → 1/11 A 10 000 → 15/11 B 5 000 of 10 000
    assert paid(db, older) == [10_000, 10_000, 0]
    assert paid(db, newer) == [5_000, 0]
    assert {line.loan_id: line.amount for line in allocation.repayment.lines} == {
        older.id: 20_000,
        newer.id: 5_000,
    }
    assert allocation.outstanding_after == 25_000
    assert allocation.repayment.receipt.startswith("R")


def test_same_due_date_goes_to_the_loan_disbursed_first(db, member):
    """Ties on the due date are broken by disbursement date."""
    later = f.loan(
        db, member, "L-LATE", 10_000, 0, 1, Frequency.MONTHLY, date(2026, 10, 20), date(2026, 12, 20)
    )
    earlier = f.loan(
        db, member, "L-EARLY", 10_000, 0, 1, Frequency.MONTHLY, date(2026, 10, 1), date(2026, 12, 20)
    )
    pay(db, member, 4_000)
    assert paid(db, earlier) == [4_000]
    assert paid(db, later) == [0]


def test_a_loan_reference_keeps_the_payment_on_that_loan(db, member):
    """With a loan given, only its instalments are filled, even when another is older."""
    older = f.loan(db, member, "L-OLD", 10_000, 0, 1, Frequency.MONTHLY, date(2026, 9, 1))
    chosen = f.loan(db, member, "L-NEW", 10_000, 0, 2, Frequency.MONTHLY, date(2026, 11, 1))
    allocation = pay(db, member, 6_000, loan=chosen)
    assert paid(db, older) == [0]
    assert paid(db, chosen) == [5_000, 1_000]
    assert allocation.repayment.loan_id == chosen.id
    assert allocation.outstanding_after == 4_000


def test_more_than_the_outstanding_is_refused_with_the_amount_remaining(db, member):
    """An over-payment is refused whole, naming what remains; nothing is posted."""
    loan = f.loan(db, member, "L-1", 10_000, 1_000, 2)
    pay(db, member, 1_000)
    with pytest.raises(Refused) as excinfo:
        pay(db, member, 10_001)
    assert excinfo.value.code == "too_much"
    assert excinfo.value.details == {"remaining": 10_000}
    assert paid(db, loan) == [1_000, 0]
    other = f.loan(db, member, "L-2", 5_000, 0, 1)
    with pytest.raises(Refused) as excinfo:
        pay(db, member, 5_001, loan=other)
    assert excinfo.value.details == {"remaining": 5_000}


def test_without_an_active_loan_a_payment_is_refused(db, member):
    """No active loan, no repayment."""
    with pytest.raises(Refused) as excinfo:
        pay(db, member, 1_000)
    assert excinfo.value.code == "no_active_loan"


def test_a_payment_on_a_written_off_loan_is_a_recovery_and_the_loan_stays_written_off(db, member):
    """No active loan but a written-off one: the payment fills it as a recovery; over its rest is refused."""
    loan = f.loan(db, member, "L-W", 10_000, 0, 2)
    write_off(db, loan, now=DEFAULT_NOW, actor="user:coord", reason="left", source=Source.CLI)
    allocation = pay(db, member, 6_000)
    assert allocation.recovery and allocation.outstanding_after == 4_000
    assert [line.loan_id for line in allocation.repayment.lines] == [loan.id]
    assert paid(db, loan) == [5_000, 1_000]
    with pytest.raises(Refused) as excinfo:
        pay(db, member, 4_001)
    assert excinfo.value.details == {"remaining": 4_000}
    pay(db, member, 4_000)
    assert status(db, loan) == LoanStatus.WRITTEN_OFF
    # The figures read it as a recovery, apart from collections on active loans.
    assert recoveries(db, TODAY, [member.cooperative_id]) == {member.cooperative_id: 10_000}
    with pytest.raises(Refused) as excinfo:
        pay(db, member, 1)
    assert excinfo.value.code == "no_active_loan"


def test_an_active_loan_takes_the_payment_before_a_written_off_one(db, member):
    """An active loan takes a payment without reference as before; with the reference, a recovery."""
    written = f.loan(db, member, "L-W", 10_000, 0, 2)
    write_off(db, written, now=DEFAULT_NOW, actor="user:coord", reason="left", source=Source.CLI)
    active = f.loan(db, member, "L-A", 4_000, 0, 2)
    allocation = pay(db, member, 3_000)
    assert not allocation.recovery
    assert (paid(db, active), paid(db, written)) == ([2_000, 1_000], [0, 0])
    assert pay(db, member, 500, loan=written).recovery
    assert paid(db, written) == [500, 0]


def test_the_last_payment_closes_the_loan_and_a_reversal_reopens_it(db, member):
    """Paid in full → repaid; reversing a payment recomputes the instalments → active again."""
    loan = f.loan(db, member, "L-1", 9_000, 1_000, 2)
    first = pay(db, member, 4_000).repayment
    last = pay(db, member, 6_000).repayment
    assert status(db, loan) == LoanStatus.REPAID and loan.closed_at is not None
    reverse_repayment(db, first, now=DEFAULT_NOW, by="user:coord", reason="duplicate", source=Source.CLI)
    assert status(db, loan) == LoanStatus.ACTIVE and loan.closed_at is None
    # The remaining 6 000 refill the instalments from the first: 5 000 + 1 000.
    assert paid(db, loan) == [5_000, 1_000]
    assert first.reversed_at == DEFAULT_NOW and first.reverse_reason == "duplicate"
    assert find_repayment(db, last.receipt.lower()).id == last.id
    with pytest.raises(Refused):
        reverse_repayment(db, first, now=DEFAULT_NOW, by="user:coord", reason="again", source=Source.CLI)
    actions = db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("repayment.record") == 2 and actions.count("repayment.reverse") == 1


def test_a_reversal_of_a_payment_across_two_loans_recomputes_both(db, member):
    """A payment split across loans is taken back from each of them."""
    a = f.loan(db, member, "L-A", 10_000, 0, 1, Frequency.MONTHLY, date(2026, 9, 1))
    b = f.loan(db, member, "L-B", 10_000, 0, 1, Frequency.MONTHLY, date(2026, 10, 1))
    keep = pay(db, member, 3_000).repayment
    split = pay(db, member, 12_000).repayment
    assert status(db, a) == LoanStatus.REPAID
    reverse_repayment(db, split, now=DEFAULT_NOW, by="system", reason="wrong member", source=Source.CLI)
    assert paid(db, a) == [3_000] and paid(db, b) == [0]
    assert status(db, a) == LoanStatus.ACTIVE
    assert keep.reversed_at is None


def test_savings_never_go_below_zero(db, member):
    """A withdrawal over the balance is refused with the balance; a reversal that would go negative too."""
    post_savings(
        db,
        member=member,
        kind=SavingsKind.OPENING,
        amount=5_000,
        entry_on=TODAY,
        now=DEFAULT_NOW,
        source=Source.IMPORT,
    )
    deposit, balance = post_savings(
        db,
        member=member,
        kind=SavingsKind.DEPOSIT,
        amount=2_000,
        entry_on=TODAY,
        now=DEFAULT_NOW,
        source=Source.SMS,
    )
    assert balance == 7_000 and deposit.receipt.startswith("D")
    with pytest.raises(Refused) as excinfo:
        post_savings(
            db,
            member=member,
            kind=SavingsKind.WITHDRAWAL,
            amount=7_001,
            entry_on=TODAY,
            now=DEFAULT_NOW,
            source=Source.SMS,
        )
    assert excinfo.value.code == "insufficient_savings" and excinfo.value.details == {"balance": 7_000}
    withdrawal, balance = post_savings(
        db,
        member=member,
        kind=SavingsKind.WITHDRAWAL,
        amount=6_000,
        entry_on=TODAY,
        now=DEFAULT_NOW,
        source=Source.SMS,
    )
    assert balance == 1_000 and withdrawal.receipt.startswith("W")
    with pytest.raises(Refused):
        reverse_savings(db, deposit, now=DEFAULT_NOW, by="system", reason="x", source=Source.CLI)
    reverse_savings(db, withdrawal, now=DEFAULT_NOW, by="system", reason="typo", source=Source.CLI)
    assert savings_balance(db, member.id) == 7_000
    assert isinstance(savings_balance(db, member.id), int)


def test_write_off_closes_an_active_loan_once(db, member):
    """A written-off loan leaves the active ones and cannot be written off twice; a payment is a recovery."""
    loan = f.loan(db, member)
    write_off(db, loan, now=DEFAULT_NOW, actor="user:coord", reason="left the village", source=Source.CLI)
    assert status(db, loan) == LoanStatus.WRITTEN_OFF
    with pytest.raises(Refused):
        write_off(db, loan, now=DEFAULT_NOW, actor="user:coord", reason="again", source=Source.CLI)
    assert pay(db, member, 1_000).recovery

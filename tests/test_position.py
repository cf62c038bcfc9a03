"""A member's position: savings, outstanding, next instalment, days late, pending declaration."""

from datetime import date

from models import RepaymentDeclaration
from models.enums import DeclarationStatus, Frequency, SavingsKind, Source
from models.ledger import post_savings, record_repayment, write_off
from models.position import member_position
from tests import factories as f
from tests.conftest import DEFAULT_NOW

TODAY = DEFAULT_NOW.date()  # 1 December 2026


def test_a_new_member_owes_nothing_and_has_the_opening_savings(db):
    """No loan: zero outstanding, no next instalment, not late."""
    member = f.member(db, f.coop(db), savings=12_500)
    position = member_position(db, member.id, TODAY)
    assert (position.savings, position.outstanding, position.overdue, position.days_late) == (12_500, 0, 0, 0)
    assert position.next_due is None and position.pending_declaration is None and position.active_loans == 0


def test_savings_sum_every_entry(db):
    """Savings = opening + deposits − withdrawals."""
    member = f.member(db, f.coop(db), savings=10_000)
    kw = {"member": member, "entry_on": TODAY, "now": DEFAULT_NOW, "source": Source.SMS}
    post_savings(db, kind=SavingsKind.DEPOSIT, amount=2_500, **kw)
    post_savings(db, kind=SavingsKind.WITHDRAWAL, amount=4_000, **kw)
    assert member_position(db, member.id, TODAY).savings == 8_500


def test_days_late_count_from_the_oldest_unpaid_due_date(db):
    """Late from the day after the due date; days late = today − oldest unpaid due date."""
    member = f.member(db, f.coop(db))
    # Monthly 11 000 due on 1/10, 1/11, 1/12, 1/1 ...
    f.loan(db, member, "L-1", 100_000, 10_000, 10, Frequency.MONTHLY, date(2026, 9, 1))
    position = member_position(db, member.id, TODAY)
    assert position.outstanding == 110_000
    assert position.overdue == 22_000  # 1/10 and 1/11; 1/12 is due today, not late yet
    assert position.days_late == (TODAY - date(2026, 10, 1)).days == 61
    assert position.next_due.due_on == TODAY and position.next_due.unpaid == 11_000
    assert position.next_due.loan_reference == "L-1"


def test_a_partial_payment_moves_the_oldest_unpaid_date(db):
    """Paying the oldest instalment moves days late to the next unpaid one."""
    member = f.member(db, f.coop(db))
    f.loan(db, member, "L-1", 100_000, 10_000, 10, Frequency.MONTHLY, date(2026, 9, 1))
    record_repayment(db, member=member, amount=15_000, paid_on=TODAY, now=DEFAULT_NOW, source=Source.CLI)
    position = member_position(db, member.id, TODAY)
    assert position.outstanding == 95_000
    assert position.overdue == 7_000
    assert position.days_late == 30  # 1/11 still owes 7 000
    assert [d.unpaid for d in position.unpaid[:2]] == [7_000, 11_000]


def test_an_up_to_date_member_shows_the_next_instalment(db):
    """Nothing late: days late 0, the next due date and its amount."""
    member = f.member(db, f.coop(db))
    f.loan(db, member, "L-W", 20_000, 2_000, 8, Frequency.WEEKLY, date(2026, 11, 30))  # first due 7/12
    position = member_position(db, member.id, TODAY)
    assert position.days_late == 0 and position.overdue == 0
    assert (position.next_due.due_on, position.next_due.unpaid) == (date(2026, 12, 7), 2_750)


def test_outstanding_covers_every_active_loan_but_not_written_off_ones(db):
    """Outstanding sums all active loans, interest included; a written-off loan is left out."""
    member = f.member(db, f.coop(db))
    f.loan(db, member, "L-1", 50_000, 5_000, 5, Frequency.MONTHLY, date(2026, 11, 15))
    other = f.loan(db, member, "L-2", 30_000, 0, 3, Frequency.MONTHLY, date(2026, 11, 20))
    assert member_position(db, member.id, TODAY).outstanding == 85_000
    assert member_position(db, member.id, TODAY).active_loans == 2
    write_off(db, other, now=DEFAULT_NOW, actor="system", reason="test", source=Source.CLI)
    db.flush()
    position = member_position(db, member.id, TODAY)
    assert position.outstanding == 55_000 and position.active_loans == 1


def test_a_pending_declaration_is_shown_but_not_deducted(db):
    """ "En attente: 5 000 F" — the declared amount is shown apart, the outstanding unchanged."""
    coop = f.coop(db)
    member = f.member(db, coop)
    f.loan(db, member, "L-1", 10_000, 0, 2, Frequency.MONTHLY, date(2026, 11, 1))
    kw = {"cooperative_id": coop.id, "member_id": member.id, "created_at": DEFAULT_NOW}
    db.add(RepaymentDeclaration(amount=3_000, code="1111", status=DeclarationStatus.REJECTED, **kw))
    db.add(RepaymentDeclaration(amount=5_000, code="2222", status=DeclarationStatus.PENDING, **kw))
    db.flush()
    position = member_position(db, member.id, TODAY)
    assert position.pending_declaration == 5_000
    assert position.outstanding == 10_000

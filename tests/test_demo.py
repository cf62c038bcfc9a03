"""`seed-demo`: a demo cooperative to dial as; running it twice changes nothing."""

from sqlalchemy import func, select

import models
from models import Cooperative, Loan, Member, Product, SavingsEntry
from models.position import member_position


def row_counts(runtime) -> dict[str, int]:
    with runtime.sessions() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table))
            for table in models.Base.metadata.sorted_tables
        }


def test_seed_demo_builds_a_cooperative_with_members_at_every_stage(runner, runtime):
    """fr/wo/en members, a treasurer and a president, products, loans on time, late and repaid."""
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with runtime.sessions() as session:
        coop = session.scalar(select(Cooperative).where(Cooperative.demo.is_(True)))
        people = list(session.scalars(select(Member).where(Member.cooperative_id == coop.id)))
        assert len(people) == 8
        assert {m.language for m in people} == {"fr", "wo", "en"}
        assert sorted(m.role for m in people if m.role != "member") == ["president", "treasurer"]
        assert all(m.pin_hash is None for m in people)
        assert session.scalar(select(func.count()).select_from(Product)) >= 4
        statuses = set(session.scalars(select(Loan.status)))
        assert statuses == {"active", "repaid"}
        today = runtime.clock.today()
        positions = [member_position(session, m.id, today) for m in people]
        assert any(p.days_late > 30 for p in positions)
        assert any(p.active_loans and p.days_late == 0 for p in positions)
        assert any(p.active_loans > 1 for p in positions)
        assert session.scalar(select(func.sum(SavingsEntry.amount))) > 0
    for member in people:
        assert member.phone in result.output
    assert "no PIN yet" in result.output
    assert "days late" in result.output


def test_seed_demo_twice_changes_nothing(runner, runtime):
    """The second run writes no row at all, in any table."""
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    before = row_counts(runtime)
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0
    assert "nothing changed" in again.output
    assert row_counts(runtime) == before


def test_seed_demo_skips_a_member_whose_phone_is_taken(runner, runtime):
    """A demo phone already held by a real member is left to that member."""
    from tests import factories as f

    with runtime.sessions() as session:
        f.member(session, f.coop(session), "X1", "Real person", phone="+221730000005")
        session.commit()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0
    assert "skipped M005" in result.output
    with runtime.sessions() as session:
        assert session.scalar(select(Member.name).where(Member.phone == "+221730000005")) == "Real person"


def test_demo_phones_are_fictional_and_the_demo_can_be_dialled(runner, runtime):
    """No demo number is a real mobile for phonenumbers; `ussd dial` still reaches the PIN screen."""
    import phonenumbers

    from models.phones import is_fictional
    from ussd_app.cli.demo import MEMBERS

    for demo in MEMBERS:
        assert is_fictional(demo.phone)
        assert not phonenumbers.is_valid_number(phonenumbers.parse(demo.phone))
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    result = runner.invoke(args=["ussd", "dial", MEMBERS[0].phone], input="5803\n5803\n1\n")
    assert result.exit_code == 0, result.output
    assert "Choisissez votre code PIN" in result.output and "Mbolo - Menu" in result.output

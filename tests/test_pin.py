"""PIN storage: salted, peppered scrypt; the exact refusal rule; the lock counter."""

from __future__ import annotations

import pytest

from models.pin import MAX_WRONG, PinRefused, check_pin, hash_pin, is_refused, set_pin, verify_pin
from tests import factories as f
from tests.conftest import DEFAULT_NOW


def test_a_pin_verifies_against_its_hash_and_nothing_else():
    """Right PIN and pepper: True; another PIN or another pepper: False."""
    stored = hash_pin("4827", "pepper")
    assert verify_pin("4827", stored, "pepper")
    assert not verify_pin("4828", stored, "pepper")
    assert not verify_pin("4827", stored, "other pepper")
    assert not verify_pin("4827", None, "pepper")
    assert not verify_pin("4827", "garbage", "pepper")


def test_each_hash_has_its_own_salt_and_holds_no_pin():
    """Two hashes of one PIN differ; the stored form names its parameters."""
    a, b = hash_pin("4827", "pepper"), hash_pin("4827", "pepper")
    assert a != b
    assert a.startswith("scrypt$2048$8$1$")
    assert "4827" not in a.split("$", 4)[4]


@pytest.mark.parametrize("pin", [f"{d}" * 4 for d in range(10)] + ["1234"])
def test_four_identical_digits_and_1234_are_refused(pin):
    """Exactly these eleven PINs."""
    assert is_refused(pin)


@pytest.mark.parametrize("pin", ["4321", "1235", "0001", "2580", "1212", "0123", "9876"])
def test_other_pins_are_allowed(pin):
    """Nothing else is refused (the contract lists the refusals exactly)."""
    assert not is_refused(pin)


def test_exactly_eleven_of_ten_thousand_pins_are_refused():
    """Four identical digits (10) and 1234."""
    assert sum(is_refused(f"{n:04d}") for n in range(10_000)) == 11


def test_set_pin_refuses_easy_pins(db):
    """The operation itself refuses, not only the screen."""
    member = f.member(db, f.coop(db))
    with pytest.raises(PinRefused):
        set_pin(db, member.id, "0000", secret="s", now=DEFAULT_NOW)


def test_three_wrong_pins_lock_and_a_right_one_resets_the_count(db):
    """The counter is the member's, not the session's."""
    member = f.member(db, f.coop(db))
    set_pin(db, member.id, "4827", secret="s", now=DEFAULT_NOW)
    assert check_pin(db, member.id, "1111", secret="s", now=DEFAULT_NOW).tries_left == 2
    assert check_pin(db, member.id, "4827", secret="s", now=DEFAULT_NOW).ok
    assert member.wrong_pins == 0
    results = [check_pin(db, member.id, "1111", secret="s", now=DEFAULT_NOW) for _ in range(MAX_WRONG)]
    assert [r.tries_left for r in results] == [2, 1, 0]
    assert results[-1].locked and member.locked
    assert not check_pin(db, member.id, "4827", secret="s", now=DEFAULT_NOW).ok  # locked stays locked


def test_an_entry_counted_after_another_locked_the_member_is_refused_and_does_not_lock_again(db):
    """The count is one UPDATE of a member not yet locked: an entry losing the race only sees the lock."""
    member = f.member(db, f.coop(db))
    set_pin(db, member.id, "4827", secret="s", now=DEFAULT_NOW)
    for _ in range(MAX_WRONG - 1):
        check_pin(db, member.id, "1111", secret="s", now=DEFAULT_NOW)
    db.commit()
    # Both entries read the row before either counted (two sessions at once): simulated by locking
    # the member between the read and the count of the second one.
    import models.pin as pin_module

    real_rows = pin_module.plain_rows

    def read_then_lose_the_race(session, statement, params):
        rows = real_rows(session, statement, params)
        pin_module.plain_rows = real_rows  # the other entry reads and counts as usual
        assert check_pin(db, member.id, "2222", secret="s", now=DEFAULT_NOW).just_locked
        return rows

    pin_module.plain_rows = read_then_lose_the_race
    try:
        late = check_pin(db, member.id, "3333", secret="s", now=DEFAULT_NOW)
    finally:
        pin_module.plain_rows = real_rows
    assert late.locked and not late.ok and not late.just_locked and late.tries_left == 0
    db.commit()
    assert member.wrong_pins == MAX_WRONG and member.locked

"""Member PINs: slow salted hash with the server pepper, refusal rules, wrong-PIN lock.

See docs/design.md, "The USSD session".

A 4-digit PIN has only 10 000 values, so the hash alone cannot protect it; the pepper
(`PIN_SECRET`, never stored in the database) makes a stolen table useless, and scrypt with a
per-member salt makes each guess cost memory and time. Parameters are stored in the hash so they
can be raised later: N=2048, r=8 costs about 4-5 ms of CPU per verification (measured by
tests/test_pin.py's report and `python -m models.pin`), under the 10 ms budget.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, bindparam, select, update
from sqlalchemy.orm import Session

from models import audit
from models.cooperative import Member
from models.database import for_update, plain_rows
from models.enums import Source

SCHEME = "scrypt"
N, R, P = 2048, 8, 1
MAX_WRONG = 3


class PinRefused(ValueError):
    """The chosen PIN is too easy to guess (four identical digits, or 1234)."""


def is_refused(pin: str) -> bool:
    """True for the PINs nobody may choose: four identical digits and 1234."""
    return len(set(pin)) == 1 or pin == "1234"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _derive(pin: str, salt: bytes, secret: str, n: int, r: int, p: int) -> bytes:
    peppered = hmac.new(secret.encode(), pin.encode(), "sha256").digest()
    return hashlib.scrypt(peppered, salt=salt, n=n, r=r, p=p, dklen=32)


def hash_pin(pin: str, secret: str) -> str:
    """The stored form: `scrypt$N$r$p$salt$hash` (base64, no padding)."""
    salt = os.urandom(16)
    digest = _derive(pin, salt, secret, N, R, P)
    return f"{SCHEME}${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_pin(pin: str, stored: str | None, secret: str) -> bool:
    """True when `pin` matches the stored hash (constant-time comparison)."""
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != SCHEME:
            return False
        expected = _unb64(digest)
        actual = _derive(pin, _unb64(salt), secret, int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


@dataclass(frozen=True)
class PinCheck:
    """The outcome of one PIN entry; `just_locked` is the entry that locked the member (once per lock)."""

    ok: bool
    tries_left: int
    locked: bool
    just_locked: bool = False


def _load_for_update(session: Session, member_id: int) -> Member:
    return session.scalars(for_update(session, select(Member).where(Member.id == member_id))).one()


# What a PIN entry reads, built once (compiled once, prepared by the driver): three columns, not
# the member entity, because every dial checks a PIN and the entity costs more CPU than the query.
_PIN_STATE = select(Member.pin_hash, Member.wrong_pins, Member.locked).where(
    Member.id == bindparam("member_id", type_=Integer)
)


def check_pin(
    session: Session, member_id: int, pin: str, *, secret: str, now: datetime, source: str = Source.USSD
) -> PinCheck:
    """Verify a PIN entry and count it: a wrong one adds to the count, the third locks, a right one resets.

    The PIN is checked against the row as read, without locking it: a right PIN with no count to
    reset (nearly every dial) writes nothing, so the hop needs no transaction. The count is one
    atomic UPDATE of a member not yet locked: entries racing each add one, and exactly one of
    them locks the member (it sees `locked` turn true in what the UPDATE returns).
    """
    stored, wrong_pins, locked = plain_rows(session, _PIN_STATE, {"member_id": member_id})[0]
    if locked:
        return PinCheck(ok=False, tries_left=0, locked=True)
    if verify_pin(pin, stored, secret):
        if wrong_pins:
            session.execute(
                update(Member)
                .where(Member.id == member_id, Member.locked.is_(False))
                .values(wrong_pins=0, updated_at=now)
            )
        return PinCheck(ok=True, tries_left=MAX_WRONG, locked=False)
    counted = session.execute(
        # ORM-enabled: a Member the session already holds gets the new values too.
        update(Member)
        .where(Member.id == member_id, Member.locked.is_(False))
        .values(
            wrong_pins=Member.wrong_pins + 1,
            locked=Member.wrong_pins + 1 >= MAX_WRONG,
            updated_at=now,
        )
        .returning(Member.wrong_pins, Member.locked)
        .execution_options(synchronize_session="fetch")  # its SET reads the row: no evaluating in memory
    ).all()
    if not counted:  # another entry locked the member since the row was read
        return PinCheck(ok=False, tries_left=0, locked=True)
    wrong_pins, just_locked = counted[0]
    if just_locked:
        audit.write(
            session,
            actor=audit.member_actor(member_id),
            action="pin.lock",
            target=f"member:{member_id}",
            source=source,
            at=now,
            member_id=member_id,
            after={"wrong_pins": wrong_pins},
        )
    return PinCheck(
        ok=False,
        tries_left=max(0, MAX_WRONG - wrong_pins),
        locked=bool(just_locked),
        just_locked=bool(just_locked),
    )


def set_pin(
    session: Session, member_id: int, pin: str, *, secret: str, now: datetime, source: str = Source.USSD
) -> None:
    """Store a new PIN chosen by the member (first PIN or Change PIN); refused PINs raise PinRefused."""
    if is_refused(pin):
        raise PinRefused("four identical digits or 1234")
    member = _load_for_update(session, member_id)
    first = member.pin_hash is None
    member.pin_hash = hash_pin(pin, secret)
    member.wrong_pins = 0
    member.updated_at = now
    audit.record(
        session,
        actor=audit.actor_of(member),
        action="pin.set" if first else "pin.change",
        target=f"member:{member.id}",
        source=source,
        at=now,
        member_id=member.id,
    )


def reset_pin(session: Session, member: Member, *, actor: str, source: str, now: datetime) -> None:
    """A treasurer's reset: clear the PIN, the count and the lock; the member chooses a new PIN next dial."""
    before = {
        "locked": member.locked,
        "wrong_pins": member.wrong_pins,
        "had_pin": member.pin_hash is not None,
    }
    member.pin_hash = None
    member.wrong_pins = 0
    member.locked = False
    member.updated_at = now
    audit.record(
        session,
        actor=actor,
        action="pin.reset",
        target=f"member:{member.id}",
        source=source,
        at=now,
        member_id=member.id,
        before=before,
        after={"locked": False, "wrong_pins": 0, "had_pin": False},
    )


if __name__ == "__main__":  # pragma: no cover - a measurement for the README
    import time

    stored = hash_pin("4827", "measure")
    start = time.process_time()
    for _ in range(50):
        verify_pin("4827", stored, "measure")
    print(f"verify_pin: {(time.process_time() - start) / 50 * 1000:.2f} ms CPU per verification")

"""The USSD session record: bound to its phone, nothing in it that tests a PIN faster than the member
table's slow hash, and a saved action confirmed even when Redis fails after the commit."""

from __future__ import annotations

from sqlalchemy import event, func, select

from models.declarations import RepaymentDeclaration
from models.pin import N as STORED_N
from tests import factories as f
from tests.phone import Phone, give_pin
from tests.test_faults import own_redis, own_runtime  # noqa: F401 - fixture
from tests.ussd_support import stored_json
from ussd_app import create_app
from ussd_app.conversation import apology
from ussd_app.ussd_session import SessionRecord, masked, text_mac

SECRET = "test-pin-secret"  # TestConfig.PIN_SECRET
AWA, BINTA = "+221771234567", "+221772345678"
PIN_AWA, PIN_BINTA = "4827", "9164"


def _members(db):
    coop = f.coop(db)
    awa = f.member(db, coop, "M0001", "Awa Diop", phone=AWA, savings=987_650)
    binta = f.member(db, coop, "M0002", "Binta Sarr", phone=BINTA, savings=1_000)
    give_pin(db, awa, PIN_AWA, SECRET)
    give_pin(db, binta, PIN_BINTA, SECRET)
    db.commit()
    return awa, binta


def _hop(client, session_id: str, number: str, text: str) -> str:
    form = {"sessionId": session_id, "serviceCode": "*384*123#", "phoneNumber": number, "text": text}
    body = client.post("/ussd", data=form).get_data(as_text=True)
    assert body.startswith(("CON ", "END ")), body
    return body


def test_a_session_id_reused_with_another_phone_never_shows_the_first_members_state(client, db):
    """Binta's hop on Awa's sessionId (Awa's text extended) starts Binta's own session at her PIN."""
    _members(db)
    awa = Phone(client, AWA)
    awa.dial()
    awa.press(PIN_AWA)
    assert "987 650" in awa.press("1")
    # Binta sends Awa's exact last hop (a replay for Awa), then the text extended with a new entry.
    replayed = _hop(client, awa.session_id, BINTA, awa.text)
    assert "987 650" not in replayed and "PIN" in replayed
    extended = _hop(client, awa.session_id, BINTA, awa.text + "*0")
    assert "987 650" not in extended
    assert stored_json(client.application.extensions["mbolo"], awa.session_id)["ph"] == BINTA


def test_replays_are_detected_per_session_and_phone(client, db):
    """The same (sessionId, text) from the same phone gives the stored reply; from another phone, not."""
    _members(db)
    awa = Phone(client, AWA)
    awa.dial()
    awa.press(PIN_AWA)
    balance = awa.press("1")
    assert awa.replay() == balance
    assert "987 650" not in _hop(client, awa.session_id, BINTA, awa.text)


def _matching_pins(record: SessionRecord, session_id: str, layout: str) -> set[str]:
    """Every 4-digit PIN p for which the record's text hash matches `layout` with p written in."""
    return {
        pin
        for pin in (f"{n:04d}" for n in range(10_000))
        if text_mac(SECRET, session_id, masked(layout.replace("PIN", pin), record.pins)) == record.mac
        or text_mac(SECRET, session_id, layout.replace("PIN", pin)) == record.mac
    }


def test_the_text_hash_tells_nothing_about_the_pin(client, runtime, db):
    """Holding PIN_SECRET and the record, trying all 10 000 PINs tells them apart not at all."""
    _members(db)
    awa = Phone(client, AWA)
    awa.dial()
    awa.press(PIN_AWA)
    awa.press("1")
    record = SessionRecord.loads(runtime.redis.get("ussd:s:" + awa.session_id))
    matching = _matching_pins(record, awa.session_id, "PIN*1")
    assert len(matching) in (0, 10_000), f"{len(matching)} candidates match: the hash tests the PIN"
    assert len(matching) == 10_000  # the PIN is masked: the replay check still works


def test_a_pin_awaiting_confirmation_is_kept_only_as_the_slow_hash(client, runtime, db):
    """Between choosing and confirming a PIN, the record holds a scrypt hash as costly as the table's."""
    coop = f.coop(db)
    f.member(db, coop, phone=AWA)
    db.commit()
    awa = Phone(client, AWA)
    awa.dial()
    awa.press("5803")  # chosen, awaiting confirmation
    raw = runtime.redis.get("ussd:s:" + awa.session_id).decode()
    record = SessionRecord.loads(raw)
    sealed = record.ctx["pin_seal"]
    scheme, n, *_ = sealed.split("$")
    assert scheme == "scrypt" and int(n) >= STORED_N
    assert len(_matching_pins(record, awa.session_id, "PIN")) == 10_000
    assert "5803" not in raw
    assert awa.press("5803").startswith("Mbolo")  # confirmed: the main menu


def test_a_declaration_saved_before_redis_fails_is_confirmed_to_the_member(runtime, own_redis, db):  # noqa: F811
    """Redis dies right after the commit: the member reads the declaration's confirmation, not an apology."""
    awa, _ = _members(db)
    f.loan(db, awa, "L-1")
    db.commit()
    rt = own_runtime(runtime, own_redis.url)
    phone = Phone(create_app(runtime=rt).test_client(), AWA)
    try:
        phone.dial()
        phone.press(PIN_AWA)
        phone.press("4")
        phone.press("5000")
        event.listen(rt.sessions, "after_commit", lambda _session: own_redis.stop(), once=True)
        done = phone.press("1")
    finally:
        rt.redis.close()
    [code] = db.scalars(select(RepaymentDeclaration.code)).all()
    assert done != apology("fr") and code in done
    assert phone.ended and phone.status == 200
    assert db.scalar(select(func.count()).select_from(RepaymentDeclaration)) == 1

"""POST /sms/inbound: stored first, handled second; STOP/START; reply limits; hand-off to the commands."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from models.cooperative import Member
from models.enums import InboundStatus, SmsKind
from models.messaging import AuditEvent, InboundSms, OutboundSms
from sms import inbound
from sms.inbound import retry_unhandled
from tests import factories as f

PHONE = "+221771234567"


def _post(client, text: str, gateway_id: str, sender: str = PHONE):
    return client.post(
        "/sms/inbound",
        data={
            "from": sender,
            "to": "21000",
            "text": text,
            "id": gateway_id,
            "date": "2026-12-01",
            "linkId": "l1",
        },
    )


def _member(db, member_id: int) -> Member:
    db.expire_all()
    found = db.get(Member, member_id)
    db.commit()  # end the read: on SQLite an open transaction holds the write lock
    return found


def _replies(db, to: str = PHONE) -> list[OutboundSms]:
    rows = db.scalars(select(OutboundSms).where(OutboundSms.to == to).order_by(OutboundSms.id)).all()
    db.commit()
    return rows


@pytest.fixture
def member(db):
    """A Wolof-speaking member holding PHONE."""
    m = f.member(db, f.coop(db), phone=PHONE, language="wo")
    db.commit()
    return m


def test_stop_then_start_flip_the_opt_out_flag_with_an_audit_and_a_reply(client, db, member):
    """STOP (any case, accents folded) opts out, START opts back in; confirmed in the member's language."""
    assert _post(client, "Arrêt", "in-1").status_code == 200
    assert _member(db, member.id).opted_out is True
    assert _post(client, "start", "in-2").status_code == 200
    assert _member(db, member.id).opted_out is False
    actions = db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["sms.opt_out", "sms.opt_in"]
    replies = _replies(db)
    assert [r.kind for r in replies] == [SmsKind.REPLY, SmsKind.REPLY]
    assert replies[0].language == "wo" and "START" in replies[0].text and "STOP" in replies[1].text
    statuses = db.scalars(select(InboundSms.status)).all()
    assert statuses == [InboundStatus.HANDLED, InboundStatus.HANDLED]


def test_a_redelivered_message_is_answered_200_and_handled_once(client, db, member):
    """The same gateway id twice: one row, one opt-out, one reply."""
    assert _post(client, "STOP", "in-1").status_code == 200
    assert _post(client, "STOP", "in-1").status_code == 200
    assert db.scalar(select(func.count(InboundSms.id))) == 1
    assert db.scalar(select(func.count(AuditEvent.id))) == 1
    db.commit()
    assert len(_replies(db)) == 1


def test_stop_from_a_number_that_is_not_a_member_is_confirmed(client, db):
    """Anyone may send STOP; a stranger gets the confirmation (within the stranger limit)."""
    assert _post(client, "STOP", "in-1", sender="+221770009999").status_code == 200
    [reply] = _replies(db, "+221770009999")
    assert reply.member_id is None and reply.language == "fr"


def test_every_message_is_handed_to_the_commands(client, db, member, monkeypatch):
    """sms.commands.handle(session, inbound, sender, now, runtime) gets every message, STOP included."""
    calls = []

    def handle(session, message, sender, now, runtime):
        calls.append((message.text, sender.id if sender else None, now))

    monkeypatch.setattr(inbound, "handle_command", handle)
    _post(client, "PAY M1 5000", "in-1")
    _post(client, "STOP", "in-2")
    assert [(text, who) for text, who, _ in calls] == [("PAY M1 5000", member.id), ("STOP", member.id)]


def test_a_handler_failure_answers_200_marks_the_row_failed_and_the_sweep_retries(
    client, db, member, runtime, clock, monkeypatch
):
    """Handling raises: 200 anyway, row failed with the error, nothing it staged kept; the tick retries."""
    attempts = []

    def handle(session, message, sender, now, runtime):
        attempts.append(now)
        session.add(sender)
        sender.name = "changed"
        if len(attempts) == 1:
            raise RuntimeError("database hiccup")

    monkeypatch.setattr(inbound, "handle_command", handle)
    assert _post(client, "PAY M1 5000", "in-1").status_code == 200
    row = db.scalar(select(InboundSms))
    assert row.status == InboundStatus.FAILED and "database hiccup" in row.error and row.attempts == 1
    db.commit()
    db.commit()
    assert _member(db, member.id).name != "changed", "the failed handling was rolled back"
    assert retry_unhandled(runtime, clock.now()) == 1
    db.expire_all()
    row = db.scalar(select(InboundSms))
    assert row.status == InboundStatus.HANDLED and row.error is None
    assert _member(db, member.id).name == "changed"
    assert retry_unhandled(runtime, clock.now()) == 0


def test_a_malformed_message_is_refused_with_400(client, db):
    """No id or no sender: 400, nothing stored."""
    assert client.post("/sms/inbound", data={"from": PHONE, "text": "x"}).status_code == 400
    assert client.post("/sms/inbound", data={"id": "in-1", "text": "x"}).status_code == 400
    assert db.scalar(select(func.count(InboundSms.id))) == 0


def test_503_when_the_message_cannot_be_stored(runtime, tmp_path):
    """Database unreachable: 503, so the gateway delivers it again later."""
    from models.database import make_engine, make_session_factory
    from ussd_app import create_app

    engine = make_engine(f"sqlite:///{tmp_path}/missing/dir/none.db")
    broken = replace(runtime, engine=engine, sessions=make_session_factory(engine), extras={})
    client = create_app(runtime=broken).test_client()
    assert _post(client, "STOP", "in-1").status_code == 503


def _kinds(db, to: str = PHONE) -> list[str]:
    return [row.kind for row in _replies(db, to)]


def test_a_member_gets_at_most_5_replies_an_hour_then_one_pause_notice(client, db, member, clock):
    """The sixth message within the hour gets one notice saying when replies resume; the seventh nothing."""
    for i in range(7):
        _post(client, "AIDE", f"in-{i}")
        clock.advance(minutes=5)
    assert _kinds(db) == [SmsKind.REPLY] * 5 + [SmsKind.PAUSE]
    pause = _replies(db)[-1]
    # Replies at 10:00 … 10:20 Dakar (clock starts 10:00 UTC = 10:00 Dakar): the first slot frees at 11:00.
    assert pause.language == "wo" and "11:00" in pause.text
    assert db.scalar(select(func.count(InboundSms.id)).where(InboundSms.status == InboundStatus.HANDLED)) == 7
    db.commit()
    clock.advance(minutes=30)  # 11:05: the 10:00 reply has left the hour
    _post(client, "AIDE", "in-later")
    assert _kinds(db)[-1] == SmsKind.REPLY
    _post(client, "AIDE", "in-later-2")  # 5th of the hour (10:10, 10:15, 10:20, 11:05, 11:05)
    _post(client, "AIDE", "in-later-3")
    # A new pause after the replies sent at 11:05: one notice again, naming when 10:10's slot frees.
    assert _kinds(db)[-3:] == [SmsKind.REPLY, SmsKind.REPLY, SmsKind.PAUSE]
    assert "11:10" in _replies(db)[-1].text


def test_a_number_that_is_not_a_member_gets_one_reply_a_day_then_one_pause_notice(client, db, clock):
    """Strangers: one reply per Dakar calendar day, one notice that replies resume tomorrow."""
    stranger = "+221770008888"
    _post(client, "AIDE", "in-1", sender=stranger)
    clock.advance(hours=3)
    _post(client, "AIDE", "in-2", sender=stranger)
    _post(client, "AIDE", "in-2b", sender=stranger)
    assert _kinds(db, stranger) == [SmsKind.REPLY, SmsKind.PAUSE]
    assert "demain" in _replies(db, stranger)[-1].text
    clock.advance(hours=12)  # the next day in Dakar (10:00 + 15 h = 01:00)
    _post(client, "AIDE", "in-3", sender=stranger)
    assert _kinds(db, stranger) == [SmsKind.REPLY, SmsKind.PAUSE, SmsKind.REPLY]


def test_a_treasurer_is_answered_up_to_60_an_hour_then_told_once(client, db, clock):
    """Officers always get their reply; the 61st in an hour is one notice, the 62nd nothing."""
    f.member(db, f.coop(db), phone=PHONE, role="treasurer")
    db.commit()
    for i in range(62):
        _post(client, "AIDE", f"in-{i}")
        clock.advance(seconds=30)
    assert _kinds(db) == [SmsKind.REPLY] * 60 + [SmsKind.PAUSE]
    assert "11:00" in _replies(db)[-1].text  # 60 replies from 10:00 Dakar: the first frees at 11:00


def test_receipts_are_not_limited(db, clock, member, runtime):
    """queue_reply with kind=receipt always queues."""
    from sms.replies import queue_reply

    rows = [
        queue_reply(
            db,
            to=PHONE,
            text=f"Recu {i}",
            language="fr",
            now=clock.now(),
            config=runtime.config,
            member=member,
            kind="receipt",
        )
        for i in range(8)
    ]
    assert all(rows)
    limited = [
        queue_reply(
            db,
            to=PHONE,
            text=f"Reponse {i}",
            language="fr",
            now=clock.now(),
            config=runtime.config,
            member=member,
        )
        for i in range(7)
    ]
    db.commit()
    assert sum(1 for r in limited if r is not None) == 5

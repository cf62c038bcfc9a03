"""PROMESSE: an officer records a member's promise; bad dates, too much, another cooperative: nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from i18n.gsm7 import fold
from models import AuditEvent
from models.promises import Promise, PromiseStatus
from tests.commands.conftest import AWA, OTHER_TREASURER, PRESIDENT, TREASURER


def promises(db) -> list[Promise]:
    db.expire_all()
    rows = list(db.scalars(select(Promise).order_by(Promise.id)))
    db.commit()
    return rows


def test_a_promise_is_recorded_audited_and_both_sides_told(coop, sms, db, outbox):
    """PROMESSE m12 5000 10/12 on 01/12: open promise for 10/12, audit event, reply, SMS to Awa."""
    assert sms("PROMESSE m12 5000 10/12").result == "done"
    [p] = promises(db)
    assert (p.member_id, p.amount, p.due_on.isoformat(), p.status) == (coop.awa, 5_000, "2026-12-10", "open")
    assert p.recorded_by_id == coop.treasurer
    assert (
        db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "promise.record"))
        == 1
    )
    [reply] = outbox(to=TREASURER)
    assert reply.text == fold(
        "NDB: promesse de Awa Diop (M0012): 5 000 F d'ici le 10/12. "
        "Les rappels de retard attendent cette date."
    )
    [notice] = outbox(to=AWA)
    assert notice.text == fold(
        "NDB: Fatou Sarr (T0001) a noté votre promesse de payer 5 000 F d'ici le 10/12. Merci de la tenir."
    )
    assert reply.segments == notice.segments == 1


def test_a_new_promise_replaces_the_open_one_and_says_so(coop, sms, db, outbox):
    """One open promise per member: the president's new one (in Wolof) replaces the treasurer's."""
    sms("PROMESSE m12 5000 10/12")
    assert sms("DIG m12 8000 20/12", PRESIDENT).result == "done"
    old, new = promises(db)
    assert (old.status, new.status) == (PromiseStatus.REPLACED, PromiseStatus.OPEN)
    [reply] = outbox(to=PRESIDENT)
    assert reply.language == "wo"
    assert fold("Mu ngi wuutu dig bu 5 000 F bu 10/12.") in reply.text


def test_past_and_too_far_dates_are_refused_with_the_syntax(coop, sms, db, outbox):
    """20/11 has passed, 15/01 is 45 days away: each reply says so with the syntax; nothing written."""
    assert sms("PROMESSE m12 5000 20/11").detail == "past_promise"
    assert sms("PROMESSE m12 5000 15/01", gateway_id="ATXid_far").detail == "far_promise"
    past, far = outbox(to=TREASURER)
    assert past.text == fold(
        "Date 20/11 passée: une promesse est pour 1 à 30 jours à venir. "
        "Format: PROMESSE <membre> <montant> <JJ/MM>. Exemple: PROMESSE M12 5000 15/12"
    )
    assert far.text.startswith("Date 15/01 trop loin")
    assert promises(db) == [] and outbox(to=AWA) == []


def test_more_than_owed_is_refused_with_what_remains(coop, sms, db, outbox):
    """Awa owes 110 000 F: a promise of 120 000 F is refused naming what remains; nothing written."""
    assert sms("PROMESSE m12 120000 10/12").detail == "too_much"
    assert "reste 110 000 F" in outbox(to=TREASURER)[0].text
    assert promises(db) == []


def test_another_cooperative_oneself_and_members_are_refused(coop, sms, db, outbox):
    """THS's treasurer on NDB's member, the treasurer on herself, a member: refused; nothing written."""
    assert sms("PROMESSE m12 5000 10/12", OTHER_TREASURER).detail == "unknown_member"
    assert "aucun membre M12 dans votre coopérative" in outbox(to=OTHER_TREASURER)[0].text
    assert sms("PROMESSE t1 5000 10/12", gateway_id="ATXid_own").detail == "own_account"
    assert sms("PROMESSE m12 5000 10/12", AWA, gateway_id="ATXid_m").detail == "not_allowed"
    assert promises(db) == []

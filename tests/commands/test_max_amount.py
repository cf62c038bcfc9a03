"""MAX_AMOUNT at every entry point (SMS, USSD, CSV) and a ceiling in the ledger itself."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from config.settings import AMOUNT_CEILING
from i18n.gsm7 import fold
from models import Member, SavingsEntry
from models.csv_import import import_members
from models.enums import SavingsKind
from models.errors import Refused
from models.ledger import post_savings, record_repayment
from models.position import member_position
from tests.commands.conftest import AWA, TREASURER
from tests.phone import Phone, give_pin


def _savings(db, member_id: int) -> int:
    total = db.scalar(
        select(func.coalesce(func.sum(SavingsEntry.amount), 0)).where(SavingsEntry.member_id == member_id)
    )
    db.commit()
    return int(total)


def test_an_absurd_deposit_by_sms_is_refused_and_later_deposits_still_work(coop, sms, outbox, db):
    """`DEP M0012 9 000 000 000 000 000 000` twice: refused with the limit, nothing posted; DEP works."""
    before = _savings(db, coop.awa)
    for _ in range(2):
        outcome = sms("DEP M0012 9 000 000 000 000 000 000")
        assert outcome.result == "refused" and outcome.detail == "too_large_amount"
    assert _savings(db, coop.awa) == before
    reply = outbox(to=TREASURER)[-1].text
    assert fold("Montant trop grand: 10 000 000 F au plus.") in reply
    assert sms("DEP M0012 2000").result != "refused"
    assert _savings(db, coop.awa) == before + 2_000
    assert member_position(db, coop.awa, db.get(Member, coop.awa).created_at.date()).savings == before + 2_000


def test_a_huge_amount_over_the_webhook_gets_a_reply_not_a_retry(client, coop, db, outbox):
    """Far beyond BIGINT, through /sms/inbound: 200, the row handled, one reply with the limit."""
    huge = "9" * 12 + " " + " ".join(["999"] * 8)
    response = client.post(
        "/sms/inbound", data={"from": TREASURER, "to": "21000", "text": f"PAY M0012 {huge}", "id": "in-huge"}
    )
    assert response.status_code == 200
    replies = outbox(to=TREASURER)
    assert len(replies) == 1


def test_a_ussd_declaration_above_max_amount_is_asked_again(client, coop, db):
    """Amount screen: 10 000 001 F re-shows the screen with the limit; nothing is declared."""
    give_pin(db, db.get(Member, coop.awa), "4827", "test-pin-secret")
    db.commit()
    phone = Phone(client, AWA)
    phone.dial()
    phone.press("4827")
    phone.press("4")
    screen = phone.press("10000001")
    assert not phone.ended and "10 000 000 F" in screen
    screen = phone.press("9" * 40)
    assert not phone.ended and "5000" in screen


def test_a_csv_amount_above_max_amount_fails_its_row_with_the_line_number(db, clock):
    """A savings of 99 999 999 999 F fails that row (line 3); the good row still imports."""
    data = (
        b"cooperative,member_no,name,phone,savings\n"
        b"GIE Ndiambour,M0001,Awa Diop,771234567,5000\n"
        b"GIE Ndiambour,M0002,Binta Fall,781112233,99999999999\n"
    )
    result = import_members(db, data, now=clock.now(), today=clock.today())
    assert [issue.line for issue in result.failed] == [3]
    assert "largest amount" in result.failed[0].message
    assert result.created == 1


def test_the_ledger_never_posts_above_its_ceiling(coop, db, clock):
    """Whatever a caller lets through, the ledger refuses amounts the database could not sum."""
    awa = db.get(Member, coop.awa)
    with pytest.raises(Refused):
        post_savings(
            db,
            member=awa,
            kind=SavingsKind.DEPOSIT,
            amount=AMOUNT_CEILING + 1,
            entry_on=clock.today(),
            now=clock.now(),
            source="cli",
        )
    with pytest.raises(Refused):
        record_repayment(db, member=awa, amount=10**19, paid_on=clock.today(), now=clock.now(), source="cli")
    db.rollback()

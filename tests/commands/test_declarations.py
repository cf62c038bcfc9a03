"""Declarations: a member says "I paid" (USSD 4), treasurers and the president answer OUI/NON by SMS."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from i18n.gsm7 import fold
from models import Member, Repayment, RepaymentDeclaration
from models.clock import DAKAR
from models.declarations import CODES
from models.enums import DeclarationStatus
from models.errors import Refused
from sms.declarations import declare_repayment, run_declaration_lifecycle
from tests import factories
from tests.commands.conftest import AWA, OTHER_TREASURER, PRESIDENT, TREASURER


class Pick:
    """A random source that picks `code` whenever it is offered (to make codes collide on purpose)."""

    def __init__(self, code: str):
        self.code = code

    def choice(self, seq):
        return self.code if self.code in seq else seq[0]


@pytest.fixture
def declare(runtime, clock):
    """`declare(member_id, amount, key=None, rng=None)` → the declaration, committed."""

    def run(member_id: int, amount: int, key: str | None = None, rng=None) -> RepaymentDeclaration:
        with runtime.sessions() as session:
            member = session.get(Member, member_id)
            declared = declare_repayment(
                session,
                member=member,
                amount=amount,
                now=clock.now(),
                config=runtime.config,
                idempotency_key=key,
                rng=rng,
            )
            session.commit()
            return declared.declaration

    return run


@pytest.fixture
def lifecycle(runtime, clock, db):
    """Run the 10-minute tick's declaration task at the clock's time."""

    def run() -> dict:
        db.commit()
        with runtime.sessions() as session:
            summary = run_declaration_lifecycle(session, clock.now(), runtime.config)
            session.commit()
        return summary

    return run


def status(db, declaration_id) -> str:
    db.expire_all()
    return db.get(RepaymentDeclaration, declaration_id).status


def test_declaration_is_sent_to_every_treasurer_and_the_president(coop, declare, db, outbox):
    """A 4-digit code; the treasurer (fr) and the president (wo) are told, the member and other coops not."""
    declaration = declare(coop.awa, 11_000)
    assert declaration.status == DeclarationStatus.PENDING
    assert declaration.code.isdigit() and int(declaration.code) in CODES
    notices = outbox(kind="notice")
    assert sorted(n.to for n in notices) == sorted([TREASURER, PRESIDENT])
    by_phone = {n.to: n for n in notices}
    assert by_phone[TREASURER].text == fold(
        f"NDB: Awa Diop (M0012) déclare avoir payé 11 000 F. "
        f"Répondez OUI {declaration.code} pour confirmer ou NON {declaration.code} pour refuser."
    )
    assert by_phone[PRESIDENT].text == fold(
        f"NDB: Awa Diop (M0012) yégle na ne fey na 11 000 F. "
        f"Tontul OUI {declaration.code} ngir dëggal walla NON {declaration.code} ngir bañ."
    )
    assert OTHER_TREASURER not in by_phone and AWA not in by_phone


def test_oui_posts_the_repayment_and_links_the_declaration(coop, declare, sms, db, outbox):
    """OUI: a Repayment of source ussd, linked to the declaration, receipts to both saying it is confirmed."""
    declaration = declare(coop.awa, 11_000)
    outcome = sms(f"OUI {declaration.code}", gateway_id="ATXid_oui")
    assert outcome.result == "posted"
    db.expire_all()
    repayment = db.scalar(select(Repayment))
    assert (repayment.amount, repayment.source) == (11_000, "ussd")
    assert (repayment.declaration_id, repayment.external_id) == (declaration.id, "ATXid_oui")
    assert repayment.recorded_by_id == coop.treasurer
    assert status(db, declaration.id) == DeclarationStatus.CONFIRMED
    assert db.get(RepaymentDeclaration, declaration.id).decided_by_id == coop.treasurer
    [to_awa] = outbox(to=AWA)
    assert to_awa.kind == "receipt"
    assert to_awa.text.endswith(fold(f"Reste à payer: 99 000 F. Déclaration {declaration.code} confirmée."))


def test_first_answer_wins(coop, declare, sms, db, outbox):
    """The president's OUI comes first: the treasurer's NON is told who already confirmed it."""
    declaration = declare(coop.awa, 5_000)
    assert sms(f"oui{declaration.code}", PRESIDENT).result == "posted"
    late = sms(f"NON {declaration.code}")
    assert (late.result, late.detail) == ("refused", "already_confirmed")
    assert outbox(to=TREASURER, kind="reply")[-1].text == fold(
        f"NDB: la déclaration {declaration.code} est déjà confirmée par Moussa Ndiaye (P0001)."
    )
    again = sms(f"OUI {declaration.code}", PRESIDENT)
    assert again.detail == "already_confirmed"
    db.expire_all()
    assert len(db.scalars(select(Repayment)).all()) == 1


def test_non_rejects_and_tells_the_member(coop, declare, sms, db, outbox):
    """NON: nothing posted; the member reads that it was not confirmed and by whom."""
    declaration = declare(coop.awa, 5_000)
    assert sms(f"NON {declaration.code}").result == "done"
    assert status(db, declaration.id) == DeclarationStatus.REJECTED
    assert db.scalar(select(Repayment)) is None
    [to_awa] = outbox(to=AWA)
    assert to_awa.text == fold(
        f"NDB: votre déclaration de 5 000 F (code {declaration.code}) n'est pas confirmée par "
        f"Fatou Sarr (T0001). Voyez votre trésorier."
    )
    assert sms(f"OUI {declaration.code}", PRESIDENT).detail == "already_rejected"


def test_amount_is_checked_again_at_oui(coop, declare, sms, db, outbox):
    """Declared 11 000 F, but a PAY left only 5 000 F to pay: OUI is refused with the remaining amount."""
    declaration = declare(coop.awa, 11_000)
    sms("PAY m12 105000", PRESIDENT)
    outcome = sms(f"OUI {declaration.code}")
    assert outcome.detail == "declaration_too_much"
    assert "reste 5 000 F" in outbox(to=TREASURER, kind="reply")[-1].text
    assert status(db, declaration.id) == DeclarationStatus.PENDING


def test_unknown_code_and_other_cooperatives_code(coop, declare, sms, outbox):
    """A code nobody holds, or one of another cooperative, is unknown to the sender."""
    declaration = declare(coop.awa, 5_000)
    assert sms(f"OUI {declaration.code}", OTHER_TREASURER).detail == "unknown_declaration"
    wrong = "1000" if declaration.code != "1000" else "1001"
    assert sms(f"OUI {wrong}").detail == "unknown_declaration"
    assert sms(f"OUI {declaration.code}", AWA).detail == "not_allowed"


def test_treasurer_cannot_confirm_their_own_declaration(coop, declare, sms, db):
    """The treasurer's own declaration goes to the president, who confirms it."""
    factories.loan(db, db.get(Member, coop.treasurer), "L-T01")
    db.commit()
    declaration = declare(coop.treasurer, 5_000)
    assert sms(f"OUI {declaration.code}").detail == "own_account"
    assert sms(f"OUI {declaration.code}", PRESIDENT).result == "posted"


def test_reminder_after_24_hours_once(coop, declare, clock, lifecycle, outbox, db):
    """At 24 h the treasurer and the president get one reminder; later ticks do not repeat it."""
    declaration = declare(coop.awa, 5_000)
    clock.advance(hours=23, minutes=50)
    assert lifecycle() == {"expired": 0, "reminded": 0}
    clock.advance(minutes=10)
    assert lifecycle() == {"expired": 0, "reminded": 1}
    clock.advance(minutes=10)
    assert lifecycle() == {"expired": 0, "reminded": 0}
    notices = [
        n for n in outbox(kind="notice") if "rappel" in n.text or "fàttali" in n.text or "fattali" in n.text
    ]
    assert sorted(n.to for n in notices) == sorted([TREASURER, PRESIDENT])
    assert (
        fold(f"Répondez OUI {declaration.code} ou NON {declaration.code}.")
        in notices[0].text + notices[1].text
    )
    assert status(db, declaration.id) == DeclarationStatus.PENDING


def test_expiry_after_72_hours_tells_the_member(coop, declare, clock, lifecycle, outbox, sms, db):
    """At 72 h the declaration expires; the member is told to see the treasurer; a late OUI says so."""
    declaration = declare(coop.awa, 5_000)
    clock.advance(hours=72)
    assert lifecycle() == {"expired": 1, "reminded": 0}
    assert status(db, declaration.id) == DeclarationStatus.EXPIRED
    [to_awa] = outbox(to=AWA)
    assert to_awa.text == fold(
        f"NDB: votre déclaration de 5 000 F (code {declaration.code}) n'a pas été confirmée. "
        "Voyez votre trésorier."
    )
    assert sms(f"OUI {declaration.code}").detail == "already_expired"
    assert lifecycle() == {"expired": 0, "reminded": 0}


def test_night_time_notices_wait_for_the_morning(coop, declare, clock, lifecycle, outbox):
    """Declared at 21:00: the treasurers' notice waits until 08:00; so does the 24 h reminder."""
    clock.set(datetime(2026, 12, 1, 21, 0))
    declare(coop.awa, 5_000)
    morning = datetime(2026, 12, 2, 8, 0, tzinfo=DAKAR)
    assert {n.send_after for n in outbox(kind="notice")} == {morning}
    clock.set(datetime(2026, 12, 2, 21, 0))
    lifecycle()
    reminders = outbox(kind="notice")[2:]
    assert len(reminders) == 2
    assert {n.send_after for n in reminders} == {morning + timedelta(days=1)}


def test_a_new_declaration_replaces_the_pending_one(coop, declare, sms, db, outbox):
    """One pending per member: the old one is `replaced`, treasurers are told, its code answers so."""
    first = declare(coop.awa, 5_000)
    second = declare(coop.awa, 6_000)
    assert status(db, first.id) == DeclarationStatus.REPLACED
    assert status(db, second.id) == DeclarationStatus.PENDING
    assert second.code != first.code
    told = outbox(to=TREASURER, kind="notice")[-1]
    assert told.text == fold(
        f"NDB: Awa Diop (M0012) remplace sa déclaration {first.code} par 6 000 F. "
        f"Répondez OUI {second.code} ou NON {second.code}."
    )
    assert sms(f"OUI {first.code}").detail == "already_replaced"
    assert sms(f"OUI {second.code}").result == "posted"


def test_codes_of_pending_declarations_are_unique_per_cooperative(coop, declare, db):
    """Two pending declarations never share a code in one cooperative; the index enforces it."""
    first = declare(coop.awa, 5_000)
    factories.loan(db, db.get(Member, coop.binta), "L-B01")
    db.commit()
    second = declare(coop.binta, 5_000, rng=Pick(first.code))
    assert second.code != first.code
    db.add(
        RepaymentDeclaration(
            cooperative_id=coop.coop_id,
            member_id=coop.treasurer,
            amount=1,
            code=first.code,
            status=DeclarationStatus.PENDING,
            created_at=first.created_at,
        )
    )
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()


def test_a_decided_code_rests_a_week_then_is_reused(coop, declare, sms, clock, db):
    """A late answer for a decided code finds it decided; after a week the code may serve again."""
    first = declare(coop.awa, 5_000)
    sms(f"OUI {first.code}")
    again = declare(coop.awa, 6_000, rng=Pick(first.code))
    assert again.code != first.code
    sms(f"NON {again.code}")
    clock.advance(days=8)
    reused = declare(coop.awa, 7_000, rng=Pick(first.code))
    assert reused.code == first.code
    assert sms(f"OUI {first.code}").result == "posted"
    db.expire_all()
    assert db.get(RepaymentDeclaration, reused.id).status == DeclarationStatus.CONFIRMED
    assert db.get(RepaymentDeclaration, first.id).status == DeclarationStatus.CONFIRMED
    amounts = sorted(r.amount for r in db.scalars(select(Repayment)))
    assert amounts == [5_000, 7_000]


def test_pay_with_the_declared_amount_confirms_the_declaration(coop, declare, sms, db, outbox):
    """PAY of the same amount confirms the pending declaration and says so; another amount leaves it."""
    declaration = declare(coop.awa, 5_000)
    sms("PAY m12 4000")
    assert status(db, declaration.id) == DeclarationStatus.PENDING
    assert sms("PAY m12 5000").result == "posted"
    assert status(db, declaration.id) == DeclarationStatus.CONFIRMED
    db.expire_all()
    repayment = db.scalars(select(Repayment).order_by(Repayment.id.desc())).first()
    assert repayment.declaration_id == declaration.id and repayment.source == "sms"
    assert outbox(to=TREASURER, kind="receipt")[-1].text.endswith(
        fold(f"Déclaration {declaration.code} confirmée.")
    )
    assert sms(f"OUI {declaration.code}", PRESIDENT).detail == "already_confirmed"


def test_declaring_is_idempotent_per_ussd_hop(coop, declare, outbox, db):
    """The same (session, step) key twice: one declaration, one round of notices."""
    first = declare(coop.awa, 5_000, key="ussd:abc:12")
    second = declare(coop.awa, 5_000, key="ussd:abc:12")
    assert first.id == second.id
    assert len(outbox(kind="notice")) == 2


def test_declaring_needs_an_active_loan_and_at_most_what_remains(coop, declare):
    """No loan, or more than the outstanding amount: refused before anything is written."""
    with pytest.raises(Refused) as no_loan:
        declare(coop.binta, 5_000)
    assert no_loan.value.code == "no_active_loan"
    with pytest.raises(Refused) as too_much:
        declare(coop.awa, 200_000)
    assert (too_much.value.code, too_much.value.details) == ("too_much", {"remaining": 110_000})

"""Money under concurrency, on PostgreSQL (row locks): twenty treasurers' messages at once on one loan."""

import threading
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from models import InboundSms, Member, OutboundSms, Repayment
from models.database import make_engine, make_session_factory
from models.enums import InboundStatus
from models.position import member_position
from sms.commands import handle
from tests.commands.conftest import PRESIDENT, TREASURER

pytestmark = pytest.mark.postgres


@pytest.fixture
def wide(runtime, database_url):
    """The runtime over an engine whose pool holds a connection per thread."""
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises writers at BEGIN IMMEDIATE")
    engine = make_engine(database_url, pool_size=25)
    yield replace(runtime, engine=engine, sessions=make_session_factory(engine))
    engine.dispose()


def deliver_together(runtime, clock, messages: list[tuple[str, str]]) -> list:
    """Handle each (text, phone) in its own thread and transaction, all released at once."""
    barrier = threading.Barrier(len(messages))
    results: list = [None] * len(messages)

    def run(index: int, text: str, phone: str) -> None:
        with runtime.sessions() as session:
            inbound = InboundSms(
                gateway_id=f"ATXid_c{index:03d}",
                from_phone=phone,
                text=text,
                received_at=clock.now(),
                status=InboundStatus.RECEIVED,
                attempts=0,
            )
            session.add(inbound)
            session.commit()
            sender = session.scalar(select(Member).where(Member.phone == phone))
            barrier.wait(timeout=30)
            try:
                results[index] = handle(session, inbound, sender, clock.now(), runtime)
                session.commit()
            except Exception as exc:  # noqa: BLE001 - a thread's failure is asserted on below, not lost
                session.rollback()
                results[index] = exc

    threads = [threading.Thread(target=run, args=(i, t, p)) for i, (t, p) in enumerate(messages)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_twenty_payments_at_once_on_one_loan(coop, wide, clock, db):
    """20 distinct amounts at once: 20 repayments, outstanding exact, 40 receipts (member and treasurer)."""
    amounts = [1_000 + 10 * i for i in range(20)]
    messages = [(f"PAY m12 {amount}", TREASURER if i % 2 else PRESIDENT) for i, amount in enumerate(amounts)]
    results = deliver_together(wide, clock, messages)
    assert all(r.result == "posted" for r in results), results
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Repayment)) == 20
    assert db.scalar(select(func.sum(Repayment.amount))) == sum(amounts)
    assert member_position(db, coop.awa, clock.today()).outstanding == 110_000 - sum(amounts)
    assert db.scalar(select(func.count()).select_from(OutboundSms).where(OutboundSms.kind == "receipt")) == 40
    receipts = {r.receipt for r in db.scalars(select(Repayment))}
    assert len(receipts) == 20


def test_the_same_payment_sent_twice_at_once_posts_once(coop, wide, clock, db):
    """Two copies of one PAY (two gateway ids) racing: the member lock lets the resend guard see the first."""
    results = deliver_together(wide, clock, [("PAY m12 5000", TREASURER), ("PAY m12 5000", TREASURER)])
    assert sorted(r.result for r in results) == ["posted", "refused"]
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Repayment)) == 1

"""What the phone simulator injects records source `simulator`; the aggregator's and gateway's do not.

The simulator marks its in-process posts with the WSGI key `mbolo.source` (ussd_app.origin); these
tests post to the real webhooks with and without that key. The `sim-` prefix of an id proves nothing.
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from models import AuditEvent, InboundSms, Member, ProductionReport, Repayment, SavingsEntry
from models.enums import Source
from sms import inbound
from sms.commands import handle as handle_command
from tests import factories
from tests.commands.conftest import AWA, TREASURER
from tests.phone import Phone
from ussd_app.origin import SOURCE_KEY, looks_simulated, simulated_id

PIN = "4827"
_ids = itertools.count(1)


class Simulator:
    """The Flask test client posting as the simulator does: with its trusted WSGI marker."""

    def __init__(self, client):
        self.client = client

    def post(self, url: str, **kw):
        return self.client.post(url, environ_base={SOURCE_KEY: Source.SIMULATOR}, **kw)


class SimNamedPhone(Phone):
    """An aggregator (no marker) whose session ids happen to start with `sim-`."""

    def dial(self, shortcut: str = "") -> str:
        super().dial(shortcut)
        self.session_id = simulated_id()
        self.text = shortcut
        return self._send()


def send_sms(poster, text: str, sender: str = TREASURER, gateway_id: str | None = None) -> str:
    """POST /sms/inbound as the gateway would (through `poster`); returns the gateway id used."""
    gateway_id = gateway_id or f"ATXid_{next(_ids):05d}"
    response = poster.post(
        "/sms/inbound",
        data={"from": sender, "to": "21000", "text": text, "id": gateway_id, "date": "", "linkId": ""},
    )
    assert response.status_code == 200
    return gateway_id


def fresh(db, stmt):
    """Rows of `stmt`, read afresh and the read transaction ended (SQLite's write lock)."""
    db.expire_all()
    rows = list(db.scalars(stmt))
    db.commit()
    return rows


def audit_sources(db, action: str) -> list[str]:
    return [e.source for e in fresh(db, select(AuditEvent).where(AuditEvent.action == action))]


def set_pin_and_open_menu(phone: Phone) -> None:
    assert "PIN" in phone.dial()
    phone.press(PIN)
    assert phone.press(PIN).startswith("Mbolo - Menu")


def test_ussd_writes_from_the_simulator_record_simulator(client, db, coop):
    """PIN, production report and declaration made through the simulator's hops say `simulator`."""
    ndb = db.get(Member, coop.awa).cooperative
    factories.product(db, ndb, "Arachide", "kg")
    db.commit()
    phone = Phone(Simulator(client), AWA)  # an ordinary session id: the marker alone decides
    set_pin_and_open_menu(phone)
    phone.press("2")
    phone.press("1")
    phone.press("120")
    assert phone.press("1").startswith("Enregistr")
    phone.press("00")
    phone.press("4")
    phone.press("5000")
    phone.press("1")
    assert phone.ended
    [report] = fresh(db, select(ProductionReport))
    assert report.source == Source.SIMULATOR
    assert audit_sources(db, "pin.set") == [Source.SIMULATOR]
    assert audit_sources(db, "declaration.create") == [Source.SIMULATOR]


def test_an_aggregator_session_id_starting_with_sim_is_still_ussd(client, db, coop):
    """Without the simulator's marker a `sim-…` session id is the aggregator's: writes say `ussd`."""
    phone = SimNamedPhone(client, AWA)
    set_pin_and_open_menu(phone)
    assert looks_simulated(phone.session_id)
    assert audit_sources(db, "pin.set") == [Source.USSD]


def test_treasurer_commands_from_the_simulator_record_simulator(client, db, coop):
    """DEP, ANNULE and PIN sent from the simulator: the savings entries and audit events say `simulator`."""
    sim = Simulator(client)
    send_sms(sim, "DEP M0012 2000")
    [deposit] = fresh(
        db, select(SavingsEntry).where(SavingsEntry.receipt.is_not(None), SavingsEntry.amount == 2000)
    )
    send_sms(sim, f"ANNULE {deposit.receipt}")
    send_sms(sim, "PIN M0012")
    entries = fresh(db, select(SavingsEntry).where(SavingsEntry.external_id.is_not(None)))
    assert len(entries) == 1 and entries[0].source == Source.SIMULATOR
    reversal = fresh(db, select(SavingsEntry).where(SavingsEntry.reverses_id == deposit.id))
    assert [r.source for r in reversal] == [Source.SIMULATOR]
    assert audit_sources(db, "pin.reset") == [Source.SIMULATOR]
    rows = fresh(db, select(InboundSms))
    assert {r.source for r in rows} == {Source.SIMULATOR}


def test_stop_from_the_simulator_is_audited_as_simulator(client, db, coop):
    """The opt-out audit event carries the message's source."""
    send_sms(Simulator(client), "STOP", sender=AWA)
    send_sms(client, "START", sender=AWA)
    assert audit_sources(db, "sms.opt_out") == [Source.SIMULATOR]
    assert audit_sources(db, "sms.opt_in") == [Source.SMS]


@pytest.mark.parametrize(
    ("simulated", "money", "decision"), [(True, "simulator", "simulator"), (False, "ussd", "sms")]
)
def test_oui_records_ussd_for_real_treasurers_and_simulator_for_the_simulator(
    client, db, coop, simulated, money, decision
):
    """A confirmed declaration's money says `ussd` (its origin), `simulator` when the OUI was simulated."""
    phone = Phone(client, AWA)
    set_pin_and_open_menu(phone)
    phone.press("4")
    phone.press("5000")
    phone.press("1")
    [code] = [
        e.after["code"]
        for e in fresh(db, select(AuditEvent).where(AuditEvent.action == "declaration.create"))
    ]
    send_sms(Simulator(client) if simulated else client, f"OUI {code}")
    [paid] = fresh(db, select(Repayment))
    assert paid.source == money
    assert audit_sources(db, "declaration.confirmed") == [decision]


def test_a_gateway_id_starting_with_sim_is_not_the_simulator(client, db, coop):
    """A real gateway's message is `sms` whatever its id looks like."""
    gateway_id = send_sms(client, "PAY M0012 5000", gateway_id=simulated_id())
    [paid] = fresh(db, select(Repayment))
    assert paid.external_id == gateway_id and paid.source == Source.SMS
    assert [r.source for r in fresh(db, select(InboundSms))] == [Source.SMS]


def test_a_simulated_message_retried_by_the_sweep_keeps_its_source(
    client, db, coop, runtime, clock, monkeypatch
):
    """The source is stored with the row: the tick's retry, outside any request, still records `simulator`."""
    failures = []

    def flaky(session, message, sender, now, rt):
        if not failures:
            failures.append(message.id)
            raise RuntimeError("database hiccup")
        return handle_command(session, message, sender, now, rt)

    monkeypatch.setattr(inbound, "handle_command", flaky)
    send_sms(Simulator(client), "PAY M0012 5000")
    assert fresh(db, select(Repayment)) == []
    assert inbound.retry_unhandled(runtime, clock.now()) == 1
    [paid] = fresh(db, select(Repayment))
    assert paid.source == Source.SIMULATOR

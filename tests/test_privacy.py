"""Personal data: the purge anonymises old message texts and keeps the ledger; the export holds one person."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from models import (
    AuditEvent,
    InboundSms,
    Instalment,
    Loan,
    Member,
    OutboundSms,
    ProductionReport,
    Repayment,
    RepaymentDeclaration,
    RepaymentLine,
    SavingsEntry,
    UssdEvent,
)
from models.enums import InboundStatus, SavingsKind, SmsKind, SmsStatus, Source
from models.ledger import post_savings, record_repayment
from models.phones import mask
from models.position import member_position
from models.privacy import PURGED_TEXT, PrivacyError, default_cutoff, export_member, purge
from sms.outbox import queue_sms
from tests import factories

OLD = timedelta(days=400)  # older than the 12-month default
RECENT = timedelta(days=30)


def _sms_out(db, to, text, at, status=SmsStatus.SENT, member=None):
    row = queue_sms(db, to=to, text=text, kind=SmsKind.RECEIPT, language="fr", now=at, member_id=member)
    row.status = status
    db.flush()
    return row


def _sms_in(db, phone, text, at, gid, status=InboundStatus.HANDLED, attempts=1):
    row = InboundSms(
        gateway_id=gid,
        from_phone=phone,
        to="12345",
        text=text,
        link_id="link-" + gid,
        received_at=at,
        status=status,
        attempts=attempts,
    )
    db.add(row)
    db.flush()
    return row


def _ussd(db, phone, at, session_id):
    row = UssdEvent(
        session_id=session_id,
        phone=phone,
        status="Success",
        payload={
            "phoneNumber": phone,
            "lastAppResponse": "END Epargne: 25 000 F",
            "status": "Success",
            "networkCode": "60801",
            "durationInSeconds": "42",
        },
        received_at=at,
    )
    db.add(row)
    db.flush()
    return row


def _person(db, coop, member_no, name, phone, ref, now, amount, tag):
    """A member with savings, a loan, a repayment, a declaration, a report, SMS and USSD traffic."""
    m = factories.member(db, coop, member_no=member_no, name=name, phone=phone, savings=20_000)
    loan = factories.loan(db, m, reference=ref)
    record_repayment(db, member=m, amount=amount, paid_on=now.date(), now=now, source=Source.CLI)
    post_savings(
        db, member=m, kind=SavingsKind.DEPOSIT, amount=1_500, entry_on=now.date(), now=now, source=Source.CLI
    )
    db.add(
        RepaymentDeclaration(
            cooperative_id=coop.id,
            member_id=m.id,
            amount=amount,
            code=tag[-4:],
            status="pending",
            created_at=now,
        )
    )
    product = factories.product(db, coop, name=f"Produit {tag}")
    db.add(
        ProductionReport(
            member_id=m.id,
            product_id=product.id,
            quantity=77,
            iso_year=2026,
            iso_week=48,
            reported_at=now,
            source="ussd",
            reference=f"P{tag}",
        )
    )
    _sms_out(db, phone, f"Recu {tag} pour {name}", now - RECENT, member=m.id)
    _sms_in(db, phone, f"SOLDE {tag}", now - RECENT, gid=f"in-{tag}")
    _ussd(db, phone, now - RECENT, session_id=f"ussd-{tag}")
    db.flush()
    return m, loan


def _ledger_snapshot(db) -> dict:
    """Every row of the tables the purge must not touch, as plain tuples."""
    tables = (
        SavingsEntry,
        Loan,
        Instalment,
        Repayment,
        RepaymentLine,
        RepaymentDeclaration,
        ProductionReport,
    )
    snap = {}
    for model in tables:
        cols = [c.key for c in model.__table__.columns]
        snap[model.__tablename__] = sorted(
            tuple(getattr(r, c) for c in cols)
            for r in db.scalars(select(model).execution_options(populate_existing=True))
        )
    snap["members"] = sorted(
        (m.id, m.name, m.phone, m.status)
        for m in db.scalars(select(Member).execution_options(populate_existing=True))
    )
    return snap


@pytest.fixture
def populated(db, clock):
    """Two members with a ledger, old and recent messages, and old rows still in flight."""
    now = clock.now()
    coop = factories.coop(db)
    awa, _ = _person(db, coop, "M0001", "Awa Diop", "+221771110001", "L-AWA", now, 12_000, "AWA1")
    fatou, _ = _person(db, coop, "M0002", "Fatou Sall", "+221771110002", "L-FAT", now, 8_000, "FAT2")
    rows = {
        "old_out": _sms_out(db, awa.phone, "PIN reinitialise pour Awa", now - OLD, member=awa.id),
        "old_out_queued": _sms_out(db, awa.phone, "Rappel Awa", now - OLD, status=SmsStatus.QUEUED),
        "old_in": _sms_in(db, fatou.phone, "PAY M0001 5000", now - OLD, gid="old-1"),
        "old_in_failed_retry": _sms_in(
            db, fatou.phone, "DEP M0001 100", now - OLD, gid="old-2", status=InboundStatus.FAILED, attempts=1
        ),
        "old_in_failed_done": _sms_in(
            db, fatou.phone, "DEP M0001 200", now - OLD, gid="old-3", status=InboundStatus.FAILED, attempts=5
        ),
        "old_ussd": _ussd(db, awa.phone, now - OLD, session_id="old-session"),
    }
    db.commit()
    return {"awa": awa, "fatou": fatou, "coop": coop, **{k: v.id for k, v in rows.items()}}


def test_purge_removes_old_texts_and_keeps_ledger_and_positions(db, runtime, clock, populated):
    """Old texts and numbers are anonymised; the ledger rows and every position are unchanged."""
    today = clock.today()
    positions = {m: member_position(db, populated[m].id, today) for m in ("awa", "fatou")}
    before = _ledger_snapshot(db)
    cutoff = default_cutoff(today, 12, runtime.config.tz)
    db.rollback()  # end the read transaction: on SQLite every transaction takes the write lock

    summary = purge(runtime.sessions, cutoff=cutoff, now=clock.now(), actor="user:ops", batch_size=1)

    assert (summary.outbound, summary.inbound, summary.ussd_events) == (1, 2, 1)
    assert summary.held == {"outbound_sms": 1, "inbound_sms": 1}
    db.expire_all()
    out = db.get(OutboundSms, populated["old_out"])
    assert out.text == PURGED_TEXT and out.to == mask("+221771110001") and out.purged_at == clock.now()
    assert db.get(InboundSms, populated["old_in"]).text == PURGED_TEXT
    assert db.get(InboundSms, populated["old_in"]).from_phone == mask("+221771110002")
    assert db.get(InboundSms, populated["old_in"]).link_id is None
    assert db.get(InboundSms, populated["old_in_failed_done"]).text == PURGED_TEXT
    ussd = db.get(UssdEvent, populated["old_ussd"])
    assert ussd.payload == {"status": "Success", "networkCode": "60801", "durationInSeconds": "42"}
    assert ussd.phone == mask("+221771110001")
    # In flight: the sender and the inbound sweep may still need these texts.
    assert db.get(OutboundSms, populated["old_out_queued"]).text == "Rappel Awa"
    assert db.get(InboundSms, populated["old_in_failed_retry"]).text == "DEP M0001 100"
    # Recent messages are kept as they are.
    recent = db.scalars(select(OutboundSms).where(OutboundSms.text.like("Recu %"))).all()
    assert len(recent) == 2 and all(r.purged_at is None for r in recent)
    assert db.scalar(select(InboundSms).where(InboundSms.gateway_id == "in-AWA1")).text == "SOLDE AWA1"

    assert _ledger_snapshot(db) == before
    assert {m: member_position(db, populated[m].id, today) for m in ("awa", "fatou")} == positions
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "privacy.purge"))
    assert event.actor == "user:ops"
    assert event.after["eligible"] == {"outbound_sms": 1, "inbound_sms": 2, "ussd_events": 1}


def test_purge_again_changes_nothing(runtime, clock, populated):
    """A second run finds nothing left to anonymise (purged rows carry purged_at)."""
    cutoff = default_cutoff(clock.today(), 12, runtime.config.tz)
    purge(runtime.sessions, cutoff=cutoff, now=clock.now())
    again = purge(runtime.sessions, cutoff=cutoff, now=clock.now())
    assert again.total == 0


def test_dry_run_counts_and_writes_nothing(db, runtime, clock, populated):
    """--dry-run reports the counts and leaves texts and the audit log alone."""
    cutoff = default_cutoff(clock.today(), 12, runtime.config.tz)
    summary = purge(runtime.sessions, cutoff=cutoff, now=clock.now(), dry_run=True)
    assert summary.total == 4
    db.expire_all()
    assert db.get(OutboundSms, populated["old_out"]).text == "PIN reinitialise pour Awa"
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "privacy.purge")) is None


def test_purge_refuses_a_future_cutoff(runtime, clock):
    """Only the past can be purged."""
    with pytest.raises(PrivacyError):
        purge(runtime.sessions, cutoff=clock.now() + timedelta(days=1), now=clock.now())


def test_default_cutoff_is_local_midnight_months_back(runtime):
    """12 months before 31 March is 31 March of the year before, local midnight (clamped on short months)."""
    tz = runtime.config.tz
    assert default_cutoff(date(2026, 12, 1), 12, tz).isoformat() == "2025-12-01T00:00:00+00:00"
    assert default_cutoff(date(2026, 3, 31), 1, tz).date() == date(2026, 2, 28)


def test_purge_command_prints_one_summary_line(runner, db, populated):
    """`flask purge` anonymises and ends with one summary line; --dry-run says `would`."""
    dry = runner.invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would anonymise 4" in dry.output
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "anonymised 4 (outbound SMS 1, inbound SMS 2, USSD events 1); held in flight 2" in lines[0]
    dated = runner.invoke(args=["purge", "--before", "2026-11-15"])  # the recent rows go too
    assert dated.exit_code == 0, dated.output
    assert "anonymised 6 (outbound SMS 2, inbound SMS 2, USSD events 2)" in dated.output


# --- export ----------------------------------------------------------------------------------------


def _identifiers(m: Member, loan_ref: str, tag: str) -> list[str]:
    return [
        m.name,
        m.phone,
        loan_ref,
        f"Recu {tag}",
        f"SOLDE {tag}",
        f"ussd-{tag}",
        f"P{tag}",
        f"Produit {tag}",
    ]


def test_export_holds_exactly_one_person(db, clock, populated):
    """Awa's export has all her rows and nothing of Fatou's (and the other way round)."""
    awa, fatou = populated["awa"], populated["fatou"]
    data = export_member(db, awa, now=clock.now())
    text = json.dumps(data, ensure_ascii=False, default=str)

    assert data["member"]["member_no"] == "M0001" and data["member"]["phone"] == awa.phone
    assert "pin_hash" not in data["member"]
    assert [loan["reference"] for loan in data["loans"]] == ["L-AWA"]
    assert len(data["loans"][0]["instalments"]) == 10
    assert [r["amount"] for r in data["repayments"]] == [12_000]
    assert data["repayments"][0]["loans"] == {"L-AWA": 12_000}
    assert sorted(e["amount"] for e in data["savings_entries"]) == [1_500, 20_000]
    assert [d["amount"] for d in data["declarations"]] == [12_000]
    assert [p["product"] for p in data["production_reports"]] == ["Produit AWA1"]
    assert {s["text"] for s in data["sms_sent_to_member"]} == {
        "Recu AWA1 pour Awa Diop",
        "PIN reinitialise pour Awa",
        "Rappel Awa",
    }
    assert [s["text"] for s in data["sms_received_from_member"]] == ["SOLDE AWA1"]
    assert {e["session_id"] for e in data["ussd_events"]} == {"ussd-AWA1", "old-session"}
    assert {e["action"] for e in data["audit_events"]} >= {
        "loan.create",
        "repayment.record",
        "savings.deposit",
    }
    assert all(e["after"] is None or "FAT" not in json.dumps(e["after"]) for e in data["audit_events"])
    for mine in _identifiers(awa, "L-AWA", "AWA1"):
        assert mine in text, mine
    for theirs in [*_identifiers(fatou, "L-FAT", "FAT2"), "PAY M0001 5000"]:
        assert theirs not in text, theirs

    other = json.dumps(export_member(db, fatou, now=clock.now()), ensure_ascii=False, default=str)
    for theirs in _identifiers(awa, "L-AWA", "AWA1"):
        assert theirs not in other, theirs


def test_members_export_command_prints_json_and_is_audited(runner, db, populated):
    """`members export NDB m1` prints the person's JSON and writes a privacy.export audit event."""
    result = runner.invoke(args=["members", "export", "NDB", "m1", "--reason", "request 2026-17"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["member"]["name"] == "Awa Diop"
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "privacy.export"))
    assert event.member_id == populated["awa"].id and event.reason == "request 2026-17"
    db.rollback()
    missing = runner.invoke(args=["members", "export", "NDB", "M0999"])
    assert missing.exit_code != 0 and "no member" in missing.output


def test_members_export_to_a_file_is_readable_by_its_owner_only(runner, db, populated, tmp_path):
    """The export file is written 0600, even over an existing world-readable file."""
    import os
    import stat

    output = tmp_path / "awa.json"
    output.write_text("old")
    output.chmod(0o644)
    result = runner.invoke(args=["members", "export", "NDB", "m1", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(output).st_mode) == 0o600
    assert json.loads(output.read_text())["member"]["name"] == "Awa Diop"

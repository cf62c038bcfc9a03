"""`broadcast`: each member in their language, skips, quiet hours, the fold shown, dry runs."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from models import AuditEvent, OutboundSms
from models.clock import DAKAR
from models.enums import Language, MemberStatus, SmsKind, SmsStatus
from tests import factories as f


@pytest.fixture
def members(db):
    """A cooperative with members in every language, one who sent STOP, one inactive, one without phone."""
    coop = f.coop(db)
    people = {
        "fr": f.member(db, coop, "M0001", "Awa Diop"),
        "wo": f.member(db, coop, "M0002", "Modou Fall", language=Language.WO),
        "en": f.member(db, coop, "M0003", "Jane Sarr", language=Language.EN),
        "wo2": f.member(db, coop, "M0004", "Fatou Ba", language=Language.WO),
        "stop": f.member(db, coop, "M0005", "Ousmane Sy", opted_out=True),
        "inactive": f.member(db, coop, "M0006", "Binta Ndao", status=MemberStatus.INACTIVE),
        "nophone": f.member(db, coop, "M0007", "Aliou Gaye"),
    }
    people["nophone"].phone = None
    other = f.coop(db, "GIE Saloum", "SLM")
    people["elsewhere"] = f.member(db, other, "M0001", "Khady Faye")
    db.commit()
    return people


def outbox(db) -> list[OutboundSms]:
    """Broadcast rows, by id."""
    rows = list(
        db.scalars(select(OutboundSms).where(OutboundSms.kind == SmsKind.BROADCAST).order_by(OutboundSms.id))
    )
    db.commit()
    return rows


def test_each_member_gets_their_language_french_when_theirs_is_missing(runner, db, members, clock):
    """fr and wo texts given: French, Wolof to Wolof speakers, French to the English speaker."""
    out = runner.invoke(
        args=[
            "broadcast",
            "--coop",
            "GIE Ndiambour",
            "--text-fr",
            "Reunion samedi 10h.",
            "--text-wo",
            "Ndaje gaawu 10h.",
        ]
    )
    assert out.exit_code == 0, out.output
    rows = {r.to: r for r in outbox(db)}
    assert set(rows) == {members[k].phone for k in ("fr", "wo", "en", "wo2")}
    assert rows[members["wo"].phone].text == rows[members["wo2"].phone].text == "Ndaje gaawu 10h."
    assert (
        rows[members["en"].phone].text == "Reunion samedi 10h." and rows[members["en"].phone].language == "fr"
    )
    assert all(r.status == SmsStatus.QUEUED and r.send_after == clock.now() for r in rows.values())
    assert all(r.segments == 1 and r.cost == 15 for r in rows.values())
    assert "  wo: 2 recipients, 1 segment(s) each" in out.output
    assert "  en: 1 recipients (no text in their language: French), 1 segment(s) each" in out.output
    assert "skipped: 1 opted out (STOP), 1 inactive, 1 without phone" in out.output
    assert out.output.splitlines()[-1] == "broadcast NDB: created 4 SMS, skipped 3, failed 0"


def test_a_broadcast_is_audited(runner, db, members):
    """One audit event, action broadcast, with counts and the texts."""
    runner.invoke(
        args=["broadcast", "--coop", "NDB", "--text-fr", "Reunion samedi.", "--text-en", "Meeting Saturday."]
    )
    (event,) = db.scalars(select(AuditEvent).where(AuditEvent.action == "broadcast")).all()
    assert event.target == "cooperative:NDB" and event.source == "cli" and event.actor.startswith("user:")
    assert event.after["recipients"] == {"fr": 1, "wo": 2, "en": 1}
    assert event.after["texts"] == {"fr": "Reunion samedi.", "en": "Meeting Saturday."}
    assert event.after["cost"] == 60


def test_a_night_broadcast_waits_for_the_end_of_quiet_hours(runner, db, members, clock):
    """At 22:30 the rows are written with send_after 08:00 the next morning, and the command says so."""
    clock.set(datetime(2026, 12, 1, 22, 30))
    dry = runner.invoke(args=["broadcast", "--coop", "GIE Ndiambour", "--text-fr", "Reunion.", "--dry-run"])
    assert "quiet hours now: waits until 2026-12-02 08:00 Africa/Dakar" in dry.output
    out = runner.invoke(args=["broadcast", "--coop", "GIE Ndiambour", "--text-fr", "Reunion."])
    assert out.output.splitlines()[-1].endswith("waiting for the end of quiet hours (08:00)")
    morning = datetime(2026, 12, 2, 8, 0, tzinfo=DAKAR)
    assert {(r.send_after, r.next_attempt_at) for r in outbox(db)} == {(morning, morning)}


def test_non_gsm_text_is_folded_and_the_fold_shown(runner, db, members):
    """ç, ê, ’ and – become c, e, ' and -; the command shows what changed and what goes out."""
    text = "Réunion à l’école – façade, fête à 10h"
    out = runner.invoke(args=["broadcast", "--coop", "GIE Ndiambour", "--text-fr", text, "--dry-run"])
    shown = "text-fr folded to GSM-7 ('’'→\"'\", '–'→'-', 'ç'→'c', 'ê'→'e'): "
    assert shown + "Réunion à l'école - facade, fete à 10h" in out.output
    runner.invoke(args=["broadcast", "--coop", "GIE Ndiambour", "--text-fr", text])
    assert {r.text for r in outbox(db)} == {"Réunion à l'école - facade, fete à 10h"}


def test_dry_run_prints_recipients_segments_and_cost_and_writes_nothing(runner, db, members):
    """A two-segment English text: the estimate counts segments; no outbox row, no audit event."""
    long_en = "Meeting " + "x" * 170
    out = runner.invoke(
        args=[
            "broadcast",
            "--coop",
            "GIE Ndiambour",
            "--text-fr",
            "Reunion.",
            "--text-en",
            long_en,
            "--dry-run",
        ]
    )
    assert out.exit_code == 0, out.output
    assert "  fr: 1 recipients, 1 segment(s) each" in out.output
    assert "  en: 1 recipients, 2 segment(s) each" in out.output
    assert "estimated cost: 4 SMS, 5 segments x 15 F = 75 F" in out.output
    assert out.output.splitlines()[-1] == "dry run: nothing written; would create 4 SMS"
    assert outbox(db) == []
    assert (
        db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "broadcast")) == 0
    )


def test_unknown_cooperative_and_empty_text_are_refused(runner, db, members):
    """Errors name the problem and write nothing."""
    out = runner.invoke(args=["broadcast", "--coop", "GIE Inconnue", "--text-fr", "x"])
    assert out.exit_code == 1 and "no cooperative named 'GIE Inconnue'" in out.output
    out = runner.invoke(args=["broadcast", "--coop", "NDB", "--text-fr", "  "])
    assert out.exit_code == 1 and "French text is required" in out.output
    out = runner.invoke(args=["broadcast", "--coop", "NDB", "--text-fr", "ok", "--text-wo", ""])
    assert out.exit_code == 1 and "empty text for wo" in out.output
    assert outbox(db) == []

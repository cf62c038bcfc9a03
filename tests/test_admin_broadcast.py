"""`/admin/broadcast`: the dry run shown before a confirm, the scope, the arrears-only audience, the audit."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from models import AuditEvent, OutboundSms
from models.enums import SmsKind
from tests import factories as f
from tests.admin_support import add_user, login, post

TEXT = "Fête de la coopérative samedi à 10h"


@pytest.fixture
def places(db):
    """Thiès: a late borrower (wo), an up-to-date member (fr), one who sent STOP; Louga: one member."""
    kms = f.coop(db, "GIE Keur Massar", "KMS", region="Thiès")
    tiv = f.coop(db, "GIE Tivaouane", "TIV", region="thies")
    louga = f.coop(db, "GIE Ndiambour", "NDB", region="Louga")
    late = f.member(db, kms, "M1", "Awa Diop", language="wo")
    f.loan(db, late, "L-1", principal=10_000, interest=0, installments=2, first_due_on=date(2026, 10, 1))
    f.member(db, kms, "M2", "Binta Sow")
    f.member(db, kms, "M3", "Coumba Fall", opted_out=True)
    f.member(db, tiv, "M1", "Dieynaba Ba", language="en")
    f.member(db, louga, "M1", "Fatou Ndiaye")
    db.commit()
    return {"kms": kms, "tiv": tiv, "louga": louga}


def _count(db) -> int:
    n = db.scalar(select(func.count()).select_from(OutboundSms).where(OutboundSms.kind == SmsKind.BROADCAST))
    db.commit()
    return n


def _digest(page: str) -> str:
    marker = 'name="digest" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


def test_preview_then_confirm_a_region(client, db, places):
    """The preview writes nothing, shows languages, segments, cost, folds; the confirm writes and audits."""
    add_user(db, "coord@mbolo.sn")
    login(client, "coord@mbolo.sn")
    form = {"kind": "region", "region": "Thiès", "text_fr": TEXT}
    preview = post(client, "/admin/broadcast/preview", form)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'id="broadcast-preview"' in page
    assert "région Thiès" in page and 'id="broadcast-count">3<' in page
    assert 'id="fold-fr"' in page and "<code>ê</code>→<code>e</code>" in page
    assert _count(db) == 0
    sent = post(client, "/admin/broadcast/send", {**form, "digest": _digest(page)})
    assert sent.status_code == 200 and 'id="broadcast-sent"' in sent.get_data(as_text=True)
    assert _count(db) == 3
    rows = db.execute(select(OutboundSms.cooperative_id, OutboundSms.text)).all()
    db.commit()
    assert {cid for cid, _ in rows} == {places["kms"].id, places["tiv"].id}
    assert {text for _, text in rows} == {"Fete de la coopérative samedi à 10h"}
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "broadcast"))
    db.commit()
    assert event.actor == "user:coord@mbolo.sn" and event.source == "web"
    assert event.target == "region:Thiès" and event.after["recipients"] == {"fr": 1, "wo": 1, "en": 1}


def test_arrears_only_and_a_stale_preview(client, db, places):
    """Only the late borrower; once she has paid, the confirm shows a new preview instead of sending."""
    add_user(db, "coord@mbolo.sn")
    login(client, "coord@mbolo.sn")
    form = {"kind": "cooperative", "cooperative": str(places["kms"].id), "arrears": "1", "text_fr": TEXT}
    page = post(client, "/admin/broadcast/preview", form).get_data(as_text=True)
    assert 'id="broadcast-count">1<' in page and "membres en retard seulement" in page
    from models.cooperative import Member
    from models.enums import Source
    from models.ledger import record_repayment
    from tests.conftest import DEFAULT_NOW

    awa = db.scalar(select(Member).where(Member.name == "Awa Diop"))
    record_repayment(
        db, member=awa, amount=10_000, paid_on=DEFAULT_NOW.date(), now=DEFAULT_NOW, source=Source.CLI
    )
    db.commit()
    again = post(client, "/admin/broadcast/send", {**form, "digest": _digest(page)})
    assert again.status_code == 409 and 'id="broadcast-changed"' in again.get_data(as_text=True)
    assert _count(db) == 0


def test_scope_and_csrf(client, db, places):
    """A Thiès coordinator cannot address Louga; a manager has no regions; no CSRF token, no send."""
    add_user(db, "thies@mbolo.sn", region="Thies")
    login(client, "thies@mbolo.sn")
    page = client.get("/admin/broadcast").get_data(as_text=True)
    assert "GIE Keur Massar" in page and "GIE Ndiambour" not in page
    form = {"kind": "cooperative", "cooperative": str(places["louga"].id), "text_fr": TEXT}
    assert post(client, "/admin/broadcast/preview", form).status_code == 403
    region = {"kind": "region", "region": "Louga", "text_fr": TEXT}
    assert post(client, "/admin/broadcast/preview", region).status_code == 400
    mine = {"kind": "cooperative", "cooperative": str(places["kms"].id), "text_fr": TEXT}
    page = post(client, "/admin/broadcast/preview", mine).get_data(as_text=True)
    forged = client.post("/admin/broadcast/send", data={**mine, "digest": _digest(page)})
    assert forged.status_code == 400 and _count(db) == 0
    missing = post(client, "/admin/broadcast/preview", {**mine, "text_fr": ""})
    assert missing.status_code == 400 and "French text is required" in missing.get_data(as_text=True)

"""CSV exports: portfolio per loan, savings per member, production per cooperative, product and week."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from models import AuditEvent
from models.activity import ProductionReport
from models.enums import Source
from models.ledger import record_repayment
from tests import factories as f
from tests.admin_support import add_user, login
from tests.conftest import DEFAULT_NOW


@pytest.fixture
def data(db):
    """Thiès: a borrower with a late loan and savings, and a weekly production; Louga: one member."""
    kms = f.coop(db, "GIE Keur Massar", "KMS", region="Thiès")
    louga = f.coop(db, "GIE Ndiambour", "NDB", region="Louga")
    awa = f.member(db, kms, "M1", "=Awa Diop", savings=12_000)
    f.loan(db, awa, "L-1", principal=100_000, interest=10_000, installments=10, first_due_on=date(2026, 9, 1))
    record_repayment(
        db, member=awa, amount=11_000, paid_on=date(2026, 11, 3), now=DEFAULT_NOW, source=Source.CLI
    )
    f.member(db, louga, "M1", "Fatou Ndiaye", savings=3_000)
    mil = f.product(db, kms, "Mil", "kg")
    binta = f.member(db, kms, "M2", "Binta Sow")
    for member, qty, week in ((awa, 40, 47), (binta, 10, 47), (awa, 5, 48)):
        db.add(
            ProductionReport(
                member_id=member.id,
                product_id=mil.id,
                quantity=qty,
                iso_year=2026,
                iso_week=week,
                reported_at=datetime(2026, 11, 20, tzinfo=UTC),
                source="ussd",
            )
        )
    db.commit()
    return {"kms": kms, "louga": louga}


def _rows(response) -> list[dict]:
    text = response.get_data(as_text=True)
    response.close()  # what a WSGI server does once the stream is sent
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))


def test_exports_within_a_region(client, db, data):
    """A Thiès coordinator's files hold Thiès only; figures as the ledger has them; audited."""
    add_user(db, "thies@mbolo.sn", region="Thiès")
    login(client, "thies@mbolo.sn")
    loans = _rows(client.get("/admin/exports/portfolio.csv"))
    assert [(r["loan"], r["name"]) for r in loans] == [("L-1", "'=Awa Diop")]
    loan = loans[0]
    assert (loan["paid"], loan["outstanding"], loan["overdue"]) == ("11000", "99000", "22000")
    assert (
        loan["days_late"] == str((date(2026, 12, 1) - date(2026, 10, 1)).days) or int(loan["days_late"]) > 0
    )
    savings = _rows(client.get("/admin/exports/savings.csv"))
    assert [(r["member_no"], r["balance"]) for r in savings] == [("M1", "12000"), ("M2", "0")]
    production = _rows(client.get("/admin/exports/production.csv"))
    assert [(r["iso_week"], r["quantity"], r["reporters"]) for r in production] == [
        ("47", "50", "2"),
        ("48", "5", "1"),
    ]
    events = db.scalars(select(AuditEvent).where(AuditEvent.action.like("admin.export_%"))).all()
    db.commit()
    assert {e.action for e in events} == {
        "admin.export_portfolio",
        "admin.export_savings",
        "admin.export_production",
    }
    assert {e.target for e in events} == {"region:Thiès"}


def test_one_cooperative_and_refusals(client, db, data):
    """?cooperative= narrows to one; outside the scope is 403; an unknown export 404."""
    add_user(db, "thies@mbolo.sn", region="Thiès")
    login(client, "thies@mbolo.sn")
    assert client.get(f"/admin/exports/savings.csv?cooperative={data['louga'].id}").status_code == 403
    assert client.get("/admin/exports/members.csv").status_code == 404
    one = _rows(client.get(f"/admin/exports/savings.csv?cooperative={data['kms'].id}"))
    assert {r["code"] for r in one} == {"KMS"}
    page = client.get("/admin/exports").get_data(as_text=True)
    assert "GIE Keur Massar" in page and "GIE Ndiambour" not in page


def test_a_programme_coordinator_exports_everything_streamed(client, db, data):
    """Both regions; the body is a stream of pieces."""
    add_user(db, "coord@mbolo.sn")
    login(client, "coord@mbolo.sn")
    response = client.get("/admin/exports/savings.csv")
    assert response.is_streamed
    assert {r["code"] for r in _rows(response)} == {"KMS", "NDB"}

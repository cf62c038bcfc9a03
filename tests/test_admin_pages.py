"""The admin pages show the portfolio module's figures; the CSV, the member page and the simulator."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from models import AuditEvent, InboundSms, Repayment
from models.enums import Role, SmsKind, SmsStatus, Source
from models.ledger import record_repayment
from models.portfolio import Month, overdue_list, portfolio
from sms.outbox import queue_sms
from tests import factories as f
from tests.admin_support import add_user, login, post
from tests.conftest import DEFAULT_NOW
from tests.phone import Phone

TODAY = date(2026, 12, 1)


def count(db, model, *where) -> int:
    """Rows of `model`, the read transaction ended (SQLite's write lock)."""
    n = db.scalar(select(func.count()).select_from(model).where(*where))
    db.commit()
    return n


@pytest.fixture
def coop(db):
    """One cooperative: a late borrower, an on-time borrower, a treasurer; a coordinator logged in later."""
    c = f.coop(db, "GIE Ndiambour", "NDB", demo=True)
    awa = f.member(db, c, "M0001", "Awa Diop", phone="+221771234567", savings=15_000)
    f.loan(
        db, awa, "L-001", principal=100_000, interest=10_000, installments=10, first_due_on=date(2026, 9, 1)
    )
    record_repayment(
        db, member=awa, amount=11_000, paid_on=date(2026, 11, 3), now=DEFAULT_NOW, source=Source.CLI
    )
    moussa = f.member(db, c, "M0002", '=HYPERLINK("http://x")', phone="+221772222222", opted_out=True)
    f.loan(db, moussa, "L-002", principal=50_000, interest=0, installments=5, first_due_on=date(2026, 11, 20))
    fatou = f.member(db, c, "M0003", "Fatou Ndiaye", phone="+221773333333", role=Role.TREASURER)
    reminder = queue_sms(
        db,
        to=moussa.phone,
        text="Rappel",
        kind=SmsKind.REMINDER,
        language="fr",
        now=datetime(2026, 11, 21, 9, tzinfo=UTC),
        cooperative_id=c.id,
        member_id=moussa.id,
    )
    reminder.status = SmsStatus.DELIVERED
    db.commit()
    return {"coop": c, "awa": awa, "moussa": moussa, "fatou": fatou}


@pytest.fixture
def coordinator(client, db):
    """A coordinator, logged in on `client`."""
    add_user(db, "coord@mbolo.sn")
    login(client, "coord@mbolo.sn")
    return client


def _figure(page: str, ident: str) -> str:
    match = re.search(rf'id="{ident}">([^<]*)<', page)
    assert match, ident
    return match.group(1)


def test_dashboard_shows_the_portfolio_figures(coordinator, db, coop):
    """The cards repeat models.portfolio's figures, formatted; every chart is inline SVG."""
    page = coordinator.get(f"/admin/cooperatives/{coop['coop'].id}").get_data(as_text=True)
    figures = portfolio(db, TODAY, [coop["coop"].id])
    db.commit()
    # By hand: L-001 110 000 − 11 000 paid = 99 000; L-002 50 000; late > 30 days: L-001 only.
    assert figures.outstanding == 149_000 and figures.par30_outstanding == 99_000
    assert _figure(page, "fig-outstanding") == "149 000 F"
    assert _figure(page, "fig-par30") == "66,4 %"  # 99 000 ÷ 149 000
    assert _figure(page, "fig-members") == "3"
    assert _figure(page, "fig-active-loans") == "2"
    assert _figure(page, "fig-savings") == "15 000 F"
    # December to date (today 01/12): L-001's 01/12 (11 000) only; L-002's 20/12 is not due yet.
    assert _figure(page, "fig-due") == "11 000 F"
    assert _figure(page, "fig-collected") == "0 F"
    for chart in (
        "chart-par30",
        "chart-rate",
        "chart-history",
        "chart-ageing",
        "chart-reminders",
        "chart-budget",
    ):
        svg = re.search(rf'<figure class="chart" id="{chart}">(.*?)</figure>', page, re.S)
        assert svg and "<svg" in svg.group(1) and "<rect" in svg.group(1), chart


def test_dashboard_month_choice(coordinator, coop):
    """`?month=` picks the flows' month; a bad or future month falls back to this month."""
    url = f"/admin/cooperatives/{coop['coop'].id}"
    november = coordinator.get(f"{url}?month=2026-11").get_data(as_text=True)
    assert "Remboursements — 2026-11" in november
    assert _figure(november, "fig-due") == "21 000 F"  # L-001 01/11 + L-002 20/11
    assert _figure(november, "fig-collected") == "0 F"
    assert _figure(november, "fig-cash") == "11 000 F"
    assert "Remboursements — 2026-12" in coordinator.get(f"{url}?month=2027-03").get_data(as_text=True)
    assert "Remboursements — 2026-12" in coordinator.get(f"{url}?month=nonsense").get_data(as_text=True)


def test_overall_dashboard_lists_the_cooperatives(coordinator, db, coop):
    """The overview's table links each cooperative with its PAR30."""
    f.coop(db, "GIE Saloum", "SLM")
    db.commit()
    page = coordinator.get("/admin/?month=2026-11").get_data(as_text=True)
    assert "Toutes les coopératives" in page
    assert f'href="/admin/cooperatives/{coop["coop"].id}?month=2026-11"' in page
    assert "GIE Saloum" in page


def test_overdue_page_flags_opted_out_members_and_last_reminder(coordinator, coop):
    """The overdue list shows days late, the last reminder's delivery status and STOP."""
    page = coordinator.get(f"/admin/cooperatives/{coop['coop'].id}/overdue").get_data(as_text=True)
    assert "Awa Diop" in page and "delivered" in page and ">STOP<" in page
    assert "&#34;" in page or "&quot;" in page  # the odd name is escaped, not markup


def test_overdue_csv_matches_the_overdue_list_and_is_audited(coordinator, db, coop):
    """The CSV has the list's rows, opens in a French spreadsheet (BOM, `;`) and never runs a formula."""
    response = coordinator.get(f"/admin/cooperatives/{coop['coop'].id}/overdue.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body[1:]), delimiter=";"))
    lines = overdue_list(db, TODAY, coop["coop"].id)
    db.commit()
    assert [(r["member_no"], int(r["overdue"]), int(r["days_late"])) for r in rows] == [
        (line.member_no, line.overdue, line.days_late) for line in lines
    ]
    assert rows[0]["member_no"] == "M0001" and rows[0]["overdue"] == "22000" and rows[0]["days_late"] == "61"
    moussa = next(r for r in rows if r["member_no"] == "M0002")
    assert moussa["name"].startswith("'=")
    assert moussa["opted_out"] == "yes" and moussa["last_reminder_status"] == "delivered"
    assert moussa["last_reminder_at"] == "2026-11-21 09:00"
    assert count(db, AuditEvent, AuditEvent.action == "admin.export_overdue") == 1


def test_member_page_shows_schedule_repayments_and_sms(coordinator, coop):
    """The member page: position, the loan's schedule, the repayment and its receipt, SMS history."""
    page = coordinator.get(f"/admin/members/{coop['awa'].id}").get_data(as_text=True)
    assert _figure(page, "member-outstanding") == "99 000 F"
    assert _figure(page, "member-overdue") == "22 000 F"
    assert "L-001" in page and "01/09/2026" in page and "01/06/2027" in page  # first and last due dates
    assert re.search(r"R[0-9A-Z]{6}", page)  # the receipt code
    moussa = coordinator.get(f"/admin/members/{coop['moussa'].id}").get_data(as_text=True)
    assert "Rappel" in moussa and "delivered" in moussa


def _screen(page: str) -> str:
    return re.search(r'id="screen"[^>]*>(.*?)</div>', page, re.S).group(1)


def _hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', page).group(1)


class SimPhone:
    """The simulator's forms, driven like a browser would."""

    def __init__(self, client, member_id: int):
        self.client = client
        self.member_id = member_id
        self.page = ""

    def dial(self) -> str:
        self.page = post(self.client, "/simulator/dial", {"member": self.member_id}).get_data(as_text=True)
        return _screen(self.page)

    def press(self, entry: str) -> str:
        form = {
            "member": self.member_id,
            "session_id": _hidden(self.page, "session_id"),
            "text": _hidden(self.page, "text"),
            "entry": entry,
        }
        response = post(self.client, "/simulator/key", form)
        assert response.status_code == 200
        self.page = response.get_data(as_text=True)
        return _screen(self.page)


def test_simulator_screens_are_the_webhook_answers(coordinator, db, coop):
    """Dial, choose a PIN, read the balance: the screens are POST /ussd's, each hop audited as simulator."""
    phone = SimPhone(coordinator, coop["awa"].id)
    assert "Choisissez votre code PIN" in phone.dial()
    assert "Tapez encore" in phone.press("4826")
    assert "Solde" in phone.press("4826")
    balance = phone.press("1")
    assert "99 000 F" in balance and "15 000 F" in balance
    # The same member dialling the webhook directly reads the very same screen.
    direct = Phone(coordinator, coop["awa"].phone)
    direct.dial()
    direct.press("4826")
    assert direct.press("1") == html.unescape(balance)
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "simulator.ussd")).all()
    db.commit()
    assert len(events) == 4
    assert {e.source for e in events} == {"simulator"} and {e.actor for e in events} == {
        "user:coord@mbolo.sn"
    }
    assert all("4826" not in str(e.after) for e in events)  # the PIN is never audited


def test_simulator_sms_goes_through_the_inbound_path(coordinator, db, coop):
    """PAY as the treasurer: an inbound row with a sim- id, the repayment, receipts on both phones."""
    response = post(coordinator, "/simulator/sms", {"member": coop["fatou"].id, "body": "PAY M0001 5000"})
    assert response.status_code == 302
    inbound = db.scalars(select(InboundSms)).all()
    assert len(inbound) == 1 and inbound[0].gateway_id.startswith("sim-")
    assert inbound[0].from_phone == coop["fatou"].phone and inbound[0].status == "handled"
    paid = db.scalar(select(Repayment).where(Repayment.external_id == inbound[0].gateway_id))
    assert paid is not None and paid.amount == 5_000
    audited = db.scalar(select(AuditEvent).where(AuditEvent.action == "simulator.sms"))
    assert audited.source == "simulator" and audited.after["gateway_id"] == inbound[0].gateway_id
    assert "PAY" not in str(audited.after) and audited.after["length"] == len("PAY M0001 5000")
    db.commit()
    treasurer = coordinator.get(response.headers["Location"]).get_data(as_text=True)
    assert "PAY M0001 5000" in treasurer and paid.receipt in treasurer
    member_page = coordinator.get(f"/simulator/?member={coop['awa'].id}").get_data(as_text=True)
    assert paid.receipt in member_page and "94 000 F" in member_page  # the outstanding in the receipt


def test_simulator_repeated_hop_is_answered_once(coordinator, db, coop):
    """Posting the same hop again (a page reload) gets the same screen; nothing is done twice."""
    phone = SimPhone(coordinator, coop["awa"].id)
    phone.dial()
    first_page = phone.page
    phone.press("4826")
    again = SimPhone(coordinator, coop["awa"].id)
    again.page = first_page
    assert "Tapez encore" in again.press("4826")


def test_simulator_refuses_a_forged_session_id(coordinator, coop):
    """Only the simulator's own sessions (`sim-…`) may be continued from its form."""
    response = post(
        coordinator,
        "/simulator/key",
        {"member": coop["awa"].id, "session_id": "ATUid_real_session", "text": "", "entry": "1"},
    )
    assert response.status_code == 400


def test_month_helper_matches_the_dashboard_default(clock):
    """The dashboard's default month is the clock's month in Dakar."""
    assert Month.of(clock.today()).key == "2026-12"


def test_money_moved_from_the_simulator_is_recorded_with_source_simulator(coordinator, db, coop):
    """A PAY sent from the simulator posts a repayment whose source is `simulator`."""
    post(coordinator, "/simulator/sms", {"member": coop["fatou"].id, "body": "PAY M0001 5000"})
    paid = db.scalar(select(Repayment).where(Repayment.external_id.like("sim-%")))
    db.commit()
    assert paid.source == Source.SIMULATOR


def test_long_overdue_lists_are_cut_on_the_page_not_in_the_csv(coordinator, coop, monkeypatch):
    """The page shows the most late members up to its limit and says so; the CSV keeps everyone."""
    from ussd_app.admin import views

    monkeypatch.setattr(views, "OVERDUE_SHOWN", 1)
    page = coordinator.get(f"/admin/cooperatives/{coop['coop'].id}/overdue").get_data(as_text=True)
    assert "Awa Diop" in page and "M0002" not in page
    assert "l'export CSV les contient tous" in page.replace("&#39;", "'")
    body = coordinator.get(f"/admin/cooperatives/{coop['coop'].id}/overdue.csv").get_data(as_text=True)
    assert "M0001" in body and "M0002" in body

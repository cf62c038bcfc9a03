"""`/admin/search` and a cooperative's member list: matching rules, scope, paging, one page's figures."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from models.member_list import cooperative_members
from models.paging import Page
from models.scope import Scope
from models.search import PAGE_SIZE, search
from tests import factories as f
from tests.admin_support import add_user, login

TODAY = date(2026, 12, 1)


@pytest.fixture
def people(db):
    """Thiès: Aïssatou Ndiaye (late), Awa Diop; Louga: Aissatou Fall; one more Louga cooperative."""
    thies = f.coop(db, "GIE Keur Massar", "KMS", region="Thiès")
    louga = f.coop(db, "Coopérative Ndiambour", "NDB", region="Louga")
    aissatou = f.member(db, thies, "M0007", "Aïssatou  NDIAYE", phone="+221771234567", savings=5_000)
    f.loan(db, aissatou, "L-1", principal=100_000, interest=0, installments=10, first_due_on=date(2026, 9, 1))
    awa = f.member(db, thies, "M0012", "Awa Diop", phone="+221772222222")
    fall = f.member(db, louga, "M0001", "Aissatou Fall", phone="+221773333333", opted_out=True)
    db.commit()
    return {"thies": thies, "louga": louga, "aissatou": aissatou, "awa": awa, "fall": fall}


def _names(result):
    return [hit.name for hit in result.members]


def test_name_ignores_accents_case_and_spaces(db, people):
    """'aissatou ndiaye' finds 'Aïssatou  NDIAYE'; 'AÏSSATOU' finds both Aissatous (and one without phone)."""
    assert _names(search(db, "aissatou ndiaye", Scope())) == ["Aïssatou  NDIAYE"]
    assert sorted(_names(search(db, "AÏSSATOU", Scope()))) == ["Aissatou Fall", "Aïssatou  NDIAYE"]
    assert _names(search(db, "%", Scope())) == []  # LIKE's wildcards are plain characters
    phoneless = f.member(db, people["thies"], "M0099", "Aissatou Ba")
    phoneless.phone = None  # the factory would give one
    db.commit()
    assert "Aissatou Ba" in _names(search(db, "aissatou", Scope()))  # no phone, still found


@pytest.mark.parametrize(
    "typed", ["77 222 22 22", "772222222", "+221 77 222 22 22", "00221772222222", "221772222222"]
)
def test_phone_in_any_local_spelling(db, people, typed):
    """The project's phone normaliser reads each spelling."""
    assert _names(search(db, typed, Scope())) == ["Awa Diop"]


def test_member_number_and_cooperatives(db, people):
    """M12 = M0012; cooperatives by code or folded name."""
    assert _names(search(db, "m12", Scope())) == ["Awa Diop"]
    assert [c.code for c in search(db, "ndb", Scope()).cooperatives] == ["NDB"]
    assert [c.code for c in search(db, "cooperative ndiam", Scope()).cooperatives] == ["NDB"]


def test_scope_limits_both_lists(db, people):
    """A Thiès coordinator finds nobody in Louga; a manager only their cooperative."""
    thies = Scope(region="thies")
    assert _names(search(db, "aissatou", thies)) == ["Aïssatou  NDIAYE"]
    assert search(db, "NDB", thies).cooperatives == []
    one = Scope(cooperative_id=people["louga"].id)
    assert _names(search(db, "aissatou", one)) == ["Aissatou Fall"]


def test_search_pages(db, people):
    """Page sizes, the last page, a page out of range brought back."""
    coop = people["thies"]
    for i in range(PAGE_SIZE + 5):
        f.member(db, coop, f"X{i:03d}", f"Ndeye Sarr {i:03d}")
    db.commit()
    first = search(db, "ndeye sarr", Scope(), 1)
    second = search(db, "ndeye sarr", Scope(), "2")
    assert first.page.total == PAGE_SIZE + 5 and first.page.pages == 2
    assert len(first.members) == PAGE_SIZE and len(second.members) == 5
    assert not {h.id for h in first.members} & {h.id for h in second.members}
    assert search(db, "ndeye sarr", Scope(), "99").page.number == 2
    assert search(db, "ndeye sarr", Scope(), "x").page.number == 1


def test_page_bounds():
    """Page arithmetic."""
    assert Page.of(None, 10, 0).pages == 1
    page = Page.of(3, 10, 25)
    assert (page.offset, page.previous, page.next) == (20, 2, None)


def test_member_list_figures(db, people):
    """Savings, outstanding, overdue, days late, PIN state, opted out; ordered by member number."""
    from models.activity import ProductionReport

    product = f.product(db, people["thies"])
    db.add(
        ProductionReport(
            member_id=people["awa"].id,
            product_id=product.id,
            quantity=10,
            iso_year=2026,
            iso_week=48,
            reported_at=datetime(2026, 11, 25, 10, tzinfo=UTC),
            source="ussd",
        )
    )
    people["awa"].pin_hash = "x"
    db.commit()
    lines, page = cooperative_members(db, people["thies"].id, TODAY)
    assert page.total == 2
    aissatou, awa = lines
    assert aissatou.member_no == "M0007" and aissatou.savings == 5_000
    assert aissatou.outstanding == 100_000 and aissatou.overdue == 30_000 and aissatou.days_late == 91
    assert aissatou.pin == "none" and awa.pin == "set"
    assert awa.last_report_at == datetime(2026, 11, 25, 10, tzinfo=UTC)
    assert awa.outstanding == 0 and aissatou.last_report_at is None


def test_search_page_and_member_list_in_the_browserless_client(client, db, people):
    """The pages render what the functions return, inside the account's scope."""
    add_user(db, "thies@mbolo.sn", region="Thiès")
    login(client, "thies@mbolo.sn")
    page = client.get("/admin/search?q=aissatou").get_data(as_text=True)
    assert "Aïssatou  NDIAYE" in page and "Aissatou Fall" not in page
    coop_page = client.get(f"/admin/cooperatives/{people['thies'].id}").get_data(as_text=True)
    assert 'id="members-table"' in coop_page and "Awa Diop" in coop_page

"""Needs attention: members crossing 30/60/90 days this week, broken promises this week, locked
members and cooperatives with no active officer — in scope, counted whole, shown on the pages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from models.attention import attention
from models.enums import MemberStatus, Role
from models.promises import Promise, PromiseStatus
from tests import factories as f
from tests.admin_support import add_user, login
from tests.conftest import DEFAULT_NOW

TODAY = date(2026, 12, 1)


def _late(db, coop, no, days, **kw):
    """A member whose only instalment fell due `days` days ago (so `days` days late today)."""
    member = f.member(db, coop, no, f"Membre {no}", **kw)
    f.loan(
        db,
        member,
        f"L-{coop.code}-{no}",
        10_000,
        0,
        1,
        first_due_on=TODAY - timedelta(days=days),
        disbursed_on=TODAY - timedelta(days=days + 30),
    )
    return member


def _promise(db, member, status, settled_days_ago):
    settled = TODAY - timedelta(days=settled_days_ago)
    db.add(
        Promise(
            member_id=member.id,
            amount=5_000,
            due_on=settled - timedelta(days=1),
            recorded_on=settled - timedelta(days=10),
            recorded_at=DEFAULT_NOW - timedelta(days=20),
            status=status,
            settled_on=settled,
            paid=1_000,
        )
    )


@pytest.fixture
def book(db):
    """NDB: a treasurer and members on each side of every line; SLM, THS: no officer; KLK: one."""
    ndb = f.coop(db, "GIE Ndiambour", "NDB")
    f.member(db, ndb, "T0001", "Fatou Sarr", role=Role.TREASURER)
    crossing = {
        no: _late(db, ndb, no, days)
        for no, days in (("M0030", 30), ("M0036", 36), ("M0065", 65), ("M0092", 92))
    }
    for no, days in (("M0029", 29), ("M0037", 37), ("M0059", 59), ("M0097", 97)):
        _late(db, ndb, no, days)
    _late(db, ndb, "M0031", 31, status=MemberStatus.INACTIVE)
    broke = f.member(db, ndb, "M0100", "Promesse Cassee")
    _promise(db, broke, PromiseStatus.BROKEN, 6)
    _promise(db, f.member(db, ndb, "M0101", "Ancienne Promesse"), PromiseStatus.BROKEN, 7)
    _promise(db, f.member(db, ndb, "M0102", "Promesse Tenue"), PromiseStatus.KEPT, 1)
    locked = f.member(db, ndb, "M0200", "Bloquee", locked=True)
    f.member(db, ndb, "M0201", "Bloquee Partie", locked=True, status=MemberStatus.INACTIVE)
    slm = f.coop(db, "GIE Saloum", "SLM")
    _late(db, slm, "M0030", 30, locked=True)
    ths = f.coop(db, "GIE Thies", "THS")
    f.member(db, ths, "T0001", "Ancien Tresorier", role=Role.TREASURER, status=MemberStatus.INACTIVE)
    klk = f.coop(db, "GIE Kolda", "KLK")
    f.member(db, klk, "P0001", "Presidente", role=Role.PRESIDENT)
    db.commit()
    return {
        "ndb": ndb,
        "slm": slm,
        "ths": ths,
        "klk": klk,
        "crossing": crossing,
        "broke": broke,
        "locked": locked,
    }


def test_each_list_holds_exactly_this_weeks_cases_of_the_cooperative(db, book):
    """Crossing: days late in [m, m+6], m in 30/60/90; broken in the last 7 days; locked active members."""
    seen = attention(db, TODAY, [book["ndb"].id])
    assert {(x.member_no, x.days_late, x.milestone) for x in seen.crossing} == {
        ("M0030", 30, 30),
        ("M0036", 36, 30),
        ("M0065", 65, 60),
        ("M0092", 92, 90),
    }
    assert seen.crossing_count == 4
    assert [(x.member_no, x.amount, x.paid) for x in seen.broken] == [("M0100", 5_000, 1_000)]
    assert [x.member_no for x in seen.locked] == ["M0200"]
    assert seen.no_officer == [] and not seen.empty


def test_cooperatives_without_an_active_officer_and_the_overall_scope(db, book):
    """SLM (nobody) and THS (an inactive treasurer) have no officer; all cooperatives: every list."""
    everything = attention(db, TODAY)
    assert [u.code for u in everything.no_officer] == ["SLM", "THS"]
    assert everything.crossing_count == 5
    assert {(x.cooperative, x.member_no) for x in everything.locked} == {
        ("GIE Ndiambour", "M0200"),
        ("GIE Saloum", "M0030"),
    }
    assert attention(db, TODAY, [book["klk"].id]).empty


def test_lists_are_cut_but_counted_whole(db, book):
    """A limit cuts the rows, never the counts."""
    cut = attention(db, TODAY, None, limit=2)
    assert len(cut.crossing) == 2 and cut.crossing_count == 5 and cut.cut


def test_the_dashboard_and_the_cooperative_page_show_them(client, db, book):
    """The coordinator's dashboard shows every cooperative's cases; a cooperative's page only its own."""
    add_user(db, "coord@mbolo.sn")
    login(client, "coord@mbolo.sn")
    overall = client.get("/admin/").get_data(as_text=True)
    assert 'id="attention-crossing-count">5<' in overall
    assert "GIE Saloum</a> (SLM)" in overall and "no officer" in overall
    page = client.get(f"/admin/cooperatives/{book['ndb'].id}").get_data(as_text=True)
    assert 'id="attention-crossing-count">4<' in page
    assert "M0100 Promesse Cassee" in page and "PIN M0200" in page
    assert "GIE Saloum" not in page and "attention-no-officer" not in page
    slm = client.get(f"/admin/cooperatives/{book['slm'].id}").get_data(as_text=True)
    assert "GIE Saloum</a> (SLM)" in slm and 'id="attention-locked-count">1<' in slm


def test_a_manager_sees_only_their_cooperative(client, db, book):
    """A cooperative manager's page lists nothing of another cooperative."""
    add_user(db, "gie@mbolo.sn", role="manager", cooperative=book["ndb"])
    login(client, "gie@mbolo.sn")
    page = client.get(f"/admin/cooperatives/{book['ndb'].id}").get_data(as_text=True)
    assert "M0092" in page and "GIE Saloum" not in page
    assert client.get(f"/admin/cooperatives/{book['slm'].id}").status_code == 403

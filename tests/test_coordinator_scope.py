"""Coordinators of one region: `users create --region`, `cooperatives set-region`, and what they may open."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import AdminUser, AuditEvent, Cooperative
from models.scope import Scope, region_key
from tests import factories as f
from tests.admin_support import add_user, login, post

PASSWORD_ENV = {"MBOLO_PW": "a-long-enough-password"}


@pytest.fixture
def regions(db):
    """Two cooperatives in Thiès (spelt two ways), one in Louga, one with no region."""
    thies = f.coop(db, "GIE Keur Massar", "KMS", region="Thiès")
    thies2 = f.coop(db, "GIE Tivaouane", "TIV", region="THIES ")
    louga = f.coop(db, "GIE Ndiambour", "NDB", region="Louga", demo=True)
    none = f.coop(db, "GIE Sans Region", "SRG", region=None)
    people = {
        "thies": f.member(db, thies, "M0001", "Awa Diop", phone="+221771000001"),
        "thies2": f.member(db, thies2, "M0001", "Binta Sow", phone="+221771000002"),
        "louga": f.member(db, louga, "M0001", "Coumba Fall", phone="+221771000003"),
    }
    db.commit()
    return {
        "thies": thies,
        "thies2": thies2,
        "louga": louga,
        "none": none,
        **{f"m_{k}": v for k, v in people.items()},
    }


def _create(runner, *args):
    return runner.invoke(
        args=["users", "create", *args, "--password-env", "MBOLO_PW"],
        env=PASSWORD_ENV,
    )


def test_region_key_ignores_accents_case_and_spaces():
    """One region however it is typed."""
    assert region_key("Thiès") == region_key(" THIES ") == region_key("thies") == "thies"
    assert region_key("Saint-Louis") != region_key("Saint Louis")


def test_create_a_regional_coordinator(runner, db, regions):
    """--region is matched ignoring accents and case, stored as the cooperatives spell it, and audited."""
    result = _create(runner, "thies@mbolo.sn", "--role", "coordinator", "--region", "thies")
    assert result.exit_code == 0, result.output
    assert "of region" in result.output
    user = db.scalar(select(AdminUser).where(AdminUser.email == "thies@mbolo.sn"))
    assert region_key(user.region) == "thies"
    assert sorted(user.scope.cooperative_ids(db)) == sorted([regions["thies"].id, regions["thies2"].id])
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "admin_user.create"))
    assert event.after["region"] == user.region
    db.commit()
    listed = runner.invoke(args=["users", "list"])
    assert f"region:{user.region}" in listed.output


def test_a_region_no_cooperative_has_is_refused(runner, db, regions):
    """Nothing is created; the message says why; a manager cannot have a region."""
    result = _create(runner, "x@mbolo.sn", "--role", "coordinator", "--region", "Kédougou")
    assert result.exit_code == 1
    assert "no cooperative is in region" in result.output
    result = _create(runner, "y@mbolo.sn", "--role", "manager", "--coop", "NDB", "--region", "Louga")
    assert result.exit_code == 1
    assert "--region is for coordinators" in result.output
    assert db.scalar(select(AdminUser.id)) is None


def test_set_region_moves_a_cooperative_and_keeps_the_existing_spelling(runner, db, regions):
    """`cooperatives set-region`: 'louga' joins 'Louga' as spelt; audited; the same again changes nothing."""
    result = runner.invoke(args=["cooperatives", "set-region", "KMS", "louga"])
    assert result.exit_code == 0, result.output
    assert "moved from Thiès to Louga" in result.output
    coop = db.scalar(
        select(Cooperative).where(Cooperative.code == "KMS").execution_options(populate_existing=True)
    )
    assert coop.region == "Louga"
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "cooperative.set_region"))
    assert event.before == {"region": "Thiès"} and event.after == {"region": "Louga"}
    db.commit()
    again = runner.invoke(args=["cooperatives", "set-region", "KMS", "LOUGA"])
    assert again.exit_code == 0 and "nothing changed" in again.output
    new = runner.invoke(args=["cooperatives", "set-region", "SRG", "  Kédougou "])
    assert new.exit_code == 0 and "to Kédougou" in new.output
    missing = runner.invoke(args=["cooperatives", "set-region", "NOPE", "Louga"])
    assert missing.exit_code == 1


def test_scope_covers(regions):
    """All, one region, one cooperative."""
    everything, thies, one = Scope(), Scope(region="Thiès"), Scope(cooperative_id=regions["louga"].id)
    assert everything.covers(regions["none"]) and everything.covers(regions["thies"])
    assert thies.covers(regions["thies2"]) and not thies.covers(regions["louga"])
    assert not thies.covers(regions["none"]) and not thies.covers(None)
    assert one.covers(regions["louga"]) and not one.covers(regions["thies"])


@pytest.fixture
def thies_coordinator(client, db, regions):
    """A coordinator of Thiès, logged in."""
    add_user(db, "thies@mbolo.sn", region="Thies")
    login(client, "thies@mbolo.sn")
    return client


def test_regional_coordinator_opens_only_its_region(thies_coordinator, regions):
    """Cooperative pages, overdue lists and CSVs, member pages: 200 inside the region, 403 outside."""
    client = thies_coordinator
    inside, outside = regions["thies2"], regions["louga"]
    for coop, status in ((inside, 200), (outside, 403)):
        for url in (
            f"/admin/cooperatives/{coop.id}",
            f"/admin/cooperatives/{coop.id}/overdue",
            f"/admin/cooperatives/{coop.id}/overdue.csv",
        ):
            assert client.get(url).status_code == status, url
    assert client.get(f"/admin/members/{regions['m_thies'].id}").status_code == 200
    assert client.get(f"/admin/members/{regions['m_louga'].id}").status_code == 403
    assert client.get("/admin/members/999999").status_code == 403  # not there = not yours


def test_regional_coordinator_simulates_only_its_region(thies_coordinator, regions):
    """The simulator lists the region's members only and refuses to dial as anyone else."""
    client = thies_coordinator
    page = client.get("/simulator/").get_data(as_text=True)
    assert "Awa Diop" in page and "Binta Sow" in page and "Coumba Fall" not in page
    assert post(client, "/simulator/dial", {"member": regions["m_louga"].id}).status_code == 403
    assert post(client, "/simulator/dial", {"member": regions["m_thies"].id}).status_code == 200

"""Security of the admin pages and the simulator: login, scope, CSRF, slowed logins, production rules."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select

from models import AdminUser, AuditEvent, InboundSms
from models.enums import Role
from sms.runtime import Runtime, redis_client
from tests import factories as f
from tests.admin_support import PASSWORD, add_user, login, post, token

LOGIN = "/admin/login"


def count(db, model, *where) -> int:
    """Rows of `model`; the read transaction is ended (on SQLite it would hold the write lock)."""
    n = db.scalar(select(func.count()).select_from(model).where(*where))
    db.commit()
    return n


@pytest.fixture
def two_coops(db):
    """Cooperative A (demo) and B (not demo), a member with a loan in each."""
    a = f.coop(db, "GIE Ndiambour", "NDB", demo=True)
    b = f.coop(db, "GIE Saloum", "SLM")
    awa = f.member(db, a, "M0001", "Awa Diop", phone="+221771111111")
    binta = f.member(db, b, "M0001", "Binta Sarr", phone="+221772222222")
    f.loan(db, awa, "L-A", first_due_on=date(2026, 10, 1))
    f.loan(db, binta, "L-B", first_due_on=date(2026, 10, 1))
    db.commit()
    return {"a": a, "b": b, "awa": awa, "binta": binta}


def _admin_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/admin", "/simulator")) and rule.endpoint not in (
            "admin.login",
            "admin.static",
        ):
            yield rule


def _url(rule) -> str:
    return re.sub(r"<(?:int:)?(\w+)>", "1", rule.rule)


def test_every_admin_page_redirects_to_login_when_logged_out(app, client, two_coops):
    """Each GET page (and each form target, with a valid token) sends a stranger to the login page."""
    checked = set()
    for rule in _admin_rules(app):
        url = _url(rule)
        response = client.get(url) if "GET" in rule.methods else post(client, url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith(LOGIN), url
        checked.add(rule.endpoint)
    expected = {
        "admin.index",
        "admin.cooperative",
        "admin.overdue",
        "admin.overdue_all",
        "admin.overdue_csv",
        "admin.overdue_all_csv",
        "admin.member",
        "admin.logout",
        "simulator.phone",
        "simulator.dial",
        "simulator.key",
        "simulator.sms",
    }
    assert expected <= checked


def test_login_then_back_to_the_page_asked_for(client, db, two_coops):
    """After logging in, the coordinator lands on the page they first asked for; never off-site."""
    add_user(db, "coord@mbolo.sn")
    asked = client.get(f"/admin/cooperatives/{two_coops['a'].id}")
    assert asked.headers["Location"] == f"{LOGIN}?next=/admin/cooperatives/{two_coops['a'].id}"
    response = client.post(
        LOGIN,
        data={
            "email": "COORD@mbolo.sn ",
            "password": PASSWORD,
            "next": f"/admin/cooperatives/{two_coops['a'].id}",
            "csrf_token": token(client),
        },
    )
    assert response.headers["Location"] == f"/admin/cooperatives/{two_coops['a'].id}"
    assert client.get(f"/admin/cooperatives/{two_coops['a'].id}").status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "admin"])
def test_login_never_redirects_off_site(client, db, target):
    """An outside `next` is replaced by the dashboard."""
    add_user(db, "coord@mbolo.sn")
    response = client.post(
        LOGIN,
        data={"email": "coord@mbolo.sn", "password": PASSWORD, "next": target, "csrf_token": token(client)},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


def test_wrong_password_is_refused_and_counted(client, db):
    """A wrong password answers 401 and counts on the account; a right one resets the count."""
    add_user(db, "coord@mbolo.sn")
    assert login(client, "coord@mbolo.sn", "wrong-password-1").status_code == 401
    assert login(client, "coord@mbolo.sn", "wrong-password-2").status_code == 401
    user = db.scalar(
        select(AdminUser).where(AdminUser.email == "coord@mbolo.sn").execution_options(populate_existing=True)
    )
    assert user.failed_logins == 2 and user.last_failed_at is not None
    db.commit()  # SQLite: end the read so that the app may write
    assert login(client, "coord@mbolo.sn").status_code == 302
    db.refresh(user)
    assert user.failed_logins == 0 and user.last_login_at is not None
    assert count(db, AuditEvent, AuditEvent.action == "admin.login") == 1


def test_manager_reads_only_their_cooperative(client, db, two_coops):
    """A manager of A is sent to A's dashboard and refused everything of B and the all-cooperatives views."""
    a, b = two_coops["a"], two_coops["b"]
    add_user(db, "manager@mbolo.sn", role="manager", cooperative=a)
    login(client, "manager@mbolo.sn")
    assert client.get("/admin/").headers["Location"].startswith(f"/admin/cooperatives/{a.id}")
    for url in (
        f"/admin/cooperatives/{a.id}",
        f"/admin/cooperatives/{a.id}/overdue",
        f"/admin/cooperatives/{a.id}/overdue.csv",
        f"/admin/members/{two_coops['awa'].id}",
        f"/simulator/?member={two_coops['awa'].id}",
    ):
        assert client.get(url).status_code == 200, url
    for url in (
        f"/admin/cooperatives/{b.id}",
        f"/admin/cooperatives/{b.id}/overdue",
        f"/admin/cooperatives/{b.id}/overdue.csv",
        f"/admin/members/{two_coops['binta'].id}",
        "/admin/members/999999",
        "/admin/overdue",
        "/admin/overdue.csv",
        f"/simulator/?member={two_coops['binta'].id}",
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"Binta" not in response.data
    assert post(client, "/simulator/dial", {"member": two_coops["binta"].id}).status_code == 403
    assert (
        post(client, "/simulator/sms", {"member": two_coops["binta"].id, "body": "AIDE"}).status_code == 403
    )
    assert b"Binta" not in client.get("/simulator/").data
    assert count(db, InboundSms) == 0


def test_coordinator_reads_every_cooperative(client, db, two_coops):
    """A coordinator sees both cooperatives in the overview and may open each."""
    add_user(db, "coord@mbolo.sn")
    login(client, "coord@mbolo.sn")
    page = client.get("/admin/").get_data(as_text=True)
    assert "GIE Ndiambour" in page and "GIE Saloum" in page
    assert client.get(f"/admin/cooperatives/{two_coops['b'].id}").status_code == 200
    assert client.get("/admin/cooperatives/999999").status_code == 404


@pytest.mark.parametrize(
    ("url", "data"),
    [
        (LOGIN, {"email": "coord@mbolo.sn", "password": PASSWORD}),
        ("/admin/logout", {}),
        ("/simulator/dial", {"member": "1"}),
        ("/simulator/key", {"member": "1", "session_id": "sim-x", "text": "", "entry": "1"}),
        ("/simulator/sms", {"member": "1", "body": "AIDE"}),
    ],
)
@pytest.mark.parametrize("given", [None, "forged-token"])
def test_forms_without_the_csrf_token_are_refused(client, db, two_coops, url, data, given):
    """Every form post without the session's token (missing or wrong) is refused and changes nothing."""
    add_user(db, "coord@mbolo.sn")
    login(client, "coord@mbolo.sn")
    body = dict(data)
    if given:
        body["csrf_token"] = given
    response = client.post(url, data=body)
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 200  # still logged in (logout refused too)
    assert count(db, InboundSms) == 0


def test_csrf_token_changes_at_login(client, db):
    """A token seen before logging in is not the token of the logged-in session."""
    add_user(db, "coord@mbolo.sn")
    before = token(client)
    login(client, "coord@mbolo.sn")
    assert token(client) != before
    response = client.post("/admin/logout", data={"csrf_token": before})
    assert response.status_code == 400


def test_login_slows_after_repeated_failures(client, db, clock):
    """From the third failure, attempts wait 1, 2, 4 … seconds, even with the right password."""
    add_user(db, "coord@mbolo.sn")
    for n in range(3):
        assert login(client, "coord@mbolo.sn", f"wrong-{n}-password").status_code == 401
    refused = login(client, "coord@mbolo.sn")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert "Trop de tentatives" in refused.get_data(as_text=True)
    clock.advance(seconds=1)
    assert login(client, "coord@mbolo.sn", "wrong-3-password").status_code == 401
    assert login(client, "coord@mbolo.sn").headers["Retry-After"] == "2"
    clock.advance(seconds=2)
    assert login(client, "coord@mbolo.sn", "wrong-4-password").status_code == 401
    assert login(client, "coord@mbolo.sn").headers["Retry-After"] == "4"
    clock.advance(seconds=4)
    assert login(client, "coord@mbolo.sn").status_code == 302


def test_unknown_emails_are_slowed_like_known_ones(client, db, clock):
    """Guessing e-mails gets the same window, so the answer does not tell which accounts exist."""
    for n in range(3):
        assert login(client, "nobody@mbolo.sn", f"guess-{n}-password").status_code == 401
    assert login(client, "nobody@mbolo.sn", "guess-x-password").status_code == 429


def test_one_address_trying_many_accounts_is_slowed(app, db, clock):
    """Ten failures from one address over many e-mails slow that address, not another one."""
    add_user(db, "coord@mbolo.sn")
    attacker = app.test_client()
    for n in range(10):
        response = login(
            attacker, f"user{n}@mbolo.sn", "guess-password", environ_base={"REMOTE_ADDR": "10.0.0.9"}
        )
        assert response.status_code == 401
    blocked = login(attacker, "coord@mbolo.sn", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert blocked.status_code == 429
    elsewhere = app.test_client()
    assert login(elsewhere, "coord@mbolo.sn", environ_base={"REMOTE_ADDR": "10.0.0.10"}).status_code == 302


def test_throttle_reads_the_client_behind_the_local_proxy(app, db, clock):
    """Behind nginx the last X-Forwarded-For entry is the client; a remote client cannot pick one."""
    add_user(db, "coord@mbolo.sn")
    proxied = app.test_client()
    for n in range(10):
        headers = {"X-Forwarded-For": f"203.0.113.{n}, 198.51.100.7"}
        login(proxied, f"user{n}@mbolo.sn", "guess-password", headers=headers)
    via_proxy = {"headers": {"X-Forwarded-For": "198.51.100.7"}}
    assert login(app.test_client(), "coord@mbolo.sn", **via_proxy).status_code == 429
    other = {"headers": {"X-Forwarded-For": "198.51.100.8"}}
    assert login(app.test_client(), "coord@mbolo.sn", **other).status_code == 302
    spoofing = {"headers": {"X-Forwarded-For": "198.51.100.9"}, "environ_base": {"REMOTE_ADDR": "10.0.0.9"}}
    for n in range(10):
        login(app.test_client(), f"other{n}@mbolo.sn", "guess-password", **spoofing)
    # The header of a client that is not the local proxy is ignored: 10.0.0.9 is the one slowed.
    assert (
        login(app.test_client(), "coord@mbolo.sn", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code
        == 429
    )


def test_login_window_holds_when_redis_is_down(client, db, runtime, clock):
    """Without Redis, the account's own failure count in the database keeps the window."""
    user = add_user(db, "coord@mbolo.sn")
    user.failed_logins = 5
    user.last_failed_at = clock.now()
    db.commit()
    working = runtime.redis
    runtime.redis = redis_client("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        assert login(client, "coord@mbolo.sn").status_code == 429
        clock.advance(seconds=4)
        assert login(client, "coord@mbolo.sn").status_code == 302
    finally:
        runtime.redis.close()
        runtime.redis = working


def test_changing_the_password_ends_open_sessions(client, db):
    """The session carries a fingerprint of the password hash; a new password logs everyone out."""
    user = add_user(db, "coord@mbolo.sn")
    login(client, "coord@mbolo.sn")
    assert client.get("/admin/").status_code == 200
    user.password_hash = "scrypt:32768:8:1$other$" + "0" * 64
    db.commit()
    assert client.get("/admin/").headers["Location"].startswith(LOGIN)


def test_deactivated_account_cannot_log_in(client, db):
    """An inactive account is refused like a wrong password."""
    user = add_user(db, "coord@mbolo.sn")
    user.active = False
    db.commit()
    assert login(client, "coord@mbolo.sn").status_code == 401


def test_admin_pages_send_security_headers(client, db):
    """CSP with only this app's assets, no framing, no caching of members' data."""
    add_user(db, "coord@mbolo.sn")
    login(client, "coord@mbolo.sn")
    response = client.get("/admin/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert not re.search(r"""(src|href)=["']https?://""", page), "every asset must come from the app"


@pytest.fixture
def production_app(config, engine, redis_url, clock, runtime):
    """The app as deployed: APP_ENV=production (over the test database and Redis)."""
    from ussd_app import create_app

    cfg = replace(
        config, APP_ENV="production", SECRET_KEY="production-secret-key-0123456789", WEBHOOK_TOKEN="tok"
    )
    rt = Runtime(
        config=cfg,
        engine=engine,
        sessions=runtime.sessions,
        redis=runtime.redis,
        clock=clock,
        send_trigger=runtime.send_trigger,
    )
    return create_app(runtime=rt)


def test_session_cookie_is_secure_httponly_and_lax_in_production(production_app, db):
    """In production the session cookie only travels over HTTPS, out of scripts' reach, same-site."""
    add_user(db, "coord@mbolo.sn")
    client = production_app.test_client()
    response = login(client, "coord@mbolo.sn")
    cookie = response.headers["Set-Cookie"]
    assert "mbolo_admin=" in cookie
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_session_cookie_is_not_secure_outside_production(client, db):
    """In development the cookie must work over plain http://localhost."""
    add_user(db, "coord@mbolo.sn")
    cookie = login(client, "coord@mbolo.sn").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_simulator_refuses_a_non_demo_cooperative_in_production(production_app, db, two_coops):
    """In production the simulator offers and accepts only members of demo cooperatives."""
    add_user(db, "coord@mbolo.sn")
    client = production_app.test_client()
    login(client, "coord@mbolo.sn")
    binta, awa = two_coops["binta"], two_coops["awa"]
    listing = client.get("/simulator/").get_data(as_text=True)
    assert "Awa Diop" in listing and "Binta Sarr" not in listing
    assert client.get(f"/simulator/?member={binta.id}").status_code == 403
    refused = post(client, "/simulator/dial", {"member": binta.id})
    assert refused.status_code == 403
    assert "démonstration" in refused.get_data(as_text=True)
    assert post(client, "/simulator/sms", {"member": binta.id, "body": "AIDE"}).status_code == 403
    assert (
        post(client, "/simulator/key", {"member": binta.id, "session_id": "sim-1", "entry": "1"}).status_code
        == 403
    )
    assert count(db, InboundSms) == 0
    dialled = post(client, "/simulator/dial", {"member": awa.id})
    assert dialled.status_code == 200
    assert "Choisissez votre code PIN" in dialled.get_data(as_text=True)


def test_simulator_serves_every_cooperative_outside_production(client, db, two_coops):
    """In development and tests the simulator works for any cooperative the account may read."""
    add_user(db, "coord@mbolo.sn")
    login(client, "coord@mbolo.sn")
    assert post(client, "/simulator/dial", {"member": two_coops["binta"].id}).status_code == 200


def test_treasurer_role_is_irrelevant_to_web_access(client, db, two_coops):
    """Web access comes from admin accounts only: a member's phone or role gives no login."""
    treasurer = f.member(db, two_coops["a"], "M0009", "Tresoriere", role=Role.TREASURER)
    db.commit()
    assert login(client, treasurer.phone, PASSWORD).status_code == 401

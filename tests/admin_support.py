"""Logging in to the admin pages from the Flask test client, with the CSRF token the pages hand out."""

from __future__ import annotations

from models.admin_user import create_user
from tests.conftest import DEFAULT_NOW

PASSWORD = "a-long-enough-password"


def add_user(
    db, email: str, role: str = "coordinator", cooperative=None, password: str = PASSWORD, region=None
):
    """An account, committed."""
    user = create_user(
        db,
        email=email,
        password=password,
        role=role,
        cooperative=cooperative,
        region=region,
        now=DEFAULT_NOW,
    )
    db.commit()
    return user


def token(client) -> str:
    """The session's CSRF token (opening the login page creates one when there is none)."""
    with client.session_transaction() as session:
        existing = session.get("_csrf")
    if existing:
        return existing
    client.get("/admin/login")
    with client.session_transaction() as session:
        return session["_csrf"]


def login(client, email: str, password: str = PASSWORD, **kw):
    """Post the login form as a browser would; returns the response."""
    return client.post(
        "/admin/login", data={"email": email, "password": password, "csrf_token": token(client)}, **kw
    )


def post(client, url: str, data: dict | None = None, **kw):
    """A form post carrying the session's CSRF token."""
    return client.post(url, data={**(data or {}), "csrf_token": token(client)}, **kw)

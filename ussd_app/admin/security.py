"""Who is logged in, what they may read, and the CSRF token every form carries.

The session is Flask's signed cookie: it holds the account id, a fingerprint of the password
hash and of the account's session generation (changing the password, logging out or
deactivating the account ends every session server-side: a copied cookie is dead) and the CSRF
token. Every state-changing request of the admin pages and the simulator must send the token
back (form field `csrf_token` or header `X-CSRF-Token`); it is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for

from models.admin_user import AdminUser

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token() -> str:
    """The session's CSRF token, created on first use (templates call it)."""
    token = session.get("_csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["_csrf"] = token
    return token


def check_csrf() -> None:
    """400 when a state-changing request lacks the session's token."""
    if request.method in SAFE_METHODS:
        return
    expected = session.get("_csrf", "")
    given = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        abort(400, description="Jeton CSRF absent ou invalide : rechargez la page et recommencez.")


def fingerprint(user: AdminUser) -> str:
    """A short keyed digest of the password hash and session generation: either changed ends old sessions."""
    key = current_app.config["SECRET_KEY"].encode()
    material = f"{user.session_generation or 0}\x00{user.password_hash}".encode()
    return hmac.new(key, material, hashlib.sha256).hexdigest()[:24]


def log_in(user: AdminUser) -> None:
    """Start a fresh session for `user` (a new CSRF token, so a token seen before login is useless)."""
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["fp"] = fingerprint(user)
    session["_csrf"] = secrets.token_urlsafe(32)


def log_out() -> None:
    """End the session server-side (every cookie of this account stops working), then forget it."""
    from ussd_app.current import db_session

    user = current_user()
    if user is not None:
        user.session_generation = (user.session_generation or 0) + 1
        db_session().commit()
    session.clear()
    g.pop("admin_user", None)


def current_user() -> AdminUser | None:
    """The logged-in, active account, or None."""
    if "admin_user" in g:
        return g.admin_user
    from ussd_app.current import db_session

    user = None
    uid = session.get("uid")
    if isinstance(uid, int):
        candidate = db_session().get(AdminUser, uid)
        if (
            candidate is not None
            and candidate.active
            and hmac.compare_digest(session.get("fp", ""), fingerprint(candidate))
        ):
            user = candidate
    g.admin_user = user
    return user


def safe_next(target: str | None) -> str | None:
    """A redirect target only if it stays on this site (a path, not `//host` or a URL)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def login_required(view):
    """Redirect to the login page when nobody is logged in."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_user() is None:
            return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


def require_cooperative(cooperative_id: int | None) -> None:
    """403 unless the logged-in account may read this cooperative (404 and 403 alike for outsiders)."""
    from models.cooperative import Cooperative
    from ussd_app.current import db_session

    user = current_user()
    coop = db_session().get(Cooperative, cooperative_id) if cooperative_id is not None else None
    if user is None or not user.may_read(coop):
        abort(403)


def coordinator_only() -> None:
    """403 for managers: the several-cooperatives views are the coordinators' (all, or one region)."""
    user = current_user()
    if user is None or not user.is_coordinator:
        abort(403)

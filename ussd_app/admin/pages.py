"""The admin blueprint: login and logout, the guards every page passes, headers and template filters."""

from __future__ import annotations

import logging
from datetime import date, datetime

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from sqlalchemy import select

from i18n.formatting import format_date, format_money
from models import audit
from models.admin_user import AdminUser, authenticate, normalise_email
from models.enums import Source
from models.phones import mask
from ussd_app.admin import charts
from ussd_app.admin.security import (
    check_csrf,
    csrf_token,
    current_user,
    log_in,
    log_out,
    safe_next,
)
from ussd_app.admin.throttle import LoginThrottle

log = logging.getLogger("mbolo.admin")

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

# Pages anyone may open: the login form and the stylesheet it uses.
PUBLIC_ENDPOINTS = frozenset({"admin.login", "admin.static"})

# Every asset comes from this app; no inline script; forms post only here; no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def guard() -> Response | None:
    """Before every admin and simulator request: CSRF on writes, then login (except public pages)."""
    check_csrf()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if current_user() is None:
        return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
    return None


def protect(response: Response) -> Response:
    """Security headers; pages holding members' data are not cached."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "admin.static":
        response.headers["Cache-Control"] = "no-store"
    return response


bp.before_request(guard)
bp.after_request(protect)


@bp.app_template_global("csrf_token")
def _csrf_token() -> str:
    return csrf_token()


@bp.app_template_global("current_user")
def _current_user() -> AdminUser | None:
    return current_user()


@bp.app_template_filter("money")
def _money(amount: int | None) -> str:
    return "–" if amount is None else format_money(amount)


@bp.app_template_filter("number")
def _number(value: int | None) -> str:
    return "–" if value is None else f"{value:,}".replace(",", " ")


@bp.app_template_filter("percent")
def _percent(value: float | None) -> str:
    return charts.percent(value)


@bp.app_template_filter("day")
def _day(value: date | datetime | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        from ussd_app.current import runtime

        return value.astimezone(runtime().config.tz).strftime("%d/%m/%Y %H:%M")
    return format_date(value)


@bp.app_template_filter("masked")
def _masked(phone: str | None) -> str:
    return mask(phone)


def error_page(exc):
    """403, 404 and 400 (CSRF) as a page in the admin's layout."""
    defaults = {
        400: "Requête invalide.",
        403: "Vous n'avez pas accès à cette page.",
        404: "Page introuvable.",
    }
    custom = exc.description if exc.description != type(exc).description else None
    message = custom or defaults.get(exc.code, "")
    return render_template("admin/error.html", code=exc.code, message=message), exc.code


for _code in (400, 403, 404):
    bp.register_error_handler(_code, error_page)


def client_address() -> str:
    """The client's address for the login throttle.

    Behind the local nginx (deploy/nginx-mbolo.conf) every request comes from 127.0.0.1 and
    nginx appends the real client to X-Forwarded-For: its last entry is trusted, and only when
    the request came from this machine, so a remote client cannot choose its own address.
    """
    direct = request.remote_addr or "unknown"
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and (direct.startswith("127.") or direct == "::1"):
        last = forwarded.split(",")[-1].strip()
        if last:
            return last[:64]
    return direct


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form; failures slow further attempts on that account and address."""
    from ussd_app.current import db_session, runtime

    if request.method == "GET":
        if current_user() is not None:
            return redirect(safe_next(request.args.get("next")) or url_for("admin.index"))
        return render_template("admin/login.html", next=request.args.get("next", ""))
    rt = runtime()
    now = rt.clock.now()
    email = normalise_email(request.form.get("email", ""))[:254]
    password = request.form.get("password", "")
    target = safe_next(request.form.get("next")) or url_for("admin.index")
    address = client_address()
    throttle = LoginThrottle(rt.redis)
    session = db_session()
    known = session.scalar(select(AdminUser).where(AdminUser.email == email))
    fallback = (known.failed_logins, known.last_failed_at) if known else (0, None)
    verdict = throttle.check(email, address, now, fallback)
    if not verdict.allowed:
        log.info("admin.login_refused", extra={"retry_after": verdict.retry_after})
        page = render_template(
            "admin/login.html",
            next=target,
            email=email,
            error=f"Trop de tentatives. Réessayez dans {verdict.retry_after} s.",
        )
        return page, 429, {"Retry-After": str(verdict.retry_after)}
    user = authenticate(session, email, password, now)
    if user is None:
        throttle.failed(email, address, now)
        session.commit()  # the account's own failure count
        log.info("admin.login_failed", extra={"known": known is not None})
        return render_template(
            "admin/login.html", next=target, email=email, error="E-mail ou mot de passe incorrect."
        ), 401
    throttle.succeeded(email, address)
    audit.record(
        session,
        actor=f"user:{user.email}",
        action="admin.login",
        target=f"user:{user.email}",
        source=Source.WEB,
        at=now,
    )
    session.commit()
    log_in(user)
    log.info("admin.login", extra={"user": user.id})
    return redirect(target)


@bp.post("/logout")
def logout():
    """End the session."""
    log_out()
    return redirect(url_for("admin.login"))


def forbid_unless(condition: bool) -> None:
    """403 unless `condition`."""
    if not condition:
        abort(403)

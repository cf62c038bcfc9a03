"""The coordinator web pages (`/admin`) and the phone simulator (`/simulator`).

Server-rendered (Flask + Jinja), every asset served by the app, inline SVG charts. Login with
hashed passwords; the session is Flask's signed cookie (secure in production, HttpOnly,
SameSite=Lax); a CSRF token on every form; logins slowed after repeated failures.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

SESSION_HOURS = 8


def init_app(app: Flask) -> None:
    """Register the admin pages and the simulator, and set the session cookie's flags."""
    from ussd_app.admin import (  # noqa: F401 - routes register on import
        broadcast,
        exports,
        pages,
        production_goal,
        search,
        simulator,
        views,
    )

    production = app.config.get("APP_ENV") == "production"
    app.config.update(
        SESSION_COOKIE_NAME="mbolo_admin",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
    )
    app.register_blueprint(pages.bp)
    app.register_blueprint(simulator.bp)

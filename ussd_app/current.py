"""The current Flask app's runtime and the request's database session, for views and commands."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session

from sms.runtime import Runtime


def runtime() -> Runtime:
    """The current app's runtime (database, Redis, clock)."""
    return current_app.extensions["mbolo"]


def db_session() -> Session:
    """The request's database session, closed at teardown."""
    if "db_session" not in g:
        g.db_session = runtime().sessions()
    return g.db_session

"""The `flask --app wsgi …` command groups; each module adds its own commands."""

from __future__ import annotations

from flask import Flask

from ussd_app.cli import (
    audit,
    broadcast,
    coordinator,
    database,
    demo,
    imports,
    portfolio_report,
    privacy,
    reminders,
    reports,
    resend,
    sms,
    translations,
    users,
    ussd,
    worker,
)

# Each module defines `register(app)`; a new command group is one more line here.
MODULES = (
    database,
    imports,
    demo,
    coordinator,
    ussd,
    sms,
    reminders,
    broadcast,
    reports,
    portfolio_report,
    worker,
    privacy,
    audit,
    resend,
    users,
    translations,
)


def init_app(app: Flask) -> None:
    """Attach every command group to the app's CLI."""
    for module in MODULES:
        module.register(app)

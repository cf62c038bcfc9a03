"""The `flask --app wsgi …` command groups; each module adds its own commands.

See docs/design.md, "Command line".
"""

from __future__ import annotations

import importlib

from flask import Flask

# Each module defines `register(app)`; parts of the product not built yet are skipped.
MODULES = (
    "ussd_app.cli.database",
    "ussd_app.cli.imports",
    "ussd_app.cli.demo",
    "ussd_app.cli.coordinator",
    "ussd_app.cli.ussd",
    "ussd_app.cli.sms",
    "ussd_app.cli.reminders",
    "ussd_app.cli.broadcast",
    "ussd_app.cli.reports",
    "ussd_app.cli.worker",
    "ussd_app.cli.privacy",
    "ussd_app.cli.audit",
    "ussd_app.cli.resend",
    "ussd_app.cli.users",
    "ussd_app.cli.translations",
)


def init_app(app: Flask) -> None:
    """Attach every available command group to the app's CLI."""
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(app)

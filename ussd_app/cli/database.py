"""`db upgrade`: apply the Alembic migrations."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

db = AppGroup("db", help="Database schema.")


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
def upgrade_command(revision: str) -> None:
    """Apply migrations up to REVISION."""
    from models.migrate import upgrade
    from ussd_app.current import runtime

    upgrade(runtime().engine, revision)
    click.echo(f"database at {revision}")


def register(app: Flask) -> None:
    """Add the `db` group."""
    app.cli.add_command(db)

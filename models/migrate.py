"""Apply the Alembic migrations programmatically (the CLI and the test fixtures share this)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(connection=None) -> AlembicConfig:
    """The project's Alembic configuration, optionally bound to an open connection."""
    cfg = AlembicConfig(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the database behind `engine` to `revision`."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)

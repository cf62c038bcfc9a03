"""Alembic environment: a connection handed in by the caller, else the configured URL."""

from alembic import context
from sqlalchemy import pool

import models
from models.database import make_engine

target_metadata = models.Base.metadata


def _configured_url() -> str:
    from config import load_config
    from config.embedded import sqlite_url

    cfg = load_config()
    return cfg.DATABASE_URL or sqlite_url(cfg.INSTANCE_DIR)


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(
        context.config.get_main_option("sqlalchemy.url") or _configured_url(), poolclass=pool.NullPool
    )
    with engine.connect() as conn:
        _run(conn)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()

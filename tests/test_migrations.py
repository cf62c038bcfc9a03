"""The Alembic migrations build exactly the schema the models describe."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

import models
from models.migrate import alembic_config, upgrade


def test_models_and_migrations_agree(engine):
    """Autogenerate finds nothing to change between the migrated schema and the models (PostgreSQL)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("compared on PostgreSQL, the production database")
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, models.Base.metadata)
    assert diff == []


def test_upgrade_again_is_a_no_op_at_the_heads(engine):
    """A database that already holds the tables upgrades cleanly; it sits at every head."""
    upgrade(engine)
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
        tables = set(inspect(conn).get_table_names())
    assert current == heads
    assert {t.name for t in models.Base.metadata.sorted_tables} <= tables

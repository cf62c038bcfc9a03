"""Operations: purged_at (personal data purge) with partial indexes; an index for /metrics' unknown count.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# (table, timestamp column walked by the purge)
TABLES = (("outbound_sms", "created_at"), ("inbound_sms", "received_at"), ("ussd_event", "received_at"))


def upgrade() -> None:
    for table, stamp in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("purged_at", models.base.UTCDateTime(timezone=True), nullable=True))
        op.create_index(
            f"ix_{table}_unpurged",
            table,
            [stamp],
            unique=False,
            postgresql_where=sa.text("purged_at IS NULL"),
            sqlite_where=sa.text("purged_at IS NULL"),
        )
    op.create_index(
        "ix_outbound_sms_unknown",
        "outbound_sms",
        ["kind"],
        unique=False,
        postgresql_where=sa.text("status = 'unknown'"),
        sqlite_where=sa.text("status = 'unknown'"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbound_sms_unknown", table_name="outbound_sms")
    for table, _stamp in TABLES:
        op.drop_index(f"ix_{table}_unpurged", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("purged_at")

"""Outbox: when a sender took each row (the daily budget counts by it); early reports keep their phone.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_sms") as batch:
        batch.add_column(sa.Column("claimed_at", models.base.UTCDateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_outbound_sms_coop_claimed", "outbound_sms", ["cooperative_id", "claimed_at"], unique=False
    )
    with op.batch_alter_table("early_delivery_report") as batch:
        batch.add_column(sa.Column("phone", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("early_delivery_report") as batch:
        batch.drop_column("phone")
    op.drop_index("ix_outbound_sms_coop_claimed", table_name="outbound_sms")
    with op.batch_alter_table("outbound_sms") as batch:
        batch.drop_column("claimed_at")

"""Inbound SMS: where each came from (`sms`, or `simulator` for the phone simulator's in-process posts).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows received before this revision are taken as the gateway's: the `sim-` prefix of an id
    # proves nothing (ussd_app.origin), and no trusted marker was kept for them.
    with op.batch_alter_table("inbound_sms") as batch:
        batch.add_column(sa.Column("source", sa.String(length=12), server_default="sms", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("inbound_sms") as batch:
        batch.drop_column("source")

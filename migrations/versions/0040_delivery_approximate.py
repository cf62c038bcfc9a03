"""Outbox: a delivery report matched by phone number rather than by message id is flagged approximate.

Orange's delivery receipts name the number, not the message: a receipt is given to the oldest
`sent` row to that number, and the row says so.

Revision ID: 0040
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_sms") as batch:
        batch.add_column(
            sa.Column("delivery_approximate", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbound_sms") as batch:
        batch.drop_column("delivery_approximate")

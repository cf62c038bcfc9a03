"""Keep what the gateway tells: a delivery report's networkCode and retryCount, an inbound SMS's date;
admin accounts' session generation (raised at logout, so a copied cookie dies with the session).

Revision ID: 0012
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0012"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("outbound_sms", "early_delivery_report"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("network_code", sa.String(length=10), nullable=True))
            batch.add_column(sa.Column("retry_count", sa.Integer(), nullable=True))
    with op.batch_alter_table("inbound_sms") as batch:
        batch.add_column(sa.Column("sent_at", models.base.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("admin_user") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("admin_user") as batch:
        batch.drop_column("session_generation")
    with op.batch_alter_table("inbound_sms") as batch:
        batch.drop_column("sent_at")
    for table in ("early_delivery_report", "outbound_sms"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("retry_count")
            batch.drop_column("network_code")

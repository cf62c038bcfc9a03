"""Recovery: promises to pay, weekly officers' digests, and room for arrears and promise rule codes.

Revision ID: 0020
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0020"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "promise",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.Column("paid", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name="fk_promise_member_id_member"),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["member.id"], name="fk_promise_recorded_by_id_member"),
        sa.PrimaryKeyConstraint("id", name="pk_promise"),
    )
    op.create_index("ix_promise_member_status", "promise", ["member_id", "status"])
    op.create_index("ix_promise_status_due_on", "promise", ["status", "due_on"])
    op.create_table(
        "digest_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cooperative_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("outbound_sms_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cooperative_id"], ["cooperative.id"], name="fk_digest_sent_cooperative_id_cooperative"
        ),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name="fk_digest_sent_member_id_member"),
        sa.ForeignKeyConstraint(
            ["outbound_sms_id"], ["outbound_sms.id"], name="fk_digest_sent_outbound_sms_id_outbound_sms"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_digest_sent"),
        sa.UniqueConstraint("member_id", "day", name="uq_digest_sent_member_id_day"),
    )
    op.create_index("ix_digest_sent_day", "digest_sent", ["day"])
    with op.batch_alter_table("reminder_sent") as batch:
        batch.alter_column("rule", type_=sa.String(length=16), existing_type=sa.String(length=8))


def downgrade() -> None:
    with op.batch_alter_table("reminder_sent") as batch:
        batch.alter_column("rule", type_=sa.String(length=8), existing_type=sa.String(length=16))
    op.drop_index("ix_digest_sent_day", table_name="digest_sent")
    op.drop_table("digest_sent")
    op.drop_index("ix_promise_status_due_on", table_name="promise")
    op.drop_index("ix_promise_member_status", table_name="promise")
    op.drop_table("promise")

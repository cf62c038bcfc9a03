"""Coordinators of one region; members' names folded for search; production baselines.

Revision ID: 0070
Revises: 0030
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0070"
down_revision = "0030"
branch_labels = None
depends_on = None


def _fold(name: str) -> str:
    # Frozen copy of models.directory.name_key as of this revision.
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def upgrade() -> None:
    op.add_column("admin_user", sa.Column("region", sa.String(length=80), nullable=True))
    op.add_column("member", sa.Column("name_key", sa.String(length=120), nullable=True))
    conn = op.get_bind()
    member = sa.table("member", sa.column("id", sa.Integer), sa.column("name", sa.String), sa.column("name_key"))
    rows = conn.execute(sa.select(member.c.id, member.c.name)).all()
    if rows:
        conn.execute(
            member.update().where(member.c.id == sa.bindparam("mid")).values(name_key=sa.bindparam("key")),
            [{"mid": mid, "key": _fold(name)} for mid, name in rows],
        )
    with op.batch_alter_table("member") as batch:
        batch.alter_column("name_key", existing_type=sa.String(length=120), nullable=False)
    op.create_index("ix_member_name_key", "member", ["name_key"])
    # Search by member number across cooperatives (the unique key leads with the cooperative).
    op.create_index("ix_member_member_key", "member", ["member_key"])
    op.create_table(
        "production_baseline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("target", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("product_id", "month"),
    )


def downgrade() -> None:
    op.drop_table("production_baseline")
    op.drop_index("ix_member_member_key", table_name="member")
    op.drop_index("ix_member_name_key", table_name="member")
    with op.batch_alter_table("member") as batch:
        batch.drop_column("name_key")
    with op.batch_alter_table("admin_user") as batch:
        batch.drop_column("region")

"""Instalments: the unpaid ones in loan order, with what the portfolio figures read of them.

The coordinators' overview sums every active loan's unpaid instalments per loan (outstanding,
overdue, oldest late due date). This partial index holds exactly those rows, ordered by loan and
carrying the columns summed, so the sums stream from the index (PostgreSQL: an index-only scan
feeding a grouped aggregate) instead of hashing a million heap rows.

Revision ID: 0080
Revises: 0070
"""

import sqlalchemy as sa
from alembic import op

revision = "0080"
down_revision = "0070"
branch_labels = None
depends_on = None

UNPAID = "amount_paid < amount_due"


def upgrade() -> None:
    op.create_index(
        "ix_instalment_unpaid_loan",
        "instalment",
        ["loan_id", "due_on", "amount_due", "amount_paid"],
        postgresql_where=sa.text(UNPAID),
        sqlite_where=sa.text(UNPAID),
    )


def downgrade() -> None:
    op.drop_index("ix_instalment_unpaid_loan", table_name="instalment")

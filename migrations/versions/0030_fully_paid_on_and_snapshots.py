"""Instalments remember when they were completed; month-end portfolio snapshots per cooperative.

`instalment.fully_paid_on` is backfilled by replaying each loan's non-reversed repayments in the
order they were recorded, filling its instalments in schedule order, as the ledger allocates: the
repayment that completes an instalment gives its date. The snapshots themselves are backfilled by
`flask --app wsgi report snapshots --backfill` (a replay of every past month-end, too long for a
migration on a large portfolio).

Revision ID: 0030
Revises: 0040
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0030"
down_revision = "0040"
branch_labels = None
depends_on = None

BATCH = 5_000


def upgrade() -> None:
    with op.batch_alter_table("instalment") as batch:
        batch.add_column(sa.Column("fully_paid_on", sa.Date(), nullable=True))
    op.create_table(
        "portfolio_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cooperative_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("loans", sa.Integer(), nullable=False),
        sa.Column("loans_in_arrears", sa.Integer(), nullable=False),
        sa.Column("members_in_arrears", sa.Integer(), nullable=False),
        *(
            sa.Column(name, sa.BigInteger(), nullable=False)
            for name in (
                "outstanding",
                "overdue",
                "par1",
                "par30",
                "par90",
                "age_on_time",
                "age_1_30",
                "age_31_60",
                "age_61_90",
                "age_over_90",
                "written_off",
                "recoveries",
            )
        ),
        sa.Column("computed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["cooperative.id"],
            name=op.f("fk_portfolio_snapshot_cooperative_id_cooperative"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolio_snapshot")),
        sa.UniqueConstraint(
            "as_of", "cooperative_id", name=op.f("uq_portfolio_snapshot_as_of_cooperative_id")
        ),
    )
    op.create_index(
        op.f("ix_portfolio_snapshot_cooperative_id"), "portfolio_snapshot", ["cooperative_id"], unique=False
    )
    _backfill_fully_paid_on(op.get_bind())


def _replay(instalments, payments):
    """(amount_due, id) in schedule order, (amount, paid_on) in record order → (id, completed_on)."""
    k, left = 0, payments[0][0] if payments else 0
    for amount_due, key in instalments:
        paid, completed_on = 0, None
        while paid < amount_due and k < len(payments):
            take = min(left, amount_due - paid)
            paid += take
            left -= take
            if paid == amount_due:
                completed_on = payments[k][1]
            if left == 0:
                k += 1
                left = payments[k][0] if k < len(payments) else 0
        yield key, completed_on


def _backfill_fully_paid_on(conn) -> None:
    paid_loans = [
        row[0]
        for row in conn.execute(
            sa.text(
                "SELECT DISTINCT loan_id FROM instalment WHERE amount_paid >= amount_due ORDER BY loan_id"
            )
        )
    ]
    for start in range(0, len(paid_loans), BATCH):
        chunk = paid_loans[start : start + BATCH]
        lines: dict[int, list] = {}
        for loan_id, amount, paid_on in conn.execute(
            sa.text(
                "SELECT rl.loan_id, rl.amount, r.paid_on FROM repayment_line rl "
                "JOIN repayment r ON r.id = rl.repayment_id "
                "WHERE r.reversed_at IS NULL AND rl.loan_id IN :ids ORDER BY rl.loan_id, r.id"
            ).bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": chunk},
        ):
            lines.setdefault(loan_id, []).append((int(amount), paid_on))
        schedules: dict[int, list] = {}
        fully_paid: set[int] = set()
        for inst_id, loan_id, amount_due, amount_paid in conn.execute(
            sa.text(
                "SELECT id, loan_id, amount_due, amount_paid FROM instalment "
                "WHERE loan_id IN :ids ORDER BY loan_id, number"
            ).bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": chunk},
        ):
            schedules.setdefault(loan_id, []).append((int(amount_due), inst_id))
            if amount_paid >= amount_due:
                fully_paid.add(inst_id)
        updates = [
            {"id": inst_id, "on": completed_on}
            for loan_id, schedule in schedules.items()
            for inst_id, completed_on in _replay(schedule, lines.get(loan_id, []))
            # Only what the ledger holds as paid gets a date; a replay that falls short leaves it unset.
            if completed_on is not None and inst_id in fully_paid
        ]
        if updates:
            conn.execute(sa.text("UPDATE instalment SET fully_paid_on = :on WHERE id = :id"), updates)


def downgrade() -> None:
    op.drop_index(op.f("ix_portfolio_snapshot_cooperative_id"), table_name="portfolio_snapshot")
    op.drop_table("portfolio_snapshot")
    with op.batch_alter_table("instalment") as batch:
        batch.drop_column("fully_paid_on")

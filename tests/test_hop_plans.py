"""The hop queries stay index lookups on tables nothing has analysed yet (PostgreSQL).

A table just loaded (an import, a restore) has no statistics until ANALYZE or autovacuum runs;
the planner then guesses, and a join it may hash over the whole instalment table costs a second
a hop. The hop queries are shaped so that the guess cannot matter: by member, then by loan.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

import models
from menus.loan import ACTIVE_LOANS, LOAN_LINES
from menus.pin import MEMBER_BY_PHONE
from models import Loan, Member
from models.csv_import.bulk import lookup_statement
from models.database import make_engine
from models.pin import _PIN_STATE
from models.position import _position_statement
from models.production import _PRODUCT_AND_CURRENT, _PRODUCTS, _SAVED_OR_CURRENT

MEMBERS, LOANS, PER_LOAN = 40_000, 20_000, 10


@pytest.fixture(scope="module")
def unanalysed(database_url):
    """A schema of its own, loaded by INSERT … SELECT, autovacuum off: no statistics at all."""
    if not database_url.startswith("postgres"):
        pytest.skip("PostgreSQL's planner")
    schema = f"plans_{uuid.uuid4().hex[:8]}"
    base = database_url.split("?")[0]
    engine = make_engine(base, search_path=schema, pool_size=1)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        models.Base.metadata.create_all(conn)
        for table in models.Base.metadata.sorted_tables:
            conn.execute(text(f'ALTER TABLE "{table.name}" SET (autovacuum_enabled = false)'))
        conn.execute(
            text(
                "INSERT INTO cooperative (id, name, code, demo, created_at) "
                "SELECT g, 'Coop ' || g, 'C' || g, false, now() FROM generate_series(1, 100) g"
            )
        )
        conn.execute(
            text(
                "INSERT INTO member (id, cooperative_id, member_no, member_key, name, name_key, phone, role,"
                " language, status, wrong_pins, locked, opted_out, created_at, updated_at)"
                " SELECT g, g % 100 + 1, 'M' || g, 'M' || g, 'Membre ' || g, 'membre ' || g,"
                " '+22177' || lpad(g::text, 7, '0'),"
                " 'member', 'fr', 'active', 0, false, false, now(), now() FROM generate_series(1, :n) g"
            ),
            {"n": MEMBERS},
        )
        conn.execute(
            text(
                "INSERT INTO savings_entry (member_id, kind, amount, entry_on, created_at, source)"
                " SELECT g, 'opening', 1000, current_date, now(), 'import' FROM generate_series(1, :n) g"
            ),
            {"n": MEMBERS},
        )
        conn.execute(
            text(
                "INSERT INTO loan (id, member_id, reference, principal, interest, disbursed_on, first_due_on,"
                " frequency, status, created_at) SELECT g, g % :m + 1, 'L-' || g, 100000, 10000,"
                " current_date - 30, current_date, 'monthly', 'active', now() FROM generate_series(1, :n) g"
            ),
            {"n": LOANS, "m": MEMBERS},
        )
        conn.execute(
            text(
                "INSERT INTO instalment (loan_id, number, due_on, amount_due, amount_paid)"
                " SELECT l, k, current_date + k * 30, 11000, 0"
                " FROM generate_series(1, :n) l, generate_series(1, :k) k"
            ),
            {"n": LOANS, "k": PER_LOAN},
        )
        conn.execute(
            text(
                "INSERT INTO product (id, cooperative_id, name, unit, created_at)"
                " SELECT g, g, 'Arachide', 'kg', now() FROM generate_series(1, 100) g"
            )
        )
    with engine.begin() as conn:
        # This week's report of every member, written after the tables were created (as hops write
        # them): the lookup of one member's report must not take the index by week, which the
        # planner prefers on a table it knows nothing about (it is small: one key for the week).
        conn.execute(
            text(
                "INSERT INTO production_report (member_id, product_id, quantity, iso_year, iso_week,"
                " reported_at, source, reference, idempotency_key)"
                " SELECT g, g % 100 + 1, 10, 2026, 49, now(), 'ussd', 'P' || g, 'ussd:k' || g"
                " FROM generate_series(1, :n) g"
            ),
            {"n": MEMBERS},
        )
        analysed = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = :s"
                " AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)"
            ),
            {"s": schema},
        ).scalar_one()
        assert analysed == 0
    yield engine
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def _plan(engine, statement, params: dict, generic: bool = False) -> str:
    """EXPLAIN of the statement as the app sends it; `generic`: the plan a prepared statement settles on."""
    with engine.connect() as conn:
        compiled = statement.compile(dialect=conn.dialect)
        values = compiled.construct_params(params)
        if generic:
            names = list(dict.fromkeys(compiled.positiontup or values))
            sql = compiled.string
            for i, name in enumerate(names, 1):
                sql = sql.replace(f"%({name})s", f"${i}")
            conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            conn.exec_driver_sql("PREPARE hop AS " + sql)
            args = ", ".join(repr(values[name]) for name in names)
            rows = conn.exec_driver_sql(f"EXPLAIN EXECUTE hop({args})").all()
            conn.exec_driver_sql("DEALLOCATE hop")
            conn.exec_driver_sql("RESET plan_cache_mode")
        else:
            rows = conn.exec_driver_sql("EXPLAIN " + compiled.string, values).all()
        conn.rollback()
    return "\n".join(r[0] for r in rows)


IMPORT_LOOKUPS = {
    "members by cooperative and key": (
        lookup_statement([Member.id, Member.name], [Member.cooperative_id, Member.member_key]),
        {"k0": list(range(1, 101)) * 50, "k1": [f"M{i}" for i in range(5000)]},
    ),
    "members by phone": (
        lookup_statement([Member.id], [Member.phone]),
        {"k0": [f"+22177{i:07d}" for i in range(20_000)]},
    ),
    "loans by reference": (
        lookup_statement([Loan.id], [Loan.reference]),
        {"k0": [f"L-{i}" for i in range(20_000)]},
    ),
}


@pytest.mark.parametrize("name", list(IMPORT_LOOKUPS))
def test_import_lookups_of_a_whole_batch_are_index_lookups_without_statistics(unanalysed, name):
    """An import's lookups of 20 000 keys into a table it is filling never scan the table."""
    statement, params = IMPORT_LOOKUPS[name]
    plan = _plan(unanalysed, statement, params)
    assert "Seq Scan on member " not in plan + " " and "Seq Scan on loan " not in plan + " ", plan
    assert "Index" in plan, plan


HOP_QUERIES = {
    "member by phone (dial)": (MEMBER_BY_PHONE, {"phone": "+221770012345"}),
    "PIN state (PIN)": (_PIN_STATE, {"member_id": 12_345}),
    "products (production)": (_PRODUCTS, {"cooperative_id": 46}),
    "product and this week's report (confirm)": (
        _PRODUCT_AND_CURRENT,
        {"product_id": 46, "cooperative_id": 46, "member_id": 12_345, "year_week": 202649},
    ),
    "the key's or this week's report (save)": (
        _SAVED_OR_CURRENT,
        {"key": "ussd:x", "member_id": 12_345, "product_id": 46, "year_week": 202649},
    ),
    "position (balance)": (None, {"member_id": 12_345}),
    "active loans (my loan)": (ACTIVE_LOANS, {"member_id": 12_345}),
    "loan lines (loan detail)": (LOAN_LINES, {"member_id": 12_345, "loan_id": 12_344}),
}


@pytest.mark.parametrize("name", list(HOP_QUERIES))
@pytest.mark.parametrize("generic", [False, True], ids=["custom plan", "generic plan"])
def test_hop_queries_are_index_lookups_without_statistics(unanalysed, name, generic):
    """No sequential scan of member, loan or instalment; every table reached through an index."""
    statement, params = HOP_QUERIES[name]
    if statement is None:
        statement = _position_statement("postgresql")
    plan = _plan(unanalysed, statement, params, generic)
    for table in ("member", "loan", "instalment", "savings_entry", "product", "production_report"):
        assert f"Seq Scan on {table} " not in plan + " ", plan
    assert "ix_production_report_week" not in plan, plan  # one member's report, not the whole week's
    assert "Index" in plan, plan

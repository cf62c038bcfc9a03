"""`import products`: the products each cooperative counts in its production reports.

A product is matched within its cooperative by name, case and accents ignored; a different
unit updates it. The cooperative must exist already (the members import creates cooperatives).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from models.cooperative import Product
from models.csv_import.cooperatives import CooperativeDirectory
from models.csv_import.reader import BadValue, Progress, folded, read_table
from models.csv_import.result import ImportResult, record_import

REQUIRED = ("cooperative", "product", "unit")
OPTIONAL = ()


@dataclass
class ProductLine:
    """A valid row of the products file."""

    line: int
    cooperative: str
    name: str
    unit: str


def import_products(
    session: Session,
    data: bytes,
    *,
    now: datetime,
    actor: str = "system",
    filename: str | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import a products file into the session (the caller commits, or rolls back for a dry run)."""
    table = read_table(data, required=REQUIRED, optional=OPTIONAL)
    result = ImportResult.of_table("products", table)
    coops = CooperativeDirectory(session)
    stored = {
        (p.cooperative_id, folded(p.name)): p
        for p in session.scalars(select(Product).where(Product.cooperative_id.in_([c.id for c in coops.all])))
    }
    seen: dict[tuple[int, str], int] = {}
    new_rows, changes = [], []
    for row in table.rows:
        try:
            pl = _product_line(row)
        except BadValue as exc:
            result.fail(row.line, str(exc))
            continue
        coop = coops.find(pl.cooperative)
        if coop is None:
            result.fail(pl.line, f"unknown cooperative {pl.cooperative!r} (import its members first)")
            continue
        key = (coop.id, folded(pl.name))
        if key in seen:
            result.fail(pl.line, f"product {pl.name!r} of {coop.name} is also on line {seen[key]}")
            continue
        seen[key] = pl.line
        product = stored.get(key)
        if product is None:
            new_rows.append({"cooperative_id": coop.id, "name": pl.name, "unit": pl.unit, "created_at": now})
        elif product.unit != pl.unit:
            changes.append({"id": product.id, "unit": pl.unit})
            result.updated += 1
        else:
            result.unchanged += 1
    if new_rows:
        session.execute(insert(Product), new_rows)
        result.created += len(new_rows)
    if changes:
        session.execute(update(Product), changes)
    if progress:
        progress(result.rows, result.rows)
    record_import(
        session, kind="products", table=table, result=result, filename=filename, actor=actor, now=now
    )
    return result.finish()


def _product_line(row) -> ProductLine:
    missing = [c for c in REQUIRED if not row.get(c)]
    if missing:
        raise BadValue(f"missing {', '.join(missing)}")
    name = " ".join(row.get("product").split())
    if len(name) > 60:
        raise BadValue("product name longer than 60 characters")
    unit = row.get("unit").lower()
    if len(unit) > 20 or not re.fullmatch(r"[^\W\d_][\w .'-]*", unit):
        raise BadValue(f"unit {row.get('unit')!r} is not a unit such as kg, litre, sac, piece")
    return ProductLine(row.line, row.get("cooperative"), name, unit)

"""`import baselines`: each product's production in a month of the reference period, and its target.

Columns `cooperative,product,month,baseline[,target]`: the cooperative by code or name, the product
by name (case and accents ignored), the month 1–12, whole quantities in the product's unit; an empty
target means twice the baseline. A (product, month) already imported is replaced by the new figures.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from models.activity import ProductionBaseline
from models.cooperative import Product
from models.csv_import.cooperatives import CooperativeDirectory
from models.csv_import.reader import BadValue, Progress, folded, parse_count, read_table
from models.csv_import.result import ImportResult, record_import

REQUIRED = ("cooperative", "product", "month", "baseline")
OPTIONAL = ("target",)
# A cooperative's monthly production of one product (tonnes counted in kg, litres): generous.
MAX_QUANTITY = 1_000_000_000


def import_baselines(
    session: Session,
    data: bytes,
    *,
    now: datetime,
    actor: str = "system",
    filename: str | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import a baselines file into the session (the caller commits, or rolls back for a dry run)."""
    table = read_table(data, required=REQUIRED, optional=OPTIONAL)
    result = ImportResult.of_table("baselines", table)
    coops = CooperativeDirectory(session)
    products = {(p.cooperative_id, folded(p.name)): p for p in session.scalars(select(Product))}
    stored = {(b.product_id, b.month): b for b in session.scalars(select(ProductionBaseline))}
    seen: dict[tuple[int, int], int] = {}
    new_rows, changes = [], []
    for row in table.rows:
        try:
            missing = [c for c in REQUIRED if not row.get(c)]
            if missing:
                raise BadValue(f"missing {', '.join(missing)}")
            month = parse_count(row.get("month"), "month", 1, 12)
            quantity = parse_count(row.get("baseline"), "baseline", 0, MAX_QUANTITY)
            target = parse_count(row.get("target"), "target", 0, MAX_QUANTITY) if row.get("target") else None
        except BadValue as exc:
            result.fail(row.line, str(exc))
            continue
        coop = coops.find(row.get("cooperative"))
        if coop is None:
            result.fail(row.line, f"unknown cooperative {row.get('cooperative')!r}")
            continue
        product = products.get((coop.id, folded(row.get("product"))))
        if product is None:
            result.fail(
                row.line, f"{coop.name} has no product {row.get('product')!r} (import products first)"
            )
            continue
        key = (product.id, month)
        if key in seen:
            result.fail(
                row.line, f"{product.name} of {coop.name}, month {month}, is also on line {seen[key]}"
            )
            continue
        seen[key] = row.line
        before = stored.get(key)
        if before is None:
            new_rows.append(
                {
                    "product_id": product.id,
                    "month": month,
                    "quantity": quantity,
                    "target": target,
                    "updated_at": now,
                }
            )
        elif (before.quantity, before.target) != (quantity, target):
            changes.append({"id": before.id, "quantity": quantity, "target": target, "updated_at": now})
        else:
            result.unchanged += 1
    if new_rows:
        session.execute(insert(ProductionBaseline), new_rows)
        result.created += len(new_rows)
    if changes:
        session.execute(update(ProductionBaseline), changes)
        result.updated += len(changes)
    if progress:
        progress(result.rows, result.rows)
    record_import(
        session, kind="baselines", table=table, result=result, filename=filename, actor=actor, now=now
    )
    return result.finish()

"""Production against the doubling goal: each cooperative's products, baseline, target and progress.

The period is the year to date: the months January to the chosen month (a month's weeks are those
whose Thursday falls in it, as everywhere in production). The baseline of a product is, month by
month, the imported figure (`import baselines`) where there is one, else the product's production
in the same month of `PRODUCTION_BASELINE_YEAR`. The target is the imported target where set, else
twice the baseline. Progress = (production − baseline) ÷ (target − baseline): 0 % at the baseline,
100 % at the target (doubled), negative below the baseline. Totals add quantities only between the
same product and unit (kilograms and litres do not add up).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.activity import ProductionBaseline, ProductionReport
from models.cooperative import Cooperative, Product
from models.directory import name_key
from models.production import Week, _in_weeks, weeks_of_month


def progress(actual: int, baseline: int, target: int) -> float | None:
    """(actual − baseline) ÷ (target − baseline); None when the target is not above the baseline."""
    if target <= baseline:
        return None
    return (actual - baseline) / (target - baseline)


@dataclass
class MonthFigure:
    """A product's baseline and target for one month, and where the baseline came from."""

    baseline: int
    target: int
    imported: bool


def month_figures(
    derived: dict[int, int], imported: dict[int, tuple[int, int | None]], months: Iterable[int]
) -> dict[int, MonthFigure]:
    """Per month: the imported baseline (and target) where there is one, else the derived one; target ×2."""
    out = {}
    for month in months:
        if month in imported:
            quantity, target = imported[month]
            out[month] = MonthFigure(quantity, target if target is not None else 2 * quantity, True)
        else:
            quantity = derived.get(month, 0)
            out[month] = MonthFigure(quantity, 2 * quantity, False)
    return out


@dataclass
class GoalLine:
    """One cooperative's product over the period."""

    cooperative_id: int
    cooperative: str
    code: str
    region: str | None
    product_id: int
    product: str
    unit: str
    actual: int = 0
    baseline: int = 0
    target: int = 0
    months_imported: int = 0

    @property
    def progress(self) -> float | None:
        """Progress toward the target (0 at the baseline, 1 at the target)."""
        return progress(self.actual, self.baseline, self.target)

    @property
    def reached(self) -> float | None:
        """Production ÷ target."""
        return self.actual / self.target if self.target else None


@dataclass
class GoalTotal:
    """A product (same name and unit) summed over a region's or the programme's cooperatives."""

    region: str | None  # None: the programme
    product: str
    unit: str
    cooperatives: int = 0
    actual: int = 0
    baseline: int = 0
    target: int = 0

    @property
    def progress(self) -> float | None:
        """Progress toward the target of the total."""
        return progress(self.actual, self.baseline, self.target)


def _weeks_by_month(year: int, months: Iterable[int]) -> dict[Week, int]:
    return {week: month for month in months for week in weeks_of_month(year, month)}


def _sums(session: Session, weeks: dict[Week, int], product_ids: list[int]) -> dict[tuple[int, int], int]:
    """(product id, month) → quantity of the current reports in those weeks."""
    if not weeks:
        return {}
    stmt = (
        select(
            ProductionReport.product_id,
            ProductionReport.iso_year,
            ProductionReport.iso_week,
            func.sum(ProductionReport.quantity),
        )
        .where(ProductionReport.superseded_at.is_(None), _in_weeks(weeks))
        .group_by(ProductionReport.product_id, ProductionReport.iso_year, ProductionReport.iso_week)
    )
    if product_ids is not None:
        stmt = stmt.where(ProductionReport.product_id.in_(product_ids))
    out: dict[tuple[int, int], int] = {}
    for product_id, year, number, quantity in session.execute(stmt):
        month = weeks[Week(year, number)]
        out[(product_id, month)] = out.get((product_id, month), 0) + int(quantity)
    return out


def goal_lines(
    session: Session,
    year: int,
    through_month: int,
    baseline_year: int | None,
    cooperative_ids: list[int] | None = None,
) -> list[GoalLine]:
    """Every product of the cooperatives given (None: all), January to `through_month` of `year`."""
    months = range(1, through_month + 1)
    stmt = select(Product, Cooperative).join(Cooperative, Cooperative.id == Product.cooperative_id)
    if cooperative_ids is not None:
        stmt = stmt.where(Product.cooperative_id.in_(cooperative_ids))
    lines = {
        product.id: GoalLine(
            coop.id, coop.name, coop.code, coop.region, product.id, product.name, product.unit
        )
        for product, coop in session.execute(stmt)
    }
    ids = list(lines) if cooperative_ids is not None else None
    actual = _sums(session, _weeks_by_month(year, months), ids)
    derived = _sums(session, _weeks_by_month(baseline_year, months), ids) if baseline_year else {}
    imported: dict[int, dict[int, tuple[int, int | None]]] = {}
    rows = select(
        ProductionBaseline.product_id,
        ProductionBaseline.month,
        ProductionBaseline.quantity,
        ProductionBaseline.target,
    ).where(ProductionBaseline.month <= through_month)
    if ids is not None:
        rows = rows.where(ProductionBaseline.product_id.in_(ids))
    for product_id, month, quantity, target in session.execute(rows):
        imported.setdefault(product_id, {})[month] = (int(quantity), None if target is None else int(target))
    for product_id, line in lines.items():
        line.actual = sum(actual.get((product_id, m), 0) for m in months)
        mine = {m: derived[(product_id, m)] for m in months if (product_id, m) in derived}
        for figure in month_figures(mine, imported.get(product_id, {}), months).values():
            line.baseline += figure.baseline
            line.target += figure.target
            line.months_imported += figure.imported
    return sorted(lines.values(), key=lambda line: (name_key(line.cooperative), name_key(line.product)))


def goal_totals(lines: Iterable[GoalLine], by_region: bool) -> list[GoalTotal]:
    """Per (region when `by_region`,) product name and unit: the lines' sums."""
    totals: dict[tuple, GoalTotal] = {}
    for line in lines:
        region = (line.region or "—") if by_region else None
        key = (name_key(region or ""), name_key(line.product), line.unit)
        total = totals.get(key)
        if total is None:
            total = totals[key] = GoalTotal(region, line.product, line.unit)
        total.cooperatives += 1
        total.actual += line.actual
        total.baseline += line.baseline
        total.target += line.target
    return [totals[k] for k in sorted(totals)]

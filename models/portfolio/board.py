"""The whole dashboard page, and the 12-month series of collection rate, on-time rate and PAR30."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from models import production
from models.clock import DAKAR
from models.portfolio.collection import Collection, collections
from models.portfolio.messages import ReminderCounts, SmsCost, reminder_counts, sms_cost
from models.portfolio.months import Month, id_list
from models.portfolio.production_figures import ProductLine, production_lines
from models.portfolio.reminder_effect import EffectTable, effect_table, reminder_effect
from models.portfolio.snapshots import month_ends
from models.portfolio.standing import Portfolio, portfolio

SERIES_MONTHS = 12
EFFECT_MONTHS = 6


@dataclass(frozen=True)
class SeriesPoint:
    """One month of the series; PAR30 is the month-end snapshot's (today's for the running month)."""

    month: Month
    collection_rate: float | None
    on_time_rate: float | None
    par30: float | None


def series(
    session: Session,
    last: Month,
    today: date,
    history: list[Collection],
    cooperative_ids: Iterable[int] | None = None,
    running: Portfolio | None = None,
) -> list[SeriesPoint]:
    """The months of `history` with their PAR30: snapshots for closed months, `running` for this one."""
    ends = month_ends(session, [c.month for c in history], cooperative_ids)
    points = []
    for c in history:
        if c.month == Month.of(today) and running is not None:
            par30 = running.par30
        else:
            end = ends.get(c.month)
            par30 = end.par30_rate if end is not None else None
        points.append(SeriesPoint(c.month, c.rate, c.on_time_rate, par30))
    return points


@dataclass
class Dashboard:
    """Every figure of one dashboard page."""

    month: Month
    today: date
    portfolio: Portfolio
    collection: Collection
    history: list[Collection]
    series: list[SeriesPoint]
    production_period: production.Period | None
    production: list[ProductLine]
    reminders: ReminderCounts
    reminder_effect: EffectTable
    sms: SmsCost


def dashboard(
    session: Session,
    month: Month,
    today: date,
    *,
    daily_budget: int = 0,
    cooperative_ids: Iterable[int] | None = None,
    tz: ZoneInfo = DAKAR,
    figures: Portfolio | None = None,
) -> Dashboard:
    """Every figure of a dashboard over these cooperatives: the programme (None), a region's, one.

    Every section counts the same cooperatives. `figures`: their portfolio when the caller already
    has it (the overview adds up its table's lines rather than reading the loans a second time).
    """
    ids = id_list(cooperative_ids)
    history = collections(session, month, today, SERIES_MONTHS, ids)
    period, lines = production_lines(session, month, today, ids)
    figures = figures if figures is not None else portfolio(session, today, ids)
    effects = reminder_effect(session, month, today, EFFECT_MONTHS, ids)
    return Dashboard(
        month=month,
        today=today,
        portfolio=figures,
        collection=history[-1],
        history=history,
        series=series(session, month, today, history, ids, figures),
        production_period=period,
        production=lines,
        reminders=reminder_counts(session, month, ids, tz),
        reminder_effect=effect_table(effects, month, EFFECT_MONTHS),
        sms=sms_cost(session, month, today, daily_budget, ids, tz),
    )

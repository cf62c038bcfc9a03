"""The coordinators' figures: portfolio, arrears, collections, history, production, reminders, SMS.

No Flask here. Every amount a member could also read on USSD or in an SMS comes from
`models.position` (one ledger, one position function). The definitions of the rates (collection,
on-time, PAR1/30/90, recoveries after write-off) are in docs/figures.md and on the pages.

    months              Month, ratio, the cooperative scope
    standing            the portfolio on a day: today's, or replayed from the repayments
    collection          collection and on-time rates per month
    snapshots           month-end snapshots (tick, backfill) and their series
    reminder_effect     the share of reminded instalments paid within 7 days
    messages            reminder SMS by outcome, SMS cost against the budget
    production_figures  production per product against earlier periods
    cooperatives        the overview's cooperatives table (its one query and its sorts)
    overdue             the overdue list
    member              the member page
    board               a whole dashboard page and its 12-month series
"""

from models.portfolio.board import Dashboard, SeriesPoint, dashboard, series
from models.portfolio.collection import Collection, collection_of, collections, collections_by_cooperative
from models.portfolio.cooperatives import SORTS, CooperativeLine, cooperative_lines, parse_sort
from models.portfolio.member import MemberFile, member_file
from models.portfolio.messages import BILLED, ReminderCounts, SmsCost, reminder_counts, sms_cost
from models.portfolio.months import Month, ratio
from models.portfolio.overdue import OverdueLine, overdue_list
from models.portfolio.production_figures import ProductLine, production_lines
from models.portfolio.reminder_effect import ReminderEffect, effect_table, reminder_effect
from models.portfolio.standing import (
    BUCKETS,
    PAR_DAYS,
    Bucket,
    Portfolio,
    empty_portfolio,
    portfolio,
    portfolios,
    portfolios_as_of,
    replay_arrears,
)

__all__ = [
    "BILLED",
    "BUCKETS",
    "PAR_DAYS",
    "SORTS",
    "Bucket",
    "Collection",
    "CooperativeLine",
    "Dashboard",
    "MemberFile",
    "Month",
    "OverdueLine",
    "Portfolio",
    "ProductLine",
    "ReminderCounts",
    "ReminderEffect",
    "SeriesPoint",
    "SmsCost",
    "collection_of",
    "collections",
    "collections_by_cooperative",
    "cooperative_lines",
    "dashboard",
    "effect_table",
    "empty_portfolio",
    "member_file",
    "overdue_list",
    "parse_sort",
    "portfolio",
    "portfolios",
    "portfolios_as_of",
    "production_lines",
    "ratio",
    "reminder_counts",
    "reminder_effect",
    "replay_arrears",
    "series",
    "sms_cost",
]

"""Coordinators at programme scale: a cooperative's page with its member list, the search, and a plain
indexed SELECT timed in the same run as a yardstick for how loaded the machine is.

bench.dashboard calls `timings` on its data set (3 000 cooperatives, 200 000 members): the shared
machine is often loaded, so each figure is reported beside the SELECT's and the load average.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.dataset import phone_of
from models.member_list import cooperative_members
from models.portfolio import Month, dashboard
from models.scope import Scope
from models.search import search

ROUNDS = 5


def median_of(engine, work: Callable[[Session], object], rounds: int = ROUNDS) -> float:
    """The median of `rounds` runs, each in a fresh session, after one warm-up run."""
    times = []
    for round_no in range(rounds + 1):
        with Session(engine) as session:
            start = time.perf_counter()
            work(session)
            elapsed = time.perf_counter() - start
        if round_no:
            times.append(elapsed)
    return statistics.median(times)


def cooperative_page(session: Session, today: date, cooperative_id: int) -> None:
    """What /admin/cooperatives/ID computes: the dashboard and the first page of members."""
    dashboard(session, Month.of(today), today, daily_budget=5_000, cooperative_ids=[cooperative_id])
    cooperative_members(session, cooperative_id, today)


def plain_select(engine, members: int, rounds: int = ROUNDS) -> float:
    """The yardstick: one member read by its primary key."""
    middle = members // 2
    return median_of(
        engine, lambda s: s.execute(text("SELECT * FROM member WHERE id = :i"), {"i": middle}).all(), rounds
    )


def timings(engine, today: date, members: int, rounds: int = ROUNDS) -> dict[str, float]:
    """Medians of `rounds` runs of each coordinator figure, with the plain SELECT and the load average."""
    middle = members // 2
    results = {
        "plain indexed SELECT (member by id)": plain_select(engine, members, rounds),
        "cooperative page (dashboard + member list)": median_of(
            engine, lambda s: cooperative_page(s, today, 7), rounds
        ),
        "search: one name": median_of(engine, lambda s: search(s, f"membre {middle:06d}", Scope()), rounds),
        "search: a phone written the local way": median_of(
            engine, lambda s: search(s, phone_of(middle)[4:6] + " " + phone_of(middle)[6:], Scope()), rounds
        ),
        "search: a name every member shares (count of all, first page)": median_of(
            engine, lambda s: search(s, "ndiaye", Scope()), rounds
        ),
        "search: a member number": median_of(engine, lambda s: search(s, f"M{middle:06d}", Scope()), rounds),
    }
    results["load average (1 min) at the end"] = os.getloadavg()[0]
    return results

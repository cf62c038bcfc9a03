"""The 10-minute tick: a small explicit registry of periodic tasks, run by one worker at a time.

Each task is `function(runtime, now)` returning a short summary (a count, a dict). Adding a task is
one import and one line in TASKS, `"name": module.function`. Tasks run in order; one failing task
is logged and does not stop the others. The worker (`flask --app wsgi worker`) claims each
10-minute slot with a Redis key (SET NX, sms/ticker.py), so however many workers run, each slot
ticks once; the tick itself is an RQ job (sms.jobs.run_tick).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from models.portfolio import snapshots
from sms import credit, declarations, inbound, sender
from sms.reminders import planner

log = logging.getLogger("mbolo.tick")

INTERVAL = timedelta(minutes=10)
SLOT_KEY = "mbolo:tick:slot:{slot}"

Task = Callable[..., object]  # (runtime, now) -> a short summary

TASKS: dict[str, Task] = {
    "reminder_planning": planner.tick,
    "outbox_sweep": sender.sweep,
    "inbound_retry": inbound.retry_unhandled,
    "declaration_lifecycle": declarations.tick,
    "gateway_balance": credit.check_balance,
    "portfolio_snapshots": snapshots.tick,
}


def run_tick(runtime, now: datetime | None = None, tasks: dict[str, Task] | None = None) -> dict:
    """Run every registered task once; returns name → summary (or "error: …")."""
    now = now or runtime.clock.now()
    results = {}
    for name, task in (tasks or TASKS).items():
        try:
            results[name] = task(runtime, now)
        except Exception as exc:  # boundary: one failing task must not stop the others
            log.exception("tick task failed", extra={"task": name})
            results[name] = f"error: {type(exc).__name__}: {exc}"[:200]
    log.info("tick", extra={"results": results})
    return results


def slot_of(now: datetime) -> int:
    """The number of the 10-minute slot holding `now`."""
    return int(now.timestamp() // INTERVAL.total_seconds())


def claim_slot(redis, now: datetime, holder: str) -> bool:
    """True for exactly one caller per 10-minute slot, across every worker sharing this Redis."""
    key = SLOT_KEY.format(slot=slot_of(now))
    return bool(redis.set(key, holder, nx=True, ex=int(INTERVAL.total_seconds() * 3)))

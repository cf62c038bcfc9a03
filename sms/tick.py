"""The 10-minute tick: a small explicit registry of periodic tasks, run by one worker at a time.

Each task is `function(runtime, now)` returning a short summary (a count, a dict). Adding a task is
one line in TASKS, `"name": "package.module:function"`; the reference is resolved when the tick
runs, so a task module may import what it likes without an import cycle, and `test_tick` checks
that every entry resolves. Tasks run in order; one failing task is logged and does not stop the
others. The worker (`flask --app wsgi worker`) claims each 10-minute slot with a Redis key
(SET NX), so however many workers run, each slot ticks once; the tick itself is an RQ job.

    TASKS = {
        ...
        "reminder_planning": "sms.reminders_tick:plan",
        "declaration_expiry": "sms.commands.expiry:expire",
    }
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

log = logging.getLogger("mbolo.tick")

INTERVAL = timedelta(minutes=10)
SLOT_KEY = "mbolo:tick:slot:{slot}"

TASKS: dict[str, str] = {
    "reminder_planning": "sms.reminders.planner:tick",
    "outbox_sweep": "sms.sender:sweep",
    "inbound_retry": "sms.inbound:retry_unhandled",
    "declaration_lifecycle": "sms.commands.declarations:tick",
    "gateway_balance": "sms.credit:check_balance",
}


def resolve(reference: str) -> Callable:
    """The callable named `module:function`."""
    module_name, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def run_tick(runtime, now: datetime | None = None, tasks: dict[str, str] | None = None) -> dict:
    """Run every registered task once; returns name → summary (or "error: …")."""
    now = now or runtime.clock.now()
    results = {}
    for name, reference in (tasks or TASKS).items():
        try:
            results[name] = resolve(reference)(runtime, now)
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


class Ticker:
    """A worker's timer thread: every POLL seconds, claim the current slot; the winner enqueues the tick."""

    POLL = 30.0

    def __init__(self, runtime, connection, holder: str):
        self.runtime = runtime
        self.connection = connection
        self.holder = holder
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mbolo-ticker", daemon=True)

    def start(self) -> Ticker:
        """Start polling in the background."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling."""
        self._stop.set()

    def poll(self) -> bool:
        """One poll: True when this worker won the slot and enqueued the tick."""
        from sms.jobs import enqueue_tick

        if claim_slot(self.connection, self.runtime.clock.now(), self.holder):
            enqueue_tick(self.connection)
            return True
        return False

    def _loop(self) -> None:
        import redis

        while not self._stop.is_set():
            try:
                self.poll()
            except redis.RedisError as exc:  # Redis down: try again at the next poll
                log.warning("tick poll failed", extra={"error": type(exc).__name__})
            self._stop.wait(self.POLL)

"""The worker's timer thread: each worker polls; the one that claims a 10-minute slot enqueues the tick."""

from __future__ import annotations

import logging
import threading

import redis

from sms.jobs import enqueue_tick
from sms.tick import claim_slot

log = logging.getLogger("mbolo.tick")


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
        if claim_slot(self.connection, self.runtime.clock.now(), self.holder):
            enqueue_tick(self.connection)
            return True
        return False

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except redis.RedisError as exc:  # Redis down: try again at the next poll
                log.warning("tick poll failed", extra={"error": type(exc).__name__})
            self._stop.wait(self.POLL)

"""The send gate: a Redis token bucket shared by every worker, and in-flight markers.

One script call per request (one Redis round trip) both takes `segments` tokens from the
gateway's bucket (SMS_RATE segments per second, bursts up to one second's worth; a batch larger
than that borrows from the coming seconds) and, when granted, stamps an in-flight marker for each
outbox row about to be posted. The markers are written strictly before the HTTP call, so a row
found `sending` after its lease with no marker never reached the gateway and is simply requeued,
whatever its kind; with a marker it may have, and the outbox rules apply (receipt → unknown).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

BUCKET_KEY = "mbolo:sms:bucket:{gateway}"
MARKER_KEY = "mbolo:sms:inflight:{row_id}:{attempt}"
MARKER_TTL = 2 * 24 * 3600

_SCRIPT = """
local rate = tonumber(ARGV[1])
local wanted = tonumber(ARGV[3])
if rate > 0 then
  local burst = tonumber(ARGV[2])
  local t = redis.call('TIME')
  local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
  local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
  local tokens = tonumber(state[1]) or burst
  local at = tonumber(state[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
  local need = math.min(wanted, burst)
  if tokens < need then
    return tostring((need - tokens) / rate)
  end
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - wanted), 'at', tostring(now))
  redis.call('EXPIRE', KEYS[1], 3600)
end
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], '1', 'EX', tonumber(ARGV[4]))
end
return '0'
"""


def marker_key(row_id: int, attempt: int) -> str:
    """The in-flight marker of one row's attempt."""
    return MARKER_KEY.format(row_id=row_id, attempt=attempt)


def in_flight(connection: redis.Redis, rows: list[tuple[int, int]]) -> list[bool]:
    """Whether each (row id, attempt) was marked before its HTTP call."""
    if not rows:
        return []
    values = connection.mget([marker_key(row_id, attempt) for row_id, attempt in rows])
    return [value is not None for value in values]


class Throttle:
    """Take tokens (rate > 0) and stamp in-flight markers; rate None or 0 = no rate limit."""

    def __init__(
        self,
        connection: redis.Redis,
        gateway: str,
        rate: float | None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.connection = connection
        self.bucket = BUCKET_KEY.format(gateway=gateway)
        self.rate = rate or 0.0
        self.burst = max(1.0, self.rate)
        self.sleep = sleep
        self._script = connection.register_script(_SCRIPT)

    def acquire(self, segments: int, rows: list[tuple[int, int]]) -> None:
        """Block until `segments` tokens are granted, then mark (row id, attempt) pairs in flight."""
        keys = [self.bucket] + [marker_key(row_id, attempt) for row_id, attempt in rows]
        while True:
            wait = float(self._script(keys=keys, args=[self.rate, self.burst, segments, MARKER_TTL]))
            if wait <= 0:
                return
            self.sleep(min(wait, 1.0))

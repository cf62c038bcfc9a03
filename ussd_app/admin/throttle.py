"""Login slowed after repeated failures: an exponential refusal window per account and per address.

Each failure is counted in Redis under the account (a hash of the e-mail, known or not, so the
answer does not tell which e-mails exist) and under the client address. Below `free` failures
nothing happens; from then on, every attempt during `2^(failures − free)` seconds after the last
failure (at most 15 minutes) is refused before the password is even checked. A success clears
the account's count; the address's count fades after a quiet day. Times come from the runtime's
clock (tests move it, never sleep). If Redis cannot be reached, the account's own counters in
the database (failed_logins, last_failed_at) give the same window, so an outage does not lift it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

import redis

log = logging.getLogger("mbolo.admin")

PREFIX = "mbolo:admin:login"
MAX_DELAY = 15 * 60
ACCOUNT_FREE = 3
# Several people of one office share an address: it gets more free tries than one account.
ADDRESS_FREE = 10
FORGET_AFTER = 24 * 3600


def delay_after(failures: int, free: int) -> int:
    """Seconds of refusal after the last of `failures` failures (0 while under `free`)."""
    if failures < free:
        return 0
    return min(2 ** (failures - free), MAX_DELAY)


@dataclass(frozen=True)
class Verdict:
    """Whether an attempt may go on, and if not for how many more seconds."""

    allowed: bool
    retry_after: int = 0


class LoginThrottle:
    """Counts failed logins per account and per address and refuses attempts inside the window."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    @staticmethod
    def _keys(email: str, address: str) -> tuple[str, str]:
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        return f"{PREFIX}:acct:{digest}", f"{PREFIX}:ip:{address}"

    def check(
        self,
        email: str,
        address: str,
        now: datetime,
        fallback: tuple[int, datetime | None] = (0, None),
    ) -> Verdict:
        """May this attempt go on? `fallback`: the account's database failure count and time."""
        account, ip = self._keys(email, address)
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.hmget(account, "n", "at")
            pipe.hmget(ip, "n", "at")
            (acct_n, acct_at), (ip_n, ip_at) = pipe.execute()
        except redis.RedisError as exc:
            log.warning("admin.throttle_unavailable", extra={"error": type(exc).__name__})
            failures, last = fallback
            acct_n, acct_at = failures, last.timestamp() if last else None
            ip_n = ip_at = None
        stamp = now.timestamp()
        waits = [
            _remaining(acct_n, acct_at, ACCOUNT_FREE, stamp),
            _remaining(ip_n, ip_at, ADDRESS_FREE, stamp),
        ]
        wait = max(waits)
        return Verdict(allowed=wait <= 0, retry_after=max(int(wait + 0.999), 0))

    def failed(self, email: str, address: str, now: datetime) -> None:
        """Count one failure for the account and the address."""
        stamp = now.timestamp()
        try:
            pipe = self.redis.pipeline(transaction=True)
            for key in self._keys(email, address):
                pipe.hincrby(key, "n", 1)
                pipe.hset(key, "at", stamp)
                pipe.expire(key, FORGET_AFTER)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("admin.throttle_unavailable", extra={"error": type(exc).__name__})

    def succeeded(self, email: str, address: str) -> None:
        """A correct password clears the account's count (not the address's)."""
        try:
            self.redis.delete(self._keys(email, address)[0])
        except redis.RedisError as exc:
            log.warning("admin.throttle_unavailable", extra={"error": type(exc).__name__})


def _remaining(count, at, free: int, now: float) -> float:
    if count is None or at is None:
        return 0
    failures = int(count)
    return float(at) + delay_after(failures, free) - now if delay_after(failures, free) else 0

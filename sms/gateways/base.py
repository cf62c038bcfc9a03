"""What every SMS gateway adapter provides: send one text to one or more numbers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import redis
import requests
import urllib3
from requests.adapters import HTTPAdapter

from config import Config
from sms.exceptions import SmsError, SmsUnavailable, SmsUncertain


@dataclass(frozen=True)
class RecipientResult:
    """The gateway's answer for one number of a request."""

    number: str
    accepted: bool
    message_id: str | None = None
    status: str = ""
    status_code: int | None = None
    cost_raw: str | None = None
    parts: int | None = None
    # Refused for a reason about the account or the gateway, not the message (out of credit, the
    # gateway's own error): worth retrying with backoff, like a transient error of the request.
    transient: bool = False
    # Set when this number's own request failed (gateways that post one request per number): the
    # sender treats it as it treats a whole request's error, for this number only.
    error: SmsError | None = None

    @property
    def reason(self) -> str:
        """Why it was refused, as the gateway said it (e.g. `InvalidPhoneNumber (403)`)."""
        code = f" ({self.status_code})" if self.status_code is not None else ""
        return f"{self.status or 'refused'}{code}"


class Gateway(ABC):
    """One class per SMS provider; `name` is the value of SMS_GATEWAY that selects it.

    `send` returns one RecipientResult per number the gateway answered for; a failure of the
    whole request raises SmsRejected (permanent) or SmsUnavailable (transient). It must be safe
    to call from several threads at once (the sender sends personal texts concurrently).
    """

    name: ClassVar[str]
    # How many numbers one request may carry (identical texts are batched up to this).
    max_batch: ClassVar[int] = 1
    # True when its delivery reports name the number, not the message (they are matched by number).
    reports_by_number: ClassVar[bool] = False

    @classmethod
    @abstractmethod
    def from_config(cls, config: Config, redis: redis.Redis | None = None) -> Gateway:
        """Build the adapter from the configuration (and the shared Redis, for what processes share)."""

    @abstractmethod
    def send(self, numbers: list[str], text: str) -> list[RecipientResult]:
        """Send `text` to every number in one request."""

    def close(self) -> None:  # noqa: B027 - optional hook: most gateways hold nothing to release
        """Release pooled connections."""


def never_connected(exc: requests.ConnectionError) -> bool:
    """True when no connection was made (refused, unresolvable), so the request cannot have been read."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError))


def transport_error(exc: requests.RequestException) -> SmsError:
    """What a failed request means for the outbox: unavailable (never read: retry) or uncertain (it may
    have been read: no blind retry, a receipt must not be sent twice)."""
    name = type(exc).__name__
    if isinstance(exc, requests.ConnectTimeout):
        return SmsUnavailable(f"timeout: {name}")
    if isinstance(exc, requests.Timeout):
        return SmsUncertain(f"timeout: {name}")
    if isinstance(exc, requests.ConnectionError):
        if never_connected(exc):
            return SmsUnavailable(f"connection error: {name}")
        return SmsUncertain(f"connection dropped: {name}")
    return SmsUnavailable(f"request error: {name}")


def thread_session(local, pool_size: int, every: list) -> requests.Session:
    """This thread's keep-alive session (a requests.Session is not shared between threads).

    `local` is the gateway's threading.local; each new session is also added to `every`, so the
    gateway can close them all.
    """
    session = getattr(local, "session", None)
    if session is None:
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        local.session = session
        every.append(session)
    return session

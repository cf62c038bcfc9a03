"""What every SMS gateway adapter provides: send one text to one or more numbers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from config import Config


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

    @classmethod
    @abstractmethod
    def from_config(cls, config: Config) -> Gateway:
        """Build the adapter from the configuration."""

    @abstractmethod
    def send(self, numbers: list[str], text: str) -> list[RecipientResult]:
        """Send `text` to every number in one request."""

    def close(self) -> None:  # noqa: B027 - optional hook: most gateways hold nothing to release
        """Release pooled connections."""

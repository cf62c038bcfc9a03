"""Errors of the SMS package; caught at the two boundaries (the webhook, the job) and nowhere else."""

from __future__ import annotations


class SmsError(Exception):
    """Something went wrong sending an SMS."""


class SmsRejected(SmsError):
    """Permanent: the gateway refused this message (bad key, bad number, InvalidSenderId, any 4xx)."""


class SmsUnavailable(SmsError):
    """Transient: timeout, connection error, 429 or 5xx; the message is retried with backoff."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class SmsUncertain(SmsUnavailable):
    """The request may have reached the gateway (read timeout, connection dropped after sending).

    Retrying could send the message twice and the gateway has no idempotency key, so the sender
    retries only reminders and broadcasts; a receipt, reply or notice becomes `unknown`.
    """

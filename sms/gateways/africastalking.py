"""Africa's Talking, through its official SDK (`africastalking.SMS.SMSService`).

Why a subclass of the SDK's SMS service: the SDK builds the request well (form fields, phone
checks, `bulkSMSMode`, the `apiKey` header) but its transport falls short of what the outbox
needs, and all of that lives in one overridable method, `Service._make_request`:
- it calls `requests.post` afresh each time, so every SMS opens a new TCP/TLS connection;
- on any non-2xx answer it raises `AfricasTalkingException(response.text)`, dropping the HTTP
  status, so a 429 or a 503 (retry later) cannot be told from a 401 (never retry);
- it returns JSON only when the content type is exactly `application/json`;
- its base URL is fixed to api.africastalking.com (or the sandbox).
`PooledSMSService` overrides `_init_service` (base URL `AT_API_URL` + `/version1`, paths kept) and
`_make_request` (one pooled `requests.Session` per thread, the HTTP status kept in
`GatewayHTTPError`); everything else, `send` included, is the SDK's own code. The adapter then
maps transport errors onto SmsUnavailable / SmsRejected and reads each recipient's statusCode.
"""

from __future__ import annotations

import logging
import threading
from typing import ClassVar

import redis
import requests
from africastalking.Service import AfricasTalkingException
from africastalking.SMS import SMSService

from config import Config
from sms.exceptions import SmsRejected, SmsUnavailable
from sms.gateways.base import Gateway, RecipientResult, thread_session, transport_error

log = logging.getLogger("mbolo.sms")

# Africa's Talking per-recipient statusCode values that mean "accepted": Processed, Sent, Queued.
ACCEPTED = frozenset({100, 101, 102})
# Per-recipient codes that describe the account or the gateway, not the message: 405
# InsufficientBalance, 500 InternalServerError, 501 GatewayError. Retried; 405 also alerts.
ACCOUNT_OR_GATEWAY = frozenset({405, 500, 501})
# (connect, read) seconds; the read timeout bounds how long a worker waits on a slow gateway.
TIMEOUT = (3.05, 15.0)


class GatewayHTTPError(AfricasTalkingException):
    """A non-2xx answer, with its status kept (the SDK's own exception keeps only the body)."""

    def __init__(self, status: int, body: str, retry_after: float | None = None):
        super().__init__(f"HTTP {status}: {body[:200]}")
        self.status = status
        self.body = body
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


class PooledSMSService(SMSService):
    """The SDK's SMS service over keep-alive connections, with a configurable base URL."""

    def __init__(self, username: str, api_key: str, api_url: str | None = None, pool_size: int = 4):
        self._api_url = api_url.rstrip("/") if api_url else None
        self._pool_size = pool_size
        self._local = threading.local()
        self._all_sessions: list[requests.Session] = []
        super().__init__(username, api_key)

    def _init_service(self):
        super()._init_service()
        if self._api_url:
            self._baseUrl = self._api_url + "/version1"
            self._contentUrl = self._baseUrl

    def http(self) -> requests.Session:
        """This thread's session (a requests.Session is not shared between threads)."""
        return thread_session(self._local, self._pool_size, self._all_sessions)

    def _make_request(self, url, method, headers, data, params, callback=None, timeout=TIMEOUT):
        if callback is not None:
            raise RuntimeError("callbacks are not used: the outbox sends from its own threads")
        response = self.http().request(
            method, url, headers=headers, data=data, params=params, timeout=timeout
        )
        if not 200 <= response.status_code < 300:
            raise GatewayHTTPError(
                response.status_code, response.text, _retry_after(response.headers.get("Retry-After"))
            )
        if response.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise GatewayHTTPError(response.status_code, "answer is not JSON: " + response.text[:100])
        return response.json()

    def close(self) -> None:
        """Close every thread's connections."""
        for session in self._all_sessions:
            session.close()


class AfricasTalkingGateway(Gateway):
    """SMS through Africa's Talking's bulk messaging API."""

    name: ClassVar[str] = "africastalking"
    max_batch: ClassVar[int] = 1000

    def __init__(
        self,
        username: str,
        api_key: str,
        sender_id: str | None = None,
        api_url: str | None = None,
        timeout: tuple[float, float] = TIMEOUT,
        pool_size: int = 4,
    ):
        self.service = PooledSMSService(username, api_key, api_url=api_url, pool_size=pool_size)
        self.sender_id = sender_id or None
        self.timeout = timeout

    @classmethod
    def from_config(cls, config: Config, redis: redis.Redis | None = None) -> AfricasTalkingGateway:
        return cls(
            username=config.AT_USERNAME,
            api_key=config.AT_API_KEY,
            sender_id=config.AT_SENDER_ID,
            api_url=config.AT_API_URL or None,
        )

    def send(self, numbers: list[str], text: str) -> list[RecipientResult]:
        try:
            answer = self.service.send(text, numbers, sender_id=self.sender_id, timeout=self.timeout)
        except ValueError as exc:  # the SDK's own phone check, before any request
            raise SmsRejected(str(exc)) from exc
        except GatewayHTTPError as exc:
            if exc.status == 429 or exc.status >= 500:
                raise SmsUnavailable(f"HTTP {exc.status}", retry_after=exc.retry_after) from exc
            raise SmsRejected(f"HTTP {exc.status}: {exc.body[:120]}") from exc
        except requests.RequestException as exc:
            raise transport_error(exc) from exc
        return self.read_answer(answer)

    @staticmethod
    def read_answer(answer) -> list[RecipientResult]:
        """Per-recipient results; a request with no recipients (e.g. InvalidSenderId) is rejected."""
        try:
            data = answer["SMSMessageData"]
            recipients = data.get("Recipients") or []
        except (TypeError, KeyError, AttributeError) as exc:
            raise SmsRejected(f"unexpected answer: {str(answer)[:120]}") from exc
        if not recipients:
            raise SmsRejected(str(data.get("Message") or "no recipients in answer")[:200])
        results = []
        for entry in recipients:
            try:
                code = int(entry.get("statusCode"))
            except (TypeError, ValueError):
                code = None
            accepted = code in ACCEPTED
            parts = entry.get("messageParts")
            results.append(
                RecipientResult(
                    number=str(entry.get("number", "")),
                    accepted=accepted,
                    message_id=entry.get("messageId") if accepted else None,
                    status=str(entry.get("status", "")),
                    status_code=code,
                    cost_raw=(str(entry["cost"])[:40] if entry.get("cost") is not None else None),
                    parts=int(parts) if isinstance(parts, int | str) and str(parts).isdigit() else None,
                    transient=code in ACCOUNT_OR_GATEWAY,
                )
            )
        return results

    def close(self) -> None:
        self.service.close()

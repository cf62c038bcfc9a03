"""Orange's SMS API ("SMS Africa & Middle East", developer.orange.com), which covers Senegal.

What the adapter relies on (docs/sms.md, "What this relied on, and what was assumed"):
- OAuth2 client credentials: POST /oauth/v3/token, `Authorization: Basic base64(id:secret)`,
  form `grant_type=client_credentials` → `{"access_token", "token_type", "expires_in"}`, where
  `expires_in` comes as a number or a string. The token is shared by every process through Redis
  (`OrangeToken`) until shortly before it expires; a 401 on a send drops it and fetches another,
  once.
- One request per recipient: POST /smsmessaging/v1/outbound/{senderAddress}/requests (the
  sender address URL-encoded), JSON `outboundSMSMessageRequest` → 201 with a `resourceURL`
  whose last segment is the message id.
- Errors: `requestError.serviceException` / `policyException` (`SVC…` / `POL…` messageId and
  text) are about the message or the account: permanent. 429 and 5xx are transient whatever
  the body; a read timeout or a connection dropped after the request was sent is uncertain
  (it may have gone out), exactly as for Africa's Talking.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import ClassVar
from urllib.parse import quote

import redis
import requests

from config import Config
from sms.exceptions import SmsError, SmsRejected, SmsUnavailable
from sms.gateways.base import Gateway, RecipientResult, thread_session, transport_error

log = logging.getLogger("mbolo.sms")

DEFAULT_API_URL = "https://api.orange.com"
TOKEN_PATH = "/oauth/v3/token"
SEND_PATH = "/smsmessaging/v1/outbound/{sender}/requests"
SUBSCRIPTION_PATH = "/smsmessaging/v1/outbound/{sender}/subscriptions"
CONTRACTS_PATH = "/sms/admin/v1/contracts"
# (connect, read) seconds, as for Africa's Talking.
TIMEOUT = (3.05, 15.0)
# The shared token, per client id (a change of credentials never reuses the old one).
TOKEN_KEY = "mbolo:sms:orange:token:{client}"
TOKEN_LOCK_KEY = "mbolo:sms:orange:token-lock:{client}"
# How long one process may hold the right to fetch a token, and how long others wait for it.
LOCK_SECONDS = 10.0
POLL_SECONDS = 0.02
# Dropped this long before Orange's expiry (a request in flight must not carry a dead token).
EARLY_SECONDS = 60

_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def expires_in_seconds(value) -> int:
    """Orange's `expires_in`, a number or a string of digits; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"expires_in: {value!r}")
    seconds = int(float(value))
    if seconds <= 0:
        raise ValueError(f"expires_in: {value!r}")
    return seconds


def request_error(response: requests.Response) -> str | None:
    """`SVC0004: text` (or POL…) from a `requestError` body; None when the body has none."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("requestError") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    for kind in ("serviceException", "policyException"):
        exception = error.get(kind)
        if isinstance(exception, dict):
            text = str(exception.get("text") or "")
            for i, variable in enumerate(exception.get("variables") or [], start=1):
                text = text.replace(f"%{i}", str(variable))
            return f"{exception.get('messageId') or kind}: {text}".strip()
    return None


class OrangeToken:
    """The OAuth2 access token, kept in Redis and shared by every process until shortly before it expires.

    A process reads it from its own memory, else from Redis; when Redis has none, one process
    (SET NX on a short lock) fetches it while the others poll Redis for it: one fetch, however
    many workers start at once.
    """

    def __init__(
        self,
        connection: redis.Redis,
        http: Callable[[], requests.Session],
        api_url: str,
        client_id: str,
        client_secret: str,
        timeout: tuple[float, float] = TIMEOUT,
    ):
        self.redis = connection
        self.http = http
        self.url = api_url + TOKEN_PATH
        digest = hashlib.sha256(client_id.encode()).hexdigest()[:16]
        self.key = TOKEN_KEY.format(client=digest)
        self.lock_key = TOKEN_LOCK_KEY.format(client=digest)
        credentials = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self.basic = f"Basic {credentials}"
        self.timeout = timeout
        self._local: tuple[str, float] | None = None
        self._guard = threading.Lock()
        self._release = connection.register_script(_RELEASE)

    def get(self) -> str:
        """A valid token: this process's copy, the shared one, or a fresh one."""
        local = self._local
        if local is not None and time.monotonic() < local[1]:
            return local[0]
        with self._guard:  # one thread of this process does the Redis work
            local = self._local
            if local is not None and time.monotonic() < local[1]:
                return local[0]
            token, ttl = self._shared_or_fetched()
            self._local = (token, time.monotonic() + ttl)
            return token

    def drop(self, stale: str) -> None:
        """Forget a token the API refused (401), in this process and in Redis if still shared."""
        with self._guard:
            if self._local is not None and self._local[0] == stale:
                self._local = None
        try:
            self._release(keys=[self.key], args=[stale])
        except redis.RedisError as exc:
            raise SmsUnavailable(f"redis: {type(exc).__name__}") from exc

    def _shared_or_fetched(self) -> tuple[str, float]:
        deadline = time.monotonic() + LOCK_SECONDS
        try:
            while True:
                token, ttl_ms = self._read()
                if token is not None:
                    return token, ttl_ms / 1000
                owner = uuid.uuid4().hex
                if self.redis.set(self.lock_key, owner, nx=True, px=int(LOCK_SECONDS * 1000)):
                    try:
                        return self._fetch_and_share()
                    finally:
                        self._release(keys=[self.lock_key], args=[owner])
                if time.monotonic() > deadline:
                    raise SmsUnavailable("no token: another process is still fetching it")
                time.sleep(POLL_SECONDS)
        except redis.RedisError as exc:
            raise SmsUnavailable(f"redis: {type(exc).__name__}") from exc

    def _read(self) -> tuple[str | None, int]:
        with self.redis.pipeline(transaction=False) as pipe:
            value, ttl_ms = pipe.get(self.key).pttl(self.key).execute()
        if value is None or ttl_ms is None or ttl_ms <= 0:
            return None, 0
        return value.decode(), ttl_ms

    def _fetch_and_share(self) -> tuple[str, float]:
        token, lifetime = self.fetch()
        ttl = max(1, lifetime - min(EARLY_SECONDS, lifetime // 2))
        self.redis.set(self.key, token, ex=ttl)
        log.info("orange token fetched", extra={"expires_in": lifetime})
        return token, ttl

    def fetch(self) -> tuple[str, int]:
        """POST the client credentials; (token, lifetime in seconds). Errors as the sender needs them."""
        try:
            response = self.http().post(
                self.url,
                data={"grant_type": "client_credentials"},
                headers={"Authorization": self.basic, "Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            # No SMS rides on this request: whatever happened, retrying later is safe.
            raise SmsUnavailable(f"token: {type(exc).__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise SmsUnavailable(
                f"token: HTTP {response.status_code}",
                retry_after=_retry_after(response.headers.get("Retry-After")),
            )
        if response.status_code != 200:
            # Wrong id or secret: no send can succeed until an operator fixes the configuration.
            raise SmsRejected(f"token: HTTP {response.status_code}: {response.text[:120]}")
        try:
            answer = response.json()
            return str(answer["access_token"]), expires_in_seconds(answer.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            raise SmsUnavailable(f"token: unexpected answer: {response.text[:80]}") from exc


class OrangeGateway(Gateway):
    """SMS through Orange's SMS API: one JSON request per recipient, over pooled keep-alive connections."""

    name: ClassVar[str] = "orange"
    # One recipient per request: the sender posts rows concurrently from its thread pool instead.
    max_batch: ClassVar[int] = 1
    reports_by_number: ClassVar[bool] = True

    def __init__(
        self,
        connection: redis.Redis,
        client_id: str,
        client_secret: str,
        sender_address: str,
        sender_name: str | None = None,
        api_url: str | None = None,
        timeout: tuple[float, float] = TIMEOUT,
        pool_size: int = 8,
    ):
        self.api_url = (api_url or DEFAULT_API_URL).rstrip("/")
        self.sender_address = sender_address
        self.sender_name = sender_name or None
        self.timeout = timeout
        self.url = self.api_url + SEND_PATH.format(sender=quote(sender_address, safe=""))
        self.pool_size = pool_size
        self._local = threading.local()
        self._all_sessions: list[requests.Session] = []
        self.token = OrangeToken(connection, self.http, self.api_url, client_id, client_secret, timeout)

    def http(self) -> requests.Session:
        """This thread's keep-alive session (a requests.Session is not shared between threads)."""
        return thread_session(self._local, self.pool_size, self._all_sessions)

    @classmethod
    def from_config(cls, config: Config, redis: redis.Redis | None = None) -> OrangeGateway:
        if redis is None:
            raise ValueError("the Orange gateway shares its token through Redis: pass the runtime's client")
        return cls(
            redis,
            client_id=config.ORANGE_CLIENT_ID,
            client_secret=config.ORANGE_CLIENT_SECRET,
            sender_address=config.ORANGE_SENDER_ADDRESS,
            sender_name=config.ORANGE_SENDER_NAME,
            api_url=config.ORANGE_API_URL or None,
        )

    def send(self, numbers: list[str], text: str) -> list[RecipientResult]:
        """One request per number; each number's outcome stands on its own."""
        results = []
        for number in numbers:
            try:
                results.append(self.send_one(number, text))
            except SmsError as exc:
                results.append(RecipientResult(number=number, accepted=False, status=str(exc), error=exc))
        return results

    def send_one(self, number: str, text: str) -> RecipientResult:
        """Post one SMS; a refused token is replaced once."""
        body = {
            "outboundSMSMessageRequest": {
                "address": f"tel:{number}",
                "senderAddress": self.sender_address,
                "outboundSMSTextMessage": {"message": text},
            }
        }
        if self.sender_name:
            body["outboundSMSMessageRequest"]["senderName"] = self.sender_name
        token = self.token.get()
        response = self._post(body, token)
        if response.status_code == 401:
            self.token.drop(token)
            response = self._post(body, self.token.get())
        return self.read_answer(number, response)

    def _post(self, body: dict, token: str) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        try:
            return self.http().post(self.url, json=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise transport_error(exc) from exc

    @staticmethod
    def read_answer(number: str, response: requests.Response) -> RecipientResult:
        """201 → accepted with the id from `resourceURL`; errors mapped as the module says."""
        status = response.status_code
        if status == 201:
            try:
                resource = response.json()["outboundSMSMessageRequest"].get("resourceURL") or ""
            except (ValueError, KeyError, TypeError, AttributeError):
                resource = ""
            # Accepted either way (201); without an id the delivery report is matched by address.
            message_id = resource.rstrip("/").rsplit("/", 1)[-1] or None if resource else None
            return RecipientResult(number=number, accepted=True, message_id=message_id, status="Accepted")
        if status == 429 or status >= 500:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            raise SmsUnavailable(f"HTTP {status}", retry_after=retry_after)
        reason = request_error(response)
        if reason is not None:
            return RecipientResult(number=number, accepted=False, status=f"{reason} (HTTP {status})"[:200])
        raise SmsRejected(f"HTTP {status}: {response.text[:120]}")

    def subscribe(self, notify_url: str, callback_data: str | None = None) -> dict:
        """Register the delivery-receipt URL for the sender address; the API's answer."""
        reference = {"notifyURL": notify_url}
        if callback_data:
            reference["callbackData"] = callback_data
        url = self.api_url + SUBSCRIPTION_PATH.format(sender=quote(self.sender_address, safe=""))
        return self._admin("POST", url, {"deliveryReceiptSubscription": {"callbackReference": reference}})

    def contracts(self) -> object:
        """The SMS bundles (contracts) of the application, as the API returns them."""
        return self._admin("GET", self.api_url + CONTRACTS_PATH, None)

    def _admin(self, method: str, url: str, body: dict | None):
        token = self.token.get()
        response = self._request(method, url, body, token)
        if response.status_code == 401:  # a refused token is replaced once, as for a send
            self.token.drop(token)
            response = self._request(method, url, body, self.token.get())
        if not 200 <= response.status_code < 300:
            reason = request_error(response) or response.text[:120]
            raise SmsRejected(f"HTTP {response.status_code}: {reason}")
        try:
            return response.json()
        except ValueError as exc:
            raise SmsRejected(f"answer is not JSON: {response.text[:80]}") from exc

    def _request(self, method: str, url: str, body: dict | None, token: str) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        try:
            return self.http().request(method, url, json=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise SmsUnavailable(type(exc).__name__) from exc

    def close(self) -> None:
        for session in self._all_sessions:
            session.close()

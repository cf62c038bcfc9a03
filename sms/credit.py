"""The SMS gateway's account balance, read every tick so that an alert fires before credit runs out.

Africa's Talking: the SDK's Application data call (`ApplicationService.fetch_application_data`,
GET /version1/user) answers `{"UserData": {"balance": "XOF 12500.0000"}}`. The tick task below
feeds `mbolo_gateway_balance{currency}` and the time of the last good reading; when the call
fails the gauge keeps its last value and the reading's age grows (alerted on as well).
"""

from __future__ import annotations

import logging
from datetime import datetime

import requests
from africastalking.Application import ApplicationService
from africastalking.Service import AfricasTalkingException

from config import Config
from sms import telemetry

log = logging.getLogger("mbolo.sms")

# (connect, read) seconds: a slow answer must not hold the tick.
TIMEOUT = (3.05, 10.0)


class ApplicationData(ApplicationService):
    """The SDK's Application service, on `AT_API_URL` when set (a local server in tests)."""

    def __init__(self, username: str, api_key: str, api_url: str | None = None):
        self._api_url = api_url.rstrip("/") if api_url else None
        super().__init__(username, api_key)

    def _init_service(self):
        super()._init_service()
        if self._api_url:
            self._baseUrl = self._api_url + "/version1"


def fetch_balance(config: Config) -> str | None:
    """The balance text as the gateway writes it; None when the gateway has no such call (console)."""
    if config.SMS_GATEWAY != "africastalking":
        return None
    service = ApplicationData(config.AT_USERNAME, config.AT_API_KEY, config.AT_API_URL or None)
    answer = service.fetch_application_data(timeout=TIMEOUT)
    return str(answer["UserData"]["balance"])


def check_balance(runtime, now: datetime) -> str:
    """Tick task: read the balance and feed the gauge; a failure is logged, never raised."""
    try:
        raw = fetch_balance(runtime.config)
    except (AfricasTalkingException, requests.RequestException, KeyError, TypeError, ValueError) as exc:
        # The SDK puts the answer's body in its exception text: log the type only.
        log.warning("gateway balance unavailable", extra={"error": type(exc).__name__})
        return f"unavailable: {type(exc).__name__}"
    if raw is None:
        return "no balance call for this gateway"
    if not telemetry.record_gateway_balance(raw, now):
        return "not understood"
    log.info("gateway balance", extra={"balance": raw})
    return raw

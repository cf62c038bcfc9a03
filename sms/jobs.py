"""RQ jobs and how they are enqueued. Jobs run without a Flask app: they build a Runtime from config.

The worker (`flask --app wsgi worker`) runs an RQ SimpleWorker on QUEUE: jobs run in the worker
process itself, so the database pool and the gateway's keep-alive connections last across jobs.
"""

from __future__ import annotations

import logging
import os

import redis
from rq import Queue

from config import load_config
from sms.runtime import Runtime
from sms.sender import send_due
from sms.tick import run_tick as tick

log = logging.getLogger("mbolo.sms")

QUEUE = "mbolo"
SEND_JOB = "sms.jobs.send_outbox"
TICK_JOB = "sms.jobs.run_tick"

# A send job stops claiming after this many seconds (a big announcement at SMS_RATE takes longer)
# and enqueues its successor; JOB_TIMEOUT leaves room for the last claim to finish within its lease.
SEND_JOB_BUDGET = 240
JOB_TIMEOUT = 600

_runtime: tuple[int, Runtime] | None = None


def job_runtime() -> Runtime:
    """This process's runtime, built once from the environment (rebuilt after a fork)."""
    global _runtime
    if _runtime is None or _runtime[0] != os.getpid():
        _runtime = (os.getpid(), Runtime.from_config(load_config(), enqueue_send))
    return _runtime[1]


def use_runtime(runtime: Runtime) -> None:
    """Let jobs in this process use an existing runtime (the worker command passes the app's)."""
    global _runtime
    _runtime = (os.getpid(), runtime)


def queue(connection: redis.Redis) -> Queue:
    """The queue every SMS job goes through."""
    return Queue(QUEUE, connection=connection)


def enqueue_send(runtime: Runtime, pipeline=None) -> None:
    """Ask a worker to send what is due; a Redis failure is logged (the tick sweeps what is missed)."""
    try:
        queue(runtime.redis).enqueue(
            SEND_JOB, result_ttl=0, failure_ttl=86400, job_timeout=JOB_TIMEOUT, pipeline=pipeline
        )
    except redis.RedisError as exc:
        log.warning("send job not enqueued", extra={"error": type(exc).__name__})


def enqueue_tick(connection: redis.Redis) -> None:
    """Ask a worker to run the 10-minute tick."""
    queue(connection).enqueue(TICK_JOB, result_ttl=0, failure_ttl=86400, job_timeout=JOB_TIMEOUT)


def send_outbox() -> dict:
    """Job: send what is due, for at most SEND_JOB_BUDGET seconds; then hand over to a fresh job."""
    runtime = job_runtime()
    report = send_due(runtime, max_seconds=SEND_JOB_BUDGET)
    if report["more"]:
        enqueue_send(runtime)
    return report.as_dict()


def run_tick() -> dict:
    """Job: run the periodic tasks once."""
    return tick(job_runtime())

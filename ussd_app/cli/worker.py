"""`worker`: the RQ worker that sends SMS, plus the 10-minute tick (docs/sms.md, "Sending at work")."""

from __future__ import annotations

import os
import socket

import click
import redis
from flask import Flask
from flask.cli import with_appcontext
from rq import SimpleWorker
from rq.defaults import DEFAULT_WORKER_TTL

from sms import jobs
from sms.ticker import Ticker


def worker_connection(url: str) -> redis.Redis:
    """The worker's own client: its socket timeout outlasts RQ's blocking wait on the queue.

    redis-py 8 gives every client a 5 s socket timeout by default, and RQ's attempt to raise it
    does not reach redis-py's connections: an idle worker then "loses" Redis every 5 seconds.
    """
    return redis.Redis.from_url(url, socket_timeout=DEFAULT_WORKER_TTL + 60)


@click.command("worker")
@with_appcontext
@click.option("--burst", is_flag=True, help="Run the queued jobs, then exit (cron, tests).")
@click.option("--no-tick", is_flag=True, help="Do not take part in the 10-minute tick.")
def worker_command(burst: bool, no_tick: bool) -> None:
    """Send SMS as jobs arrive; every 10 minutes one worker runs the periodic tasks."""
    from ussd_app.current import runtime

    rt = runtime()
    jobs.use_runtime(rt)
    connection = worker_connection(rt.config.REDIS_URL)
    ticker = None
    if not no_tick and not burst:
        ticker = Ticker(rt, connection, holder=f"{socket.gethostname()}:{os.getpid()}").start()
    try:
        SimpleWorker([jobs.queue(connection)], connection=connection).work(burst=burst)
    finally:
        if ticker is not None:
            ticker.stop()


def register(app: Flask) -> None:
    """Add the `worker` command."""
    app.cli.add_command(worker_command)

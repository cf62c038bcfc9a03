"""Workers: send jobs enqueued after commit, the tick, and workers killed around the HTTP call."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from models.enums import SmsStatus
from models.messaging import OutboundSms
from sms import jobs, sender, tick
from sms.local_gateway import LocalGateway, LocalGatewayClient
from sms.throttle import BUCKET_KEY
from sms.tick import claim_slot, run_tick
from sms.ticker import Ticker
from tests.sms_support import fresh, queue

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def job_runtime(monkeypatch):
    """Jobs run in this process use the test's runtime, forgotten afterwards."""
    monkeypatch.setattr(jobs, "_runtime", None)


def _queued_jobs(runtime) -> int:
    return jobs.queue(runtime.redis).count


# --- enqueued after commit -------------------------------------------------------------------


def test_a_commit_that_wrote_outbox_rows_enqueues_one_send_job(app, db, clock, runtime):
    """queue_sms callers need nothing more: the job is enqueued after commit, not before, not on rollback."""
    from sms.outbox import queue_sms

    queue_sms(db, to="+221770000001", text="a", kind="receipt", language="fr", now=clock.now())
    assert _queued_jobs(runtime) == 0, "nothing before the commit"
    db.commit()
    assert _queued_jobs(runtime) == 1
    queue_sms(db, to="+221770000001", text="b", kind="receipt", language="fr", now=clock.now())
    db.rollback()
    db.commit()
    assert _queued_jobs(runtime) == 1, "a rolled-back row asks for nothing"


def test_the_worker_runs_the_send_job(app, db, clock, runtime, at_config, sms_gateway, runner, job_runtime):
    """`worker --burst` takes the job and the row goes out through the configured gateway."""
    runtime.config = at_config
    row_id = queue(db, clock).id
    assert _queued_jobs(runtime) == 1
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert fresh(db, row_id).status == SmsStatus.SENT
    assert len(sms_gateway.messages()) == 1
    assert _queued_jobs(runtime) == 0


# --- the tick ----------------------------------------------------------------------------------


def test_every_registered_tick_task_is_a_function():
    """Each registry line is the task function itself."""
    assert tick.TASKS and all(callable(task) for task in tick.TASKS.values())


def _boom(runtime, now):
    raise RuntimeError("boom")


def test_one_failing_tick_task_does_not_stop_the_others(runtime, clock):
    """A task that raises is reported as an error; the next task still runs."""
    results = run_tick(runtime, clock.now(), {"bad": _boom, "sweep": sender.sweep})
    assert results["bad"].startswith("error: RuntimeError")
    assert isinstance(results["sweep"], dict)


def test_each_10_minute_slot_is_claimed_by_one_worker_only(runtime, clock):
    """Two workers polling in the same slot: one wins; the next slot is free again."""
    assert claim_slot(runtime.redis, clock.now(), "worker-a")
    assert not claim_slot(runtime.redis, clock.now() + timedelta(minutes=3), "worker-b")
    assert claim_slot(runtime.redis, clock.now() + timedelta(minutes=10), "worker-b")


def test_the_ticker_enqueues_the_tick_job_once_per_slot(runtime, clock):
    """Two tickers in the same slot enqueue one tick job between them."""
    a = Ticker(runtime, runtime.redis, "a")
    b = Ticker(runtime, runtime.redis, "b")
    assert [a.poll(), b.poll()] == [True, False]
    [job] = jobs.queue(runtime.redis).get_jobs()
    assert job.func_name == jobs.TICK_JOB


def test_the_sweep_asks_for_a_send_when_rows_wait(runtime, db, clock):
    """A row whose enqueue was lost is picked up: the sweep enqueues a send job."""
    queue(db, clock)
    jobs.queue(runtime.redis).empty()  # the enqueue after the commit was lost (Redis blinked)
    assert jobs.queue(runtime.redis).count == 0
    assert run_tick(runtime, clock.now(), {"sweep": sender.sweep})["sweep"]["send_requested"] == 1
    assert jobs.queue(runtime.redis).count == 1


# --- workers killed around the HTTP call --------------------------------------------------------


def _env(at_config, gateway_url: str, rate: float, tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AT_", "SMS_", "WEBHOOK"))}
    env.update(
        DATABASE_URL=at_config.DATABASE_URL,
        REDIS_URL=at_config.REDIS_URL,
        APP_ENV="test",
        SMS_GATEWAY="africastalking",
        AT_USERNAME=at_config.AT_USERNAME,
        AT_API_KEY=at_config.AT_API_KEY,
        AT_SENDER_ID=at_config.AT_SENDER_ID,
        AT_API_URL=gateway_url,
        SMS_RATE=str(rate),
        MBOLO_INSTANCE_DIR=str(tmp_path / "instance"),
        LOG_LEVEL="WARNING",
    )
    return env


def _start_sender(env, clock) -> subprocess.Popen:
    flask = str(Path(sys.executable).parent / "flask")
    return subprocess.Popen(
        [flask, "--app", "wsgi", "sms", "send-pending", "--now", clock.now().isoformat()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for(condition, process: subprocess.Popen, what: str, timeout: float = 60.0) -> None:
    """Poll until `condition()` holds (not a timed assertion: the deadline only guards a hang)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"sender exited before {what}: {process.stderr.read().decode()[-3000:]}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _kill(process: subprocess.Popen) -> None:
    process.kill()  # SIGKILL: no cleanup, as a crashed or OOM-killed worker
    process.wait()


def _statuses(db, ids) -> dict[int, str]:
    db.expire_all()
    found = dict(db.execute(select(OutboundSms.id, OutboundSms.status).where(OutboundSms.id.in_(ids))).all())
    db.commit()
    return found


def test_a_worker_killed_before_the_http_call_leaves_a_receipt_that_goes_out_once(
    db, clock, runtime, at_config, sender, sms_gateway, local_gateway, tmp_path
):
    """Killed waiting on the rate limit (claimed, nothing posted): requeued after its lease, sent once."""
    row_id = queue(db, clock).id
    # An empty bucket: the worker claims the row, then waits for tokens, before any HTTP call.
    bucket = BUCKET_KEY.format(gateway="africastalking")
    seconds, micros = runtime.redis.time()
    runtime.redis.hset(bucket, mapping={"tokens": -1_000_000, "at": seconds + micros / 1e6})
    process = _start_sender(_env(at_config, local_gateway.url, 1.0, tmp_path), clock)
    # Ids only: touching an ORM object after expire_all would reopen (and hold) a SQLite transaction.
    _wait_for(lambda: _statuses(db, [row_id])[row_id] == SmsStatus.SENDING, process, "the claim")
    _kill(process)
    runtime.redis.delete(bucket)
    assert sms_gateway.requests() == []

    sender.send_due()
    assert fresh(db, row_id).status == SmsStatus.SENDING, "not touched while its lease runs"
    clock.advance(minutes=6)
    report = sender.send_due()
    assert report["requeued"] == 1 and report["unknown"] == 0
    sent = fresh(db, row_id)
    assert sent.status == SmsStatus.SENT and sent.attempts == 2
    assert len(sms_gateway.messages()) == 1


def test_a_worker_killed_after_the_http_call_leaves_a_receipt_unknown_and_requeues_a_reminder(
    db, clock, runtime, at_config, sender, sms_gateway, tmp_path
):
    """Killed while the gateway holds the requests: the receipt becomes unknown; the reminder goes again."""
    slow = LocalGateway(port=0, api_key=at_config.AT_API_KEY).start()
    try:
        LocalGatewayClient(slow.url).fail("timeout", times=2, seconds=60)
        receipt_id = queue(db, clock, to="+221770000001", text="Recu R-1: 5 000 F").id
        reminder_id = queue(
            db, clock, to="+221770000002", text="Rappel: 11 000 F le 03/12", kind="reminder"
        ).id
        process = _start_sender(_env(at_config, slow.url, 1000.0, tmp_path), clock)
        _wait_for(lambda: len(slow.state.requests) == 2, process, "both requests to reach the gateway")
        _kill(process)
    finally:
        slow.stop()
    assert _statuses(db, [receipt_id, reminder_id]) == {
        receipt_id: SmsStatus.SENDING,
        reminder_id: SmsStatus.SENDING,
    }

    clock.advance(minutes=6)
    report = sender.send_due()
    assert report["unknown"] == 1 and report["requeued"] == 1
    unknown = fresh(db, receipt_id)
    assert unknown.status == SmsStatus.UNKNOWN and "not resent" in unknown.failure_reason
    assert fresh(db, reminder_id).status == SmsStatus.SENT
    clock.advance(hours=3)
    sender.send_due()
    assert fresh(db, receipt_id).status == SmsStatus.UNKNOWN
    assert [m["to"] for m in sms_gateway.messages()] == ["+221770000002"]


def test_a_send_job_past_its_time_budget_hands_over_to_a_new_job(
    runtime, at_config, db, clock, monkeypatch, job_runtime
):
    """A long backlog never outlives the job timeout: the job stops claiming and enqueues its successor."""
    runtime.config = at_config
    jobs.use_runtime(runtime)
    monkeypatch.setattr(jobs, "SEND_JOB_BUDGET", -1)
    row_id = queue(db, clock).id
    jobs.queue(runtime.redis).empty()  # the job the commit asked for is the one running below
    assert jobs.send_outbox()["more"] == 1
    assert jobs.queue(runtime.redis).count == 1
    assert fresh(db, row_id).status == SmsStatus.QUEUED


def test_the_worker_connection_outlasts_rq_blocking_wait(runtime):
    """An idle worker blocks on the queue for minutes: its socket timeout must outlast that wait."""
    from rq import SimpleWorker

    from sms.jobs import queue
    from ussd_app.cli.worker import worker_connection

    connection = worker_connection(runtime.config.REDIS_URL)
    worker = SimpleWorker([queue(connection)], connection=connection)
    kwargs = connection.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] > worker.dequeue_timeout
    assert kwargs.get("orig_socket_timeout", kwargs["socket_timeout"]) > worker.dequeue_timeout
    connection.close()

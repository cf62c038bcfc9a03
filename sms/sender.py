"""The outbox sender: claim due rows under a lease, post them, commit each result.

Kept whole (~500 lines) on purpose: claim, post and record are one lease protocol; its
invariants (claimed rows committed before the HTTP call, each result committed) read in one
place. The rules are in docs/design.md, "Sending".

One row's life:
    queued ──claim (commit)──▶ sending ──HTTP──▶ sent (commit) ──report──▶ delivered | failed
    transient error (timeout, connection, 429, 5xx) → queued again after 1, 5, 15, 60 min, then failed
    permanent error (per-recipient refusal, InvalidSenderId, other 4xx) → failed at once, with the reason
    pre-send checks (sms.presend) → cancelled (paid | opted_out | expired | budget), or held until the
    quiet hours end
    lease expired (the worker died): requeued if its in-flight marker is missing (the HTTP call
    never started); else `unknown` for a receipt, reply or notice — never resent, the gateway has
    no idempotency key — and requeued for a reminder or broadcast.

Claims take up to CLAIM_SIZE due rows at once: `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
workers share the outbox without waiting on each other; SQLite serialises writers (BEGIN IMMEDIATE).
Rows with the same text go out in batched requests (up to the gateway's max_batch numbers each);
the rest are posted concurrently from a small thread pool, and each result is committed on its own.

A demo cooperative's SMS never reach a real gateway, whatever SMS_GATEWAY says: they go through
the console gateway (printed, phone masked) and are marked sent with a `console-` id.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from sqlalchemy import bindparam, exists, or_, select, update
from sqlalchemy.orm import Session

from models.base import UTCDateTime
from models.cooperative import Cooperative
from models.database import is_postgres
from models.enums import SmsStatus
from models.messaging import OutboundSms
from models.phones import is_fictional, mask
from sms import gateways, presend, telemetry
from sms.delivery import adopt_reports, apply_early_reports, apply_kept_orange_reports, expire_early_reports
from sms.exceptions import SmsError, SmsRejected, SmsUnavailable, SmsUncertain
from sms.gateways.base import Gateway, RecipientResult
from sms.gateways.console import ConsoleGateway
from sms.throttle import Throttle, in_flight

log = logging.getLogger("mbolo.sms")

LEASE = timedelta(minutes=5)
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(minutes=60))
MAX_ATTEMPTS = len(BACKOFF) + 1
CLAIM_SIZE = 1000
THREADS = 8
_DEFAULT = object()

_t = OutboundSms.__table__
_now = bindparam("now", type_=UTCDateTime())
MARK_SENT = (
    _t.update()
    # A late answer still counts when the lease ran out meanwhile (unknown, or requeued and not yet retaken).
    .where(
        _t.c.id == bindparam("row_id"),
        # Spelled out rather than IN (…): an expanding IN cannot run as executemany.
        or_(*(_t.c.status == status for status in (SmsStatus.SENDING, SmsStatus.UNKNOWN, SmsStatus.QUEUED))),
    )
    .values(
        status=SmsStatus.SENT,
        gateway_message_id=bindparam("message_id"),
        cost_raw=bindparam("cost_raw"),
        cost=bindparam("cost"),
        sent_at=_now,
        updated_at=_now,
        lease_until=None,
        failure_reason=None,
    )
)
_CLAIM_COLUMNS = (
    OutboundSms.id,
    OutboundSms.to,
    OutboundSms.text,
    OutboundSms.kind,
    OutboundSms.segments,
    OutboundSms.cost,
    OutboundSms.attempts,
    OutboundSms.member_id,
    OutboundSms.cooperative_id,
    OutboundSms.send_after,
)
_ours = (
    _t.c.id == bindparam("row_id"),
    _t.c.status == SmsStatus.SENDING,
    _t.c.attempts == bindparam("attempt"),
)
MARK_FAILED = (
    _t.update()
    .where(*_ours)
    .values(status=SmsStatus.FAILED, failure_reason=bindparam("reason"), updated_at=_now, lease_until=None)
)
MARK_UNKNOWN = (
    _t.update()
    .where(*_ours)
    .values(status=SmsStatus.UNKNOWN, failure_reason=bindparam("reason"), updated_at=_now, lease_until=None)
)
MARK_RETRY = (
    _t.update()
    .where(*_ours)
    .values(
        status=SmsStatus.QUEUED,
        next_attempt_at=bindparam("retry_at", type_=UTCDateTime()),
        failure_reason=bindparam("reason"),
        updated_at=_now,
        lease_until=None,
    )
)


@dataclass(frozen=True)
class Claimed:
    """A row taken for sending, detached from any session."""

    id: int
    to: str
    text: str
    kind: str
    segments: int
    cost: int
    attempt: int
    demo: bool = False  # a demo cooperative's: never handed to a real gateway


@dataclass
class SendReport:
    """What one `send_due` did."""

    counts: Counter

    def as_dict(self) -> dict:
        """Counts by outcome (claimed, sent, failed, retried, cancelled, held, requests, …)."""
        return dict(self.counts)

    def __getitem__(self, key: str) -> int:
        return self.counts[key]


def _cost_of(raw: str | None, estimate: int) -> int:
    """The gateway's cost in whole XOF when it gave one in XOF, else our estimate."""
    match = re.fullmatch(r"\s*XOF\s+([0-9]+(?:\.[0-9]+)?)\s*", raw or "")
    return round(float(match[1])) if match else estimate


def _log_row(row: Claimed, status: str, **fields) -> None:
    log.info(
        "sms",
        extra={
            "sms_id": row.id,
            "to": mask(row.to),
            "kind": row.kind,
            "status": status,
            "segments": row.segments,
            "attempt": row.attempt,
            **{k: v for k, v in fields.items() if v is not None},
        },
    )
    telemetry.count_send_outcome(row.kind, status, fields.get("reason"))


class Sender:
    """Sends what is due in the outbox through one gateway."""

    def __init__(
        self,
        runtime,
        gateway: Gateway | None = None,
        *,
        rate=_DEFAULT,
        threads: int = THREADS,
        claim_size: int = CLAIM_SIZE,
    ):
        self.runtime = runtime
        self.gateway = gateway or gateways.build(runtime.config, runtime.redis)
        # Demo cooperatives' SMS: printed, never sent (their phones are nobody's).
        self.demo_gateway: Gateway = ConsoleGateway()
        rate = runtime.config.SMS_RATE if rate is _DEFAULT else rate
        self.throttle = Throttle(runtime.redis, self.gateway.name, rate)
        self.threads = threads
        # A claim must be sendable well within its lease at the rate limit.
        self.claim_size = (
            min(claim_size, max(1, int(rate * LEASE.total_seconds() / 4))) if rate else claim_size
        )
        self._pool: ThreadPoolExecutor | None = None

    def close(self) -> None:
        """Stop the thread pool and close the gateway's connections."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self.gateway.close()

    # --- the loop -------------------------------------------------------------------------

    def send_due(self, max_seconds: float | None = None) -> SendReport:
        """Expire stale leases, then claim and send until nothing is due or `max_seconds` have passed."""
        # Stopping early is counted as `more`: the job then hands over to a fresh one.
        counts: Counter = Counter()
        started = time.monotonic()
        with self.runtime.sessions() as session:
            counts.update(expire_leases(session, self.runtime.redis, self.runtime.clock.now()))
            session.commit()
        while True:
            if max_seconds is not None and time.monotonic() - started > max_seconds:
                counts["more"] = 1
                break
            claimed = self.claim(self.runtime.clock.now(), counts)
            if not claimed:
                break
            self.dispatch(claimed, counts)
        return SendReport(counts)

    def claim(self, now: datetime, counts: Counter) -> list[Claimed]:
        """Take due rows: cancel or hold what the pre-send checks say, lease the rest (one commit)."""
        config = self.runtime.config
        with self.runtime.sessions() as session:
            # Plain rows, not ORM objects: a claim may hold a thousand of them.
            rows = session.execute(
                select(*_CLAIM_COLUMNS)
                .where(OutboundSms.status == SmsStatus.QUEUED, OutboundSms.next_attempt_at <= now)
                .order_by(OutboundSms.next_attempt_at, OutboundSms.id)
                .limit(self.claim_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                session.rollback()
                return []
            if config.SMS_DAILY_BUDGET and is_postgres(session):
                _lock_cooperatives(session, {r.cooperative_id for r in rows if r.cooperative_id})
            verdicts = presend.review(session, rows, now=now, config=config)
            demo = _demo_cooperatives(session, {r.cooperative_id for r in rows if r.cooperative_id})
            claimed, cancelled, held = [], defaultdict(list), defaultdict(list)
            for row in rows:
                verdict = verdicts[row.id]
                if verdict.action == presend.CANCEL:
                    cancelled[verdict.reason].append(row)
                elif verdict.action == presend.HOLD:
                    held[verdict.until].append(row.id)
                else:
                    claimed.append(
                        Claimed(
                            row.id,
                            row.to,
                            row.text,
                            row.kind,
                            row.segments,
                            row.cost,
                            (row.attempts or 0) + 1,
                            row.cooperative_id in demo or is_fictional(row.to),
                        )
                    )
            plain = {"synchronize_session": False}
            if claimed:
                session.execute(
                    update(OutboundSms)
                    .where(OutboundSms.id.in_([c.id for c in claimed]))
                    .values(
                        status=SmsStatus.SENDING,
                        lease_until=now + LEASE,
                        attempts=OutboundSms.attempts + 1,
                        claimed_at=now,
                        updated_at=now,
                    )
                    .execution_options(**plain)
                )
            for reason, group in cancelled.items():
                session.execute(
                    update(OutboundSms)
                    .where(OutboundSms.id.in_([r.id for r in group]))
                    .values(
                        status=SmsStatus.CANCELLED,
                        failure_reason=str(reason),
                        updated_at=now,
                        lease_until=None,
                    )
                    .execution_options(**plain)
                )
            for until, ids in held.items():
                session.execute(
                    update(OutboundSms)
                    .where(OutboundSms.id.in_(ids))
                    .values(next_attempt_at=until, updated_at=now)
                    .execution_options(**plain)
                )
            session.commit()
        for reason, group in cancelled.items():
            for row in group:
                _log_row(
                    Claimed(row.id, row.to, row.text, row.kind, row.segments, row.cost, row.attempts or 0),
                    SmsStatus.CANCELLED,
                    reason=str(reason),
                )
        counts.update(
            claimed=len(claimed),
            cancelled=sum(len(g) for g in cancelled.values()),
            held=sum(len(ids) for ids in held.values()),
        )
        return claimed

    def dispatch(self, claimed: list[Claimed], counts: Counter) -> None:
        """Post the claimed rows: identical texts batched, the rest concurrently."""
        units = self.units(claimed)
        if len(units) == 1 or self.threads <= 1:
            outcomes = [self.send_unit(unit) for unit in units]
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="sms-send")
            outcomes = list(self._pool.map(self.send_unit, units))
        for outcome in outcomes:
            counts.update(outcome)

    def units(self, claimed: list[Claimed]) -> list[list[Claimed]]:
        """Requests to make: rows sharing a text in batches of distinct numbers, others alone."""
        by_text: dict[tuple[str, bool], list[Claimed]] = defaultdict(list)
        for row in claimed:
            by_text[row.text, row.demo].append(row)
        units: list[list[Claimed]] = []
        for rows in by_text.values():
            if len(rows) == 1 or self.gateway.max_batch <= 1:
                units.extend([row] for row in rows)
                continue
            batch: list[Claimed] = []
            numbers: set[str] = set()
            for row in rows:
                if row.to in numbers or len(batch) >= self.gateway.max_batch:
                    units.append(batch)
                    batch, numbers = [], set()
                batch.append(row)
                numbers.add(row.to)
            units.append(batch)
        return units

    # --- one request ----------------------------------------------------------------------

    def send_unit(self, rows: list[Claimed]) -> Counter:
        """One HTTP request for these rows (same text), then one commit of their results."""
        try:
            self.throttle.acquire(sum(r.segments for r in rows), [(r.id, r.attempt) for r in rows])
        except redis.RedisError as exc:
            # Without the marker the call must not start; nothing left, so a retry is safe.
            return self.record(rows, error=SmsUnavailable(f"redis: {type(exc).__name__}"))
        try:
            gateway = self.demo_gateway if rows[0].demo else self.gateway
            results = gateway.send([r.to for r in rows], rows[0].text)
        except SmsError as exc:
            return self.record(rows, error=exc)
        return self.record(rows, results=results)

    def record(
        self, rows: list[Claimed], results: list[RecipientResult] | None = None, error: SmsError | None = None
    ) -> Counter:
        """Commit each row's outcome: sent, failed, or queued again for a retry."""
        now = self.runtime.clock.now()
        by_number = {r.number: r for r in results or []}
        sent, failed, retry, uncertain, outcome = [], [], [], [], Counter(requests=1)
        account_trouble: set[str] = set()
        for row in rows:
            result = by_number.get(row.to) if error is None else None
            # A gateway posting one request per number reports each number's own failure.
            row_error = error if result is None or result.error is None else result.error
            if row_error is None:
                if result is not None and result.accepted:
                    cost = _cost_of(result.cost_raw, row.cost)
                    sent.append(
                        {
                            "row_id": row.id,
                            "message_id": result.message_id,
                            "cost_raw": result.cost_raw,
                            "cost": cost,
                        }
                    )
                    _log_row(row, SmsStatus.SENT, message_id=result.message_id, cost=cost)
                    continue
                reason = result.reason if result is not None else "not in the gateway's answer"
                if result is not None and result.transient and row.attempt < MAX_ATTEMPTS:
                    # The account or the gateway, not the message: retried like a 5xx of the request.
                    # Its reason (e.g. InsufficientBalance) feeds the failures counter that alerts.
                    delay = BACKOFF[row.attempt - 1]
                    retry.append(
                        {
                            "row_id": row.id,
                            "attempt": row.attempt,
                            "reason": reason[:200],
                            "retry_at": now + delay,
                        }
                    )
                    _log_row(row, SmsStatus.QUEUED, reason=reason, retry_in_s=int(delay.total_seconds()))
                    account_trouble.add(reason)
                    continue
                failed.append({"row_id": row.id, "attempt": row.attempt, "reason": reason[:200]})
                _log_row(row, SmsStatus.FAILED, reason=reason)
            elif isinstance(row_error, SmsUncertain) and not presend.resent_when_lost(row.kind):
                # It may have gone out: never resent (no idempotency key), shown to operators.
                reason = f"{row_error}: may have been sent; not resent"[:200]
                uncertain.append({"row_id": row.id, "attempt": row.attempt, "reason": reason})
                _log_row(row, SmsStatus.UNKNOWN, reason=reason)
            elif isinstance(row_error, SmsUnavailable) and row.attempt < MAX_ATTEMPTS:
                delay = BACKOFF[row.attempt - 1]
                if row_error.retry_after:
                    delay = max(delay, timedelta(seconds=row_error.retry_after))
                retry.append(
                    {
                        "row_id": row.id,
                        "attempt": row.attempt,
                        "reason": str(row_error)[:200],
                        "retry_at": now + delay,
                    }
                )
                _log_row(row, SmsStatus.QUEUED, reason=str(row_error), retry_in_s=int(delay.total_seconds()))
            else:
                kind = (
                    "permanent"
                    if isinstance(row_error, SmsRejected)
                    else f"gave up after {row.attempt} attempts"
                )
                reason = f"{row_error} ({kind})"[:200]
                failed.append({"row_id": row.id, "attempt": row.attempt, "reason": reason})
                _log_row(row, SmsStatus.FAILED, reason=reason)
        with self.runtime.sessions() as session:
            for statement, params in (
                (MARK_SENT, sent),
                (MARK_FAILED, failed),
                (MARK_RETRY, retry),
                (MARK_UNKNOWN, uncertain),
            ):
                if params:
                    session.execute(statement, [{**p, "now": now} for p in params])
            if sent:
                apply_early_reports(session, [p["message_id"] for p in sent], now)
                if self.gateway.reports_by_number:
                    apply_kept_orange_reports(session, now, [r.to for r in rows])
            session.commit()
        for reason in sorted(account_trouble):
            log.error("sms.gateway_account", extra={"reason": reason, "action": "retried with backoff"})
        outcome.update(sent=len(sent), failed=len(failed), retried=len(retry), unknown=len(uncertain))
        return outcome


def _demo_cooperatives(session: Session, ids: set[int]) -> set[int]:
    """Which of these cooperatives are demos (one small query a claim)."""
    if not ids:
        return set()
    return set(session.scalars(select(Cooperative.id).where(Cooperative.id.in_(ids), Cooperative.demo)))


def _lock_cooperatives(session: Session, ids: set[int]) -> None:
    """Serialise budget checks per cooperative between workers (PostgreSQL row locks, in id order)."""
    if ids:
        session.execute(
            select(Cooperative.id).where(Cooperative.id.in_(ids)).order_by(Cooperative.id).with_for_update()
        )


def expire_leases(session: Session, connection: redis.Redis, now: datetime) -> Counter:
    """Rows still `sending` after their lease: requeue, or `unknown` when they may have gone out."""
    rows = session.execute(
        select(OutboundSms.id, OutboundSms.kind, OutboundSms.attempts, OutboundSms.to, OutboundSms.segments)
        .where(OutboundSms.status == SmsStatus.SENDING, OutboundSms.lease_until < now)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return Counter()
    try:
        marked = in_flight(connection, [(r.id, r.attempts) for r in rows])
    except redis.RedisError:
        marked = [True] * len(rows)  # cannot tell: assume it went out, so a receipt is never sent twice
    requeue, unknown = [], []
    for row, was_marked in zip(rows, marked, strict=True):
        (requeue if not was_marked or presend.resent_when_lost(row.kind) else unknown).append(row)
    if requeue:
        session.execute(
            update(OutboundSms)
            .where(OutboundSms.id.in_([r.id for r in requeue]), OutboundSms.status == SmsStatus.SENDING)
            .values(status=SmsStatus.QUEUED, next_attempt_at=now, lease_until=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    if unknown:
        session.execute(
            update(OutboundSms)
            .where(OutboundSms.id.in_([r.id for r in unknown]), OutboundSms.status == SmsStatus.SENDING)
            .values(
                status=SmsStatus.UNKNOWN,
                failure_reason="worker stopped during the send; not resent (no idempotency key)",
                lease_until=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    for row in requeue:
        _log_row(
            Claimed(row.id, row.to, "", row.kind, row.segments, 0, row.attempts),
            SmsStatus.QUEUED,
            reason="lease expired",
        )
    for row in unknown:
        _log_row(
            Claimed(row.id, row.to, "", row.kind, row.segments, 0, row.attempts),
            SmsStatus.UNKNOWN,
            reason="lease expired",
        )
    # A report that came while the row was `sending` was kept early: it may tell what happened.
    adopted = adopt_reports(session, [r.to for r in unknown], now) if unknown else 0
    return Counter(requeued=len(requeue), unknown=len(unknown), adopted=adopted)


def runtime_sender(runtime) -> Sender:
    """The sender kept on this runtime, so connections last across jobs."""
    sender = runtime.extras.get("sms.sender")
    if sender is None:
        sender = runtime.extras["sms.sender"] = Sender(runtime)
    return sender


def send_due(runtime, max_seconds: float | None = None) -> SendReport:
    """Send everything due now through the configured gateway (jobs, `sms send-pending`)."""
    return runtime_sender(runtime).send_due(max_seconds)


def sweep(runtime, now: datetime) -> dict:
    """Tick task: expire leases, keep early delivery reports tidy, and ask for a send if rows wait."""
    with runtime.sessions() as session:
        counts = expire_leases(session, runtime.redis, now)
        counts["adopted"] += adopt_reports(session, None, now)
        counts["early_reports_applied"] = apply_early_reports(session, None, now)
        counts["early_reports_applied"] += apply_kept_orange_reports(session, now)
        counts["early_reports_expired"] = expire_early_reports(session, now)
        session.commit()
        due = session.scalar(
            select(exists().where(OutboundSms.status == SmsStatus.QUEUED, OutboundSms.next_attempt_at <= now))
        )
    if due:
        runtime.request_send()
    counts["send_requested"] = int(bool(due))
    return dict(counts)

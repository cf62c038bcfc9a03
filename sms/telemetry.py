"""Prometheus metrics: every metric object of the service, defined once, importable without Flask.

The web workers (gunicorn) and the RQ worker count into the same prometheus-client
multiprocess directory (`PROMETHEUS_MULTIPROC_DIR`), which `/metrics` merges. Counters are
incremented where things happen with the one-line helpers below; the state of the outbox and
of the inbound queue is read from the database at scrape time by `DatabaseCollector`, so it is
right whichever process changed it and survives every restart.

Label values are closed sets (screens of the menu graph, SMS kinds, the gateway's failure
reasons folded to a known list) so that no label can grow without bound.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

# The multiprocess directory must exist before the first metric value is created.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import case, func, select
from sqlalchemy.exc import SQLAlchemyError

from models.enums import InboundStatus, SmsKind, SmsStatus
from models.messaging import InboundSms, OutboundSms

log = logging.getLogger("mbolo.metrics")

# --- failure reasons -----------------------------------------------------------------------------

# Africa's Talking per-recipient statuses and delivery-report failureReasons, then transport
# errors. InsufficientCredit first: it is the one an operator can fix (top up the account).
SEND_FAILURE_REASONS = (
    "InsufficientCredit",
    "InsufficientBalance",
    "InvalidSenderId",
    "InvalidPhoneNumber",
    "UnsupportedNumberType",
    "UserInBlacklist",
    "DoNotDisturbRejection",
    "RiskHold",
    "CouldNotRoute",
    "RejectedByGateway",
    "DeliveryFailure",
    "AbsentSubscriber",
    "UserIsInactive",
    "UserAccountSuspended",
    "UserDoesNotExist",
    "NotNetworkSubscriber",
    "UserNotSubscribedToProductService",
    "timeout",
    "connection",
    "http_429",
    "http_4xx",
    "http_5xx",
    "lease_expired",
    "other",
)
_REASON_KEYS = {re.sub(r"[\s_\-]", "", r).lower(): r for r in SEND_FAILURE_REASONS}
_REASON_KEYS["notnetworksubcriber"] = "NotNetworkSubscriber"  # the gateway's own spelling
_HTTP = re.compile(r"^(?:http[ _]?)?([45])(\d\d)$")


def failure_reason_label(reason: str | None) -> str:
    """Fold a gateway failure reason or transport error to one of SEND_FAILURE_REASONS.

    The sender writes reasons as the gateway's status with its code (`InvalidPhoneNumber (403)`),
    or as the transport error (`HTTP 503`, `timeout: ReadTimeout`), possibly followed by
    `(permanent)` or `(gave up after 5 attempts)`: the first words name the reason.
    """
    if not reason:
        return "other"
    head = re.sub(r"(\s*\([^)]*\))+\s*$", "", str(reason)).split(":", 1)[0]
    key = re.sub(r"[\s_\-]", "", head).lower()
    if key in _REASON_KEYS:
        return _REASON_KEYS[key]
    if "timeout" in key or "timedout" in key:
        return "timeout"
    if key.startswith("connection") or "connectionerror" in key:
        return "connection"
    match = _HTTP.match(key)
    if match:
        if match[1] == "4":
            return "http_429" if match[2] == "29" else "http_4xx"
        return "http_5xx"
    return "other"


# --- the metric objects ----------------------------------------------------------------------------

USSD_HOPS = Counter(
    "mbolo_ussd_hops",
    "USSD hops answered, by screen shown and outcome (con, end, error, replay, refused).",
    ["screen", "outcome"],
)
USSD_HOP_SECONDS = Histogram(
    "mbolo_ussd_hop_seconds",
    "Time to answer one USSD hop, from request to response.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0),
)
SMS_SENT = Counter("mbolo_sms_sent", "SMS accepted by the gateway, by kind.", ["kind"])
SMS_SEND_FAILURES = Counter(
    "mbolo_sms_send_failures",
    "SMS send attempts that failed, by reason (gateway statuses, then transport errors).",
    ["reason"],
)
SMS_DLR_LAG_SECONDS = Histogram(
    "mbolo_sms_dlr_lag_seconds",
    "From the gateway accepting an SMS to its final delivery report.",
    buckets=(5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600),
)
SMS_DELIVERY_REPORTS = Counter(
    "mbolo_sms_delivery_reports",
    "Delivery reports that moved an outbox row, by the status it moved to (sent, delivered, failed).",
    ["status"],
)
REMINDER_PLANNING_LAST_SUCCESS = Gauge(
    "mbolo_reminder_planning_last_success_timestamp_seconds",
    "Unix time of the last reminder planning that completed.",
    multiprocess_mode="max",
)
GATEWAY_BALANCE = Gauge(
    "mbolo_gateway_balance",
    "The SMS gateway account balance: XOF for Africa's Talking, SMS units left for Orange (currency SMS).",
    ["currency"],
    multiprocess_mode="mostrecent",
)
GATEWAY_BALANCE_CHECKED = Gauge(
    "mbolo_gateway_balance_checked_timestamp_seconds",
    "Unix time of the last successful balance check.",
    multiprocess_mode="max",
)
HTTP_REQUESTS = Counter(
    "mbolo_http_requests",
    "HTTP requests answered, by Flask endpoint and status code.",
    ["endpoint", "status"],
)

# Series exist from zero, so rates and alerts work before the first event.
for _reason in SEND_FAILURE_REASONS:
    SMS_SEND_FAILURES.labels(_reason)
for _kind in SmsKind:
    SMS_SENT.labels(str(_kind))
for _status in ("sent", "delivered", "failed"):
    SMS_DELIVERY_REPORTS.labels(_status)


# --- one-line helpers for the places where things happen -----------------------------------------


def count_hop(screen: str, outcome: str, seconds: float) -> None:
    """One USSD hop answered: `screen` is the state shown, `outcome` con/end/error/replay/refused."""
    USSD_HOPS.labels(screen or "unknown", outcome).inc()
    USSD_HOP_SECONDS.observe(seconds)


def count_sent(kind: str) -> None:
    """One SMS accepted by the gateway."""
    SMS_SENT.labels(str(kind)).inc()


def count_send_outcome(kind: str, status: str, reason: str | None = None) -> None:
    """The sender's verdict on one row: `sent` counts a send; failed, retried or lost counts a failure."""
    if status == "sent":
        count_sent(kind)
    elif status in ("failed", "queued", "unknown") and reason:
        count_send_failure(reason)


def count_send_failure(reason: str | None) -> None:
    """One failed send attempt (transient or permanent), by folded reason."""
    SMS_SEND_FAILURES.labels(failure_reason_label(reason)).inc()


def observe_dlr_lag(sent_at: datetime | None, reported_at: datetime) -> None:
    """A final delivery report arrived: how long after the gateway took the SMS."""
    if sent_at is not None and reported_at >= sent_at:
        SMS_DLR_LAG_SECONDS.observe((reported_at - sent_at).total_seconds())


def count_delivery_report(
    status: str, failure_reason: str | None, sent_at: datetime | None, at: datetime
) -> None:
    """A delivery report moved a row: final ones feed the DLR lag, failures count by reason."""
    SMS_DELIVERY_REPORTS.labels(str(status)).inc()
    if str(status) == "sent":
        return
    observe_dlr_lag(sent_at, at)
    if str(status) == "failed":
        count_send_failure(failure_reason)


def mark_reminder_planning(at: datetime) -> None:
    """The reminder planning completed at `at` (alerts fire when a day passes without one)."""
    REMINDER_PLANNING_LAST_SUCCESS.set(at.timestamp())


_BALANCE = re.compile(r"^\s*([A-Za-z]{3})\s*([-+]?[\d,]*\.?\d+)\s*$")


def parse_balance(raw: str) -> tuple[str, float] | None:
    """`"XOF 12500.0000"` → ("XOF", 12500.0); None when the text is not a balance."""
    match = _BALANCE.match(raw or "")
    if not match:
        return None
    return match[1].upper(), float(match[2].replace(",", ""))


def record_gateway_balance(raw: str, at: datetime) -> bool:
    """Feed the balance gauge from the gateway's Application data (`UserData.balance`)."""
    parsed = parse_balance(raw)
    if parsed is None:
        log.warning("gateway balance not understood", extra={"raw": raw[:40] if raw else raw})
        return False
    currency, amount = parsed
    GATEWAY_BALANCE.labels(currency).set(amount)
    GATEWAY_BALANCE_CHECKED.set(at.timestamp())
    return True


# --- state read from the database at scrape time --------------------------------------------------

# Outbox states an operator watches: waiting to go, in the gateway's hands, lost in a crash.
WATCHED_OUTBOX = (SmsStatus.QUEUED, SmsStatus.SENDING, SmsStatus.UNKNOWN)
UNHANDLED_INBOUND = (InboundStatus.RECEIVED, InboundStatus.FAILED)


class DatabaseCollector:
    """Outbox depth and oldest age per kind, inbound rows not handled; computed per scrape.

    A query per scrape (not a gauge set by some process) keeps the figures true after a crash
    and identical whichever gunicorn worker answers. Each query is one GROUP BY over a status
    covered by a partial index. If the database is down, `mbolo_database_up` says so and the
    scrape still answers.
    """

    def __init__(self, sessions, clock):
        self.sessions = sessions
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self.clock.now()
        up = GaugeMetricFamily("mbolo_database_up", "1 when the scrape could read the database.")
        try:
            outbox, inbound = self._read(now)
        except SQLAlchemyError as exc:
            log.warning("metrics: database unreadable", extra={"error": type(exc).__name__})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        depth = GaugeMetricFamily(
            "mbolo_outbox_depth",
            "Outbox rows by kind and status (queued, sending, unknown).",
            labels=["kind", "status"],
        )
        oldest = GaugeMetricFamily(
            "mbolo_outbox_oldest_age_seconds",
            "Age of the oldest queued SMS whose time has come (send_after passed), by kind; 0 if none.",
            labels=["kind"],
        )
        for kind in SmsKind:
            for status in WATCHED_OUTBOX:
                depth.add_metric([str(kind), str(status)], outbox.get((str(kind), str(status)), (0, None))[0])
            first = outbox.get((str(kind), str(SmsStatus.QUEUED)), (0, None))[1]
            oldest.add_metric([str(kind)], max(0.0, (now - first).total_seconds()) if first else 0.0)
        yield depth
        yield oldest

        count = GaugeMetricFamily(
            "mbolo_inbound_unhandled",
            "Inbound SMS not handled yet, by status (received, failed).",
            labels=["status"],
        )
        age = GaugeMetricFamily(
            "mbolo_inbound_unhandled_oldest_age_seconds",
            "Age of the oldest inbound SMS not handled, by status; 0 if none.",
            labels=["status"],
        )
        for status in UNHANDLED_INBOUND:
            n, first = inbound.get(str(status), (0, None))
            count.add_metric([str(status)], n)
            age.add_metric([str(status)], max(0.0, (now - first).total_seconds()) if first else 0.0)
        yield count
        yield age

    def _read(self, now: datetime):
        outbox: dict[tuple[str, str], tuple[int, datetime | None]] = {}
        inbound: dict[str, tuple[int, datetime | None]] = {}
        with self.sessions() as session:
            for status in WATCHED_OUTBOX:
                rows = session.execute(
                    select(
                        OutboundSms.kind,
                        func.count(),
                        func.min(case((OutboundSms.send_after <= now, OutboundSms.send_after))),
                    )
                    .where(OutboundSms.status == str(status))
                    .group_by(OutboundSms.kind)
                ).all()
                for kind, n, first in rows:
                    outbox[(kind, str(status))] = (int(n), _aware(first))
            for status, n, first in session.execute(
                select(InboundSms.status, func.count(), func.min(InboundSms.received_at))
                .where(InboundSms.status.in_([str(s) for s in UNHANDLED_INBOUND]))
                .group_by(InboundSms.status)
            ).all():
                inbound[status] = (int(n), _aware(first))
        return outbox, inbound


def _aware(value) -> datetime | None:
    """MIN() over the UTC column may come back naive or as text on SQLite; read it as UTC."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

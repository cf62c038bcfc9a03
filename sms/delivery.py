"""Delivery reports (docs/design.md, "Sending"): gateway status → outbox status, only ever forward.

Africa's Talking (form: id, status, phoneNumber, networkCode, failureReason, retryCount): `Success`
→ delivered; `Sent`, `Submitted`, `Buffered` → sent; `Rejected`, `Failed`, `Expired`,
`AbsentSubscriber` → failed with the failureReason (or the status when there is none); the
report's networkCode and retryCount are kept on the row. Unknown values are logged and change
nothing. A report whose message id is not known yet (the sender has not committed the gateway's
answer) is kept as an EarlyDeliveryReport for an hour and applied when the id appears.
Duplicates are harmless.

Orange (JSON deliveryInfoNotification: address and deliveryStatus, no message id): see
`OrangeReport`; a final status is given to the oldest `sent` row to that number, flagged
`delivery_approximate`.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from models.enums import SmsStatus
from models.messaging import EarlyDeliveryReport, OutboundSms
from models.phones import mask
from sms import telemetry

log = logging.getLogger("mbolo.sms")

EARLY_REPORT_TTL = timedelta(hours=1)

REPORTED = {
    "Success": SmsStatus.DELIVERED,
    "Sent": SmsStatus.SENT,
    "Submitted": SmsStatus.SENT,
    "Buffered": SmsStatus.SENT,
    "Rejected": SmsStatus.FAILED,
    "Failed": SmsStatus.FAILED,
    "Expired": SmsStatus.FAILED,
    "AbsentSubscriber": SmsStatus.FAILED,
}

# The statuses a report may move a row out of, per target: never backwards, never out of a final state.
MAY_BECOME = {
    SmsStatus.SENT: (SmsStatus.SENDING, SmsStatus.UNKNOWN),
    SmsStatus.DELIVERED: (SmsStatus.SENDING, SmsStatus.UNKNOWN, SmsStatus.SENT),
    SmsStatus.FAILED: (SmsStatus.SENDING, SmsStatus.UNKNOWN, SmsStatus.SENT),
}


@dataclass(frozen=True)
class DeliveryReport:
    """One report as the gateway posts it."""

    message_id: str
    status: str
    phone: str | None = None
    failure_reason: str | None = None
    network_code: str | None = None
    retry_count: int | None = None

    @classmethod
    def parse(cls, form) -> DeliveryReport:
        """Read the report's fields; ValueError when id or status is missing."""
        message_id = (form.get("id") or "").strip()
        status = (form.get("status") or "").strip()
        if not message_id or not status or len(message_id) > 100:
            raise ValueError("delivery report without id or status")
        return cls(
            message_id=message_id,
            status=status,
            phone=(form.get("phoneNumber") or "").strip() or None,
            failure_reason=(form.get("failureReason") or "").strip()[:200] or None,
            network_code=(form.get("networkCode") or "").strip()[:10] or None,
            retry_count=_count(form.get("retryCount")),
        )


def _count(raw: str | None) -> int | None:
    """A small non-negative count, or None (the field is informational: never a reason to refuse)."""
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else None


def _reason(status: str, failure_reason: str | None) -> str:
    return (failure_reason or status)[:200]


def _apply(
    session: Session,
    message_id: str,
    target: SmsStatus,
    reason: str | None,
    now: datetime,
    network_code: str | None = None,
    retry_count: int | None = None,
) -> int:
    values: dict = {"status": target, "updated_at": now}
    if network_code is not None:
        values["network_code"] = network_code
    if retry_count is not None:
        values["retry_count"] = retry_count
    if target == SmsStatus.DELIVERED:
        values["delivered_at"] = now
    if target == SmsStatus.FAILED:
        values["failure_reason"] = reason or "failed"
    if target in (SmsStatus.SENT, SmsStatus.DELIVERED):
        values["lease_until"] = None
    result = session.execute(
        update(OutboundSms)
        .where(OutboundSms.gateway_message_id == message_id, OutboundSms.status.in_(MAY_BECOME[target]))
        .values(**values)
    )
    return result.rowcount


def record_report(session: Session, report: DeliveryReport, now: datetime) -> str:
    """Apply one report (the caller commits); returns applied, unchanged, early or ignored."""
    target = REPORTED.get(report.status)
    if target is None:
        log.warning("delivery report with unknown status", extra={"status": report.status[:40]})
        return "ignored"
    known = session.execute(
        select(OutboundSms.id, OutboundSms.sent_at).where(OutboundSms.gateway_message_id == report.message_id)
    ).first()
    if known is None:
        session.add(
            EarlyDeliveryReport(
                gateway_message_id=report.message_id,
                status=report.status,
                failure_reason=_reason(report.status, report.failure_reason)
                if target == SmsStatus.FAILED
                else report.failure_reason,
                received_at=now,
                phone=(report.phone or "")[:20] or None,
                network_code=report.network_code,
                retry_count=report.retry_count,
            )
        )
        log.info("delivery report kept early", extra={"message_id": report.message_id})
        if report.phone and adopt_reports(session, [report.phone], now):
            return "adopted"
        return "early"
    reason = _reason(report.status, report.failure_reason) if target == SmsStatus.FAILED else None
    changed = _apply(session, report.message_id, target, reason, now, report.network_code, report.retry_count)
    if changed:
        telemetry.count_delivery_report(target, report.failure_reason, known.sent_at, now)
    log.info(
        "delivery report",
        extra={
            "message_id": report.message_id,
            "status": report.status,
            "to": mask(report.phone),
            "changed": bool(changed),
        },
    )
    return "applied" if changed else "unchanged"


def apply_early_reports(session: Session, message_ids: list[str] | None, now: datetime) -> int:
    """Apply kept reports whose message id now exists (all of them when `message_ids` is None)."""
    stmt = select(EarlyDeliveryReport).join(
        OutboundSms, OutboundSms.gateway_message_id == EarlyDeliveryReport.gateway_message_id
    )
    if message_ids is not None:
        if not message_ids:
            return 0
        stmt = stmt.where(EarlyDeliveryReport.gateway_message_id.in_(message_ids))
    reports = session.scalars(stmt.order_by(EarlyDeliveryReport.id)).unique().all()
    for report in reports:
        target = REPORTED.get(report.status)
        if target is not None:
            _apply(
                session,
                report.gateway_message_id,
                target,
                report.failure_reason,
                now,
                report.network_code,
                report.retry_count,
            )
        session.delete(report)
    return len(reports)


def adopt_reports(session: Session, phones: list[str] | None, now: datetime) -> int:
    """Give rows left `unknown` (a worker died before recording the answer) their message id back.

    A row is matched with a kept report only when nothing else is possible: it is the only
    `unknown` row without a message id to that phone claimed within the hour, and exactly one
    unmatched report to that phone arrived since its claim. The report is then applied as usual.
    """
    session.flush()
    since = now - EARLY_REPORT_TTL
    stmt = select(OutboundSms.id, OutboundSms.to, OutboundSms.claimed_at).where(
        OutboundSms.status == SmsStatus.UNKNOWN,
        OutboundSms.gateway_message_id.is_(None),
        OutboundSms.claimed_at >= since,
    )
    if phones is not None:
        stmt = stmt.where(OutboundSms.to.in_(phones))
    rows_by_phone: dict[str, list] = {}
    for row in session.execute(stmt).all():
        rows_by_phone.setdefault(row.to, []).append(row)
    adopted = []
    for phone, rows in rows_by_phone.items():
        if len(rows) != 1:
            continue
        [row] = rows
        matched = select(OutboundSms.id).where(
            OutboundSms.gateway_message_id == EarlyDeliveryReport.gateway_message_id
        )
        ids = session.scalars(
            select(EarlyDeliveryReport.gateway_message_id)
            .where(
                EarlyDeliveryReport.phone == phone,
                EarlyDeliveryReport.received_at >= row.claimed_at,
                ~matched.exists(),
            )
            .distinct()
        ).all()
        if len(ids) == 1:
            session.execute(
                update(OutboundSms)
                .where(OutboundSms.id == row.id, OutboundSms.gateway_message_id.is_(None))
                .values(gateway_message_id=ids[0], updated_at=now)
                .execution_options(synchronize_session=False)
            )
            adopted.append(ids[0])
            log.info("unknown row adopted its delivery report", extra={"sms_id": row.id, "to": mask(phone)})
    if adopted:
        apply_early_reports(session, adopted, now)
    return len(adopted)


def expire_early_reports(session: Session, now: datetime) -> int:
    """Drop kept reports older than an hour (their message never appeared)."""
    result = session.execute(
        delete(EarlyDeliveryReport).where(EarlyDeliveryReport.received_at < now - EARLY_REPORT_TTL)
    )
    return result.rowcount


# --- Orange -----------------------------------------------------------------------------------

# Orange's deliveryStatus values. Only the final ones move a row: the others say the message is
# still on its way (it is `sent` already) or that no receipt will come; both are logged only.
ORANGE_REPORTED = {
    "DeliveredToTerminal": SmsStatus.DELIVERED,
    "DeliveryImpossible": SmsStatus.FAILED,
}
ORANGE_IN_FLIGHT = frozenset({"DeliveredToNetwork", "MessageWaiting", "DeliveryUncertain"})
ORANGE_NO_RECEIPT = frozenset({"DeliveryNotificationNotSupported"})
# Kept Orange reports have no message id of their own: this prefix marks the stand-in.
ORANGE_KEPT_PREFIX = "orange-dr:"


@dataclass(frozen=True)
class OrangeReport:
    """One `deliveryInfoNotification`: the number (E.164) and its deliveryStatus."""

    phone: str
    status: str
    callback_data: str | None = None

    @classmethod
    def parse(cls, body) -> OrangeReport:
        """Read `deliveryInfoNotification.deliveryInfo.{address, deliveryStatus}`; ValueError when absent."""
        try:
            notification = body["deliveryInfoNotification"]
            info = notification["deliveryInfo"]
            if isinstance(info, list):  # OneAPI allows a list; Orange sends one entry
                info = info[0]
            address = str(info["address"]).strip()
            status = str(info["deliveryStatus"]).strip()
        except (KeyError, TypeError, IndexError) as exc:
            raise ValueError("delivery receipt without deliveryInfo address and deliveryStatus") from exc
        phone = address.removeprefix("tel:")
        if not status or not phone.startswith("+") or not phone[1:].isdigit() or len(phone) > 20:
            raise ValueError("delivery receipt with a malformed address or status")
        callback = notification.get("callbackData")
        return cls(phone=phone, status=status[:20], callback_data=str(callback)[:100] if callback else None)


def _oldest_sent(session: Session, phone: str):
    return session.execute(
        select(OutboundSms.id, OutboundSms.sent_at)
        .where(OutboundSms.to == phone, OutboundSms.status == SmsStatus.SENT)
        .order_by(OutboundSms.sent_at, OutboundSms.id)
        .limit(1)
    ).first()


def _apply_to_row(session: Session, row_id: int, target: SmsStatus, reason: str, now: datetime) -> int:
    values: dict = {"status": target, "updated_at": now, "delivery_approximate": True}
    if target == SmsStatus.DELIVERED:
        values["delivered_at"] = now
    else:
        values["failure_reason"] = reason
    result = session.execute(
        update(OutboundSms)
        .where(OutboundSms.id == row_id, OutboundSms.status == SmsStatus.SENT)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def record_orange_report(session: Session, report: OrangeReport, now: datetime) -> str:
    """Apply one Orange receipt to the oldest `sent` row to its number (the caller commits).

    Returns applied, early (no `sent` row yet: kept an hour, like any early report), unchanged
    (a status that moves nothing) or ignored (unknown status).
    """
    target = ORANGE_REPORTED.get(report.status)
    if target is None:
        known = report.status in ORANGE_IN_FLIGHT or report.status in ORANGE_NO_RECEIPT
        (log.info if known else log.warning)(
            "orange delivery receipt changes nothing",
            extra={"status": report.status[:40], "to": mask(report.phone)},
        )
        return "unchanged" if known else "ignored"
    row = _oldest_sent(session, report.phone)
    if row is not None and _apply_to_row(session, row.id, target, report.status, now):
        telemetry.count_delivery_report(
            target, report.status if target == SmsStatus.FAILED else None, row.sent_at, now
        )
        log.info(
            "delivery report",
            extra={"sms_id": row.id, "status": report.status, "to": mask(report.phone), "approximate": True},
        )
        return "applied"
    # The sender may not have committed the send yet: keep it, matched by the sweep.
    session.add(
        EarlyDeliveryReport(
            gateway_message_id=ORANGE_KEPT_PREFIX + uuid.uuid4().hex,
            status=report.status,
            failure_reason=report.status if target == SmsStatus.FAILED else None,
            received_at=now,
            phone=report.phone,
        )
    )
    log.info("orange delivery receipt kept early", extra={"to": mask(report.phone)})
    return "early"


def apply_kept_orange_reports(session: Session, now: datetime, phones: list[str] | None = None) -> int:
    """Give kept Orange receipts, oldest first, to the oldest `sent` row to their number, if any now."""
    stmt = select(EarlyDeliveryReport).where(
        EarlyDeliveryReport.gateway_message_id.startswith(ORANGE_KEPT_PREFIX)
    )
    if phones is not None:
        stmt = stmt.where(EarlyDeliveryReport.phone.in_(phones))
    kept = session.scalars(stmt.order_by(EarlyDeliveryReport.received_at, EarlyDeliveryReport.id)).all()
    applied = 0
    for report in kept:
        target = ORANGE_REPORTED.get(report.status)
        row = _oldest_sent(session, report.phone) if target is not None and report.phone else None
        if row is None:
            continue
        if _apply_to_row(session, row.id, target, report.status, now):
            telemetry.count_delivery_report(target, report.failure_reason, row.sent_at, now)
            applied += 1
        session.delete(report)
    return applied

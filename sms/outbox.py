"""The outbox: every SMS is a row written in the caller's transaction and sent after commit."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Insert, event
from sqlalchemy.orm import Session

from i18n.gsm7 import fold, segments
from models.enums import SmsKind, SmsStatus
from models.messaging import OutboundSms

DEFAULT_COST_PER_SEGMENT = 15


def queue_sms(
    session: Session,
    *,
    to: str,
    text: str,
    kind: SmsKind | str,
    language: str,
    now: datetime,
    cooperative_id: int | None = None,
    member_id: int | None = None,
    send_after: datetime | None = None,
    cost_per_segment: int = DEFAULT_COST_PER_SEGMENT,
) -> OutboundSms:
    """Add one SMS to the outbox (GSM-7 folded, segments counted); the caller commits."""
    body = fold(text)
    parts = segments(body)
    when = send_after or now
    row = OutboundSms(
        to=to,
        text=body,
        kind=str(kind),
        language=language,
        status=SmsStatus.QUEUED,
        cooperative_id=cooperative_id,
        member_id=member_id,
        attempts=0,
        send_after=when,
        next_attempt_at=when,
        segments=parts,
        cost=parts * cost_per_segment,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    return row


# --- sending after commit -------------------------------------------------------------------
#
# Choice: a SQLAlchemy event on every Session, not an explicit call in each webhook. When a
# session that added OutboundSms rows commits, the notifier installed on its factory enqueues one
# RQ job (`sms.jobs.send_outbox`) — after the commit, so a worker never looks for rows that are
# not visible yet, and never for a rolled-back transaction. `queue_sms` callers need nothing more.
# Every Runtime installs the notifier on its session factory with its own send trigger (the web
# app, the CLI commands under it and the worker alike); a bare session factory made without a
# Runtime relies on the 10-minute tick or `sms send-pending`. Rows written with a set-based
# `insert(OutboundSms)` are noticed too; raw SQL text is not: call `mark_outbox_changed(session)` after it.
# A caller that wants the enqueue inside its own Redis pipeline (the USSD hop's one pipeline) sets
# `session.info[KICK_MANUALLY] = True` and calls `sms.jobs.enqueue_send(runtime, pipeline=pipe)`.

_log = logging.getLogger("mbolo.sms")
_PENDING = "mbolo.outbox.pending"
KICK_MANUALLY = "mbolo.outbox.kick_manually"
_INSTALLED = "sms.outbox.notifier"


def mark_outbox_changed(session: Session) -> None:
    """Ask for a send job after this session's next commit (for rows written with raw SQL)."""
    session.info[_PENDING] = True


def take_pending(session: Session) -> bool:
    """True, once, when this session committed outbox rows (for callers that enqueue themselves)."""
    return bool(session.info.pop(_PENDING, False))


def install_notifier(runtime) -> None:
    """After each commit of `runtime.sessions` that wrote outbox rows, call its send trigger (once)."""
    if runtime.extras.get(_INSTALLED):
        return

    def _kick_after_commit(session: Session) -> None:
        if session.info.get(KICK_MANUALLY):
            return  # the caller enqueues inside its own Redis pipeline (see take_pending)
        if session.info.pop(_PENDING, False):
            runtime.request_send()

    # Bound to this runtime's session factory, not to every Session: a process may hold several.
    event.listen(runtime.sessions, "after_commit", _kick_after_commit)
    runtime.extras[_INSTALLED] = True


@event.listens_for(Session, "after_flush")
def _note_new_rows(session: Session, _context) -> None:
    if _PENDING not in session.info and any(isinstance(obj, OutboundSms) for obj in session.new):
        session.info[_PENDING] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_insert(state) -> None:
    statement = state.statement
    if isinstance(statement, Insert) and getattr(statement.table, "name", None) == OutboundSms.__tablename__:
        state.session.info[_PENDING] = True


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)

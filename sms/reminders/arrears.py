"""Arrears and promise reminders, planned set-based like the due-date rules.

An arrears reminder is a ReminderSent row on the member's oldest unpaid instalment (the one that
defines D) with rule `A<d>`, d = days since D: unique per (instalment, d), so each arrears day
fires at most once, and a payment that clears the oldest instalment moves D (the next reminder
counts from the new oldest). The candidate due dates for a day are derived from the arithmetic in
models.arrears (no table of days, no end). A member whose promise (`PROMESSE`) is running — open
or already kept, recorded on or before the day, its date not past — gets no arrears reminder; on
the promise's date the member gets the promise's reminder instead (rule `P<promise id>`, on the
same oldest instalment), unless the promise is already kept.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, String, and_, case, cast, exists, literal, or_, select
from sqlalchemy.orm import Session

from models.arrears import (
    ARREARS_PREFIX,
    MONTHLY_LAG,
    PROMISE_PREFIX,
    WEEKLY_LAG,
    arrears_due_dates,
    is_arrears_rule,
    is_oldest_unpaid,
    is_promise_rule,
    oldest_unpaid_due,
    promise_id,
    rule_group,
)

__all__ = ["is_arrears_rule", "is_promise_rule", "plan", "promise_id", "rule_group"]
from models.enums import Frequency, LoanStatus
from models.ledger_tables import Instalment, Loan
from models.messaging import ReminderSent
from models.promises import Promise, PromiseStatus


def running_promise(day: date):
    """Condition on Loan rows: the loan's member has a promise that pauses arrears reminders on `day`."""
    return exists().where(
        Promise.member_id == Loan.member_id,
        Promise.status.in_((PromiseStatus.OPEN, PromiseStatus.KEPT)),
        Promise.recorded_on <= day,
        Promise.due_on >= day,
    )


def arrears_candidates(session: Session, day: date, *columns):
    """(instalment_id, rule, day, *columns) of members whose arrears reminder falls on `day` (None: none)."""
    oldest = oldest_unpaid_due(session, day)
    if oldest is None:
        return None
    weekly = arrears_due_dates(day, WEEKLY_LAG, oldest)
    monthly = arrears_due_dates(day, MONTHLY_LAG, oldest)
    if not weekly and not monthly:
        return None
    every = sorted(set(weekly) | set(monthly))
    rule = case({due: f"{ARREARS_PREFIX}{(day - due).days}" for due in every}, value=Instalment.due_on).label(
        "rule"
    )
    return (
        select(Instalment.id.label("instalment_id"), rule, literal(day, Date).label("day"), *columns)
        .join(Loan, Loan.id == Instalment.loan_id)
        .where(
            # Literal dates and the partial index's predicate keep this an index scan on due_on.
            Instalment.due_on.in_(every),
            Instalment.amount_paid < Instalment.amount_due,
            Loan.status == LoanStatus.ACTIVE,
            or_(
                and_(Loan.frequency == str(Frequency.WEEKLY), Instalment.due_on.in_(weekly)),
                and_(Loan.frequency == str(Frequency.MONTHLY), Instalment.due_on.in_(monthly)),
            ),
            is_oldest_unpaid(),
            ~running_promise(day),
        )
    )


def promise_candidates(day: date, *columns):
    """(instalment_id, rule, day, *columns) of the open promises whose date is `day`."""
    rule = (literal(PROMISE_PREFIX, String) + cast(Promise.id, String)).label("rule")
    return (
        select(Instalment.id.label("instalment_id"), rule, literal(day, Date).label("day"), *columns)
        .select_from(Promise)
        .join(Loan, Loan.member_id == Promise.member_id)
        .join(Instalment, Instalment.loan_id == Loan.id)
        .where(
            Promise.status == PromiseStatus.OPEN,
            Promise.due_on == day,
            Loan.status == LoanStatus.ACTIVE,
            Instalment.amount_paid < Instalment.amount_due,
            is_oldest_unpaid(),
        )
    )


def insert_candidates(session: Session, query, insert) -> int:
    """INSERT … SELECT the candidates into reminder_sent, skipping what is there; how many are new."""
    if query is None:
        return 0
    query = query.where(
        ~exists().where(
            ReminderSent.instalment_id == Instalment.id, ReminderSent.rule == query.selected_columns.rule
        )
    )
    stmt = (
        insert(ReminderSent)
        .from_select(["instalment_id", "rule", "day"], query)
        .on_conflict_do_nothing(index_elements=["instalment_id", "rule"])
    )
    return max(session.execute(stmt, execution_options={"preserve_rowcount": True}).rowcount, 0)


def plan(session: Session, day: date, insert) -> int:
    """Insert the day's arrears and promise reminders; return how many are new."""
    return insert_candidates(session, arrears_candidates(session, day), insert) + insert_candidates(
        session, promise_candidates(day), insert
    )

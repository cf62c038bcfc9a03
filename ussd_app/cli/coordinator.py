"""The coordinator's commands: move a member to a new phone, deactivate a member,
write a loan off, reverse a repayment of any age.

Each takes a required `--reason`, never prompts, and commits its change, its audit event and its
SMS notices (written to the outbox, sent after commit) in one transaction. The operations are
models.membership, models.ledger and sms.notices (shared with the web pages and jobs); these
commands only read their arguments, call them, commit and print. A refusal prints one
line and exits with status 1. COOP is the cooperative's code or name.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from i18n.formatting import format_money
from models.cooperative import Member
from models.directory import find_cooperative, find_member
from models.enums import Source
from models.errors import MboloError, NotFound, Refused, Unchanged
from models.ledger import find_repayment, write_off
from models.ledger_tables import Loan
from models.membership import deactivate
from models.phones import InvalidPhone, normalise
from sms.notices import move_phone, reverse_and_tell
from ussd_app.cli.actor import cli_actor

# The operations' refusals, as an operator reads them.
REFUSALS = {
    "not_active": "the loan is {status}, not active: nothing changed",
    "already_reversed": "repayment {receipt} is already reversed: nothing changed",
    "phone_taken": "{phone} is held by member {member_no} of {coop} (one member per phone)",
}

_REASON = click.option("--reason", required=True, help="Why (kept in the audit trail).")


class CommandRefused(MboloError):
    """The command cannot do what was asked; the message says why (exit status 1)."""


def find_loan(session: Session, reference: str) -> Loan:
    """The loan with this reference (case ignored)."""
    loan = session.scalar(select(Loan).where(func.upper(Loan.reference) == reference.strip().upper()))
    if loan is None:
        raise CommandRefused(f"no loan with reference {reference!r}")
    return loan


# --- commands --------------------------------------------------------------------------------


def _run(action):
    """Open a session, run `action(session, runtime)`, commit; refusals become exit status 1."""
    from ussd_app.current import runtime

    rt = runtime()
    with rt.sessions() as session:
        try:
            message = action(session, rt)
        except Unchanged as exc:
            session.rollback()
            click.echo(str(exc))
            return
        except Refused as exc:
            session.rollback()
            raise click.ClickException(REFUSALS.get(exc.code, str(exc)).format(**exc.details)) from None
        except (MboloError, InvalidPhone) as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from None
        session.commit()
    click.echo(message)


def _member(session: Session, coop: str, member_no: str) -> Member:
    return find_member(session, find_cooperative(session, coop), member_no)


@click.command("set-phone")
@with_appcontext
@click.argument("coop")
@click.argument("member_no")
@click.argument("phone")
@_REASON
def set_phone_command(coop: str, member_no: str, phone: str, reason: str) -> None:
    """Move a member to a new phone number; clears the PIN; SMS to both numbers."""

    def action(session, rt):
        member = _member(session, coop, member_no)
        new = normalise(phone, rt.config.DEFAULT_REGION)
        old = move_phone(
            session,
            member,
            new,
            reason=reason,
            actor=cli_actor(),
            source=Source.CLI,
            now=rt.clock.now(),
            config=rt.config,
        ).old
        told = "both numbers told" if old else "the new number told"
        return f"member {member.member_no} moved from {old or 'no phone'} to {new}; PIN cleared; {told}"

    _run(action)


@click.command("deactivate")
@with_appcontext
@click.argument("coop")
@click.argument("member_no")
@_REASON
def deactivate_command(coop: str, member_no: str, reason: str) -> None:
    """Deactivate a member: no broadcasts, USSD balance only."""

    def action(session, rt):
        member = _member(session, coop, member_no)
        now = rt.clock.now()
        deactivate(session, member, reason=reason, actor=cli_actor(), source=Source.CLI, now=now)
        return f"member {member.member_no} is now inactive"

    _run(action)


@click.command("write-off")
@with_appcontext
@click.argument("ref")
@_REASON
def write_off_command(ref: str, reason: str) -> None:
    """Write a loan off: no more reminders, shown apart in reports."""

    def action(session, rt):
        loan = find_loan(session, ref)
        outstanding = sum(i.unpaid for i in loan.instalments)
        write_off(session, loan, now=rt.clock.now(), actor=cli_actor(), reason=reason, source=Source.CLI)
        return f"loan {loan.reference} written off ({format_money(outstanding)} unpaid)"

    _run(action)


@click.command("reverse")
@with_appcontext
@click.argument("receipt")
@_REASON
def reverse_command(receipt: str, reason: str) -> None:
    """Reverse a repayment of any age (by its receipt code); SMS notice to the member."""

    def action(session, rt):
        try:
            repayment = find_repayment(session, receipt)
        except NotFound:
            raise CommandRefused(f"no repayment with receipt {receipt!r}") from None
        outstanding = reverse_and_tell(
            session,
            repayment,
            reason=reason,
            actor=cli_actor(),
            source=Source.CLI,
            now=rt.clock.now(),
            today=rt.clock.today(),
            config=rt.config,
        )
        return (
            f"repayment {repayment.receipt} of {format_money(repayment.amount)} reversed; "
            f"the member now owes {format_money(outstanding)}"
        )

    _run(action)


def _group(app: Flask, name: str, help_text: str) -> AppGroup:
    """The app's group `name`, created if no other module made it (privacy adds `members export`)."""
    group = app.cli.commands.get(name)
    if group is None:
        group = AppGroup(name, help=help_text)
        app.cli.add_command(group)
    return group


@click.command("set-region")
@with_appcontext
@click.argument("coop")
@click.argument("region")
def set_region_command(coop: str, region: str) -> None:
    """Move a cooperative to a region (its coordinators see it; accents and case ignored)."""
    from models.scope import set_region

    def action(session, rt):
        cooperative = find_cooperative(session, coop)
        before = cooperative.region
        try:
            spelling = set_region(
                session, cooperative, region, actor=cli_actor(), now=rt.clock.now(), source=Source.CLI
            )
        except ValueError as exc:
            raise CommandRefused("the region is empty: nothing changed") from exc
        if before == spelling:
            raise Unchanged(f"{cooperative.name} is already in {spelling}: nothing changed")
        return f"{cooperative.name} moved from {before or '(no region)'} to {spelling}"

    _run(action)


def register(app: Flask) -> None:
    """Add members set-phone|deactivate, loans write-off, repayments reverse, cooperatives set-region."""
    members = _group(app, "members", "Members.")
    members.add_command(set_phone_command)
    members.add_command(deactivate_command)
    _group(app, "loans", "Loans.").add_command(write_off_command)
    _group(app, "repayments", "Repayments.").add_command(reverse_command)
    _group(app, "cooperatives", "Cooperatives.").add_command(set_region_command)

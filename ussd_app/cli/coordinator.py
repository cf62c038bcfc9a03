"""The coordinator's commands (DESIGN §4): move a member to a new phone, deactivate a member,
write a loan off, reverse a repayment of any age.

Each takes a required `--reason`, never prompts, and commits its change, its audit event and its
SMS notices (written to the outbox, sent after commit) in one transaction. A refusal prints one
line and exits with status 1. COOP is the cooperative's code or name.
"""

from __future__ import annotations

from datetime import date, datetime

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from i18n.catalog import N_, translate
from i18n.formatting import format_money, format_short_date
from models import audit
from models.cooperative import Cooperative, Member
from models.directory import find_cooperative, find_member, find_phone_holder
from models.enums import MemberStatus, SmsKind, Source
from models.errors import MboloError, NotFound, Refused
from models.ledger import find_repayment, reverse_repayment, write_off
from models.ledger_tables import Loan, Repayment
from models.phones import InvalidPhone, normalise
from models.position import member_position
from sms.outbox import queue_sms
from ussd_app.cli.actor import cli_actor

MOVED_AWAY = N_(
    "{coop}: votre compte Mbolo est passé sur un autre numéro (...{last}). "
    "Si vous ne l'avez pas demandé, contactez votre coopérative."
)
MOVED_HERE = N_(
    "{coop}: ce numéro est maintenant celui de votre compte Mbolo. "
    "Au prochain appel, choisissez votre code PIN (4 chiffres)."
)
REVERSED = N_(
    "{coop}: le paiement {receipt} de {amount} du {day} a été annulé par la coopérative. "
    "Reste à payer: {outstanding}."
)

# The ledger's refusals, as an operator reads them.
REFUSALS = {
    "not_active": "the loan is {status}, not active: nothing changed",
    "already_reversed": "repayment {receipt} is already reversed: nothing changed",
}

_REASON = click.option("--reason", required=True, help="Why (kept in the audit trail).")


class CommandRefused(MboloError):
    """The command cannot do what was asked; the message says why (exit status 1)."""


class NothingToDo(MboloError):
    """What was asked is already so; nothing is written (exit status 0)."""


# --- operations (a session in, changes staged; the command commits) --------------------------


def set_phone(
    session: Session,
    member: Member,
    phone: str,
    *,
    reason: str,
    actor: str,
    now: datetime,
    cost_per_segment: int,
) -> str | None:
    """Move `member` to `phone` (E.164), clear the PIN, tell both numbers; return the old phone."""
    holder = find_phone_holder(session, phone)
    if holder is not None and holder.id != member.id:
        coop = session.get(Cooperative, holder.cooperative_id)
        raise CommandRefused(
            f"{phone} is held by member {holder.member_no} of {coop.name} (one member per phone)"
        )
    if member.phone == phone:
        raise NothingToDo(f"member {member.member_no} already has {phone}: nothing changed")
    coop = session.get(Cooperative, member.cooperative_id)
    old = member.phone
    before = {"phone": old, "pin": "set" if member.pin_hash else "none", "locked": member.locked}
    member.phone = phone
    # The new phone starts like a new member: the first dial asks to choose a PIN.
    member.pin_hash = None
    member.wrong_pins = 0
    member.locked = False
    member.updated_at = now
    notice = {"kind": SmsKind.NOTICE, "language": member.language, "now": now, "cooperative_id": coop.id}
    if old:
        queue_sms(
            session,
            to=old,
            text=translate(member.language, MOVED_AWAY, coop=coop.code, last=phone[-2:]),
            member_id=member.id,
            cost_per_segment=cost_per_segment,
            **notice,
        )
    queue_sms(
        session,
        to=phone,
        text=translate(member.language, MOVED_HERE, coop=coop.code),
        member_id=member.id,
        cost_per_segment=cost_per_segment,
        **notice,
    )
    audit.record(
        session,
        actor=actor,
        action="member.set_phone",
        target=f"member:{member.id}",
        source=Source.CLI,
        at=now,
        member_id=member.id,
        before=before,
        after={"phone": phone, "pin": "cleared", "locked": False},
        reason=reason,
    )
    return old


def deactivate(session: Session, member: Member, *, reason: str, actor: str, now: datetime) -> None:
    """Mark a member inactive: no broadcasts, USSD balance only; reminders go on while a loan is active."""
    if member.status == MemberStatus.INACTIVE:
        raise NothingToDo(f"member {member.member_no} is already inactive: nothing changed")
    member.status = MemberStatus.INACTIVE
    member.updated_at = now
    audit.record(
        session,
        actor=actor,
        action="member.deactivate",
        target=f"member:{member.id}",
        source=Source.CLI,
        at=now,
        member_id=member.id,
        before={"status": MemberStatus.ACTIVE},
        after={"status": MemberStatus.INACTIVE},
        reason=reason,
    )


def find_loan(session: Session, reference: str) -> Loan:
    """The loan with this reference (case ignored)."""
    loan = session.scalar(select(Loan).where(func.upper(Loan.reference) == reference.strip().upper()))
    if loan is None:
        raise CommandRefused(f"no loan with reference {reference!r}")
    return loan


def reverse(
    session: Session,
    repayment: Repayment,
    *,
    reason: str,
    actor: str,
    now: datetime,
    today: date,
    cost_per_segment: int,
) -> int:
    """Reverse a repayment of any age, recompute its loans, tell the member; return what remains owed."""
    reverse_repayment(session, repayment, now=now, by=actor, reason=reason, source=Source.CLI)
    session.flush()
    member = session.get(Member, repayment.member_id)
    outstanding = member_position(session, member.id, today).outstanding
    if member.phone:
        coop = session.get(Cooperative, member.cooperative_id)
        queue_sms(
            session,
            to=member.phone,
            text=translate(
                member.language,
                REVERSED,
                coop=coop.code,
                receipt=repayment.receipt,
                amount=format_money(repayment.amount),
                day=format_short_date(repayment.paid_on),
                outstanding=format_money(outstanding),
            ),
            kind=SmsKind.NOTICE,
            language=member.language,
            now=now,
            cooperative_id=coop.id,
            member_id=member.id,
            cost_per_segment=cost_per_segment,
        )
    return outstanding


# --- commands --------------------------------------------------------------------------------


def _run(action):
    """Open a session, run `action(session, runtime)`, commit; refusals become exit status 1."""
    from ussd_app.current import runtime

    rt = runtime()
    with rt.sessions() as session:
        try:
            message = action(session, rt)
        except NothingToDo as exc:
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
        old = set_phone(
            session,
            member,
            new,
            reason=reason,
            actor=cli_actor(),
            now=rt.clock.now(),
            cost_per_segment=rt.config.SMS_COST_PER_SEGMENT,
        )
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
        deactivate(session, member, reason=reason, actor=cli_actor(), now=rt.clock.now())
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
        outstanding = reverse(
            session,
            repayment,
            reason=reason,
            actor=cli_actor(),
            now=rt.clock.now(),
            today=rt.clock.today(),
            cost_per_segment=rt.config.SMS_COST_PER_SEGMENT,
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


def register(app: Flask) -> None:
    """Add `members set-phone|deactivate`, `loans write-off` and `repayments reverse`."""
    members = _group(app, "members", "Members.")
    members.add_command(set_phone_command)
    members.add_command(deactivate_command)
    _group(app, "loans", "Loans.").add_command(write_off_command)
    _group(app, "repayments", "Repayments.").add_command(reverse_command)

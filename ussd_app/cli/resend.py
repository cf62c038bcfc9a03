"""`sms resend`: queue again what a gateway outage, empty credit or a lost worker kept from going out."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from models.enums import SmsStatus
from models.phones import mask
from sms.resend import DEFAULT_KINDS, RESENDABLE_KINDS, ResendError, candidates, resend
from sms.telemetry import SEND_FAILURE_REASONS
from ussd_app.cli.actor import cli_actor


@click.command("resend")
@with_appcontext
@click.option(
    "--status",
    required=True,
    type=click.Choice([str(SmsStatus.FAILED), str(SmsStatus.UNKNOWN)]),
    help="Which rows: failed, or unknown (a worker died while sending them).",
)
@click.option(
    "--since",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M"]),
    help="Created at or after this local date (or date-time): the start of the outage.",
)
@click.option(
    "--reason",
    type=click.Choice(SEND_FAILURE_REASONS),
    help="Only rows that failed for this reason (as /metrics folds them), e.g. InsufficientCredit.",
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice([str(k) for k in RESENDABLE_KINDS]),
    help="Kinds to resend (repeat); default receipt, reply and notice.",
)
@click.option("--id", "ids", multiple=True, type=int, help="Only these outbox ids (repeat).")
@click.option("--dry-run", is_flag=True, help="List what would be resent; write nothing.")
def resend_command(status, since, reason, kinds, ids, dry_run) -> None:
    """Queue a copy of each failed or unknown SMS since a date; the originals stay as they were."""
    from ussd_app.current import runtime

    rt = runtime()
    tz = rt.config.tz
    if since.time() == time(0, 0):
        start = datetime.combine(date(since.year, since.month, since.day), time(0, 0), tzinfo=tz)
    else:
        start = since.replace(tzinfo=tz)
    now = rt.clock.now()
    with rt.sessions() as session:
        try:
            rows = candidates(
                session,
                status=status,
                since=start,
                now=now,
                kinds=tuple(kinds) or tuple(str(k) for k in DEFAULT_KINDS),
                reason=reason,
                ids=tuple(ids),
            )
        except ResendError as exc:
            raise click.ClickException(str(exc)) from None
        for row in rows:
            created = row.created_at.astimezone(tz).strftime("%d/%m/%Y %H:%M")
            click.echo(
                f"{row.id:>7} {created} {mask(row.to):<14} {row.kind:<9} [{row.failure_reason or '-'}]"
            )
        kinds_count = ", ".join(f"{k} {n}" for k, n in sorted(Counter(r.kind for r in rows).items()))
        if dry_run:
            session.rollback()
            click.echo(f"would resend {len(rows)} ({kinds_count or 'none'})")
            return
        pairs = resend(
            session, rows, now=now, actor=cli_actor(), cost_per_segment=rt.config.SMS_COST_PER_SEGMENT
        )
        session.commit()
    click.echo(f"resent {len(pairs)} ({kinds_count or 'none'}); the worker sends them now")


def register(app: Flask) -> None:
    """Add `resend` to the `sms` group (created here if the outbox commands are absent)."""
    group = app.cli.commands.get("sms")
    if group is None:
        group = AppGroup("sms", help="The SMS outbox.")
        app.cli.add_command(group)
    group.add_command(resend_command)

"""`purge` and `members export`: personal data commands (docs/privacy.md; logic in models.privacy)."""

from __future__ import annotations

import json
import sys
from datetime import date

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from models.directory import find_cooperative, find_member
from models.errors import NotFound
from models.privacy import PrivacyError, cutoff_at, default_cutoff, export_member, purge, record_export
from sms.inbound import MAX_ATTEMPTS
from ussd_app.cli.actor import cli_actor


@click.command("purge")
@with_appcontext
@click.option(
    "--before",
    "before",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Anonymise what is older than this local date; default: PURGE_MONTHS (12) months ago.",
)
@click.option("--dry-run", is_flag=True, help="Count what would be anonymised; write nothing.")
@click.option("--batch-size", default=2000, show_default=True, type=click.IntRange(1, 100_000))
def purge_command(before, dry_run: bool, batch_size: int) -> None:
    """Anonymise SMS texts and USSD events older than the cut-off; the ledger is kept."""
    from ussd_app.current import runtime

    rt = runtime()
    tz = rt.config.tz
    now = rt.clock.now()
    if before is not None:
        cutoff = cutoff_at(date(before.year, before.month, before.day), tz)
    else:
        cutoff = default_cutoff(rt.clock.today(), rt.config.PURGE_MONTHS, tz)
    options = {
        "cutoff": cutoff,
        "now": now,
        "actor": cli_actor(),
        "batch_size": batch_size,
        "inbound_retry_limit": MAX_ATTEMPTS,
    }
    try:
        if dry_run or not sys.stdout.isatty():
            summary = purge(rt.sessions, dry_run=dry_run, **options)
        else:
            planned = purge(rt.sessions, dry_run=True, **options)
            with click.progressbar(length=planned.total, label="purging") as bar:
                summary = purge(rt.sessions, on_batch=lambda _table, n: bar.update(n), **options)
    except PrivacyError as exc:
        raise click.ClickException(str(exc)) from None
    verb = "would anonymise" if dry_run else "anonymised"
    held = sum(summary.held.values())
    click.echo(
        f"purge before {cutoff.date().isoformat()}: {verb} {summary.total} "
        f"(outbound SMS {summary.outbound}, inbound SMS {summary.inbound}, "
        f"USSD events {summary.ussd_events}); held in flight {held}; ledger unchanged"
    )


@click.command("export")
@with_appcontext
@click.argument("coop")
@click.argument("member_no")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), help="Write to FILE, not stdout.")
@click.option("--reason", help="Why (e.g. the access request's reference); kept in the audit log.")
def export_command(coop: str, member_no: str, output: str | None, reason: str | None) -> None:
    """Everything held on one person, as JSON (access requests under Law 2008-12)."""
    from ussd_app.current import runtime

    rt = runtime()
    now = rt.clock.now()
    with rt.sessions() as session:
        try:
            member = find_member(session, find_cooperative(session, coop), member_no)
        except NotFound as exc:
            raise click.ClickException(str(exc)) from None
        data = export_member(session, member, now=now)
        record_export(session, member, now=now, actor=cli_actor(), reason=reason)
        session.commit()
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        click.echo(f"exported {member_no} of {coop} to {output}", err=True)
    else:
        click.echo(text)


def register(app: Flask) -> None:
    """Add `purge`, and `export` to the `members` group (created here if no other module made it)."""
    app.cli.add_command(purge_command)
    members = app.cli.commands.get("members")
    if members is None:
        members = AppGroup("members", help="Members.")
        app.cli.add_command(members)
    members.add_command(export_command)

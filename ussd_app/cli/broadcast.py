"""`broadcast --coop NAME --text-fr … [--text-wo …] [--text-en …] [--dry-run]`.

See docs/design.md, "Reminders and announcements".
"""

from __future__ import annotations

import sys
from contextlib import nullcontext

import click
from flask import Flask
from flask.cli import with_appcontext

from i18n.formatting import format_money
from sms.broadcast import BroadcastError, BroadcastPlan, plan_broadcast, write_broadcast
from sms.sending_hours import SendingHours
from ussd_app.cli.actor import cli_actor


def describe(plan: BroadcastPlan, tz_name: str) -> list[str]:
    """The lines an operator reads before (or instead of) sending."""
    lines = [
        f"Broadcast to {plan.audience.label}"
        + (" (members in arrears only)" if plan.audience.arrears_on else "")
    ]
    for fold in plan.folds:
        if fold.changes:
            shown = ", ".join(f"{old!r}→{new!r}" for old, new in fold.changes)
            lines.append(f"  text-{fold.language} folded to GSM-7 ({shown}): {fold.folded}")
        if fold.unreadable:
            lines.append(
                f"  warning: text-{fold.language} has characters no basic phone shows: "
                f"{' '.join(fold.unreadable)}"
            )
    for language, members in plan.recipients.items():
        own = "" if language in plan.given else " (no text in their language: French)"
        lines.append(
            f"  {language}: {len(members)} recipients{own}, {plan.segments_for(language)} segment(s) each"
        )
    if not plan.recipients:
        lines.append("  no recipients")
    skipped = plan.skipped
    lines.append(
        f"  skipped: {skipped['opted_out']} opted out (STOP), {skipped['inactive']} inactive, "
        f"{skipped['no_phone']} without phone"
    )
    if plan.waits:
        lines.append(f"  quiet hours now: waits until {plan.send_after:%Y-%m-%d %H:%M} {tz_name}")
    lines.append(
        f"  estimated cost: {plan.total_recipients} SMS, {plan.total_segments} segments x "
        f"{format_money(plan.cost_per_segment)} = {format_money(plan.cost)}"
    )
    return lines


@click.command("broadcast")
@click.option("--coop", "coop_name", required=True, help="Cooperative name (or code).")
@click.option("--text-fr", required=True, help="French text (also sent to members without a text in theirs).")
@click.option("--text-wo", help="Wolof text.")
@click.option("--text-en", help="English text.")
@click.option("--dry-run", is_flag=True, help="Show recipients, segments and cost; write nothing.")
@with_appcontext
def broadcast_command(
    coop_name: str, text_fr: str, text_wo: str | None, text_en: str | None, dry_run: bool
) -> None:
    """Send an announcement to a cooperative's members, each in their language."""
    from ussd_app.current import runtime

    rt = runtime()
    now = rt.clock.now()
    hours = SendingHours.from_config(rt.config)
    with rt.sessions() as session:
        try:
            plan = plan_broadcast(
                session,
                coop_name=coop_name,
                texts={"fr": text_fr, "wo": text_wo, "en": text_en},
                now=now,
                hours=hours,
                cost_per_segment=rt.config.SMS_COST_PER_SEGMENT,
            )
        except BroadcastError as exc:
            raise click.ClickException(str(exc)) from exc
        for line in describe(plan, rt.config.TIMEZONE):
            click.echo(line)
        if dry_run:
            session.rollback()
            click.echo(f"dry run: nothing written; would create {plan.total_recipients} SMS")
            return
        bar = (
            click.progressbar(length=plan.total_recipients, label="Queuing", file=sys.stderr)
            if sys.stderr.isatty()
            else nullcontext()
        )
        with bar as progress:
            write_broadcast(
                session, plan, actor=cli_actor(), progress=progress.update if progress is not None else None
            )
        session.commit()
    skipped = sum(plan.skipped.values())
    click.echo(
        f"broadcast {plan.cooperative.code}: created {plan.written} SMS, skipped {skipped}, failed 0"
        + (f"; waiting for the end of quiet hours ({plan.send_after:%H:%M})" if plan.waits else "")
    )


def register(app: Flask) -> None:
    """Add the `broadcast` command."""
    app.cli.add_command(broadcast_command)

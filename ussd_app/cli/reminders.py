"""`reminders run` and `reminders preview` (docs/design.md, "Reminders and announcements")."""

from __future__ import annotations

from datetime import date, datetime

import click
from flask import Flask
from flask.cli import AppGroup

from i18n.formatting import format_money
from sms.reminders import planner
from sms.sending_hours import SendingHours

reminders = AppGroup("reminders", help="Reminder SMS before and after each instalment.")


def parse_now(value: str, tz) -> datetime:
    """An ISO-8601 instant; a naive value is local time (Africa/Dakar)."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 date-time (2026-12-01T09:00)") from exc
    return at.replace(tzinfo=tz) if at.tzinfo is None else at


@reminders.command("run")
@click.option("--now", "now_text", metavar="ISO-8601", help="Run as of this instant (naive = Africa/Dakar).")
def run_command(now_text: str | None) -> None:
    """Plan the rules whose day is today (or --now's date) and write their outbox rows; idempotent."""
    from ussd_app.current import runtime

    rt = runtime()
    now = parse_now(now_text, rt.config.tz) if now_text else rt.clock.now()
    click.echo(planner.run(rt, now).line())


@reminders.command("preview")
@click.option("--date", "day_text", required=True, metavar="YYYY-MM-DD", help="The day to look at.")
@click.option("--limit", default=20, show_default=True, help="How many SMS texts to print.")
def preview_command(day_text: str, limit: int) -> None:
    """What would go out that day, per rule; writes nothing."""
    from ussd_app.current import runtime

    try:
        day = date.fromisoformat(day_text)
    except ValueError as exc:
        raise click.BadParameter(f"{day_text!r} is not a date (YYYY-MM-DD)", param_hint="--date") from exc
    rt = runtime()
    hours = SendingHours.from_config(rt.config)
    with rt.sessions() as session:
        preview = planner.preview_day(
            session,
            day,
            rt.clock.now(),
            hours,
            dial_code=rt.config.dial_code,
            cost_per_segment=rt.config.SMS_COST_PER_SEGMENT,
            budget=rt.config.SMS_DAILY_BUDGET,
        )
        session.rollback()
    click.echo(f"Reminders for {day:%A %Y-%m-%d} (preview: nothing written)")
    click.echo(f"{'rule':<5} {'loans':<8} {'due on':<11} {'instalments':>11} {'unpaid':>14} {'planned':>8}")
    for line in preview.rules:
        click.echo(
            f"{line.rule.code:<5} {line.rule.frequency:<8} {line.due_on.isoformat():<11} "
            f"{line.instalments:>11} {format_money(line.unpaid):>14} {line.planned:>8}"
        )
    click.echo(f"arrears reminders: {preview.arrears} members; promise reminders: {preview.promises}")
    messages = preview.messages
    going = [m for m in messages if m.phone and not m.opted_out and not m.over_budget]
    when = f"to send at {preview.send_at:%H:%M}" if preview.send_at else "too late to send (that day is over)"
    segments = sum(m.segments for m in going)
    digest_segments = sum(d.segments for d in preview.digests)
    click.echo(
        f"SMS: {len(going)} reminders {when}, {segments} segments; {len(preview.digests)} officers' digests, "
        f"{digest_segments} segments; estimated {format_money(preview.cost)}; "
        f"not sent: {sum(m.opted_out for m in messages)} opted out (STOP), "
        f"{sum(not m.phone for m in messages)} without phone, "
        f"{sum(m.over_budget for m in messages)} waiting for the budget (SMS_DAILY_BUDGET)"
    )
    for message in messages[:limit]:
        flag = " [STOP]" if message.opted_out else " [BUDGET]" if message.over_budget else ""
        who = f"{message.member_no} {message.phone or '-'} ({message.language}, {message.segments} seg)"
        click.echo(f"  {who}{flag}: {message.text}")
    if len(messages) > limit:
        click.echo(f"  … and {len(messages) - limit} more")
    for d in preview.digests[:limit]:
        who = f"digest {d.coop_code} {d.officer.phone} ({d.language}, {d.segments} seg)"
        click.echo(f"  {who}: " + d.text.replace("\n", " / "))


def register(app: Flask) -> None:
    """Add the `reminders` group."""
    app.cli.add_command(reminders)

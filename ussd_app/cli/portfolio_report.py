"""`report portfolio` and `report snapshots`: recovery figures and their month-end history."""

from __future__ import annotations

import json
from datetime import date

import click
from flask import Flask

from models.errors import NotFound
from models.portfolio.report import portfolio_report
from models.portfolio.snapshots import backfill
from models.production import find_cooperative
from ussd_app.cli.report_group import report, table

DEFINITIONS = (
    "collection rate: paid today on the month's instalments due up to the date / their amount due",
    "on-time rate: of the month's instalments due before the date, the share fully paid by their due date",
    "PARn: outstanding of active loans with an instalment more than n days late / outstanding",
    "written off: outstanding of written-off loans, outside PAR; recoveries: repayments after write-off",
)


@report.command("portfolio")
@click.option("--coop", "coop_name", metavar="NAME|CODE", help="One cooperative; default: all.")
@click.option("--date", "day", metavar="YYYY-MM-DD", help="As of this day; default: today.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
def portfolio_command(coop_name: str | None, day: str | None, as_json: bool) -> None:
    """Collection and on-time rates of the month to date, outstanding, PAR1/30/90, write-offs."""
    from ussd_app.current import runtime

    rt = runtime()
    today = rt.clock.today()
    try:
        as_of = date.fromisoformat(day) if day else today
    except ValueError:
        raise click.ClickException(f"--date {day!r}: expected YYYY-MM-DD") from None
    if as_of > today:
        raise click.ClickException(f"--date {as_of.isoformat()} is after today ({today.isoformat()})")
    with rt.sessions() as session:
        coop = None
        if coop_name:
            try:
                coop = find_cooperative(session, coop_name)
            except NotFound:
                raise click.ClickException(f"no cooperative named or coded {coop_name!r}") from None
        scope = ([coop.id], coop.name) if coop else (None, None)
        result = portfolio_report(session, as_of, today, *scope)
    figures = result.as_json()
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False))
        return
    click.echo(f"Portfolio, {coop.name if coop else 'all cooperatives'}, as of {as_of.isoformat()}")
    click.echo("")
    rows = [
        [key, percent_text(value) if _is_rate(key) else _amount(value)]
        for key, value in figures.items()
        if key not in ("date", "cooperative")
    ]
    click.echo(table(["figure", "value"], rows, right={1}))
    click.echo("")
    for line in DEFINITIONS:
        click.echo(line)


def _is_rate(key: str) -> bool:
    return key.endswith("_rate") or key.startswith("par")


def percent_text(value: float | None) -> str:
    """`12.5%`, or `-` when there was nothing to divide."""
    return "-" if value is None else f"{value * 100:.1f}%"


def _amount(value: int) -> str:
    return f"{value:,}".replace(",", " ")


@report.command("snapshots")
@click.option("--backfill", "do_backfill", is_flag=True, help="Write past month-ends missing one.")
@click.option("--rebuild", is_flag=True, help="Rewrite every past month-end.")
def snapshots_command(do_backfill: bool, rebuild: bool) -> None:
    """Month-end portfolio snapshots (PAR history); the worker's tick writes each month's at its end."""
    from ussd_app.current import runtime

    if not do_backfill:
        raise click.UsageError("say what to do: --backfill (add --rebuild to rewrite existing months)")
    rt = runtime()
    with rt.sessions() as session:
        months = backfill(session, rt.clock.today(), rt.clock.now(), rebuild=rebuild)
        session.commit()
    if months:
        click.echo(f"snapshots written: {len(months)} month(s), {months[0].key} to {months[-1].key}")
    else:
        click.echo("snapshots written: 0 (every past month already has one)")


def register(app: Flask) -> None:
    """Add the `report` group, which holds these commands."""
    app.cli.add_command(report)

"""`report production`: the coordinators' production figures, as a terminal table or CSV."""

from __future__ import annotations

import csv
import sys

import click
from flask import Flask
from sqlalchemy import select

from models import Cooperative
from models.errors import NotFound
from models.production import (
    Grouping,
    MissingMember,
    Period,
    PeriodError,
    ProductionSummary,
    cooperatives_without_products,
    current_period,
    find_cooperative,
    missing_members,
    month_period,
    parse_month,
    summarise,
)
from models.production_goal import GoalLine, goal_lines, goal_totals
from ussd_app.cli.report_group import report, table


@report.command("production")
@click.option("--coop", "coop_name", metavar="NAME", help="One cooperative (name or code); default: all.")
@click.option(
    "--month", metavar="YYYY-MM", help="Weeks whose Thursday falls in this month; default: this month."
)
@click.option(
    "--by",
    "grouping",
    type=click.Choice([g.value for g in Grouping]),
    default=Grouping.PRODUCT.value,
    show_default=True,
    help="Break the totals down per member or commune (always per product and unit).",
)
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout, for a spreadsheet.")
@click.option("--missing", is_flag=True, help="List the active members who have not reported in the period.")
@click.option(
    "--vs-baseline",
    is_flag=True,
    help="January to --month against the baseline and the doubling target, per cooperative and product.",
)
def production_command(
    coop_name: str | None, month: str | None, grouping: str, as_csv: bool, missing: bool, vs_baseline: bool
) -> None:
    """Production totals per product and unit over current reports, with the change on the period before."""
    from ussd_app.current import runtime

    rt = runtime()
    today = rt.clock.today()
    with rt.sessions() as session:
        cooperative = None
        if coop_name:
            try:
                cooperative = find_cooperative(session, coop_name)
            except NotFound:
                known = list(session.scalars(select(Cooperative.name).order_by(Cooperative.name).limit(11)))
                hint = ", ".join(known[:10]) + (", …" if len(known) > 10 else "") if known else "none yet"
                raise click.ClickException(f"no cooperative named {coop_name!r} (known: {hint})") from None
        try:
            period = month_period(*parse_month(month), today) if month else current_period(today)
        except PeriodError as exc:
            raise click.ClickException(str(exc)) from None
        scope = cooperative.name if cooperative is not None else "all cooperatives"
        if vs_baseline:
            lines = goal_lines(
                session,
                period.year,
                period.month,
                rt.config.PRODUCTION_BASELINE_YEAR or None,
                [cooperative.id] if cooperative is not None else None,
            )
            _print_goal(lines, period, rt.config.PRODUCTION_BASELINE_YEAR, scope, as_csv)
            return
        if missing:
            rows = missing_members(session, period, cooperative=cooperative)
            idle = cooperatives_without_products(session, cooperative=cooperative)
            _print_missing(rows, period, scope, as_csv, rt.clock.tz)
        else:
            summary = summarise(session, period, grouping=Grouping(grouping), cooperative=cooperative)
            idle = cooperatives_without_products(session, cooperative=cooperative)
            _print_summary(summary, scope, as_csv)
    if idle:
        # stderr, so that a CSV on stdout stays clean for the spreadsheet.
        click.echo(f"note: no products yet (nothing to report) in: {', '.join(idle)}", err=True)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _print_goal(lines: list[GoalLine], period: Period, baseline_year: int, scope: str, as_csv: bool) -> None:
    """Per cooperative and product, then per region, then the programme: production against the goal."""
    rows = [
        (
            line.cooperative,
            line.region or "",
            line.product,
            line.unit,
            line.actual,
            line.baseline,
            line.target,
            line.progress,
        )
        for line in lines
    ]
    rows += [
        ("(region)", t.region or "", t.product, t.unit, t.actual, t.baseline, t.target, t.progress)
        for t in goal_totals(lines, by_region=True)
    ]
    rows += [
        ("(programme)", "", t.product, t.unit, t.actual, t.baseline, t.target, t.progress)
        for t in goal_totals(lines, by_region=False)
    ]
    headers = ["cooperative", "region", "product", "unit", "production", "baseline", "target", "progress"]
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["period", *headers])
        for *head, progress in rows:
            writer.writerow(
                [f"{period.year}-01..{period.label}", *head, "" if progress is None else f"{progress:.4f}"]
            )
        return
    reference = f"the same months of {baseline_year}" if baseline_year else "imported baselines only"
    click.echo(
        f"Production {period.year}-01 to {period.label}, {scope}, against {reference}; "
        "target: twice the baseline unless imported"
    )
    shown = [(*head[:4], *(_number(v) for v in head[4:7]), _percent(progress)) for *head, progress in rows]
    click.echo(table(headers, shown, right={4, 5, 6, 7}))


def describe(period: Period) -> str:
    """`2026-11 (02/11/2026-29/11/2026, weeks 45-48)`, `to date` when the month is not over."""
    if not period.weeks:
        return f"{period.label} (no week begun yet)"
    first, last = period.weeks[0], period.weeks[-1]
    numbers = f"week {first.number}" if first == last else f"weeks {first.number}-{last.number}"
    days = f"{period.first_day:%d/%m/%Y}-{period.last_day:%d/%m/%Y}"
    return f"{period.label}{' to date' if period.to_date else ''} ({days}, {numbers})"


def _number(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def _change(quantity: int, previous: int) -> str:
    if not previous:
        return "new" if quantity else "-"
    percent = 100.0 * (quantity - previous) / previous
    return f"{quantity - previous:+,}".replace(",", " ") + f" ({percent:+.1f}%)"


def _print_summary(summary: ProductionSummary, scope: str, as_csv: bool) -> None:
    group = list(summary.group_columns)
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(
            [
                "period",
                *group,
                "product",
                "unit",
                "quantity",
                "reporting_members",
                "previous_period",
                "previous_quantity",
                "change",
                "change_percent",
            ]
        )
        for row in summary.rows:
            percent = row.change_percent
            writer.writerow(
                [
                    summary.period.label,
                    *row.group,
                    row.product,
                    row.unit,
                    row.quantity,
                    row.reporters,
                    summary.compared_with.label,
                    row.previous,
                    row.change,
                    "" if percent is None else f"{percent:.1f}",
                ]
            )
        return
    click.echo(f"Production, {scope}: {describe(summary.period)}")
    click.echo(f"compared with {describe(summary.compared_with)}")
    click.echo("")
    if not summary.rows:
        click.echo("No production reported in either period.")
    else:
        headers = [*group, "product", "unit", "quantity", "members", "previous", "change"]
        n = len(group)
        cells = [
            [
                *row.group,
                row.product,
                row.unit,
                _number(row.quantity),
                str(row.reporters),
                _number(row.previous),
                _change(row.quantity, row.previous),
            ]
            for row in summary.rows
        ]
        click.echo(table(headers, cells, right={n + 2, n + 3, n + 4, n + 5}))
    click.echo("")
    click.echo(
        f"Reporting members: {summary.reporters} of {summary.active_members} active"
        f" (previous period: {summary.previous_reporters})"
    )


def _print_missing(rows: list[MissingMember], period: Period, scope: str, as_csv: bool, tz) -> None:
    def last(member: MissingMember) -> str:
        if member.last_reported_at is None:
            return ""
        return member.last_reported_at.astimezone(tz).date().isoformat()

    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["period", "cooperative", "member_no", "name", "phone", "last_report"])
        for m in rows:
            writer.writerow([period.label, m.cooperative, m.member_no, m.name, m.phone or "", last(m)])
        return
    click.echo(f"Members who have not reported, {scope}: {describe(period)}")
    click.echo("")
    if not rows:
        click.echo("Every active member has reported.")
        return
    cells = [[m.cooperative, m.member_no, m.name, m.phone or "", last(m) or "never"] for m in rows]
    click.echo(table(["cooperative", "member_no", "name", "phone", "last report"], cells, right=set()))
    click.echo("")
    click.echo(f"{len(rows)} member(s) to follow up")


def register(app: Flask) -> None:
    """Add the `report` group (production here; portfolio and snapshots in ussd_app.cli.portfolio_report)."""
    app.cli.add_command(report)

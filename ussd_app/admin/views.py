"""Dashboards (overall and per cooperative), the overdue list and its CSV, and the member page."""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass

from flask import Response, abort, redirect, render_template, request, url_for
from sqlalchemy import select

from models import audit
from models.attention import attention
from models.cooperative import Cooperative, Member
from models.enums import Source
from models.member_list import cooperative_members
from models.paging import Page
from models.portfolio import (
    Month,
    cooperative_lines,
    dashboard,
    empty_portfolio,
    member_file,
    overdue_list,
    parse_sort,
)
from models.scope import region_key, regions
from models.search import matching_cooperatives
from ussd_app.admin import charts
from ussd_app.admin.pages import bp
from ussd_app.admin.security import coordinator_only, current_user, require_cooperative

log = logging.getLogger("mbolo.admin")

# The page shows the most late members first, up to this many; the CSV holds them all.
OVERDUE_SHOWN = 500
# Cooperatives a page of the overview's table shows; the figures are computed for all of them once.
TABLE_PAGE = 50
# PAR30 above this is shown in red: the usual alert level for a microfinance portfolio.
PAR_ALERT = 0.05
CSV_COLUMNS = (
    "cooperative",
    "member_no",
    "name",
    "phone",
    "overdue",
    "outstanding",
    "days_late",
    "last_reminder_at",
    "last_reminder_status",
    "opted_out",
)


def _chosen_month(today) -> Month:
    """`?month=YYYY-MM`, else this month; a month after this one is brought back to this one."""
    current = Month.of(today)
    raw = request.args.get("month", "")
    try:
        month = Month.parse(raw) if raw else current
    except ValueError:
        return current
    return min(month, current, key=lambda m: (m.year, m.month))


def _today():
    from ussd_app.current import runtime

    return runtime().clock.today()


@dataclass(frozen=True)
class TableFilter:
    """What narrows the overview: the account's scope, `?q=` (name or code), `?region=`.

    `ids` are the cooperatives of the table, and every section of the overview counts them alone.
    """

    ids: list[int] | None  # None: every cooperative
    q: str
    region_key: str

    @property
    def narrowed(self) -> str:
        """Why the overview is not the whole programme ('' when it is), as the page says it."""
        parts = []
        user = current_user()
        if user.region:
            parts.append(f"région {user.region}")
        if self.region_key:
            parts.append("filtre région")
        if self.q:
            parts.append(f"recherche « {self.q} »")
        return ", ".join(parts)

    @property
    def args(self) -> dict:
        """The query arguments that carry the filter to the next page, sort or CSV."""
        return {k: v for k, v in (("q", self.q), ("region", request.args.get("region", ""))) if v}


def table_filter(session) -> TableFilter:
    """The account's cooperatives, narrowed by `?q=` and `?region=`."""
    scope = current_user().scope
    ids = scope.cooperative_ids(session)
    q = request.args.get("q", "").strip()[:80]
    wanted_region = region_key(request.args.get("region", ""))
    if wanted_region:
        rows = session.execute(select(Cooperative.id, Cooperative.region))
        in_region = {cid for cid, region in rows if region_key(region) == wanted_region}
        ids = [cid for cid in (ids if ids is not None else in_region) if cid in in_region]
    if q:
        found = {hit.id for hit in matching_cooperatives(session, q, scope)}
        ids = [cid for cid in (ids if ids is not None else found) if cid in found]
    return TableFilter(ids, q, wanted_region)


def _render_dashboard(cooperative: Cooperative | None):
    from ussd_app.current import db_session, runtime

    rt = runtime()
    session = db_session()
    today = _today()
    month = _chosen_month(today)
    sort = request.args.get("sort", "")
    narrowing = table_filter(session) if cooperative is None else None
    lines = cooperative_lines(session, today, month, narrowing.ids, sort=sort) if narrowing else []
    overall = None
    if cooperative is None:
        overall = empty_portfolio(today)  # the overview's total is its table's sum, computed once
        for line in lines:
            overall.absorb(line.portfolio)
    table_page = Page.of(request.args.get("page"), TABLE_PAGE, len(lines))
    shown = lines[table_page.offset : table_page.offset + TABLE_PAGE]
    # Every section, the needs-attention lists too, counts the same cooperatives: this one, or the
    # table's (the account's scope narrowed by the filters; None for a programme coordinator's whole
    # table).
    board = dashboard(
        session,
        month,
        today,
        daily_budget=rt.config.SMS_DAILY_BUDGET,
        cooperative_ids=[cooperative.id] if cooperative else narrowing.ids,
        tz=rt.config.tz,
        figures=overall,
    )
    figures = board.portfolio
    members = (
        cooperative_members(session, cooperative.id, today, request.args.get("page")) if cooperative else None
    )
    return render_template(
        "admin/dashboard.html",
        cooperative=cooperative,
        members=members,
        board=board,
        attention=attention(session, today, [cooperative.id] if cooperative else narrowing.ids),
        lines=shown,
        table_page=table_page,
        table_filter=narrowing,
        table_args=narrowing.args if narrowing else {},
        narrowed=narrowing.narrowed if narrowing else "",
        region_choices=_region_choices(session) if narrowing else [],
        par_alert=PAR_ALERT,
        sort=parse_sort(sort),
        open_definitions=request.args.get("definitions") == "1",
        month=month,
        previous_month=month.shift(-1),
        next_month=month.shift(1) if month != Month.of(today) else None,
        charts={
            "history": charts.history_chart(board.history),
            "series": charts.series_charts(board.series),
            "ageing": charts.ageing_chart(figures.buckets),
            "production": charts.production_chart(board.production),
            "reminders": charts.reminders_chart(board.reminders),
            "par30": charts.gauge(
                "PAR30", figures.par30, charts.percent(figures.par30), "bad", mark=PAR_ALERT
            ),
            "rate": charts.gauge(
                "Taux de recouvrement",
                board.collection.rate,
                charts.percent(board.collection.rate),
                "ok",
            ),
            "budget": charts.gauge(
                "Budget SMS du mois",
                board.sms.used,
                charts.percent(board.sms.used) if board.sms.budget else "sans budget",
                "sent",
            ),
        },
    )


def _region_choices(session) -> list[tuple[str, str]]:
    """(key, spelling) of the regions the account sees, by name."""
    user = current_user()
    if user.region:
        return [(region_key(user.region), user.region)]
    return sorted(regions(session).items(), key=lambda item: item[0])


@bp.get("/")
def index():
    """The coordinator's overall dashboard; a manager goes straight to their cooperative."""
    user = current_user()
    if not user.is_coordinator:
        return redirect(url_for("admin.cooperative", cooperative_id=user.cooperative_id, **request.args))
    return _render_dashboard(None)


def _cooperative_or_404(cooperative_id: int) -> Cooperative:
    from ussd_app.current import db_session

    require_cooperative(cooperative_id)
    coop = db_session().get(Cooperative, cooperative_id)
    if coop is None:
        abort(404)
    return coop


@bp.get("/cooperatives/<int:cooperative_id>")
def cooperative(cooperative_id: int):
    """One cooperative's dashboard."""
    return _render_dashboard(_cooperative_or_404(cooperative_id))


@bp.get("/overdue")
def overdue_all():
    """Every cooperative's overdue members (coordinators)."""
    coordinator_only()
    return _render_overdue(None)


@bp.get("/cooperatives/<int:cooperative_id>/overdue")
def overdue(cooperative_id: int):
    """One cooperative's overdue members."""
    return _render_overdue(_cooperative_or_404(cooperative_id))


def _overdue_lines(session, cooperative: Cooperative | None):
    """One cooperative's overdue list, or the account's scope's."""
    if cooperative is not None:
        return overdue_list(session, _today(), cooperative.id)
    return overdue_list(session, _today(), cooperative_ids=current_user().scope.cooperative_ids(session))


def _render_overdue(cooperative: Cooperative | None):
    from ussd_app.current import db_session

    lines = _overdue_lines(db_session(), cooperative)
    return render_template(
        "admin/overdue.html",
        cooperative=cooperative,
        lines=lines[:OVERDUE_SHOWN],
        count=len(lines),
        total=sum(line.overdue for line in lines),
        today=_today(),
    )


@bp.get("/overdue.csv")
def overdue_all_csv():
    """The overall overdue list as CSV (coordinators)."""
    coordinator_only()
    return _overdue_csv(None)


@bp.get("/cooperatives/<int:cooperative_id>/overdue.csv")
def overdue_csv(cooperative_id: int):
    """One cooperative's overdue list as CSV."""
    return _overdue_csv(_cooperative_or_404(cooperative_id))


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (=, +, -, @ at the start)."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not text.lstrip("+-").isdigit():
        return "'" + text
    return text


def _local(at, tz) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if at else ""


def _overdue_csv(cooperative: Cooperative | None) -> Response:
    """UTF-8 with BOM and `;` so that a French spreadsheet opens it in columns; the export is audited."""
    from ussd_app.current import db_session, runtime

    session = db_session()
    today = _today()
    lines = _overdue_lines(session, cooperative)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    tz = runtime().config.tz
    for line in lines:
        writer.writerow(
            [
                _cell(line.cooperative),
                _cell(line.member_no),
                _cell(line.name),
                _cell(line.phone),
                line.overdue,
                line.outstanding,
                line.days_late,
                _local(line.last_reminder_at, tz),
                line.last_reminder_status or "",
                "yes" if line.opted_out else "no",
            ]
        )
    user = current_user()
    audit.record(
        session,
        actor=f"user:{user.email}",
        action="admin.export_overdue",
        target=f"cooperative:{cooperative.id}" if cooperative else "cooperative:all",
        source=Source.WEB,
        at=runtime().clock.now(),
        after={"rows": len(lines)},
    )
    session.commit()
    name = f"retards-{cooperative.code if cooperative else 'tous'}-{today.isoformat()}.csv"
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


COOPERATIVES_CSV_COLUMNS = (
    "cooperative",
    "code",
    "region",
    "month",
    "through",
    "outstanding",
    "overdue",
    "par1",
    "par30",
    "par90",
    "month_due_to_date",
    "month_collected",
    "collection_rate",
    "on_time_rate",
    "written_off",
    "recoveries",
)


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


@bp.get("/cooperatives.csv")
def cooperatives_csv():
    """The cooperatives table with every figure (coordinators): rates as fractions, as `report portfolio`."""
    from ussd_app.current import db_session

    coordinator_only()
    session = db_session()
    today = _today()
    month = _chosen_month(today)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(COOPERATIVES_CSV_COLUMNS)
    narrowing = table_filter(session)
    for line in cooperative_lines(session, today, month, narrowing.ids, sort=request.args.get("sort")):
        p, c = line.portfolio, line.collection
        writer.writerow(
            [
                _cell(line.name),
                _cell(line.code),
                _cell(line.region),
                month.key,
                c.through.isoformat() if c.through else "",
                p.outstanding,
                p.overdue,
                _rate(p.par1),
                _rate(p.par30),
                _rate(p.par90),
                c.due,
                c.collected,
                _rate(c.rate),
                _rate(c.on_time_rate),
                p.written_off_outstanding,
                p.recoveries,
            ]
        )
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="cooperatives-{month.key}.csv"'},
    )


@bp.get("/members/<int:member_id>")
def member(member_id: int):
    """A member's position, schedule, repayments, savings, production and SMS."""
    from ussd_app.current import db_session

    session = db_session()
    person = session.get(Member, member_id)
    if person is None:
        require_cooperative(None)  # same answer for "not there" and "not yours" for managers
        abort(404)
    require_cooperative(person.cooperative_id)
    return render_template("admin/member.html", file=member_file(session, person, _today()), today=_today())

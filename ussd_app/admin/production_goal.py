"""`/admin/production`: production against the doubling goal, within the account's scope."""

from __future__ import annotations

from flask import abort, render_template, request

from models.cooperative import Cooperative
from models.paging import Page
from models.portfolio import Month
from models.production_goal import goal_lines, goal_totals
from ussd_app.admin.goal_chart import goal_chart
from ussd_app.admin.pages import bp
from ussd_app.admin.security import current_user

PAGE_SIZE = 50


@bp.get("/production")
def production_goal():
    """Per cooperative and product, per region, and for the scope: production, baseline, target, progress."""
    from ussd_app.current import db_session, runtime

    rt = runtime()
    session = db_session()
    today = rt.clock.today()
    try:
        month = Month.parse(request.args["month"]) if request.args.get("month") else Month.of(today)
    except ValueError:
        month = Month.of(today)
    if (month.year, month.month) > (today.year, today.month):
        month = Month.of(today)
    user = current_user()
    cooperative = None
    if request.args.get("cooperative"):
        try:
            cooperative = session.get(Cooperative, int(request.args["cooperative"]))
        except ValueError:
            abort(404)
        if not user.may_read(cooperative):
            abort(403)
    ids = [cooperative.id] if cooperative is not None else user.scope.cooperative_ids(session)
    baseline_year = rt.config.PRODUCTION_BASELINE_YEAR or None
    lines = goal_lines(session, month.year, month.month, baseline_year, ids)
    regions = goal_totals(lines, by_region=True)
    overall = goal_totals(lines, by_region=False)
    page = Page.of(request.args.get("page"), PAGE_SIZE, len(lines))
    return render_template(
        "admin/production_goal.html",
        month=month,
        cooperative=cooperative,
        baseline_year=baseline_year,
        lines=lines[page.offset : page.offset + PAGE_SIZE],
        page=page,
        regions=regions,
        overall=overall,
        chart=goal_chart("Production et objectif (doubler)", overall),
    )

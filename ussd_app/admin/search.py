"""`/admin/search?q=`: members and cooperatives, within the account's scope."""

from __future__ import annotations

from flask import render_template, request

from models.search import search as run_search
from ussd_app.admin.pages import bp
from ussd_app.admin.security import current_user


@bp.get("/search")
def search():
    """Members by name, number or phone, cooperatives by name or code; members paged."""
    from ussd_app.current import db_session, runtime

    result = run_search(
        db_session(),
        request.args.get("q", ""),
        current_user().scope,
        request.args.get("page"),
        region=runtime().config.DEFAULT_REGION,
    )
    return render_template("admin/search.html", result=result)

"""`/admin/exports`: portfolio (per loan), savings (per member) and production (per cooperative,
product and week) as CSV, within the account's scope, streamed as the rows are read.

Same file conventions as the overdue CSV: UTF-8 with a BOM and `;`, so that a French spreadsheet
opens it in columns; cells a spreadsheet would run as a formula are quoted; every export is audited
(committed before the first byte is sent, so a file never leaves unrecorded).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator

from flask import Response, abort, render_template, request, stream_with_context
from sqlalchemy import select

from models import audit
from models.cooperative import Cooperative
from models.enums import Source
from models.exports import (
    PORTFOLIO_COLUMNS,
    PRODUCTION_COLUMNS,
    SAVINGS_COLUMNS,
    portfolio_rows,
    production_rows,
    savings_rows,
)
from ussd_app.admin.pages import bp
from ussd_app.admin.security import current_user

FLUSH_ROWS = 500


def cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (=, +, -, @ at the start)."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not text.lstrip("+-").isdigit():
        return "'" + text
    return text


def csv_chunks(header: Iterable[str], rows: Iterable[tuple]) -> Iterator[str]:
    """The file in pieces of a few hundred rows: BOM, header, rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(header)
    for n, row in enumerate(rows, 1):
        writer.writerow([cell(v) for v in row])
        if n % FLUSH_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _scope_ids(session) -> tuple[list[int] | None, str, str]:
    """The cooperatives exported (`?cooperative=ID` narrows to one), a file-name part and the audit target."""
    user = current_user()
    wanted = request.args.get("cooperative")
    if wanted:
        try:
            coop = session.get(Cooperative, int(wanted))
        except ValueError:
            abort(404)
        if not user.may_read(coop):
            abort(403)
        return [coop.id], coop.code, f"cooperative:{coop.id}"
    ids = user.scope.cooperative_ids(session)
    if user.scope.region is not None:
        return ids, "region", f"region:{user.region}"
    return ids, "tous", "cooperative:all"


EXPORTS: dict[str, tuple[tuple[str, ...], Callable]] = {
    "portfolio": (PORTFOLIO_COLUMNS, lambda s, today, ids: portfolio_rows(s, today, ids)),
    "savings": (SAVINGS_COLUMNS, lambda s, today, ids: savings_rows(s, ids)),
    "production": (PRODUCTION_COLUMNS, lambda s, today, ids: production_rows(s, ids)),
}


@bp.get("/exports")
def exports():
    """The export page: the three files for the account's scope, or one cooperative's."""
    from ussd_app.current import db_session

    session = db_session()
    scope = current_user().scope
    coops = session.scalars(
        scope.restrict(select(Cooperative).order_by(Cooperative.name), Cooperative.id, session)
    ).all()
    return render_template("admin/exports.html", names=list(EXPORTS), coops=coops)


@bp.get("/exports/<name>.csv")
def export(name: str):
    """One export as a streamed CSV (audited)."""
    from ussd_app.current import db_session, runtime

    if name not in EXPORTS:
        abort(404)
    rt = runtime()
    session = db_session()
    ids, part, target = _scope_ids(session)
    today = rt.clock.today()
    user = current_user()
    audit.record(
        session,
        actor=f"user:{user.email}",
        action=f"admin.export_{name}",
        target=target,
        source=Source.WEB,
        at=rt.clock.now(),
    )
    session.commit()
    columns, rows = EXPORTS[name]

    def body() -> Iterator[str]:
        try:
            yield from csv_chunks(columns, rows(session, today, ids))
        finally:
            session.rollback()  # the read transaction ends with the file, not with the request's teardown

    body = stream_with_context(body())
    filename = f"{name}-{part}-{today.isoformat()}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

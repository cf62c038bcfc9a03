"""The app under benchmark: the real app plus two reference endpoints that exist only here.

(a) POST /bench/hi     — bare Flask: `CON hi`.
(b) POST /bench/floor  — the I/O floor of a hop, written by hand: one Redis GET, one pipelined SET
                         with EX, one `SELECT … FROM member WHERE id = :id` (autocommit: one round trip).
(c) POST /ussd         — the real hop.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from sqlalchemy import text

from ussd_app import create_app
from ussd_app.current import runtime

app = create_app()
bp = Blueprint("bench", __name__)
MEMBER = text("SELECT id, name, language FROM member WHERE id = :id")


@bp.post("/bench/hi")
def hi() -> Response:
    """Nothing but Flask."""
    return Response("CON hi", mimetype="text/plain")


@bp.post("/bench/floor")
def floor() -> Response:
    """The minimum a hop must do: read the session, write it back with its TTL, read the member."""
    rt = runtime()
    key = "bench:s:" + request.form.get("sessionId", "")
    previous = rt.redis.get(key)
    pipe = rt.redis.pipeline(transaction=False)
    pipe.set(key, (previous or b"")[:64] + b"x", ex=180)
    pipe.execute()
    # Autocommit: the statement is the only round trip (no BEGIN before it, no ROLLBACK after).
    with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        row = conn.execute(MEMBER, {"id": int(request.form.get("memberId", "1"))}).first()
    return Response("CON " + (row.name if row else "?"), mimetype="text/plain")


app.register_blueprint(bp)

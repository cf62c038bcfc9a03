"""Is the database reachable, is Redis reachable: GET /healthz for monitors, GET / for people."""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify, render_template_string
from sqlalchemy import text

bp = Blueprint("health", __name__)

# Plain HTML, nothing loaded from elsewhere: the page a person finds at the service's address.
HOME = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mbolo</title></head>
<body>
<h1>Mbolo</h1>
<p>USSD and SMS service for the members of Senegal's solidarity cooperatives.</p>
<p>Status: {{ status }} (database {{ checks.database }}, Redis {{ checks.redis }};
<a href="/healthz">/healthz</a>).</p>
<ul>
<li><a href="/admin/">Coordinator web</a></li>
<li><a href="/simulator/">Phone simulator</a></li>
</ul>
<p>Webhooks: <code>POST /ussd</code>, <code>/ussd/events</code>, <code>/sms/inbound</code>,
<code>/sms/delivery</code>.</p>
</body></html>
"""


def service_checks() -> dict[str, str]:
    """`ok` or `down: <error type>` for the database and for Redis."""
    from ussd_app.current import runtime

    rt = runtime()
    checks = {}
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - boundary: any failure means "down"
        checks["database"] = f"down: {type(exc).__name__}"
    try:
        rt.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001 - boundary: any failure means "down"
        checks["redis"] = f"down: {type(exc).__name__}"
    return checks


@bp.get("/healthz")
def healthz():
    """200 when both answer; 503 naming what is down."""
    checks = service_checks()
    down = [name for name, state in checks.items() if state != "ok"]
    body = {"status": "ok" if not down else "down", "down": down, "checks": checks}
    return jsonify(body), 200 if not down else 503


@bp.get("/")
def home():
    """The service's name, its health and where to go next (a person's first stop, never a 404)."""
    checks = service_checks()
    status = "ok" if all(state == "ok" for state in checks.values()) else "degraded"
    return render_template_string(HOME, status=status, checks=checks)


def init_app(app: Flask) -> None:
    """Register the health endpoints."""
    app.register_blueprint(bp)

"""GET /healthz: is the database reachable, is Redis reachable."""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify
from sqlalchemy import text

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 when both answer; 503 naming what is down."""
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
    down = [name for name, state in checks.items() if state != "ok"]
    body = {"status": "ok" if not down else "down", "down": down, "checks": checks}
    return jsonify(body), 200 if not down else 503


def init_app(app: Flask) -> None:
    """Register the health endpoint."""
    app.register_blueprint(bp)

"""The Flask application: webhooks, admin pages and the CLI over the shared runtime."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from config import Config, load_config
from config.logs import configure as configure_logs
from config.settings import DEV_SECRET_KEY
from sms.runtime import Runtime
from ussd_app.web_request import BodyCap, WebRequest


def create_app(config: Config | None = None, runtime: Runtime | None = None) -> Flask:
    """Build the app from the environment (or `config`); refuses to start on a bad value."""
    if runtime is None:
        runtime = Runtime.from_config(config or load_config())
    cfg = runtime.config
    configure_logs(cfg.LOG_LEVEL)
    app = Flask(__name__, instance_path=cfg.INSTANCE_DIR)
    app.request_class = WebRequest
    app.wsgi_app = BodyCap(app.wsgi_app)
    app.config.from_mapping(cfg.as_flask())
    app.config["SECRET_KEY"] = cfg.SECRET_KEY or DEV_SECRET_KEY
    app.extensions["mbolo"] = runtime

    @app.teardown_appcontext
    def _close_session(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    from ussd_app import cli, health

    health.init_app(app)
    cli.init_app(app)
    for name in ("ussd_app.ussd_webhook", "ussd_app.sms_webhooks", "ussd_app.admin", "ussd_app.metrics"):
        _init_optional(app, name)
    return app


def _init_optional(app: Flask, module: str) -> None:
    """Blueprints that later parts of the product add register themselves here once present."""
    import importlib

    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return
    mod.init_app(app)


def runtime() -> Runtime:
    """The current app's runtime (database, Redis, clock)."""
    return current_app.extensions["mbolo"]


def db_session() -> Session:
    """The request's database session, closed at teardown."""
    if "db_session" not in g:
        g.db_session = runtime().sessions()
    return g.db_session

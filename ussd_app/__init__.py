"""The Flask application: webhooks, admin pages and the CLI over the shared runtime."""

from __future__ import annotations

from flask import Flask, g

from config import Config, load_config
from config.logs import configure as configure_logs
from sms.jobs import enqueue_send
from sms.runtime import Runtime
from ussd_app import admin, cli, health, metrics, sms_webhooks, ussd_webhook


def create_app(config: Config | None = None, runtime: Runtime | None = None) -> Flask:
    """Build the app from the environment (or `config`); refuses to start on a bad value."""
    if runtime is None:
        runtime = Runtime.from_config(config or load_config(), enqueue_send)
    cfg = runtime.config
    configure_logs(cfg.LOG_LEVEL)
    app = Flask(__name__, instance_path=cfg.INSTANCE_DIR)
    app.config.from_mapping(cfg.as_flask())
    app.config["SECRET_KEY"] = cfg.SECRET_KEY or "dev-secret-key"
    app.extensions["mbolo"] = runtime

    @app.teardown_appcontext
    def _close_session(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    health.init_app(app)
    cli.init_app(app)
    ussd_webhook.init_app(app)
    sms_webhooks.init_app(app)
    admin.init_app(app)
    metrics.init_app(app)
    return app

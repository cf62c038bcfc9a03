"""scripts/run_demo.py (`make run`): the web pages' addresses and the development coordinator account."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config.embedded import sqlite_url
from models.admin_user import AdminUser, authenticate
from models.database import make_engine, make_session_factory
from models.migrate import upgrade
from tests.conftest import DEFAULT_NOW

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import run_demo  # noqa: E402


@pytest.fixture
def demo_env(tmp_path):
    """The environment `make run` hands its children: a migrated SQLite database of its own."""
    url = sqlite_url(str(tmp_path))
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return {"DATABASE_URL": url, "APP_ENV": "development"}


def accounts(env) -> list[AdminUser]:
    engine = make_engine(env["DATABASE_URL"])
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(AdminUser)))
    finally:
        engine.dispose()


def test_the_demo_coordinator_is_created_once_and_its_password_logs_in(demo_env):
    """First run: a coordinator with the printed password; second run: nothing new, no password shown."""
    password = run_demo.ensure_demo_account(demo_env)
    assert password and len(password) >= 10
    assert run_demo.ensure_demo_account(demo_env) is None
    [user] = accounts(demo_env)
    assert (user.email, user.role, user.cooperative_id) == (run_demo.DEMO_EMAIL, "coordinator", None)
    assert password not in user.password_hash
    engine = make_engine(demo_env["DATABASE_URL"])
    with make_session_factory(engine)() as session:
        assert authenticate(session, run_demo.DEMO_EMAIL, password, DEFAULT_NOW) is not None
        assert session.scalar(select(func.count()).select_from(AdminUser)) == 1
    engine.dispose()


def test_no_demo_account_in_production(demo_env):
    """APP_ENV=production: accounts are made on purpose with the users CLI, never by `make run`."""
    production = {
        **demo_env,
        "APP_ENV": "production",
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/never",  # refused before connecting
        "WEBHOOK_TOKEN": "t" * 32,
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "PIN_SECRET": "p" * 32,
        "SECRET_KEY": "s" * 32,
    }
    assert run_demo.ensure_demo_account(production) is None
    assert accounts(demo_env) == []
    lines = "\n".join(run_demo.how_to_log_in("5000", True, None))
    assert "users create" in lines and run_demo.DEMO_EMAIL not in lines


def test_the_banner_gives_the_web_addresses_and_how_to_log_in():
    """The coordinator web and the simulator addresses; the password only when just created."""
    fresh = run_demo.how_to_dial("5050", run_demo.how_to_log_in("5050", False, "pw-shown-once"))
    assert "http://127.0.0.1:5050/admin/" in fresh and "http://127.0.0.1:5050/simulator/" in fresh
    assert f"{run_demo.DEMO_EMAIL}, password pw-shown-once" in fresh
    later = "\n".join(run_demo.how_to_log_in("5050", False, None))
    assert run_demo.DEMO_EMAIL in later and "set-password" in later and "password pw" not in later


def test_make_run_with_orange_points_every_orange_variable_at_a_local_server():
    """SMS_GATEWAY=orange without ORANGE_API_URL: a local server, and credentials the config accepts."""
    from config import load_config

    local_orange_environment = run_demo.local_orange_environment

    orange = local_orange_environment({"SMS_GATEWAY": "orange"}, 8123)
    assert orange["ORANGE_API_URL"] == "http://127.0.0.1:8123"
    assert load_config({"SMS_GATEWAY": "orange", **orange}).ORANGE_SENDER_ADDRESS.startswith("tel:+")
    assert (
        local_orange_environment({"SMS_GATEWAY": "orange", "ORANGE_API_URL": "https://api.orange.com"}, 1)
        is None
    )
    assert local_orange_environment({"SMS_GATEWAY": "orange", "APP_ENV": "production"}, 1) is None
    assert local_orange_environment({"SMS_GATEWAY": "africastalking"}, 1) is None

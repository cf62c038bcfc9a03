"""Configuration values are checked at start-up, each with a clear message."""

import pytest

from config import ConfigError, load_config


def test_defaults_load_without_any_variable():
    """A newcomer needs no environment at all."""
    cfg = load_config({})
    assert cfg.APP_ENV == "development"
    assert cfg.USSD_SESSION_TTL == 180
    assert cfg.QUIET_HOURS == (20, 8)
    assert cfg.PRODUCTION_RECEIPT_SMS is False


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"USSD_SESSION_TTL": "abc"}, "USSD_SESSION_TTL='abc'"),
        ({"USSD_SESSION_TTL": "5"}, "USSD_SESSION_TTL='5'"),
        ({"QUIET_HOURS": "late"}, "QUIET_HOURS='late'"),
        ({"QUIET_HOURS": "25-8"}, "QUIET_HOURS"),
        ({"REMINDER_HOUR": "24"}, "REMINDER_HOUR='24'"),
        ({"INSTALMENT_ROUNDING": "0"}, "INSTALMENT_ROUNDING"),
        ({"APP_ENV": "staging"}, "APP_ENV='staging'"),
        ({"SMS_GATEWAY": "carrier-pigeon"}, "SMS_GATEWAY"),
        ({"TIMEZONE": "Mars/Olympus"}, "TIMEZONE"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL"),
        ({"PRODUCTION_RECEIPT_SMS": "maybe"}, "PRODUCTION_RECEIPT_SMS"),
        ({"SMS_GATEWAY": "africastalking"}, "AT_API_KEY"),
        ({"USSD_SERVICE_CODES": "*384*1#,hello"}, "USSD_SERVICE_CODES"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(env, message):
    """Each bad value names its variable and what was expected."""
    with pytest.raises(ConfigError) as excinfo:
        load_config(env)
    assert message in str(excinfo.value)


def test_production_refuses_to_start_without_its_secrets():
    """APP_ENV=production needs WEBHOOK_TOKEN, DATABASE_URL, REDIS_URL and PIN_SECRET."""
    with pytest.raises(ConfigError) as excinfo:
        load_config({"APP_ENV": "production"})
    for name in ("WEBHOOK_TOKEN", "DATABASE_URL", "REDIS_URL", "PIN_SECRET"):
        assert f"{name}: required when APP_ENV=production" in str(excinfo.value)


def test_production_starts_with_everything_set():
    """A complete production environment loads."""
    cfg = load_config(
        {
            "APP_ENV": "production",
            **STRONG,
            "QUIET_HOURS": "21-7",
            "USSD_SERVICE_CODES": "*384*123#, *384*124#",
        }
    )
    assert cfg.is_production
    assert cfg.QUIET_HOURS == (21, 7)
    assert cfg.USSD_SERVICE_CODES == ("*384*123#", "*384*124#")


STRONG = {
    "APP_ENV": "production",
    "DATABASE_URL": "postgresql://u@db/mbolo",
    "REDIS_URL": "redis://:pw@cache:6379/0",
    "WEBHOOK_TOKEN": "8c1f0e5d2a7b4c9e8f3a6d1b0c5e7f2a",
    "PIN_SECRET": "3b9d4e1f7a2c8e5b0d6f9a1c4e7b2d8f",
    "SECRET_KEY": "f0a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5",
}


def _example_env() -> dict[str, str]:
    """deploy/mbolo.env.example as shipped, read the way systemd's EnvironmentFile reads it."""
    from pathlib import Path

    env = {}
    for line in (
        (Path(__file__).resolve().parent.parent / "deploy" / "mbolo.env.example").read_text().splitlines()
    ):
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    return env


def test_production_refuses_the_deploy_example_as_shipped():
    """Every placeholder secret of the example file is refused by name: nobody can run on them."""
    with pytest.raises(ConfigError) as excinfo:
        load_config(_example_env())
    for name in ("WEBHOOK_TOKEN", "PIN_SECRET", "SECRET_KEY"):
        assert f"{name}: still the example's placeholder" in str(excinfo.value)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"WEBHOOK_TOKEN": "x"}, "WEBHOOK_TOKEN: at least 32 characters"),
        ({"PIN_SECRET": "a" * 31}, "PIN_SECRET: at least 32 characters"),
        ({"SECRET_KEY": "change-me-" + "q" * 40}, "SECRET_KEY: still the example's placeholder"),
        ({"PIN_SECRET": "dev-only-pin-secret-change-me"}, "PIN_SECRET: a development or test value"),
        ({"SECRET_KEY": "test-secret-key"}, "SECRET_KEY: a development or test value"),
        ({"SECRET_KEY": STRONG["PIN_SECRET"]}, "SECRET_KEY: must differ from PIN_SECRET"),
        ({"PIN_SECRET": STRONG["WEBHOOK_TOKEN"]}, "PIN_SECRET: must differ from WEBHOOK_TOKEN"),
        ({"DATABASE_URL": "sqlite:////var/lib/mbolo/mbolo.db"}, "DATABASE_URL: production needs PostgreSQL"),
    ],
)
def test_production_refuses_weak_secrets_and_sqlite(changes, message):
    """Short, shared, placeholder or published secrets and a SQLite database stop the start, named."""
    with pytest.raises(ConfigError) as excinfo:
        load_config({**STRONG, **changes})
    assert message in str(excinfo.value)


def test_strong_production_settings_load():
    """Three distinct 32-character random secrets and PostgreSQL: the service starts."""
    assert load_config(STRONG).is_production


def test_max_amount_is_configurable_and_checked():
    """MAX_AMOUNT defaults to 10 000 000 F and must be a positive whole number."""
    assert load_config({}).MAX_AMOUNT == 10_000_000
    assert load_config({"MAX_AMOUNT": "500000"}).MAX_AMOUNT == 500_000
    with pytest.raises(ConfigError, match="MAX_AMOUNT"):
        load_config({"MAX_AMOUNT": "-3"})

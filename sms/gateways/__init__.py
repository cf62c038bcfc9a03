"""SMS gateways: one small class per provider, in an explicit registry checked at import.

Adding a provider (Orange's SMS API serves Senegal) = one class in this package with `name`,
`from_config` and `send`, one line in `_CLASSES`, and its name in `config.settings.GATEWAYS`.
"""

from __future__ import annotations

from config import Config
from config.settings import GATEWAYS as CONFIGURED
from sms.gateways.africastalking import AfricasTalkingGateway
from sms.gateways.base import Gateway, RecipientResult
from sms.gateways.console import ConsoleGateway

_CLASSES: tuple[type[Gateway], ...] = (AfricasTalkingGateway, ConsoleGateway)

REGISTRY: dict[str, type[Gateway]] = {cls.name: cls for cls in _CLASSES}

if len(REGISTRY) != len(_CLASSES) or set(REGISTRY) != set(CONFIGURED):
    raise ImportError(
        f"gateway registry {sorted(REGISTRY)} does not match SMS_GATEWAY values {sorted(CONFIGURED)}"
    )


def build(config: Config) -> Gateway:
    """The gateway SMS_GATEWAY names, configured."""
    return REGISTRY[config.SMS_GATEWAY].from_config(config)


__all__ = ["REGISTRY", "Gateway", "RecipientResult", "build"]

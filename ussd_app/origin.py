"""Where a webhook request came from: the aggregator or gateway, or the phone simulator.

The simulator posts its hops and SMS in-process to the real webhooks with the WSGI environ key
`mbolo.source = "simulator"`. No HTTP client can set that key (headers arrive as `HTTP_…` keys),
so it is the one trusted marker; the `sim-` prefix of the simulator's session and gateway ids only
makes them readable, and a real aggregator or gateway sending an id that starts with `sim-` is
still recorded as `ussd` / `sms`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from models.enums import Source

SOURCE_KEY = "mbolo.source"
SIMULATED_PREFIX = "sim-"


def source_of(environ: Mapping, channel: Source) -> Source:
    """`simulator` when the simulator posted this request in-process, else the webhook's `channel`."""
    return Source.SIMULATOR if environ.get(SOURCE_KEY) == Source.SIMULATOR else channel


def simulated_id() -> str:
    """A fresh id for a simulated USSD session or incoming SMS."""
    return f"{SIMULATED_PREFIX}{uuid.uuid4().hex}"


def looks_simulated(value: str) -> bool:
    """True for ids shaped like `simulated_id()`'s (a form check, not a proof of origin)."""
    return value.startswith(SIMULATED_PREFIX) and len(value) <= 60

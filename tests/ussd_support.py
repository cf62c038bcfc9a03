"""Driving the USSD engine without HTTP: hops straight to `conversation.answer`, sessions put on a screen."""

from __future__ import annotations

import json

from sms.runtime import Runtime
from ussd_app.tour import Line, identity_of
from ussd_app.ussd_session import SESSION_KEY

__all__ = ["SESSION_KEY", "Line", "identity_of", "stored_json"]


def stored_json(rt: Runtime, session_id: str) -> dict:
    """The raw session record (tests that look inside it)."""
    return json.loads(rt.redis.get(SESSION_KEY + session_id))

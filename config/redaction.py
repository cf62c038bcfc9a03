"""Secrets kept out of logs: the webhook token travels in the query string (`?token=…`)."""

from __future__ import annotations

import logging
import re

# Any `…token=VALUE` in a URL or message (also `access_token=`), up to the next separator.
_TOKEN = re.compile(r"(?i)(token=)[^&;\s\"'#]*")
MASK = "***"


def mask_secrets(text: str) -> str:
    """The text with every `token=VALUE` written `token=***`."""
    if "=" not in text:
        return text
    return _TOKEN.sub(lambda m: m[1] + MASK, text)


class SecretFilter(logging.Filter):
    """A logging filter that renders the message and masks tokens in it (and in the rendered args)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed format: leave it to the handler to report
            return True
        record.msg = mask_secrets(message)
        record.args = ()
        return True

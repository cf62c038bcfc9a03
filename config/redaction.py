"""Secrets kept out of logs: the webhook token travels in the query string (`?token=…`).

The whole query string of any path is masked (`/ussd?***`): a token spelt `tok%65n=`, or put in
a parameter we never thought of, must not reach a log either. `token=VALUE` outside a URL is
masked too (a message that quotes a setting).
"""

from __future__ import annotations

import logging
import re

# A path (or URL) followed by a query string: everything from `?` to the next space or quote.
_QUERY = re.compile(r"((?:https?://[^\s/?\"']*)?/[^\s?\"']*)\?[^\s\"'#]*")
# Any `…token=VALUE` in a message (also `access_token=`), up to the next separator.
_TOKEN = re.compile(r"(?i)(token=)[^&;\s\"'#]*")
MASK = "***"


def mask_secrets(text: str) -> str:
    """The text with every query string written `?***` and every `token=VALUE` written `token=***`."""
    if "?" in text:
        text = _QUERY.sub(lambda m: m[1] + "?" + MASK, text)
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

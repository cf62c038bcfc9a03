"""One structured (JSON) log line per event; phones masked by the callers, PINs never logged."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from config.redaction import SecretFilter, mask_secrets

_RESERVED = set(vars(logging.makeLogRecord({})))


class JsonFormatter(logging.Formatter):
    """Render a record and its `extra=` fields as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _RESERVED and not k.startswith("_")})
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        # Belt and braces: a URL logged anywhere must not carry the webhook token into the log.
        return mask_secrets(json.dumps(line, default=str, ensure_ascii=False))


def configure(level: str = "INFO") -> None:
    """Send the `mbolo` loggers to stderr as JSON lines (once per process)."""
    logger = logging.getLogger("mbolo")
    if any(getattr(h, "_mbolo", False) for h in logger.handlers):
        return
    # No line shows the caller's file and line: skip walking the stack for them on every record
    # (the logging HOWTO's "Optimization"; a USSD hop writes one line).
    logging._srcfile = None
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._mbolo = True
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = True
    # `flask run`'s access log (the development server) shows the request line: mask its query.
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, SecretFilter) for f in werkzeug.filters):
        werkzeug.addFilter(SecretFilter())

"""Who runs a command line: the audit log's actor for coordinator and import commands."""

from __future__ import annotations

import getpass
import os

from models import audit


def cli_actor() -> str:
    """`user:<login>` of the operator (MBOLO_OPERATOR overrides, e.g. a name behind a shared login)."""
    name = os.environ.get("MBOLO_OPERATOR", "").strip()
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry (some containers)
            name = "cli"
    return audit.actor_of(user=name)

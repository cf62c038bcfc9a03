"""gettext catalogs (.po, Babel tooling) in fr, wo and en, chosen per call — no process-wide locale.

msgids are the French texts. Each area of the product keeps its own catalog file
(`locales/<lang>/LC_MESSAGES/<area>.po`: ussd, sms, commands, reminders, …); all files of a
language are merged when first used. French falls back to the msgid itself. The `.po` files are
read directly (no compiled `.mo` to go stale). Wolof entries carry a translator comment
`needs review` until a native speaker has checked them, then `reviewed` (see docs/translating.md).
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

from i18n.gsm7 import fold

LANGUAGES = ("fr", "wo", "en")
DEFAULT = "fr"
LOCALES = Path(__file__).resolve().parent / "locales"

# The msgids translated while a `recording()` block runs (the review sheet learns which entries
# make up each screen); None when nobody listens, which is always the case while serving.
_heard: ContextVar[list[str] | None] = ContextVar("heard", default=None)


def N_(msgid: str) -> str:
    """Mark a text for extraction; it is translated later, in the reader's language."""
    return msgid


@cache
def catalog(language: str) -> dict[str, str]:
    """msgid → msgstr for one language, every area merged; empty msgstr entries left out."""
    entries: dict[str, str] = {}
    folder = LOCALES / language / "LC_MESSAGES"
    for path in sorted(folder.glob("*.po")):
        with path.open("rb") as fh:
            for message in read_po(fh, locale=None):
                if message.id and message.string and not message.fuzzy:
                    entries[message.id] = message.string
    return entries


def reviewed_status(language: str) -> tuple[int, int]:
    """(entries, entries still marked `needs review`) for a language's catalogs."""
    total = pending = 0
    for path in sorted((LOCALES / language / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as fh:
            for message in read_po(fh, locale=None):
                if not message.id:
                    continue
                total += 1
                comments = " ".join(message.user_comments + message.auto_comments).lower()
                if "needs review" in comments:
                    pending += 1
    return total, pending


def gettext(language: str, msgid: str) -> str:
    """The translation of `msgid` (French falls back to the msgid; others to French)."""
    if language != DEFAULT:
        found = catalog(language if language in LANGUAGES else DEFAULT).get(msgid)
        if found:
            return found
    return catalog(DEFAULT).get(msgid, msgid)


def translate(language: str, msgid: str, **values) -> str:
    """Translate, fill `{placeholders}`, and fold to GSM-7."""
    heard = _heard.get()
    if heard is not None:
        heard.append(msgid)
    text = gettext(language, msgid)
    if values:
        text = text.format(**values)
    return fold(text)


def placeholders(msgid: str) -> set[str]:
    """The `{names}` a text expects (used to check translations keep them)."""
    return {name for _, name, _, _ in string.Formatter().parse(msgid) if name}


@contextmanager
def recording() -> Iterator[list[str]]:
    """Collect the msgids `translate` is asked for inside the block, in order."""
    heard: list[str] = []
    token = _heard.set(heard)
    try:
        yield heard
    finally:
        _heard.reset(token)

"""Reading and writing the `.po` files with Babel, keeping entry order and comments so diffs stay small.

Files are written unwrapped (`width=0`): one line per msgid and msgstr, as they are typed, so a
changed text is a one-line diff. The catalogs are read directly at run time (no compiled `.mo`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

from i18n.catalog import LOCALES

NEEDS_REVIEW = "needs review"
REVIEWED = "reviewed"


def area_paths(language: str, locales: Path = LOCALES) -> list[Path]:
    """A language's catalog files, one per area, sorted by area."""
    return sorted((locales / language / "LC_MESSAGES").glob("*.po"))


def load(path: Path) -> Catalog:
    """One .po file as a Babel catalog."""
    with path.open("rb") as fh:
        return read_po(fh, locale=path.parts[-3])


def dump(catalog: Catalog) -> bytes:
    """The catalog as .po bytes, unwrapped, in its own order."""
    out = io.BytesIO()
    write_po(out, catalog, width=0)
    return out.getvalue()


def save(path: Path, catalog: Catalog) -> None:
    """Write the catalog back to its file."""
    path.write_bytes(dump(catalog))


def entries(catalog: Catalog) -> Iterator[Message]:
    """The catalog's messages, header left out."""
    return (m for m in catalog if m.id)


def status(message: Message) -> str:
    """`needs review` while the translator comment says so, else `ok`."""
    comments = " ".join(message.user_comments + message.auto_comments).lower()
    return NEEDS_REVIEW if NEEDS_REVIEW in comments else "ok"


def mark(message: Message, reviewed: bool) -> None:
    """Set the review comment: `needs review`, or `reviewed` once a native speaker has passed it."""
    kept = [c for c in message.user_comments if c.strip().lower() not in (NEEDS_REVIEW, REVIEWED)]
    message.user_comments = [*kept, REVIEWED if reviewed else NEEDS_REVIEW]

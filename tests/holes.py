"""What an empty placeholder leaves in a rendered text: the marks the hole tests look for."""

from __future__ import annotations

import re

# "Code  non reconnu" (two spaces), "kood ." / "reçu ," (a space before . or ,), "()" or "( )",
# a line that starts with a space or is empty, a placeholder left unformatted.
_HOLES = [
    re.compile(r"\S  +\S"),
    re.compile(r" [.,;]"),
    re.compile(r"\(\s*\)"),
    re.compile(r"(^|\n) "),
    re.compile(r"\n\n"),
    re.compile(r":\s*[.,]"),
    re.compile(r"[{}]"),
]


def holes(text: str) -> list[str]:
    """The suspicious stretches of `text` (empty when it reads whole)."""
    found = []
    for pattern in _HOLES:
        for match in pattern.finditer(text):
            start = max(match.start() - 12, 0)
            found.append(text[start : match.end() + 12])
    return found

"""Accent folding, the one way: `Trésorière` → `Tresoriere`, the same for composed or decomposed input.

NFC first, so that a letter typed as base + combining accent (as some phones and spreadsheets send
it) is one character before anything looks at it; then compatibility decomposition (NFKD) and the
combining marks dropped. Used by the SMS command parser, the CSV imports, name matching and
sorting, and GSM-7 folding.
"""

from __future__ import annotations

import unicodedata


def strip_accents(text: str) -> str:
    """`text` without its accents and with compatibility forms decomposed (case kept)."""
    text = unicodedata.normalize("NFC", text)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))

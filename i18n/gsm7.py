"""GSM-7: what a basic phone shows and what an SMS segment holds (shared by USSD and SMS).

Texts are folded to the GSM 03.38 default alphabet so a screen never turns into "?" boxes and
an SMS never falls into UCS-2 (70 characters a segment instead of 160). Texts are NFC-normalised
first: a phone or a spreadsheet may send `e` + U+0301 for `é`, which must fold like `é`.

Segments, as the network bills them: GSM-7 160 septets, 153 a part when concatenated, and an
escape pair (`€ [ ] { } ~ ^ \\ |`) never split across parts; UCS-2 70 code units, 67 a part, a
surrogate pair (emoji) never split. Parts are filled greedily, so a pair that does not fit in what
a part has left starts the next one.
"""

from __future__ import annotations

import unicodedata

from i18n.accents import strip_accents

BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = set("^{}\\[~]|€\f")  # two septets each (escape + character)
_EXTENSION_CHARS = tuple(EXTENSION)
_ALPHABET = frozenset(BASIC | EXTENSION)

# Characters people type or paste that GSM-7 lacks, and what a reader expects in their place.
_SPECIAL = {
    "ç": "c",
    "ê": "e",
    "ë": "e",
    "â": "a",
    "î": "i",
    "ï": "i",
    "ô": "o",
    "û": "u",
    "ŋ": "ng",
    "Ŋ": "NG",
    "œ": "oe",
    "Œ": "OE",
    "ó": "o",
    "á": "a",
    "í": "i",
    "ú": "u",
    "’": "'",
    "‘": "'",
    "‚": ",",
    "“": '"',
    "”": '"',
    "«": '"',
    "»": '"',
    "„": '"',
    "–": "-",
    "—": "-",
    "‑": "-",
    "…": "...",
    "•": "-",
    "·": ".",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2009": " ",
    "\u2007": " ",
    "\t": " ",
}


def fold_char(ch: str) -> str:
    """One character in GSM-7: itself, a known replacement, its base letter, or '?'."""
    if ch in BASIC or ch in EXTENSION:
        return ch
    if ch in _SPECIAL:
        return _SPECIAL[ch]
    if unicodedata.combining(ch):
        return ""  # an accent left over after NFC (nothing to compose with): the letter stays plain
    base = strip_accents(ch)
    if base and all(c in BASIC or c in EXTENSION for c in base):
        return base
    return "?"


def fold(text: str) -> str:
    """The text with every character GSM-7 lacks replaced by its nearest readable form."""
    if BASIC.issuperset(text):
        return text
    # Composed first: `e` + combining acute is `é` (in GSM-7), not `e` and a `?`.
    return "".join(fold_char(ch) for ch in unicodedata.normalize("NFC", text))


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 alphabet (basic or extension)."""
    return _ALPHABET.issuperset(text)


def septets(text: str) -> int:
    """Length in GSM-7 septets (extension characters count twice)."""
    # Counted by str.count in C: every USSD screen is measured on every hop.
    return len(text) + sum(map(text.count, _EXTENSION_CHARS))


def segments(text: str) -> int:
    """Number of SMS parts: 160/153 septets in GSM-7, 70/67 code units in UCS-2, pairs never split."""
    if is_gsm7(text):
        count = septets(text)
        if count <= 160:
            return 1
        if count == len(text):  # no escape pair to keep whole: plain arithmetic
            return -(-count // 153)
        return _parts((2 if ch in EXTENSION else 1 for ch in text), 153)
    if len(text.encode("utf-16-le")) // 2 <= 70:
        return 1
    return _parts((2 if ord(ch) > 0xFFFF else 1 for ch in text), 67)


def _parts(costs, size: int) -> int:
    """Parts needed to carry units of the given costs in order, no unit split across two parts."""
    parts, used = 1, 0
    for cost in costs:
        if used + cost > size:
            parts += 1
            used = 0
        used += cost
    return parts

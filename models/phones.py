"""Phone numbers: everything stored and compared in E.164."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers

# Numbers kept for demonstrations and tests: +221 73 000 00 00 to +221 73 000 09 99. No operator
# holds the 73 block (phonenumbers knows no number of any type there), so no real phone can be
# reached on them; they are accepted as valid so the demo can be dialled, and an SMS to them is
# never handed to a real gateway.
FICTIONAL = re.compile(r"\+221730000\d{3}")


def is_fictional(phone: str | None) -> bool:
    """True for the demo range +221 73 000 0x xx (never a real subscriber's)."""
    return bool(phone) and FICTIONAL.fullmatch(phone) is not None


class InvalidPhone(ValueError):
    """The text is not a valid mobile number."""


def canonical(raw: str) -> str:
    """The number as typed, with every digit ASCII and every space or invisible mark one plain space.

    The one reading of what people type or paste: full-width (`７７`) and Arabic-Indic (`٧٧`) digits
    are digits; no-break, narrow no-break (U+202F, French number formatting) and thin spaces,
    tabs, zero-width and direction marks separate groups like a space. `normalise` and the CSV
    import's fast reader both start here, so they cannot disagree on a character.
    """
    text = raw or ""
    if text.isascii():
        return text.replace("\t", " ").strip()
    out = []
    for ch in unicodedata.normalize("NFKC", text):
        if ch.isdecimal():
            out.append(str(unicodedata.decimal(ch)))
        elif ch.isspace() or unicodedata.category(ch) == "Cf":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out).strip()


def normalise(raw: str, region: str = "SN") -> str:
    """Parse `77 123 45 67`, `221771234567`, `+221…`, `00221…` into E.164; raise InvalidPhone."""
    text = canonical(raw)
    if not text:
        raise InvalidPhone("empty phone number")
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.startswith("00"):
        text = "+" + digits[2:]
    elif not text.startswith("+") and region == "SN" and len(digits) == 12 and digits.startswith("221"):
        text = "+" + digits
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"not a phone number: {raw!r}") from exc
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not phonenumbers.is_valid_number(number) and not is_fictional(e164):
        raise InvalidPhone(f"not a valid number: {raw!r}")
    return e164


@lru_cache(maxsize=4096)
def try_normalise(raw: str, region: str = "SN") -> str | None:
    """Like normalise, but None for anything invalid.

    Remembered per raw string (the last few thousand): a caller's phone comes back on every hop
    of a session, and parsing it with phonenumbers costs more than the rest of reading the form.
    """
    try:
        return normalise(raw, region)
    except InvalidPhone:
        return None


def mask(phone: str | None) -> str:
    """A phone for logs: country code and last two digits only (+221*******67)."""
    if not phone:
        return "-"
    if len(phone) <= 6:
        return "*" * len(phone)
    head = 4 if phone.startswith("+") else 3
    return phone[:head] + "*" * (len(phone) - head - 2) + phone[-2:]

"""Phone numbers: everything stored and compared in E.164."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers


class InvalidPhone(ValueError):
    """The text is not a valid mobile number."""


def normalise(raw: str, region: str = "SN") -> str:
    """Parse `77 123 45 67`, `221771234567`, `+221…`, `00221…` into E.164; raise InvalidPhone."""
    text = (raw or "").strip().replace("\u00a0", " ")
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
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"not a valid number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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

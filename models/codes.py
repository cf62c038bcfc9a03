"""Short human-readable references (receipts, report references) derived from row ids.

Crockford base32 without I, L, O, U is easy to read aloud and type on a keypad; deriving the
code from the row id makes it unique by construction, with no retry loop on collision.
"""

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def encode(prefix: str, number: int, width: int = 5) -> str:
    """`prefix` + base32 of `number`, zero-padded to `width`, + one check character."""
    if number < 0:
        raise ValueError("negative id")
    digits = []
    n = number
    while n:
        n, r = divmod(n, 32)
        digits.append(ALPHABET[r])
    body = "".join(reversed(digits)).rjust(width, "0")
    check = ALPHABET[sum((i + 1) * ALPHABET.index(c) for i, c in enumerate(body)) % 32]
    return f"{prefix}{body}{check}"


def normalise(code: str) -> str:
    """Upper case, with the letters people confuse read as digits (O→0, I/L→1)."""
    return code.strip().upper().translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))


def is_valid(code: str, prefix_len: int = 1) -> bool:
    """True when the check character matches (catches most typos before a lookup)."""
    code = normalise(code)
    body, check = code[prefix_len:-1], code[-1:]
    if not body or any(c not in ALPHABET for c in body + check):
        return False
    return ALPHABET[sum((i + 1) * ALPHABET.index(c) for i, c in enumerate(body)) % 32] == check

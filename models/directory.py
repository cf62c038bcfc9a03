"""Finding cooperatives and members by what people type, and deriving cooperative codes."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from i18n.accents import strip_accents
from models.cooperative import Cooperative, Member, member_key, name_key
from models.errors import NotFound

# Words that say "this is a cooperative" and carry nothing that tells two of them apart.
_FILLER = {
    "gie",
    "cps",
    "gpf",
    "coop",
    "cooperative",
    "cooperatives",
    "groupement",
    "union",
    "association",
    "societe",
    "de",
    "des",
    "du",
    "d",
    "la",
    "le",
    "les",
    "l",
    "et",
    "of",
    "the",
}
CODE_PATTERN = re.compile(r"[A-Z0-9]{2,8}")


def _ascii(text: str) -> str:
    return strip_accents(text)


def derive_code(name: str, taken: Iterable[str]) -> str:
    """A short upper-case code for a cooperative, unique among `taken` (GIE Ndiambour → NDI)."""
    words = re.findall(r"[A-Z0-9]+", _ascii(name).upper())
    significant = [w for w in words if w.lower() not in _FILLER] or words or ["COOP"]
    # One word: its first letters (NDI); several: their initials (Keur Massar Femmes → KMF).
    base = significant[0][:3] if len(significant) == 1 else "".join(w[0] for w in significant[:4])
    if len(base) < 2:
        base = (base + "".join(significant[1:]) + "COOP")[:3]
    used = {code.upper() for code in taken}
    candidate, n = base, 2
    while candidate in used:
        candidate = f"{base}{n}"
        n += 1
    return candidate


def find_cooperative(session: Session, name_or_code: str) -> Cooperative:
    """The cooperative with this code or name (case and accents ignored); NotFound otherwise."""
    text = name_or_code.strip()
    coop = session.scalar(select(Cooperative).where(func.upper(Cooperative.code) == text.upper()))
    if coop is not None:
        return coop
    wanted = name_key(text)
    for candidate in session.scalars(select(Cooperative)):
        if name_key(candidate.name) == wanted:
            return candidate
    raise NotFound(f"no cooperative named or coded {text!r}")


def find_member(session: Session, cooperative: Cooperative, member_no: str) -> Member:
    """The member of this cooperative with this number (m12 = M0012); NotFound otherwise."""
    member = session.scalar(
        select(Member).where(
            Member.cooperative_id == cooperative.id, Member.member_key == member_key(member_no)
        )
    )
    if member is None:
        raise NotFound(f"no member {member_no!r} in {cooperative.name}")
    return member


def find_phone_holder(session: Session, phone: str) -> Member | None:
    """The member holding this E.164 phone, if any (one member per phone in this version)."""
    return session.scalar(select(Member).where(Member.phone == phone))

"""The product's words: one French, Wolof and English word per concept, and the variants they replace.

`glossary.csv` (one row per concept) is read with the standard library so every teammate and the
review sheet can use it. A Wolof text breaks the glossary when, after folding to GSM-7 and
dropping accents and case, it holds a replaced variant or the French word of a concept that has
its own Wolof word. Placeholders (`{member}`, `{coop}`, …: names of people, products and
cooperatives) are left out, and so are words in capitals (SMS keywords such as PAY, RETRAIT, SOLDE,
and USSD, PIN, OK), which are what people type.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

from i18n.accents import strip_accents
from i18n.gsm7 import fold

GLOSSARY = Path(__file__).resolve().parent / "glossary.csv"
COLUMNS = ("key", "fr", "wo", "en", "replaces", "note", "status")


@dataclass(frozen=True)
class Term:
    """One concept: its word in each language, the Wolof variants it replaces, a note, a review status."""

    key: str
    fr: str
    wo: str
    en: str
    replaces: tuple[str, ...]
    note: str
    status: str

    def text(self, language: str) -> str:
        """The concept's word in `language`."""
        return getattr(self, language)


@dataclass(frozen=True)
class Breach:
    """A word of a text that the glossary rules out, and the word to use instead."""

    key: str
    found: str
    use: str
    why: str  # "variant" (a replaced Wolof spelling or word) or "french"


def load(path: Path = GLOSSARY) -> list[Term]:
    """The glossary's terms in file order."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [
        Term(
            key=row["key"].strip(),
            fr=row["fr"].strip(),
            wo=row["wo"].strip(),
            en=row["en"].strip(),
            replaces=tuple(v.strip() for v in row["replaces"].split("|") if v.strip()),
            note=row["note"].strip(),
            status=row["status"].strip(),
        )
        for row in rows
    ]


def save(terms: list[Term], path: Path = GLOSSARY) -> None:
    """Write the terms back in the same columns and order (what `i18n apply-review` does)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        for term in terms:
            row = {f.name: getattr(term, f.name) for f in fields(term)}
            row["replaces"] = "|".join(term.replaces)
            writer.writerow([row[c] for c in COLUMNS])


@cache
def terms() -> tuple[Term, ...]:
    """The glossary as shipped (cached; tests and the review sheet read it)."""
    return tuple(load())


def plain(word: str) -> str:
    """A word as compared: folded to GSM-7, accents dropped, lower case (tànnal → tannal, ŋ → ng)."""
    return strip_accents(fold(word)).lower()


_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_WORD = re.compile(r"[^\W\d_]+")


def words(text: str) -> list[str]:
    """The words of a text that the glossary judges: no placeholders, no words in capitals."""
    found = _WORD.findall(_PLACEHOLDER.sub(" ", text))
    return [plain(w) for w in found if not (len(w) > 1 and w.isupper())]


def _contains(haystack: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return any(haystack[i : i + n] == phrase for i in range(len(haystack) - n + 1))


def _french_forms(term: Term) -> list[str]:
    """The French word and its plural, unless the Wolof word is the same (PIN)."""
    if plain(term.fr) == plain(term.wo):
        return []
    return [term.fr, term.fr + "s"]


def breaches(text: str, glossary: tuple[Term, ...] | None = None) -> list[Breach]:
    """What in a Wolof text the glossary rules out: replaced variants and French words."""
    seen = words(text)
    found = []
    for term in glossary if glossary is not None else terms():
        for variant in term.replaces:
            if _contains(seen, words(variant)):
                found.append(Breach(term.key, variant, term.wo, "variant"))
        for french in _french_forms(term):
            if _contains(seen, words(french)):
                found.append(Breach(term.key, french, term.wo, "french"))
    return found

"""Every catalog of every area: en and wo complete, placeholders kept, GSM-7, Wolof marked for review."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from i18n.catalog import LOCALES, catalog, placeholders
from i18n.gsm7 import fold
from i18n.pofiles import NEEDS_REVIEW, REVIEWED

ROOT = Path(__file__).resolve().parent.parent
AREAS = sorted({p.stem for p in LOCALES.glob("*/LC_MESSAGES/*.po")})
# Words that stay the same in every language: names, codes, units, SMS command keywords
# (docs/design.md, "SMS commands").
NAMES = {
    "mbolo",
    "pin",
    "sms",
    "ok",
    "f",
    "fcfa",
    "xof",
    "kg",
    "sac",
    "litre",
    "id",
    "ref",
    "menu",
    "wolof",
    "english",
    "francais",
    "oui",
    "non",
    "yes",
    "no",
    "stop",
    "start",
    "arret",
    "aide",
    "help",
    "pay",
    "paye",
    "remb",
    "dep",
    "epargne",
    "retrait",
    "withdraw",
    "annule",
    "cancel",
    "solde",
    "bal",
    "reset",
}


def _entries(language: str, area: str) -> dict[str, object]:
    path = LOCALES / language / "LC_MESSAGES" / f"{area}.po"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        return {m.id if isinstance(m.id, str) else m.id[0]: m for m in read_po(fh) if m.id}


def _residue(text: str) -> str:
    """The words of a text that are not names, numbers or placeholders."""
    text = re.sub(r"\{[^}]*\}", " ", text)
    words = re.findall(r"[^\W\d_]+", text.lower())
    return " ".join(w for w in words if w not in NAMES)


@pytest.mark.parametrize("area", AREAS)
def test_every_area_has_the_three_languages_with_the_same_entries(area):
    """fr, en and wo files hold the same msgids."""
    fr = set(_entries("fr", area))
    assert fr, f"no French catalog for {area}"
    for language in ("en", "wo"):
        other = set(_entries(language, area))
        assert fr - other == set(), f"{language}/{area}.po lacks {sorted(fr - other)}"
        assert other - fr == set(), f"{language}/{area}.po has entries French lacks: {sorted(other - fr)}"


@pytest.mark.parametrize("language", ["en", "wo"])
@pytest.mark.parametrize("area", AREAS)
def test_translations_are_filled_keep_placeholders_and_fold_to_gsm7(area, language):
    """No empty or fuzzy entry; the same {placeholders}; folding replaces no character by '?'."""
    problems = []
    for msgid, message in _entries(language, area).items():
        text = message.string if isinstance(message.string, str) else message.string[0]
        if not text or message.fuzzy:
            problems.append(f"empty or fuzzy: {msgid!r}")
            continue
        if placeholders(text) != placeholders(msgid):
            problems.append(f"placeholders differ: {msgid!r} → {text!r}")
        if fold(text).count("?") != text.count("?"):
            problems.append(f"not GSM-7 after folding: {text!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("area", AREAS)
def test_french_texts_fold_to_gsm7(area):
    """The msgids (shown in French) fold cleanly too."""
    bad = [m for m in _entries("fr", area) if fold(m).count("?") != m.count("?")]
    assert not bad


@pytest.mark.parametrize("area", AREAS)
def test_wolof_is_never_the_french_text_and_is_marked_for_review(area):
    """A wo string equal to its fr msgid is a copy (unless only names and numbers); each is marked."""
    copies, unmarked = [], []
    for msgid, message in _entries("wo", area).items():
        text = message.string if isinstance(message.string, str) else message.string[0]
        if text and _residue(text) and _residue(text) == _residue(msgid):
            copies.append(msgid)
        if not {NEEDS_REVIEW, REVIEWED} & {c.strip().lower() for c in message.user_comments}:
            unmarked.append(msgid)
    assert not copies, f"Wolof copied from French: {copies}"
    assert not unmarked, f"Wolof entries neither '# needs review' nor '# reviewed': {unmarked}"


def test_every_screen_text_in_the_code_is_in_the_french_catalogs():
    """Each N_() msgid of menus/ and ussd_app/ has its catalog entry (so en and wo have it too)."""
    known = set()
    for area in AREAS:
        known |= set(_entries("fr", area))
    missing = []
    for folder in ("menus", "ussd_app"):
        for filename, _line, msgid, _comments, _ctx in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords={"N_": None}
        ):
            if msgid not in known:
                missing.append(f"{folder}/{filename}: {msgid!r}")
    assert not missing, "\n".join(missing)


def test_formatting_a_translation_never_fails():
    """Every translation formats with its msgid's placeholders filled."""
    for language in ("fr", "en", "wo"):
        for msgid, text in catalog(language).items():
            values = {name: "X" for name in placeholders(msgid)}
            string.Formatter().vformat(text, (), values)

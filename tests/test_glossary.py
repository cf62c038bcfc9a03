"""The glossary: one word per concept, and Wolof catalogs that use it (no replaced variant, no French)."""

from __future__ import annotations

import pytest

from i18n import pofiles
from i18n.catalog import LOCALES
from i18n.glossary import Term, breaches, load, plain, terms
from i18n.gsm7 import fold

AREAS = sorted({p.stem for p in LOCALES.glob("wo/LC_MESSAGES/*.po")})


def test_every_term_has_its_three_words_a_note_and_a_status():
    """Keys are unique; fr, wo, en and the note are filled; the status is one the sheet knows."""
    glossary = load()
    keys = [t.key for t in glossary]
    assert len(keys) == len(set(keys))
    for term in glossary:
        assert term.fr and term.wo and term.en and term.note, term.key
        assert term.status in (pofiles.NEEDS_REVIEW, "ok"), term.key


def test_glossary_words_fold_to_gsm7_and_no_word_is_another_terms_variant():
    """A Wolof word survives folding; a variant is never a chosen word, nor its own word with accents."""
    glossary = load()
    chosen = {plain(t.wo) for t in glossary}
    for term in glossary:
        assert "?" not in fold(term.wo), term.key
        for variant in term.replaces:
            assert plain(variant) != plain(term.wo), f"{term.key}: accents are not compared"
            assert plain(variant) not in chosen, f"{term.key}: {variant} is a chosen word"


def test_the_glossary_decides_the_disputed_words():
    """kod not kood, bor not leb, dencukaay not denc: the choices the catalogs disagreed on."""
    by_key = {t.key: t for t in terms()}
    assert (by_key["code"].wo, by_key["code"].replaces) == ("kod", ("kood",))
    assert (by_key["loan"].wo, by_key["loan"].replaces) == ("bor", ("leb",))
    assert (by_key["savings"].wo, by_key["savings"].replaces) == ("dencukaay", ("denc",))


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Xamunu kood {detail}.", ["kood"]),
        ("Sama leb", ["leb"]),
        ("Sa denc: {amount}", ["denc"]),
        ("Waxal ak sa tresorier.", ["trésorier"]),  # French, accent dropped
        ("President bi", ["président"]),  # French, capitalised
        ("Reçu {receipt}.", ["reçu"]),
        ("Dalal ci sa koperatiif", ["koperatiif"]),
        ("Reçus yi", ["reçus"]),  # the French plural
    ],
)
def test_a_replaced_variant_or_a_french_word_is_found(text, found):
    """Matched whole words, after folding, accents and case dropped."""
    assert [b.found for b in breaches(text)] == found


@pytest.mark.parametrize(
    "text",
    [
        "{coop}: {treasurer} dugal na {amount} ci dencukaayu {member}.",  # placeholders stay as typed
        "Sa dencukaay: {amount}",  # denc inside a longer word is not denc
        "PAY|DEP|RETRAIT <nimero> <xaalis>, ANNULE <firnde>, SOLDE",  # keywords in capitals stay
        "Bindal ab lim bu mat.",
        "Sa PIN bi léegi:",
    ],
)
def test_names_keywords_and_longer_words_are_left_alone(text):
    """No breach where only names, keywords or words that merely contain a variant appear."""
    assert breaches(text) == []


def test_a_term_whose_french_is_its_wolof_never_counts_as_french():
    """PIN is PIN in every language: writing it is no French leak."""
    pin = Term("pin", "PIN", "PIN", "PIN", (), "kept", "ok")
    assert breaches("Sa pin bi", (pin,)) == []


@pytest.mark.parametrize("area", AREAS)
def test_wolof_catalogs_follow_the_glossary(area):
    """No Wolof entry uses a replaced variant or the French word of a concept that has a Wolof one."""
    catalog = pofiles.load(LOCALES / "wo" / "LC_MESSAGES" / f"{area}.po")
    problems = [
        f"{m.string!r}: {b.found!r}, use {b.use!r} ({b.why})"
        for m in pofiles.entries(catalog)
        for b in breaches(m.string)
    ]
    assert not problems, "\n".join(problems)

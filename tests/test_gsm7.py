"""GSM-7 folding and segment counting, shared by USSD screens and SMS."""

from hypothesis import given
from hypothesis import strategies as st

from i18n.formatting import format_money
from i18n.gsm7 import fold, is_gsm7, segments


def test_french_accents_that_gsm7_has_are_kept_and_others_folded():
    """é è à ù stay; ç ê â î ô û ’ – and no-break spaces are folded."""
    assert fold("Reçu: fête à l’école – très sûr\u00a0!") == "Recu: fete à l'école - très sur !"


def test_wolof_letters_fold_to_readable_forms():
    """ŋ has no GSM-7 form; ñ and à do."""
    assert fold("Ñaŋ ëpp àll") == "Ñang epp àll"


def test_segments_count_septets():
    """160 septets is one segment, 161 two; extension characters count double."""
    assert segments("a" * 160) == 1
    assert segments("a" * 161) == 2
    assert segments("a" * 306) == 2
    assert segments("a" * 307) == 3
    assert segments("€" * 80) == 1
    assert segments("€" * 81) == 2


def test_amounts_use_ascii_spaces():
    """12 500 F, never a no-break space."""
    assert format_money(12500) == "12 500 F"
    assert format_money(1_250_000) == "1 250 000 F"
    assert format_money(0) == "0 F"


@given(st.text())
def test_fold_always_yields_gsm7(text):
    """Whatever comes in, the folded text is GSM-7."""
    assert is_gsm7(fold(text))


def test_a_decomposed_accent_folds_like_a_composed_one():
    """`e` + combining acute is `é` (GSM-7 has it), not `e?`; accent stripping gives the same either way."""
    from i18n.accents import strip_accents

    assert fold("Caf\u0065\u0301") == fold("Café") == "Café"
    assert strip_accents("Tre\u0301sorie\u0300re") == strip_accents("Trésorière") == "Tresoriere"
    assert strip_accents("ＰＡＹ") == "PAY"

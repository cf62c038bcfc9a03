"""Texts people read: catalogs (fr, wo, en), GSM-7 folding, amounts and dates."""

from i18n.catalog import LANGUAGES, N_, translate
from i18n.formatting import format_date, format_money
from i18n.gsm7 import fold, is_gsm7, segments

__all__ = ["LANGUAGES", "N_", "fold", "format_date", "format_money", "is_gsm7", "segments", "translate"]

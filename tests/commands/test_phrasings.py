"""Commands as treasurers in Senegal actually type them, each with the exact reading or the exact problem.

Written from the contract (docs/design.md, "SMS commands") and from how amounts and numbers are written
in SMS here: `5.000F`, `5 000 F CFA`, `5000frs`, `77-123-45-67`, `(77) 123 45 67`, `M4`, keyword
synonyms in French, English and Wolof. The rules this table fixes where the contract is silent:
- `5k` is not an amount: the contract lists the forms it reads and a misread amount costs money, so
  `5k` gets the syntax reply rather than a guess.
- `PAY <amount> <member>` is read only when no split of the groups gives `<member> <amount>`.
- `PAY 77 000 00 07 5` reads as 5 F here; the plausibility guard (not the parser) stops it being posted.
- A trailing full stop or comma after the last word is punctuation, not part of the amount or reference.
"""

from datetime import date

import pytest

from sms.commands.parser import Command, Keyword, Problem, Reason, parse
from tests.commands.readings import TODAY, dep, no, out, pay, phone

FATOU = "+221770000005"
BINTA = "+221770000007"


def refused(reason, keyword=Keyword.PAY):
    return (reason, keyword)


PHRASINGS = [
    # --- the reports, verbatim
    ("PAY M004 5 000 F CFA", pay(no("M004"), 5_000)),
    ("Paye 77-000-00-05 5.000F", pay(phone(FATOU), 5_000)),
    ("PAY M005 5k", refused(Reason.BAD_AMOUNT)),
    ("PAY 5000 M004", pay(no("M004"), 5_000)),
    ("Remboursement M004 1000", pay(no("M004"), 1_000)),
    ("PAY 77 000 00 07 5", pay(phone(BINTA), 5)),  # read; the plausibility guard holds it back
    ("OUI", Command(Keyword.OUI)),
    ("ANNULE", Command(Keyword.ANNULE)),
    ("SOLDE", Command(Keyword.SOLDE)),
    ("SOLDE M005", Command(Keyword.SOLDE, member=no("M005"))),
    # --- the contract's examples table
    ("PAY 77 123 45 67 11 000", pay(phone(), 11_000)),
    ("paye m12 5.000f", pay(no("M12"), 5_000)),
    ("PAY +221 77 123 45 67 2500", pay(phone(), 2_500)),
    ("REMB 771234567 5000 L-001 03/12", pay(phone(), 5_000, loan_ref="L-001", paid_on=date(2026, 12, 3))),
    ("oui1234", Command(Keyword.OUI, code="1234")),
    ("PAY M0012", refused(Reason.MISSING_AMOUNT)),
    # --- the contract's amount forms
    ("PAY M4 5000", pay(no("M4"), 5_000)),
    ("PAY M4 5 000", pay(no("M4"), 5_000)),
    ("PAY M4 5.000", pay(no("M4"), 5_000)),
    ("PAY M4 5,000", pay(no("M4"), 5_000)),
    ("PAY M4 5000F", pay(no("M4"), 5_000)),
    ("PAY M4 5000 FCFA", pay(no("M4"), 5_000)),
    ("PAY M4 5 000 F CFA", pay(no("M4"), 5_000)),
    ("PAY M4 5000fcfa", pay(no("M4"), 5_000)),
    ("PAY M4 1 250 frs", pay(no("M4"), 1_250)),
    ("PAY M4 5000 francs", pay(no("M4"), 5_000)),
    # --- currency words in any case and spacing
    ("PAY M4 5000f", pay(no("M4"), 5_000)),
    ("PAY M4 5000 f", pay(no("M4"), 5_000)),
    ("PAY M4 5000 F", pay(no("M4"), 5_000)),
    ("PAY M4 5000Fcfa", pay(no("M4"), 5_000)),
    ("PAY M4 5000 fcfa", pay(no("M4"), 5_000)),
    ("PAY M4 5000 f cfa", pay(no("M4"), 5_000)),
    ("PAY M4 5000 F Cfa", pay(no("M4"), 5_000)),
    ("PAY M4 5000 cfa", pay(no("M4"), 5_000)),
    ("PAY M4 5000cfa", pay(no("M4"), 5_000)),
    ("PAY M4 5000frs", pay(no("M4"), 5_000)),
    ("PAY M4 5 000frs", pay(no("M4"), 5_000)),
    ("PAY M4 5000 Frs", pay(no("M4"), 5_000)),
    ("PAY M4 5000fr", pay(no("M4"), 5_000)),
    ("PAY M4 5000 FRANCS", pay(no("M4"), 5_000)),
    ("PAY M4 5000 francs cfa", pay(no("M4"), 5_000)),
    ("PAY M4 5000 Franc", pay(no("M4"), 5_000)),
    ("PAY M4 5.000 F CFA", pay(no("M4"), 5_000)),
    ("PAY M4 5.000 FCFA", pay(no("M4"), 5_000)),
    ("PAY M4 5,000 F", pay(no("M4"), 5_000)),
    ("PAY M4 5 000 XOF", pay(no("M4"), 5_000)),
    ("PAY M4 5000 F.CFA", pay(no("M4"), 5_000)),
    ("PAY M4 12 500 F CFA L-001", pay(no("M4"), 12_500, loan_ref="L-001")),
    ("PAY M4 5 000 F CFA 03/12", pay(no("M4"), 5_000, paid_on=date(2026, 12, 3))),
    ("PAY M4 5000 F CFA OK", pay(no("M4"), 5_000, force=True)),
    ("PAY M4 1.250.000 F CFA", pay(no("M4"), 1_250_000)),
    ("PAY M4 5000.", pay(no("M4"), 5_000)),
    ("PAY M4 5000F.", pay(no("M4"), 5_000)),
    ("PAY M4 5 000 F CFA.", pay(no("M4"), 5_000)),
    # --- member numbers as typed
    ("PAY m4 5000", pay(no("M4"), 5_000)),
    ("PAY m004 5000", pay(no("M004"), 5_000)),
    ("PAY M0004 5000", pay(no("M0004"), 5_000)),
    ("PAY M 4 5000", pay(no("M4"), 5_000)),
    ("PAY m-4 5000", pay(no("M-4"), 5_000)),
    ("PAY M4, 5000", pay(no("M4"), 5_000)),
    ("PAY M4: 5000F", pay(no("M4"), 5_000)),
    # --- phones with spaces, dashes, dots, parentheses and prefixes
    ("PAY 77-123-45-67 5000", pay(phone(), 5_000)),
    ("PAY 77.123.45.67 5000", pay(phone(), 5_000)),
    ("PAY (77) 123 45 67 5000", pay(phone(), 5_000)),
    ("PAY (77)123-45-67 5000", pay(phone(), 5_000)),
    ("PAY 77 123 4567 5000", pay(phone(), 5_000)),
    ("PAY 771 23 45 67 5000", pay(phone(), 5_000)),
    ("PAY 771234567 5 000 F CFA", pay(phone(), 5_000)),
    ("PAY +221771234567 5000F", pay(phone(), 5_000)),
    ("PAY +221 77-123-45-67 5000", pay(phone(), 5_000)),
    ("PAY +221-77-123-45-67 5000", pay(phone(), 5_000)),
    ("PAY (+221) 77 123 45 67 5000", pay(phone(), 5_000)),
    ("PAY 00221 77 123 45 67 5000", pay(phone(), 5_000)),
    ("PAY 00221771234567 5.000F", pay(phone(), 5_000)),
    ("PAY 221 77 123 45 67 5000", pay(phone(), 5_000)),
    ("PAY 77.123.45.67 5.000", pay(phone(), 5_000)),
    ("PAY 77-123-45-67 5 000 F CFA", pay(phone(), 5_000)),
    ("PAY 78-111-22-33 500 F", pay(phone("+221781112233"), 500)),
    ("PAY 76 123 45 67 2000", pay(phone("+221761234567"), 2_000)),
    ("PAY 70 123 45 67 2000", pay(phone("+221701234567"), 2_000)),
    ("PAY 75.123.45.67 2000", pay(phone("+221751234567"), 2_000)),
    ("PAY 77 123 45 67 11 000 L-7", pay(phone(), 11_000, loan_ref="L-7")),
    ("PAY 77 123 45 67 1 000 000", pay(phone(), 1_000_000)),
    # --- amount first, member after, when nothing else fits
    ("PAY 5000 M4", pay(no("M4"), 5_000)),
    ("PAY 5 000 M004", pay(no("M004"), 5_000)),
    ("PAY 5000F M4", pay(no("M4"), 5_000)),
    ("PAY 5.000 F CFA m004", pay(no("M004"), 5_000)),
    ("PAY 5000 77 123 45 67", pay(phone(), 5_000)),
    ("PAY 5 000 F 77-123-45-67", pay(phone(), 5_000)),
    ("PAY 5000 771234567", pay(phone(), 5_000)),
    ("DEP 2000 M4", dep(no("M4"), 2_000)),
    ("PAY 5000 M4 03/12", pay(no("M4"), 5_000, paid_on=date(2026, 12, 3))),
    # --- French, English and Wolof keyword synonyms (Wolof awaiting a native speaker's review)
    ("PAIEMENT M4 5000", pay(no("M4"), 5_000)),
    ("Paiement 77 123 45 67 5000f", pay(phone(), 5_000)),
    ("VERSEMENT M4 5000", pay(no("M4"), 5_000)),
    ("versement m004 5.000 F", pay(no("M004"), 5_000)),
    ("REMBOURSEMENT M4 5000", pay(no("M4"), 5_000)),
    ("remboursement 77-123-45-67 5 000 frs", pay(phone(), 5_000)),
    ("Rembourse M4 5000", pay(no("M4"), 5_000)),
    ("PAYE M4 5000", pay(no("M4"), 5_000)),
    ("Payé M4 5000", pay(no("M4"), 5_000)),
    ("REMB M4 5000", pay(no("M4"), 5_000)),
    ("PAYMENT M4 5000", pay(no("M4"), 5_000)),
    ("REPAY M4 5000", pay(no("M4"), 5_000)),
    ("REPAYMENT M4 5000", pay(no("M4"), 5_000)),
    ("FEY M4 5000", pay(no("M4"), 5_000)),
    ("fey 77 123 45 67 5000", pay(phone(), 5_000)),
    ("DEPOT M4 2000", dep(no("M4"), 2_000)),
    ("Dépôt M4 2 000 F", dep(no("M4"), 2_000)),
    ("depot 77-123-45-67 2000", dep(phone(), 2_000)),
    ("DEPOSIT M4 2000", dep(no("M4"), 2_000)),
    ("EPARGNE M4 2000", dep(no("M4"), 2_000)),
    ("DUGAL M4 2000", dep(no("M4"), 2_000)),
    ("dëggal 1234", Command(Keyword.OUI, code="1234")),
    ("RETRAIT M4 1000", out(no("M4"), 1_000)),
    ("WITHDRAW M4 1000", out(no("M4"), 1_000)),
    ("WITHDRAWAL M4 1000", out(no("M4"), 1_000)),
    ("Retirer M4 1000", out(no("M4"), 1_000)),
    ("YES 1234", Command(Keyword.OUI, code="1234")),
    ("WAAW 1234", Command(Keyword.OUI, code="1234")),
    ("waaw1234", Command(Keyword.OUI, code="1234")),
    ("DEEDEET 1234", Command(Keyword.NON, code="1234")),
    ("NO 1234", Command(Keyword.NON, code="1234")),
    ("CANCEL R000015", Command(Keyword.ANNULE, code="R000015")),
    ("Annuler R000015", Command(Keyword.ANNULE, code="R000015")),
    ("BAL M4", Command(Keyword.SOLDE, member=no("M4"))),
    ("BALANCE", Command(Keyword.SOLDE)),
    ("HELP", Command(Keyword.AIDE)),
    ("NDIMBAL", Command(Keyword.AIDE)),
    # --- codes without a code: OUI/NON/ANNULE alone ask about what is pending
    ("oui", Command(Keyword.OUI)),
    ("NON", Command(Keyword.NON)),
    ("Oui.", Command(Keyword.OUI)),
    ("annule", Command(Keyword.ANNULE)),
    ("OUI 123", refused(Reason.BAD_CODE, Keyword.OUI)),
    ("OUI abcd", refused(Reason.BAD_CODE, Keyword.OUI)),
    # --- members' own SOLDE and the officers' SOLDE <member>
    ("solde", Command(Keyword.SOLDE)),
    ("Solde ?", Command(Keyword.SOLDE)),
    ("SOLDE m4", Command(Keyword.SOLDE, member=no("M4"))),
    ("SOLDE 77-123-45-67", Command(Keyword.SOLDE, member=phone())),
    ("PIN 77.123.45.67", Command(Keyword.PIN, member=phone())),
    # --- OK and dates with these forms
    ("PAY M4 50 OK", pay(no("M4"), 50, force=True)),
    ("PAY 77 000 00 07 5 OK", pay(phone(BINTA), 5, force=True)),
    ("PAY M4 5000F ok", pay(no("M4"), 5_000, force=True)),
    ("PAY M4 5000 ok.", pay(no("M4"), 5_000, force=True)),
    ("PAY M4 5.000F 04/12 OK", pay(no("M4"), 5_000, paid_on=date(2026, 12, 4), force=True)),
    ("DEP M4 80 OK", dep(no("M4"), 80, force=True)),
    ("RETRAIT M4 50 OK", out(no("M4"), 50, force=True)),
    # --- what must not be read as a payment
    ("PAY M4 5K", refused(Reason.BAD_AMOUNT)),
    ("PAY M4 5 mille", refused(Reason.BAD_AMOUNT)),
    ("PAY M4 5000,50", refused(Reason.BAD_AMOUNT)),
    ("PAY M4 50 00", refused(Reason.BAD_AMOUNT)),
    ("PAY M4 0 F", refused(Reason.ZERO_AMOUNT)),
    ("PAY M4 F", refused(Reason.BAD_AMOUNT)),
    ("PAY M4 F CFA", refused(Reason.BAD_AMOUNT)),
    ("PAY M4 -5000F", refused(Reason.NEGATIVE_AMOUNT)),
    ("PAY 77-123-45-67", refused(Reason.MISSING_AMOUNT)),
    ("PAY (77) 123 45 67", refused(Reason.MISSING_AMOUNT)),
    ("PAY 77-123-45-6 5000", refused(Reason.BAD_AMOUNT)),  # a digit short: no valid phone
    ("PAY 33-821-12-34 5000", refused(Reason.BAD_AMOUNT)),  # a landline is not a mobile
    ("PAY 5000", refused(Reason.MISSING_AMOUNT)),
    ("PAY 5000 F", refused(Reason.MISSING_AMOUNT)),
    ("PAY 5000 M4 M5", refused(Reason.UNEXPECTED)),
    ("PAIEMENT", refused(Reason.MISSING_MEMBER)),
    ("VERSEMENT M4", refused(Reason.MISSING_AMOUNT)),
    ("DEPOT M4", refused(Reason.MISSING_AMOUNT, Keyword.DEP)),
    ("PAY M4 5000 F CFA 20/11", refused(Reason.OLD_DATE)),
    ("PAY M4 5000F 06/12", refused(Reason.FUTURE_DATE)),
    ("Bonjour", refused(Reason.UNKNOWN_KEYWORD, None)),
    ("5000 M4", refused(Reason.UNKNOWN_KEYWORD, None)),
]


@pytest.mark.parametrize(("sms", "expected"), PHRASINGS, ids=[row[0] for row in PHRASINGS])
def test_phrasing_reads_exactly(sms, expected):
    """Each phrasing reads as exactly the command, or exactly the problem, that the table gives."""
    result = parse(sms, TODAY)
    if isinstance(expected, Command):
        assert result == expected
    else:
        assert isinstance(result, Problem), result
        assert (result.reason, result.keyword) == expected


def test_table_is_large_and_has_no_duplicates():
    """The table holds at least 120 distinct phrasings."""
    texts = [row[0] for row in PHRASINGS]
    assert len(texts) >= 120
    assert len(set(texts)) == len(texts)

"""The SMS command grammar as a table: the contract's examples, then sloppy, malformed and hostile texts."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms.commands.parser import MAX_LENGTH, Command, Keyword, Problem, Reason, parse
from tests.commands.readings import TODAY, no, pay, phone

# (SMS, what it reads as) — the first six rows are the contract's examples (docs/design.md, "SMS commands").
GOOD = [
    ("PAY 77 123 45 67 11 000", pay(phone(), 11_000)),
    ("paye m12 5.000f", pay(no("M12"), 5_000)),
    ("PAY +221 77 123 45 67 2500", pay(phone(), 2_500)),
    ("REMB 771234567 5000 L-001 03/12", pay(phone(), 5_000, loan_ref="L-001", paid_on=date(2026, 12, 3))),
    ("oui1234", Command(Keyword.OUI, code="1234")),
    # alone, OUI and ANNULE ask about what is pending (the handler names it)
    ("OUI", Command(Keyword.OUI)),
    ("ANNULE", Command(Keyword.ANNULE)),
    # amounts as treasurers write them
    ("PAY m12 5000", pay(no("M12"), 5_000)),
    ("PAY m12 5 000", pay(no("M12"), 5_000)),
    ("PAY m12 5.000", pay(no("M12"), 5_000)),
    ("PAY m12 5,000", pay(no("M12"), 5_000)),
    ("PAY m12 5000F", pay(no("M12"), 5_000)),
    ("PAY m12 5000 FCFA", pay(no("M12"), 5_000)),
    ("PAY m12 5 000 F", pay(no("M12"), 5_000)),
    ("PAY m12 5000cfa", pay(no("M12"), 5_000)),
    ("PAY m12 1 250 000", pay(no("M12"), 1_250_000)),
    ("PAY m12 1.250.000 F L-001", pay(no("M12"), 1_250_000, loan_ref="L-001")),
    # members and phones
    ("PAY M0012 5000", pay(no("M0012"), 5_000)),
    ("PAY M 12 5000", pay(no("M12"), 5_000)),
    ("PAY m-12 5000", pay(no("M-12"), 5_000)),
    ("PAY 771234567 5000", pay(phone(), 5_000)),
    ("PAY 221771234567 5000", pay(phone(), 5_000)),
    ("PAY +221771234567 5000", pay(phone(), 5_000)),
    ("PAY 00221771234567 5000", pay(phone(), 5_000)),
    ("PAY 00221 77 123 45 67 1 000 000 F", pay(phone(), 1_000_000)),
    ("PAY 78 111 22 33 500", pay(phone("+221781112233"), 500)),
    ("PAY 77 123 45 67 221 000", pay(phone(), 221_000)),  # the shortest phone wins, the rest is the amount
    ("PAY 12 5000", pay(no("12"), 5_000)),  # a member number written as digits: the lookup decides
    # dates, loan references and OK
    ("PAY m12 5000 28/11", pay(no("M12"), 5_000, paid_on=date(2026, 11, 28))),
    ("PAY m12 5000 5/12", pay(no("M12"), 5_000, paid_on=TODAY)),
    ("PAY m12 5000 03/12/2026", pay(no("M12"), 5_000, paid_on=date(2026, 12, 3))),
    ("PAY m12 5000 ok", pay(no("M12"), 5_000, force=True)),
    ("PAY m12 5000 03/12 OK", pay(no("M12"), 5_000, paid_on=date(2026, 12, 3), force=True)),
    ("PAY m12 5000 OK 03/12", pay(no("M12"), 5_000, paid_on=date(2026, 12, 3), force=True)),
    ("PAY 77 123 45 67 11 000 L-7 ok", pay(phone(), 11_000, loan_ref="L-7", force=True)),
    ("PAY m12 5000 l-001", pay(no("M12"), 5_000, loan_ref="L-001")),
    # aliases, case, accents and spacing
    ("remb M12 5000", pay(no("M12"), 5_000)),
    ("Paye   m12    5000  ", pay(no("M12"), 5_000)),
    ("PAY:m12 5000", pay(no("M12"), 5_000)),
    ("PAY\tm12\n5000", pay(no("M12"), 5_000)),
    ("DEP m12 2000", Command(Keyword.DEP, member=no("M12"), amount=2_000)),
    ("Dép M 12 5 000 FCFA", Command(Keyword.DEP, member=no("M12"), amount=5_000)),
    (
        "épargne m12 2000 04/12",
        Command(Keyword.DEP, member=no("M12"), amount=2_000, paid_on=date(2026, 12, 4)),
    ),
    ("EPARGNE m12 2000 ok", Command(Keyword.DEP, member=no("M12"), amount=2_000, force=True)),
    ("retrait m12 2000", Command(Keyword.RETRAIT, member=no("M12"), amount=2_000)),
    ("WITHDRAW 77 123 45 67 2 000", Command(Keyword.RETRAIT, member=phone(), amount=2_000)),
    ("OUI 1234", Command(Keyword.OUI, code="1234")),
    ("yes 1234", Command(Keyword.OUI, code="1234")),
    ("Oui 12 34", Command(Keyword.OUI, code="1234")),
    ("NON 1234", Command(Keyword.NON, code="1234")),
    ("no1234", Command(Keyword.NON, code="1234")),
    ("non #1234", Command(Keyword.NON, code="1234")),
    ("ANNULE R000015", Command(Keyword.ANNULE, code="R000015")),
    ("annulé r000015", Command(Keyword.ANNULE, code="R000015")),
    ("cancel d00005s", Command(Keyword.ANNULE, code="D00005S")),
    ("PIN m12", Command(Keyword.PIN, member=no("M12"))),
    ("reset 77 123 45 67", Command(Keyword.PIN, member=phone())),
    ("SOLDE M0012", Command(Keyword.SOLDE, member=no("M0012"))),
    ("bal +221 77 123 45 67", Command(Keyword.SOLDE, member=phone())),
    ("AIDE", Command(Keyword.AIDE)),
    ("help me please", Command(Keyword.AIDE)),
    ("aide?", Command(Keyword.AIDE)),
    ("ARRÊT", Command(Keyword.STOP)),
    ("stop", Command(Keyword.STOP)),
    (" arret svp", Command(Keyword.STOP)),
    ("STOP " + "x" * MAX_LENGTH, Command(Keyword.STOP)),  # however long the complaint, it opts out
    ("start", Command(Keyword.START)),
    # synonyms in French, English and Wolof (tests/commands/test_phrasings.py has them in context)
    ("Paiement m12 5000", pay(no("M12"), 5_000)),
    ("VERSEMENT m12 5000", pay(no("M12"), 5_000)),
    ("Remboursement m12 5000", pay(no("M12"), 5_000)),
    ("rembourse m12 5000", pay(no("M12"), 5_000)),
    ("payment m12 5000", pay(no("M12"), 5_000)),
    ("REPAY m12 5000", pay(no("M12"), 5_000)),
    ("repayment m12 5000", pay(no("M12"), 5_000)),
    ("fey m12 5000", pay(no("M12"), 5_000)),
    ("deposit m12 2000", Command(Keyword.DEP, member=no("M12"), amount=2_000)),
    ("dugal m12 2000", Command(Keyword.DEP, member=no("M12"), amount=2_000)),
    ("deggal 1234", Command(Keyword.OUI, code="1234")),
    ("retirer m12 2000", Command(Keyword.RETRAIT, member=no("M12"), amount=2_000)),
    ("withdrawal m12 2000", Command(Keyword.RETRAIT, member=no("M12"), amount=2_000)),
    ("genne m12 2000", Command(Keyword.RETRAIT, member=no("M12"), amount=2_000)),
    ("waaw 1234", Command(Keyword.OUI, code="1234")),
    ("deedeet 1234", Command(Keyword.NON, code="1234")),
    ("neenal R000015", Command(Keyword.ANNULE, code="R000015")),
    ("ndimbal", Command(Keyword.AIDE)),
    ("solde", Command(Keyword.SOLDE)),
    ("START.", Command(Keyword.START)),
    ('"stop"', Command(Keyword.STOP)),
    # the other aliases
    ("depot m12 2000", Command(Keyword.DEP, member=no("M12"), amount=2_000)),
    ("annuler R000015", Command(Keyword.ANNULE, code="R000015")),
    ("balance m12", Command(Keyword.SOLDE, member=no("M12"))),
    # what other keyboards produce
    ("ＰＡＹ ｍ１２ ５０００", pay(no("M12"), 5_000)),
    ("PAY m12 ٥٠٠٠", pay(no("M12"), 5_000)),
    ("PAY m12\u200b 5000", pay(no("M12"), 5_000)),
    ("PAY m12\u00a05\u00a0000", pay(no("M12"), 5_000)),
    # RETARDS: nothing is page 1, a bare 1-2 digit number a page, else a member; aliases fr/en/wo
    ("RETARDS", Command(Keyword.RETARDS, page=1)),
    ("retards 2", Command(Keyword.RETARDS, page=2)),
    ("RETARD 12", Command(Keyword.RETARDS, page=12)),
    ("LATE m12", Command(Keyword.RETARDS, member=no("M12"))),
    ("ARREARS 77 123 45 67", Command(Keyword.RETARDS, member=phone())),
    ("yéex M0012", Command(Keyword.RETARDS, member=no("M0012"))),
    # PROMESSE: member, amount, then the next JJ/MM 1 to 30 days ahead (TODAY is 05/12/2026)
    (
        "PROMESSE m12 5000 10/12",
        Command(Keyword.PROMESSE, member=no("M12"), amount=5_000, promise_on=date(2026, 12, 10)),
    ),
    (
        "promise M12 5 000 F 31/12",
        Command(Keyword.PROMESSE, member=no("M12"), amount=5_000, promise_on=date(2026, 12, 31)),
    ),
    (
        "DIG 77 123 45 67 5000 06/12",
        Command(Keyword.PROMESSE, member=phone(), amount=5_000, promise_on=date(2026, 12, 6)),
    ),
]


@pytest.mark.parametrize(("sms", "expected"), GOOD, ids=[row[0] for row in GOOD])
def test_reads_as(sms, expected):
    """Each well-formed message reads as the command the table gives."""
    assert parse(sms, TODAY) == expected


def problem(reason, keyword=None):
    return (reason, keyword)


BAD = [
    # the contract's syntax-reply example
    ("PAY M0012", problem(Reason.MISSING_AMOUNT, Keyword.PAY)),
    ("PAY", problem(Reason.MISSING_MEMBER, Keyword.PAY)),
    ("PAY 77 123 45 67", problem(Reason.MISSING_AMOUNT, Keyword.PAY)),
    ("PAY 5000", problem(Reason.MISSING_AMOUNT, Keyword.PAY)),
    ("PAY m12 0", problem(Reason.ZERO_AMOUNT, Keyword.PAY)),
    ("PAY 771234567 0", problem(Reason.ZERO_AMOUNT, Keyword.PAY)),
    ("PAY m12 -5000", problem(Reason.NEGATIVE_AMOUNT, Keyword.PAY)),
    ("PAY 771234567 -5000", problem(Reason.NEGATIVE_AMOUNT, Keyword.PAY)),
    ("PAY m12 5000,50", problem(Reason.BAD_AMOUNT, Keyword.PAY)),
    ("PAY m12 50 00", problem(Reason.BAD_AMOUNT, Keyword.PAY)),
    ("PAY m12 cinq mille", problem(Reason.BAD_AMOUNT, Keyword.PAY)),
    ("PAY 77 123 45 6 5000", problem(Reason.BAD_AMOUNT, Keyword.PAY)),  # a digit short: no valid phone
    ("PAY 33 821 12 34 5000", problem(Reason.BAD_AMOUNT, Keyword.PAY)),  # a landline is not a mobile
    ("PAY m12 5000 L-001 extra", problem(Reason.UNEXPECTED, Keyword.PAY)),
    ("PAY m12 5000 20/11", problem(Reason.OLD_DATE, Keyword.PAY)),  # 15 days back
    ("PAY m12 5000 06/12", problem(Reason.FUTURE_DATE, Keyword.PAY)),
    ("PAY m12 5000 31/02", problem(Reason.BAD_DATE, Keyword.PAY)),
    ("PAY m12 5000 03/12/2025", problem(Reason.OLD_DATE, Keyword.PAY)),
    ("DEP m12", problem(Reason.MISSING_AMOUNT, Keyword.DEP)),
    ("DEP m12 2000 L-001", problem(Reason.UNEXPECTED, Keyword.DEP)),  # no loan on a deposit
    ("RETRAIT m12 2000 03/12", problem(Reason.UNEXPECTED, Keyword.RETRAIT)),  # a withdrawal is today
    ("RETARDS x", problem(Reason.BAD_MEMBER, Keyword.RETARDS)),
    ("RETARDS 0", problem(Reason.BAD_PAGE, Keyword.RETARDS)),
    ("PROMESSE m12 5000", problem(Reason.MISSING_DATE, Keyword.PROMESSE)),
    ("PROMESSE m12 5000 20/11", problem(Reason.PAST_PROMISE, Keyword.PROMESSE)),
    ("PROMESSE m12 5000 05/12", problem(Reason.PAST_PROMISE, Keyword.PROMESSE)),  # today is not ahead
    ("PROMESSE m12 5000 15/01", problem(Reason.FAR_PROMISE, Keyword.PROMESSE)),  # 41 days
    ("PROMESSE m12 5000 31/02", problem(Reason.BAD_DATE, Keyword.PROMESSE)),
    ("OUI 123", problem(Reason.BAD_CODE, Keyword.OUI)),
    ("OUI 12345", problem(Reason.BAD_CODE, Keyword.OUI)),
    ("NON abcd", problem(Reason.BAD_CODE, Keyword.NON)),
    ("ANNULE R0 00 15", problem(Reason.BAD_CODE, Keyword.ANNULE)),
    ("PIN", problem(Reason.MISSING_MEMBER, Keyword.PIN)),
    ("PIN m12 m13", problem(Reason.UNEXPECTED, Keyword.PIN)),
    ("SOLDE 77 123", problem(Reason.BAD_MEMBER, Keyword.SOLDE)),
    # above MAX_AMOUNT (10 000 000 F): refused, whatever the writing
    ("DEP M006 9 000 000 000 000 000 000", problem(Reason.TOO_LARGE_AMOUNT, Keyword.DEP)),
    ("PAY 77 123 45 67 10 000 001", problem(Reason.TOO_LARGE_AMOUNT, Keyword.PAY)),
    ("RETRAIT m12 999999999999", problem(Reason.TOO_LARGE_AMOUNT, Keyword.RETRAIT)),
    ("DEP m12 10.000.001F", problem(Reason.TOO_LARGE_AMOUNT, Keyword.DEP)),
    # no keyword at all
    ("", problem(Reason.EMPTY)),
    ("     ", problem(Reason.EMPTY)),
    ("\n\t", problem(Reason.EMPTY)),
    ("Bonjour tresorier", problem(Reason.UNKNOWN_KEYWORD)),
    ("5000 m12 PAY", problem(Reason.UNKNOWN_KEYWORD)),
    ("PAYER m12 5000", problem(Reason.UNKNOWN_KEYWORD)),
    ("🙂🙂", problem(Reason.UNKNOWN_KEYWORD)),
    # hostile
    ("PAY m12'; DROP TABLE member;-- 5000", problem(Reason.BAD_MEMBER, Keyword.PAY)),
    ("PAY m12 5000' OR '1'='1", problem(Reason.BAD_AMOUNT, Keyword.PAY)),
    ("PAY {coop} 5000", problem(Reason.BAD_MEMBER, Keyword.PAY)),
    ("PAY m12 %s%s%s", problem(Reason.BAD_AMOUNT, Keyword.PAY)),
    ("PAY <script>alert(1)</script> 5000", problem(Reason.BAD_MEMBER, Keyword.PAY)),
    ("PAY m12 " + "9" * 40, problem(Reason.BAD_AMOUNT, Keyword.PAY)),
    ("PAY " + "7 " * 150, problem(Reason.BAD_AMOUNT, Keyword.PAY)),
    ("PAY m12 5000 " + "x" * (MAX_LENGTH + 1), problem(Reason.TOO_LONG, Keyword.PAY)),
    ("A" * 10_000, problem(Reason.TOO_LONG)),
    ("PAY\x00m12\x005000\x00", None),  # NUL bytes are spaces: it reads fine
]


@pytest.mark.parametrize(("sms", "expected"), BAD, ids=[repr(row[0])[:40] for row in BAD])
def test_is_refused_naming_the_keyword(sms, expected):
    """A malformed message is a Problem naming what was wrong and the keyword it recognised."""
    result = parse(sms, TODAY)
    if expected is None:
        assert result == pay(no("M12"), 5_000)
        return
    assert isinstance(result, Problem), result
    assert (result.reason, result.keyword) == expected
    assert len(result.detail) <= 20


def test_day_month_on_new_years_day_is_last_december():
    """30/12 read on 2 January is three days back, not next December."""
    assert parse("PAY m12 5000 30/12", date(2027, 1, 2)).paid_on == date(2026, 12, 30)


def test_none_is_an_empty_message():
    """A gateway that posts no text field still gets a Problem, not an exception."""
    assert parse(None, TODAY) == Problem(Reason.EMPTY)


@given(st.text(max_size=400))
def test_any_text_is_a_command_or_a_problem(text):
    """Whatever arrives, the parser answers without raising, and a command never carries amount <= 0."""
    result = parse(text, TODAY)
    assert isinstance(result, Command | Problem)
    if isinstance(result, Command) and result.amount is not None:
        assert result.amount > 0


@given(
    st.lists(
        st.sampled_from(
            ["PAY", "m12", "77", "123", "45", "67", "5", "000", "F", "OK", "03/12", "L-1", "+221"]
        ),
        max_size=12,
    )
)
def test_keyword_soup_is_a_command_or_a_problem(words):
    """Shuffled pieces of real commands never crash the reader."""
    result = parse(" ".join(words), TODAY)
    assert isinstance(result, Command | Problem)


def test_max_amount_is_the_last_accepted_amount():
    """10 000 000 F is accepted; the configured bound is what the reader checks."""
    assert parse("DEP m12 10 000 000", TODAY) == Command(Keyword.DEP, member=no("M12"), amount=10_000_000)
    assert parse("DEP m12 5001", TODAY, max_amount=5_000).reason == Reason.TOO_LARGE_AMOUNT

"""The SMS command grammar as a pure function: text in, a typed command or a problem out.

The rules are in docs/design.md, "SMS commands". Keywords, their aliases and what may follow them
come from the registry (sms/commands/registry.py); they are matched case-insensitively after
folding accents (`ARRÊT` = `ARRET`). `<member>` is a member number (`m12` = `M0012`) or a phone.
A treasurer who writes both phone and amount in digit groups (`PAY 77 123 45 67 11 000`) is read
by joining the groups after the keyword into the shortest valid Senegal mobile number; the
remaining groups are the amount. Nothing here touches the database: a `Problem` names the keyword
it recognised, so the reply can give that keyword's syntax.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import phonenumbers

from config.settings import Config
from i18n.accents import strip_accents
from i18n.formatting import format_money
from sms.commands.registry import COMMANDS, Keyword
from sms.commands.spec import Command, MemberRef, Shape

__all__ = ["Command", "Keyword", "MemberRef", "Problem", "Reason", "parse"]

# Longer texts are not commands anyone types on a keypad; refusing them bounds the work per SMS.
MAX_LENGTH = 320
# Digit groups considered for the phone/amount split (a phone is at most 14 digits in 1-digit groups).
MAX_GROUPS = 24
BACKDATE_DAYS = 7
# A promise's date is 1 to this many days ahead (models.promises.MAX_DAYS_AHEAD).
PROMISE_DAYS_AHEAD = 30
# A day/month this far ahead is read as a typo for the future rather than last year's date.
FUTURE_WINDOW_DAYS = 60


class Reason(StrEnum):
    """Why a text is not a command."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    UNKNOWN_KEYWORD = "unknown_keyword"
    MISSING_MEMBER = "missing_member"
    BAD_MEMBER = "bad_member"
    MISSING_AMOUNT = "missing_amount"
    BAD_AMOUNT = "bad_amount"
    ZERO_AMOUNT = "zero_amount"
    NEGATIVE_AMOUNT = "negative_amount"
    TOO_LARGE_AMOUNT = "too_large_amount"
    BAD_DATE = "bad_date"
    FUTURE_DATE = "future_date"
    OLD_DATE = "old_date"
    BAD_CODE = "bad_code"
    BAD_PAGE = "bad_page"
    MISSING_DATE = "missing_date"
    PAST_PROMISE = "past_promise"
    FAR_PROMISE = "far_promise"
    UNEXPECTED = "unexpected"


@dataclass(frozen=True)
class Problem:
    """A text that is not a valid command; `keyword` is the one recognised, if any."""

    reason: Reason
    keyword: str | None = None
    detail: str = ""


_CURRENCY = {"F", "FR", "FRS", "FRANC", "FRANCS", "FCFA", "CFA", "F.CFA", "XOF"}
_NUMBER = re.compile(r"(\+|-)?[0-9]+(?:[.,][0-9]+)*", re.ASCII)
_NUMBER_WITH_UNIT = re.compile(r"(-?[0-9]+(?:[.,][0-9]+)*)(F|FR|FRS|FRANCS?|FCFA|CFA|F\.CFA|XOF)", re.ASCII)
# Words that say an amount was written in words or shorthand (`5k`, `5 mille`): refused, never guessed.
_AMOUNT_WORDS = {"K", "MILLE", "MIL", "MILLION", "MILLIONS", "CENT", "CENTS"}
# `77-123-45-67`, `(77) 123 45 67`, `(+221)`: dashes and parentheses between digit groups.
_PUNCTUATED_DIGITS = re.compile(r"\(?\+?[0-9]+\)?(?:[-()]+[0-9]+\)?)*", re.ASCII)
_MEMBER_NO = re.compile(r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*", re.ASCII)
_LOAN_REF = re.compile(r"[A-Z0-9][A-Z0-9_.-]*", re.ASCII)
_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})(?:/([0-9]{2}|[0-9]{4}))?", re.ASCII)
_GLUED = re.compile(r"([A-Z]+)([0-9].*)", re.ASCII)
_RECEIPT = re.compile(r"[A-Z][A-Z0-9]{4,11}", re.ASCII)


def fold(text: str) -> str:
    """Upper case, compatibility forms unified (full-width letters), accents and controls removed."""
    text = strip_accents(unicodedata.normalize("NFKC", text))
    return "".join(_fold_char(c) for c in text).upper()


def _fold_char(c: str) -> str:
    if c.isascii():
        # `PAY:M12 5000;` reads as `PAY M12 5000`; control characters as spaces.
        return " " if c in ":;" or not c.isprintable() else c
    if unicodedata.category(c) == "Nd":
        return str(unicodedata.digit(c))  # Arabic-Indic and other keypads' digits
    return c if c.isprintable() and not c.isspace() else " "


def parse(text: str | None, today: date, max_amount: int = Config.MAX_AMOUNT) -> Command | Problem:
    """Read one SMS as a command; `today` (Africa/Dakar) resolves a `JJ/MM` date; amounts ≤ max_amount."""
    raw = text or ""
    if len(raw) > MAX_LENGTH:
        # Name the keyword, if any, so the reply can still give its format.
        keyword = _keyword(fold(raw[:40]).split())[0]
        if keyword is not None and not COMMANDS[keyword].shape.takes_arguments:
            return Command(keyword)  # STOP followed by a long complaint still opts out
        return Problem(Reason.TOO_LONG, keyword)
    tokens = _tokens(fold(raw))
    if not tokens:
        return Problem(Reason.EMPTY)
    keyword, args = _keyword(tokens)
    if keyword is None:
        return Problem(Reason.UNKNOWN_KEYWORD, detail=tokens[0][:20])
    return _Reader(keyword, COMMANDS[keyword].shape, args, today, max_amount).read()


def _tokens(folded: str) -> list[str]:
    """Words with a trailing full stop or comma dropped; phones' dashes and parentheses as spaces."""
    tokens: list[str] = []
    for word in folded.split():
        word = word.rstrip(".,!?")
        if _PUNCTUATED_DIGITS.fullmatch(word):
            tokens.extend(re.sub(r"[-()]", " ", word).split())
            continue
        if word:
            tokens.append(word)
    return tokens


def _keyword(tokens: list[str]) -> tuple[Keyword | None, list[str]]:
    """The keyword and the arguments after it; `OUI1234` is `OUI` then `1234`."""
    if not tokens:
        return None, []
    # Punctuation around the keyword is not part of it (`"STOP"`, `AIDE?`, `*PAY`).
    first = re.sub(r"^[^A-Z0-9]+|[^A-Z0-9]+$", "", tokens[0])
    match = _GLUED.fullmatch(first)
    if match and match[1] in COMMANDS.by_alias:
        return _canonical(match[1]), [match[2], *tokens[1:]]
    return _canonical(first), tokens[1:]


def _canonical(alias: str) -> Keyword | None:
    spec = COMMANDS.by_alias.get(alias)
    return Keyword(spec.keyword) if spec is not None else None


class _Reader:
    """Reads the arguments of one keyword from the end (OK, date) and the start (member, amount)."""

    def __init__(
        self,
        keyword: Keyword,
        shape: Shape,
        args: list[str],
        today: date,
        max_amount: int = Config.MAX_AMOUNT,
    ):
        self.keyword = keyword
        self.shape = shape
        self.args = args
        self.today = today
        self.max_amount = max_amount

    def problem(self, reason: Reason, detail: str = "") -> Problem:
        return Problem(reason, self.keyword, detail[:20])

    def read(self) -> Command | Problem:
        shape, args = self.shape, list(self.args)
        if shape.code is not None:
            return self.read_code(args)
        if not shape.member:
            # AIDE, STOP, START: whatever follows is chatter, not an error.
            return Command(self.keyword)
        if shape.page:
            return self.read_page_or_member(args)
        if shape.promise_on:
            return self.read_promise(args)
        force = False
        paid_on = None
        if args and shape.force and args[-1] == "OK":
            force = True
            args.pop()
        if args and _DATE.fullmatch(args[-1]):
            if not shape.paid_on:
                return self.problem(Reason.UNEXPECTED, args[-1])
            paid_on = self.read_date(args.pop())
            if isinstance(paid_on, Problem):
                return paid_on
            if args and shape.force and args[-1] == "OK":
                force = True
                args.pop()
        if not args:
            if shape.member_optional:
                return Command(self.keyword)
            return self.problem(Reason.MISSING_MEMBER)
        if not shape.amount:
            member = self.read_lone_member(args)
            return member if isinstance(member, Problem) else Command(self.keyword, member=member)
        found = self.read_member_and_amount(args)
        if isinstance(found, Problem):
            return found
        member, amount, rest = found
        loan_ref = None
        if rest and shape.loan_ref and _LOAN_REF.fullmatch(rest[0]) and len(rest[0]) <= 40:
            loan_ref = rest.pop(0)
        if rest:
            return self.problem(Reason.UNEXPECTED, rest[0])
        return Command(
            self.keyword, member=member, amount=amount, loan_ref=loan_ref, paid_on=paid_on, force=force
        )

    def read_page_or_member(self, args: list[str]) -> Command | Problem:
        """RETARDS: nothing (page 1), a bare 1–2 digit page number, or one member with a digit in it."""
        if not args:
            return Command(self.keyword, page=1)
        if len(args) == 1 and re.fullmatch(r"[0-9]{1,2}", args[0], re.ASCII):
            page = int(args[0])
            return Command(self.keyword, page=page) if page else self.problem(Reason.BAD_PAGE, args[0])
        # A word without a digit (`RETARDS x`) is neither a page nor a member number.
        if len(args) == 1 and not any(c.isdigit() for c in args[0]):
            return self.problem(Reason.BAD_MEMBER, args[0])
        member = self.read_lone_member(args)
        return member if isinstance(member, Problem) else Command(self.keyword, member=member)

    def read_promise(self, args: list[str]) -> Command | Problem:
        """PROMESSE: member, amount, then a JJ/MM date read as its next occurrence, 1 to 30 days ahead."""
        if not args:
            return self.problem(Reason.MISSING_MEMBER)
        if not _DATE.fullmatch(args[-1]):
            found = self.read_member_and_amount(args)
            return found if isinstance(found, Problem) else self.problem(Reason.MISSING_DATE)
        token = args.pop()
        promise_on = self.read_ahead(token)
        if isinstance(promise_on, Problem):
            return promise_on
        if not args:
            return self.problem(Reason.MISSING_MEMBER)
        found = self.read_member_and_amount(args)
        if isinstance(found, Problem):
            return found
        member, amount, rest = found
        if rest:
            return self.problem(Reason.UNEXPECTED, rest[0])
        return Command(self.keyword, member=member, amount=amount, promise_on=promise_on)

    def read_ahead(self, token: str) -> date | Problem:
        """The next JJ/MM after today (a year given must agree); 1 to 30 days ahead, else a problem."""
        match = _DATE.fullmatch(token)
        day, month = int(match[1]), int(match[2])
        year = int(match[3]) if match[3] else None
        if year is not None and year < 100:
            year += 2000
        try:
            this_year = date(year or self.today.year, month, day)
        except ValueError:
            return self.problem(Reason.BAD_DATE, token)
        ahead = this_year
        if year is None and ahead <= self.today:
            try:
                ahead = date(self.today.year + 1, month, day)
            except ValueError:  # 29/02 next year
                return self.problem(Reason.FAR_PROMISE, token)
        if (ahead - self.today).days > PROMISE_DAYS_AHEAD or ahead <= self.today:
            # A date just gone is a mistake for the past, not a promise a year away.
            past = this_year <= self.today and (self.today - this_year).days <= FUTURE_WINDOW_DAYS
            return self.problem(Reason.PAST_PROMISE if past else Reason.FAR_PROMISE, token)
        return ahead

    def read_code(self, args: list[str]) -> Command | Problem:
        joined = "".join(args).strip(".:;,!?#")
        if not joined:
            # Alone, the handler names what is pending (the one declaration, the sender's last receipt).
            return Command(self.keyword)
        if self.shape.code == "declaration":
            if not re.fullmatch(r"[0-9]{4}", joined, re.ASCII):
                return self.problem(Reason.BAD_CODE, joined)
            return Command(self.keyword, code=joined)
        if len(args) != 1 or not _RECEIPT.fullmatch(joined):
            return self.problem(Reason.BAD_CODE, joined)
        return Command(self.keyword, code=joined)

    def read_date(self, token: str) -> date | Problem:
        match = _DATE.fullmatch(token)
        day, month = int(match[1]), int(match[2])
        year = int(match[3]) if match[3] else None
        if year is not None and year < 100:
            year += 2000
        try:
            if year is None:
                # 30/12 read on 2 January is last year's; 06/12 read on 5 December is a day ahead.
                paid_on = date(self.today.year, month, day)
                if paid_on - self.today > timedelta(days=FUTURE_WINDOW_DAYS):
                    paid_on = date(self.today.year - 1, month, day)
            else:
                paid_on = date(year, month, day)
        except ValueError:
            return self.problem(Reason.BAD_DATE, token)
        if paid_on > self.today:
            return self.problem(Reason.FUTURE_DATE, token)
        if self.today - paid_on > timedelta(days=BACKDATE_DAYS):
            return self.problem(Reason.OLD_DATE, token)
        return paid_on

    def read_lone_member(self, args: list[str]) -> MemberRef | Problem:
        """PIN and SOLDE: the whole rest is one member number or one phone written in groups."""
        member_no = _member_no(args)
        if member_no is not None:
            if len(member_no[1]) != 0:
                return self.problem(Reason.UNEXPECTED, member_no[1][0])
            return MemberRef(member_no=member_no[0])
        if all(_NUMBER.fullmatch(a) for a in args):
            phone = senegal_mobile(re.sub(r"[.,]", "", "".join(args)))
            if phone:
                return MemberRef(phone=phone)
            if len(args) == 1 and args[0].isdigit() and len(args[0]) <= 6:
                return MemberRef(member_no=args[0])
        return self.problem(Reason.BAD_MEMBER, args[0])

    def read_member_and_amount(self, args: list[str]) -> tuple[MemberRef, int, list[str]] | Problem:
        member_no = _member_no(args)
        groups, rest = _number_groups(member_no[1] if member_no is not None else args)
        negative = next((g for g in groups if g.startswith("-")), None)
        if member_no is not None:
            if negative is not None:
                return self.problem(Reason.NEGATIVE_AMOUNT, negative)
            if not groups:
                return self.problem(Reason.BAD_AMOUNT if rest else Reason.MISSING_AMOUNT, "".join(rest[:1]))
            amount = _amount(groups)
            if amount is None:
                return self.problem(Reason.BAD_AMOUNT, " ".join(groups))
            return self.check_amount(MemberRef(member_no=member_no[0]), amount, rest)
        if not groups or groups[0].startswith("-"):
            return self.problem(Reason.BAD_MEMBER, args[0])
        if negative is not None:
            return self.problem(Reason.NEGATIVE_AMOUNT, negative)
        split = _split_phone_amount(groups)
        if split is not None:
            return self.check_amount(MemberRef(phone=split[0]), split[1], rest)
        amount_first = self.read_amount_first(groups, rest)
        if amount_first is not None:
            return amount_first
        # A member number written as digits only (`PAY 12 5000`): the lookup says whether it exists.
        if groups[0].isdigit() and len(groups[0]) <= 6 and len(groups) > 1:
            amount = _amount(groups[1:])
            if amount is not None:
                return self.check_amount(MemberRef(member_no=groups[0]), amount, rest)
        if senegal_mobile("".join(groups)) or (len(groups) == 1 and not rest):
            return self.problem(Reason.MISSING_AMOUNT)
        if any(_amount(groups[k:]) == 0 for k in range(1, len(groups))):
            return self.problem(Reason.ZERO_AMOUNT, "0")
        return self.problem(Reason.BAD_AMOUNT, " ".join(groups))

    def read_amount_first(self, groups: list[str], rest: list[str]):
        """`PAY 5000 M4`, `PAY 5 000 77 123 45 67`: read only when `<member> <amount>` found nothing."""
        if rest:
            member_no = _member_no(rest)
            amount = _amount(groups)
            if member_no is not None and amount is not None:
                if member_no[1]:
                    return self.problem(Reason.UNEXPECTED, member_no[1][0])
                return self.check_amount(MemberRef(member_no=member_no[0]), amount, [])
            more, after = _number_groups(rest)
            phone = senegal_mobile("".join(more))
            if phone and amount is not None and not after:
                return self.check_amount(MemberRef(phone=phone), amount, [])
            return None
        for k in range(len(groups) - 1, 0, -1):
            phone = senegal_mobile("".join(groups[k:]))
            amount = _amount(groups[:k])
            if phone and amount:
                return self.check_amount(MemberRef(phone=phone), amount, [])
        return None

    def check_amount(self, member: MemberRef, amount: int, rest: list[str]):
        if amount == 0:
            return self.problem(Reason.ZERO_AMOUNT, "0")
        # Above MAX_AMOUNT no override: no member deals in such sums, and the ledger must never
        # see an amount its columns or balances cannot hold.
        if amount > self.max_amount:
            return self.problem(Reason.TOO_LARGE_AMOUNT, format_money(self.max_amount))
        if rest and rest[0] in _AMOUNT_WORDS:
            return self.problem(Reason.BAD_AMOUNT, rest[0])
        return member, amount, rest


def _member_no(args: list[str]) -> tuple[str, list[str]] | None:
    """A leading member number (`M12`, `m0012`, `M 12`, `M-12`) and the arguments after it."""
    first = args[0]
    if first in _CURRENCY or not _MEMBER_NO.fullmatch(first) or len(first) > 20:
        return None
    if first.isalpha() and len(first) == 1 and len(args) > 1 and args[1].isdigit() and len(args[1]) <= 6:
        return first + args[1], args[2:]
    return first, args[1:]


def _number_groups(args: list[str]) -> tuple[list[str], list[str]]:
    """The leading run of digit groups (`5.000` split at its separators; `5000F` and `F` dropped)."""
    groups: list[str] = []
    index = 0
    for index, token in enumerate(args):
        with_unit = _NUMBER_WITH_UNIT.fullmatch(token)
        if with_unit:
            groups.extend(re.split(r"[.,]", with_unit[1]))
            index += 1
            while index < len(args) and args[index] in _CURRENCY:
                index += 1
            break
        if token in _CURRENCY and groups:
            index += 1
            # `F CFA`, `francs cfa`: every currency word after the amount goes with it.
            while index < len(args) and args[index] in _CURRENCY:
                index += 1
            break
        if not _NUMBER.fullmatch(token) or len(groups) >= MAX_GROUPS:
            break
        if token.startswith("+") and groups:
            break
        head, *tail = re.split(r"[.,]", token)
        groups.append(head)
        groups.extend(tail)
    else:
        index = len(args)
    return groups, args[index:]


def _amount(groups: list[str]) -> int | None:
    """`5000`, or thousands groups `5 000` / `1 250 000`; None for anything else (decimals, `50 00`)."""
    if not groups or any(not g.isdigit() for g in groups):
        return None
    if len(groups) == 1:
        return int(groups[0]) if len(groups[0]) <= 12 else None
    if not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:]):
        return None
    return int("".join(groups))


def _split_phone_amount(groups: list[str]) -> tuple[str, int] | None:
    """Join the first groups into the shortest valid Senegal mobile; the rest must be a positive amount."""
    phone_digits = ""
    for k, group in enumerate(groups[:-1], 1):
        phone_digits += group
        if len(phone_digits.lstrip("+")) > 14:
            return None
        phone = senegal_mobile(phone_digits)
        if phone is None:
            continue
        amount = _amount(groups[k:])
        if amount is not None and amount > 0:
            return phone, amount
    return None


def senegal_mobile(digits: str) -> str | None:
    """E.164 for 9 national digits or 221/+221/00221 + 9 when it is a Senegal mobile; else None."""
    if digits.startswith("+221"):
        national = digits[4:]
    elif digits.startswith("00221"):
        national = digits[5:]
    elif digits.startswith("221") and len(digits) == 12:
        national = digits[3:]
    else:
        national = digits
    if len(national) != 9 or not national.isdigit():
        return None
    number = phonenumbers.parse("+221" + national)
    if not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE:
        return None
    return "+221" + national

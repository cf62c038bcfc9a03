"""What the parser's table tests expect an SMS to read as: the day, a phone, a member and commands."""

from __future__ import annotations

from datetime import date

from sms.commands.parser import Command, Keyword, MemberRef

TODAY = date(2026, 12, 5)  # a Saturday; backdating reaches 28/11
AWA = "+221771234567"


def phone(number: str = AWA) -> MemberRef:
    """A member named by phone."""
    return MemberRef(phone=number)


def no(member_no: str) -> MemberRef:
    """A member named by number."""
    return MemberRef(member_no=member_no)


def pay(member: MemberRef, amount: int, **kw) -> Command:
    """A PAY command."""
    return Command(Keyword.PAY, member=member, amount=amount, **kw)


def dep(member: MemberRef, amount: int, **kw) -> Command:
    """A DEP command."""
    return Command(Keyword.DEP, member=member, amount=amount, **kw)


def out(member: MemberRef, amount: int, **kw) -> Command:
    """A RETRAIT command."""
    return Command(Keyword.RETRAIT, member=member, amount=amount, **kw)

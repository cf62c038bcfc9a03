"""Announcements to a cooperative's members, a region's, or only those in arrears, written in bulk.

See docs/design.md, "Reminders and announcements". The command line (`broadcast`) and the web
pages (`/admin/broadcast`) plan, describe and write through the same functions here.

Each member gets the text in their language, French when no text was given in theirs. Members
who sent STOP, inactive members and members without a phone are skipped. The texts are folded
to GSM-7 and the fold is shown before anything is written. During quiet hours the rows wait:
send_after = the end of the quiet hours. Identical texts are batched by the sender.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from i18n.catalog import DEFAULT, LANGUAGES
from i18n.gsm7 import fold, fold_char, segments
from models import audit
from models.cooperative import Cooperative, Member
from models.enums import LoanStatus, MemberStatus, SmsKind, SmsStatus, Source
from models.errors import NotFound
from models.ledger_tables import Instalment, Loan
from models.messaging import OutboundSms
from models.scope import Scope, known_region, region_key
from sms.sending_hours import SendingHours

CHUNK = 500


class BroadcastError(Exception):
    """A broadcast that cannot be planned; the message says why."""


class UnknownCooperative(BroadcastError):
    """No cooperative by that name or code."""


class MissingText(BroadcastError):
    """The French text is required (it is everyone's fallback) and no text may be empty."""


@dataclass(frozen=True)
class Fold:
    """How one language's text changed when folded to GSM-7."""

    language: str
    original: str
    folded: str

    @property
    def changes(self) -> list[tuple[str, str]]:
        """Each distinct character that changed and what it became, in order of appearance."""
        seen: dict[str, str] = {}
        for ch in self.original:
            if ch not in seen and fold_char(ch) != ch:
                seen[ch] = fold_char(ch)
        return list(seen.items())

    @property
    def unreadable(self) -> list[str]:
        """Characters with no GSM-7 form (shown as '?')."""
        return [ch for ch, new in self.changes if new == "?"]


@dataclass(frozen=True)
class Audience:
    """Who a broadcast is for: some cooperatives' members, or only those of them in arrears."""

    cooperatives: tuple[Cooperative, ...]
    label: str  # as people read it: "GIE Ndiambour (NDB)", "région Thiès"
    target: str  # the audit trail's target: "cooperative:NDB", "region:Thiès"
    arrears_on: date | None = None  # only members with an instalment late on this day

    @classmethod
    def cooperative(cls, coop: Cooperative, arrears_on: date | None = None) -> Audience:
        """One cooperative's members."""
        return cls((coop,), f"{coop.name} ({coop.code})", f"cooperative:{coop.code}", arrears_on)

    @classmethod
    def region(
        cls, session: Session, region: str, scope: Scope | None = None, arrears_on: date | None = None
    ) -> Audience:
        """The members of a region's cooperatives inside `scope`; BroadcastError when there are none."""
        scope = scope or Scope()
        try:
            spelling = known_region(session, region)
        except NotFound as exc:
            raise BroadcastError(f"no cooperative in region {region!r}") from exc
        coops = tuple(
            coop
            for coop in session.scalars(select(Cooperative).where(Cooperative.region.is_not(None)))
            if region_key(coop.region) == region_key(spelling) and scope.covers(coop)
        )
        if not coops:
            raise BroadcastError(f"no cooperative of region {spelling!r} in your scope")
        return cls(coops, f"région {spelling}", f"region:{spelling}", arrears_on)

    @property
    def described(self) -> str:
        """The label, with "members in arrears only" when it applies."""
        return self.label + (" — membres en retard seulement" if self.arrears_on else "")


@dataclass
class BroadcastPlan:
    """Who gets which text when, what it costs, and who is skipped; nothing written yet."""

    audience: Audience
    texts: dict[str, str]  # language → folded text actually sent
    given: set[str]  # languages with their own text
    folds: list[Fold]
    recipients: dict[str, list[tuple[int, str, int]]]  # language → [(member id, phone, cooperative id)]
    skipped: dict[str, int]
    send_after: datetime
    waits: bool
    cost_per_segment: int
    created_at: datetime
    written: int = field(default=0)

    def text_for(self, language: str) -> str:
        """The text a member of this language receives (French when none was given in theirs)."""
        return self.texts.get(language) or self.texts[DEFAULT]

    def segments_for(self, language: str) -> int:
        """Segments of that language's text."""
        return segments(self.text_for(language))

    @property
    def cooperative(self) -> Cooperative:
        """The first (for a one-cooperative broadcast, the only) cooperative."""
        return self.audience.cooperatives[0]

    @property
    def total_recipients(self) -> int:
        """Number of SMS the broadcast writes."""
        return sum(len(v) for v in self.recipients.values())

    @property
    def total_segments(self) -> int:
        """Segments over every recipient."""
        return sum(len(v) * self.segments_for(lang) for lang, v in self.recipients.items())

    @property
    def cost(self) -> int:
        """Estimated cost in XOF (SMS_COST_PER_SEGMENT per segment)."""
        return self.total_segments * self.cost_per_segment


def find_cooperative(session: Session, name: str) -> Cooperative:
    """The cooperative by exact name, else by name or code ignoring case; UnknownCooperative otherwise."""
    wanted = name.strip()
    coop = session.scalar(select(Cooperative).where(Cooperative.name == wanted))
    if coop is None:
        coop = session.scalar(
            select(Cooperative).where(
                or_(
                    func.lower(Cooperative.name) == wanted.lower(),
                    func.lower(Cooperative.code) == wanted.lower(),
                )
            )
        )
    if coop is None:
        raise UnknownCooperative(f"no cooperative named {name!r}")
    return coop


def in_arrears(today: date):
    """Member ids with an unpaid instalment due before `today` on an active loan (a subquery)."""
    return (
        select(Loan.member_id)
        .join(Instalment, Instalment.loan_id == Loan.id)
        .where(
            Loan.status == LoanStatus.ACTIVE,
            Instalment.due_on < today,
            Instalment.amount_paid < Instalment.amount_due,
        )
        .distinct()
    )


def plan_broadcast(
    session: Session,
    *,
    texts: dict[str, str | None],
    now: datetime,
    hours: SendingHours,
    cost_per_segment: int,
    coop_name: str | None = None,
    audience: Audience | None = None,
) -> BroadcastPlan:
    """Work out recipients per language, folded texts, timing and cost; reads only.

    The audience is `audience`, else the cooperative named `coop_name`.
    """
    given = {lang: (t or "").strip() for lang, t in texts.items() if t is not None}
    if not given.get(DEFAULT):
        raise MissingText("the French text is required: members without a text in their language get it")
    empty = [lang for lang, t in given.items() if not t]
    if empty:
        raise MissingText(f"empty text for {', '.join(empty)}")
    unknown = set(given) - set(LANGUAGES)
    if unknown:
        raise BroadcastError(f"unknown language(s): {', '.join(sorted(unknown))}")
    if audience is None:
        if coop_name is None:
            raise BroadcastError("no cooperative given")
        audience = Audience.cooperative(find_cooperative(session, coop_name))
    folds = [Fold(lang, text, fold(text)) for lang, text in given.items()]

    recipients: dict[str, list[tuple[int, str, int]]] = {lang: [] for lang in LANGUAGES}
    skipped = {"opted_out": 0, "inactive": 0, "no_phone": 0}
    stmt = (
        select(
            Member.id, Member.phone, Member.language, Member.status, Member.opted_out, Member.cooperative_id
        )
        .where(Member.cooperative_id.in_([c.id for c in audience.cooperatives]))
        .order_by(Member.id)
    )
    if audience.arrears_on is not None:
        stmt = stmt.where(Member.id.in_(in_arrears(audience.arrears_on)))
    for member_id, phone, language, status, opted_out, cooperative_id in session.execute(stmt):
        if status == MemberStatus.INACTIVE:
            skipped["inactive"] += 1
        elif opted_out:
            skipped["opted_out"] += 1
        elif not phone:
            skipped["no_phone"] += 1
        else:
            recipients[language if language in LANGUAGES else DEFAULT].append(
                (member_id, phone, cooperative_id)
            )
    send_after = hours.next_open(now)
    return BroadcastPlan(
        audience=audience,
        texts={f.language: f.folded for f in folds},
        given=set(given),
        folds=folds,
        recipients={lang: rows for lang, rows in recipients.items() if rows},
        skipped=skipped,
        send_after=send_after,
        waits=hours.is_quiet(now),
        cost_per_segment=cost_per_segment,
        created_at=now,
    )


def write_broadcast(
    session: Session,
    plan: BroadcastPlan,
    *,
    actor: str,
    source: str = Source.CLI,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write one outbox row per recipient, in bulk, and the audit event; the caller commits."""
    now = plan.created_at
    rows = [
        {
            "to": phone,
            "text": plan.text_for(language),
            "kind": str(SmsKind.BROADCAST),
            "language": language if language in plan.given else DEFAULT,
            "status": str(SmsStatus.QUEUED),
            "cooperative_id": cooperative_id,
            "member_id": member_id,
            "attempts": 0,
            "send_after": plan.send_after,
            "next_attempt_at": plan.send_after,
            "segments": plan.segments_for(language),
            "cost": plan.segments_for(language) * plan.cost_per_segment,
            "created_at": now,
            "updated_at": now,
        }
        for language, members in plan.recipients.items()
        for member_id, phone, cooperative_id in members
    ]
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        session.execute(OutboundSms.__table__.insert(), chunk)
        if progress is not None:
            progress(len(chunk))
    audit.record(
        session,
        actor=actor,
        action="broadcast",
        target=plan.audience.target,
        source=source,
        at=now,
        after={
            "cooperatives": len(plan.audience.cooperatives),
            "arrears_only": plan.audience.arrears_on is not None,
            "texts": plan.texts,
            "recipients": {lang: len(v) for lang, v in plan.recipients.items()},
            "skipped": plan.skipped,
            "segments": plan.total_segments,
            "cost": plan.cost,
            "send_after": plan.send_after.isoformat(),
        },
    )
    plan.written = len(rows)
    return len(rows)

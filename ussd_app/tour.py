"""A tour of every USSD screen, in one language, by a member holding the longest realistic data.

From the menu it tries, on each screen reached, every option key, list number, navigation key and
a set of typical entries, branching by restoring the session record; the screens it cannot reach
that way (before the PIN, no loan, the resume offer) are put on a session and rendered with a
wrong entry's hint. Each rendering is kept with the msgids it was made of. The menu graph test
checks every rendering fits 160 GSM-7 characters; the translation review sheet reads from the
same renderings how much room each entry has.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from i18n.catalog import recording
from menus.hop import Identity
from menus.registry import REGISTRY
from models import Cooperative, Member, Product, RepaymentDeclaration, member_key
from models.clock import DAKAR
from models.enums import DeclarationStatus, Frequency, Source
from models.ledger import create_loan, post_savings, record_repayment
from models.pin import hash_pin
from sms.runtime import Runtime
from ussd_app.conversation import UssdRequest, answer
from ussd_app.engine import ENGINE, MAIN, Engine, Reply
from ussd_app.ussd_session import SESSION_KEY, SessionRecord, SessionStore

PIN = "4827"
NEW_PIN = "5172"
SAMPLE_PHONE = "+221771234567"
# The sample data (loans from June, repayments in July) is dated for this moment: a Tuesday 10:00.
SAMPLE_NOW = datetime(2026, 12, 1, 10, 0, tzinfo=DAKAR)
# Entries tried on free-input screens besides the PINs: quantities, amounts, `98` as data, junk.
ENTRIES = ("1", "98", "250", "5000", "125000", "0", "abc", "")

_ids = itertools.count(1)


class Line:
    """One session sent hop by hop in-process; `snapshot()`/`restore()` branch it (graph exploration)."""

    def __init__(self, rt: Runtime, phone: str, engine: Engine = ENGINE):
        self.rt = rt
        self.phone = phone
        self.engine = engine
        self.session_id = f"line-{next(_ids)}"
        self.text = ""
        self.reply: Reply | None = None

    def send(self, text: str) -> Reply:
        """Send the whole `text` of this session (as aggregators do)."""
        self.text = text
        self.reply = answer(self.rt, UssdRequest(self.session_id, self.phone, text), self.engine)
        return self.reply

    def dial(self) -> Reply:
        """A new session."""
        self.session_id = f"line-{next(_ids)}"
        return self.send("")

    def press(self, entry: str) -> Reply:
        """One more entry."""
        return self.send(f"{self.text}*{entry}" if self.text else entry)

    @property
    def state(self) -> str:
        """The screen the session is on, as stored in Redis."""
        return self.record().state

    def record(self) -> SessionRecord:
        """The stored session record."""
        return SessionRecord.loads(self.rt.redis.get(SESSION_KEY + self.session_id))

    def snapshot(self) -> tuple[bytes, str]:
        """The stored record and the text sent so far."""
        return self.rt.redis.get(SESSION_KEY + self.session_id), self.text

    def restore(self, snap: tuple[bytes, str]) -> None:
        """Put the session back where the snapshot was taken."""
        raw, text = snap
        self.rt.redis.set(SESSION_KEY + self.session_id, raw, ex=180)
        self.text = text

    def jump(self, state: str, identity: Identity, ctx: dict | None = None, *, authenticated: bool = True):
        """Start a session already on `state` (as if the member had got there), for one-hop table tests."""
        self.session_id = f"line-{next(_ids)}"
        store = SessionStore(self.rt.redis, 180, self.rt.config.PIN_SECRET)
        record = SessionRecord(
            state=state,
            phone=self.phone,
            ctx=dict(ctx or {}),
            authenticated=authenticated,
            identity=identity,
            seen=0,
            mac=store.mac(self.session_id, ""),
            reply="",
        )
        store.save(self.session_id, self.phone, record)
        self.text = ""


def identity_of(member: Member) -> Identity:
    """The cached identity of a member, as the first hop stores it."""
    return Identity(member.id, member.cooperative_id, member.language, member.role, member.status)


def sample_member(session: Session, now: datetime, pin_secret: str) -> Member:
    """A member with a PIN, two loans, savings and a pending declaration; products with long names."""
    coop = Cooperative(
        name="Coopérative des femmes transformatrices de Ndiambour",
        code="CFTN",
        created_at=now,
        commune="Louga",
        region="Louga",
    )
    session.add(coop)
    session.flush()
    for name, unit in [
        ("Poudre de feuilles de moringa séchées", "kg"),
        ("Jus de bissap concentré en bouteille", "litre"),
        ("Couscous de mil enrichi au niébé", "sac"),
    ]:
        session.add(Product(cooperative_id=coop.id, name=name, unit=unit, created_at=now))
    member = Member(
        cooperative_id=coop.id,
        member_no="M0001",
        member_key=member_key("M0001"),
        name="Ndeye Fatou Ndiaye Sarr Diop",
        phone=SAMPLE_PHONE,
        created_at=now,
        updated_at=now,
        pin_hash=hash_pin(PIN, pin_secret),
    )
    session.add(member)
    session.flush()
    post_savings(
        session,
        member=member,
        kind="opening",
        amount=12_345_678,
        entry_on=now.date(),
        now=now,
        source=Source.IMPORT,
    )
    big = create_loan(
        session,
        member=member,
        reference="CPS-NDB-2026-000123",
        principal=9_500_000,
        interest=950_000,
        disbursed_on=date(2026, 6, 3),
        installments=12,
        frequency=Frequency.MONTHLY,
        first_due_on=None,
        now=now,
    )
    create_loan(
        session,
        member=member,
        reference="CPS-NDB-2026-004567",
        principal=1_200_000,
        interest=120_000,
        disbursed_on=date(2026, 9, 1),
        installments=52,
        frequency=Frequency.WEEKLY,
        first_due_on=None,
        now=now,
    )
    for k in range(8):
        record_repayment(
            session,
            member=member,
            amount=123_455 + k,
            paid_on=date(2026, 7, 1 + k),
            now=now,
            source=Source.CLI,
            loan=big,
        )
    post_savings(
        session,
        member=member,
        kind="deposit",
        amount=1_000_000,
        entry_on=date(2026, 11, 2),
        now=now,
        source=Source.CLI,
    )
    session.add(
        RepaymentDeclaration(
            cooperative_id=coop.id,
            member_id=member.id,
            amount=1_250_000,
            code="4521",
            status=DeclarationStatus.PENDING,
            created_at=now,
        )
    )
    session.commit()
    return member


@dataclass(frozen=True)
class Rendering:
    """One screen as the member saw it, and the msgids its text was made of."""

    state: str
    text: str
    msgids: tuple[str, ...]


def _candidates(name: str) -> list[str]:
    screen = REGISTRY[name]
    keys = [o.key for o in screen.options]
    if screen.choices is not None:
        keys += ["1", "2", "3"]
    if screen.accept is not None:
        keys += [PIN, NEW_PIN, *ENTRIES]
    keys += ["98", "0", "00", "7"]
    return list(dict.fromkeys(keys))


def _restore_member(rt: Runtime, member: Member, language: str) -> None:
    with rt.sessions() as session:
        session.execute(
            update(Member)
            .where(Member.id == member.id)
            .values(pin_hash=member.pin_hash, wrong_pins=0, locked=False, language=language)
        )
        session.commit()


def tour(rt: Runtime, member: Member, language: str) -> list[Rendering]:
    """Every rendering reachable after the PIN, then the screens reachable only by being put there."""
    _restore_member(rt, member, language)
    line = Line(rt, member.phone)
    renderings: list[Rendering] = []

    def hop(state_of, act) -> Reply:
        with recording() as heard:
            reply = act()
        renderings.append(Rendering(state_of(), reply.text, tuple(dict.fromkeys(heard))))
        return reply

    line.dial()
    hop(lambda: line.state, lambda: line.press(PIN))
    seen = {MAIN}
    queue = [line.snapshot()]
    while queue:
        snap = queue.pop(0)
        line.restore(snap)
        for entry in _candidates(line.state):
            line.restore(snap)
            reply = hop(lambda: line.record().state, lambda entry=entry: line.press(entry))
            state = renderings[-1].state
            _restore_member(rt, member, language)
            if state not in seen:
                seen.add(state)
                if not reply.end:
                    queue.append(line.snapshot())
    identity = identity_of(member)
    identity.language = language
    for name in sorted(set(REGISTRY.screens) - seen):
        line.jump(name, identity)
        hop(lambda name=name: name, lambda: line.press("7"))
    return renderings

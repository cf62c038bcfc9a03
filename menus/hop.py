"""The light per-hop model the state machine moves: what one USSD request knows and stages.

A `Hop` lives for one HTTP request. The engine fills it from the Redis session record, the
screens' callbacks read and change it (`ctx`, `view`, `hint`) and stage database changes on
`hop.db`; the webhook commits once, then writes the session record back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from config import Config
from i18n.catalog import translate
from models.clock import Clock
from models.database import plain_rows, read_until_write
from models.enums import Source
from models.pin import hash_pin, verify_pin
from sms.outbox import KICK_MANUALLY, take_pending


@dataclass
class Identity:
    """The member as cached in the session record (no SQL needed to know who is dialling)."""

    member_id: int
    cooperative_id: int
    language: str
    role: str
    status: str


@dataclass
class Hop:
    """One request's model: state, context, identity and the staged database session."""

    session_id: str
    phone: str
    state: str
    step: int  # length of the text before this hop's input: (session_id, step) names the hop
    clock: Clock
    pin_secret: str
    sessions: Any  # sessionmaker; the session is opened only if a callback needs the database
    config: Config  # settings screens read (PRODUCTION_RECEIPT_SMS, SMS_COST_PER_SEGMENT)
    identity: Identity | None = None
    authenticated: bool = False
    ctx: dict = field(default_factory=dict)  # small, JSON-able, kept across hops (never a PIN)
    input: str = ""  # this hop's raw entry
    value: Any = None  # the entry once accepted (or the chosen option's value)
    hint: str | None = None  # msgid of a one-line hint shown above the screen
    hint_values: dict = field(default_factory=dict)
    view: dict = field(default_factory=dict)  # values the screen's text is formatted with
    page: int = 1
    resume: dict | None = None  # an interrupted task of this phone, offered after the PIN
    wrote: bool = False  # set by callbacks that staged writes (for the log line)
    # What this hop's callbacks read and a later callback of the same hop needs again (a product
    # chosen from the list is the next screen's title): read once per hop, never kept.
    memo: dict = field(default_factory=dict)
    # What the hop's writes record as their source: `simulator` when the phone simulator posted the
    # hop (the webhook reads its trusted WSGI marker, ussd_app.origin), else `ussd`.
    source: str = Source.USSD
    _db: Session | None = None

    @classmethod
    def from_record(
        cls, record, *, session_id: str, phone: str, entry: str, resume: dict | None, runtime, source: str
    ) -> Hop:
        """The hop a request starts from: the session record's state, page, identity, a copy of its ctx."""
        return cls(
            session_id=session_id,
            phone=phone,
            state=record.state,
            step=record.seen,
            clock=runtime.clock,
            pin_secret=runtime.config.PIN_SECRET,
            sessions=runtime.sessions,
            config=runtime.config,
            identity=record.identity,
            authenticated=record.authenticated,
            ctx=dict(record.ctx),
            input=entry,
            page=record.page,
            resume=resume,
            source=source,
        )

    def to_record(self, record, **changes):
        """`record` (the session record this hop came from) carrying the hop's state forward."""
        return replace(
            record,
            state=self.state,
            ctx=self.ctx,
            page=self.page,
            authenticated=self.authenticated,
            identity=self.identity,
            **changes,
        )

    @property
    def db(self) -> Session:
        """The hop's database session, opened on first use; the webhook commits it once."""
        if self._db is None:
            # A hop that only reads costs its statements alone (no BEGIN, no COMMIT); the first
            # write opens the transaction that commit() ends.
            self._db = read_until_write(self.sessions())
            # The send job rides in the hop's one Redis pipeline, not in a round trip of its own.
            self._db.info[KICK_MANUALLY] = True
        return self._db

    def read(self, statement, params: dict) -> list:
        """The rows of a statement of plain columns, on the hop's connection (no ORM result layer)."""
        return plain_rows(self.db, statement, params)

    def commit(self) -> bool:
        """Commit what the callbacks staged (once per hop); True when SMS were queued."""
        if self._db is None:
            return False
        self._db.commit()
        return take_pending(self._db)

    def rollback(self) -> None:
        """Drop what the callbacks staged (a failure anywhere in the hop)."""
        if self._db is not None:
            self._db.rollback()

    def close(self) -> None:
        """Give the connection back to the pool."""
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def language(self) -> str:
        """The member's language (French before the member is known)."""
        return self.identity.language if self.identity else "fr"

    @property
    def member_id(self) -> int:
        """The member dialling (screens after the first always have one)."""
        assert self.identity is not None
        return self.identity.member_id

    @property
    def now(self) -> datetime:
        """The current instant (UTC)."""
        return self.clock.now()

    @property
    def today(self) -> date:
        """Today in Dakar."""
        return self.clock.today()

    @property
    def idempotency_key(self) -> str:
        """Unique key of this hop, (sessionId, phone, step): store it on rows a write action creates.

        A hop replayed after a lost answer finds the row already there instead of adding a second;
        the phone is part of it because a session belongs to its phone (a sessionId sent again
        with another number is another session and must never find the first one's row).
        """
        raw = f"{self.session_id}:{self.phone}:{self.step}"
        if len(raw) <= 100:
            return f"ussd:{raw}"
        return "ussd:" + hashlib.sha256(raw.encode()).hexdigest()[:40]

    def seal(self, secret_input: str) -> str:
        """A PIN awaiting confirmation as ctx keeps it: the member table's slow salted hash, never less.

        A fast keyed hash would give the PIN back to whoever holds PIN_SECRET and the record in a
        fraction of a second; this costs a guesser as much as the stored PIN does.
        """
        return hash_pin(secret_input, self.pin_secret)

    def sealed_matches(self, secret_input: str, sealed: str | None) -> bool:
        """True when `secret_input` is the PIN `seal` sealed (constant-time)."""
        return verify_pin(secret_input, sealed, self.pin_secret)

    def t(self, msgid: str, **values) -> str:
        """A text in the member's language (GSM-7 folded)."""
        return translate(self.language, msgid, **values)

    def fail(self, hint: str, **values) -> None:
        """Show `hint` (a msgid) above the next screen."""
        self.hint = hint
        self.hint_values = values

"""Driving the USSD engine without HTTP: hops straight to `conversation.answer`, sessions put on a screen."""

from __future__ import annotations

import itertools
import json

from menus.hop import Identity
from sms.runtime import Runtime
from ussd_app.conversation import UssdRequest, answer
from ussd_app.engine import ENGINE, Engine, Reply
from ussd_app.ussd_session import SESSION_KEY, SessionRecord, SessionStore

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
            ctx=dict(ctx or {}),
            authenticated=authenticated,
            identity=identity,
            seen=0,
            mac=store.mac(self.session_id, ""),
            reply="",
        )
        store.save(self.session_id, self.phone, record)
        self.text = ""


def identity_of(member) -> Identity:
    """The cached identity of a member, as the first hop stores it."""
    return Identity(member.id, member.cooperative_id, member.language, member.role, member.status)


def stored_json(rt: Runtime, session_id: str) -> dict:
    """The raw session record (tests that look inside it)."""
    return json.loads(rt.redis.get(SESSION_KEY + session_id))

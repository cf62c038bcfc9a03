"""The USSD session record in Redis: one key per sessionId, one per phone for resume.

See docs/design.md, "The USSD session".

The record keeps the state, a small context, the last reply, the LENGTH of the text seen and
an HMAC (PIN_SECRET) of that text — never the text, which holds the PIN. A hop costs at most
two round trips: one MGET (session + this phone's resume record) and one pipeline (both
written back with the TTL refreshed).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import redis
from redis.client import Pipeline

from menus.hop import Identity

SESSION_KEY = "ussd:s:"
RESUME_KEY = "ussd:r:"


def text_mac(secret: str, session_id: str, text: str) -> str:
    """Keyed hash of the text seen so far, bound to the session (64 bits: enough to spot a replay)."""
    mac = hmac.new(secret.encode(), f"{session_id}\x00{text}".encode(), hashlib.sha256)
    return mac.hexdigest()[:16]


@dataclass
class SessionRecord:
    """What one session keeps between hops."""

    state: str
    ctx: dict = field(default_factory=dict)
    page: int = 1
    authenticated: bool = False
    identity: Identity | None = None
    reply: str = ""
    end: bool = False
    seen: int = 0  # length of the text seen so far
    mac: str = ""  # text_mac of that text

    def dumps(self) -> str:
        """Compact JSON (short keys: a live session should stay well under 512 bytes)."""
        data: dict = {"s": self.state, "n": self.seen, "h": self.mac, "r": self.reply}
        if self.ctx:
            data["c"] = self.ctx
        if self.page != 1:
            data["p"] = self.page
        if self.authenticated:
            data["a"] = 1
        if self.end:
            data["e"] = 1
        if self.identity is not None:
            i = self.identity
            data["i"] = [i.member_id, i.cooperative_id, i.language, i.role, i.status]
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def loads(cls, raw: bytes | str) -> SessionRecord:
        """Read a stored record."""
        data = json.loads(raw)
        ident = data.get("i")
        return cls(
            state=data["s"],
            ctx=data.get("c") or {},
            page=data.get("p", 1),
            authenticated=bool(data.get("a")),
            identity=Identity(*ident) if ident else None,
            reply=data.get("r", ""),
            end=bool(data.get("e")),
            seen=data.get("n", 0),
            mac=data.get("h", ""),
        )


class SessionStore:
    """Reads and writes session and resume records with at most one MGET and one pipeline a hop."""

    def __init__(self, client: redis.Redis, ttl: int, secret: str):
        self.client = client
        self.ttl = ttl
        self.secret = secret

    def load(self, session_id: str, phone: str) -> tuple[SessionRecord | None, dict | None]:
        """The session record and this phone's resume record, in one round trip."""
        raw_session, raw_resume = self.client.mget([SESSION_KEY + session_id, RESUME_KEY + phone])
        record = SessionRecord.loads(raw_session) if raw_session else None
        resume = json.loads(raw_resume) if raw_resume else None
        return record, resume

    def save(
        self,
        session_id: str,
        phone: str,
        record: SessionRecord,
        *,
        resume: dict | None = None,
        drop_resume: bool = False,
        also: Callable[[Pipeline], None] | None = None,
    ) -> None:
        """Write the record (TTL refreshed), set or drop the resume record, and `also`, in one pipeline."""
        pipe = self.client.pipeline(transaction=False)
        if also is not None:
            also(pipe)
        pipe.set(SESSION_KEY + session_id, record.dumps(), ex=self.ttl)
        if resume is not None:
            pipe.set(RESUME_KEY + phone, json.dumps(resume, separators=(",", ":")), ex=self.ttl)
        elif drop_resume:
            pipe.delete(RESUME_KEY + phone)
        pipe.execute()

    def mac(self, session_id: str, text: str) -> str:
        """The keyed hash of `text` for this session."""
        return text_mac(self.secret, session_id, text)

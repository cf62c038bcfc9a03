"""The commands' outgoing SMS: rendered in each recipient's own language, written to the outbox.

Receipts and notices go through `queue_sms` (never limited: a treasurer recording twenty payments
in an hour must get twenty receipts); answers to the sender go through `queue_reply`, which
enforces the reply limits (docs/design.md, "Sending", incoming SMS).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from config import Config
from i18n.catalog import translate
from models.cooperative import Member
from models.enums import SmsKind
from models.messaging import OutboundSms
from sms.outbox import queue_sms
from sms.replies import queue_reply

NAME_CHARS = 20  # enough for "Ndeye Fatou Diop" and keeps a receipt within one segment


@dataclass(frozen=True)
class Text:
    """A msgid and its values; a value that is itself a Text is rendered in the same language."""

    msgid: str
    values: dict = field(default_factory=dict)


def text(msgid: str, **values) -> Text:
    """A text to render later, in the reader's language."""
    return Text(msgid, values)


def render(language: str, *texts: Text) -> str:
    """The texts translated into `language`, placeholders filled, joined by spaces (GSM-7 folded)."""
    parts = []
    for item in texts:
        values = {k: render(language, v) if isinstance(v, Text) else v for k, v in item.values.items()}
        parts.append(translate(language, item.msgid, **values))
    return " ".join(parts)


def label(member: Member) -> str:
    """How a member is named in an SMS: name (cut) and member number, since members share phones."""
    name = " ".join(member.name.split())
    if len(name) > NAME_CHARS:
        name = name[: NAME_CHARS - 1].rstrip() + "."
    return f"{name} ({member.member_no})"


class Messenger:
    """Writes one command's SMS in the caller's transaction."""

    def __init__(self, session: Session, now: datetime, config: Config):
        self.session = session
        self.now = now
        self.config = config

    def reply(self, phone: str, sender: Member | None, *texts: Text) -> OutboundSms | None:
        """An answer to whoever wrote (None when the reply limit holds it back)."""
        language = sender.language if sender is not None else "fr"
        return queue_reply(
            self.session,
            to=phone,
            text=render(language, *texts),
            language=language,
            now=self.now,
            config=self.config,
            member=sender,
        )

    def reply_rendered(self, phone: str, sender: Member, body: str) -> OutboundSms | None:
        """An answer already written in the sender's language (an arrears list page)."""
        return queue_reply(
            self.session,
            to=phone,
            text=body,
            language=sender.language,
            now=self.now,
            config=self.config,
            member=sender,
        )

    def tell(
        self,
        member: Member,
        kind: SmsKind,
        *texts: Text,
        send_after: datetime | None = None,
    ) -> OutboundSms | None:
        """A receipt or notice to a member, in their language (None when they have no phone)."""
        if not member.phone:
            return None
        return queue_sms(
            self.session,
            to=member.phone,
            text=render(member.language, *texts),
            kind=kind,
            language=member.language,
            now=self.now,
            cooperative_id=member.cooperative_id,
            member_id=member.id,
            send_after=send_after,
            cost_per_segment=self.config.SMS_COST_PER_SEGMENT,
        )

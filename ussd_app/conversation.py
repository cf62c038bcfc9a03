"""One USSD hop from request to reply, without Flask: session record, engine, one commit, one log line.

Order: MGET (session + resume) → replay check → the engine moves the hop → one database commit
→ one Redis pipeline → one JSON log line. Any failure (Redis or database down, a bug) rolls back
and answers END with a short apology in the member's language (French when unknown).
"""

from __future__ import annotations

import logging
import time
from contextlib import suppress
from dataclasses import dataclass

from i18n.catalog import N_, translate
from menus.hop import Hop
from models.enums import Source
from models.phones import mask
from sms import telemetry
from sms.jobs import enqueue_send
from sms.runtime import Runtime
from ussd_app.engine import ENGINE, START, Engine, Reply
from ussd_app.ussd_session import SessionRecord, SessionStore

log = logging.getLogger("mbolo.ussd")

APOLOGY = N_("Service momentanément indisponible. Merci de réessayer plus tard.")


@dataclass(frozen=True)
class UssdRequest:
    """A hop as every aggregator's adapter hands it over (phone already in E.164)."""

    session_id: str
    phone: str
    text: str
    service_code: str = ""
    network_code: str = ""
    source: str = Source.USSD  # `simulator` when the phone simulator posted it (ussd_app.origin)


def new_input(store: SessionStore, record: SessionRecord, session_id: str, text: str) -> str:
    """What `text` adds to the text seen so far (checked by its length and keyed hash).

    Aggregators resend the whole text (`1*4827*98`); an entry may itself hold `*`, so the input
    is what follows the seen prefix, never `split('*')[-1]`. A text that does not extend the seen
    one (an aggregator that sends only the latest entry) is taken whole.
    """
    seen = record.seen
    if len(text) > seen and store.mac(session_id, text[:seen]) == record.mac:
        rest = text[seen:]
        if seen == 0:
            return rest
        if rest.startswith("*"):
            return rest[1:]
    return text


def answer(rt: Runtime, req: UssdRequest, engine: Engine = ENGINE) -> Reply:
    """Answer one hop; never raises."""
    started = time.perf_counter()
    cfg = rt.config
    store = SessionStore(rt.redis, cfg.USSD_SESSION_TTL, cfg.PIN_SECRET)
    hop: Hop | None = None
    record: SessionRecord | None = None
    outcome = "ok"
    previous = None
    masked_input = ""
    try:
        record, resume = store.load(req.session_id, req.phone)
        text_mac = store.mac(req.session_id, req.text)
        if record is not None and len(req.text) == record.seen and text_mac == record.mac:
            # The aggregator repeated a hop (lost answer): the same reply, nothing done twice.
            outcome = "replay"
            previous = record.state
            return Reply(record.reply, record.end)
        if record is None:
            record = SessionRecord(state=START)
            entry = ""  # a first hop carries no answer to a screen (text of a shortcut dial is ignored)
        else:
            entry = new_input(store, record, req.session_id, req.text)
        previous = record.state
        hop = Hop.from_record(
            record,
            session_id=req.session_id,
            phone=req.phone,
            entry=entry,
            resume=resume,
            runtime=rt,
            source=req.source,
        )
        if previous != START:
            screen = engine.registry[previous]
            masked_input = loggable(screen.secret, screen.is_input, entry)
        engine.advance(hop)
        reply = engine.render(hop)
        queued_sms = hop.commit()
        screen = engine.registry[hop.state]
        if hop.hint:
            outcome = "invalid"
        if reply.end:
            outcome = "end" if outcome == "ok" else outcome
        updated = hop.to_record(record, reply=reply.text, end=reply.end, seen=len(req.text), mac=text_mac)
        task = None
        if hop.authenticated and screen.resumable and hop.identity is not None:
            task = {"s": hop.state, "c": hop.ctx, "m": hop.identity.member_id}
        # Leaving a task (finished, cancelled, main menu) forgets it; the PIN screens and the
        # resume offer itself must not, or the offer would vanish before it is made.
        drop = hop.authenticated and not screen.resumable and hop.state != "resume"
        store.save(
            req.session_id,
            req.phone,
            updated,
            resume=task,
            drop_resume=drop and resume is not None,
            also=(lambda pipe: enqueue_send(rt, pipeline=pipe)) if queued_sms else None,
        )
        return reply
    except Exception as exc:
        outcome = "error"
        if hop is not None:
            with suppress(Exception):  # the database may be the thing that is down
                hop.rollback()
        language = _language(hop, record)
        log.error(
            "ussd.hop_failed",
            extra={"session": req.session_id[:64], "phone": mask(req.phone), "error": type(exc).__name__},
            exc_info=not _is_outage(exc),
        )
        return Reply(translate(language, APOLOGY), True)
    finally:
        if hop is not None:
            with suppress(Exception):
                hop.close()
        log.info(
            "ussd.hop",
            extra={
                "session": req.session_id[:64],
                "phone": mask(req.phone),
                "from": previous,
                "screen": hop.state if hop is not None else previous,
                "input": masked_input,
                "outcome": outcome,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        telemetry.count_hop(hop.state if hop else previous, outcome, time.perf_counter() - started)


def loggable(secret: bool, free_input: bool, entry: str) -> str:
    """The entry as the log line shows it: PINs masked, and on menus anything longer than a key."""
    # A member who types the PIN at the wrong moment must not find it in the logs.
    if secret or (not free_input and len(entry) > 2):
        return "*" * min(len(entry), 8)
    return entry[:20]


def _language(hop: Hop | None, record: SessionRecord | None) -> str:
    if hop is not None:
        return hop.language
    if record is not None and record.identity is not None:
        return record.identity.language
    return "fr"


def _is_outage(exc: Exception) -> bool:
    """Redis or database unreachable: logged without a traceback (the health check says the rest)."""
    import redis
    from sqlalchemy.exc import OperationalError

    return isinstance(exc, redis.ConnectionError | redis.TimeoutError | OperationalError)


def apology(language: str = "fr") -> str:
    """The END text when the service cannot answer (also used by the webhook's own guards)."""
    return translate(language, APOLOGY)

"""Who is dialling, and the PIN screens: unknown, locked, choose/confirm, enter, change.

See docs/design.md, "USSD menus".
"""

from __future__ import annotations

from sqlalchemy import String, bindparam, select

from i18n.catalog import N_
from menus.hop import Hop, Identity
from menus.screens import Decide, Invalid, Screen, pin_format
from models.cooperative import Member
from models.pin import check_pin, is_refused, set_pin

# Built once (the phone a bound parameter): compiled once, prepared by psycopg.
MEMBER_BY_PHONE = select(
    Member.id,
    Member.cooperative_id,
    Member.language,
    Member.role,
    Member.status,
    Member.locked,
    Member.pin_hash.is_not(None),
).where(Member.phone == bindparam("phone", type_=String))


def first_screen(hop: Hop) -> str:
    """The first screen of a session: look the phone up once and cache who it is in the session."""
    rows = hop.read(MEMBER_BY_PHONE, {"phone": hop.phone})
    row = rows[0] if rows else None
    if row is None:
        return "unknown"
    member_id, coop_id, language, role, status, locked, has_pin = row
    hop.identity = Identity(member_id, coop_id, language, role, status)
    if locked:
        return "locked"
    return "pin_enter" if has_pin else "pin_choose"


FIRST = Decide(first_screen, "unknown", "locked", "pin_choose", "pin_enter")


def new_pin(raw: str) -> str:
    """Accept a PIN a member may choose: four digits, not four identical digits, not 1234."""
    pin = pin_format(raw)
    if is_refused(pin):
        raise Invalid(N_("Code trop facile (1234, 0000...). Choisissez-en un autre."))
    return pin


def _wrong(hop: Hop, tries_left: int) -> str:
    raise Invalid(N_("Code PIN faux. Essais restants: {tries}."), tries=tries_left)


def _verify(hop: Hop) -> str | None:
    """Check the entered PIN (counting towards the lock): "locked", a hint raised, or None when right."""
    result = check_pin(
        hop.db, hop.member_id, hop.value, secret=hop.pin_secret, now=hop.now, source=hop.source
    )
    hop.wrote = True
    if result.just_locked:
        from sms.lock_alert import alert_lock

        alert_lock(hop.db, hop.member_id, now=hop.now, config=hop.config)
    if result.locked:
        return "locked"
    if not result.ok:
        return _wrong(hop, result.tries_left)
    return None


def enter_pin(hop: Hop) -> str:
    """Check the PIN; after it, offer an interrupted task of this phone if there is one."""
    refused = _verify(hop)
    if refused:
        return refused
    hop.authenticated = True
    if hop.resume and hop.resume.get("m") == hop.member_id:
        return "resume"
    return "main"


def _store_if_confirmed(hop: Hop) -> bool:
    """The confirmation matches the sealed first entry → store the PIN; else set the hint, store nothing."""
    if not hop.sealed_matches(hop.value, hop.ctx.pop("pin_seal", None)):
        hop.fail(N_("Les deux codes diffèrent. Recommencez."))
        return False
    set_pin(hop.db, hop.member_id, hop.value, secret=hop.pin_secret, now=hop.now, source=hop.source)
    hop.wrote = True
    return True


def confirm_first_pin(hop: Hop) -> str:
    """Same PIN twice → store it and open the main menu; else start again at the choice."""
    if not _store_if_confirmed(hop):
        return "pin_choose"
    hop.authenticated = True
    return "main"


def check_current_pin(hop: Hop) -> str:
    """Change PIN, step 1: the current PIN counts towards the lock like any other entry."""
    return _verify(hop) or "pin_new"


def confirm_new_pin(hop: Hop) -> str:
    """Change PIN, last step: same new PIN twice → stored; else back to the new PIN."""
    return "pin_changed" if _store_if_confirmed(hop) else "pin_new"


def _end_session(hop: Hop) -> None:
    hop.authenticated = False


SCREENS = [
    Screen("unknown", N_("Ce numéro n'est pas inscrit à Mbolo. Contactez votre coopérative."), end=True),
    Screen(
        "locked",
        N_("Compte bloqué après 3 codes PIN faux. Demandez à votre trésorier de réinitialiser votre PIN."),
        end=True,
        on_enter=_end_session,
    ),
    Screen(
        "pin_choose",
        N_("Bienvenue à Mbolo. Choisissez votre code PIN (4 chiffres):"),
        accept=new_pin,
        secret=True,
        save_as="pin_seal",
        then="pin_confirm",
        nav=False,
        back=None,
    ),
    Screen(
        "pin_confirm",
        N_("Tapez encore le même code PIN:"),
        accept=pin_format,
        secret=True,
        then=Decide(confirm_first_pin, "main", "pin_choose"),
        nav=False,
        back=None,
    ),
    Screen(
        "pin_enter",
        N_("Mbolo. Entrez votre code PIN:"),
        accept=pin_format,
        secret=True,
        then=Decide(enter_pin, "main", "resume", "locked"),
        nav=False,
        back=None,
    ),
    Screen(
        "pin_current",
        N_("Changer de PIN. Code PIN actuel:"),
        accept=pin_format,
        secret=True,
        then=Decide(check_current_pin, "pin_new", "locked"),
        back=None,
    ),
    Screen(
        "pin_new",
        N_("Nouveau code PIN (4 chiffres):"),
        accept=new_pin,
        secret=True,
        save_as="pin_seal",
        then="pin_new_confirm",
        back=None,
    ),
    Screen(
        "pin_new_confirm",
        N_("Tapez encore le nouveau code PIN:"),
        accept=pin_format,
        secret=True,
        then=Decide(confirm_new_pin, "pin_changed", "pin_new"),
        back=None,
    ),
    Screen("pin_changed", N_("Votre code PIN est changé. Merci."), end=True, on_enter=_end_session),
]

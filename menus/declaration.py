"""4 Declare a repayment: amount → confirmation → END with the declaration's code.

See docs/design.md, "USSD menus".

Without an active loan the option ends at once, saying so. A new declaration replaces the
member's pending one (the treasurers are told, by sms.declarations). The task keeps its
state in ctx under short `d…` keys: `dm` the most that may be declared (what remains to pay),
`da` the amount, `dk` the idempotency key, `dc` the code given and `dr` the code it replaced.
`dk` is the (sessionId, step) key of the hop that opened the option, kept in ctx, so a
confirmation replayed, or confirmed again after a resumed session, finds the declaration it
already saved instead of sending the treasurers a second one.
"""

from __future__ import annotations

from i18n.catalog import N_
from i18n.formatting import format_money
from menus.hop import Hop
from menus.screens import Decide, Invalid, Option, Screen
from models.cooperative import Member
from models.errors import Refused
from models.position import member_position
from sms.declarations import declare_repayment

TASK_KEYS = ("dm", "da", "dk", "dc", "dr")
MAX_AMOUNT = 100_000_000


def start(hop: Hop) -> str:
    """Main menu 4: the amount screen when something remains to pay, else END saying there is no loan."""
    for key in TASK_KEYS:
        hop.ctx.pop(key, None)
    position = member_position(hop.db, hop.member_id, hop.today)
    if position.active_loans == 0 or position.outstanding <= 0:
        return "declare_no_loan"
    hop.ctx.update(dm=position.outstanding, dk=hop.idempotency_key)
    return "declare"


ROUTE = Decide(start, "declare", "declare_no_loan")


def amount(raw: str) -> int:
    """Whole francs; spaces and dots between digit groups allowed (`5 000`, `5.000`)."""
    text = raw.strip().replace(" ", "").replace(".", "")
    if not text.isdigit() or not 1 <= int(text) <= MAX_AMOUNT:
        raise Invalid(N_("Tapez le montant en chiffres, par exemple 5000."))
    return int(text)


def check_amount(hop: Hop) -> str:
    """At most what remains to pay (a treasurer could not confirm more)."""
    if hop.value > hop.ctx.get("dm", 0):
        raise Invalid(N_("Au plus {max}."), max=format_money(hop.ctx.get("dm", 0)))
    return "declare_confirm"


def figures(hop: Hop) -> dict:
    """Amounts as members read them (from ctx: no SQL)."""
    return {
        "remaining": format_money(hop.ctx.get("dm", 0)),
        "amount": format_money(hop.ctx.get("da", 0)),
    }


def save(hop: Hop) -> str:
    """Record the declaration and tell the treasurers (idempotent by the key kept in ctx)."""
    member = hop.db.get(Member, hop.member_id)
    try:
        declared = declare_repayment(
            hop.db,
            member=member,
            amount=hop.ctx["da"],
            now=hop.now,
            config=hop.config,
            idempotency_key=hop.ctx.get("dk") or hop.idempotency_key,
            source=hop.source,
        )
    except Refused as exc:
        if exc.code == "too_much":
            hop.ctx["dm"] = exc.details.get("remaining", 0)
            hop.fail(N_("Au plus {max}."), max=format_money(hop.ctx["dm"]))
            return "declare"
        return "declare_no_loan"
    hop.wrote = hop.wrote or declared.created
    hop.ctx["dc"] = declared.declaration.code
    if declared.replaced is not None:
        hop.ctx["dr"] = declared.replaced.code
    return "declare_done"


def cancel(hop: Hop) -> str:
    """Cancel: nothing declared, back to the main menu with a word saying so."""
    for key in TASK_KEYS:
        hop.ctx.pop(key, None)
    hop.fail(N_("Déclaration de paiement annulée."))
    return "main"


def done_view(hop: Hop) -> dict:
    """The code to quote, and the one it replaced."""
    old = hop.ctx.get("dr")
    note = "\n" + hop.t(N_("Remplace la déclaration {old}."), old=old) if old else ""
    return {**figures(hop), "code": hop.ctx.get("dc", ""), "note": note}


SCREENS = [
    Screen(
        "declare",
        N_("Déclarer un paiement. Reste à payer: {remaining}.\nMontant payé (F) ?"),
        view=figures,
        accept=amount,
        save_as="da",
        then=Decide(check_amount, "declare_confirm"),
        resumable=True,
    ),
    Screen(
        "declare_confirm",
        N_("Vous déclarez avoir payé {amount} au trésorier."),
        view=figures,
        options=[
            Option("1", N_("Confirmer"), Decide(save, "declare_done", "declare", "declare_no_loan")),
            Option("2", N_("Annuler"), Decide(cancel, "main")),
        ],
        back="declare",
        resumable=True,
    ),
    Screen(
        "declare_done",
        N_("Déclaration {code} envoyée au trésorier: {amount}. Vous aurez un reçu quand il confirme.{note}"),
        view=done_view,
        end=True,
    ),
    Screen(
        "declare_no_loan",
        N_("Vous n'avez pas de prêt en cours: rien à déclarer."),
        end=True,
    ),
]

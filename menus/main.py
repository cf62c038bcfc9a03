"""The main menu (its numbering is part of the contract: docs/design.md, "USSD menus")."""

from __future__ import annotations

from i18n.catalog import N_
from menus.declaration import ROUTE as DECLARE
from menus.hop import Hop
from menus.loan import ROUTE as LOAN
from menus.screens import Option, Screen
from models.enums import MemberStatus


def active(hop: Hop) -> bool:
    """Inactive members keep the balance, language and PIN change only.

    See docs/design.md, "Command line", deactivate.
    """
    return hop.identity is None or hop.identity.status == MemberStatus.ACTIVE


SCREENS = [
    Screen(
        "main",
        N_("Mbolo - Menu"),
        options=[
            Option("1", N_("Solde"), "balance"),
            Option("2", N_("Déclarer production"), "production", when=active),
            Option("3", N_("Mon prêt"), LOAN, when=active),
            Option("4", N_("Déclarer un paiement"), DECLARE, when=active),
            Option("5", N_("Langue"), "language"),
            Option("6", N_("Changer PIN"), "pin_current"),
        ],
        back=None,
    ),
]

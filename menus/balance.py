"""1 Balance: savings, outstanding (late part), next instalment, a declaration awaiting a treasurer."""

from __future__ import annotations

from i18n.catalog import N_
from i18n.formatting import format_date, format_money
from menus.hop import Hop
from menus.screens import Screen
from models.position import member_position


def balance_view(hop: Hop) -> dict:
    """The figures of the balance screen (two SQL statements, see models.position)."""
    pos = member_position(hop.db, hop.member_id, hop.today)
    lines = [hop.t(N_("Épargne: {amount}"), amount=format_money(pos.savings))]
    lines.append(hop.t(N_("Reste dû: {amount}"), amount=format_money(pos.outstanding)))
    if pos.overdue:
        lines.append(hop.t(N_("Dont en retard: {amount}"), amount=format_money(pos.overdue)))
    if pos.next_due is not None:
        lines.append(
            hop.t(
                N_("Prochaine échéance: {amount} le {date}"),
                amount=format_money(pos.next_due.unpaid),
                date=format_date(pos.next_due.due_on),
            )
        )
    if pos.pending_declaration is not None:
        # Declared by the member, not yet confirmed by a treasurer: shown apart, never deducted.
        lines.append(hop.t(N_("En attente: {amount}"), amount=format_money(pos.pending_declaration)))
    return {"figures": "\n".join(lines)}


SCREENS = [Screen("balance", "{figures}", view=balance_view)]

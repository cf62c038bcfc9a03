"""5 Language: the member's language, persisted on the member; the menu comes back in it."""

from __future__ import annotations

from sqlalchemy import update

from i18n.catalog import N_
from menus.hop import Hop
from menus.screens import Decide, Option, Screen
from models.cooperative import Member


def set_language(hop: Hop) -> str:
    """Store the chosen language and show the main menu in it."""
    assert hop.identity is not None
    hop.db.execute(
        update(Member).where(Member.id == hop.member_id).values(language=hop.value, updated_at=hop.now)
    )
    hop.identity.language = hop.value
    hop.wrote = True
    # Rendered after the change, so the member reads the confirmation in the language just chosen.
    hop.fail(N_("Langue enregistrée."))
    return "main"


_SET = Decide(set_language, "main")

SCREENS = [
    Screen(
        "language",
        N_("Choisissez votre langue:"),
        # Each language is named in itself, so these labels are not translated.
        options=[
            Option("1", "Francais", _SET, value="fr", translate=False),
            Option("2", "Wolof", _SET, value="wo", translate=False),
            Option("3", "English", _SET, value="en", translate=False),
        ],
    ),
]

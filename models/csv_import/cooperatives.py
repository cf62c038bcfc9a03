"""The cooperatives as import files name them: by code (any case) or by name (case and accents ignored)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.cooperative import Cooperative
from models.directory import name_key


class CooperativeDirectory:
    """Every cooperative, read once per import."""

    def __init__(self, session: Session):
        self.all = list(session.scalars(select(Cooperative)))
        self.by_code = {c.code.upper(): c for c in self.all}
        self.by_name = {name_key(c.name): c for c in self.all}
        self.names = {c.id: c.name for c in self.all}

    def find(self, text: str) -> Cooperative | None:
        """The cooperative a file's `cooperative` cell names (its code first, then its name)."""
        return self.by_code.get(text.upper()) or self.by_name.get(name_key(text))

"""The reminder rules, in one place with their texts (docs/design.md, "Reminders and announcements").

A rule fires on one day only: the instalment's due date plus its offset, in Africa/Dakar. Each
text is one instalment's sentence; a member's SMS of the day joins the sentences of every
instalment that triggered a rule that day under one header, and adds the total overdue when
there are arrears (see `sms.reminders.messages`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from i18n.catalog import N_, placeholders
from models.enums import Frequency


@dataclass(frozen=True)
class Rule:
    """One reminder: a code stored in ReminderSent.rule, the loans it applies to, its day and text."""

    code: str
    frequency: Frequency
    offset: int  # days after the due date; negative = before
    text: str  # msgid with {ref}, {amount}, {date} and optionally {days}

    def due_on(self, day: date) -> date:
        """The due date of the instalments this rule reminds about on `day`."""
        return day - timedelta(days=self.offset)

    def fires_on(self, due_on: date) -> date:
        """The one day this rule fires for an instalment due on `due_on`."""
        return due_on + timedelta(days=self.offset)


HEADER = N_("Rappel {coop}:")
OVERDUE = N_("Total en retard: {overdue}.")

# Arrears days (models.arrears) and promise days: one sentence for the member as a whole.
ARREARS = N_(
    "Vous avez {overdue} de retard depuis {days} jours. Payez à {officer} ({phone}) ou composez {code}."
)
ARREARS_NO_CODE = N_("Vous avez {overdue} de retard depuis {days} jours. Payez à {officer} ({phone}).")
ARREARS_NO_OFFICER = N_(
    "Vous avez {overdue} de retard depuis {days} jours. Payez à votre trésorier ou composez {code}."
)
ARREARS_NO_OFFICER_NO_CODE = N_("Vous avez {overdue} de retard depuis {days} jours. Payez à votre trésorier.")
PROMISE = N_("Vous avez promis de payer {amount} aujourd'hui ({date}). Retard total: {overdue}.")
PROMISE_PART_PAID = N_(
    "Vous avez promis de payer {amount} aujourd'hui ({date}); déjà payé {paid}. Retard total: {overdue}."
)

RULES: tuple[Rule, ...] = (
    Rule("W-1", Frequency.WEEKLY, -1, N_("Prêt {ref}: {amount} à payer demain ({date}).")),
    Rule("W+1", Frequency.WEEKLY, 1, N_("Prêt {ref}: {amount} dû hier ({date}) reste impayé.")),
    Rule("M-3", Frequency.MONTHLY, -3, N_("Prêt {ref}: {amount} à payer le {date}.")),
    Rule("M0", Frequency.MONTHLY, 0, N_("Prêt {ref}: {amount} à payer aujourd'hui ({date}).")),
    Rule("M+1", Frequency.MONTHLY, 1, N_("Prêt {ref}: {amount} dû hier ({date}) reste impayé.")),
    Rule("M+7", Frequency.MONTHLY, 7, N_("Prêt {ref}: {amount} dû le {date}, impayé depuis {days} jours.")),
)

BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}


def _check(rules: tuple[Rule, ...]) -> None:
    """Checked at import: a broken table must stop the worker at start, not at 09:00."""
    seen: set[tuple[str, int]] = set()
    for rule in rules:
        if len(rule.code) > 16:
            raise ValueError(f"rule code {rule.code!r} is longer than ReminderSent.rule (16)")
        if (rule.frequency, rule.offset) in seen:
            raise ValueError(f"two rules for {rule.frequency} at offset {rule.offset}")
        seen.add((rule.frequency, rule.offset))
        missing = {"ref", "amount", "date"} - placeholders(rule.text)
        if missing:
            raise ValueError(f"rule {rule.code}: text lacks {sorted(missing)}")
        if placeholders(rule.text) - {"ref", "amount", "date", "days"}:
            raise ValueError(f"rule {rule.code}: unknown placeholder in {rule.text!r}")
    if len(BY_CODE) != len(rules):
        raise ValueError("duplicate rule codes")


_check(RULES)

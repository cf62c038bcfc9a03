"""Every SMS command, one `CommandSpec` each, checked when this module is imported.

How to add a command (or a synonym)
-----------------------------------
One spec here + its handler + one row in tests/commands/test_parser.py's `GOOD` table::

    CommandSpec(
        "RETARDS",
        fr=("RETARD",), en=("LATE",), wo=(),
        shape=Shape(),                       # what may follow the keyword (spec.py)
        syntax="RETARDS", example="RETARDS",
        who=Who.RECORDER,                    # checked before the handler runs
        handler=late.list_late,              # (request, command) -> Outcome
    ),

* A synonym is one more word in `fr`, `en` or `wo` (ASCII capitals: the parser folds accents, so
  `ARRÊT` is written `ARRET`), plus its row in `GOOD`.
* An alias given twice, a spec without syntax, example or handler fails at import.
* tests/commands/test_registry.py fails when a command or alias has no row in `GOOD`, when its
  example does not read as itself, or when the AIDE reply of those who may use it does not name it.
* A syntax line with arguments is a French msgid `N_("PAY <membre> <montant>")`: add it to
  i18n/locales/{fr,wo,en}/LC_MESSAGES/commands.po. A keyword alone has nothing to translate.
"""

from __future__ import annotations

from enum import StrEnum

from i18n.catalog import N_
from sms.commands import cancel, enquiries, handlers, late, opt_out, promise
from sms.commands.spec import CommandSpec, Registry, Shape, Who

# Wolof synonyms await a native speaker's review (docs/treasurer-sms.md lists them); they are the
# glossary's verbs (i18n/glossary.csv): FEY pay, DUGAL deposit, GENNE withdraw, NEENAL cancel,
# DEGGAL confirm; and WAAW yes, DEEDEET no, NDIMBAL help.
COMMANDS = Registry(
    [
        CommandSpec(
            "PAY",
            fr=("PAYE", "REMB", "PAIEMENT", "VERSEMENT", "REMBOURSEMENT", "REMBOURSE"),
            en=("PAYMENT", "REPAY", "REPAYMENT"),
            wo=("FEY",),
            shape=Shape(member=True, amount=True, loan_ref=True, paid_on=True, force=True),
            syntax=N_("PAY <membre> <montant> [prêt] [JJ/MM]"),
            example="PAY M12 5000",
            handler=handlers.pay,
        ),
        CommandSpec(
            "DEP",
            fr=("DEPOT", "EPARGNE"),
            en=("DEPOSIT",),
            wo=("DUGAL",),
            shape=Shape(member=True, amount=True, paid_on=True, force=True),
            syntax=N_("DEP <membre> <montant> [JJ/MM]"),
            example="DEP M12 2000",
            handler=handlers.deposit,
        ),
        CommandSpec(
            "RETRAIT",
            fr=("RETIRER",),
            en=("WITHDRAW", "WITHDRAWAL"),
            wo=("GENNE",),
            # The contract gives RETRAIT no date; a resent withdrawal takes cash twice, so OK applies too.
            shape=Shape(member=True, amount=True, force=True),
            syntax=N_("RETRAIT <membre> <montant>"),
            example="RETRAIT M12 2000",
            handler=handlers.withdraw,
        ),
        CommandSpec(
            "OUI",
            en=("YES",),
            wo=("WAAW", "DEGGAL"),
            shape=Shape(code="declaration"),
            syntax=N_("OUI <code>"),
            example="OUI 4821",
            handler=handlers.confirm,
        ),
        CommandSpec(
            "NON",
            en=("NO",),
            wo=("DEEDEET",),
            shape=Shape(code="declaration"),
            syntax=N_("NON <code>"),
            example="NON 4821",
            handler=handlers.reject,
        ),
        CommandSpec(
            "ANNULE",
            fr=("ANNULER",),
            en=("CANCEL",),
            wo=("NEENAL",),
            shape=Shape(code="receipt"),
            syntax=N_("ANNULE <reçu>"),
            example="ANNULE R000015",
            handler=cancel.cancel,
        ),
        CommandSpec(
            "PIN",
            en=("RESET",),
            shape=Shape(member=True),
            syntax=N_("PIN <membre>"),
            example="PIN M12",
            handler=handlers.pin,
        ),
        CommandSpec(
            "SOLDE",
            en=("BAL", "BALANCE"),
            shape=Shape(member=True, member_optional=True),
            syntax=N_("SOLDE [membre]"),
            example="SOLDE M12",
            # Alone, anyone registered gets their own figures; another member's are the officers'.
            who=Who.ANYONE,
            handler=enquiries.balance,
        ),
        CommandSpec(
            "RETARDS",
            fr=("RETARD",),
            en=("LATE", "ARREARS"),
            wo=("YEEX",),  # the glossary's "late" (yéex), accents folded
            shape=Shape(member=True, page=True),
            syntax=N_("RETARDS [page | membre]"),
            example="RETARDS 2",
            handler=late.late,
        ),
        CommandSpec(
            "PROMESSE",
            en=("PROMISE",),
            wo=("DIG",),  # the glossary's "promise"
            shape=Shape(member=True, amount=True, promise_on=True),
            syntax=N_("PROMESSE <membre> <montant> <JJ/MM>"),
            example="PROMESSE M12 5000 15/12",
            handler=promise.promise,
        ),
        CommandSpec(
            "AIDE",
            en=("HELP",),
            wo=("NDIMBAL",),
            syntax="AIDE",
            example="AIDE",
            who=Who.ANYONE,
            handler=enquiries.aide,
        ),
        CommandSpec(
            "STOP", fr=("ARRET",), syntax="STOP", example="STOP", who=Who.ANYONE, handler=opt_out.stop
        ),
        CommandSpec("START", syntax="START", example="START", who=Who.ANYONE, handler=opt_out.start),
    ]
)

# `Keyword.PAY` == "PAY": the canonical keywords as names, for code and tests that name one.
Keyword = StrEnum("Keyword", [(spec.keyword, spec.keyword) for spec in COMMANDS])

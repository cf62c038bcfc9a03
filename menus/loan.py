"""3 My loan: the list of active loans when there are several, then instalments due and repayments, paged.

What a member wants first is what is left to pay and how much of it is late, so the list shows
what remains of each loan (not what was lent) and the detail leads with both figures; late
instalments are marked.
"""

from __future__ import annotations

from sqlalchemy import Integer, bindparam, func, literal_column, null, select, union_all

from i18n.catalog import N_
from i18n.formatting import format_date, format_money
from menus.hop import Hop
from menus.screens import Choice, Decide, Heading, Screen
from models.enums import LoanStatus
from models.ledger_tables import Instalment, Loan, Repayment, RepaymentLine

MAX_REPAYMENTS = 60  # a few years of weekly payments; older ones are at the cooperative


# Statements built once, members and loans as bound parameters: compiled once, prepared by psycopg.
_MEMBER, _LOAN = bindparam("member_id", type_=Integer), bindparam("loan_id", type_=Integer)
# What is left of each active loan (not what was lent): what the member wants to know first.
ACTIVE_LOANS = (
    select(
        Loan.id, Loan.reference, func.coalesce(func.sum(Instalment.amount_due - Instalment.amount_paid), 0)
    )
    .outerjoin(Instalment, Instalment.loan_id == Loan.id)
    .where(Loan.member_id == _MEMBER, Loan.status == str(LoanStatus.ACTIVE))
    .group_by(Loan.id, Loan.reference, Loan.disbursed_on)
    .order_by(Loan.disbursed_on, Loan.id)
)


def _loan_lines_statement():
    """Unpaid instalments, repayments and the loan's reference of `:loan_id` (held by `:member_id`)."""
    due = select(
        literal_column("'d'").label("kind"),
        Instalment.due_on.label("day"),
        (Instalment.amount_due - Instalment.amount_paid).label("amount"),
        null().label("ref"),
        Instalment.number.label("n"),
    ).where(
        Instalment.loan_id == _LOAN,
        Instalment.amount_paid < Instalment.amount_due,
        Instalment.loan_id.in_(select(Loan.id).where(Loan.member_id == _MEMBER)),
    )
    paid = (
        select(
            literal_column("'p'"),
            Repayment.paid_on,
            RepaymentLine.amount,
            null(),
            Repayment.id,
        )
        .join(Repayment, Repayment.id == RepaymentLine.repayment_id)
        .where(RepaymentLine.loan_id == _LOAN, Repayment.reversed_at.is_(None))
    )
    header = select(literal_column("'r'"), null(), null(), Loan.reference, Loan.id).where(
        Loan.id == _LOAN, Loan.member_id == _MEMBER
    )
    return union_all(due, paid, header)


LOAN_LINES = _loan_lines_statement()


def _active_loans(hop: Hop) -> list[tuple[int, str, int]]:
    """(id, reference, what is left to pay) of each active loan, oldest first."""
    rows = hop.read(ACTIVE_LOANS, {"member_id": hop.member_id})
    return [(loan_id, ref, int(total)) for loan_id, ref, total in rows]


def route(hop: Hop) -> str:
    """No loan: say so; one loan: its detail at once; several: the list first."""
    loans = _active_loans(hop)
    hop.ctx["loans"] = len(loans)
    if not loans:
        return "loan_none"
    if len(loans) == 1:
        hop.ctx["loan"] = loans[0][0]
        return "loan_detail"
    return "loan_list"


ROUTE = Decide(route, "loan_none", "loan_list", "loan_detail")


def loan_choices(hop: Hop) -> list[Choice]:
    """The active loans, oldest first: reference and what is left to pay."""
    return [Choice(f"{ref} {format_money(total)}", loan_id) for loan_id, ref, total in _active_loans(hop)]


def loan_lines(hop: Hop) -> list[str]:
    """Unpaid instalments (date, amount still unpaid), then repayments newest first, in one statement."""
    rows = hop.read(LOAN_LINES, {"loan_id": hop.ctx["loan"], "member_id": hop.member_id})
    refs = [r.ref for r in rows if r.kind == "r"]
    hop.view["ref"] = refs[0] if refs else ""
    dues = sorted((r for r in rows if r.kind == "d"), key=lambda r: (r.day, r.n))
    paids = sorted((r for r in rows if r.kind == "p"), key=lambda r: (r.day, r.n), reverse=True)
    left = sum(int(r.amount) for r in dues)
    late = sum(int(r.amount) for r in dues if r.day < hop.today)
    if late:
        hop.view["summary"] = hop.t(
            N_("Reste {left}, dont {late} en retard."), left=format_money(left), late=format_money(late)
        )
    else:
        hop.view["summary"] = hop.t(N_("Reste {left}, rien en retard."), left=format_money(left))
    late_mark = hop.t(N_("retard"))
    lines: list[str] = []
    if dues:
        lines.append(Heading(hop.t(N_("À payer:"))))
        lines += [
            f"{format_date(r.day)} {format_money(r.amount)}" + (f" {late_mark}" if r.day < hop.today else "")
            for r in dues
        ]
    else:
        lines.append(hop.t(N_("Rien à payer.")))
    if paids:
        lines.append(Heading(hop.t(N_("Derniers paiements:"))))
        lines += [f"{format_date(r.day)} {format_money(r.amount)}" for r in paids[:MAX_REPAYMENTS]]
    return lines


def back_from_detail(hop: Hop) -> str:
    """Back to the list of loans when there was one, else to the main menu."""
    return "loan_list" if hop.ctx.get("loans", 1) > 1 else "main"


SCREENS = [
    Screen("loan_none", N_("Vous n'avez pas de prêt en cours.")),
    Screen("loan_list", N_("Vos prêts en cours:"), choices=loan_choices, save_as="loan", then="loan_detail"),
    Screen(
        "loan_detail",
        N_("Prêt {ref}\n{summary}"),
        lines=loan_lines,
        back=Decide(back_from_detail, "loan_list", "main"),
    ),
]

"""`import loans`: loans with their schedule and what was already repaid; idempotent on reference.

The file is read a batch of rows at a time; loans and instalments are inserted in bulk. The
`repaid` column is posted once, when the loan is created, as one Repayment with source `import`
through `models.ledger.record_repayment` (the one allocation code path: that loan's instalments,
oldest first), with paid_on = the day of the import, because the file does not say when the money
came in.

A loan already recorded is never changed by an import: a row that differs from it fails with the
difference, and a different `repaid` is reported as a warning and not applied (like opening savings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.settings import Config
from models.cooperative import Member, member_key
from models.csv_import.bulk import analyse, insert_rows, rows_by_key
from models.csv_import.cooperatives import CooperativeDirectory
from models.csv_import.reader import (
    BadValue,
    CsvStream,
    PhoneReader,
    Progress,
    chunks,
    folded,
    parse_amount,
    parse_count,
    parse_date,
)
from models.csv_import.result import FirstLines, ImportResult, record_import
from models.enums import Frequency, LoanStatus, Source
from models.ledger import record_repayment
from models.ledger_tables import Instalment, Loan, Repayment, RepaymentLine
from models.phones import InvalidPhone
from models.schedule import due_dates, first_due_date, instalment_amounts

REQUIRED = ("loan_ref", "phone", "principal", "disbursed_on", "installments", "frequency")
OPTIONAL = ("interest", "first_due_on", "repaid", "cooperative")
FREQUENCIES = {
    "weekly": Frequency.WEEKLY,
    "hebdomadaire": Frequency.WEEKLY,
    "hebdo": Frequency.WEEKLY,
    "semaine": Frequency.WEEKLY,
    "monthly": Frequency.MONTHLY,
    "mensuel": Frequency.MONTHLY,
    "mensuelle": Frequency.MONTHLY,
    "mois": Frequency.MONTHLY,
}
MAX_INSTALMENTS = 520  # ten years of weekly instalments


@dataclass
class LoanLine:
    """A valid row of the loans file (its member not resolved yet)."""

    line: int
    reference: str
    who: str
    phone: str | None
    principal: int
    interest: int
    disbursed_on: date
    installments: int
    frequency: str
    first_due_on: date
    repaid: int | None
    cooperative: str
    member_id: int | None = None


BATCH = 20_000  # rows per batch: memory bounded by one batch's loans and their schedules


def import_loans(
    session: Session,
    data: bytes | BinaryIO,
    *,
    now: datetime,
    today: date,
    region: str = "SN",
    rounding: int = 5,
    actor: str = "system",
    filename: str | None = None,
    progress: Progress | None = None,
    max_amount: int = Config.MAX_AMOUNT,
    batch: int = BATCH,
) -> ImportResult:
    """Import a loans file into the session (the caller commits, or rolls back for a dry run).

    Read a batch of rows at a time, each looked up by key (phones, references) and inserted in
    bulk; the tables are analysed at the end. A loan_ref given twice: the first row wins.
    """
    stream = CsvStream(data, required=REQUIRED, optional=OPTIONAL)
    result = ImportResult("loans", stream.sha256)
    phone_of = PhoneReader(region)
    directory = CooperativeDirectory(session)
    first = FirstLines()
    repaid_total = 0
    for rows, refused in stream.batches(batch):
        result.rows += len(rows) + len(refused)
        result.failed.extend(refused)
        lines = []
        for row in rows:
            try:
                lines.append(_loan_line(row, phone_of, max_amount))
            except BadValue as exc:
                result.fail(row.line, str(exc))
        lines = _first_of_each(lines, result)
        lines = _resolve_members(session, lines, result, directory)
        lines = _skip_recorded(session, lines, result, first)
        repaid_total += _create(
            session, lines, result, first, now=now, today=today, rounding=rounding, actor=actor
        )
        if progress:
            progress(min(result.rows, stream.lines), stream.lines)
    result.warnings.extend(stream.warnings)
    if progress:
        progress(stream.lines, stream.lines)
    analyse(session, Loan, Instalment, Repayment, RepaymentLine)
    record_import(
        session,
        kind="loans",
        table=stream,
        result=result,
        filename=filename,
        actor=actor,
        now=now,
        repaid=repaid_total,
    )
    return result.finish()


def _loan_line(row, phone_of: PhoneReader, max_amount: int = Config.MAX_AMOUNT) -> LoanLine:
    missing = [c for c in REQUIRED if not row.get(c)]
    if missing:
        raise BadValue(f"missing {', '.join(missing)}")
    reference = row.get("loan_ref").upper()
    if len(reference) > 40 or not re.fullmatch(r"[A-Z0-9][A-Z0-9_./-]*", reference):
        raise BadValue(f"loan_ref {row.get('loan_ref')!r}: up to 40 letters, digits and - _ . /")
    principal = parse_amount(row.get("principal"), "principal", max_amount)
    if principal <= 0:
        raise BadValue("principal must be more than 0")
    interest = parse_amount(row.get("interest"), "interest", max_amount) if row.get("interest") else 0
    disbursed_on = parse_date(row.get("disbursed_on"), "disbursed_on")
    installments = parse_count(row.get("installments"), "installments", 1, MAX_INSTALMENTS)
    frequency = FREQUENCIES.get(folded(row.get("frequency")))
    if frequency is None:
        raise BadValue(f"frequency {row.get('frequency')!r} is not weekly or monthly")
    first_due_on = None
    if row.get("first_due_on"):
        first_due_on = parse_date(row.get("first_due_on"), "first_due_on")
        if first_due_on < disbursed_on:
            raise BadValue(f"first_due_on {first_due_on} is before disbursed_on {disbursed_on}")
    repaid = parse_amount(row.get("repaid"), "repaid", 2 * max_amount) if row.get("repaid") else None
    if repaid is not None and repaid > principal + interest:
        raise BadValue(f"repaid {repaid} is more than principal + interest ({principal + interest})")
    who = row.get("phone")
    return LoanLine(
        line=row.line,
        reference=reference,
        who=who,
        phone=_try(phone_of, who),
        principal=principal,
        interest=interest,
        disbursed_on=disbursed_on,
        installments=installments,
        frequency=frequency,
        first_due_on=first_due_date(disbursed_on, frequency, first_due_on),
        repaid=repaid,
        cooperative=row.get("cooperative"),
    )


def _try(phone_of: PhoneReader, raw: str) -> str | None:
    try:
        return phone_of(raw)
    except InvalidPhone:
        return None


def _first_of_each(lines: list[LoanLine], result: ImportResult) -> list[LoanLine]:
    seen: dict[str, int] = {}
    kept = []
    for ll in lines:
        if ll.reference in seen:
            result.fail(ll.line, f"loan_ref {ll.reference} is also on line {seen[ll.reference]}")
            continue
        seen[ll.reference] = ll.line
        kept.append(ll)
    return kept


def _resolve_members(
    session: Session, lines: list[LoanLine], result: ImportResult, directory: CooperativeDirectory
) -> list[LoanLine]:
    """Find each borrower by phone, or by member_no (unique across cooperatives, or in the one given)."""
    names = directory.names
    by_phone: dict[str, tuple[int, int, str]] = {}
    for member_id, coop_id, member_no, phone in rows_by_key(
        session,
        [Member.id, Member.cooperative_id, Member.member_no, Member.phone],
        [Member.phone],
        [(phone,) for phone in sorted({ll.phone for ll in lines if ll.phone})],
    ):
        by_phone[phone] = (member_id, coop_id, member_no)
    by_key: dict[str, list[tuple[int, int]]] = {}
    for part in chunks(sorted({member_key(ll.who) for ll in lines if not ll.phone})):
        for member_id, coop_id, key in session.execute(
            select(Member.id, Member.cooperative_id, Member.member_key).where(Member.member_key.in_(part))
        ):
            by_key.setdefault(key, []).append((member_id, coop_id))

    resolved = []
    for ll in lines:
        coop = None
        if ll.cooperative:
            coop = directory.find(ll.cooperative)
            if coop is None:
                result.fail(ll.line, f"unknown cooperative {ll.cooperative!r}")
                continue
        if ll.phone:
            found = by_phone.get(ll.phone)
            if found is None:
                result.fail(ll.line, f"no member has the phone {ll.phone}")
                continue
            if coop is not None and found[1] != coop.id:
                result.fail(
                    ll.line, f"{ll.phone} is member {found[2]} of {names[found[1]]}, not of {coop.name}"
                )
                continue
            ll.member_id = found[0]
        else:
            matches = by_key.get(member_key(ll.who), [])
            if coop is not None:
                matches = [m for m in matches if m[1] == coop.id]
            if not matches:
                where = f" in {coop.name}" if coop is not None else ""
                result.fail(ll.line, f"no member with phone or member_no {ll.who!r}{where}")
                continue
            if len(matches) > 1:
                result.fail(
                    ll.line,
                    f"member_no {ll.who!r} is ambiguous: it exists in {len(matches)} cooperatives "
                    "(fill the cooperative column or give the phone)",
                )
                continue
            ll.member_id = matches[0][0]
        resolved.append(ll)
    return resolved


def _skip_recorded(
    session: Session, lines: list[LoanLine], result: ImportResult, first: FirstLines
) -> list[LoanLine]:
    """Rows whose loan exists: unchanged when they agree with it, failed when they do not.

    A loan an earlier batch of this file gave is a loan_ref given twice: the row fails.
    """
    stored = {
        loan.reference: loan
        for loan in rows_by_key(
            session,
            [
                Loan.id,
                Loan.reference,
                Loan.member_id,
                Loan.principal,
                Loan.interest,
                Loan.disbursed_on,
                Loan.frequency,
                Loan.first_due_on,
            ],
            [Loan.reference],
            [(ll.reference,) for ll in lines],
        )
    }
    if not stored:
        return lines
    ids = [loan.id for loan in stored.values()]
    counts: dict[int, int] = {}
    imported: dict[int, int] = {}
    for part in chunks(ids):
        for loan_id, n in session.execute(
            select(Instalment.loan_id, func.count())
            .where(Instalment.loan_id.in_(part))
            .group_by(Instalment.loan_id)
        ):
            counts[loan_id] = n
        for loan_id, amount in session.execute(
            select(RepaymentLine.loan_id, func.sum(RepaymentLine.amount))
            .join(Repayment, Repayment.id == RepaymentLine.repayment_id)
            .where(
                RepaymentLine.loan_id.in_(part),
                Repayment.source == Source.IMPORT,
                Repayment.reversed_at.is_(None),
            )
            .group_by(RepaymentLine.loan_id)
        ):
            imported[loan_id] = int(amount)
    fresh = []
    for ll in lines:
        loan = stored.get(ll.reference)
        if loan is None:
            fresh.append(ll)
            continue
        if first.get(loan.id):
            result.fail(ll.line, f"loan_ref {ll.reference} is also on line {first.get(loan.id)}")
            continue
        first.mark(loan.id, ll.line)
        differences = _differences(ll, loan, counts.get(loan.id, 0))
        if differences:
            result.fail(
                ll.line,
                f"loan {ll.reference} is already recorded with {'; '.join(differences)}: "
                "an import never changes a recorded loan",
            )
            continue
        already = imported.get(loan.id, 0)
        if ll.repaid is not None and ll.repaid != already:
            result.warn(
                ll.line,
                f"repaid {ll.repaid} differs from the {already} imported when loan {ll.reference} "
                "was created: not applied (record payments with PAY)",
            )
        result.unchanged += 1
    return fresh


def _differences(ll: LoanLine, loan, installments: int) -> list[str]:
    pairs = [
        ("borrower", loan.member_id, ll.member_id),
        ("principal", loan.principal, ll.principal),
        ("interest", loan.interest, ll.interest),
        ("disbursed_on", loan.disbursed_on, ll.disbursed_on),
        ("installments", installments, ll.installments),
        ("frequency", loan.frequency, ll.frequency),
        ("first_due_on", loan.first_due_on, ll.first_due_on),
    ]
    return [
        f"another {name}" if name == "borrower" else f"{name} {stored} (file: {given})"
        for name, stored, given in pairs
        if stored != given
    ]


def _create(
    session: Session,
    lines: list[LoanLine],
    result: ImportResult,
    first: FirstLines,
    *,
    now: datetime,
    today: date,
    rounding: int,
    actor: str,
) -> int:
    """Insert the new loans and their schedules in bulk, then post each `repaid` once."""
    if not lines:
        return 0
    loan_ids = insert_rows(
        session,
        Loan,
        [
            {
                "member_id": ll.member_id,
                "reference": ll.reference,
                "principal": ll.principal,
                "interest": ll.interest,
                "disbursed_on": ll.disbursed_on,
                "first_due_on": ll.first_due_on,
                "frequency": str(ll.frequency),
                "status": str(LoanStatus.ACTIVE),
                "created_at": now,
            }
            for ll in lines
        ],
        with_ids=True,
    )
    instalments = []
    for loan_id, ll in zip(loan_ids, lines, strict=True):
        first.mark(loan_id, ll.line)
        amounts = instalment_amounts(ll.principal + ll.interest, ll.installments, rounding)
        dates = due_dates(ll.first_due_on, ll.installments, ll.frequency)
        instalments.extend(
            {"loan_id": loan_id, "number": n, "due_on": d, "amount_due": a, "amount_paid": 0}
            for n, (d, a) in enumerate(zip(dates, amounts, strict=True), 1)
        )
    insert_rows(session, Instalment, instalments)
    result.created += len(loan_ids)

    repaid_total = 0
    with_repaid = [(loan_id, ll) for loan_id, ll in zip(loan_ids, lines, strict=True) if ll.repaid]
    if with_repaid:
        members: dict[int, Member] = {}
        for part in chunks(sorted({ll.member_id for _, ll in with_repaid})):
            members.update((m.id, m) for m in session.scalars(select(Member).where(Member.id.in_(part))))
        loans: dict[int, Loan] = {}
        for part in chunks([loan_id for loan_id, _ in with_repaid]):
            loans.update((lo.id, lo) for lo in session.scalars(select(Loan).where(Loan.id.in_(part))))
        for loan_id, ll in with_repaid:
            record_repayment(
                session,
                member=members[ll.member_id],
                amount=ll.repaid,
                paid_on=today,
                now=now,
                source=Source.IMPORT,
                loan=loans[loan_id],
                actor=actor,
            )
            repaid_total += ll.repaid
    return repaid_total

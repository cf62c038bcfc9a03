"""`import members`: create and update members and their cooperatives from a CSV file.

Identity is (cooperative, member_no). The file is read a batch of rows at a time: each batch is
validated, the stored members, phones and opening balances of ITS rows are looked up by key in a
few bulk queries (never the whole table, so a row costs the same in the millionth batch as in
the first) and the new rows inserted in bulk. Memory stays flat whatever the file's size; the
tables are analysed at the end, so the planner knows what was loaded before the first USSD hop.

A member or phone given twice in the file: the first row wins, later ones fail naming its line.
A row refused for another reason (a phone held by someone else) does not take its member or
phone: a later row may still give them.

Rules the contract leaves open, chosen here (and written in the README):
- A phone is never moved by an import: a different phone for an existing member fails the row
  and points at `members set-phone`, which clears the PIN and tells both numbers.
- `language` is the member's language at creation only; afterwards the member chooses it in
  USSD menu 5, and a re-import of an old file must not undo that choice.
- An empty `role` leaves the role as it is; a different one is applied, with its own audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from config.settings import Config
from models.cooperative import Cooperative, Member, member_key
from models.csv_import.bulk import analyse, insert_rows, rows_by_key
from models.csv_import.reader import (
    BadValue,
    CsvStream,
    PhoneReader,
    Progress,
    folded,
    parse_amount,
)
from models.csv_import.result import FirstLines, ImportResult, record_import
from models.directory import CODE_PATTERN, derive_code, name_key
from models.enums import Language, MemberStatus, Role, SavingsKind, Source
from models.ledger_tables import SavingsEntry
from models.messaging import AuditEvent
from models.phones import InvalidPhone

REQUIRED = ("cooperative", "member_no", "name", "phone")
OPTIONAL = ("role", "language", "savings", "commune", "region", "coop_code")

# What coordinators write in the role and language columns, folded to lower-case ASCII. Values are
# plain strings (not the StrEnums): the bulk writer hands them to COPY as they are.
ROLES = {
    "member": str(Role.MEMBER),
    "membre": str(Role.MEMBER),
    "treasurer": str(Role.TREASURER),
    "tresorier": str(Role.TREASURER),
    "tresoriere": str(Role.TREASURER),
    "president": str(Role.PRESIDENT),
    "presidente": str(Role.PRESIDENT),
}
LANGUAGES = {
    "fr": str(Language.FR),
    "francais": str(Language.FR),
    "french": str(Language.FR),
    "wo": str(Language.WO),
    "wolof": str(Language.WO),
    "en": str(Language.EN),
    "anglais": str(Language.EN),
    "english": str(Language.EN),
}
ROLE_MEMBER, LANGUAGE_FR, STATUS_ACTIVE = str(Role.MEMBER), str(Language.FR), str(MemberStatus.ACTIVE)
KIND_OPENING, SOURCE_IMPORT = str(SavingsKind.OPENING), str(Source.IMPORT)


@dataclass
class MemberLine:
    """A valid row of the members file."""

    line: int
    cooperative: str
    coop_key: str
    member_no: str
    key: str
    name: str
    phone: str
    role: str | None
    language: str | None
    savings: int | None
    commune: str
    region: str
    coop_code: str


BATCH = 20_000  # rows per batch: a few bulk queries each, memory bounded by one batch


def import_members(
    session: Session,
    data: bytes | BinaryIO,
    *,
    now: datetime,
    today: date,
    region: str = "SN",
    actor: str = "system",
    filename: str | None = None,
    progress: Progress | None = None,
    max_amount: int = Config.MAX_AMOUNT,
    batch: int = BATCH,
) -> ImportResult:
    """Import a members file into the session (the caller commits, or rolls back for a dry run)."""
    stream = CsvStream(data, required=REQUIRED, optional=OPTIONAL)
    result = ImportResult("members", stream.sha256)
    phone_of = PhoneReader(region)
    seen = _Seen(session)
    opening_total = 0
    for rows, refused in stream.batches(batch):
        result.rows += len(rows) + len(refused)
        result.failed.extend(refused)
        lines = _validate(rows, phone_of, result, max_amount)
        lines = _first_of_each(lines, result, seen)
        coops = _settle_cooperatives(session, lines, result, now, seen)
        opening_total += _apply(session, lines, coops, result, seen, now=now, today=today, actor=actor)
        if progress:
            progress(min(result.rows, stream.lines), stream.lines)
    result.warnings.extend(stream.warnings)
    if progress:
        progress(stream.lines, stream.lines)
    analyse(session, Cooperative, Member, SavingsEntry)
    record_import(
        session,
        kind="members",
        table=stream,
        result=result,
        filename=filename,
        actor=actor,
        now=now,
        opening_savings=opening_total,
    )
    return result.finish()


class _Seen:
    """What earlier batches of the file did: the line that gave each member, the cooperatives."""

    def __init__(self, session: Session):
        self.lines = FirstLines()
        self.cooperatives: dict[str, Cooperative] = {
            name_key(c.name): c for c in session.scalars(select(Cooperative))
        }
        self.codes = {c.code.upper() for c in self.cooperatives.values()}
        self.names = {c.id: c.name for c in self.cooperatives.values()}
        # Each (cooperative, column, value) is looked at once: the first line that gives it.
        self.columns: set[tuple[str, str, str]] = set()

    def line(self, member_id: int) -> int:
        """The file line that gave this member (0: none yet)."""
        return self.lines.get(member_id)

    def mark(self, member_id: int, line: int) -> None:
        """This member was given by `line`."""
        self.lines.mark(member_id, line)


def _validate(
    rows, phone_of: PhoneReader, result: ImportResult, max_amount: int = Config.MAX_AMOUNT
) -> list[MemberLine]:
    valid: list[MemberLine] = []
    for row in rows:
        try:
            valid.append(_member_line(row, phone_of, max_amount))
        except BadValue as exc:
            result.fail(row.line, str(exc))
    return valid


def _member_line(row, phone_of: PhoneReader, max_amount: int = Config.MAX_AMOUNT) -> MemberLine:
    values = row.values
    cooperative, member_no, name, raw_phone = (values.get(c, "") for c in REQUIRED)
    missing = [c for c, v in zip(REQUIRED, (cooperative, member_no, name, raw_phone), strict=True) if not v]
    if missing:
        raise BadValue(f"missing {', '.join(missing)}")
    if len(cooperative) > 120:
        raise BadValue("cooperative name longer than 120 characters")
    if len(member_no) > 20:
        raise BadValue(f"member_no {member_no!r} longer than 20 characters")
    if len(name) > 120:
        raise BadValue("name longer than 120 characters")
    try:
        phone = phone_of(raw_phone)
    except InvalidPhone:
        raise BadValue(f"phone {raw_phone!r} is not a valid phone number") from None
    role = language = savings = None
    if raw := values.get("role"):
        role = ROLES.get(folded(raw))
        if role is None:
            raise BadValue(f"role {raw!r} is not one of member, treasurer, president")
    if raw := values.get("language"):
        language = LANGUAGES.get(folded(raw))
        if language is None:
            raise BadValue(f"language {raw!r} is not one of fr, wo, en")
    if raw := values.get("savings"):
        savings = parse_amount(raw, "savings", max_amount)
    code = values.get("coop_code", "").upper()
    if code and not CODE_PATTERN.fullmatch(code):
        raise BadValue(f"coop_code {values['coop_code']!r} must be 2 to 8 letters or digits")
    return MemberLine(
        line=row.line,
        cooperative=" ".join(cooperative.split()),
        coop_key=name_key(cooperative),
        member_no=member_no,
        key=member_key(member_no),
        name=" ".join(name.split()),
        phone=phone,
        role=role,
        language=language,
        savings=savings,
        commune=values.get("commune", "")[:80],
        region=values.get("region", "")[:80],
        coop_code=code,
    )


def _first_of_each(lines: list[MemberLine], result: ImportResult, seen: _Seen) -> list[MemberLine]:
    """A member or a phone given twice in the batch: the first row wins, the others fail.

    Rows that repeat one of an earlier batch are found among the stored members (`_apply`).
    """
    seen_member: dict[tuple[str, str], int] = {}
    seen_phone: dict[str, int] = {}
    kept = []
    for ml in lines:
        identity = (ml.coop_key, ml.key)
        if identity in seen_member:
            result.fail(ml.line, _twice_member(ml, seen_member[identity]))
            continue
        if ml.phone in seen_phone:
            result.fail(ml.line, _twice_phone(ml, seen_phone[ml.phone]))
            continue
        seen_member[identity] = ml.line
        seen_phone[ml.phone] = ml.line
        kept.append(ml)
    return kept


def _twice_member(ml: MemberLine, line: int) -> str:
    return f"member {ml.member_no} of {ml.cooperative} is also on line {line}"


def _twice_phone(ml: MemberLine, line: int) -> str:
    return f"phone {ml.phone} is also on line {line} (one member per phone)"


def _settle_cooperatives(
    session: Session, lines: list[MemberLine], result: ImportResult, now: datetime, seen: _Seen
) -> dict[str, Cooperative]:
    """Find or create each cooperative; commune, region and code are set at first sight."""
    coops: dict[str, Cooperative] = {}
    created = False
    for ml in lines:
        coop = coops.get(ml.coop_key)
        if coop is None:
            coop = seen.cooperatives.get(ml.coop_key)
            if coop is None:
                coop = _create_cooperative(session, ml, seen.codes, result, now)
                seen.cooperatives[ml.coop_key] = coop
                created = True
            coops[ml.coop_key] = coop
        for column, value in (("commune", ml.commune), ("region", ml.region)):
            if not value or (ml.coop_key, column, value) in seen.columns:
                continue
            seen.columns.add((ml.coop_key, column, value))
            current = getattr(coop, column)
            if current is None:
                setattr(coop, column, value)
            elif name_key(current) != name_key(value):
                result.warn(
                    ml.line, f"{column} {value!r} differs from {coop.name}'s {current!r}: kept {current!r}"
                )
        if ml.coop_code and (ml.coop_key, "code", ml.coop_code) not in seen.columns:
            seen.columns.add((ml.coop_key, "code", ml.coop_code))
            if ml.coop_code != coop.code:
                result.warn(
                    ml.line,
                    f"coop_code {ml.coop_code} differs from {coop.name}'s code {coop.code}: kept {coop.code}",
                )
    session.flush()
    if created:
        seen.names.update({c.id: c.name for c in coops.values()})
    return coops


def _create_cooperative(
    session: Session, ml: MemberLine, taken: set[str], result: ImportResult, now: datetime
) -> Cooperative:
    code = ml.coop_code
    if code in taken:
        result.warn(
            ml.line, f"coop_code {code} already belongs to another cooperative: {ml.cooperative} gets its own"
        )
        code = ""
    code = code or derive_code(ml.cooperative, taken)
    taken.add(code)
    coop = Cooperative(
        name=ml.cooperative,
        code=code,
        commune=ml.commune or None,
        region=ml.region or None,
        demo=False,
        created_at=now,
    )
    session.add(coop)
    result.notes.append(f"cooperative {ml.cooperative!r} created, code {code}")
    return coop


def _phone_holders(
    session: Session, phones: list[str], names: dict[int, str]
) -> dict[str, tuple[int, str, str]]:
    """phone → (member id, member_no, cooperative name) for the phones already held."""
    rows = rows_by_key(
        session,
        [Member.phone, Member.id, Member.member_no, Member.cooperative_id],
        [Member.phone],
        [(phone,) for phone in phones],
    )
    return {phone: (member_id, member_no, names[coop_id]) for phone, member_id, member_no, coop_id in rows}


def _stored_members(
    session: Session, lines: list[MemberLine], coops: dict[str, Cooperative]
) -> dict[tuple[int, str], object]:
    """(cooperative id, member key) → the stored member's row, for the batch's members only.

    Looked up by the unique (cooperative, member key) index: the cost follows the batch, not
    the size of the cooperatives already loaded.
    """
    rows = rows_by_key(
        session,
        [
            Member.id,
            Member.cooperative_id,
            Member.member_key,
            Member.member_no,
            Member.name,
            Member.phone,
            Member.role,
        ],
        [Member.cooperative_id, Member.member_key],
        [(coops[ml.coop_key].id, ml.key) for ml in lines],
    )
    return {(row.cooperative_id, row.member_key): row for row in rows}


def _opening_balances(session: Session, member_ids: list[int]) -> dict[int, int]:
    """member id → the opening savings posted at creation, for these members."""
    openings: dict[int, int] = {}
    rows = rows_by_key(
        session,
        [SavingsEntry.member_id, SavingsEntry.amount],
        [SavingsEntry.member_id],
        [(member_id,) for member_id in member_ids],
        where=SavingsEntry.kind == SavingsKind.OPENING,
    )
    for member_id, amount in rows:
        openings[member_id] = openings.get(member_id, 0) + int(amount)
    return openings


def _apply(
    session: Session,
    lines: list[MemberLine],
    coops: dict[str, Cooperative],
    result: ImportResult,
    seen: _Seen,
    *,
    now: datetime,
    today: date,
    actor: str,
) -> int:
    """Compare with what is stored, then insert and update in bulk; return the opening savings posted."""
    existing = _stored_members(session, lines, coops)
    openings = _opening_balances(session, sorted(row.id for row in existing.values()))
    # Phones of the members just loaded are known; ask the database only about the others.
    known = {
        row.phone: (row.id, row.member_no, seen.names[row.cooperative_id])
        for row in existing.values()
        if row.phone
    }
    holders = known | _phone_holders(session, [ml.phone for ml in lines if ml.phone not in known], seen.names)

    new_rows: list[dict] = []
    new_savings: list[int | None] = []
    new_lines: list[int] = []
    changes: list[dict] = []
    role_events: list[dict] = []
    for ml in lines:
        coop = coops[ml.coop_key]
        stored = existing.get((coop.id, ml.key))
        holder = holders.get(ml.phone)
        if stored is not None and seen.line(stored.id):
            result.fail(ml.line, _twice_member(ml, seen.line(stored.id)))
            continue
        if holder is not None and (stored is None or holder[0] != stored.id) and seen.line(holder[0]):
            result.fail(ml.line, _twice_phone(ml, seen.line(holder[0])))
            continue
        if stored is None:
            if holder is not None:
                result.fail(ml.line, f"phone {ml.phone} is held by member {holder[1]} of {holder[2]}")
                continue
            new_rows.append(
                {
                    "cooperative_id": coop.id,
                    "member_no": ml.member_no,
                    "member_key": ml.key,
                    "name": ml.name,
                    "name_key": name_key(ml.name),  # bulk inserts skip the ORM's listener
                    "phone": ml.phone,
                    "role": ml.role or ROLE_MEMBER,
                    "language": ml.language or LANGUAGE_FR,
                    "status": STATUS_ACTIVE,
                    "wrong_pins": 0,
                    "locked": False,
                    "opted_out": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            new_savings.append(ml.savings)
            new_lines.append(ml.line)
            continue
        change = _compare(ml, stored, holder, result)
        if change is None:
            continue
        seen.mark(stored.id, ml.line)
        if ml.savings is not None and ml.savings != openings.get(stored.id, 0):
            result.warn(
                ml.line,
                f"savings {ml.savings} differs from the opening balance {openings.get(stored.id, 0)} "
                "posted when the member was created: not applied (use DEP or RETRAIT)",
            )
        if not change:
            result.unchanged += 1
            continue
        result.updated += 1
        changes.append({"id": stored.id, **change, "updated_at": now})
        if "role" in change:
            role_events.append(
                {
                    "at": now,
                    "actor": actor[:80],
                    "action": "member.role",
                    "target": f"member:{stored.id}",
                    "member_id": stored.id,
                    "before": {"role": stored.role},
                    "after": {"role": change["role"]},
                    "source": Source.IMPORT,
                }
            )

    opening_total = 0
    if new_rows:
        ids = insert_rows(session, Member, new_rows, with_ids=True)
        result.created += len(ids)
        for member_id, line in zip(ids, new_lines, strict=True):
            seen.mark(member_id, line)
        entries = [
            {
                "member_id": member_id,
                "kind": KIND_OPENING,
                "amount": amount,
                "entry_on": today,
                "created_at": now,
                "source": SOURCE_IMPORT,
                "note": "opening balance (import)",
            }
            for member_id, amount in zip(ids, new_savings, strict=True)
            if amount
        ]
        if entries:
            insert_rows(session, SavingsEntry, entries)
            opening_total = sum(e["amount"] for e in entries)
    if changes:
        session.execute(update(Member), changes)
    if role_events:
        session.execute(insert(AuditEvent), role_events)
    return opening_total


def _compare(ml: MemberLine, stored, holder, result: ImportResult) -> dict | None:
    """The changes the row brings to a stored member ({} = none), or None when the row fails."""
    if stored.phone != ml.phone:
        if holder is not None and holder[0] != stored.id:
            result.fail(ml.line, f"phone {ml.phone} is held by member {holder[1]} of {holder[2]}")
            return None
        if stored.phone is not None:
            result.fail(
                ml.line,
                f"phone {ml.phone} differs from the member's registered {stored.phone}: "
                "change it with `members set-phone` (clears the PIN, tells both numbers)",
            )
            return None
    change: dict = {}
    if stored.phone is None:
        change["phone"] = ml.phone
    if stored.name != ml.name:
        change["name"] = ml.name
        change["name_key"] = name_key(ml.name)
    if ml.role is not None and stored.role != ml.role:
        change["role"] = str(ml.role)
    return change

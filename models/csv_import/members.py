"""`import members`: create and update members and their cooperatives from a CSV file.

Identity is (cooperative, member_no). The whole file is validated first, then the existing
cooperatives, members, phones and opening balances are loaded in a few bulk queries and the
new rows inserted in bulk, so 100 000 rows take seconds, not a query each.

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

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from config.settings import Config
from models.cooperative import Cooperative, Member, member_key
from models.csv_import.bulk import insert_rows
from models.csv_import.reader import (
    BadValue,
    PhoneReader,
    Progress,
    chunks,
    folded,
    parse_amount,
    read_table,
)
from models.csv_import.result import ImportResult, record_import
from models.database import is_postgres
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


def import_members(
    session: Session,
    data: bytes,
    *,
    now: datetime,
    today: date,
    region: str = "SN",
    actor: str = "system",
    filename: str | None = None,
    progress: Progress | None = None,
    max_amount: int = Config.MAX_AMOUNT,
) -> ImportResult:
    """Import a members file into the session (the caller commits, or rolls back for a dry run)."""
    table = read_table(data, required=REQUIRED, optional=OPTIONAL)
    result = ImportResult("members", table.sha256, rows=len(table.rows) + len(table.failed))
    result.warnings.extend(table.warnings)
    result.failed.extend(table.failed)
    lines = _validate(table.rows, region, result, progress, max_amount)
    lines = _first_of_each(lines, result)
    coops = _settle_cooperatives(session, lines, result, now)
    opening_total = _apply(session, lines, coops, result, now=now, today=today, actor=actor)
    if progress:
        progress(result.rows, result.rows)
    record_import(
        session,
        kind="members",
        table=table,
        result=result,
        filename=filename,
        actor=actor,
        now=now,
        opening_savings=opening_total,
    )
    return result.finish()


def _validate(
    rows, region: str, result: ImportResult, progress: Progress | None, max_amount: int = Config.MAX_AMOUNT
) -> list[MemberLine]:
    valid: list[MemberLine] = []
    total = result.rows
    phone_of = PhoneReader(region)
    for done, row in enumerate(rows, 1):
        if progress and done % 2000 == 0:
            progress(done, total)
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


def _first_of_each(lines: list[MemberLine], result: ImportResult) -> list[MemberLine]:
    """A member or a phone given twice in the file: the first row wins, the others fail."""
    seen_member: dict[tuple[str, str], int] = {}
    seen_phone: dict[str, int] = {}
    kept = []
    for ml in lines:
        identity = (ml.coop_key, ml.key)
        if identity in seen_member:
            result.fail(
                ml.line, f"member {ml.member_no} of {ml.cooperative} is also on line {seen_member[identity]}"
            )
            continue
        if ml.phone in seen_phone:
            result.fail(
                ml.line, f"phone {ml.phone} is also on line {seen_phone[ml.phone]} (one member per phone)"
            )
            continue
        seen_member[identity] = ml.line
        seen_phone[ml.phone] = ml.line
        kept.append(ml)
    return kept


def _settle_cooperatives(
    session: Session, lines: list[MemberLine], result: ImportResult, now: datetime
) -> dict[str, Cooperative]:
    """Find or create each cooperative; commune, region and code are set at first sight."""
    known = {name_key(c.name): c for c in session.scalars(select(Cooperative))}
    taken = {c.code.upper() for c in known.values()}
    coops: dict[str, Cooperative] = {}
    # Each (cooperative, column, value) is looked at once: the first line that gives it.
    seen: set[tuple[str, str, str]] = set()
    for ml in lines:
        coop = coops.get(ml.coop_key)
        if coop is None:
            coop = known.get(ml.coop_key)
            if coop is None:
                coop = _create_cooperative(session, ml, taken, result, now)
            coops[ml.coop_key] = coop
        for column, value in (("commune", ml.commune), ("region", ml.region)):
            if not value or (ml.coop_key, column, value) in seen:
                continue
            seen.add((ml.coop_key, column, value))
            current = getattr(coop, column)
            if current is None:
                setattr(coop, column, value)
            elif name_key(current) != name_key(value):
                result.warn(
                    ml.line, f"{column} {value!r} differs from {coop.name}'s {current!r}: kept {current!r}"
                )
        if ml.coop_code and (ml.coop_key, "code", ml.coop_code) not in seen:
            seen.add((ml.coop_key, "code", ml.coop_code))
            if ml.coop_code != coop.code:
                result.warn(
                    ml.line,
                    f"coop_code {ml.coop_code} differs from {coop.name}'s code {coop.code}: kept {coop.code}",
                )
    session.flush()
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


def _phone_holders(session: Session, phones: list[str]) -> dict[str, tuple[int, str, str]]:
    """phone → (member id, member_no, cooperative name) for the phones already held."""
    names = dict(session.execute(select(Cooperative.id, Cooperative.name)).all())
    holders = {}
    # One table and its unique phone index (a join could get a bad plan on stale statistics);
    # on PostgreSQL one array parameter instead of thousands of placeholders to parse.
    if is_postgres(session):
        query = text("SELECT phone, id, member_no, cooperative_id FROM member WHERE phone = ANY(:phones)")
        parts = [session.execute(query, {"phones": part}) for part in chunks(phones, 50_000)]
    else:
        stmt = select(Member.phone, Member.id, Member.member_no, Member.cooperative_id)
        parts = [session.execute(stmt.where(Member.phone.in_(part))) for part in chunks(phones)]
    for rows in parts:
        for phone, member_id, member_no, coop_id in rows:
            holders[phone] = (member_id, member_no, names[coop_id])
    return holders


def _stored_members(session: Session, coops: dict[str, Cooperative]) -> dict[tuple[int, str], object]:
    """(cooperative id, member key) → the stored member's row, for the file's cooperatives."""
    existing = {}
    for part in chunks(sorted({c.id for c in coops.values()})):
        for row in session.execute(
            select(
                Member.id,
                Member.cooperative_id,
                Member.member_key,
                Member.member_no,
                Member.name,
                Member.phone,
                Member.role,
            ).where(Member.cooperative_id.in_(part))
        ):
            existing[(row.cooperative_id, row.member_key)] = row
    return existing


def _opening_balances(session: Session, coops: dict[str, Cooperative]) -> dict[int, int]:
    """member id → the opening savings posted at creation, for the file's cooperatives."""
    openings: dict[int, int] = {}
    for part in chunks(sorted({c.id for c in coops.values()})):
        for member_id, amount in session.execute(
            select(SavingsEntry.member_id, func.sum(SavingsEntry.amount))
            .join(Member, Member.id == SavingsEntry.member_id)
            .where(Member.cooperative_id.in_(part), SavingsEntry.kind == SavingsKind.OPENING)
            .group_by(SavingsEntry.member_id)
        ):
            openings[member_id] = int(amount)
    return openings


def _apply(
    session: Session,
    lines: list[MemberLine],
    coops: dict[str, Cooperative],
    result: ImportResult,
    *,
    now: datetime,
    today: date,
    actor: str,
) -> int:
    """Compare with what is stored, then insert and update in bulk; return the opening savings posted."""
    existing = _stored_members(session, coops)
    openings = _opening_balances(session, coops)
    # Phones of the members just loaded are known; ask the database only about the others.
    names = {c.id: c.name for c in coops.values()}
    known = {
        row.phone: (row.id, row.member_no, names[row.cooperative_id])
        for row in existing.values()
        if row.phone
    }
    holders = known | _phone_holders(session, [ml.phone for ml in lines if ml.phone not in known])

    new_rows: list[dict] = []
    new_savings: list[int | None] = []
    changes: list[dict] = []
    role_events: list[dict] = []
    for ml in lines:
        coop = coops[ml.coop_key]
        stored = existing.get((coop.id, ml.key))
        holder = holders.get(ml.phone)
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
            continue
        change = _compare(ml, stored, holder, result)
        if change is None:
            continue
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
    if ml.role is not None and stored.role != ml.role:
        change["role"] = str(ml.role)
    return change

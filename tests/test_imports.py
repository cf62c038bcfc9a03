"""CSV imports: good, bad, repeated, cp1252 and `;`-separated files, for each kind.

See docs/design.md, "CSV imports".
"""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from models import AuditEvent, Cooperative, Instalment, Loan, Member, Product, Repayment, SavingsEntry
from models.csv_import import ImportFileError, import_loans, import_members, import_products
from models.csv_import.reader import PhoneReader, parse_amount, parse_date
from models.enums import LoanStatus, Source
from models.phones import try_normalise
from tests import factories as f
from tests.conftest import DEFAULT_NOW

TODAY = DEFAULT_NOW.date()
NBSP = "\u00a0"

MEMBERS_HEADER = "cooperative,member_no,name,phone,role,language,savings,commune,region,coop_code"
GOOD_MEMBERS = f"""{MEMBERS_HEADER}
GIE Ndiambour,M0001,Awa Diop,77 123 45 67,president,fr,"10 000",Louga,Louga,NDB
GIE Ndiambour,M0002,Moussa Ndiaye,+221781234567,treasurer,wo,12.500,,,
GIE Ndiambour,M0003,Fatou Sow,00221701112233,,,,,,
Coopérative des femmes de Keur Massar,M0001,Ibou Fall,221761234567,membre,English,0,Keur Massar,Dakar,
Coopérative des femmes de Keur Massar,M0002,Khady Ba,771234568,Trésorière,wolof,"5{NBSP}000",,,
"""


def members(db, text: str, **kw):
    data = text.encode() if isinstance(text, str) else text
    return import_members(db, data, now=DEFAULT_NOW, today=TODAY, **kw)


def loans(db, text: str, **kw):
    data = text.encode() if isinstance(text, str) else text
    return import_loans(db, data, now=DEFAULT_NOW, today=TODAY, **kw)


def products(db, text: str):
    data = text.encode() if isinstance(text, str) else text
    return import_products(db, data, now=DEFAULT_NOW)


def by_no(db, coop_code: str, member_no: str) -> Member:
    return db.scalar(
        select(Member).join(Cooperative).where(Cooperative.code == coop_code, Member.member_no == member_no)
    )


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def reasons(result) -> dict[int, str]:
    return {issue.line: issue.message for issue in result.failed}


# --- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12500", 12_500),
        ("12 500", 12_500),
        (f"12{NBSP}500", 12_500),
        ("12.500", 12_500),
        ("1.250.000", 1_250_000),
        ("5000F", 5_000),
        ("0", 0),
    ],
)
def test_amounts_accept_space_no_break_space_and_dot_groups(raw, expected):
    """Amounts with space, no-break space or dot separators are whole XOF."""
    assert parse_amount(raw, "savings") == expected


@pytest.mark.parametrize("raw", ["12,5", "12.50", "-100", "abc", "1 2.5"])
def test_amounts_that_are_not_whole_xof_are_refused(raw):
    """Decimals, negatives and words are not amounts."""
    with pytest.raises(ValueError):
        parse_amount(raw, "savings")


def test_dates_are_iso_or_day_first():
    """YYYY-MM-DD and DD/MM/YYYY; an impossible date is refused."""
    assert parse_date("2026-12-01", "d") == parse_date("01/12/2026", "d") == date(2026, 12, 1)
    for raw in ("31/02/2026", "12/01/26", "2026/12/01"):
        with pytest.raises(ValueError):
            parse_date(raw, "d")


@pytest.mark.parametrize(
    "raw",
    [
        "77 123 45 67",
        "771234567",
        "221771234567",
        "+221771234567",
        "00221771234567",
        "+221 77 123 45 67",
        "006486355",
        "0771234567",
        "33 822 12 34",
        "123",
        "",
        "+33612345678",
        f"77{NBSP}123{NBSP}45{NBSP}67",
    ],
)
def test_the_bulk_phone_reader_answers_like_normalise(raw):
    """The fast path gives exactly models.phones.normalise's answer, valid or not."""
    reader = PhoneReader("SN")
    try:
        fast = reader(raw)
    except ValueError:
        fast = None
    assert fast == try_normalise(raw, "SN")


# --- members ---------------------------------------------------------------------------------


def test_a_good_members_file_creates_members_and_cooperatives(db):
    """Every row created; phones in E.164; defaults member/fr/0; cooperatives created with a code."""
    result = members(db, GOOD_MEMBERS)
    assert (result.created, result.updated, result.unchanged, result.failed) == (5, 0, 0, [])
    awa = by_no(db, "NDB", "M0001")
    assert (awa.phone, awa.role, awa.language) == ("+221771234567", "president", "fr")
    moussa = by_no(db, "NDB", "M0002")
    assert (moussa.phone, moussa.role, moussa.language) == ("+221781234567", "treasurer", "wo")
    fatou = by_no(db, "NDB", "M0003")
    assert (fatou.phone, fatou.role, fatou.language, fatou.member_key) == (
        "+221701112233",
        "member",
        "fr",
        "M3",
    )
    keur_massar = db.scalar(select(Cooperative).where(Cooperative.name.like("Coop%")))
    assert keur_massar.code == "FKM"  # derived: initials of the words that tell it apart
    assert (keur_massar.commune, keur_massar.region) == ("Keur Massar", "Dakar")
    khady = by_no(db, "FKM", "M0002")
    assert (khady.role, khady.language) == ("treasurer", "wo")
    assert by_no(db, "FKM", "M0001").language == "en"
    openings = dict(db.execute(select(SavingsEntry.member_id, SavingsEntry.amount)).all())
    assert openings == {awa.id: 10_000, moussa.id: 12_500, khady.id: 5_000}
    assert {e.kind for e in db.scalars(select(SavingsEntry))} == {"opening"}


def test_the_import_writes_one_audit_event_with_the_file_hash_and_counts(db):
    """One audit event per import: the file's sha256 and the counts."""
    data = GOOD_MEMBERS.encode()
    members(db, data, actor="user:coord", filename="members.csv")
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "import.members"))
    assert event.actor == "user:coord" and event.source == Source.IMPORT
    assert event.after["sha256"] == hashlib.sha256(data).hexdigest()
    assert event.after["file"] == "members.csv"
    assert (event.after["created"], event.after["failed"], event.after["opening_savings"]) == (5, 0, 27_500)
    assert count(db, AuditEvent) == 1


def test_bad_member_rows_are_reported_by_file_line_and_the_good_rows_still_import(db):
    """Each bad row: its line in the file (header = 1) and why; blank lines still count."""
    text = f"""{MEMBERS_HEADER}
GIE Ndiambour,M0001,Awa Diop,77 123 45 67,,,,,,
GIE Ndiambour,M0002,Moussa Ndiaye,12345,,,,,,
GIE Ndiambour,M0003,,771234500,,,,,,

GIE Ndiambour,M0004,Fatou Sow,771234501,chief,,,,,
GIE Ndiambour,M0005,Aida Ka,771234502,,de,,,,
GIE Ndiambour,M0006,Bineta Sy,771234503,,,"12,5",,,
GIE Ndiambour,M0007,Coumba Ndoye,771234504,,,12,5,,,
GIE Ndiambour,M0001,Awa Diop bis,771234505,,,,,,
GIE Ndiambour,M0008,Rama Seck,77 123 45 67,,,,,,
GIE Ndiambour,M0009,Ndeye Faye,771234506,,,,,,X
GIE Ndiambour,M0010,Astou Gaye,771234507,,,,,,
"""
    result = members(db, text)
    assert result.created == 2
    failed = reasons(result)
    # Line 5 is blank: it still counts.
    assert sorted(failed) == [3, 4, 6, 7, 8, 9, 10, 11, 12]
    assert "phone '12345'" in failed[3]
    assert failed[4] == "missing name"
    assert "role 'chief'" in failed[6]
    assert "language 'de'" in failed[7]
    assert "savings '12,5'" in failed[8]
    assert "11 fields where the header has 10" in failed[9] and "comma" in failed[9]
    assert failed[10] == "member M0001 of GIE Ndiambour is also on line 2"
    assert failed[11] == "phone +221771234567 is also on line 2 (one member per phone)"
    assert "coop_code 'X'" in failed[12]
    assert result.summary() == "created 2, updated 0, unchanged 0, failed 9"
    assert {m.member_no for m in db.scalars(select(Member))} == {"M0001", "M0010"}


def test_importing_the_same_members_file_again_creates_nothing(db):
    """The second import: everything unchanged, no member, cooperative or savings entry added."""
    members(db, GOOD_MEMBERS)
    before = (count(db, Member), count(db, Cooperative), count(db, SavingsEntry))
    again = members(db, GOOD_MEMBERS)
    assert (again.created, again.updated, again.unchanged, again.failed, again.warnings) == (0, 0, 5, [], [])
    assert (count(db, Member), count(db, Cooperative), count(db, SavingsEntry)) == before
    assert count(db, AuditEvent) == 2  # one per import


def test_a_cp1252_file_imports_with_a_warning(db):
    """A Windows-1252 file (French Excel) is read, names intact, with a warning."""
    text = "cooperative,member_no,name,phone\nGIE Thiès,M1,Adélaïde Sène,771234567\n"
    result = members(db, text.encode("cp1252"))
    assert result.created == 1
    assert any("cp1252" in issue.message for issue in result.warnings)
    member = db.scalar(select(Member))
    assert member.name == "Adélaïde Sène"
    assert db.get(Cooperative, member.cooperative_id).name == "GIE Thiès"


def test_a_semicolon_file_with_a_bom_imports(db):
    """`;` separator, UTF-8 BOM, amounts with commas-free grouping."""
    text = (
        "\ufeffcooperative;member_no;name;phone;savings\n"
        "GIE Ndiambour;M1;Awa Diop;77 123 45 67;1 500\n"
        "GIE Ndiambour;M2;Moussa Ndiaye;78 123 45 67;2.500\n"
    )
    result = members(db, text)
    assert (result.created, result.failed, result.warnings) == (2, [], [])
    assert db.scalar(select(func.sum(SavingsEntry.amount))) == 4_000


def test_a_phone_held_by_another_member_fails_that_row(db):
    """One member per phone: a phone already held elsewhere is an error for the row, never an update."""
    other = f.coop(db, name="GIE Other", code="OTH")
    f.member(db, other, "M0009", "Holder", phone="+221771234567")
    text = (
        f"{MEMBERS_HEADER}\nGIE Ndiambour,M0001,Awa Diop,771234567,,,,,,\n"
        "GIE Ndiambour,M0002,Ok,771234599,,,,,,\n"
    )
    result = members(db, text)
    assert reasons(result) == {2: "phone +221771234567 is held by member M0009 of GIE Other"}
    assert result.created == 1


def test_a_new_phone_for_an_existing_member_is_refused_with_the_command_to_use(db):
    """Moving a phone is `members set-phone`'s job (it clears the PIN and tells both numbers)."""
    members(db, GOOD_MEMBERS)
    text = f"{MEMBERS_HEADER}\nGIE Ndiambour,M0001,Awa Diop,770000099,,,,,,\n"
    result = members(db, text)
    assert "members set-phone" in reasons(result)[2]
    assert by_no(db, "NDB", "M0001").phone == "+221771234567"


def test_changed_name_and_role_update_the_member_and_the_role_change_is_audited(db):
    """A new name or role updates the member; a role change writes its own audit event."""
    members(db, GOOD_MEMBERS)
    text = f"{MEMBERS_HEADER}\nGIE Ndiambour,m3,Fatou Sow Diallo,+221701112233,treasurer,en,,,,\n"
    result = members(db, text)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    fatou = by_no(db, "NDB", "M0003")
    db.refresh(fatou)
    assert (fatou.name, fatou.role) == ("Fatou Sow Diallo", "treasurer")
    assert fatou.language == "fr"  # the language is the member's own choice after creation
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "member.role"))
    assert (event.member_id, event.before, event.after) == (
        fatou.id,
        {"role": "member"},
        {"role": "treasurer"},
    )


def test_a_later_different_savings_value_is_reported_not_applied(db):
    """Opening savings are posted once, at creation; a different later value is a warning."""
    members(db, GOOD_MEMBERS)
    text = f"{MEMBERS_HEADER}\nGIE Ndiambour,M0001,Awa Diop,771234567,,,20 000,,,\n"
    result = members(db, text)
    assert result.unchanged == 1 and result.failed == []
    assert [issue.line for issue in result.warnings] == [2]
    assert "20000 differs from the opening balance 10000" in result.warnings[0].message
    assert db.scalar(select(func.sum(SavingsEntry.amount))) == 27_500


def test_cooperative_details_are_set_at_first_sight_and_a_later_conflict_is_a_warning(db):
    """commune/region/coop_code come from the first row; later different values are warnings, kept."""
    text = f"""{MEMBERS_HEADER}
GIE Ndiambour,M1,A,771234561,,,,,,
GIE Ndiambour,M2,B,771234562,,,,Louga,Louga,NDB
GIE Ndiambour,M3,C,771234563,,,,Thiès,,ZZZ
GIE Ndiambour,M4,D,771234564,,,,Thiès,,
"""
    result = members(db, text)
    coop = db.scalar(select(Cooperative))
    # The first row gave no code: derived at creation; the later NDB is a conflict.
    assert (coop.code, coop.commune, coop.region) == ("NDI", "Louga", "Louga")
    assert result.created == 4
    assert [(w.line, w.message.split()[0]) for w in result.warnings] == [
        (3, "coop_code"),
        (4, "commune"),
        (4, "coop_code"),
    ]


def test_a_coop_code_already_taken_gets_a_derived_one(db):
    """A coop_code that belongs to another cooperative is not reused."""
    f.coop(db, name="GIE Other", code="NDB")
    result = members(db, f"{MEMBERS_HEADER}\nGIE Ndiambour,M1,A,771234561,,,,,,NDB\n")
    assert result.created == 1
    assert db.scalar(select(Cooperative.code).where(Cooperative.name == "GIE Ndiambour")) == "NDI"
    assert "already belongs" in result.warnings[0].message


def test_an_existing_cooperative_is_matched_whatever_the_case_and_accents(db):
    """`gie ndiambour` is GIE Ndiambour; its empty commune is filled at first sight."""
    coop = f.coop(db, commune=None, region=None)
    result = members(db, f"{MEMBERS_HEADER}\ngie  NDIAMBOUR,M1,A,771234561,,,,Louga,,\n")
    assert result.created == 1 and count(db, Cooperative) == 1
    db.refresh(coop)
    assert coop.commune == "Louga"


def test_a_file_without_a_required_column_is_refused_whole(db):
    """Missing columns: nothing is read, the error names them."""
    with pytest.raises(ImportFileError) as excinfo:
        members(db, "cooperative,member_no,name\nGIE X,M1,Awa\n")
    assert "missing column(s): phone" in str(excinfo.value)
    with pytest.raises(ImportFileError):
        members(db, "")


def test_unknown_columns_are_ignored_with_a_warning(db):
    """A column the format does not know is reported, not an error."""
    result = members(db, "cooperative,member_no,name,phone,age\nGIE X,M1,Awa,771234567,40\n")
    assert result.created == 1
    assert result.warnings[0].line == 1 and "age" in result.warnings[0].message


# --- loans -----------------------------------------------------------------------------------

LOANS_HEADER = (
    "loan_ref,phone,principal,interest,disbursed_on,installments,frequency,first_due_on,repaid,cooperative"
)


@pytest.fixture
def people(db):
    """Two cooperatives that both have a member M0001, and a member M0002 in one only."""
    ndb = f.coop(db)
    oth = f.coop(db, name="GIE Other", code="OTH")
    return {
        "awa": f.member(db, ndb, "M0001", "Awa Diop", phone="+221771234567"),
        "moussa": f.member(db, ndb, "M0002", "Moussa Ndiaye", phone="+221781234567"),
        "ibou": f.member(db, oth, "M0001", "Ibou Fall", phone="+221761234567"),
    }


GOOD_LOANS = f"""{LOANS_HEADER}
l-001,77 123 45 67,100 000,10000,2026-09-01,10,monthly,,22.000,
L-002,m2,50000,,15/10/2026,8,weekly,,,
L-003,M0001,30000,3000,2026-11-01,3,mensuel,2026-11-30,33000,GIE Other
"""


def test_a_good_loans_file_creates_loans_with_their_schedule(db, people):
    """Loans by phone or member_no, schedules computed, references upper-cased."""
    result = loans(db, GOOD_LOANS)
    assert (result.created, result.failed) == (3, [])
    first = db.scalar(select(Loan).where(Loan.reference == "L-001"))
    assert (first.member_id, first.principal, first.interest) == (people["awa"].id, 100_000, 10_000)
    assert first.first_due_on == date(2026, 10, 1)
    second = db.scalar(select(Loan).where(Loan.reference == "L-002"))
    assert second.member_id == people["moussa"].id and second.frequency == "weekly"
    dues = db.execute(
        select(Instalment.due_on, Instalment.amount_due)
        .where(Instalment.loan_id == second.id)
        .order_by(Instalment.number)
    ).all()
    assert (
        dues[0] == (date(2026, 10, 22), 6_250) and dues[-1] == (date(2026, 12, 10), 6_250) and len(dues) == 8
    )
    third = db.scalar(select(Loan).where(Loan.reference == "L-003"))
    assert third.member_id == people["ibou"].id and third.first_due_on == date(2026, 11, 30)


def test_repaid_is_posted_once_as_one_import_repayment_oldest_first(db, people):
    """`repaid` becomes one Repayment (source import, paid today) filling the oldest instalments."""
    loans(db, GOOD_LOANS)
    first = db.scalar(select(Loan).where(Loan.reference == "L-001"))
    repayment = db.scalar(select(Repayment).where(Repayment.member_id == people["awa"].id))
    assert (repayment.amount, repayment.source, repayment.paid_on) == (22_000, "import", TODAY)
    assert repayment.receipt.startswith("R")
    paid = db.scalars(
        select(Instalment.amount_paid).where(Instalment.loan_id == first.id).order_by(Instalment.number)
    )
    assert list(paid)[:3] == [11_000, 11_000, 0]
    third = db.scalar(select(Loan).where(Loan.reference == "L-003"))
    assert third.status == LoanStatus.REPAID
    assert count(db, Repayment) == 2


def test_bad_loan_rows_are_reported_by_line_and_the_good_ones_import(db, people):
    """Unknown or ambiguous borrower, bad values, duplicates: each row with its line and reason."""
    text = f"""{LOANS_HEADER}
L-1,M0001,10000,,2026-11-01,2,monthly,,,
L-2,770000000,10000,,2026-11-01,2,monthly,,,
L-3,M0099,10000,,2026-11-01,2,monthly,,,
L-4,77 123 45 67,10000,,31/02/2026,2,monthly,,,
L-5,77 123 45 67,10000,,2026-11-01,0,monthly,,,
L-6,77 123 45 67,10000,,2026-11-01,2,daily,,,
L-7,77 123 45 67,10000,,2026-11-01,2,monthly,,20000,
L-8,77 123 45 67,10000,,2026-11-01,2,monthly,2026-10-01,,
L-9,77 123 45 67,10000,,2026-11-01,2,monthly,,,GIE Nowhere
L-10,77 123 45 67,10000,,2026-11-01,2,monthly,,,GIE Other
L-11,M0001,10000,,2026-11-01,2,monthly,,,OTH
L-11,M0002,10000,,2026-11-01,2,monthly,,,
L-12,77 123 45 67,0,,2026-11-01,2,monthly,,,
"""
    result = loans(db, text)
    failed = reasons(result)
    assert sorted(failed) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14]
    assert "ambiguous" in failed[2] and "2 cooperatives" in failed[2]
    assert failed[3] == "no member has the phone +221770000000"
    assert "M0099" in failed[4]
    assert "disbursed_on '31/02/2026'" in failed[5]
    assert "installments '0'" in failed[6]
    assert "frequency 'daily'" in failed[7]
    assert "repaid 20000 is more than" in failed[8]
    assert "first_due_on" in failed[9]
    assert failed[10] == "unknown cooperative 'GIE Nowhere'"
    assert "not of GIE Other" in failed[11]
    assert failed[13] == "loan_ref L-11 is also on line 12"
    assert "principal" in failed[14]
    assert result.created == 1
    assert db.scalar(select(Loan.member_id).where(Loan.reference == "L-11")) == people["ibou"].id


def test_importing_the_same_loans_file_again_creates_nothing(db, people):
    """Second import: unchanged; no loan, instalment or repayment added."""
    loans(db, GOOD_LOANS)
    before = (count(db, Loan), count(db, Instalment), count(db, Repayment))
    again = loans(db, GOOD_LOANS)
    assert (again.created, again.unchanged, again.failed, again.warnings) == (0, 3, [], [])
    assert (count(db, Loan), count(db, Instalment), count(db, Repayment)) == before


def test_a_recorded_loan_is_never_changed_and_a_new_repaid_value_is_only_reported(db, people):
    """A row that differs from its recorded loan fails; a different repaid is a warning, not posted."""
    loans(db, GOOD_LOANS)
    text = f"""{LOANS_HEADER}
L-001,77 123 45 67,120 000,10000,2026-09-01,10,monthly,,22000,
L-002,m2,50000,,15/10/2026,8,weekly,,6250,
"""
    result = loans(db, text)
    assert "principal 100000 (file: 120000)" in reasons(result)[2]
    assert [w.line for w in result.warnings] == [3]
    assert "repaid 6250 differs from the 0 imported" in result.warnings[0].message
    assert result.unchanged == 1
    assert count(db, Repayment) == 2


def test_a_cp1252_semicolon_loans_file_imports(db, people):
    """`;` separator, Windows-1252 bytes, DD/MM/YYYY dates and dotted amounts."""
    text = (
        "loan_ref;phone;principal;disbursed_on;installments;frequency;cooperative\n"
        "L-9;M0001;25.000;01/11/2026;5;Hebdomadaire;Gie Ndiambour\n"
    )
    result = loans(db, text.encode("cp1252"))
    assert (result.created, result.failed) == (1, [])
    loan = db.scalar(select(Loan))
    assert (loan.member_id, loan.principal, loan.frequency) == (people["awa"].id, 25_000, "weekly")


def test_the_loans_import_is_audited_with_its_hash_and_counts(db, people):
    """One import event, plus the ledger's own event for each posted repayment."""
    loans(db, GOOD_LOANS)
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "import.loans"))
    assert event.after["created"] == 3 and event.after["repaid"] == 55_000
    assert event.after["sha256"] == hashlib.sha256(GOOD_LOANS.encode()).hexdigest()
    assert db.scalar(select(func.count()).where(AuditEvent.action == "repayment.record")) == 2


# --- products --------------------------------------------------------------------------------


def test_products_are_created_per_cooperative_and_reimport_changes_nothing(db):
    """Good rows create; the same file again is unchanged; a new unit updates."""
    f.coop(db)
    text = "cooperative,product,unit\nGIE Ndiambour,Arachide,kg\nNDB,Lait,Litre\n"
    result = products(db, text)
    assert (result.created, result.failed) == (2, [])
    assert dict(db.execute(select(Product.name, Product.unit)).all()) == {"Arachide": "kg", "Lait": "litre"}
    again = products(db, text)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    changed = products(db, "cooperative,product,unit\nNDB,arachide,sac\n")
    assert (changed.updated, changed.created) == (1, 0)
    assert db.scalar(select(Product.unit).where(Product.name == "Arachide")) == "sac"


def test_bad_product_rows_are_reported_by_line(db):
    """Unknown cooperative, missing or odd unit, duplicates."""
    f.coop(db)
    text = """cooperative;product;unit
GIE Nowhere;Mil;kg
NDB;Mil;
NDB;Mil;12
NDB;Mil;kg
NDB;MIL;kg
"""
    result = products(db, text)
    failed = reasons(result)
    assert sorted(failed) == [2, 3, 4, 6]
    assert "unknown cooperative" in failed[2]
    assert failed[3] == "missing unit"
    assert "unit '12'" in failed[4]
    assert "also on line 5" in failed[6]
    assert result.created == 1


def test_a_cp1252_products_file_imports_with_a_warning(db):
    """Accented product names survive Windows-1252."""
    f.coop(db)
    result = products(db, "cooperative,product,unit\nNDB,Légumes,kg\n".encode("cp1252"))
    assert result.created == 1 and "cp1252" in result.warnings[0].message
    assert db.scalar(select(Product.name)) == "Légumes"


# --- the command line ------------------------------------------------------------------------


def test_the_import_command_prints_one_summary_line_then_the_failures(runner, runtime, tmp_path):
    """`import members FILE`: the summary, then each failure with its line; exit 1 when rows failed."""
    path = tmp_path / "members.csv"
    path.write_text(GOOD_MEMBERS + "GIE Ndiambour,M0009,,771234599,,,,,,\n")
    result = runner.invoke(args=["import", "members", str(path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "created 5, updated 0, unchanged 0, failed 1"
    assert lines[1] == "  failed line 7: missing name"
    with runtime.sessions() as session:
        assert count(session, Member) == 5
    again = runner.invoke(args=["import", "members", str(path)])
    assert again.output.splitlines()[0] == "created 0, updated 0, unchanged 5, failed 1"


def test_a_clean_import_exits_0(runner, tmp_path):
    """No failed row: exit status 0."""
    path = tmp_path / "members.csv"
    path.write_text(GOOD_MEMBERS)
    result = runner.invoke(args=["import", "members", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("created 5, updated 0, unchanged 0, failed 0")


def test_dry_run_reports_and_writes_nothing(runner, runtime, tmp_path):
    """`--dry-run` validates against the database, prints the same summary, and writes nothing."""
    path = tmp_path / "members.csv"
    path.write_text(GOOD_MEMBERS)
    result = runner.invoke(args=["import", "members", str(path), "--dry-run"])
    assert result.exit_code == 0
    assert result.output.startswith("dry run, nothing written: created 5, updated 0, unchanged 0, failed 0")
    with runtime.sessions() as session:
        assert (count(session, Member), count(session, Cooperative), count(session, AuditEvent)) == (0, 0, 0)


def test_loans_and_products_commands(runner, runtime, tmp_path):
    """The three kinds run from the command line in order: members, products, loans."""
    (tmp_path / "m.csv").write_text(GOOD_MEMBERS)
    (tmp_path / "p.csv").write_text("cooperative,product,unit\nNDB,Mil,kg\n")
    (tmp_path / "l.csv").write_text(f"{LOANS_HEADER}\nL-1,77 123 45 67,10000,,2026-11-01,2,monthly,,,\n")
    assert runner.invoke(args=["import", "members", str(tmp_path / "m.csv")]).exit_code == 0
    products_run = runner.invoke(args=["import", "products", str(tmp_path / "p.csv")])
    assert products_run.output.startswith("created 1,")
    loans_run = runner.invoke(args=["import", "loans", str(tmp_path / "l.csv")])
    assert loans_run.exit_code == 0 and loans_run.output.startswith("created 1,")


def test_a_file_missing_a_column_exits_1_with_the_reason(runner, tmp_path):
    """A file refused as a whole: one error line, exit status 1."""
    path = tmp_path / "loans.csv"
    path.write_text("loan_ref,phone\nL-1,771234567\n")
    result = runner.invoke(args=["import", "loans", str(path)])
    assert result.exit_code == 1
    assert "missing column(s): principal" in result.output


def test_bulk_insert_keeps_awkward_text_intact_and_returns_ids_in_order(db):
    """COPY's text format: backslashes, tabs, newlines and NULLs survive; ids follow the rows."""
    from models.csv_import.bulk import insert_rows

    coop = f.coop(db)
    names = ["Awa \\ Diop", "Tab\there", "Line\nbreak", "Carriage\rreturn", "N"]
    rows = [
        {
            "cooperative_id": coop.id,
            "member_no": f"M{i}",
            "member_key": f"M{i}",
            "name": name,
            "name_key": name.casefold(),
            "phone": None if i == 4 else f"+22177000010{i}",
            "role": "member",
            "language": "fr",
            "status": "active",
            "wrong_pins": 0,
            "locked": i == 1,
            "opted_out": False,
            "created_at": DEFAULT_NOW,
            "updated_at": DEFAULT_NOW,
        }
        for i, name in enumerate(names)
    ]
    ids = insert_rows(db, Member, rows, with_ids=True)
    stored = {m.id: m for m in db.scalars(select(Member))}
    assert [stored[i].name for i in ids] == names
    assert stored[ids[4]].phone is None and stored[ids[1]].locked is True
    assert stored[ids[0]].created_at == DEFAULT_NOW


def test_bulk_insert_refuses_naive_timestamps_and_enum_members(db):
    """COPY bypasses the column types, so the writer keeps their refusals (both backends alike)."""
    from datetime import datetime

    from models.csv_import.bulk import insert_rows
    from models.enums import Role

    coop = f.coop(db)
    row = {"cooperative_id": coop.id, "name": "Mil", "unit": "kg", "created_at": datetime(2026, 12, 1, 10)}
    with pytest.raises(ValueError, match="naive datetime"):
        insert_rows(db, Product, [row])
    with pytest.raises(TypeError, match="plain str"):
        insert_rows(db, Product, [{**row, "created_at": DEFAULT_NOW, "unit": Role.MEMBER}])


_DIGIT_FORMS = [
    str,
    lambda d: chr(0xFF10 + int(d)),
    lambda d: chr(0x0660 + int(d)),
    lambda d: chr(0x06F0 + int(d)),
]
_SEPARATORS = ["", " ", "\u00a0", "\u202f", "\u2009", "\t", "\u200e", "\u200f", "\u200b", "-", ".", "/"]


@st.composite
def typed_phones(draw):
    """A number as people type or paste it: any prefix, digit script, separator or stray character."""
    national = draw(st.sampled_from(["77", "78", "76", "70", "75", "33", "30", "80"])) + draw(
        st.text(alphabet="0123456789", min_size=5, max_size=9)
    )
    prefix = draw(st.sampled_from(["", "+221", "221", "00221", "0", "+33", "+", "00"]))
    digits = prefix + national
    digit_form = draw(st.sampled_from(_DIGIT_FORMS))
    separator = draw(st.sampled_from(_SEPARATORS))
    out = []
    for ch in digits:
        out.append(digit_form(ch) if ch.isdigit() else ch)
        if draw(st.booleans()):
            out.append(separator)
    if draw(st.integers(0, 9)) == 0:
        out.insert(draw(st.integers(0, len(out))), draw(st.characters()))
    return "".join(out)


@settings(max_examples=400, deadline=None)
@given(typed_phones())
def test_the_bulk_phone_reader_and_normalise_are_one_rule(raw):
    """Property: for any typed form, the CSV reader's answer is normalise's (both valid, or both refused)."""
    reader = PhoneReader("SN")
    try:
        fast = reader(raw)
    except ValueError:
        fast = None
    assert fast == try_normalise(raw, "SN")


@pytest.mark.parametrize(
    "raw",
    [
        "77\u202f123\u202f45\u202f67",
        "７７１２３４５６７",
        "٧٧١٢٣٤٥٦٧",
        "+221 ۷۷ ۱۲۳ ۴۵ ۶۷",
        "\u200f77 123 45 67",
    ],
)
def test_separators_and_digit_scripts_are_read_the_same_by_both(raw):
    """Narrow no-break spaces, full-width and Arabic-Indic digits, RTL marks: a valid number for both."""
    assert PhoneReader("SN")(raw) == try_normalise(raw, "SN") == "+221771234567"


# --- files read in batches ------------------------------------------------------------------------


def test_a_members_file_read_in_small_batches_gives_what_one_batch_gives(db):
    """Rows given twice in different batches still fail naming the first line; the rest is the same."""
    text = f"""{MEMBERS_HEADER}
GIE Ndiambour,M0001,Awa Diop,77 123 45 67,,,1000,,,
GIE Ndiambour,M0002,Moussa Ndiaye,771234501,,,,,,
GIE Ndiambour,M0003,Fatou Sow,771234502,,,,,,
GIE Ndiambour,M0001,Awa Diop bis,771234505,,,,,,
GIE Ndiambour,M0008,Rama Seck,77 123 45 67,,,,,,
GIE Keur,M0001,Ibou Fall,771234506,,,,,,
"""
    result = members(db, text, batch=2)
    failed = reasons(result)
    assert failed == {
        5: "member M0001 of GIE Ndiambour is also on line 2",
        6: "phone +221771234567 is also on line 2 (one member per phone)",
    }
    assert (result.rows, result.created) == (6, 4)
    again = members(db, text, batch=2)
    assert (again.created, again.unchanged, sorted(reasons(again))) == (0, 4, [5, 6])


def test_a_loans_file_read_in_small_batches_fails_a_reference_given_twice_across_batches(db, people):
    """loan_ref given again two batches later: the row fails naming the first line."""
    text = GOOD_LOANS + "L-004,m2,20000,,2026-10-01,4,weekly,,,\nL-001,771234567,1,,2026-09-01,1,monthly,,,\n"
    result = loans(db, text, batch=2)
    assert reasons(result) == {6: "loan_ref L-001 is also on line 2"}
    assert result.created == 4
    assert count(db, Loan) == 4

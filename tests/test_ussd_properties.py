"""Random hop sequences over POST /ussd (hypothesis): the webhook and the ledger hold whatever is typed.

Each example is one random sequence: a phone (registered or not, or no phone at all), an optional
path that leads deep into a task, then random actions — entries with `*`, `#`, long digits,
letters, unicode or nothing; replays of the last hop; texts that do not extend the previous one;
a new dial; and the treasurer answering by SMS (OUI/NON, PAY, ANNULE). After every hop: HTTP 200,
`CON `/`END `, ≤ 160 GSM-7 characters, no screen cut and no internal failure logged, a report or a
declaration saved only on a confirmation hop. After every sequence: for every loan, Σ non-reversed
repayment lines = Σ amount_paid; every repayment = Σ its lines; every `ussd`-source repayment comes
from a declaration the treasurer said OUI to.

Examples per run: MBOLO_CI_PASS=postgres → 5 000, sqlite → 1 000 (6 000 per CI run), else 200;
MBOLO_PROPERTY_EXAMPLES overrides. The app, the data and the Redis server are shared by all the
examples of the run; only the PIN state of the cast is reset per example (cheap PIN hashes).
"""

from __future__ import annotations

import base64
import itertools
import logging
import os
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import case, select, text, update
from sqlalchemy import event as event_api

from i18n.gsm7 import is_gsm7, septets
from models import Member
from models.enums import Language, LoanStatus, Role
from models.pin import _derive
from tests import factories as f

EXAMPLES = int(
    os.environ.get("MBOLO_PROPERTY_EXAMPLES")
    or {"postgres": 5000, "sqlite": 1000}.get(os.environ.get("MBOLO_CI_PASS", ""), 200)
)

PIN = "4827"
NEW_PIN = "5829"
SECRET = "test-pin-secret"  # TestConfig.PIN_SECRET
TREASURER = "+221770000001"
WITH_PIN = {"+221771000001": "fr", "+221771000002": "wo", "+221771000003": "en", "+221771000006": "fr"}
NO_PIN = "+221771000004"
LOCKED = "+221771000005"
INACTIVE = "+221771000007"
BORROWERS_WITH_PIN = ["+221771000001", "+221771000002", "+221771000003"]
PHONES = [
    *BORROWERS_WITH_PIN * 3,  # most sequences are members who can reach every task
    TREASURER,
    *WITH_PIN,
    NO_PIN,
    LOCKED,
    INACTIVE,
    "+221779999999",  # not registered
    "77 100 00 01",  # a registered number written the local way
    "",
    "abc",
    "+33612345678",
    "+2217712",
]
PRINCIPAL = 2_000_000  # large: random payments seldom repay a loan (one that is gets a new loan)

# Paths that lead into the tasks (random actions follow): without them, reaching a confirmation
# screen by chance would be rare.
PATHS = [
    [],
    [PIN],
    [PIN, "1"],
    [PIN, "2", "1", "12"],
    [PIN, "2", "1", "12", "1"],
    [PIN, "2", "2", "400", "3", "2"],
    [PIN, "3"],
    [PIN, "3", "1", "98"],
    [PIN, "4", "5000"],
    [PIN, "4", "2500", "1"],
    [PIN, "4", "2500", "1"],
    [PIN, "4", "12000", "1"],
    [PIN, "2", "1", "7", "1"],
    [PIN, "5", "2"],
    [PIN, "6", PIN, NEW_PIN, NEW_PIN],
    [NEW_PIN, NEW_PIN, "1"],
    ["1234", "1111", NEW_PIN, "9999"],
]
MENU_KEYS = ["0", "00", "1", "2", "3", "4", "5", "6", "98", "99", "1", "2", "3", "4"]
HOSTILE = "0123456789*#abcXYZ éèçñ€ßä½\u00a0\u2019😀\t\n+-.,;%&="
ENTRIES = st.one_of(
    st.sampled_from(MENU_KEYS),
    st.sampled_from([PIN, PIN, NEW_PIN, "1234", "0000", "5000", "100000", "12", "0", ""]),
    st.from_regex(r"[0-9]{5,40}", fullmatch=True),
    st.text(alphabet=HOSTILE, max_size=12),
    st.text(max_size=6),  # anything unicode (no surrogates)
)
ACTIONS = st.one_of(
    ENTRIES.map(lambda entry: ("press", entry)),
    ENTRIES.map(lambda entry: ("press", entry)),
    st.just(("replay", "")),
    st.just(("dial", "")),
    st.text(alphabet=HOSTILE, max_size=15).map(lambda raw: ("stray", raw)),
    st.sampled_from(["OUI", "OUI", "NON", "PAY", "ANNULE"]).map(lambda word: ("sms", word)),
)
SEQUENCES = st.tuples(
    st.sampled_from(PHONES),
    st.sampled_from(PATHS),
    st.lists(ACTIONS, max_size=4),
    # The treasurer's PAY amount; the paths' declared amounts too, so that a PAY can answer a declaration.
    st.one_of(st.integers(min_value=100, max_value=60_000), st.sampled_from([2500, 12000])),
)


def cheap_hash(pin: str) -> str:
    """A stored PIN hash in the service's format with the smallest scrypt cost (verify reads it)."""
    salt = b"property-tests16"
    digest = _derive(pin, salt, SECRET, 16, 1, 1)
    b64 = lambda raw: base64.b64encode(raw).decode().rstrip("=")  # noqa: E731
    return f"scrypt$16$1$1${b64(salt)}${b64(digest)}"


class HopLog(logging.Handler):
    """Reads the engine's log: the screen each hop started from, hop failures and cut screens."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.failures: list[str] = []
        self.came_from: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message == "ussd.hop":
            self.came_from = getattr(record, "from", None)
        elif message in ("ussd.hop_failed", "ussd.screen_too_long"):
            self.failures.append(f"{message} {getattr(record, 'error', getattr(record, 'screen', ''))}")


@dataclass
class World:
    """The cast (member ids), the PIN hash, and what the treasurer has said OUI to."""

    coop_id: int
    ids: dict[str, int]
    borrowers: list[str]
    cheap: str
    confirmed: set[int] = field(default_factory=set)
    ussd_repayments: int = 0
    inbound_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    sessions: itertools.count = field(default_factory=lambda: itertools.count(1))
    loans: itertools.count = field(default_factory=lambda: itertools.count(1))


@pytest.fixture
def world(db) -> World:
    """A cooperative with a treasurer, members with and without PIN, locked, inactive, loans, products."""
    coop = f.coop(db)
    ids = {TREASURER: f.member(db, coop, "T0001", "Fatou Sarr", TREASURER, role=Role.TREASURER).id}
    for n, (phone, language) in enumerate(WITH_PIN.items(), 1):
        ids[phone] = f.member(db, coop, f"M{n:04d}", f"Membre {n} Diop", phone, language=language).id
    ids[NO_PIN] = f.member(db, coop, "M0008", "Binta Fall", NO_PIN, language=Language.EN).id
    ids[LOCKED] = f.member(db, coop, "M0005", "Khady Sow", LOCKED).id
    ids[INACTIVE] = f.member(db, coop, "M0007", "Ousmane Ba", INACTIVE, status="inactive").id
    borrowers = [*BORROWERS_WITH_PIN, NO_PIN, INACTIVE]
    for n, phone in enumerate(borrowers):
        borrower = db.get(Member, ids[phone])
        f.loan(db, borrower, f"L-{n:03d}A", principal=PRINCIPAL)
        if n == 1:  # a member with two active loans
            f.loan(db, borrower, f"L-{n:03d}B", principal=PRINCIPAL, frequency="weekly")
    f.product(db, coop, "Arachide", "kg")
    f.product(db, coop, "Lait", "litre")
    db.commit()
    return World(coop.id, ids, borrowers, cheap_hash(PIN))


@pytest.fixture
def hop_log():
    """The engine's log lines, read for the whole test."""
    handler = HopLog()
    logger = logging.getLogger("mbolo.ussd")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def reset_pins(conn, world: World) -> None:
    """Every example starts from the same PIN states: set (cheap hash), none, locked — one statement."""
    cast = [world.ids[p] for p in (TREASURER, *WITH_PIN, INACTIVE, NO_PIN, LOCKED)]
    conn.execute(
        update(Member)
        .where(Member.id.in_(cast))
        .values(
            pin_hash=case((Member.id == world.ids[NO_PIN], None), else_=world.cheap),
            wrong_pins=0,
            locked=Member.id == world.ids[LOCKED],
        )
    )


COUNTS = text("SELECT (SELECT count(*) FROM production_report), (SELECT count(*) FROM repayment_declaration)")
WATCHED = {"production_report": "production_confirm", "repayment_declaration": "declare_confirm"}


class Inserts:
    """Counts INSERTs into the watched tables as they are sent to the database (no extra round trip)."""

    def __init__(self):
        self.seen = dict.fromkeys(WATCHED, 0)

    def __call__(self, _conn, _cursor, statement: str, *_args) -> None:
        if statement.startswith("INSERT INTO "):
            table = statement[12:].split(" ", 1)[0].strip('"')
            if table in self.seen:
                self.seen[table] += 1


@pytest.fixture
def inserts(runtime):
    """INSERTs into production_report and repayment_declaration, counted for the whole test."""
    listener = Inserts()
    event_api.listen(runtime.engine, "before_cursor_execute", listener)
    yield listener
    event_api.remove(runtime.engine, "before_cursor_execute", listener)


class Line:
    """One phone on the webhook: sends whole texts as Africa's Talking does and checks every answer."""

    def __init__(self, client, runtime, world: World, phone: str, log: HopLog, inserts: Inserts):
        self.client, self.rt, self.world, self.phone, self.log = client, runtime, world, phone, log
        self.inserts = inserts
        self.confirmed_inserts = dict.fromkeys(WATCHED, 0)  # INSERTs made by confirmation hops
        self.session_id = ""
        self.text = ""
        self.ended = True
        self.transcript: list[str] = []

    def dial(self) -> None:
        """A new session."""
        self.session_id = f"ATUid_prop_{next(self.world.sessions)}"
        self.text = ""
        self.ended = False
        self.send("")

    def press(self, entry: str) -> None:
        """One more entry; after an END too (an aggregator that keeps sending must still get an answer)."""
        self.send(f"{self.text}*{entry}" if self.text else entry)

    def replay(self) -> None:
        """The last hop again (its answer was lost)."""
        self.send(self.text)

    def stray(self, raw: str) -> None:
        """A text that does not extend the previous one (an aggregator that sends the latest entry only)."""
        self.send(raw)

    def send(self, body_text: str) -> None:
        self.log.came_from = None
        counted = dict(self.inserts.seen)
        response = self.client.post(
            "/ussd",
            data={
                "sessionId": self.session_id,
                "serviceCode": "*384*123#",
                "phoneNumber": self.phone,
                "networkCode": "60801",
                "text": body_text,
            },
        )
        body = response.get_data(as_text=True)
        before = self.log.came_from
        self.transcript.append(f"{before} <- {body_text!r}: {response.status_code} {body!r}")
        where = "\n".join(self.transcript)
        assert response.status_code == 200, where
        assert body[:4] in ("CON ", "END "), where
        screen = body[4:]
        assert is_gsm7(screen), where
        assert septets(screen) <= 160, where
        assert not self.log.failures, f"{self.log.failures}\n{where}"
        for table, confirm_screen in WATCHED.items():
            added = self.inserts.seen[table] - counted[table]
            if added:
                event(f"{table} written")
                assert before == confirm_screen, f"{table} written outside a confirmation hop\n{where}"
                self.confirmed_inserts[table] += added
        self.text = body_text
        self.ended = body.startswith("END ")


def treasurer_sms(client, runtime, world: World, word: str, amount: int) -> None:
    """The treasurer answers by SMS: OUI/NON the latest pending declaration, PAY a borrower, ANNULE."""
    with runtime.engine.connect() as conn:
        if word in ("OUI", "NON"):
            row = conn.execute(
                text(
                    "SELECT id, code FROM repayment_declaration "
                    "WHERE cooperative_id = :c AND status = 'pending' ORDER BY id DESC LIMIT 1"
                ),
                {"c": world.coop_id},
            ).first()
            if row is None:
                return
            if word == "OUI":
                world.confirmed.add(row.id)
            message = f"{word} {row.code}"
        elif word == "PAY":
            member_no = conn.execute(
                select(Member.member_no).where(Member.id == world.ids[world.borrowers[amount % 3]])
            ).scalar_one()
            message = f"PAY {member_no} {amount}"
        else:
            receipt = conn.execute(
                text("SELECT receipt FROM repayment WHERE reversed_at IS NULL ORDER BY id DESC LIMIT 1")
            ).scalar()
            if receipt is None:
                return
            message = f"ANNULE {receipt}"
    response = client.post(
        "/sms/inbound",
        data={
            "from": TREASURER,
            "to": "38123",
            "text": message,
            "date": "2026-12-01 10:00:00",
            "id": f"ATXid_prop_{next(world.inbound_ids)}",
            "linkId": "",
            "networkCode": "60801",
        },
    )
    assert response.status_code == 200, (message, response.get_data(as_text=True))


LOAN_SUMS = text(
    "SELECT l.id, l.status, l.member_id, "
    "(SELECT coalesce(sum(i.amount_paid), 0) FROM instalment i WHERE i.loan_id = l.id), "
    "(SELECT coalesce(sum(rl.amount), 0) FROM repayment_line rl JOIN repayment r ON r.id = rl.repayment_id "
    " WHERE rl.loan_id = l.id AND r.reversed_at IS NULL) FROM loan l"
)
REPAYMENT_SUMS = text(
    "SELECT r.id, r.amount, (SELECT coalesce(sum(rl.amount), 0) FROM repayment_line rl "
    "WHERE rl.repayment_id = r.id) FROM repayment r"
)
USSD_REPAYMENTS = text(
    "SELECT r.id, r.declaration_id, d.status FROM repayment r "
    "LEFT JOIN repayment_declaration d ON d.id = r.declaration_id WHERE r.source = 'ussd'"
)


def check_ledger(conn, world: World) -> set[int]:
    """The sequence's invariants; returns the borrowers left without an active loan."""
    loans = conn.execute(LOAN_SUMS).all()
    repayments = conn.execute(REPAYMENT_SUMS).all()
    from_ussd = conn.execute(USSD_REPAYMENTS).all()
    for loan_id, _status, _member, paid, lines in loans:
        assert paid == lines, f"loan {loan_id}: instalments paid {paid} != non-reversed lines {lines}"
    for repayment_id, amount, lines in repayments:
        assert amount == lines, f"repayment {repayment_id}: amount {amount} != its lines {lines}"
    if len(from_ussd) > world.ussd_repayments:
        event("a declaration confirmed by OUI")
    world.ussd_repayments = len(from_ussd)
    for repayment_id, declaration_id, status in from_ussd:
        assert declaration_id in world.confirmed, f"ussd repayment {repayment_id} without an OUI"
        assert status == "confirmed", (repayment_id, status)
    active = {member for _id, status, member, _p, _l in loans if status == LoanStatus.ACTIVE}
    return {member for _id, status, member, _p, _l in loans if status == LoanStatus.REPAID} - active


def lend_again(runtime, world: World, members: set[int]) -> None:
    """A borrower whose loan random payments repaid gets a new one, so later sequences still have debts."""
    with runtime.sessions() as session:
        for member_id in members:
            borrower = session.get(Member, member_id)
            f.loan(session, borrower, f"L-R{next(world.loans):05d}", principal=PRINCIPAL)
        session.commit()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=SEQUENCES)
def test_random_hop_sequences_keep_the_webhook_and_the_ledger_sound(
    client, runtime, world, hop_log, inserts, sequence
):
    """Whatever is typed, replayed or interleaved: 200, CON/END, ≤ 160 GSM-7, and the ledger adds up."""
    phone, path, actions, amount = sequence
    hop_log.failures.clear()
    with runtime.engine.begin() as conn:
        reset_pins(conn, world)
        rows_before = conn.execute(COUNTS).one()
    line = Line(client, runtime, world, phone, hop_log, inserts)
    line.dial()
    for entry in path:
        line.press(entry)
    for kind, value in actions:
        if kind == "press":
            line.press(value)
        elif kind == "replay":
            line.replay()
        elif kind == "dial":
            line.dial()
        elif kind == "stray":
            line.stray(value)
        else:
            treasurer_sms(client, runtime, world, value, amount)
    with runtime.engine.connect() as conn:
        rows_after = conn.execute(COUNTS).one()
        for (table, made), before, after in zip(
            line.confirmed_inserts.items(), rows_before, rows_after, strict=True
        ):
            assert after - before <= made, (
                f"{table}: {after - before} rows, {made} written by confirmation hops"
            )
        repaid = check_ledger(conn, world)
    if repaid:
        lend_again(runtime, world, repaid)

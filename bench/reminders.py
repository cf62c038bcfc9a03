"""Reminder planning at scale: 1 000 000 loans (6 000 000 instalments), 10 % in arrears, by COPY.

    DATABASE_URL=postgresql://postgres@127.0.0.1/test python -m bench.reminders

The data set (`load_recovery`, a schema of its own): 3 000 cooperatives with a treasurer each,
1 000 000 borrowers with one loan of 6 instalments (a quarter weekly). 90 % of the loans are paid up
to date; 10 % are in arrears, their oldest unpaid due date spread over the last 400 days (so some
are past the 90-day weekly phase), and 1 in 20 of those has a running promise. The day is a Monday,
so the officers' digests are written too.

Measures, in one run and on the same data, each as one transaction (statement + commit):
  (a) the reference: the due-date rules' INSERT … SELECT over a VALUES list of rules, then the
      arrears days written as plain SQL (DISTINCT ON the oldest unpaid instalment per member, the
      L + 7k / + 30k arithmetic inline), promises excluded;
  (b) the project's planning step (`planner.lock`, `settle_promises`, `planner.plan`, `arrears.plan`);
  (c) the project's rendering and outbox writing for that day: reminders (`planner.write_messages`)
      and digests (`digest.write_digests`);
  (c0) the floor of (c): the same day's outbox rows (one per member, a fixed text) and their links
      to the reminder rows in one plain SQL statement, with the same indexes and foreign keys.
Each is run ROUNDS times after a warm-up, reminder_sent, digests and the outbox emptied in between;
(a) and (b) must insert the same rows. The medians are printed with the ratios and the goals:
(b) ≤ 2 × (a) and ≤ 1 s, (c) ≤ 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.dataset import bench_engine
from models.clock import DAKAR
from models.promises import settle as settle_promises
from models.schedule import add_months
from sms.reminders import arrears, digest, planner
from sms.sending_hours import SendingHours

SCHEMA = "bench_reminders"
TODAY = date(2026, 12, 7)  # a Monday: digests too
NOW = datetime(2026, 12, 7, 0, 5, tzinfo=DAKAR)  # the day's first tick
ROUNDS = 5
RESULT = Path(__file__).parent / "results" / "reminders.json"

REFERENCE = text(
    "INSERT INTO reminder_sent (instalment_id, rule, day) SELECT i.id, r.rule, :today FROM instalment i "
    "JOIN loan l ON l.id = i.loan_id JOIN (VALUES ('W-1','weekly',-1), ('W+1','weekly',1), "
    "('M-3','monthly',-3), ('M0','monthly',0), ('M+1','monthly',1), ('M+7','monthly',7)) "
    "r(rule, freq, off) ON r.freq = l.frequency AND i.due_on = :today - r.off "
    "WHERE i.amount_paid < i.amount_due AND l.status = 'active' ON CONFLICT DO NOTHING"
)


# The arrears days as the contract writes them, in plain SQL: d = today − D of the member's oldest
# unpaid instalment; L = 1 (weekly) or 7 (monthly); d = L + 7k ≤ 90, then the last of those + 30k.
ARREARS_REFERENCE = text(
    "INSERT INTO reminder_sent (instalment_id, rule, day) "
    "SELECT o.id, 'A' || (CAST(:today AS date) - o.due_on), :today FROM ("
    "  SELECT DISTINCT ON (l.member_id) i.id, i.due_on, l.member_id, "
    "    CASE l.frequency WHEN 'weekly' THEN 1 ELSE 7 END AS lag "
    "  FROM instalment i JOIN loan l ON l.id = i.loan_id "
    "  WHERE i.amount_paid < i.amount_due AND l.status = 'active' AND i.due_on < :today "
    "  ORDER BY l.member_id, i.due_on, i.id) o "
    "CROSS JOIN LATERAL (SELECT CAST(:today AS date) - o.due_on AS d, "
    "  o.lag + 7 * ((90 - o.lag) / 7) AS last) x "
    "WHERE ((x.d BETWEEN o.lag + 7 AND 90 AND (x.d - o.lag) % 7 = 0) "
    "   OR (x.d > x.last AND (x.d - x.last) % 30 = 0)) "
    "  AND NOT EXISTS (SELECT 1 FROM promise p WHERE p.member_id = o.member_id "
    "    AND p.status IN ('open', 'kept') AND p.recorded_on <= :today AND p.due_on >= :today) "
    "ON CONFLICT DO NOTHING"
)

# The floor of (c): what the database alone needs to write one outbox row per member of the day's
# reminder rows (a fixed 2-segment text, no rendering) and link every row to it, in plain SQL, with
# the same indexes and foreign keys as the project's statement.
OUTBOX_REFERENCE = text(
    "WITH new AS (INSERT INTO outbound_sms "
    '("to", text, kind, language, status, cooperative_id, member_id, attempts, send_after, '
    "next_attempt_at, segments, cost, created_at, updated_at) "
    "SELECT m.phone, repeat('x', 250), 'reminder', m.language, 'queued', m.cooperative_id, m.id, 0, "
    ":now, :now, 2, 30, :now, :now FROM member m WHERE m.id IN (SELECT l.member_id FROM reminder_sent r "
    "JOIN instalment i ON i.id = r.instalment_id JOIN loan l ON l.id = i.loan_id WHERE r.day = :today) "
    "RETURNING id, member_id) "
    "UPDATE reminder_sent r SET outbound_sms_id = new.id FROM instalment i, loan l, new "
    "WHERE r.day = :today AND i.id = r.instalment_id AND l.id = i.loan_id AND new.member_id = l.member_id"
)

COOPERATIVES = 3_000
LOANS = 1_000_000
PER_LOAN = 6
CHUNK = 100_000


def _empty(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE reminder_sent, digest_sent, outbound_sms RESTART IDENTITY"))


def _copy(conn, table: str, columns: list[str], rows) -> None:
    """COPY rows in chunks, so 6 000 000 instalments never sit in memory at once."""
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        chunk = []
        for row in rows:
            chunk.append("\t".join("\\N" if v is None else str(v) for v in row))
            if len(chunk) >= CHUNK:
                copy.write("\n".join(chunk) + "\n")
                chunk = []
        if chunk:
            copy.write("\n".join(chunk) + "\n")


def _loan(i: int, today: date) -> tuple[str, date, int]:
    """(frequency, first due date, instalments already paid) of loan i."""
    weekly = i % 4 == 0
    mixed = (i * 2654435761) % 2**32  # a multiplicative hash: arrears spread over every cooperative
    if mixed % 10 == 0:  # in arrears: nothing paid since its oldest unpaid due date, 1–400 days ago
        return ("weekly" if weekly else "monthly"), today - timedelta(days=(mixed // 10) % 400 + 1), 0
    # Up to date: first due from 5 periods ago to 1 period ahead; what fell due is paid.
    offset = (i * 13) % (6 * (7 if weekly else 30)) - (7 if weekly else 30)
    first = today - timedelta(days=offset)
    paid = 0
    for k in range(PER_LOAN):
        due = first + timedelta(weeks=k) if weekly else add_months(first, k)
        paid += due < today
    return ("weekly" if weekly else "monthly"), first, paid


def load_recovery(engine, today: date = TODAY, loans: int = LOANS) -> dict[str, float]:
    """Load the recovery data set by COPY (`loans` borrowers, one loan each); return seconds per step."""
    now = datetime.now(DAKAR).isoformat()
    timings = {}
    with engine.begin() as conn:
        t = time.perf_counter()
        _copy(
            conn,
            "cooperative",
            ["id", "name", "code", "commune", "region", "demo", "created_at"],
            (
                (c, f"Cooperative {c:05d}", f"C{c:05d}", "Thies", "Thies", "false", now)
                for c in range(1, COOPERATIVES + 1)
            ),
        )
        members = loans + COOPERATIVES  # every borrower, plus one treasurer per cooperative
        _copy(
            conn,
            "member",
            [
                "id",
                "cooperative_id",
                "member_no",
                "member_key",
                "name",
                "name_key",
                "phone",
                "role",
                "language",
                "status",
                "wrong_pins",
                "locked",
                "opted_out",
                "created_at",
                "updated_at",
            ],
            (
                (
                    m,
                    (m - 1) % COOPERATIVES + 1,
                    f"M{m:07d}",
                    f"M{m}",
                    f"Awa Membre{m:07d} Ndiaye",
                    f"awa membre{m:07d} ndiaye",
                    f"+2217{m:08d}",
                    "treasurer" if m > loans else "member",
                    ("fr", "wo", "en")[m % 3],
                    "active",
                    0,
                    "false",
                    "false",
                    now,
                    now,
                )
                for m in range(1, members + 1)
            ),
        )
        timings["members"] = time.perf_counter() - t
        t = time.perf_counter()
        loans = [(i, *_loan(i, today)) for i in range(1, loans + 1)]
        _copy(
            conn,
            "loan",
            [
                "id",
                "member_id",
                "reference",
                "principal",
                "interest",
                "disbursed_on",
                "first_due_on",
                "frequency",
                "status",
                "created_at",
            ],
            (
                (
                    i,
                    i,
                    f"L-{i:07d}",
                    120_000,
                    12_000,
                    first - timedelta(days=7 if f == "weekly" else 30),
                    first,
                    f,
                    "active",
                    now,
                )
                for i, f, first, _ in loans
            ),
        )

        def instalments():
            amount = 132_000 // PER_LOAN
            n = 0
            for i, frequency, first, paid in loans:
                for k in range(PER_LOAN):
                    n += 1
                    due = first + timedelta(weeks=k) if frequency == "weekly" else add_months(first, k)
                    yield (n, i, k + 1, due, amount, amount if k < paid else 0)

        _copy(
            conn,
            "instalment",
            ["id", "loan_id", "number", "due_on", "amount_due", "amount_paid"],
            instalments(),
        )
        timings["loans+instalments"] = time.perf_counter() - t
        # 1 in 20 members in arrears promised to pay within the next 10 days.
        promised = [i for i, _, _, paid in loans if paid == 0 and i % 20 == 0]
        _copy(
            conn,
            "promise",
            ["member_id", "amount", "due_on", "recorded_on", "recorded_at", "status"],
            (
                (i, 10_000, today + timedelta(days=i % 10 + 1), today - timedelta(days=2), now, "open")
                for i in promised
            ),
        )
        for table in ("cooperative", "member", "loan", "instalment"):
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return timings


def _timed(engine, work) -> tuple[float, object]:
    with Session(engine) as session:
        start = time.perf_counter()
        result = work(session)
        session.commit()
        return time.perf_counter() - start, result


def reference(session: Session) -> int:
    """(a) the due-date rules' statement and the arrears days in plain SQL."""
    due = session.execute(REFERENCE, {"today": TODAY}).rowcount
    return due + session.execute(ARREARS_REFERENCE, {"today": TODAY}).rowcount


def planning(session: Session) -> int:
    """(b) the project's planning step."""
    planner.lock(session)
    settle_promises(session, TODAY)
    return planner.plan(session, TODAY) + arrears.plan(session, TODAY, planner._insert(session))


def outbox_reference(session: Session) -> int:
    """(c0) the floor of (c): the day's outbox rows and links in plain SQL, nothing rendered."""
    return session.execute(OUTBOX_REFERENCE, {"today": TODAY, "now": NOW}).rowcount


def rendering(session: Session) -> tuple[planner.DayResult, int]:
    """(c) one SMS per member for the day, rendered and written in bulk, linked to its rows; digests."""
    planner.lock(session)  # as in the day's run, whose one transaction begins with it
    hours = SendingHours(tz=DAKAR)
    day = planner.write_messages(session, TODAY, NOW, hours, cost_per_segment=15, dial_code="*384*123#")
    return day, digest.write_digests(session, TODAY, NOW, hours, 15)


def main() -> None:
    """Load (unless --reuse), measure, print the figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true", help="keep the loaded schema from a previous run")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument(
        "--loans", type=int, default=LOANS, help=f"borrowers, one loan each (default {LOANS:,})"
    )
    args = parser.parse_args()

    engine, _ = bench_engine(SCHEMA, fresh=not args.reuse)
    if not args.reuse:
        timings = load_recovery(engine, loans=args.loans)
        print("loading by COPY …", json.dumps({k: round(v, 1) for k, v in timings.items()}))
    with engine.connect() as conn:
        unpaid = conn.execute(text("SELECT count(*) FROM instalment WHERE amount_paid < amount_due")).scalar()
        late = conn.execute(
            text(
                "SELECT count(DISTINCT loan_id) FROM instalment "
                "WHERE amount_paid < amount_due AND due_on < :d"
            ),
            {"d": TODAY},
        ).scalar()
    print(f"unpaid instalments: {unpaid:,}; loans in arrears: {late:,}; day {TODAY}")

    a_times, b_times, c_times, c0_times = [], [], [], []
    counts = {}
    for n in range(args.rounds + 1):  # round 0 warms the caches and is not counted
        _empty(engine)
        _timed(engine, planning)
        tc0, _ = _timed(engine, outbox_reference)
        _empty(engine)
        ta, rows_a = _timed(engine, reference)
        _empty(engine)
        tb, rows_b = _timed(engine, planning)
        tc, (day, digests) = _timed(engine, rendering)
        if rows_a != rows_b:
            raise SystemExit(f"the planning step inserted {rows_b} rows, the reference {rows_a}")
        counts = {"reminders": rows_b, "sms": day.created, "digests": digests}
        if n:
            a_times.append(ta)
            b_times.append(tb)
            c_times.append(tc)
            c0_times.append(tc0)
    _empty(engine)

    a, b, c, c0 = (statistics.median(t) for t in (a_times, b_times, c_times, c0_times))
    print(
        f"rows: {counts['reminders']:,} reminders (due-date rules, arrears days, promises), "
        f"{counts['sms']:,} SMS (one per member), {counts['digests']:,} officers' digests"
    )
    print(f"(a) reference INSERT … SELECT      {a:7.3f} s")
    print(f"(b) planning step                  {b:7.3f} s   b/a = {b / a:4.2f}  (goal ≤ 2.00 and ≤ 1 s)")
    print(f"(c0) outbox rows + links, plain SQL {c0:7.3f} s   (the floor of (c) on this machine)")
    print(f"(c) rendering + outbox writing     {c:7.3f} s   c/c0 = {c / c0:4.2f}  (goal ≤ 2 s)")
    verdict = "PASS" if b <= 2 * a and b <= 1.0 and c <= 2.0 else "FAIL"
    busy = os.getloadavg()[0]
    print(f"medians of {args.rounds} rounds; load average {busy:.1f} on {os.cpu_count()} CPUs; {verdict}")
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(
        json.dumps(
            {
                "a": a,
                "b": b,
                "c": c,
                "c0": c0,
                "b_over_a": b / a,
                "c_over_c0": c / c0,
                **counts,
                "load_average": busy,
                "verdict": verdict,
            },
            indent=2,
        )
    )
    engine.dispose()


if __name__ == "__main__":
    main()

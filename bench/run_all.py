"""`make bench`: every benchmark of the project in one run, and one table of figure, goal, met.

Kept whole (~600 lines) on purpose: `make bench` is one script read top to bottom (services,
steps, the table of goals).

    python -m bench.run_all [--quick] [--members N] [--only STEP …]

Services: uses PostgreSQL at DATABASE_URL (default postgresql://postgres@127.0.0.1/test), started
with pg_ctlcluster when it is local and down; starts a Redis server of its own (redis-server on a
free local port, nothing saved to disk) and stops it at the end, so no key of a run outlives it and
two runs never share a queue or a key; installs wrk with apt-get when it is missing. It says which
of these it started. Then, in one process, calls each benchmark module in turn (their own output
goes to instance/bench/<run>/bench.log):
  pin        one PIN verification (scrypt), CPU time                  models.pin
  import     100 000 members, then the same file again                bench.import_members
  sms        personal SMS/s per gateway, the rate at SMS_RATE, and     bench.sms (local AT and Orange)
             one announcement to 10 000
  drain      the same personal SMS through 2 RQ worker processes      bench.drain
  dashboard  the coordinator pages; loads 200 000 members, 100 000    bench.dashboard
             loans, 1 000 000 instalments by COPY (--members)
  reminders  its own COPY load: 1 000 000 loans, 10 % in arrears;      bench.reminders
             (a) reference, (b) planning, (c) SMS and digests
  ussd       its own COPY load; gunicorn with 2 workers; wrk (a)      bench.ussd.run
             bare Flask, then 3 interleaved rounds of (b) I/O floor,
             (c) the hop mix, (d) whole sessions, at 64 sessions
Every name a run creates carries its run id (<UTC timestamp>-<4 hex>): PostgreSQL schemas
bench_<hex>_<step>, dropped at the end; its working directory instance/bench/<run>/. The table
is printed at the end and written with the machine's description to bench/results/<run>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1/test"
# The command the machines of this project start PostgreSQL with (when the local one is down).
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect {version} main start"
DEFAULT_MEMBERS = 200_000
QUICK_MEMBERS = 20_000


# --- the table ----------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: a figure, its goal and whether it is met (None: no goal, a figure to keep)."""

    figure: str
    value: str
    goal: str = ""
    met: bool | None = None
    void: bool = False  # measured, but the run it belongs to is void

    @property
    def verdict(self) -> str:
        if self.met is None:
            return ""
        if self.void:
            return "void"
        return "met" if self.met else "NOT MET"


def grouped(number: int) -> str:
    """12 500 (the project's way of writing numbers)."""
    return f"{number:,}".replace(",", " ")


def table(rows: list[Row]) -> str:
    """The rows as a plain-text table."""
    widths = [
        max(len(h), *(len(getattr(r, a)) for r in rows))
        for h, a in (("figure", "figure"), ("value", "value"), ("goal", "goal"))
    ]
    head = f"{'figure':<{widths[0]}}  {'value':>{widths[1]}}  {'goal':<{widths[2]}}  met"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.figure:<{widths[0]}}  {r.value:>{widths[1]}}  {r.goal:<{widths[2]}}  {r.verdict}")
    return "\n".join(lines)


# --- services -----------------------------------------------------------------------------------


def say(message: str) -> None:
    """A progress line on the terminal (the benchmarks' own output goes to the log)."""
    print(message, file=sys.__stdout__, flush=True)


def _postgres_answers(url: str) -> bool:
    import psycopg

    from models.database import normalise_url

    libpq = normalise_url(url).replace("postgresql+psycopg://", "postgresql://")
    try:
        psycopg.connect(libpq, connect_timeout=3).close()
        return True
    except psycopg.OperationalError:
        return False


def ensure_postgres(url: str) -> tuple[str, str | None]:
    """PostgreSQL answers at `url`, started with pg_ctlcluster if it is local and down.

    Its version, and the command that started it (None when it was already running).
    """
    started = None
    if not _postgres_answers(url):
        host = urlsplit(url).hostname or "localhost"
        versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
        if host not in ("127.0.0.1", "localhost", "::1") or not versions:
            raise SystemExit(f"PostgreSQL does not answer at {host} and is not a local cluster to start")
        command = START_POSTGRES.format(version=versions[-1])
        say(f"PostgreSQL is down: starting it ({command})")
        subprocess.run(command, shell=True, check=True)
        _until(lambda: _postgres_answers(url), "PostgreSQL to accept connections")
        started = command
    from sqlalchemy import create_engine, text

    from models.database import normalise_url

    engine = create_engine(normalise_url(url))
    with engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar_one()
    engine.dispose()
    return version, started


class OwnRedis:
    """A redis-server of this run's own: a free local port, its files in `workdir`, nothing saved."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.process: subprocess.Popen | None = None
        self.port = 0

    def start(self) -> str:
        """Start it; its URL."""
        import redis

        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        for _ in range(5):  # a free port can be taken between the probe and redis-server's bind
            self.port = _free_port()
            self.process = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.workdir),
                    "--logfile",
                    str(self.workdir / "redis.log"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            client = redis.Redis(port=self.port, socket_connect_timeout=1)
            deadline = time.monotonic() + 10
            while self.process.poll() is None and time.monotonic() < deadline:
                try:
                    client.ping()
                    client.close()
                    return self.url
                except redis.ConnectionError:
                    time.sleep(0.1)
            self.stop()
        raise SystemExit(f"redis-server did not start; see {self.workdir / 'redis.log'}")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def version(self) -> str:
        import redis

        client = redis.Redis(port=self.port)
        try:
            return client.info("server")["redis_version"]
        finally:
            client.close()

    def stop(self) -> None:
        """Stop it (its data goes with it)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_wrk() -> tuple[str | None, bool]:
    """wrk on the PATH, installed with apt-get when missing (said so); its version (None when it
    cannot be had) and whether this run installed it."""
    installed = False
    if not shutil.which("wrk"):
        say("wrk is missing: installing it with `apt-get install -y wrk`")
        done = subprocess.run(
            ["apt-get", "install", "-y", "wrk"], capture_output=True, text=True, check=False
        )
        if done.returncode != 0 or not shutil.which("wrk"):
            say(f"  could not install wrk ({done.stderr.strip()[-200:]}): the USSD benchmark is skipped")
            return None, False
        installed = True
    version = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False).stdout
    return version.split("\n")[0], installed


def _until(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.5)


def machine(pg_version: str, redis_version: str, wrk_version: str | None) -> dict:
    """What the figures were measured on."""
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    total_kb = next((int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal")), 0)
    cpu = ""
    if Path("/proc/cpuinfo").exists():
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(total_kb / 1024 / 1024, 1),
        "postgresql": pg_version,
        "redis": redis_version,
        "python": platform.python_version(),
        "wrk": wrk_version,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def git_revision() -> tuple[str, bool]:
    """The short commit hash and whether the working tree differs from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    return git("rev-parse", "--short", "HEAD") or "nogit", bool(
        git("status", "--porcelain", "--untracked-files=no")
    )


# --- the steps ----------------------------------------------------------------------------------


def call_main(module, argv: list[str], schemas: dict[str, str]) -> None:
    """Call `module.main()` with these arguments, its schema constants renamed for this run."""
    module_name = module.__name__
    for attribute, schema in schemas.items():
        setattr(module, attribute, schema)
    saved = sys.argv
    sys.argv = [module_name, *argv]
    try:
        module.main()
    finally:
        sys.argv = saved


@dataclass
class Run:
    """This run's names: its id, its working directory, its schemas, its data set's size."""

    id: str
    workdir: Path
    members: int

    def schema(self, step: str) -> str:
        """A PostgreSQL schema of this run's own (the id's random part keeps it short and unique)."""
        return f"bench_{self.id.rsplit('-', 1)[1]}_{step}"

    def result(self, step: str) -> Path:
        """Where a module writes its figures (removed before the step so a stale one is never read)."""
        path = self.workdir / f"{step}.json"
        path.unlink(missing_ok=True)
        return path


RUN: Run  # set by main()


def read_json(path: Path) -> dict:
    """A module's result file."""
    return json.loads(path.read_text())


def step_pin() -> dict:
    """CPU time of one PIN verification, median of 5 rounds of 40."""
    from models.pin import hash_pin, verify_pin

    stored = hash_pin("4827", "bench-secret")
    rounds = []
    for _ in range(5):
        start = time.process_time()
        for _ in range(40):
            assert verify_pin("4827", stored, "bench-secret")
        rounds.append((time.process_time() - start) / 40 * 1000)
    return {"verify_ms_cpu": round(statistics.median(rounds), 2), "rounds_ms": [round(r, 2) for r in rounds]}


def step_import(quick: bool) -> dict:
    out = RUN.result("import")
    rows = "20000" if quick else "100000"
    import bench.import_members as import_bench

    call_main(
        import_bench,
        ["--rows", rows, "--json", str(out)],
        {"SCHEMA": RUN.schema("import"), "BASE_SCHEMA": RUN.schema("import_base")},
    )
    # The module asserts that the second import created nothing and left every row unchanged.
    return {**read_json(out), "second_import_created": 0}


def step_reminders(quick: bool) -> dict:
    # Its own data set: 1 000 000 loans (6 000 000 instalments), 10 % in arrears (--quick: 100 000).
    out = RUN.result("reminders")
    argv = ["--rounds", "2" if quick else "5", "--loans", "100000" if quick else "1000000"]
    import bench.reminders as reminders_bench

    call_main(reminders_bench, argv, {"SCHEMA": RUN.schema("reminders"), "RESULT": out})
    figures = read_json(out)
    _drop_schema(RUN.schema("reminders"))
    return figures


def step_sms(quick: bool) -> dict:
    out = RUN.result("sms")
    import bench.sms as sms_bench

    call_main(
        sms_bench,
        ["--personal", "1000" if quick else "3000", "--rounds", "1" if quick else "3"],
        {"SCHEMA": RUN.schema("sms"), "RESULTS": out},
    )
    figures = read_json(out)
    _drop_schema(RUN.schema("sms"))
    return figures


def step_drain(quick: bool) -> dict:
    import bench.drain as drain

    drain.SCHEMA = RUN.schema("drain")
    try:
        figures = drain.run(personal=1000 if quick else 3000, workers=2)
    finally:
        _drop_schema(RUN.schema("drain"))
    print(json.dumps(figures))
    return figures


def step_ussd(quick: bool) -> dict:
    out = RUN.result("ussd")
    import bench.ussd.run as ussd_bench

    call_main(
        ussd_bench,
        [
            *("--seconds", "4" if quick else "10", "--rounds", "1" if quick else "3", "--connections", "64"),
            *("--cost-sessions", "50" if quick else "200", "--cost-rounds", "1" if quick else "3"),
        ],
        {"SCHEMA": RUN.schema("ussd"), "RESULT": out, "MEMBERS": RUN.members},
    )
    figures = read_json(out)
    _drop_schema(RUN.schema("ussd"))
    return figures


def step_dashboard(quick: bool) -> dict:
    out = RUN.result("dashboard")
    import bench.dashboard as dashboard_bench

    call_main(dashboard_bench, [], {"SCHEMA": RUN.schema("dataset"), "RESULT": out, "MEMBERS": RUN.members})
    figures = read_json(out)
    _drop_schema(RUN.schema("dataset"))
    return figures


def _drop_schema(schema: str) -> None:
    from sqlalchemy import create_engine, text

    from models.database import normalise_url

    engine = create_engine(normalise_url(os.environ["DATABASE_URL"]), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def drop_run_schemas() -> list[str]:
    """Drop every schema of this run that a failed step left behind; their names."""
    from sqlalchemy import create_engine, text

    from models.database import normalise_url

    prefix = RUN.schema("")
    engine = create_engine(normalise_url(os.environ["DATABASE_URL"]), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        names = (
            conn.execute(
                text("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :prefix)"),
                {"prefix": prefix},
            )
            .scalars()
            .all()
        )
        for name in names:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    engine.dispose()
    return list(names)


# One data set (200 000 members, 1 000 000 instalments, for 1 Dec 2026) loaded once for two steps.


# --- figures → rows -------------------------------------------------------------------------------


def rows_of(results: dict, errors: dict, elapsed: float) -> list[Row]:
    """Every goal, from the figures measured (a failed step says so)."""
    rows: list[Row] = []

    def failed(step: str, figure: str, goal: str) -> None:
        rows.append(Row(figure, f"error ({errors[step]})"[:40], goal, False))

    u = results.get("ussd")
    if u:
        a, b, c = (u["results"][k] for k in ("a_bare_flask", "b_io_floor", "c_hop_mix"))
        d = u["results"].get("d_session_mix")
        ratios = u.get("ratios") or {"c_over_b": c["rps"] / b["rps"]}
        void = a["rps"] < 2000
        sessions = u.get("connections", 64)
        rounds = u.get("rounds", 1)
        rows += [
            Row(
                "USSD (a) bare Flask, req/s",
                f"{a['rps']:.0f}",
                ">= 2000 (else the run is void)",
                a["rps"] >= 2000,
            ),
            Row(f"USSD (b) I/O floor, req/s (median of {rounds} interleaved rounds)", f"{b['rps']:.0f}"),
            Row(
                f"USSD (c) hop mix, hops/s at {sessions} sessions (median)",
                f"{c['rps']:.0f}",
                ">= 400",
                c["rps"] >= 400,
                void,
            ),
            Row(
                "USSD (c) / (b), median of the rounds' ratios",
                f"{ratios['c_over_b']:.2f}",
                ">= 0.70",
                ratios["c_over_b"] >= 0.7,
                void,
            ),
            Row("USSD (c) p99, ms (median)", f"{c['p99_ms']:.0f}", "<= 300", c["p99_ms"] <= 300, void),
        ]
        if "cpu_ms_per_request" in c:
            rows += [
                Row("USSD (b) floor, CPU ms per request (web workers)", f"{b['cpu_ms_per_request']:.2f}"),
                Row(
                    "USSD (c) hop mix, CPU ms per hop (web workers)",
                    f"{c['cpu_ms_per_request']:.2f}",
                    "<= 1.5 x (b)'s",
                    c["cpu_ms_per_request"] <= 1.5 * b["cpu_ms_per_request"],
                ),
            ]
        if d is not None:
            rows += [
                Row("USSD (d) whole sessions, req/s (median)", f"{d['rps']:.0f}"),
                Row(
                    "USSD (d) / (b), median of the rounds' ratios",
                    f"{ratios['d_over_b']:.2f}",
                    ">= 0.50",
                    ratios["d_over_b"] >= 0.5,
                    void,
                ),
                Row(
                    "USSD (d) whole sessions, CPU ms per request (web workers)",
                    f"{d['cpu_ms_per_request']:.2f}",
                ),
            ]
        costs = u.get("hop_costs")
        if costs:
            rows += [
                Row(
                    "USSD (d) PIN hop, CPU ms (scrypt included; one request at a time)",
                    f"{costs['cpu_ms']['PIN']:.2f}",
                ),
                Row(
                    "USSD (d) CPU ms per request of a whole session (one at a time) / floor's",
                    f"{costs['per_request_cpu_ms']:.2f} / {costs['cpu_ms']['(b) I/O floor']:.2f}",
                ),
            ]
        rows += [
            Row(
                "USSD (c), (d) failed hops (non-200, not CON, socket)",
                str(c["bad"] + c["socket_errors"] + (d["bad"] + d["socket_errors"] if d else 0)),
                "0",
                c["bad"] + c["socket_errors"] + (d["bad"] + d["socket_errors"] if d else 0) == 0,
            ),
            Row(
                "USSD Redis round trips per hop (max)",
                str(max(v["redis_round_trips"] for v in u["per_hop"].values())),
                "<= 2",
                all(v["redis_round_trips"] <= 2 for v in u["per_hop"].values()),
            ),
            Row(
                "USSD SQL statements per read-only hop (max)",
                str(max(v["sql_statements"] for v in u["per_hop"].values())),
                "<= 3",
                all(v["sql_statements"] <= 3 for v in u["per_hop"].values()),
            ),
            Row(
                "USSD Redis bytes per live session (max)",
                str(u["session_bytes"]["memory_usage_max"]),
                "<= 512",
                u["session_bytes"]["memory_usage_max"] <= 512,
            ),
        ]
    elif "ussd" in errors:
        failed("ussd", "USSD (wrk a/b/c, per hop, bytes per session)", "(c) >= 400/s, >= 0.7 x (b)")
    p = results.get("pin")
    if p:
        rows.append(
            Row("PIN verification, ms CPU", f"{p['verify_ms_cpu']:.1f}", "<= 10", p["verify_ms_cpu"] <= 10)
        )
    elif "pin" in errors:
        failed("pin", "PIN verification, ms CPU", "<= 10")
    s = results.get("sms")
    if s:
        rows += [
            Row(
                "SMS personal, SMS/s (1 request, 1 commit each)",
                f"{s['personal_sms_per_s']:.0f}",
                ">= 200",
                s["personal_sms_per_s"] >= 200,
            ),
            Row(
                f"SMS announcement to {grouped(s['announcement_members'])}, s",
                f"{s['announcement_seconds']:.2f}",
            ),
            Row("SMS announcement, requests (batched)", str(s["announcement_requests"])),
        ]
        if "orange_personal_sms_per_s" in s:
            rows.append(
                Row(
                    "SMS personal through Orange, SMS/s",
                    f"{s['orange_personal_sms_per_s']:.0f}",
                    ">= 200",
                    s["orange_personal_sms_per_s"] >= 200,
                )
            )
        for prefix, label in (("", "AT"), ("orange_", "Orange")):
            measured = s.get(f"{prefix}rate_limited_sms_per_s")
            if measured is not None:
                rate = s["sms_rate"]
                rows.append(
                    Row(
                        f"SMS at SMS_RATE={rate:g} ({label}), SMS/s",
                        f"{measured:.2f}",
                        f"{rate:g} ± 5 %",
                        abs(measured - rate) <= 0.05 * rate,
                    )
                )
    elif "sms" in errors:
        failed("sms", "SMS personal, SMS/s", ">= 200")
    d = results.get("drain")
    if d:
        rows.append(
            Row(
                f"SMS drain via {d['workers']} RQ workers, SMS/s",
                f"{d['sms_per_s']:.0f}",
                ">= 200",
                d["sms_per_s"] >= 200,
            )
        )
    elif "drain" in errors:
        failed("drain", "SMS drain via RQ workers, SMS/s", ">= 200")
    r = results.get("reminders")
    if r:
        rows += [
            Row(
                f"Reminders (a) reference INSERT…SELECT, s ({grouped(r['reminders'])} rows)",
                f"{r['a']:.3f}",
            ),
            Row(
                "Reminders (b) planning step, s",
                f"{r['b']:.3f}",
                "<= 2 x (a) and <= 1",
                r["b"] <= 2 * r["a"] and r["b"] <= 1.0,
            ),
            Row(
                "Reminders (c0) floor of (c): outbox rows + links in plain SQL, s",
                f"{r['c0']:.3f}",
            ),
            Row(
                f"Reminders (c) rendering + outbox ({grouped(r['sms'])} SMS), s",
                f"{r['c']:.3f}",
                "<= 2",
                r["c"] <= 2.0,
            ),
        ]
    elif "reminders" in errors:
        failed("reminders", "Reminders (a)/(b)/(c)", "(b) <= 2 x (a) and <= 1 s, (c) <= 2 s")
    i = results.get("import")
    if i:
        rows += [
            Row(
                f"Import {grouped(i['rows'])} members, s",
                f"{i['first_import_s']:.2f}",
                "<= 10",
                i["first_import_s"] <= 10,
            ),
            Row("Re-import of the same file: created", "0", "0", True),
            Row("Re-import of the same file, s", f"{i['second_import_s']:.2f}"),
        ]
    elif "import" in errors:
        failed("import", "Import members, s; re-import creates nothing", "<= 10; 0")
    dash = results.get("dashboard")
    if dash:
        rows += [
            Row(
                "Dashboard, one cooperative, s",
                f"{dash['one cooperative dashboard']:.3f}",
                "<= 0.3",
                dash["one cooperative dashboard"] <= 0.3,
            ),
            Row(
                "Dashboard, overview of all cooperatives, s",
                f"{dash['overall dashboard']:.2f}",
                "<= 2",
                dash["overall dashboard"] <= 2,
            ),
            Row(
                "Dashboard, overview of one region (every section scoped), s",
                f"{dash['regional overview']:.2f}",
                "<= 2",
                dash["regional overview"] <= 2,
            ),
        ]
    elif "dashboard" in errors:
        failed("dashboard", "Dashboard pages, s", "one <= 0.3, overviews <= 2")
    rows.append(Row("make bench, whole run, s", f"{elapsed:.0f}", "<= 600", elapsed <= 600))
    return rows


STEPS = {
    "pin": lambda quick: step_pin(),
    "import": step_import,
    "sms": step_sms,
    "drain": step_drain,
    "dashboard": step_dashboard,
    "reminders": step_reminders,
    "ussd": step_ussd,
}


def _stop_on_sigterm(_signum, _frame) -> None:
    raise SystemExit(143)  # run the finally blocks: the own Redis stopped, the schemas dropped


def main() -> int:
    """Start the services, run every step, print the table, write the JSON; exit 1 when a goal is missed."""
    global RUN
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and shorter runs (a smoke test)")
    parser.add_argument(
        "--members",
        type=int,
        help=f"size of the dashboard/reminders/USSD data set (default {grouped(DEFAULT_MEMBERS)}, "
        f"{grouped(QUICK_MEMBERS)} with --quick); loans are half of it, instalments 10 per loan",
    )
    parser.add_argument("--only", action="append", choices=list(STEPS), help="run only these steps")
    args = parser.parse_args()
    started = time.perf_counter()
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.chdir(ROOT)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    signal.signal(signal.SIGTERM, _stop_on_sigterm)

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_id = f"{stamp}-{secrets.token_hex(2)}"
    workdir = ROOT / "instance" / "bench" / run_id
    workdir.mkdir(parents=True, exist_ok=True)
    members = args.members or (QUICK_MEMBERS if args.quick else DEFAULT_MEMBERS)
    RUN = Run(run_id, workdir, members)

    pg_version, pg_started = ensure_postgres(os.environ["DATABASE_URL"])
    own_redis = OwnRedis(workdir)
    os.environ["REDIS_URL"] = own_redis.start()
    try:
        redis_version = own_redis.version()
        wrk_version, wrk_installed = ensure_wrk()
        return _run(
            args,
            started,
            run_id,
            workdir,
            pg_version,
            pg_started,
            own_redis,
            redis_version,
            wrk_version,
            wrk_installed,
        )
    finally:
        own_redis.stop()
        left = drop_run_schemas()
        say(f"stopped this run's redis-server (port {own_redis.port}); its keys went with it")
        if left:
            say(f"dropped the schemas a failed step left: {', '.join(left)}")


def _run(
    args,
    started,
    run_id,
    workdir,
    pg_version,
    pg_started,
    own_redis,
    redis_version,
    wrk_version,
    wrk_installed,
) -> int:
    host = machine(pg_version, redis_version, wrk_version)
    host["members"] = RUN.members
    sha, dirty = git_revision()
    RESULTS.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "bench.log"
    say(
        f"make bench {run_id} — {host['nproc']} CPUs, {host['memory_gib']} GiB, PostgreSQL {pg_version}, "
        f"Redis {redis_version}; load average {host['load_average_at_start']}; "
        f"commit {sha}{' (dirty)' if dirty else ''}"
    )
    say("services:")
    say(
        f"  PostgreSQL  {'started by this run: ' + pg_started if pg_started else 'already running'} "
        f"(schemas {RUN.schema('*')}, dropped at the end)"
    )
    say(
        f"  Redis       started by this run: redis-server pid {own_redis.process.pid} on "
        f"127.0.0.1:{own_redis.port}, stopped at the end"
    )
    wrk_state = (
        "installed by this run" if wrk_installed else "already installed" if wrk_version else "unavailable"
    )
    say(f"  wrk         {wrk_state}")
    say(f"  data set    {grouped(RUN.members)} members, {grouped(RUN.members // 2)} loans")
    say(f"each benchmark's own output: {log_path.relative_to(ROOT)}")

    results: dict[str, dict] = {}
    errors: dict[str, str] = {}
    timings: dict[str, float] = {}
    steps = args.only or list(STEPS)
    if wrk_version is None and "ussd" in steps:
        steps.remove("ussd")
        errors["ussd"] = "wrk unavailable"
    with log_path.open("w") as log:
        for name in steps:
            say(f"  {name:<10} …")
            t = time.perf_counter()
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                try:
                    results[name] = STEPS[name](args.quick)
                except (Exception, SystemExit) as exc:  # noqa: BLE001 - one failed step must not stop the rest
                    traceback.print_exc(file=log)
                    errors[name] = f"{type(exc).__name__}: {exc}"[:200]
            timings[name] = round(time.perf_counter() - t, 1)
            outcome = f"failed: {errors[name]}" if name in errors else "done"
            say(f"  {name:<10} {outcome} in {timings[name]:.0f} s")

    elapsed = time.perf_counter() - started
    rows = rows_of(results, errors, elapsed)
    host["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    # Beside the figures: on a shared machine req/s follow the load; ratios and CPU ms hold better.
    rows.append(
        Row(
            f"load average (1 min) at start / end, on {host['nproc']} CPUs",
            f"{host['load_average_at_start'][0]:.1f} / {host['load_average_at_end'][0]:.1f}",
        )
    )
    say("")
    say(table(rows))
    missed = [r.figure for r in rows if r.met is False and not r.void]
    void = [r.figure for r in rows if r.void]
    if void:
        say("\nvoid: (a) bare Flask stayed under 2 000 req/s, so the hop figures of this run do not count")
    say(f"\n{len(missed)} goal(s) not met" + (": " + "; ".join(missed) if missed else ""))
    out = RESULTS / f"{run_id}.json"
    out.write_text(
        json.dumps(
            {
                "run": run_id,
                "at": run_id.split("-")[0],
                "commit": sha,
                "dirty": dirty,
                "quick": args.quick,
                "members": RUN.members,
                "machine": host,
                "seconds": round(elapsed, 1),
                "step_seconds": timings,
                "rows": [asdict(r) | {"verdict": r.verdict} for r in rows],
                "figures": results,
                "errors": errors,
            },
            indent=2,
        )
        + "\n"
    )
    say(f"written {out.relative_to(ROOT)}")
    return 1 if missed or errors else 0


if __name__ == "__main__":
    sys.exit(main())

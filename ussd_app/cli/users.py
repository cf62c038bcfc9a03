"""`users …`: accounts of the web pages. Never prompts: the password comes from stdin or a variable."""

from __future__ import annotations

import getpass
import os
import sys

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from models import audit
from models.admin_user import AdminRole, AdminUser, create_user, find_user
from models.cooperative import Cooperative
from models.enums import Source
from models.errors import NotFound, Refused
from models.production import find_cooperative

users = AppGroup("users", help="Accounts of the coordinator web pages (/admin).")

REFUSALS = {
    "email": "not an e-mail address",
    "role": "role must be coordinator or manager",
    "manager_needs_cooperative": "a manager needs --coop NAME",
    "coordinator_has_no_cooperative": "a coordinator sees every cooperative (or --region's): drop --coop",
    "region_is_for_coordinators": "--region is for coordinators; a manager has --coop",
    "unknown_region": "no cooperative is in region {region!r} (see `cooperatives set-region`)",
    "password_too_short": "password too short (at least {minimum} characters)",
    "email_taken": "an account with this e-mail already exists",
}


def _operator() -> str:
    name = os.environ.get("MBOLO_OPERATOR", "").strip()
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "cli"
    return audit.actor_of(user=name)


def _read_password(from_stdin: bool, env_name: str | None) -> str:
    """The password from stdin (first line) or a named environment variable; never a prompt."""
    if from_stdin == bool(env_name):
        raise click.UsageError("give exactly one of --password-stdin or --password-env VAR")
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        if env_name not in os.environ:
            raise click.UsageError(f"environment variable {env_name} is not set")
        password = os.environ[env_name]
    if not password:
        raise click.UsageError("empty password")
    return password


def _fail(exc: Refused) -> None:
    message = REFUSALS.get(exc.code, exc.code).format(**exc.details)
    raise click.ClickException(message)


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in AdminRole]), required=True)
@click.option("--coop", "coop_name", help="The manager's cooperative (name or code).")
@click.option("--region", help="A coordinator of this region's cooperatives only (accents and case ignored).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--password-env", metavar="VAR", help="Read the password from this environment variable.")
def create_command(
    email: str,
    role: str,
    coop_name: str | None,
    region: str | None,
    password_stdin: bool,
    password_env: str | None,
):
    """Create a web account (coordinator: every cooperative or --region's; manager: --coop only)."""
    from ussd_app.current import runtime

    password = _read_password(password_stdin, password_env)
    rt = runtime()
    with rt.sessions() as session:
        coop = None
        if coop_name:
            try:
                coop = find_cooperative(session, coop_name)
            except NotFound as exc:
                raise click.ClickException(f"no cooperative named {coop_name!r}") from exc
        try:
            user = create_user(
                session,
                email=email,
                password=password,
                role=role,
                now=rt.clock.now(),
                cooperative=coop,
                region=region,
                actor=_operator(),
            )
        except Refused as exc:
            _fail(exc)
        session.commit()
        where = f" of {coop.name}" if coop else f" of region {user.region}" if user.region else ""
        click.echo(f"created {user.role} {user.email}{where}")


@users.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--password-env", metavar="VAR", help="Read the password from this environment variable.")
def set_password_command(email: str, password_stdin: bool, password_env: str | None):
    """Replace an account's password (its open sessions end) and clear its failed logins."""
    from werkzeug.security import generate_password_hash

    from models.admin_user import MIN_PASSWORD_LENGTH, PASSWORD_METHOD
    from ussd_app.current import runtime

    password = _read_password(password_stdin, password_env)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.ClickException(f"password too short (at least {MIN_PASSWORD_LENGTH} characters)")
    rt = runtime()
    with rt.sessions() as session:
        user = _find(session, email)
        user.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)
        user.failed_logins = 0
        audit.record(
            session,
            actor=_operator(),
            action="admin_user.password",
            target=f"user:{user.email}",
            source=Source.CLI,
            at=rt.clock.now(),
        )
        session.commit()
    click.echo(f"password changed for {user.email}")


@users.command("deactivate")
@click.argument("email")
def deactivate_command(email: str):
    """Close an account: it can no longer log in and its open sessions end."""
    from ussd_app.current import runtime

    rt = runtime()
    with rt.sessions() as session:
        user = _find(session, email)
        user.active = False
        audit.record(
            session,
            actor=_operator(),
            action="admin_user.deactivate",
            target=f"user:{user.email}",
            source=Source.CLI,
            at=rt.clock.now(),
            before={"active": True},
            after={"active": False},
        )
        session.commit()
    click.echo(f"deactivated {user.email}")


@users.command("list")
def list_command():
    """Every account: e-mail, role, cooperative, active, failed logins."""
    from ussd_app.current import runtime

    with runtime().sessions() as session:
        rows = session.execute(
            select(AdminUser, Cooperative.name)
            .outerjoin(Cooperative, Cooperative.id == AdminUser.cooperative_id)
            .order_by(AdminUser.email)
        ).all()
    for user, coop_name in rows:
        state = "active" if user.active else "inactive"
        sees = coop_name or (f"region:{user.region}" if user.region else "*")
        click.echo(f"{user.email}\t{user.role}\t{sees}\t{state}\tfailed={user.failed_logins}")


def _find(session, email: str) -> AdminUser:
    try:
        return find_user(session, email)
    except NotFound as exc:
        raise click.ClickException(f"no account {email!r}") from exc


def register(app: Flask) -> None:
    """Add the `users` group."""
    app.cli.add_command(users)

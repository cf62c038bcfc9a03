"""`flask users …`: accounts created without any prompt, passwords from stdin or a variable."""

from __future__ import annotations

from sqlalchemy import select
from werkzeug.security import check_password_hash

from models import AdminUser, AuditEvent
from tests import factories as f


def _user(db, email):
    user = db.scalar(
        select(AdminUser).where(AdminUser.email == email).execution_options(populate_existing=True)
    )
    db.commit()
    return user


def test_create_coordinator_from_an_environment_variable(runner, db):
    """--password-env reads the variable; the password is stored hashed (scrypt), the creation audited."""
    result = runner.invoke(
        args=["users", "create", "Coord@Mbolo.sn", "--role", "coordinator", "--password-env", "MBOLO_PW"],
        env={"MBOLO_PW": "a-long-enough-password"},
    )
    assert result.exit_code == 0, result.output
    assert "created coordinator coord@mbolo.sn" in result.output
    user = _user(db, "coord@mbolo.sn")
    assert user.password_hash.startswith("scrypt:")
    assert "a-long-enough-password" not in user.password_hash
    assert check_password_hash(user.password_hash, "a-long-enough-password")
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "admin_user.create"))
    assert event.target == "user:coord@mbolo.sn" and event.source == "cli"


def test_create_manager_of_a_cooperative_from_stdin(runner, db):
    """--password-stdin reads one line; --coop takes the cooperative's name or code."""
    coop = f.coop(db, "GIE Ndiambour", "NDB")
    db.commit()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "manager@mbolo.sn",
            "--role",
            "manager",
            "--coop",
            "ndb",
            "--password-stdin",
        ],
        input="another-long-password\n",
    )
    assert result.exit_code == 0, result.output
    user = _user(db, "manager@mbolo.sn")
    assert user.role == "manager" and user.cooperative_id == coop.id
    assert check_password_hash(user.password_hash, "another-long-password")


def test_refusals_are_explained_and_create_nothing(runner, db):
    """Missing or doubled password source, a manager without cooperative, a short password, a duplicate."""
    f.coop(db, "GIE Ndiambour", "NDB")
    db.commit()
    env = {"MBOLO_PW": "a-long-enough-password"}
    cases = [
        (["users", "create", "a@mbolo.sn", "--role", "coordinator"], "exactly one of"),
        (
            [
                "users",
                "create",
                "a@mbolo.sn",
                "--role",
                "coordinator",
                "--password-stdin",
                "--password-env",
                "X",
            ],
            "exactly one of",
        ),
        (
            ["users", "create", "a@mbolo.sn", "--role", "manager", "--password-env", "MBOLO_PW"],
            "needs --coop",
        ),
        (
            [
                "users",
                "create",
                "a@mbolo.sn",
                "--role",
                "coordinator",
                "--coop",
                "NDB",
                "--password-env",
                "MBOLO_PW",
            ],
            "drop --coop",
        ),
        (
            [
                "users",
                "create",
                "a@mbolo.sn",
                "--role",
                "manager",
                "--coop",
                "Nowhere",
                "--password-env",
                "MBOLO_PW",
            ],
            "no cooperative",
        ),
        (["users", "create", "a@mbolo.sn", "--role", "coordinator", "--password-env", "SHORT"], "too short"),
        (
            ["users", "create", "a@mbolo.sn", "--role", "coordinator", "--password-env", "UNSET_VAR"],
            "not set",
        ),
        (
            ["users", "create", "not-an-email", "--role", "coordinator", "--password-env", "MBOLO_PW"],
            "e-mail",
        ),
    ]
    for args, message in cases:
        result = runner.invoke(args=args, env={**env, "SHORT": "short"}, input="")
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
    assert db.scalars(select(AdminUser)).all() == []
    db.commit()
    ok = runner.invoke(
        args=["users", "create", "a@mbolo.sn", "--role", "coordinator", "--password-env", "MBOLO_PW"], env=env
    )
    assert ok.exit_code == 0
    again = runner.invoke(
        args=["users", "create", "A@mbolo.sn", "--role", "coordinator", "--password-env", "MBOLO_PW"], env=env
    )
    assert again.exit_code != 0 and "already exists" in again.output


def test_set_password_deactivate_and_list(runner, db):
    """A new password replaces the hash and clears failures; deactivation shows in the list."""
    env = {"PW1": "first-long-password", "PW2": "second-long-password"}
    runner.invoke(
        args=["users", "create", "a@mbolo.sn", "--role", "coordinator", "--password-env", "PW1"], env=env
    )
    changed = runner.invoke(args=["users", "set-password", "a@mbolo.sn", "--password-env", "PW2"], env=env)
    assert changed.exit_code == 0, changed.output
    assert check_password_hash(_user(db, "a@mbolo.sn").password_hash, "second-long-password")
    assert runner.invoke(args=["users", "deactivate", "a@mbolo.sn"]).exit_code == 0
    assert _user(db, "a@mbolo.sn").active is False
    listing = runner.invoke(args=["users", "list"]).output
    assert "a@mbolo.sn\tcoordinator\t*\tinactive" in listing
    missing = runner.invoke(args=["users", "deactivate", "nobody@mbolo.sn"])
    assert missing.exit_code != 0 and "no account" in missing.output

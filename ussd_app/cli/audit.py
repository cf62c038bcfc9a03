"""`audit log`: read the append-only audit trail (docs/design.md, "Audit trail")."""

from __future__ import annotations

import json
from datetime import date, datetime, time

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from models import Member, audit
from models.directory import find_cooperative, find_member
from models.errors import NotFound

audit_group = AppGroup("audit", help="The audit trail.")


def _member_id(session, ref: str) -> int:
    """`COOP:MEMBER_NO` (code or name) or a numeric member id."""
    if ":" in ref:
        coop, member_no = ref.rsplit(":", 1)
        return find_member(session, find_cooperative(session, coop), member_no).id
    if ref.isdigit() and session.scalar(select(Member.id).where(Member.id == int(ref))) is not None:
        return int(ref)
    raise NotFound(f"no member {ref!r}: give COOP:MEMBER_NO or a member id")


def _compact(value) -> str:
    if not value:
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


@audit_group.command("log")
@click.option("--member", "member_ref", metavar="COOP:MEMBER_NO|ID", help="Events about one member.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="From this local date on.")
@click.option("--action", help="An action (repayment.record) or a family of actions (repayment).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(0), help="0 = all.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array of objects.")
def log_command(member_ref: str | None, since, action: str | None, limit: int, as_json: bool) -> None:
    """Audit events, newest first."""
    from ussd_app.current import runtime

    rt = runtime()
    tz = rt.config.tz
    with rt.sessions() as session:
        try:
            member_id = _member_id(session, member_ref) if member_ref else None
        except NotFound as exc:
            raise click.ClickException(str(exc)) from None
        since_at = (
            datetime.combine(date(since.year, since.month, since.day), time(0, 0), tzinfo=tz)
            if since is not None
            else None
        )
        rows = audit.events(session, member_id=member_id, since=since_at, action=action, limit=limit or None)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": e.id,
                        "at": e.at.isoformat(),
                        "actor": e.actor,
                        "action": e.action,
                        "target": e.target,
                        "member_id": e.member_id,
                        "before": e.before,
                        "after": e.after,
                        "source": e.source,
                        "reason": e.reason,
                    }
                    for e in rows
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    for e in rows:
        local = e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
        change = " → ".join(part for part in (_compact(e.before), _compact(e.after)) if part)
        reason = f" reason={e.reason!r}" if e.reason else ""
        member = f" member={e.member_id}" if e.member_id is not None else ""
        click.echo(f"{local} {e.actor} {e.action} {e.target}{member} [{e.source}] {change}{reason}".rstrip())
    click.echo(f"{len(rows)} event(s)", err=True)


def register(app: Flask) -> None:
    """Add the `audit` group."""
    app.cli.add_command(audit_group)

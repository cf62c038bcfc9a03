"""`sms log`, `sms send-pending` and `sms orange-subscribe` (docs/sms.md)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from models.clock import FixedClock
from models.enums import SmsKind, SmsStatus
from models.messaging import OutboundSms
from models.phones import try_normalise

sms = AppGroup("sms", help="The SMS outbox.")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def as_json(row: OutboundSms) -> dict:
    """One outbox row in the `sms log --json` shape."""
    return {
        "id": row.id,
        "to": row.to,
        "kind": row.kind,
        "status": row.status,
        "text": row.text,
        "segments": row.segments,
        "failure_reason": row.failure_reason,
        "created_at": _iso(row.created_at),
        "language": row.language,
        "attempts": row.attempts,
        "gateway_message_id": row.gateway_message_id,
        "cost": row.cost,
        "cost_raw": row.cost_raw,
        "cooperative_id": row.cooperative_id,
        "member_id": row.member_id,
        "send_after": _iso(row.send_after),
        "sent_at": _iso(row.sent_at),
        "delivered_at": _iso(row.delivered_at),
        "delivery_approximate": row.delivery_approximate,
    }


@sms.command("log")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json_flag", is_flag=True, help="Print a JSON array.")
@click.option("--status", type=click.Choice([s.value for s in SmsStatus]))
@click.option("--to", "phone", metavar="PHONE", help="Only SMS to this number (any usual writing).")
@click.option("--kind", type=click.Choice([k.value for k in SmsKind]))
def log_command(
    limit: int, as_json_flag: bool, status: str | None, phone: str | None, kind: str | None
) -> None:
    """The outbox, newest first."""
    from ussd_app.current import runtime

    rt = runtime()
    stmt = select(OutboundSms).order_by(OutboundSms.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(OutboundSms.status == status)
    if kind:
        stmt = stmt.where(OutboundSms.kind == kind)
    if phone:
        number = try_normalise(phone, rt.config.DEFAULT_REGION)
        if number is None:
            raise click.BadParameter(f"{phone!r} is not a phone number", param_hint="--to")
        stmt = stmt.where(OutboundSms.to == number)
    with rt.sessions() as session:
        rows = session.scalars(stmt).all()
    if as_json_flag:
        click.echo(json.dumps([as_json(r) for r in rows], ensure_ascii=False, indent=2))
        return
    tz = rt.config.tz
    for row in rows:
        created = row.created_at.astimezone(tz).strftime("%d/%m/%Y %H:%M")
        reason = f" [{row.failure_reason}]" if row.failure_reason else ""
        text = row.text if len(row.text) <= 60 else row.text[:57] + "..."
        click.echo(
            f"{row.id:>7} {created} {row.to:<14} {row.kind:<9} {row.status:<9} {row.segments}s{reason} {text}"
        )
    click.echo(f"{len(rows)} SMS shown")


@sms.command("send-pending")
@click.option("--now", "now_text", metavar="ISO-8601", help="Send as of this instant (naive = Africa/Dakar).")
def send_pending_command(now_text: str | None) -> None:
    """Send what is due in the outbox now, synchronously; one summary line."""
    from sms.sender import Sender
    from ussd_app.current import runtime

    rt = runtime()
    if now_text:
        try:
            at = datetime.fromisoformat(now_text)
        except ValueError as exc:
            raise click.BadParameter(
                f"{now_text!r} is not an ISO-8601 date-time", param_hint="--now"
            ) from exc
        rt = replace(rt, clock=FixedClock(at, rt.config.tz), extras={})
    sender = Sender(rt)
    try:
        report = sender.send_due()
    finally:
        sender.close()
    counts = report.as_dict()
    keys = ("sent", "failed", "retried", "cancelled", "held", "requeued", "unknown")
    click.echo(
        ", ".join(f"{k} {counts.get(k, 0)}" for k in keys) + f" ({counts.get('requests', 0)} requests)"
    )


def _with_token(url: str, token: str) -> str:
    """The URL with `token=` added to its query when it has none (every webhook checks it)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if token and not any(name == "token" for name, _ in query):
        query.append(("token", token))
    return urlunsplit(parts._replace(query=urlencode(query)))


@sms.command("orange-subscribe")
@click.argument("url")
@click.option("--dry-run", is_flag=True, help="Show the subscription without registering it.")
def orange_subscribe_command(url: str, dry_run: bool) -> None:
    """Register URL (…/sms/delivery/orange) as the receiver of Orange's delivery receipts."""
    from sms.exceptions import SmsError
    from sms.gateways.orange import OrangeGateway
    from ussd_app.current import runtime

    rt = runtime()
    config = rt.config
    missing = [
        n
        for n in ("ORANGE_CLIENT_ID", "ORANGE_CLIENT_SECRET", "ORANGE_SENDER_ADDRESS")
        if not getattr(config, n)
    ]
    if missing:
        raise click.UsageError(f"{', '.join(missing)}: required to talk to Orange's SMS API")
    parts = urlsplit(url)
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not parts.netloc or (parts.scheme != "https" and not (parts.scheme == "http" and local)):
        # Orange posts receipts to https URLs; plain http only for a local server.
        raise click.BadParameter(f"{url!r}: expected an https:// URL", param_hint="URL")
    if not parts.path.rstrip("/").endswith("/sms/delivery/orange"):
        raise click.BadParameter(f"{url!r} must end with /sms/delivery/orange", param_hint="URL")
    notify_url = _with_token(url, config.WEBHOOK_TOKEN)
    shown = notify_url.replace(config.WEBHOOK_TOKEN, "…") if config.WEBHOOK_TOKEN else notify_url
    target = f"{config.ORANGE_API_URL or 'https://api.orange.com'} for {config.ORANGE_SENDER_ADDRESS}"
    if dry_run:
        click.echo(f"would register {shown} with {target} (dry run: nothing sent)")
        return
    gateway = OrangeGateway.from_config(config, rt.redis)
    try:
        answer = gateway.subscribe(notify_url)
    except SmsError as exc:
        raise click.ClickException(f"Orange refused the subscription: {exc}") from exc
    finally:
        gateway.close()
    resource = (answer.get("deliveryReceiptSubscription") or {}).get("resourceURL", "")
    click.echo(f"registered {shown} with {target}; subscription {resource or '(no resourceURL)'}")


def register(app: Flask) -> None:
    """Add the `sms` group."""
    app.cli.add_command(sms)

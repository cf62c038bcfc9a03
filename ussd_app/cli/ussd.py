"""`ussd dial PHONE [--url URL]`: a terminal phone, in-process or against a running server."""

from __future__ import annotations

import sys
import uuid

import click
from flask import Flask, current_app
from flask.cli import AppGroup

ussd = AppGroup("ussd", help="USSD tools.")


def _sender(url: str | None, token: str):
    """A function posting one hop and returning the reply text (`CON …` / `END …`)."""
    params = {"token": token} if token else {}
    if url:
        import requests

        endpoint = url.rstrip("/")
        if not endpoint.endswith("/ussd"):
            endpoint += "/ussd"

        def send(form: dict) -> str:
            response = requests.post(endpoint, data=form, params=params, timeout=10)
            return (
                f"HTTP {response.status_code}: {response.text}"
                if response.status_code != 200
                else response.text
            )

        return send
    client = current_app.test_client()

    def send(form: dict) -> str:
        response = client.post("/ussd", data=form, query_string=params)
        text = response.get_data(as_text=True)
        return f"HTTP {response.status_code}: {text}" if response.status_code != 200 else text

    return send


@ussd.command("dial")
@click.argument("phone")
@click.option("--url", default=None, help="Base URL of a running server (default: in-process).")
@click.option("--service-code", default="*384*123#", show_default=True)
@click.option("--token", default=None, help="Webhook token (default: WEBHOOK_TOKEN).")
def dial_command(phone: str, url: str | None, service_code: str, token: str | None) -> None:
    """Dial as PHONE: each line read from stdin is one entry; stops at END or end of input."""
    if service_code == "*384*123#" and current_app.config.get("USSD_SERVICE_CODES"):
        service_code = current_app.config["USSD_SERVICE_CODES"][0]
    send = _sender(url, token if token is not None else current_app.config.get("WEBHOOK_TOKEN", ""))
    form = {
        "sessionId": f"cli-{uuid.uuid4().hex[:16]}",
        "serviceCode": service_code,
        "phoneNumber": phone,
        "networkCode": "60801",
        "text": "",
    }
    interactive = sys.stdin.isatty()
    while True:
        reply = send(form)
        click.echo(reply[4:] if reply.startswith(("CON ", "END ")) else reply)
        if not reply.startswith("CON "):
            click.echo("-- session ended --")
            return
        if interactive:
            click.echo("> ", nl=False)
        line = sys.stdin.readline()
        if not line:
            click.echo("-- no more input --")
            return
        entry = line.strip()  # not echoed: an entry may be a PIN
        if not interactive:
            click.echo("")
        form["text"] = f"{form['text']}*{entry}" if form["text"] else entry


def register(app: Flask) -> None:
    """Add the `ussd` group."""
    app.cli.add_command(ussd)

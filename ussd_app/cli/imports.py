"""`import members|loans|products FILE`: the CSV imports from the command line.

See docs/design.md, "CSV imports".

Exit status: 0 when every row was imported; 1 when some rows failed (the good rows are still
imported and committed) or the file was refused as a whole. `--dry-run` runs the same checks
against the database inside a transaction that is rolled back: it reports exactly what an import
would do and writes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from models.csv_import import (
    ImportFileError,
    ImportResult,
    import_baselines,
    import_loans,
    import_members,
    import_products,
)
from ussd_app.cli.actor import cli_actor

imports = AppGroup("import", help="Import members, loans, products or production baselines from a CSV file.")

_FILE = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
_DRY_RUN = click.option("--dry-run", is_flag=True, help="Validate against the database; write nothing.")


class _Bar:
    """A click progress bar, opened on the first report, shown only when stdout is a terminal."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if not sys.stdout.isatty():
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def run_import(kind: str, path: Path, dry_run: bool) -> ImportResult:
    """Read the file, import it in one transaction, commit (or roll back for a dry run), report."""
    from ussd_app.current import runtime

    rt = runtime()
    data = path.read_bytes()
    now, today = rt.clock.now(), rt.clock.today()
    common = {"now": now, "actor": cli_actor(), "filename": path.name}
    limits = {"max_amount": rt.config.MAX_AMOUNT}
    bar = _Bar(f"{kind} ")
    with rt.sessions() as session:
        try:
            if kind == "members":
                result = import_members(
                    session,
                    data,
                    today=today,
                    region=rt.config.DEFAULT_REGION,
                    progress=bar,
                    **common,
                    **limits,
                )
            elif kind == "loans":
                result = import_loans(
                    session,
                    data,
                    today=today,
                    region=rt.config.DEFAULT_REGION,
                    rounding=rt.config.INSTALMENT_ROUNDING,
                    progress=bar,
                    **common,
                    **limits,
                )
            elif kind == "baselines":
                result = import_baselines(session, data, progress=bar, **common)
            else:
                result = import_products(session, data, progress=bar, **common)
        except ImportFileError as exc:
            session.rollback()
            raise click.ClickException(f"{path.name}: {exc}") from exc
        finally:
            bar.close()
        if dry_run:
            session.rollback()
        else:
            session.commit()
    _report(result, dry_run)
    return result


def _report(result: ImportResult, dry_run: bool) -> None:
    prefix = "dry run, nothing written: " if dry_run else ""
    click.echo(prefix + result.summary())
    for issue in result.failed:
        click.echo(f"  failed {issue}")
    for issue in result.warnings:
        click.echo(f"  warning {issue}")
    for note in result.notes:
        click.echo(f"  {note}")


def _exit(result: ImportResult) -> None:
    if result.failed:
        sys.exit(1)


@imports.command("members")
@_FILE
@_DRY_RUN
def members_command(file: Path, dry_run: bool) -> None:
    """Create or update members and their cooperatives (identity: cooperative + member_no)."""
    _exit(run_import("members", file, dry_run))


@imports.command("loans")
@_FILE
@_DRY_RUN
def loans_command(file: Path, dry_run: bool) -> None:
    """Create loans with their schedule and what was already repaid (idempotent on loan_ref)."""
    _exit(run_import("loans", file, dry_run))


@imports.command("products")
@_FILE
@_DRY_RUN
def products_command(file: Path, dry_run: bool) -> None:
    """Create or update the products of each cooperative."""
    _exit(run_import("products", file, dry_run))


@imports.command("baselines")
@_FILE
@_DRY_RUN
def baselines_command(file: Path, dry_run: bool) -> None:
    """Production baselines per cooperative, product and month (cooperative,product,month,baseline,target)."""
    _exit(run_import("baselines", file, dry_run))


def register(app: Flask) -> None:
    """Add the `import` group."""
    app.cli.add_command(imports)

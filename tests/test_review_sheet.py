"""The translation review sheet: written for a reviewer, filled in, applied back exactly where it changed."""

from __future__ import annotations

import csv
import difflib
import io
import shutil

import pytest

import config
from i18n import glossary as gl
from i18n import pofiles
from i18n.catalog import LOCALES
from ussd_app import review_sheet as rs
from ussd_app.cli.translations import measure_screens


@pytest.fixture(scope="module")
def screens():
    """The room of every USSD entry in Wolof, measured once on a tour of every screen."""
    return measure_screens(config.TestConfig(), "wo")


@pytest.fixture
def copies(tmp_path):
    """A copy of the catalogs and the glossary: the tests write there, never into the package."""
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES, locales)
    glossary = tmp_path / "glossary.csv"
    shutil.copy(gl.GLOSSARY, glossary)
    return locales, glossary


def _sheet(screens, copies) -> list[dict[str, str]]:
    locales, glossary = copies
    return rs.build("wo", screens, locales=locales, glossary=glossary).rows


def _csv(rows: list[dict[str, str]], language: str = "wo") -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=rs.columns(language))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def _line(rows, key: str) -> int:
    """The file line of the row for `key` (header = line 1)."""
    return next(i for i, row in enumerate(rows) if row["key"] == key) + 2


def _row(rows, key: str) -> dict[str, str]:
    return next(row for row in rows if row["key"] == key)


def _wolof(locales) -> dict[str, tuple[str, str]]:
    return {
        m.id: (m.string, pofiles.status(m))
        for p in pofiles.area_paths("wo", locales)
        for m in pofiles.entries(pofiles.load(p))
    }


def test_the_command_writes_a_bom_sheet_of_every_entry_and_term_and_prints_the_counts(
    runner, copies, tmp_path
):
    """UTF-8 with BOM; one row per Wolof entry and per glossary term; the review counts printed."""
    locales, glossary = copies
    out = tmp_path / "wo.csv"
    result = runner.invoke(
        args=[
            "i18n",
            "review-sheet",
            "wo",
            "--out",
            str(out),
            "--catalogs",
            str(locales),
            "--glossary",
            str(glossary),
        ]
    )
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    entries = _wolof(locales)
    assert len(rows) == len(entries) + len(gl.load(glossary))
    assert list(rows[0]) == rs.columns("wo")
    menu = _row(rows, "Mon prêt")
    assert (menu["area"], menu["french"], menu["english"], menu["text_wo"]) == (
        "ussd",
        "Mon prêt",
        "My loan",
        "Sama bor",
    )
    assert "3 Sama bor" in menu["context"] and menu["status"] == "needs review"
    assert int(menu["max_length"]) > len("Sama bor")
    term = _row(rows, "loan")
    assert (term["area"], term["french"], term["text_wo"], term["english"]) == (
        "glossary",
        "prêt",
        "bor",
        "loan",
    )
    pending = sum(status == "needs review" for _, status in entries.values())
    assert f"wo: {len(entries)} entries, {pending} need review" in result.output


def test_max_length_is_the_room_left_on_the_tightest_screen(screens):
    """An entry's max length plus the rest of its tightest screen is exactly 160 characters."""
    room = screens["Mon prêt"]
    assert rs.length(room.context) - rs.length("Sama bor") + room.max_length == 160


def test_an_sms_entry_may_grow_until_it_needs_more_segments_than_the_french(screens):
    """Receipts are one segment in French: the Wolof text's room ends at 160 with the longest values."""
    msgid = (
        "{coop}: {member} a payé {amount} le {day}, reçu par {treasurer}. Reçu {receipt}. "
        "Reste à payer: {outstanding}."
    )
    room = rs.sms_room(msgid, "wo")
    template = _wolof(LOCALES)[msgid][0]
    assert rs.length(room.context) - rs.length(template) + room.max_length == 160
    assert "Firnde R00015X" in room.context


def test_round_trip_changes_exactly_the_edited_rows(runner, screens, copies, tmp_path):
    """Edit a text, mark one entry and one term ok: the catalogs change there and nowhere else."""
    locales, glossary = copies
    before = _wolof(locales)
    ussd_before = (locales / "wo" / "LC_MESSAGES" / "ussd.po").read_text(encoding="utf-8")
    rows = _sheet(screens, copies)
    _row(rows, "Mon prêt").update({"text_wo": "Sama bor yi", "status": "changed"})
    _row(rows, "Langue")["status"] = "ok"
    _row(rows, "receipt")["status"] = "ok"
    sheet = tmp_path / "back.csv"
    sheet.write_bytes(_csv(rows))
    result = runner.invoke(
        args=["i18n", "apply-review", str(sheet), "--catalogs", str(locales), "--glossary", str(glossary)]
    )
    assert result.exit_code == 0, result.output
    assert "wo: 1 texts changed, 2 statuses changed" in result.output
    after = _wolof(locales)
    assert after["Mon prêt"] == ("Sama bor yi", "ok")
    assert after["Langue"] == (before["Langue"][0], "ok")
    assert {k: v for k, v in after.items() if k not in ("Mon prêt", "Langue")} == {
        k: v for k, v in before.items() if k not in ("Mon prêt", "Langue")
    }
    diff = [
        line
        for line in difflib.unified_diff(
            ussd_before.splitlines(),
            (locales / "wo" / "LC_MESSAGES" / "ussd.po").read_text(encoding="utf-8").splitlines(),
            lineterm="",
            n=0,
        )
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert sorted(diff) == sorted(
        [
            "-# needs review",
            "+# reviewed",
            '-msgstr "Sama bor"',
            '+msgstr "Sama bor yi"',
            "-# needs review",
            "+# reviewed",
        ]
    )
    assert {t.key: t.status for t in gl.load(glossary)}["receipt"] == "ok"
    again = {r["key"]: r["status"] for r in _sheet(screens, copies)}
    assert again["Mon prêt"] == again["Langue"] == again["receipt"] == "ok"
    assert again["Solde"] == "needs review"


def test_each_refusal_names_its_line_and_the_good_rows_still_apply(screens, copies):
    """Lost placeholder, not GSM-7, too long, a replaced word: refused by line; the rest applies."""
    locales, glossary = copies
    rows = _sheet(screens, copies)
    _row(rows, "Épargne: {amount}")["text_wo"] = "Sa dencukaay"
    _row(rows, "Langue")["text_wo"] = "Làkk ʃ"
    long_row = _row(rows, "Mon prêt")
    most = int(long_row["max_length"])
    long_row["text_wo"] = "Sama bor " + "x" * most
    _row(rows, "Solde")["text_wo"] = "Sa denc"
    _row(rows, "Continuer").update({"text_wo": "Wéyal ba noppi", "status": "changed"})
    _row(rows, "Changer PIN")["status"] = "done"
    review = rs.apply(_csv(rows), screens, locales=locales, glossary=glossary)
    assert review.refused == sorted(
        [
            (_line(rows, "Épargne: {amount}"), "loses the placeholder {amount}"),
            (_line(rows, "Langue"), "not GSM-7 after folding: ʃ"),
            (
                _line(rows, "Mon prêt"),
                f"{9 + most} characters, longer than its max length {most}",
            ),
            (_line(rows, "Solde"), "uses 'denc', the glossary says 'dencukaay'"),
            (_line(rows, "Changer PIN"), "status 'done': use one of needs review, ok, changed"),
        ]
    )
    assert review.changed == [_line(rows, "Continuer")]
    assert _wolof(locales)["Continuer"] == ("Wéyal ba noppi", "ok")
    assert _wolof(locales)["Mon prêt"] == ("Sama bor", "needs review")


def test_a_reviewed_glossary_word_replaces_the_old_one_for_the_rows_below(screens, copies):
    """The reviewer prefers `resi`: the glossary takes it, `firnde` becomes a variant a row may not use."""
    locales, glossary = copies
    rows = _sheet(screens, copies)
    _row(rows, "receipt").update({"text_wo": "resi", "status": "changed"})
    _row(rows, "OUI <code>")["text_wo"] = "OUI <kod> <firnde>"
    review = rs.apply(_csv(rows), screens, locales=locales, glossary=glossary)
    term = {t.key: t for t in gl.load(glossary)}["receipt"]
    assert (term.wo, term.status) == ("resi", "ok") and "firnde" in term.replaces
    assert review.refused == [(_line(rows, "OUI <code>"), "uses 'firnde', the glossary says 'resi'")]
    # Texts the reviewer left as they were are kept, and listed for the next sheet.
    assert (_line(rows, "NON <code>"), "uses 'firnde', the glossary now says 'resi'") not in review.warnings
    assert (_line(rows, "ANNULE <reçu>"), "uses 'firnde', the glossary now says 'resi'") in review.warnings


def test_dry_run_writes_nothing(runner, screens, copies, tmp_path):
    """`--dry-run` reports what would change and leaves every file as it was."""
    locales, glossary = copies
    rows = _sheet(screens, copies)
    _row(rows, "Mon prêt").update({"text_wo": "Sama bor yi", "status": "ok"})
    _row(rows, "loan")["status"] = "ok"
    sheet = tmp_path / "back.csv"
    sheet.write_bytes(_csv(rows))
    files = [*sorted(locales.rglob("*.po")), glossary]
    snapshot = {p: p.read_bytes() for p in files}
    result = runner.invoke(
        args=[
            "i18n",
            "apply-review",
            str(sheet),
            "--dry-run",
            "--catalogs",
            str(locales),
            "--glossary",
            str(glossary),
        ]
    )
    assert result.exit_code == 0, result.output
    assert "dry run, nothing written: wo: 1 texts changed, 1 statuses changed" in result.output
    assert {p: p.read_bytes() for p in files} == snapshot


def test_a_file_that_is_not_a_sheet_is_refused_whole(runner, tmp_path):
    """No text_wo or text_en column: nothing is read, exit status 1 with the reason."""
    sheet = tmp_path / "members.csv"
    sheet.write_text("cooperative,member_no,name,phone\n", encoding="utf-8")
    result = runner.invoke(args=["i18n", "apply-review", str(sheet)])
    assert result.exit_code == 1 and "no text_wo or text_en column" in result.output


def test_every_wolof_entry_fits_its_max_length(screens):
    """The shipped catalogs leave every entry within its room (screens and SMS segment counts)."""
    rows = rs.build("wo", screens).rows
    over = [
        (r["key"], rs.length(r["text_wo"]), r["max_length"])
        for r in rows
        if r["max_length"] and rs.length(r["text_wo"]) > int(r["max_length"])
    ]
    assert not over, over

"""The translation review sheet: a CSV a native speaker fills in, and its return into the catalogs.

One row per catalog entry (area = the catalog: ussd, sms, commands, …) and per glossary term
(area `glossary`). Each row shows the French and English texts, the language's text, the entry
in context (the screen or SMS rendered once with the longest realistic values), its max length
and its review status.

Max length is the room the entry has: on a USSD screen, its length plus what the tightest
screen that shows it has left under 160 characters (screens from ussd_app/tour.py); in an SMS,
its length plus what is left, with the longest values (i18n/samples.py), before the SMS needs
more segments than the French one. Lengths count as the phone does, after folding to GSM-7.

Applying: good rows apply even when others are refused (as the CSV imports do), each refusal
reported with its row number (header = 1; the spreadsheet's row, since texts hold line breaks).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from pathlib import Path

from i18n import glossary as gl
from i18n import pofiles
from i18n.catalog import LANGUAGES, LOCALES, gettext, placeholders, translate
from i18n.gsm7 import fold, segments, septets
from i18n.samples import longest_values

SCREEN = 160
REVIEWABLE = ("wo", "en")  # French is the msgid: it changes in the code, not in a sheet
STATUSES = (pofiles.NEEDS_REVIEW, "ok", "changed")
GLOSSARY_AREA = "glossary"


def columns(language: str) -> list[str]:
    """The sheet's header: the language's text column says which language the sheet is for."""
    return ["area", "key", "french", "english", f"text_{language}", "context", "max_length", "status"]


def length(text: str) -> int:
    """A text's length as the phone counts it: folded to GSM-7, in septets."""
    return septets(fold(text))


@dataclass(frozen=True)
class Room:
    """How long an entry may grow, and the screen or SMS it was measured on."""

    max_length: int
    context: str


def screen_room(renderings, language: str) -> dict[str, Room]:
    """From a tour's renderings: each msgid's room on the tightest screen that shows it."""
    rooms: dict[str, Room] = {}
    for rendering in renderings:
        slack = SCREEN - septets(rendering.text)
        for msgid in rendering.msgids:
            room = length(gettext(language, msgid)) + slack
            if msgid not in rooms or room < rooms[msgid].max_length:
                rooms[msgid] = Room(room, rendering.text)
    return rooms


def sms_room(msgid: str, language: str) -> Room:
    """An SMS entry's room: as many segments as the French one, with the longest values."""
    values = longest_values(msgid)
    french = translate("fr", msgid, **values)
    count = segments(french)
    limit = SCREEN if count == 1 else 153 * count
    rendered = translate(language, msgid, **values)
    return Room(length(gettext(language, msgid)) + limit - septets(rendered), rendered)


@dataclass
class Sheet:
    """The rows of a review sheet, as dicts keyed by `columns(language)`."""

    language: str
    rows: list[dict[str, str]] = field(default_factory=list)

    def write(self, out: Path) -> None:
        """UTF-8 with a BOM (spreadsheets then read the accents right), comma-separated."""
        with out.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns(self.language))
            writer.writeheader()
            writer.writerows(self.rows)


def build(
    language: str, screens: dict[str, Room], *, locales: Path = LOCALES, glossary: Path = gl.GLOSSARY
) -> Sheet:
    """The sheet for `language`: every catalog entry, then every glossary term."""
    sheet = Sheet(language)
    english = _texts("en", locales)
    for path in pofiles.area_paths(language, locales):
        for message in pofiles.entries(pofiles.load(path)):
            room = screens.get(message.id) or sms_room(message.id, language)
            sheet.rows.append(
                _row(
                    language,
                    area=path.stem,
                    key=message.id,
                    french=message.id,
                    english=english.get(message.id, ""),
                    text=message.string,
                    context=room.context,
                    max_length=str(room.max_length),
                    status=pofiles.status(message),
                )
            )
    for term in gl.load(glossary):
        sheet.rows.append(
            _row(
                language,
                area=GLOSSARY_AREA,
                key=term.key,
                french=term.fr,
                english=term.en,
                text=term.text(language),
                context=term.note,
                max_length="",
                status=term.status if language == "wo" else "ok",
            )
        )
    return sheet


def _row(language: str, *, text: str, **values: str) -> dict[str, str]:
    return {**values, f"text_{language}": text}


def _texts(language: str, locales: Path) -> dict[str, str]:
    return {
        m.id: m.string
        for path in pofiles.area_paths(language, locales)
        for m in pofiles.entries(pofiles.load(path))
    }


def counts(*, locales: Path = LOCALES) -> dict[str, tuple[int, int]]:
    """Per language: (entries, entries still marked `needs review`)."""
    found = {}
    for language in LANGUAGES:
        paths = pofiles.area_paths(language, locales)
        messages = [m for path in paths for m in pofiles.entries(pofiles.load(path))]
        pending = sum(pofiles.status(m) == pofiles.NEEDS_REVIEW for m in messages)
        found[language] = (len(messages), pending)
    return found


# --- the return -----------------------------------------------------------------------------------


class SheetError(ValueError):
    """A file that is not a review sheet at all (no row is read)."""


@dataclass
class Review:
    """What applying a sheet did: rows changed, rows whose status changed, refusals by file line."""

    language: str
    changed: list[int] = field(default_factory=list)
    marked: list[int] = field(default_factory=list)
    unchanged: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)  # kept texts a reviewed term now rules out

    def summary(self) -> str:
        """One line: texts changed, statuses changed, unchanged, refused."""
        return (
            f"{self.language}: {len(self.changed)} texts changed, {len(self.marked)} statuses changed, "
            f"{self.unchanged} unchanged, {len(self.refused)} refused"
        )


def read(data: bytes) -> tuple[str, list[tuple[int, dict[str, str]]]]:
    """The sheet's language and its rows with their row numbers (header = 1)."""
    text = data.decode("utf-8-sig")
    sample = text.split("\n", 1)[0]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = reader.fieldnames or []
    languages = [c.removeprefix("text_") for c in header if c.startswith("text_")]
    if len(languages) != 1 or languages[0] not in REVIEWABLE:
        raise SheetError(f"no text_wo or text_en column in the header: {header}")
    missing = set(columns(languages[0])) - set(header) - {"context", "max_length", "french", "english"}
    if missing:
        raise SheetError(f"missing columns: {', '.join(sorted(missing))}")
    # The row number a spreadsheet shows (header = 1), not the physical line: texts hold line breaks.
    rows = [
        (number, {k: (v or "").strip() for k, v in row.items() if k}) for number, row in enumerate(reader, 2)
    ]
    return languages[0], rows


def apply(
    data: bytes,
    screens: dict[str, Room],
    *,
    dry_run: bool = False,
    locales: Path = LOCALES,
    glossary: Path = gl.GLOSSARY,
) -> Review:
    """Apply the changed texts and statuses of a sheet; refuse rows that would break a text."""
    language, rows = read(data)
    review = Review(language)
    terms = gl.load(glossary)
    by_key = {t.key: i for i, t in enumerate(terms)}
    catalogs = {p.stem: (p, pofiles.load(p)) for p in pofiles.area_paths(language, locales)}
    touched: set[str] = set()
    # Glossary rows first: a catalog row is then checked against the glossary the sheet leaves.
    ordered = sorted(rows, key=lambda r: r[1].get("area") != GLOSSARY_AREA)
    for line, row in ordered:
        text, status = row.get(f"text_{language}", ""), row.get("status", "").lower()
        if status not in STATUSES:
            review.refused.append((line, f"status {status!r}: use one of {', '.join(STATUSES)}"))
            continue
        if not text:
            review.refused.append((line, "the text is empty"))
            continue
        if fold(text).count("?") != text.count("?"):
            bad = sorted({c for c in text if fold(c) == "?"})
            review.refused.append((line, f"not GSM-7 after folding: {' '.join(bad)}"))
            continue
        if row.get("area") == GLOSSARY_AREA:
            index = by_key.get(row.get("key", ""))
            if index is None:
                review.refused.append((line, f"no glossary term {row.get('key')!r}"))
                continue
            term = terms[index]
            new = _reviewed_term(term, language, text, status)
            _count(review, line, text != term.text(language), new.status != term.status)
            if new != term:
                terms[index] = new
                touched.add(GLOSSARY_AREA)
            continue
        found = catalogs.get(row.get("area", ""))
        message = found[1].get(row.get("key", "")) if found else None
        if message is None:
            review.refused.append((line, f"no entry {row.get('key')!r} in the {row.get('area')!r} catalog"))
            continue
        reason = (
            _refusal(message.id, text, language, screens, tuple(terms)) if text != message.string else None
        )
        if reason:
            review.refused.append((line, reason))
            continue
        before = (message.string, pofiles.status(message))
        message.string = text
        if language == "wo":  # English is the team's own: its entries carry no review mark
            pofiles.mark(message, reviewed=status != pofiles.NEEDS_REVIEW)
        _count(review, line, text != before[0], pofiles.status(message) != before[1])
        if (message.string, pofiles.status(message)) != before:
            touched.add(row["area"])
        if language == "wo":
            review.warnings += [
                (line, f"uses {b.found!r}, the glossary now says {b.use!r}")
                for b in gl.breaches(message.string, tuple(terms))
            ]
    review.refused.sort()
    review.warnings.sort()
    review.changed.sort()
    review.marked.sort()
    if not dry_run:
        for area in sorted(touched):
            if area == GLOSSARY_AREA:
                gl.save(terms, glossary)
            else:
                pofiles.save(*catalogs[area])
    return review


def _count(review: Review, line: int, text_changed: bool, status_changed: bool) -> None:
    if text_changed:
        review.changed.append(line)
    elif status_changed:
        review.marked.append(line)
    else:
        review.unchanged += 1


def _reviewed_term(term: gl.Term, language: str, text: str, status: str) -> gl.Term:
    """The term with the reviewer's word; a replaced Wolof word becomes one of its variants."""
    if language == "en":
        return replace(term, en=text)
    replaces = term.replaces
    if gl.plain(text) != gl.plain(term.wo) and term.wo not in replaces:
        replaces = (*replaces, term.wo)
    replaces = tuple(v for v in replaces if gl.plain(v) != gl.plain(text))
    reviewed = "ok" if status in ("ok", "changed") else pofiles.NEEDS_REVIEW
    return replace(term, wo=text, replaces=replaces, status=reviewed)


def _refusal(msgid: str, text: str, language: str, screens: dict[str, Room], terms) -> str | None:
    """Why a new text cannot go in, or None."""
    expected, given = placeholders(msgid), placeholders(text)
    if expected - given:
        return "loses the placeholder " + ", ".join("{" + n + "}" for n in sorted(expected - given))
    if given - expected:
        return "has a placeholder the program does not fill: " + ", ".join(
            "{" + n + "}" for n in sorted(given - expected)
        )
    room = screens.get(msgid) or sms_room(msgid, language)
    if length(text) > room.max_length:
        return f"{length(text)} characters, longer than its max length {room.max_length}"
    if language == "wo":
        breaches = gl.breaches(text, terms)
        if breaches:
            return "; ".join(f"uses {b.found!r}, the glossary says {b.use!r}" for b in breaches)
    return None

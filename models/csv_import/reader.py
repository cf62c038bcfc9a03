"""Reading the CSV files people export from spreadsheets (docs/design.md, "CSV imports").

UTF-8 with or without BOM, or Windows-1252 (what French Excel writes) with a warning; `,` or `;`
separator, sniffed from the header; rows numbered by their line in the file, the header being
line 1, so an operator can go straight to the bad line.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import BinaryIO

import phonenumbers

from config.settings import Config
from i18n.accents import strip_accents
from models.csv_import.result import Issue
from models.errors import MboloError
from models.phones import canonical, normalise

# Called as rows are handled: (rows done so far, rows in the file).
Progress = Callable[[int, int], None]

_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009\t")
CHUNK = 5000  # keys per IN (…) list: well under the bind-parameter limits of both backends


class ImportFileError(MboloError):
    """The file as a whole cannot be imported (unreadable, or a required column is missing)."""


@dataclass(frozen=True)
class Row:
    """One data row: its file line number and its values by column (missing optional ones = "")."""

    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        """The stripped value of a column, "" when absent."""
        return self.values.get(column, "")


@dataclass
class CsvTable:
    """A decoded file: its rows, how it was read, and what the reader noticed."""

    rows: list[Row]
    columns: list[str]
    delimiter: str
    encoding: str
    sha256: str
    warnings: list[Issue] = field(default_factory=list)
    # Rows the reader itself refused (wrong number of fields).
    failed: list[Issue] = field(default_factory=list)


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 (BOM or not), else Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        # cp1252 leaves five byte values undefined; "replace" keeps the row readable.
        return data.decode("cp1252", errors="replace"), "cp1252"


def _header_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


def sniff_delimiter(text: str) -> str:
    """`;` when the header holds more semicolons than commas, else `,`."""
    header = _header_line(text)
    return ";" if header.count(";") > header.count(",") else ","


def _column_name(raw: str) -> str:
    return re.sub(r"\s+", "_", raw.strip().strip("\ufeff").lower())


READ_CHUNK = 1 << 20  # bytes read at a time: memory stays flat whatever the file's size


class CsvStream:
    """A CSV file read a batch of rows at a time: the same rules as `read_table`, in bounded memory.

    Opening it reads the file once, in chunks, for what needs all of it (the sha256, whether it is
    UTF-8, NUL bytes, the number of lines for the progress bar) and the header; `batches()` then
    reads it again, yielding rows as they come. `data` is the file's bytes or a binary file object
    that can seek back to its start.
    """

    def __init__(self, data: bytes | BinaryIO, *, required: tuple[str, ...], optional: tuple[str, ...]):
        self.file = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
        self.warnings: list[Issue] = []
        self.sha256, self.encoding, self.lines, head = self._scan()
        if self.encoding == "cp1252":
            self.warnings.append(
                Issue(0, "the file is not UTF-8: read as Windows-1252 (cp1252); check accented names")
            )
        self.delimiter = sniff_delimiter(head)
        self.required, self.optional = required, optional
        self.columns: list[str] = []
        # The header is read (and the columns checked) before any row, so a bad file fails at once.
        self._rows = self._read()
        next(self._rows)

    def _scan(self) -> tuple[str, str, int, str]:
        digest, lines = hashlib.sha256(), 0
        utf8 = codecs.getincrementaldecoder("utf-8")()
        head = ""
        first = True
        encoding = "utf-8"
        self.file.seek(0)
        while chunk := self.file.read(READ_CHUNK):
            digest.update(chunk)
            lines += chunk.count(b"\n")
            if b"\x00" in chunk:
                raise ImportFileError(
                    "the file holds NUL bytes: save it as CSV (UTF-8), not UTF-16 or a workbook"
                )
            if first and chunk.startswith(b"\xef\xbb\xbf"):
                encoding = "utf-8-sig"
            if encoding != "cp1252":
                try:
                    text = utf8.decode(chunk)
                except UnicodeDecodeError as exc:
                    if encoding == "utf-8-sig":
                        raise ImportFileError(
                            f"the file starts with a UTF-8 mark but is not UTF-8: {exc}"
                        ) from exc
                    encoding = "cp1252"
                    text = chunk.decode("cp1252", errors="replace")
            else:
                text = chunk.decode("cp1252", errors="replace")
            if not _header_line(head):
                head += text
            first = False
        if encoding != "cp1252":
            try:
                utf8.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                if encoding == "utf-8-sig":
                    raise ImportFileError(
                        f"the file starts with a UTF-8 mark but is not UTF-8: {exc}"
                    ) from exc
                encoding = "cp1252"
        if encoding == "cp1252" and head:
            # The header may hold bytes read as UTF-8 before the file proved otherwise.
            self.file.seek(0)
            head = self.file.read(READ_CHUNK).decode("cp1252", errors="replace")
        return digest.hexdigest(), encoding, lines + 1, head.lstrip("\ufeff")

    def _read(self):
        self.file.seek(0)
        errors = "replace" if self.encoding == "cp1252" else "strict"
        text = io.TextIOWrapper(self.file, encoding=self.encoding, errors=errors, newline="")
        reader = csv.reader(text, delimiter=self.delimiter)
        header: list[str] | None = None
        line = 0
        for fields in reader:
            start, line = line + 1, reader.line_num
            if not any(value.strip() for value in fields):
                continue
            if header is None:
                header = [_column_name(name) for name in fields]
                if start != 1:
                    self.warnings.append(Issue(start, "blank lines before the header were skipped"))
                _check_columns(header, self.required, self.optional, self.warnings)
                self.columns = header
                yield None
                continue
            if len(fields) > len(header):
                # Even empty extra fields: an unquoted "12,500" shifts every later column by one.
                hint = " (an amount written with a comma? quote it or use ';' as separator)"
                yield Issue(start, f"{len(fields)} fields where the header has {len(header)}{hint}")
                continue
            yield Row(
                start, {name: value.strip() for name, value in zip(header, fields, strict=False) if name}
            )
        if header is None:
            raise ImportFileError("the file is empty: expected a header row")
        text.detach()

    def batches(self, size: int) -> Iterator[tuple[list[Row], list[Issue]]]:
        """(rows, rows the reader refused) by at most `size` lines of the file."""
        rows: list[Row] = []
        failed: list[Issue] = []
        for item in self._rows:
            (rows if isinstance(item, Row) else failed).append(item)
            if len(rows) + len(failed) >= size:
                yield rows, failed
                rows, failed = [], []
        if rows or failed:
            yield rows, failed


def read_table(data: bytes, *, required: tuple[str, ...], optional: tuple[str, ...]) -> CsvTable:
    """Decode and split a whole CSV file; raise ImportFileError when a required column is missing."""
    stream = CsvStream(data, required=required, optional=optional)
    rows: list[Row] = []
    failed: list[Issue] = []
    for batch, refused in stream.batches(CHUNK):
        rows += batch
        failed += refused
    return CsvTable(
        rows, stream.columns, stream.delimiter, stream.encoding, stream.sha256, stream.warnings, failed
    )


def _check_columns(header: list[str], required, optional, warnings: list[Issue]) -> None:
    duplicated = sorted({name for name in header if name and header.count(name) > 1})
    if duplicated:
        raise ImportFileError(f"column(s) given twice: {', '.join(duplicated)}")
    missing = [name for name in required if name not in header]
    if missing:
        raise ImportFileError(
            f"missing column(s): {', '.join(missing)} (expected {','.join(required + optional)})"
        )
    unknown = [name for name in header if name and name not in required and name not in optional]
    if unknown:
        warnings.append(Issue(1, f"column(s) ignored: {', '.join(unknown)}"))


class BadValue(ValueError):
    """A value that cannot be read; the message is the row's reason."""


def parse_date(raw: str, column: str) -> date:
    """`YYYY-MM-DD` or `DD/MM/YYYY`."""
    text = raw.strip()
    try:
        if match := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text):
            return date(int(match[3]), int(match[2]), int(match[1]))
    except ValueError as exc:
        raise BadValue(f"{column} {raw!r} is not a date ({exc})") from exc
    raise BadValue(f"{column} {raw!r} is not a date (expected YYYY-MM-DD or DD/MM/YYYY)")


def parse_amount(raw: str, column: str, limit: int = Config.MAX_AMOUNT) -> int:
    """A whole number of XOF up to `limit` (MAX_AMOUNT); digits may be grouped with spaces or dots."""
    text = raw.translate(_SPACES)
    text = re.sub(r"(?i)(f|fcfa|cfa|xof)$", "", text)
    if re.fullmatch(r"\d{1,15}", text):
        value = int(text)
    elif re.fullmatch(r"\d{1,3}(\.\d{3}){1,4}", text):
        value = int(text.replace(".", ""))
    else:
        raise BadValue(f"{column} {raw!r} is not a whole number of XOF (write 12500, 12 500 or 12.500)")
    if value > limit:
        raise BadValue(f"{column} {raw!r} is more than the largest amount accepted ({limit:,} XOF)")
    return value


def parse_count(raw: str, column: str, low: int, high: int) -> int:
    """A whole number between `low` and `high`."""
    text = raw.translate(_SPACES)
    if not re.fullmatch(r"\d+", text) or not low <= int(text) <= high:
        raise BadValue(f"{column} {raw!r} must be a whole number from {low} to {high}")
    return int(text)


@cache
def folded(text: str) -> str:
    """Lower-case ASCII, for matching words typed in a spreadsheet (Trésorière = tresoriere)."""
    return strip_accents(text.strip().casefold())


def chunks(items: list, size: int = CHUNK):
    """Successive slices of at most `size` items (one IN (…) query each)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class PhoneReader:
    """`models.phones.normalise` for a whole file: the same answers, several times faster.

    A full `phonenumbers.parse` costs ~20 µs, a quarter of a 100 000-row import. The plain digit
    forms of the region's own numbers (`771234567`, `221…`, `+221…`, `00221…`, spaces allowed)
    are checked here against phonenumbers' own metadata patterns for that region, the test
    `is_valid_number` makes; anything else goes through `normalise` itself.
    """

    def __init__(self, region: str):
        self.region = region
        self.fast = None
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if meta is None or meta.national_prefix_for_parsing or len(meta.general_desc.possible_length) != 1:
            return
        if phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(meta.country_code) != (region,):
            return
        length = meta.general_desc.possible_length[0]
        types = [
            d.national_number_pattern
            for d in (
                meta.premium_rate,
                meta.toll_free,
                meta.shared_cost,
                meta.voip,
                meta.personal_number,
                meta.pager,
                meta.uan,
                meta.voicemail,
                meta.fixed_line,
                meta.mobile,
            )
            if d is not None
            and d.national_number_pattern
            and (not d.possible_length or length in d.possible_length)
        ]
        code = str(meta.country_code)
        self.fast = (
            re.compile(rf"(?:\+{code}|00{code}|{code})?(\d{{{length}}})", re.ASCII),
            re.compile(meta.general_desc.national_number_pattern),
            re.compile("|".join(f"(?:{p})" for p in types)),
            f"+{code}",
        )

    def __call__(self, raw: str) -> str:
        """E.164, or InvalidPhone."""
        if self.fast is not None:
            form, general, typed, prefix = self.fast
            text = canonical(raw).replace(" ", "")
            match = form.fullmatch(text)
            # A leading 0 is an international prefix (00…) or a typo: leave those to phonenumbers.
            if match and (text[0] != "0" or text.startswith(prefix.replace("+", "00"))):
                national = match[1]
                if general.fullmatch(national) and typed.fullmatch(national):
                    return prefix + national
                # Not a number of any type: normalise refuses it (or knows it as a demo number).
        return normalise(raw, self.region)

"""What an import did: counts, the rows it refused (with their file line numbers) and warnings."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from models import audit
from models.enums import Source


@dataclass(frozen=True, order=True)
class Issue:
    """A problem found in the file; `line` is the file line number (the header is line 1)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class ImportResult:
    """Counts per data row: each row is created, updated, unchanged or failed (with its reason)."""

    kind: str
    sha256: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    # Side effects worth telling the operator that are not rows (cooperatives created, …).
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of_table(cls, kind: str, table) -> ImportResult:
        """The result of importing a file read whole (`reader.read_table`): its refused rows and warnings."""
        result = cls(kind, table.sha256, rows=len(table.rows) + len(table.failed))
        result.warnings.extend(table.warnings)
        result.failed.extend(table.failed)
        return result

    def fail(self, line: int, message: str) -> None:
        """Refuse one row."""
        self.failed.append(Issue(line, message))

    def warn(self, line: int, message: str) -> None:
        """Report something applied differently from the file, or not applied."""
        self.warnings.append(Issue(line, message))

    def summary(self) -> str:
        """The one summary line every long command ends with: created, updated, unchanged, failed."""
        return (
            f"created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, failed {len(self.failed)}"
        )

    def counts(self) -> dict:
        """The counts written to the import's audit event."""
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": len(self.failed),
            "warnings": len(self.warnings),
        }

    def finish(self) -> ImportResult:
        """Sort the issues by line so the report reads like the file."""
        self.failed.sort()
        self.warnings.sort()
        return self


class FirstLines:
    """The file line that first gave each row id (a member, a loan), across an import's batches.

    An array indexed by id, 4 bytes an id, rather than a dict of keys: two million members fit in
    8 MB, so a file of any size is checked for rows given twice in bounded memory.
    """

    def __init__(self):
        self.lines = array("I")

    def get(self, row_id: int) -> int:
        """The line that gave this id (0: none yet)."""
        return self.lines[row_id] if row_id < len(self.lines) else 0

    def mark(self, row_id: int, line: int) -> None:
        """`line` gave this id (the first line given is kept)."""
        if row_id >= len(self.lines):
            size = len(self.lines)
            self.lines.frombytes(bytes(4 * max(row_id + 1 - size, size // 2, 65_536)))
        if not self.lines[row_id]:
            self.lines[row_id] = line


def record_import(
    session, *, kind: str, table, result: ImportResult, filename: str, actor: str, now, **totals: int
) -> None:
    """The one audit event of an import: the file's name, sha256, encoding and counts."""
    audit.record(
        session,
        actor=actor,
        action=f"import.{kind}",
        target=f"sha256:{table.sha256[:24]}",
        source=Source.IMPORT,
        at=now,
        after={
            "file": filename,
            "sha256": table.sha256,
            "encoding": table.encoding,
            **result.counts(),
            **totals,
        },
    )

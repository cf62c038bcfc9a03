"""CSV imports as business operations over a `Session`; the CLI only reads files and commits.

See docs/design.md, "CSV imports".
"""

from models.csv_import.baselines import import_baselines
from models.csv_import.loans import import_loans
from models.csv_import.members import import_members
from models.csv_import.products import import_products
from models.csv_import.reader import ImportFileError
from models.csv_import.result import ImportResult, Issue

__all__ = [
    "ImportFileError",
    "ImportResult",
    "Issue",
    "import_baselines",
    "import_loans",
    "import_members",
    "import_products",
]

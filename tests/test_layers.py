"""The import layers: config → models, i18n → sms, menus → ussd_app → wsgi; bench, scripts on top.

Read with `ast` (tests/layers.py), so imports inside functions and `importlib.import_module`
calls count. The layers are written down in CONTRIBUTING.md, "Layers".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.layers import LAYERS, check

ROOT = Path(__file__).resolve().parent.parent


def test_nothing_imports_upward_and_no_files_import_each_other_in_a_circle():
    """The project as it is: no upward import, no circle, no import the checker cannot read."""
    assert check(ROOT) == []


def test_every_top_level_package_has_a_layer():
    """A new top-level package must be placed in a layer before it can be checked."""
    placed = {top for tier in LAYERS for top in tier}
    tops = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} | {"wsgi"}
    assert tops - {"tests"} <= placed, sorted(tops - {"tests"} - placed)


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    for package in ("config", "models", "sms", "ussd_app"):
        (tmp_path / package).mkdir(exist_ok=True)
        (tmp_path / package / "__init__.py").touch()
    return tmp_path


def test_a_planted_upward_import_fails(tmp_path):
    """models importing ussd_app, even from inside a function, is reported with its line."""
    root = _tree(
        tmp_path,
        {
            "models/ledger.py": "def post():\n    from ussd_app.views import page\n    return page\n",
            "ussd_app/views.py": "from models.ledger import post\n\npage = post\n",
        },
    )
    problems = check(root)
    assert any(
        "models/ledger.py:2: models.ledger imports ussd_app.views, a layer above" in p for p in problems
    )


@pytest.mark.parametrize(
    "hidden",
    [
        "from sms import jobs\n",
        "def later():\n    from sms.jobs import enqueue\n",
        "import importlib\n\ndef later():\n    return importlib.import_module('sms.jobs')\n",
    ],
    ids=["module level", "inside a function", "importlib"],
)
def test_a_planted_circle_fails_however_the_import_is_written(tmp_path, hidden):
    """jobs → sender → outbox → jobs: the circle is reported, the function-level import included."""
    root = _tree(
        tmp_path,
        {
            "sms/jobs.py": "from sms.sender import send\n",
            "sms/sender.py": "from sms.outbox import queue\n",
            "sms/outbox.py": hidden,
        },
    )
    assert check(root) == [
        "circle among sms.jobs, sms.outbox, sms.sender: sms.jobs → sms.sender → sms.outbox → sms.jobs"
    ]


def test_an_import_with_a_computed_name_fails(tmp_path):
    """An optional loader (`import_module(name)`) hides what it imports: it is reported."""
    root = _tree(
        tmp_path, {"ussd_app/loader.py": "import importlib\n\nfor n in []:\n    importlib.import_module(n)\n"}
    )
    [problem] = check(root)
    assert "ussd_app/loader.py:4: importlib.import_module with a computed name" in problem


def test_a_relative_import_counts(tmp_path):
    """`from . import x` is resolved against its package."""
    root = _tree(tmp_path, {"models/a.py": "from . import b\n", "models/b.py": "from .a import thing\n"})
    assert check(root) == ["circle among models.a, models.b: models.a → models.b → models.a"]

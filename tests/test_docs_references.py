"""Code and docs point at documents that exist: every `docs/NAME.md, "Heading"` in the code names a
heading of that file, and every relative Markdown link in README.md, CONTRIBUTING.md and docs/ resolves."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE = ("config", "models", "i18n", "sms", "menus", "ussd_app", "bench", "scripts", "tests")
# `docs/design.md, "Sending"` or `docs/design.md ("Sending")`, possibly across a line break.
REFERENCE = re.compile(r'docs/([\w.-]+\.md)\s*(?:,|\()\s*"([^"]+)"')
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def headings(path: Path) -> set[str]:
    """The Markdown headings of a file, without their #s."""
    return {line.lstrip("#").strip() for line in path.read_text().splitlines() if line.startswith("#")}


def _python_files():
    for folder in CODE:
        yield from (ROOT / folder).rglob("*.py")
    yield ROOT / "wsgi.py"


def test_every_docs_reference_in_the_code_names_an_existing_heading():
    """A comment that says `docs/design.md, "Sending"` points at a real section."""
    broken = []
    for path in _python_files():
        if path.name == Path(__file__).name:
            continue  # its own examples
        text = " ".join(path.read_text().split())  # references may wrap across lines
        for name, heading in REFERENCE.findall(text):
            doc = ROOT / "docs" / name
            if not doc.exists() or heading not in headings(doc):
                broken.append(f"{path.relative_to(ROOT)}: docs/{name}, {heading!r}")
    assert not broken, "\n".join(sorted(set(broken)))


def test_the_reference_pattern_finds_what_it_should():
    """The checker is not vacuous: it reads both spellings and sees a missing heading."""
    found = REFERENCE.findall('see docs/design.md, "Sending" and docs/sms.md ("Nope")')
    assert found == [("design.md", "Sending"), ("sms.md", "Nope")]
    assert "Nope" not in headings(ROOT / "docs" / "sms.md")


def test_every_relative_markdown_link_resolves():
    """README, CONTRIBUTING and docs/ link only to files that exist."""
    broken = []
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in LINK.findall(page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} → {target}")
    assert not broken, "\n".join(broken)

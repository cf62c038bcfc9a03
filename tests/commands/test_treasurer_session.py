"""docs/treasurer-sms.md shows a treasurer's hurried session as the service answers it, in fr and wo.

The transcripts in the doc are produced by this test running the real commands; the test fails when
the doc and the code disagree. `MBOLO_UPDATE_DOCS=1 pytest tests/commands/test_treasurer_session.py`
rewrites the blocks between the `<!-- session:LANG -->` markers.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import update

from models import Member, RepaymentDeclaration
from sms.declarations import declare_repayment
from tests.commands.conftest import PRESIDENT, TREASURER

DOC = Path(__file__).resolve().parents[2] / "docs" / "treasurer-sms.md"

# (seconds after the previous SMS, text) — a collection meeting: a double send, a dropped "000",
# a deposit, a declaration answered without its code at hand, a cancel without the receipt at hand.
SESSIONS = {
    "fr": (
        TREASURER,
        [
            (0, "Paye 77-123-45-67 5.000F"),
            (40, "Paye 77-123-45-67 5.000F"),
            (60, "PAY 77 123 45 67 5"),
            (60, "Dépôt m13 2 000 frs"),
            (60, "OUI"),
            (30, "OUI {code}"),
            (60, "ANNULE"),
            (30, "solde M12"),
        ],
    ),
    "wo": (
        PRESIDENT,
        [
            (0, "Fey 77-123-45-67 5.000F"),
            (40, "Fey 77-123-45-67 5.000F"),
            (60, "FEY 77 123 45 67 5"),
            (60, "dugal m13 2 000 frs"),
            (60, "waaw"),
            (30, "waaw {code}"),
            (60, "neenal"),
            (30, "solde M12"),
        ],
    ),
}


def transcript(language, coop, sms, outbox, clock, runtime, db) -> str:
    """Run the session; each SMS sent and the replies the sender received for it, as Markdown."""
    sender, steps = SESSIONS[language]
    with runtime.sessions() as session:
        declare_repayment(
            session,
            member=session.get(Member, coop.awa),
            amount=2_000,
            now=clock.now(),
            config=runtime.config,
        )
        session.commit()
    # The code is drawn at random; the page shows a fixed one.
    db.execute(update(RepaymentDeclaration).values(code="4821"))
    db.commit()
    code = "4821"
    lines = []
    for seconds, text in steps:
        clock.advance(seconds=seconds)
        before = len(outbox(to=sender))
        message = text.format(code=code)
        sms(message, sender)
        answers = [row.text for row in outbox(to=sender)[before:]]
        lines.append(f"> **{message}**")
        lines += [f"> → {answer}" for answer in answers]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


@pytest.mark.parametrize("language", sorted(SESSIONS))
def test_the_doc_shows_the_session_as_the_service_answers_it(language, coop, sms, outbox, clock, runtime, db):
    """The transcript in docs/treasurer-sms.md is what the code answers today."""
    produced = transcript(language, coop, sms, outbox, clock, runtime, db)
    marker = re.compile(rf"(<!-- session:{language} -->\n)(.*?)(<!-- /session:{language} -->)", re.S)
    doc = DOC.read_text(encoding="utf-8")
    if os.environ.get("MBOLO_UPDATE_DOCS") == "1":
        doc = marker.sub(lambda m: m[1] + "\n" + produced + "\n" + m[3], doc)
        DOC.write_text(doc, encoding="utf-8")
    found = marker.search(doc)
    assert found, f"no session:{language} block in {DOC}"
    assert found[2].strip() == produced.strip()

"""Every USSD screen, for a member with nothing (no loan, no savings, no products), reads whole.

The graph test explores the screens with the most data (long names, millions of F) and checks the
same marks; this walk covers the empty side: "0 F", no next instalment, an empty product list.
"""

from __future__ import annotations

import pytest

from menus.registry import REGISTRY
from models.pin import hash_pin
from tests import factories as f
from tests.holes import holes
from ussd_app.engine import MAIN
from ussd_app.tour import PIN, Line, _candidates, _restore_member, identity_of

LANGUAGES = ("fr", "wo", "en")


@pytest.fixture
def empty(db):
    """A member with a PIN and nothing else, in a cooperative without products."""
    coop = f.coop(db, name="GIE Vide", code="V")
    member = f.member(db, coop, name="Awa", phone="+221770001234")
    member.pin_hash = hash_pin(PIN, "test-pin-secret")
    db.commit()
    return member


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_screen_of_a_member_with_nothing_reads_whole(runtime, db, empty, language):
    """Explore every screen reachable after the PIN, hints included: no empty placeholder anywhere."""
    pin_hash = empty.pin_hash
    _restore_member(runtime, empty, language)
    empty.pin_hash = pin_hash
    line = Line(runtime, empty.phone)
    line.dial()
    first = line.press(PIN)
    assert line.state == MAIN, first.text
    found = [(MAIN, first.text)] if holes(first.text) else []
    seen = {MAIN}
    queue = [line.snapshot()]
    while queue:
        snap = queue.pop(0)
        line.restore(snap)
        for entry in _candidates(line.state):
            line.restore(snap)
            reply = line.press(entry)
            state = line.record().state
            if holes(reply.text):
                found.append((state, reply.text))
            _restore_member(runtime, empty, language)
            if state not in seen:
                seen.add(state)
                if not reply.end:
                    queue.append(line.snapshot())
    identity = identity_of(empty)
    identity.language = language
    for name in sorted(set(REGISTRY.screens) - seen):
        if name.startswith(("production_", "loan_detail", "loan_list", "declare_")):
            continue  # they need a product or a loan, which this member does not have
        line.jump(name, identity)
        text = line.press("7").text
        if holes(text):
            found.append((name, text))
    assert not found, found

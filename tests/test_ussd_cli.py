"""`flask ussd dial PHONE`: a terminal phone reading entries from stdin (piped input works)."""

from __future__ import annotations

from tests import factories as f
from tests.phone import give_pin


def test_dial_in_process_with_piped_entries(runner, db):
    """PIN then balance then 00 then 6 … until the input ends; every screen is printed."""
    member = f.member(db, f.coop(db), phone="+221771234567", savings=2_500)
    give_pin(db, member, "4827", "test-pin-secret")
    result = runner.invoke(args=["ussd", "dial", "77 123 45 67"], input="4827\n1\n")
    assert result.exit_code == 0, result.output
    assert "Mbolo. Entrez votre code PIN:" in result.output
    assert "Mbolo - Menu" in result.output
    assert "Épargne: 2 500 F" in result.output
    assert result.output.rstrip().endswith("-- no more input --")
    assert "4827" not in result.output  # entries are not echoed: one may be a PIN


def test_dial_stops_at_end(runner, db):
    """An END screen closes the session."""
    result = runner.invoke(args=["ussd", "dial", "+221770000000"], input="1\n")
    assert result.exit_code == 0
    assert "n'est pas inscrit" in result.output
    assert "-- session ended --" in result.output

"""The command registry: every command and alias has its parser row, its example, its AIDE line."""

from __future__ import annotations

import re
from datetime import date

import pytest

from i18n.catalog import LANGUAGES
from sms.commands import texts as T
from sms.commands.messenger import render, text
from sms.commands.parser import fold, parse
from sms.commands.registry import COMMANDS
from sms.commands.spec import Command, CommandSpec, Registry, RegistryError, Shape, Who
from tests.commands.test_parser import GOOD

TODAY = date(2026, 12, 5)


def _first_word(sms: str) -> str:
    """The alias a table row is written with (`oui1234` → OUI)."""
    words = fold(sms).split()
    return re.match(r"[A-Z]*", re.sub(r"^[^A-Z0-9]+", "", words[0]))[0] if words else ""


@pytest.mark.parametrize("spec", list(COMMANDS), ids=lambda spec: spec.keyword)
def test_every_command_and_alias_has_a_row_in_the_parser_table(spec):
    """Adding a keyword or a synonym without its row in test_parser.GOOD fails here."""
    rows = [(sms, expected) for sms, expected in GOOD if expected.keyword == spec.keyword]
    assert rows, f"no row reads as {spec.keyword} in tests/commands/test_parser.py GOOD"
    written = {_first_word(sms) for sms, _ in rows}
    missing = [alias for alias in spec.aliases if alias not in written]
    assert not missing, f"{spec.keyword}: no GOOD row written with {missing}"


@pytest.mark.parametrize("spec", list(COMMANDS), ids=lambda spec: spec.keyword)
def test_every_example_reads_as_its_own_command(spec):
    """The example given after a syntax error is itself a well-formed command."""
    result = parse(spec.example, TODAY)
    assert isinstance(result, Command) and result.keyword == spec.keyword


def _help(who: str, language: str) -> str:
    msgid = T.HELP_RECORDER if who == "recorder" else T.HELP_MEMBER
    return render(language, text(msgid, coop="NDB", ussd="*384*123#"))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("spec", [s for s in COMMANDS if s.keyword != "AIDE"], ids=lambda s: s.keyword)
def test_every_command_has_a_line_in_aide_for_those_who_may_use_it(spec, language):
    """AIDE names every command to each sender allowed to use it, in every language."""
    readers = ["recorder"] if spec.who == Who.RECORDER else ["recorder", "member"]
    for reader in readers:
        words = set(re.findall(r"[A-Z]+", _help(reader, language)))
        assert spec.keyword in words, f"AIDE for a {reader} in {language} does not name {spec.keyword}"


def _spec(keyword="ZZ", **kw) -> CommandSpec:
    values = {"syntax": keyword, "example": keyword, "handler": lambda req, cmd: None, **kw}
    return CommandSpec(keyword, **values)


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([_spec("ZZ"), _spec("ZZ")], "declared twice"),
        ([_spec("ZZ", fr=("YY",)), _spec("XX", en=("YY",))], "alias YY already reads as ZZ"),
        ([_spec("ZZ", wo=("ZZ",))], "alias ZZ already reads as ZZ"),
        ([_spec("ZZ", fr=("ARRÊT",))], "not ASCII capitals"),
        ([_spec("ZZ", fr=("Z1",))], "not ASCII capitals"),
        ([_spec("ZZ", syntax="")], "no syntax"),
        ([_spec("ZZ", example="")], "no example"),
        ([_spec("ZZ", example="PAY M12 5000")], "no example"),
        ([_spec("ZZ", handler=None)], "no handler"),
    ],
)
def test_a_contradictory_or_incomplete_spec_fails_when_the_registry_is_built(specs, message):
    """What the module-level registry would meet at import: each mistake is named."""
    with pytest.raises(RegistryError, match=message):
        Registry(specs)


def test_every_command_with_arguments_has_a_translated_syntax_line():
    """A syntax line is a msgid of the catalogs: a new command's line must be added to them."""
    from i18n.catalog import catalog

    for spec in COMMANDS:
        if spec.shape.takes_arguments:
            for language in ("en", "wo"):
                assert catalog(language).get(spec.syntax), f"{language} lacks {spec.syntax!r}"


def test_shape_of_a_keyword_alone():
    """AIDE, STOP and START take no arguments; a member or a code is an argument."""
    assert not Shape().takes_arguments
    assert Shape(member=True).takes_arguments and Shape(code="receipt").takes_arguments

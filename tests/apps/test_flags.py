"""Flags derived from argument dataclasses (chaoscontrol.apps.flags) and the help of every subcommand."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
import tyro

from chaoscontrol.apps import cli
from chaoscontrol.apps.flags import NUMBER_LIST, REQUIRED, Flag, field_docs, flags_of, plain_text

COLOURS = ("red", "green")


@dataclass(frozen=True)
class Example:
    """A dataclass with one field of each form."""

    out: str = "runs/x"
    """Output folder."""
    n_items: int = 3
    """Number of items (:class:`~some.module.Thing`)."""
    colour: Literal["red", "green"] = "red"
    """One of :data:`COLOURS`."""
    levels: tuple[float, ...] = (0.0, 0.5)
    """Levels, ``comma``-separated."""
    options: dict[str, Any] = field(default_factory=dict)
    """Keywords."""
    specs: tuple[str, ...] = ()
    """Specs (repeatable)."""
    progress: bool = True
    """Show a bar."""

    def __post_init__(self) -> None:
        if self.n_items < 1:
            raise ValueError(f"n_items must be >= 1, got {self.n_items}")


@dataclass(frozen=True)
class Extra:
    resume: bool = False
    """Continue."""


FORMS = {"n_items": Flag(name="items"), "levels": NUMBER_LIST, "specs": Flag(name="spec", repeat=True), "out": REQUIRED}
Flags = flags_of(Example, Extra, forms=FORMS, name="example")


def parse(*argv: str):
    return tyro.cli(Flags, args=list(argv), prog="example")


def test_defaults_names_and_forms():
    line = parse("--out", "o")
    assert line.build(Example) == Example(out="o")
    assert line.build(Extra) == Extra()
    line = parse("--out", "o", "--items", "5", "--colour", "green", "--levels", "0,0.1,1", "--options", '{"a": [1, 2]}',
                 "--spec", "x:1", "--spec", "y", "--no-progress", "--resume")
    assert line.build(Example) == Example(out="o", n_items=5, colour="green", levels=(0.0, 0.1, 1.0), options={"a": [1, 2]},
                                          specs=("x:1", "y"), progress=False)
    assert line.build(Extra).resume is True
    assert line.keywords(Extra) == {"resume": True}


def test_checks_run_when_built_not_when_parsed():
    line = parse("--out", "o", "--items", "0")
    with pytest.raises(ValueError, match="n_items"):
        line.build(Example)
    for argv, flag in ((("--options", "{bad"), "--options"), (("--options", "[1]"), "--options"), (("--levels", "0,x"), "--levels")):
        line = parse("--out", "o", *argv)
        with pytest.raises(ValueError, match=flag):
            line.build(Example)


@pytest.mark.parametrize("argv", [("--items", "many"), ("--colour", "blue"), ()])
def test_type_errors_choices_and_missing_flags_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as info:
        parse(*(("--out", "o") if argv else ()), *argv)
    assert info.value.code == 2
    assert (argv[0] if argv else "--out") in capsys.readouterr().err


def test_help_is_the_field_docstrings(capsys):
    with pytest.raises(SystemExit) as info:
        parse("--help")
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for words in ("Output folder.", "Number of items (Thing).", "One of red, green.", "Levels, comma-separated.",
                  "(default: 0,0.5)", "--no-progress", "--items", "--spec", "(required)", "Continue."):
        assert words in text, words


def test_a_field_twice_or_a_form_of_no_field_is_refused():
    with pytest.raises(TypeError, match="out"):
        flags_of(Example, Example)
    with pytest.raises(TypeError, match="nothing"):
        flags_of(Example, forms={"nothing": REQUIRED})


def test_field_docs_and_plain_text():
    assert field_docs(Extra) == {"resume": "Continue."}
    assert plain_text("A ``b`` :func:`c.d` :class:`~e.F`\n   g.") == "A b c.d F g."


@pytest.mark.parametrize("words", list(cli.COMMANDS))
def test_every_subcommand_has_help_from_its_dataclasses(words, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([*words.split(), "--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert cli.COMMANDS[words][0] in text
    flags = cli.COMMANDS[words][1]().flags
    documented = [name for name in flags.names if name != "progress"]
    assert documented and all(f"--{flags.names[name]}" in text or flags.forms.get(name, Flag()).positional for name in documented)


def test_overview_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for word in ("simulate", "robustness", "train", "evaluate", "demo", "dataset", "surrogate"):
        assert word in out
    with pytest.raises(SystemExit) as info:
        cli.main(["surrogate"])
    assert info.value.code == 2

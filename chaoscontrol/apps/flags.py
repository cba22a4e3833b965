"""Command-line flags derived from argument dataclasses, parsed with tyro.

Every field of an argument dataclass is a flag: its name (``t_end`` is ``--t-end``), its type, its default and
its docstring (the help) are the dataclass's, so a new field is a new flag with no other edit. A boolean field is
a pair (``--progress`` / ``--no-progress``), a fixed-length tuple takes that many values, a ``Literal`` lists its
choices. A :class:`Flag` describes the few flags whose form is not tyro's: another name, a JSON object (every
``dict`` field is one), comma-separated numbers, a repeatable flag, a required or positional one.

:func:`flags_of` makes one frozen dataclass of the flags of one command (a subclass of :class:`ParsedFlags`),
which ``tyro.cli`` parses. The parsed flags are plain values; the argument objects are built from them only by
:meth:`ParsedFlags.build`, after parsing, so that their checks (and a flag's text that does not parse) raise the
``ValueError`` that the command turns into one error line, while a value of the wrong type (``--steps many``)
is tyro's usage error.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import re
import textwrap
import types
import typing
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, TypeVar

import tyro

from chaoscontrol.validation import parse_json_object

T = TypeVar("T")


@dataclass(frozen=True)
class Flag:
    """How one field is written on the command line, where tyro's form does not fit."""

    name: str | None = None
    """The flag's name (without ``--``, words joined by ``-`` or ``_``) when it is not the field's."""
    parse: Callable[[str, Any], Any] | None = None
    """``parse(flag, given)`` turns what was given (one string; a tuple of strings for a ``repeat`` flag) into the
    field's value; its ``ValueError`` names ``flag``. A flag that is not given keeps the field's default."""
    show: Callable[[Any], str] = str
    """How the default of a ``parse`` flag is shown in the help."""
    repeat: bool = False
    """Repeatable (``--wrap a --wrap b``); the values are collected in a tuple."""
    required: bool = False
    """No default on the command line: the flag must be given."""
    positional: bool = False
    """Given without a flag name, by position."""
    metavar: str | None = None
    """The placeholder of the value in the help."""


def json_object(flag: str, text: str) -> dict[str, Any]:
    """A JSON object of keywords (plain values; ``""`` is ``{}``), with a clear error naming ``flag``.

    :param flag: the flag, for the error message.
    :param text: the flag's text.
    """
    return parse_json_object(flag, text) if text else {}


def comma_separated_numbers(flag: str, text: str) -> tuple[float, ...]:
    """``'0,0.01,0.1'`` is ``(0.0, 0.01, 0.1)``, with a clear error naming ``flag``.

    :param flag: the flag, for the error message.
    :param text: the flag's text.
    """
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError as exc:
        raise ValueError(f"{flag} must be comma-separated numbers, got {text!r}") from exc


#: A JSON object: the form of every ``dict`` field unless its :class:`Flag` says otherwise.
JSON_OBJECT = Flag(parse=json_object, show=json.dumps, metavar="JSON")
#: Numbers given as one comma-separated word (``--levels 0,0.1,0.5``).
NUMBER_LIST = Flag(parse=comma_separated_numbers, show=lambda v: ",".join(f"{x:g}" for x in v), metavar="X,Y,...")
#: A flag that must be given.
REQUIRED = Flag(required=True)


class ParsedFlags:
    """The flags of one command as parsed: the base of the dataclasses made by :func:`flags_of`."""

    #: The dataclass each flag's field belongs to, by field name.
    sources: ClassVar[dict[str, type]]
    #: The :class:`Flag` of each field that has one, by field name.
    forms: ClassVar[dict[str, Flag]]
    #: The command line's name of each field, by field name.
    names: ClassVar[dict[str, str]]

    def keywords(self, source: type) -> dict[str, Any]:
        """The keywords of ``source`` on this command line: its fields as given or defaulted, parsed.

        :param source: one of the dataclasses the flags were made of.
        :raises ValueError: a flag's text that does not parse, naming the flag.
        """
        if source not in self.sources.values():
            raise TypeError(f"{type(self).__name__} has no fields of {source.__name__}")
        kwargs = {}
        for name, owner in self.sources.items():
            if owner is not source:
                continue
            value = getattr(self, name)
            form = self.forms.get(name)
            if form is not None and form.parse is not None:
                if value is None or value == ():
                    continue  # not given: the dataclass's default
                value = form.parse(f"--{self.names[name]}", value)
            kwargs[name] = value
        return kwargs

    def build(self, source: type[T], **more: Any) -> T:
        """``source`` of this command line's keywords (and ``more``), with its checks.

        :param source: one of the dataclasses the flags were made of.
        :param more: keywords that are not flags.
        """
        return source(**self.keywords(source), **more)


def flags_of(*sources: type, forms: Mapping[str, Flag] | None = None, exclude: Collection[str] = (),
             name: str = "Flags") -> type[ParsedFlags]:
    """The flags of the fields of ``sources`` (dataclasses), as one frozen dataclass that ``tyro.cli`` parses.

    :param sources: the argument dataclasses; a field name may occur in only one of them.
    :param forms: the :class:`Flag` of fields whose form is not tyro's, by field name.
    :param exclude: fields that are no flags (they keep their defaults, or are given to ``build``).
    :param name: the name of the class (for messages).
    :raises TypeError: a field in two sources, or a form or exclusion of no field.
    """
    forms = dict(forms or {})
    owners: dict[str, type] = {}
    specs: list[tuple[str, Any, dataclasses.Field]] = []
    used: dict[str, Flag] = {}
    names: dict[str, str] = {}
    for source in sources:
        hints = typing.get_type_hints(source)
        docs = field_docs(source)
        for f in dataclasses.fields(source):
            if not f.init or f.name in exclude:
                continue
            if f.name in owners:
                raise TypeError(f"field {f.name!r} is in both {owners[f.name].__name__} and {source.__name__}")
            owners[f.name] = source
            form = forms.get(f.name) or (JSON_OBJECT if _is_dict(hints[f.name]) else None)
            if form is not None:
                used[f.name] = form
            names[f.name] = (form.name if form and form.name else f.name).replace("_", "-")
            specs.append((f.name, *_field(f, hints[f.name], form, docs.get(f.name))))
    unknown = (set(forms) | set(exclude)) - {f.name for source in sources for f in dataclasses.fields(source)}
    if unknown:
        raise TypeError(f"forms or exclusions of no field: {sorted(unknown)}")
    return dataclasses.make_dataclass(
        name, specs, bases=(ParsedFlags,), frozen=True, kw_only=True,
        namespace={"sources": owners, "forms": used, "names": names, "__doc__": f"The flags of {name}."},
    )


def _field(f: dataclasses.Field, hint: Any, form: Flag | None, doc: str | None) -> tuple[Any, dataclasses.Field]:
    """(annotation, field) of the flag of ``f``: its type as tyro parses it and its default on the command line."""
    if f.default is not dataclasses.MISSING:
        default = f.default
    elif f.default_factory is not dataclasses.MISSING:
        default = f.default_factory()
    else:
        default = dataclasses.MISSING
    form = form or Flag()
    arg: dict[str, Any] = {"help": doc or ""}
    if form.name:
        arg["name"] = form.name
    if form.metavar:
        arg["metavar"] = form.metavar
    markers: list[Any] = []
    cli_type, cli_default = hint, default
    if form.repeat:
        cli_type = tuple[str, ...]
        markers.append(tyro.conf.UseAppendAction)
        cli_default = default if form.parse is None and isinstance(default, tuple) else ()
    elif form.parse is not None:
        cli_type, cli_default = str | None, None  # None: not given, the dataclass's default
        if default is not dataclasses.MISSING and default is not None:
            arg["help_behavior_hint"] = f"(default: {form.show(default)})"
    if form.positional:
        markers.append(tyro.conf.Positional)
    if form.required or default is dataclasses.MISSING:
        cli_default = dataclasses.MISSING
        if form.parse is not None and not form.repeat:
            cli_type = str
    annotation = Annotated[(cli_type, tyro.conf.arg(**arg), *markers)]
    if cli_default is dataclasses.MISSING:
        return annotation, dataclasses.field()
    return annotation, dataclasses.field(default=cli_default)


def _is_dict(hint: Any) -> bool:
    """Whether ``hint`` is a dict type, or an optional one."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(_is_dict(h) for h in typing.get_args(hint) if h is not type(None))
    return hint is dict or typing.get_origin(hint) is dict


def field_docs(cls: type) -> dict[str, str]:
    """The docstrings of the fields of dataclass ``cls`` (the string under each field), as one-line help texts.

    :param cls: a dataclass defined in a source file (base classes' fields included).
    """
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for stmt, after in zip(body, body[1:]):
            if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and isinstance(after, ast.Expr)
                    and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str)):
                docs[stmt.target.id] = plain_text(after.value.value, vars(inspect.getmodule(klass) or object))
    return docs


def plain_text(doc: str, namespace: Mapping[str, Any] | None = None) -> str:
    """A docstring as one line of help: reStructuredText roles and literals as plain words.

    :param doc: the docstring.
    :param namespace: where a ``:data:`NAME``` that is a tuple of strings is looked up, to show its values.
    """
    text = " ".join(doc.split())

    def values(match: re.Match) -> str:
        value = (namespace or {}).get(match.group(1))
        is_words = isinstance(value, tuple) and all(isinstance(v, str) for v in value)
        return ", ".join(value) if is_words else match.group(0)

    text = re.sub(r":data:`~?(\w+)`", values, text)
    text = re.sub(r":[a-z]+:`~[\w.]*?(\w+)`", r"\1", text)  # :class:`~a.b.C` -> C
    text = re.sub(r":[a-z]+:`([^`]+)`", r"\1", text)  # :mod:`a.b` -> a.b
    return text.replace("``", "")


__all__ = ["Flag", "JSON_OBJECT", "NUMBER_LIST", "ParsedFlags", "REQUIRED", "comma_separated_numbers", "field_docs",
           "flags_of", "json_object", "plain_text"]

"""The ``symgrad`` command: parses arguments, calls the Python API, prints.

Each subcommand lives in :mod:`symgrad.cli` as a module with ``add_parser(subparsers, summary)``
and ``run(args) -> int``. User errors print one line (``symgrad: error: ...``) and exit with status
2, whatever the input holds: line breaks and control characters in it are printed as escapes
(:func:`one_line`); a typed expression's error adds the input with a caret under the column.
Only the chosen subcommand's module is imported and its parser built: the others are listed by
name and summary (:data:`COMMANDS`), so ``symgrad --help`` imports none of them. The subcommand
modules import only argparse and :mod:`symgrad.core.names` at the top; SymPy, NumPy and matplotlib
load inside ``run``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from symgrad import __version__
from symgrad.cli import options
from symgrad.core.errors import ParseError, SymgradError

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing takes ~2 ms
    from collections.abc import Sequence
    from typing import Any, NoReturn

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    r"""``text`` on one line: line breaks and other control characters as escapes (``\n``).

    >>> print(one_line("cannot parse 'log(\n': \x1b[31m"))
    cannot parse 'log(\n': \x1b[31m
    """
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _caret(err: ParseError) -> str:
    """The input on one line (:func:`one_line`) with a caret under the offending column."""
    if err.column is None or not err.text:
        return ""
    return f"  {one_line(err.text)}\n  {' ' * len(one_line(err.text[: err.column - 1]))}^"


#: Commands whose cost the typed input decides: they stop with one line past their time budget.
_BUDGETED = ("derive", "check", "graph")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (exit status 2) that points to ``--help``.

    Subcommand parsers are ``_Parser`` too (argparse makes them of the parent's class).
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see '{self.prog} --help')\n")

    def _get_formatter(self) -> argparse.HelpFormatter:
        # argparse's own width, terminal_columns() - 2, without its import of shutil
        return self.formatter_class(prog=self.prog, width=terminal_columns() - 2)


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns`` without importing shutil (and zlib, bz2, lzma).

    ``$COLUMNS`` if it is a number > 0, else the terminal's width, else 80.

    >>> import os, shutil
    >>> terminal_columns() == shutil.get_terminal_size().columns
    True
    """
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):  # stdout None, closed or not a terminal
        return 80


COMMANDS = (
    ("derive", "derive a gradient step by step with the chain rule", "symgrad.cli.derive"),
    ("check", "check a hand-derived gradient: right or wrong, and which known mistake",
     "symgrad.cli.check"),
    ("graph", "draw the computational graph of a typed expression", "symgrad.cli.graph"),
    ("train", "fit a model by gradient descent with the derived gradients", "symgrad.cli.train"),
    ("gradcheck", "compare the derived gradient with central differences",
     "symgrad.cli.gradcheck"),
    ("plot", "draw a lecture figure (slope, lr-comparison, contour, loss-curve, fit, activations)",
     "symgrad.cli.plot"),
    ("worksheet",
     "build exercise and solution sheets (tex, pdf, html, md, Moodle XML) from a spec",
     "symgrad.cli.worksheet"),
)
"""(name, one-line summary, module) per subcommand, in the order ``symgrad --help`` lists them.

Each module has ``add_parser(subparsers, summary)`` and ``run(args)``; it is imported only when
its subcommand is chosen.
"""


class _Commands(argparse._SubParsersAction):
    """The subcommands, listed from :data:`COMMANDS`: a command's module is imported and its parser
    built when the command line names it (``symgrad --help`` builds none of them)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, summary, _ in COMMANDS:
            self._choices_actions.append(self._ChoicesPseudoAction(name, (), summary))
            self.choices[name] = None  # not built yet; the choices keep the table's order

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        """Build listed command ``name``'s parser in its place (its summary is listed already)."""
        kwargs.pop("help", None)
        kwargs.setdefault("prog", f"{self._prog_prefix} {name}")
        self.choices[name] = parser = self._parser_class(**kwargs)
        return parser

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: list[str], option_string: str | None = None) -> None:
        name = values[0]  # a listed command: argparse has checked the choice
        if self.choices[name] is None:
            _, summary, module = next(row for row in COMMANDS if row[0] == name)
            __import__(module, fromlist=["add_parser"]).add_parser(self, summary)
        super().__call__(parser, namespace, values, option_string)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; a subcommand's parser is built when it is chosen, and sets ``args.run``.

    >>> args = build_parser().parse_args(["derive", "mse", "--wrt", "b"])
    >>> args.command, args.loss, args.wrt, args.format
    ('derive', 'mse', ['b'], 'text')
    """
    parser = _Parser(
        prog="symgrad",
        description="Derive, check and teach the gradients of machine learning, step by step.",
        epilog="Run 'symgrad COMMAND --help' for the options of one command.",
    )
    parser.add_argument("--version", action="version", version=f"symgrad {__version__}")
    parser.add_subparsers(action=_Commands, dest="command", metavar="COMMAND", required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 a negative answer, 2 bad input).

    ``argv`` defaults to ``sys.argv[1:]``. The output goes to stdout, error messages to stderr.

    >>> main(["derive", "mse", "--wrt", "b"])  # doctest: +ELLIPSIS
    Gradient of the mean squared error with the linear model
    ...
    Result (every step checked against sympy.diff: ... as symbolic identities):
      ∂L/∂b = (2/N)·Σᵢ (ŷᵢ − yᵢ)
    0
    >>> main(["derive", "--expr", "log("])  # a user error: one line on stderr, status 2
    2
    """
    try:
        args = build_parser().parse_args(argv)  # option values are converted and checked here
        if args.command not in _BUDGETED:
            return args.run(args)
        from symgrad.core import budget

        with budget.limit(budget.DEFAULT_SECONDS, f"running symgrad {args.command}"):
            return args.run(args)
    except SymgradError as err:
        print(f"symgrad: error: {one_line(options.message(err))}", file=sys.stderr)
        if isinstance(err, ParseError) and _caret(err):
            print(_caret(err), file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into head
        return 0

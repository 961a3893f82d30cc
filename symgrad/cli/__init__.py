"""The ``symgrad`` command: parses arguments, calls the Python API, prints.

Each subcommand lives in :mod:`symgrad.cli` as a module with ``add_parser(subparsers)`` and
``run(args) -> int``. User errors print one line (``symgrad: error: ...``) and exit with status 2,
whatever the input holds: line breaks and control characters in it are printed as escapes
(:func:`one_line`). A typed expression's error adds the input with a caret under the column.
The subcommand modules import only argparse and :mod:`symgrad.core.names` at the top; SymPy,
NumPy and matplotlib load inside ``run``, so ``symgrad --help`` starts at once.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from symgrad import __version__
from symgrad.cli import check, derive, gradcheck, graph, options, plot, train, worksheet
from symgrad.core.errors import ParseError, SymgradError

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


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (exit status 2) that points to ``--help``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see '{self.prog} --help')\n")


COMMANDS = (derive, check, graph, train, gradcheck, plot, worksheet)
"""One module per subcommand, each with ``add_parser(subparsers)`` and ``run(args)``."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand (each sets ``args.run``).

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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 a negative answer, 2 bad input).

    ``argv`` defaults to ``sys.argv[1:]``. The output goes to stdout, error messages to stderr.

    >>> main(["derive", "mse", "--wrt", "b"])  # doctest: +ELLIPSIS
    Gradient of mse with the linear model
    ...
    Result (every step checked against sympy.diff: ... as symbolic identities):
      ∂L/∂b = (2/N)·Σᵢ (ŷᵢ − yᵢ)
    0
    >>> main(["derive", "--expr", "log("])  # a user error: one line on stderr, status 2
    2
    """
    try:
        args = build_parser().parse_args(argv)  # option values are converted and checked here
        return args.run(args)
    except SymgradError as err:
        print(f"symgrad: error: {one_line(options.message(err))}", file=sys.stderr)
        if isinstance(err, ParseError) and _caret(err):
            print(_caret(err), file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into head
        return 0

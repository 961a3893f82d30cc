"""The ``symgrad`` command: parses arguments, calls the Python API, prints.

Each subcommand lives in :mod:`symgrad.cli` as a module with ``add_parser(subparsers, summary)``
and ``run(args) -> int``. User errors print one line (``symgrad: error: ...``) and exit with status
2; symgrad's own bugs (a step that fails its check, an error inside SymPy) print one line
(``symgrad: internal error: ...``) and exit with status 3, the traceback with SYMGRAD_TRACEBACK=1;
whatever the input holds: line breaks and control characters in it are printed as escapes
(:func:`one_line`); a typed expression's error adds the input with a caret under the column.
Only the chosen subcommand's module is imported and its parser built: the others are listed by
name and summary (:data:`COMMANDS`), so ``symgrad --help`` imports none of them. The subcommand
modules import only argparse and :mod:`symgrad.core.names` at the top; SymPy, NumPy and matplotlib
load inside ``run``.
"""

from __future__ import annotations

import os
import sys

from symgrad import __version__
from symgrad.cli import options
from symgrad.cli.layout import COMMANDS, one_line, terminal_columns, top_help
from symgrad.core.errors import ParseError, SymgradError, VerificationError

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing takes ~2 ms
    import argparse
    from collections.abc import Sequence

__all__ = ["COMMANDS", "build_parser", "main", "one_line", "terminal_columns", "top_help"]


def _caret(err: ParseError) -> str:
    """The input on one line (:func:`one_line`) with a caret under the offending column."""
    if err.column is None or not err.text:
        return ""
    return f"  {one_line(err.text)}\n  {' ' * len(one_line(err.text[: err.column - 1]))}^"


#: Commands whose cost the typed input decides: they stop with one line past their time budget.
_BUDGETED = ("derive", "check", "graph")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (:func:`symgrad.cli.parser.build_parser`; argparse loads with it)."""
    from symgrad.cli.parser import build_parser as build

    return build()


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
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv in (["-h"], ["--help"], ["--version"]):  # at once: argparse is most of the start-up
        version = argv == ["--version"]
        text = f"symgrad {__version__}\n" if version else top_help(terminal_columns() - 2)
        if text is not None:
            sys.stdout.write(text)
            raise SystemExit(0)  # as argparse does
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
    except (VerificationError, RecursionError, ArithmeticError, LookupError, TypeError,
            ValueError, AttributeError) as err:  # symgrad's (or SymPy's) bug, not the user's
        if os.environ.get("SYMGRAD_TRACEBACK"):
            raise
        print(f"symgrad: internal error: {one_line(_internal(err))} (nothing was written; "
              "set SYMGRAD_TRACEBACK=1 for the traceback, and please report the command)",
              file=sys.stderr)
        return 3


def _internal(err: Exception) -> str:
    """An internal error in words: a failed check says so; anything else by its type."""
    if isinstance(err, VerificationError):
        return str(err)
    return f"{type(err).__name__}: {err}"[:300]

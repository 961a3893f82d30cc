"""What the command line knows without argparse: its subcommands, the terminal's width, one-line
messages, and the top-level help, so that ``symgrad --help`` and ``--version`` print at once.
"""

from __future__ import annotations

import os
import re
import sys

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    r"""``text`` on one line: line breaks and other control characters as escapes (``\n``).

    >>> print(one_line("cannot parse 'log(\n': \x1b[31m"))
    cannot parse 'log(\n': \x1b[31m
    """
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


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


DESCRIPTION = "Derive, check and teach the gradients of machine learning, step by step."
EPILOG = "Run 'symgrad COMMAND --help' for the options of one command."


def top_help(width: int) -> str | None:
    """``symgrad --help`` as argparse prints it at ``width``, without importing argparse (it is
    most of the start-up time); None below 60 columns, where argparse wraps the usage line.

    ``tests/test_cli_layers.py`` checks the text equals ``build_parser().format_help()`` at every
    width from 60 to 200, so the two cannot drift apart.

    >>> print(top_help(78).splitlines()[0])
    usage: symgrad [-h] [--version] COMMAND ...
    """
    if width < 60:
        return None
    import textwrap

    def fill(text: str, indent: int, first: str = "") -> list[str]:
        lines = textwrap.wrap(text, max(width - indent, 11))
        return [first + lines[0], *(" " * indent + line for line in lines[1:])]

    # argparse's layout: help at column min(longest invocation + 4, 24); an invocation too long
    # for its column goes on a line of its own
    invocations = ["COMMAND", "-h, --help", "--version", *(name for name, _, _ in COMMANDS)]
    column = min(max(map(len, invocations)) + 4, 24)

    def entry(indent: int, name: str, text: str) -> list[str]:
        room = column - indent - 2
        head = " " * indent + (f"{name:<{room}}  " if len(name) <= room
                               else f"{name}\n" + " " * column)
        return fill(text, column, head)

    rows = [row for name, summary, _ in COMMANDS for row in entry(4, name, summary)]
    options = [*entry(2, "-h, --help", "show this help message and exit"),
               *entry(2, "--version", "show program's version number and exit")]
    return "\n".join([
        "usage: symgrad [-h] [--version] COMMAND ...", "", *fill(DESCRIPTION, 0), "",
        "positional arguments:", "  COMMAND", *rows, "", "options:", *options, "",
        *fill(EPILOG, 0), "",
    ])

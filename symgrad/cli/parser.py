"""The ``symgrad`` command's argparse parser, loaded only when a command line is parsed
(:func:`symgrad.cli.main` prints ``--help`` and ``--version`` without it).

A subcommand's module is imported and its parser built when the command line names it.
"""

from __future__ import annotations

import argparse

from symgrad import __version__
from symgrad.cli.layout import COMMANDS, DESCRIPTION, EPILOG, one_line, terminal_columns

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (exit status 2) that points to ``--help``.

    Subcommand parsers are ``_Parser`` too (argparse makes them of the parent's class).
    """

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        return super().parse_known_args(_typed_values(args), namespace)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see '{self.prog} --help')\n")

    def _get_formatter(self) -> argparse.HelpFormatter:
        # argparse's own width, terminal_columns() - 2, without its import of shutil
        return self.formatter_class(prog=self.prog, width=terminal_columns() - 2)


#: The options whose value is typed math, which may begin with a minus sign.
TYPED = ("--answer", "--expr")


def _typed_values(args: Any) -> Any:
    """``--answer -(2/N)*sum(...)`` as ``--answer=-(2/N)*sum(...)``: argparse takes a value that
    begins with ``-`` (and has no space) for an option and stops with "expected one argument".

    >>> _typed_values(["check", "mse", "--answer", "-2*u*x", "--wrt", "w"])
    ['check', 'mse', '--answer=-2*u*x', '--wrt', 'w']
    >>> _typed_values(["derive", "--expr", "--wrt", "w"])  # a missing value stays missing
    ['derive', '--expr', '--wrt', 'w']
    """
    if args is None:
        return None
    args, out = list(args), []
    k = 0
    while k < len(args):
        value = args[k + 1] if k + 1 < len(args) else ""
        if args[k] in TYPED and value.startswith("-") and not value.startswith("--"):
            out.append(f"{args[k]}={value}")
            k += 2
        else:
            out.append(args[k])
            k += 1
    return out


class _CommandHelp(argparse.RawDescriptionHelpFormatter):
    r"""A subcommand's description and epilog: paragraphs of prose wrapped to the terminal, a
    paragraph with indented lines (the examples, one command a line) kept as written.

    >>> f = _CommandHelp(prog="symgrad derive", width=30)
    >>> print(f._fill_text("Derive a loss, every step named and checked.\n\nexamples:\n"
    ...                    "  symgrad derive mse --wrt w", 30, ""))
    Derive a loss, every step
    named and checked.
    <BLANKLINE>
    examples:
      symgrad derive mse --wrt w
    """

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for paragraph in text.strip("\n").split("\n\n"):
            if any(line.startswith(" ") for line in paragraph.splitlines()):
                paragraphs.append(super()._fill_text(paragraph, width, indent))
            else:
                paragraphs.append(argparse.HelpFormatter._fill_text(self, paragraph, width, indent))
        return "\n\n".join(paragraphs)


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
        kwargs.setdefault("formatter_class", _CommandHelp)
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
    """The argument parser; a subcommand's parser is built when it is chosen, and sets
    ``args.run``.

    >>> args = build_parser().parse_args(["derive", "mse", "--wrt", "b"])
    >>> args.command, args.loss, args.wrt, args.format
    ('derive', 'mse', ['b'], 'text')
    """
    parser = _Parser(
        prog="symgrad",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"symgrad {__version__}")
    parser.add_subparsers(action=_Commands, dest="command", metavar="COMMAND", required=True)
    return parser

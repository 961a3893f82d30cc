"""One module per ``symgrad`` subcommand, each with ``add_parser(subparsers)`` and ``run(args)``."""

from __future__ import annotations

from . import derive, gradcheck, plot, train, worksheet

COMMANDS = (derive, train, gradcheck, plot, worksheet)

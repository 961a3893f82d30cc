"""One module per ``symgrad`` subcommand, each with ``add_parser(subparsers)`` and ``run(args)``."""

from __future__ import annotations

from . import derive, plot, worksheet

COMMANDS = (derive, plot, worksheet)

"""One module per ``symgrad`` subcommand, each with ``add_parser(subparsers)`` and ``run(args)``."""

from __future__ import annotations

from . import derive, gradcheck, graph, plot, train, worksheet

COMMANDS = (derive, graph, train, gradcheck, plot, worksheet)

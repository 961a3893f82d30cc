"""One module per ``symgrad`` subcommand, each with ``add_parser(subparsers)`` and ``run(args)``."""

from __future__ import annotations

from . import check, derive, gradcheck, graph, plot, train, worksheet

COMMANDS = (derive, check, graph, train, gradcheck, plot, worksheet)

"""A stand-in for ``symgrad.parse`` (issue 3) while it is not on main, so that the CLI and the
``graph`` worksheet kind import in tests; when the real module is there it is used instead.
The stand-in uses SymPy's own parser, unevaluated: fine for the fixed test inputs here, never
for user input."""

from __future__ import annotations

import sys
import types

import sympy as sp

try:
    import symgrad.parse  # noqa: F401
    STANDIN = False
except ModuleNotFoundError:
    STANDIN = True
    _module = types.ModuleType("symgrad.parse")

    def _parse(text: str) -> sp.Expr:
        names = {n: sp.Symbol(n, real=True) for n in "abcdwxyz"}
        return sp.parse_expr(text, local_dict=names, evaluate=False)

    def _parse_assignments(text: str) -> dict:
        out = {}
        for part in text.split(","):
            name, value = part.split("=")
            out[sp.Symbol(name.strip(), real=True)] = sp.Rational(value.strip())
        return out

    _module.parse = _parse  # type: ignore[attr-defined]
    _module.parse_assignments = _parse_assignments  # type: ignore[attr-defined]
    sys.modules["symgrad.parse"] = _module

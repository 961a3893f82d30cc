"""Independent checks: is a claimed expression equal to what ``sympy.diff`` gives?

Both sides are rewritten into elementary functions (:func:`symgrad.functions.elementary`) so the
check never relies on symgrad's own derivative rules. Equality is decided symbolically when
``expand`` shows it cheaply, otherwise at random points (30-digit arithmetic, relative tolerance
1e-12), skipping points outside the functions' domains.

>>> import sympy as sp
>>> from symgrad.functions import sigmoid
>>> z = sp.Symbol("z", real=True)
>>> same(sp.diff(1 / (1 + sp.exp(-z)), z), sigmoid(z) * (1 - sigmoid(z)))
True
>>> same(sp.diff(1 / (1 + sp.exp(-z)), z), sigmoid(z))
False
"""

from __future__ import annotations

import random
from collections.abc import Iterable

import sympy as sp

from .errors import VerificationError
from .functions import elementary

_RANGES = ((0.1, 0.9), (-2.0, 2.0), (1.1, 3.0))
_TOLERANCE = sp.Float("1e-12", 30)
#: Digits of the random points: more than the 30 compared, so that a loss written as
#: log(1 - sigmoid(z)) at a large z (a wide ReLU layer) does not cancel away its last digits.
_POINT_DIGITS = 60


def _value(expr: sp.Expr, point: dict) -> sp.Expr | None:
    """``expr`` at ``point`` to 30 digits, or None where it is not a finite real number."""
    try:
        v = sp.N(expr.xreplace(point), 30)
    except (TypeError, ValueError, ZeroDivisionError, ArithmeticError):
        return None
    if not v.is_number or v.has(sp.nan, sp.zoo, sp.oo, -sp.oo, sp.I):
        return None
    v = sp.re(v) if abs(sp.im(v)) < 1e-40 else None
    return v if v is not None and v.is_finite else None


def same(
    a: sp.Expr,
    b: sp.Expr,
    *,
    simplex: Iterable[tuple[sp.Symbol, ...]] = (),
    points: int = 4,
    seed: int = 0,
) -> bool:
    """True when ``a`` and ``b`` are equal as functions of their free symbols.

    ``simplex`` lists groups of symbols constrained to sum to one (one-hot labels): their last
    member
    is replaced by one minus the others and the others are drawn from the probability simplex.
    """
    simplex = tuple(simplex)
    substitution = {g[-1]: 1 - sp.Add(*g[:-1]) for g in simplex}
    a = elementary(sp.sympify(a)).xreplace(substitution)
    b = elementary(sp.sympify(b)).xreplace(substitution)
    diff = a - b
    if diff == 0:
        return True
    if sp.count_ops(diff) < 400 and not diff.has(sp.Piecewise):
        try:
            if sp.expand(diff) == 0:
                return True
        except (TypeError, ValueError):  # pragma: no cover - expand on exotic input
            pass
    grouped = {s for g in simplex for s in g[:-1]}
    free = sorted((a.free_symbols | b.free_symbols) - grouped, key=str)
    rng = random.Random(seed)
    found = 0
    for attempt in range(40 * points):
        lo, hi = _RANGES[attempt % len(_RANGES)]
        point = {s: sp.Float(rng.uniform(lo, hi), _POINT_DIGITS) for s in free}
        for g in simplex:
            weights = [rng.uniform(0.1, 1.0) for _ in g]
            total = sum(weights)
            point.update(
                {s: sp.Float(w / total, _POINT_DIGITS)
                 for s, w in zip(g[:-1], weights, strict=False)}
            )
        va, vb = _value(a, point), _value(b, point)
        if va is None or vb is None:
            continue
        if abs(va - vb) > _TOLERANCE * max(1, abs(va), abs(vb)):
            return False
        found += 1
        if found == points:
            return True
    raise VerificationError(f"no point in the domain of {a} found to compare it with {b}")

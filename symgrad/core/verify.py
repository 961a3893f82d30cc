"""Independent checks: is a claimed expression equal to what ``sympy.diff`` gives?

Both sides are rewritten into elementary functions (:func:`symgrad.core.functions.elementary`) so
the
check never relies on symgrad's own derivative rules. Equality is decided symbolically when
``expand`` shows it cheaply, otherwise at random points in arithmetic of 60 digits or more, raised
until the values settle (relative tolerance 1e-12), skipping points outside the functions'
domains. Many claims are decided in one batch (:func:`same_all`): one mpmath function with their
common subexpressions shared, evaluated at a few points, which is what keeps the check of a
scalar-expanded network in seconds.

>>> import sympy as sp
>>> from symgrad.core.functions import sigmoid
>>> z = sp.Symbol("z", real=True)
>>> same(sp.diff(1 / (1 + sp.exp(-z)), z), sigmoid(z) * (1 - sigmoid(z)))
True
>>> same(sp.diff(1 / (1 + sp.exp(-z)), z), sigmoid(z))
False
>>> [c.passed for c in same_all([(sp.diff(z**3, z), 3 * z**2), (sp.diff(sp.log(z), z), z)])]
[True, False]

Each claim's :class:`Check` says how it was decided: symbolically, or at how many random points
with how many digits.

>>> same_all([(z**2 - 1, (z - 1) * (z + 1))])[0].method
<Method.SYMBOLIC: 'symbolic identity'>
>>> c = same_all([(sp.diff(sp.log(1 + sp.exp(z)), z), sigmoid(z))], points=5)[0]
>>> c.method, c.passed, c.points, c.digits >= 60
(<Method.RANDOM_POINTS: 'random points'>, True, 5, True)
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

import mpmath
import sympy as sp

from symgrad.core.errors import VerificationError
from symgrad.core.functions import elementary

_RANGES = ((0.1, 0.9), (-2.0, 2.0), (1.1, 3.0))
_TOLERANCE = mpmath.mpf("1e-12")
#: Digits of the arithmetic, raised until two precisions agree (see :func:`_settled`).
_DIGITS = (60, 120, 240, 480)
#: How closely two precisions must agree for a value to count as settled.
_AGREE = mpmath.mpf("1e-25")


def _small(expr: sp.Expr, limit: int = 400) -> bool:
    """Whether ``expr`` has at most ``limit`` nodes (stops counting early, unlike count_ops)."""
    return all(k <= limit for k, _ in enumerate(sp.preorder_traversal(expr)))


def _symbolically_equal(a: sp.Expr, b: sp.Expr) -> bool:
    diff = a - b
    if diff == 0:
        return True
    if _small(diff) and not diff.has(sp.Piecewise):
        try:
            return sp.expand(diff) == 0
        except (TypeError, ValueError):  # pragma: no cover - expand on exotic input
            return False
    return False


def _real(v: object) -> mpmath.mpf | None:
    """A finite real mpmath number, or None (complex, infinite, nan: outside the domain)."""
    if isinstance(v, mpmath.mpc):
        if abs(v.imag) > mpmath.mpf("1e-40"):
            return None
        v = v.real
    try:
        v = mpmath.mpf(v)
    except (TypeError, ValueError):
        return None
    return v if mpmath.isfinite(v) else None


def _settled(
    f: Callable[..., list], point: list[float], wanted: list[int]
) -> dict[int, tuple[mpmath.mpf, int]]:
    """The outputs ``wanted`` of ``f`` at ``point``, each once two precisions agree on it, with
    the digits of the arithmetic that settled it.

    Adaptive precision, as ``evalf`` does it: ``f`` runs at 60, 120, 240 and 480 digits until
    every wanted output is the same at two of them (a loss like log(1 - sigmoid(z)) at a large z
    loses most of its digits to cancellation). Outputs outside the domain are left out.
    """
    settled: dict[int, tuple[mpmath.mpf, int]] = {}
    previous: list | None = None
    for digits in _DIGITS:
        with mpmath.workdps(digits):
            try:
                out = f(*[mpmath.mpf(x) for x in point])
            except (TypeError, ValueError, ZeroDivisionError, ArithmeticError):
                previous = None  # a division by a cancelled zero, say: try more digits
                continue
            for i in wanted:
                if i in settled or previous is None:
                    continue
                v, p = _real(out[i]), _real(previous[i])
                if v is not None and p is not None and abs(v - p) <= _AGREE * max(1, abs(v)):
                    settled[i] = (v, digits)
        if all(i in settled for i in wanted):
            break
        previous = out
    return settled


class Method(Enum):
    """How a claim was decided."""

    SYMBOLIC = "symbolic identity"
    RANDOM_POINTS = "random points"
    CENTRAL_DIFFERENCES = "central differences"


@dataclass(frozen=True)
class Check:
    """What was checked and how: the record of one decided claim.

    ``points`` is the number of points where both sides were compared (0 for a symbolic identity),
    ``digits`` the highest precision of the arithmetic used there, ``tolerance`` the relative
    tolerance, ``against`` the independent reference the claim was compared with.
    """

    method: Method
    passed: bool
    points: int = 0
    digits: int = 0
    tolerance: float = 0.0
    against: str = ""


def combined(checks: Sequence[Check]) -> Check:
    """One check standing for several claims of one step: passed when all passed, at the fewest
    points and digits any of the numeric ones used.

    >>> one = Check(Method.RANDOM_POINTS, True, 4, 120, 1e-12)
    >>> combined([Check(Method.SYMBOLIC, True), one]) == one
    True
    """
    numeric = [c for c in checks if c.method is not Method.SYMBOLIC]
    if not numeric:
        return checks[0]
    return Check(
        numeric[0].method,
        all(c.passed for c in checks),
        min(c.points for c in numeric),
        min(c.digits for c in numeric),
        max(c.tolerance for c in numeric),
        numeric[0].against,
    )


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
    member is replaced by one minus the others and the others are drawn from the probability
    simplex.
    """
    return same_all([(a, b)], simplex=simplex, points=points, seed=seed)[0].passed


def same_all(
    pairs: Sequence[tuple[sp.Expr, sp.Expr]],
    *,
    simplex: Iterable[tuple[sp.Symbol, ...]] = (),
    points: int = 4,
    seed: int = 0,
) -> list[Check]:
    """:func:`same` for many pairs at once, sharing one function and one set of random points;
    a :class:`Check` per pair says how it was decided.

    A pair that finds no point in its domain among the shared ones is retried on its own; one
    that finds none at all raises :class:`~symgrad.core.errors.VerificationError`.
    """
    simplex = tuple(simplex)
    substitution = {g[-1]: 1 - sp.Add(*g[:-1]) for g in simplex}
    prepared = [
        (
            elementary(sp.sympify(a)).xreplace(substitution),
            elementary(sp.sympify(b)).xreplace(substitution),
        )
        for a, b in pairs
    ]
    symbolic = Check(Method.SYMBOLIC, True)
    result: list[Check | None] = [
        symbolic if _symbolically_equal(a, b) else None for a, b in prepared
    ]
    pending = [k for k, r in enumerate(result) if r is None]
    if not pending:
        return [r for r in result if r is not None]
    grouped = [s for g in simplex for s in g[:-1]]
    free = sorted(
        set().union(*[prepared[k][0].free_symbols | prepared[k][1].free_symbols for k in pending])
        - set(grouped),
        key=str,
    )
    values = sp.lambdify(
        free + grouped, [e for k in pending for e in prepared[k]], modules="mpmath", cse=True
    )
    found = dict.fromkeys(pending, 0)
    digits = dict.fromkeys(pending, 0)
    rng = random.Random(seed)
    for attempt in range(40 * points):
        open_ = [j for j, k in enumerate(pending) if result[k] is None and found[k] < points]
        if not open_:
            break
        lo, hi = _RANGES[attempt % len(_RANGES)]
        point = [rng.uniform(lo, hi) for _ in free]
        for g in simplex:
            weights = [rng.uniform(0.1, 1.0) for _ in g]
            point += [w / sum(weights) for w in weights[:-1]]
        out = _settled(values, point, [i for j in open_ for i in (2 * j, 2 * j + 1)])
        with mpmath.workdps(_DIGITS[0]):
            for j in open_:
                if 2 * j not in out or 2 * j + 1 not in out:
                    continue
                k = pending[j]
                (va, da), (vb, db) = out[2 * j], out[2 * j + 1]
                found[k] += 1
                digits[k] = max(digits[k], da, db)
                if abs(va - vb) > _TOLERANCE * max(1, abs(va), abs(vb)):
                    result[k] = _numeric(False, found[k], digits[k])
    for k in pending:
        if result[k] is None and found[k] >= points:
            result[k] = _numeric(True, found[k], digits[k])
        elif result[k] is None and len(pending) > 1:  # no common points: alone, with its own
            result[k] = same_all([pairs[k]], simplex=simplex, points=points, seed=seed)[0]
        elif result[k] is None:
            a, b = prepared[k]
            raise VerificationError(f"no point in the domain of {a} found to compare it with {b}")
    return [r for r in result if r is not None]


def _numeric(passed: bool, points: int, digits: int) -> Check:
    return Check(Method.RANDOM_POINTS, passed, points, digits, float(_TOLERANCE))

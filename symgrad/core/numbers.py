"""Exact values as numbers, right to the last printed digit.

:func:`symgrad.core.graph.forward_backward` keeps values exact (``log(1 - sigmoid(700))``).
``float(v)`` evaluates such a value at a fixed 15 digits, and the cancellation in
``1 - sigmoid(700)`` then loses all of them (it printed -288 for -700); SymPy's ``evalf`` even
returns 0 for ``log(sigmoid(700))``. :func:`evaluate` rewrites ``v`` into elementary functions
and evaluates it in mpmath at rising precision until two precisions agree on every digit asked
for (up to :data:`MAX_DIGITS`, enough for ``|z|`` up to 1e4 inside a sigmoid or an exp).

>>> import sympy as sp
>>> from symgrad.core.functions import sigmoid
>>> to_float(sp.log(1 - sigmoid(700))), to_float(sp.log(sigmoid(700)))
(-700.0, -9.85967654375977e-305)
>>> short(sp.exp(800)), to_float(sp.exp(800))
('2.72637e+347', inf)
"""

from __future__ import annotations

import contextlib
import math

import mpmath
import sympy as sp

from symgrad.core.errors import DomainError
from symgrad.core.functions import elementary

#: The highest working precision, in digits (1 - sigmoid(z) at z = 1e4 needs about 4,350, and
#: two precisions must agree).
MAX_DIGITS = 10240


def evaluate(v: sp.Expr, digits: int = 17) -> mpmath.mpf:
    """``v`` to ``digits`` correct significant digits, as an mpmath number (any exponent).

    Raises :class:`~symgrad.core.errors.DomainError` when ``v`` is not a real number, or its
    digits do not settle within :data:`MAX_DIGITS` digits of working precision.
    """
    e = elementary(sp.sympify(v)).xreplace({sp.zoo: sp.nan})
    if e.is_Rational:  # exact: softplus(0) - log(2) is 0 once rewritten
        with mpmath.workdps(digits + 10):
            return mpmath.mpf(e.p) / e.q
    f = sp.lambdify([], e, modules="mpmath")
    previous = None
    dps = _start(e)
    while True:
        with mpmath.workdps(dps):
            try:
                x = f()
            except (TypeError, ValueError, ZeroDivisionError, ArithmeticError):
                x = None  # a division by a cancelled zero, say: more digits
            if x is not None:
                x = +mpmath.mpmathify(x)  # ints, floats and constants such as e as numbers
            if isinstance(x, mpmath.mpc) and x.imag == 0:
                x = x.real
            if not isinstance(x, mpmath.mpf) or not mpmath.isfinite(x):
                x = None  # mpmath does not overflow: an inf is a log(0) of cancelled digits
            last = dps >= MAX_DIGITS
            if x is not None and previous is not None:
                # a 0 may be digits lost to cancellation: believed only at the last precision
                if _agree(x, previous, digits) and (x != 0 or last):
                    return +x
                noise = mpmath.mpf(10) ** (-dps // 4)  # a true 0 is rounding noise at each
                if last and abs(x) < noise and abs(previous) < noise:
                    return mpmath.mpf(0)
            previous = x
        if last:
            break
        dps = min(2 * dps, MAX_DIGITS)  # the last try at MAX_DIGITS itself, whatever the start
    raise DomainError(f"{v} is not a real number (or does not settle within {MAX_DIGITS} digits)")


def _start(e: sp.Expr) -> int:
    """The first precision to try: 1 - sigmoid(z) = 1/(1 + exp(z)) cancels about |z| / ln 10
    digits, so start past the largest exponent in ``e`` (estimated in floats)."""
    largest = 0.0
    for power in e.atoms(sp.exp):
        with contextlib.suppress(TypeError, ValueError, OverflowError):
            largest = max(largest, abs(float(power.args[0].evalf(15))))
    return min(MAX_DIGITS - 1, 40 + int(largest / math.log(10)))


def _agree(a: mpmath.mpf, b: mpmath.mpf, digits: int) -> bool:
    return abs(a - b) <= mpmath.mpf(10) ** (-digits - 2) * max(abs(a), abs(b))


def to_float(v: sp.Expr) -> float:
    """The float nearest to ``v`` (``inf`` or ``-inf`` past the float64 range)."""
    return float(evaluate(v))


def short(v: sp.Expr, digits: int = 6) -> str:
    """``v`` with ``digits`` significant digits, as ``%.6g`` prints it, but with any exponent."""
    x = evaluate(v, digits + 2)
    f = float(x)
    if math.isfinite(f):
        return f"{f:.{digits}g}"
    return mpmath.nstr(x, digits)  # past the float64 range: 2.72637e+347

"""Cost bounds of typed input, checked before any work starts.

A derivation, its verification and ``check`` evaluate and differentiate what the user typed. Two
shapes of input make that cost explode while the text stays short, so they are refused up front
with a stated maximum:

* **towers**: exponentials whose exponent holds a variable, nested. ``x^x^x^x`` or
  ``exp(exp(exp(exp(x))))`` has values with astronomically many digits at a test point, so each
  check runs for seconds to minutes; at most :data:`MAX_TOWER` levels;
* **nesting** of functions, ``tanh(tanh(...(x)))``: every level multiplies the size of the
  chain-rule products; at most :data:`MAX_NESTING` levels.

And a constant argument of a function (``softplus(log(3))``) is accepted when it is a real number
of moderate size (:func:`moderate`): SymPy would otherwise compare or evaluate a number like
exp(exp(exp(100))) for as long as it takes.

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> tower(x ** (x ** x)), nesting(sp.tanh(sp.tanh(x)))
(2, 2)
>>> moderate(sp.log(3)), moderate(sp.exp(sp.exp(sp.exp(100))))
(True, False)
"""

from __future__ import annotations

import mpmath
import sympy as sp

#: Most levels of exponentials with a variable in the exponent (x^x^x is 2, exp(exp(x)) is 2).
MAX_TOWER = 3
#: Most levels of functions inside functions (tanh(tanh(x)) is 2).
MAX_NESTING = 16
#: Largest and smallest magnitude of a constant argument of a function that is not a plain number.
MAX_CONSTANT = mpmath.mpf(10) ** 12
MIN_CONSTANT = mpmath.mpf(10) ** -20


def tower(expr: sp.Basic) -> int:
    """Levels of exponentials with a variable in the exponent, nested (``exp(z)`` is z ** e)."""
    if not isinstance(expr, sp.Basic) or expr.is_Atom:
        return 0
    inner = max((tower(a) for a in expr.args), default=0)
    if isinstance(expr, sp.exp) and expr.args[0].free_symbols:
        return tower(expr.args[0]) + 1
    if isinstance(expr, sp.Pow) and expr.exp.free_symbols:
        return max(tower(expr.base), tower(expr.exp) + 1)
    return inner


def nesting(expr: sp.Basic) -> int:
    """Levels of functions (exp, log, sigmoid, ...) inside functions."""
    if not isinstance(expr, sp.Basic) or expr.is_Atom:
        return 0
    inner = max((nesting(a) for a in expr.args), default=0)
    return inner + 1 if isinstance(expr, sp.Function) else inner


def excess(expr: sp.Basic) -> str | None:
    """What makes ``expr`` too costly to derive and check, or None.

    >>> x = sp.Symbol("x", real=True)
    >>> excess(x ** (x ** (x ** (x ** x))))
    'exponentials with a variable in the exponent nest 4 levels deep (at most 3)'
    >>> excess(sp.sin(x) ** 2) is None
    True
    """
    levels = tower(expr)
    if levels > MAX_TOWER:
        return (
            f"exponentials with a variable in the exponent nest {levels} levels deep "
            f"(at most {MAX_TOWER})"
        )
    depth = nesting(expr)
    if depth > MAX_NESTING:
        return f"functions nest {depth} levels deep (at most {MAX_NESTING})"
    return None


def moderate(value: sp.Expr) -> bool:
    """Whether the constant ``value`` is a real number with ``1e-20 <= |value| <= 1e12``,
    decided safely: evaluated bottom-up in 30-digit arithmetic, stopping as soon as a part
    exceeds 1e300. Below 1e-20 it may be an exact 0 in disguise (sin(1)^2 + cos(1)^2 - 1), which
    SymPy cannot compare with 0."""
    with mpmath.workdps(30):
        v = _approx(value)
        return v is not None and MIN_CONSTANT <= abs(v) <= MAX_CONSTANT


_HUGE = mpmath.mpf(10) ** 300


def _approx(e: sp.Expr) -> mpmath.mpf | None:
    """``e``'s value, or None when it is not real or some part of it exceeds 1e300."""
    if e.is_Number:
        v = mpmath.mpf(sp.Float(e, 30)._mpf_) if e.is_finite else None
    elif e is sp.pi or e is sp.E:
        v = mpmath.mpf(sp.Float(e, 30)._mpf_)
    else:
        args = [_approx(a) for a in e.args]
        if any(a is None for a in args):
            return None
        try:
            if isinstance(e, sp.Add):
                v = mpmath.fsum(args)
            elif isinstance(e, sp.Mul):
                v = mpmath.fprod(args)
            elif isinstance(e, sp.Pow):
                base, power = args
                if base != 0 and abs(power) * abs(mpmath.log(abs(base))) > 690:
                    return None
                v = base**power
            elif isinstance(e, sp.exp):
                v = None if args[0] > 690 else mpmath.exp(args[0])
            elif isinstance(e, sp.Function):
                held = [sp.Float(a, 30) for a in args]
                v = mpmath.mpf(sp.Float(e.func(*held).evalf(30), 30)._mpf_)
            else:
                return None
        except (TypeError, ValueError, ZeroDivisionError, ArithmeticError, AttributeError):
            return None
    if v is None or not isinstance(v, mpmath.mpf) or not mpmath.isfinite(v) or abs(v) > _HUGE:
        return None
    return v

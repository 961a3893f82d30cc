"""Term and factor order as a lecturer writes them, shared by the printers.

SymPy prints ``yhat - y`` as ``-y + yhat`` and ``(yhat - y)*x`` as ``x*(-y + yhat)``.
:func:`arrange` rebuilds an expression unevaluated in lecture order for printing with
``order="none"``: in a sum, positive terms first and terms with data (``late`` symbols such as x_i)
first, otherwise the order as typed; in a product, sums before function calls and data last. It
changes the look, never the value.

>>> import sympy as sp
>>> x, y, yhat, w, b, a, c = sp.symbols("x_i y_i yhat_i w b a c", real=True)
>>> sp.sstr(arrange(yhat - y), order="none")
'yhat_i - y_i'
>>> sp.sstr(arrange(b + w * x - y, late={x}), order="none")
'w*x_i + b - y_i'
>>> sp.sstr(arrange(sp.Add(sp.Add(w * x, b, evaluate=False), -y, evaluate=False)), order="none")
'w*x_i + b - y_i'
>>> sp.sstr(arrange(sp.Add(a, b * c, evaluate=False)), order="none")  # as typed: a + b c
'a + b*c'
>>> sp.sstr(arrange((yhat - y) * x, late={x}), order="none")
'(yhat_i - y_i)*x_i'
"""

from __future__ import annotations

import sympy as sp

from symgrad.core.graph import N


def _negative(term: sp.Expr) -> bool:
    return term.could_extract_minus_sign()


def _flat(add: sp.Add) -> sp.Add:
    """An unevaluated sum of sums, (w x + b) - y, as one sum: w x + b - y."""
    terms: list[sp.Expr] = []
    for t in add.args:
        terms += _flat(t).args if isinstance(t, sp.Add) else [t]
    return sp.Add(*terms, evaluate=False)


def arrange(expr: sp.Expr, late: frozenset | set = frozenset()) -> sp.Expr:
    """``expr`` rebuilt unevaluated in lecture order; ``late`` symbols go last in products."""
    if expr.is_Atom or not expr.args:
        return expr
    if isinstance(expr, sp.Add):
        # stable: negative terms last, terms with data (w x_i) first, otherwise as typed/built
        terms = sorted(
            sp.Add.make_args(_flat(expr)),
            key=lambda t: (_negative(t), not (t.free_symbols & late)),
        )
        return sp.Add(*[arrange(t, late) for t in terms], evaluate=False)
    if isinstance(expr, sp.Mul):
        coeff, rest = expr.as_coeff_Mul()
        factors = sp.Mul.make_args(rest) if coeff != 1 else sp.Mul.make_args(expr)
        lead = [coeff] if coeff != 1 else []
        adds = [f for f in factors if isinstance(f, sp.Add)]
        late_f = [f for f in factors if f in late and f not in adds]
        calls = [f for f in factors if isinstance(f, sp.Function) and f not in late_f]
        inside = [f for f in calls if any(a.has(f) for a in adds)]
        others = [f for f in factors if f not in adds and f not in late_f and f not in calls]
        others.sort(key=lambda f: f.as_base_exp()[0] != N)  # the sample count first: N ŷᵢ (1 − ŷᵢ)
        order = lead + others + inside + adds + [f for f in calls if f not in inside] + late_f
        if coeff == -1:  # -(a)(b) prints better as -a b
            order = order[1:]
            if len(order) == 1 and isinstance(order[0], sp.Add):
                return sp.Mul(-1, arrange(order[0], late), evaluate=False)
            inner = sp.Mul(*[arrange(f, late) for f in order], evaluate=False)
            return sp.Mul(-1, inner, evaluate=False) if len(order) > 1 else -arrange(order[0], late)
        return sp.Mul(*[arrange(f, late) for f in order], evaluate=False)
    if isinstance(expr, sp.Sum):
        return sp.Sum(arrange(expr.function, late), *expr.limits)
    if isinstance(expr, sp.Piecewise):
        return sp.Piecewise(*[(arrange(e, late), c) for e, c in expr.args], evaluate=False)
    try:
        return expr.func(*[arrange(a, late) for a in expr.args], evaluate=False)
    except TypeError:
        return expr.func(*[arrange(a, late) for a in expr.args])

"""Recognise known functions in typed text: 1/(1 + exp(-z)) is sigma(z), max(0, z) is ReLU(z).

A lecturer who types the sigmoid by its formula means the sigmoid; differentiating the formula
operation by operation takes dozens of steps and hides the sigmoid identity. :func:`recognize`
rewrites a typed (unevaluated) expression bottom-up, replacing

* ``1/(1 + exp(-z))`` and ``exp(z)/(1 + exp(z))`` by ``sigmoid(z)``;
* ``max(0, z)`` (either order) by ``relu(z)``, so every spelling of the ReLU takes the same
  derivative at the kink: ReLU'(0) = 0, as PyTorch (:data:`CONVENTIONS`);
* ``log(1 + exp(z))`` by ``softplus(z)``;
* ``(exp(z) - exp(-z))/(exp(z) + exp(-z))`` and ``(1 - exp(-2z))/(1 + exp(-2z))`` by ``tanh(z)``,

and lists each rewrite (outermost first) as a :class:`Recognition`, which the engine shows as a
step and checks like every other (:func:`symgrad.core.derive.derive_graph`).

>>> import sympy as sp
>>> from symgrad.core.parse import parse
>>> expr, found = recognize(parse("1/(1 + exp(-(w*x + b)))", evaluate=False))
>>> expr
sigmoid(b + w*x)
>>> [(r.name, str(r.typed)) for r in found]
[('sigmoid', '1/(1 + exp(-(b + w*x)))')]
>>> recognize(parse("max(0, z) + log(1 + exp(z))", evaluate=False))[0]
relu(z) + softplus(z)
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symgrad.core.functions import huber, relu, sigmoid, softplus
from symgrad.core.graph import negated

__all__ = ["CONVENTIONS", "Recognition", "recognize"]

#: The derivative's value at a kink, one convention for every spelling (the registry's, as
#: PyTorch), stated in the output next to the local derivative of a node using the function.
CONVENTIONS: dict[type, str] = {
    relu: "ReLU'(0) = 0 (PyTorch's convention, also for max(0, z))",
    sp.Abs: "|z|' = sign(z), 0 at z = 0 (PyTorch's convention)",
    huber: "Huber'(u) = u for |u| ≤ δ, δ·sign(u) otherwise: continuous, no kink (PyTorch's)",
    sp.Max: "at a tie max splits its derivative evenly (1/2 each)",
    sp.Min: "at a tie min splits its derivative evenly (1/2 each)",
}


@dataclass(frozen=True)
class Recognition:
    """One rewrite: the ``typed`` subexpression is the known function ``name``, as ``found``."""

    typed: sp.Expr
    found: sp.Expr
    name: str


def _value(e: sp.Expr) -> sp.Expr:
    """The evaluated form of a typed expression (what it is, whatever its spelling)."""
    return e.doit() if not e.is_Atom else e


def _exp_arg(e: sp.Expr) -> sp.Expr | None:
    e = _value(e)
    return e.args[0] if isinstance(e, sp.exp) else None


def _one_plus_exp(e: sp.Expr) -> sp.Expr | None:
    """a for 1 + exp(a), else None."""
    e = _value(e)
    if isinstance(e, sp.Add) and len(e.args) == 2 and sp.S.One in e.args:
        other = e.args[0] if e.args[1] == 1 else e.args[1]
        return _exp_arg(other)
    return None


def _ratio(e: sp.Expr) -> tuple[sp.Expr, sp.Expr] | None:
    """(numerator, denominator) of a typed quotient a * b**(-1), else None."""
    if not isinstance(e, sp.Mul):
        return None
    den = [f for f in e.args if isinstance(f, sp.Pow) and f.exp == -1]
    if len(den) != 1:
        return None
    num = [f for f in e.args if f is not den[0]]
    return sp.Mul(*num), den[0].base


def _sigmoid(e: sp.Expr) -> sp.Expr | None:
    parts = _ratio(e) if isinstance(e, sp.Mul) else (sp.S.One, e.base) if (
        isinstance(e, sp.Pow) and e.exp == -1) else None
    if parts is None:
        return None
    num, den = parts
    a = _one_plus_exp(den)
    if a is None:
        return None
    if _value(num) == 1 and _value(a).could_extract_minus_sign():
        return sigmoid(negated(a))  # 1/(1 + exp(-z))
    if _exp_arg(num) is not None and sp.expand(_exp_arg(num) - _value(a)) == 0:
        return sigmoid(a)  # exp(z)/(1 + exp(z))
    return None


def _tanh(e: sp.Expr) -> sp.Expr | None:
    parts = _ratio(e)
    if parts is None:
        return None
    den = _value(parts[1])
    if not (isinstance(den, sp.Add) and len(den.args) == 2):
        return None  # before evaluating the numerator (a typed mean's sum: SymPy tries it)
    num = _value(parts[0])
    args = [_exp_arg(t) for t in den.args]
    if None not in args and sp.expand(args[0] + args[1]) == 0:  # exp(z) + exp(-z)
        z = args[0] if not args[0].could_extract_minus_sign() else args[1]
        ok = sp.expand(num - (sp.exp(z) - sp.exp(-z))) == 0
        return sp.tanh(_typed_arg(parts[1], z)) if ok else None
    a = _one_plus_exp(den)  # (1 - exp(-2z))/(1 + exp(-2z))
    if a is not None and sp.expand(num - (1 - sp.exp(a))) == 0:
        return sp.tanh(sp.Mul(sp.Rational(-1, 2), a))
    return None


def _typed_arg(den: sp.Expr, z: sp.Expr) -> sp.Expr:
    """The typed argument of the exp in ``den`` whose value is ``z`` (keeps w x + b as typed)."""
    for t in sp.preorder_traversal(den):
        if isinstance(t, sp.exp) and _value(t.args[0]) == z:
            return t.args[0]
    return z


def _relu(e: sp.Expr) -> sp.Expr | None:
    if isinstance(e, sp.Max) and len(e.args) == 2 and sp.S.Zero in e.args:
        return relu(e.args[0] if e.args[1] == 0 else e.args[1])
    return None


def _softplus(e: sp.Expr) -> sp.Expr | None:
    if isinstance(e, sp.log):
        a = _one_plus_exp(e.args[0])
        if a is not None:
            return softplus(_typed_arg(e.args[0], a))
    return None


_PATTERNS = (("sigmoid", _sigmoid), ("tanh", _tanh), ("relu", _relu), ("softplus", _softplus))


def recognize(expr: sp.Expr) -> tuple[sp.Expr, list[Recognition]]:
    """``expr`` with the known functions written by their formulas replaced by the functions,
    and the list of rewrites made. The value is unchanged."""
    found: list[Recognition] = []

    def visit(e: sp.Expr) -> sp.Expr:
        if e.is_Atom:
            return e
        for name, pattern in _PATTERNS:  # outermost first: a tanh contains a 1/(1 + exp(-2z))
            new = pattern(e)
            if new is not None:
                if all(r.typed != e for r in found):
                    found.append(Recognition(e, new, name))
                return new.func(*[visit(a) for a in new.args])
        args = [visit(a) for a in e.args]
        if args == list(e.args):
            return e
        if isinstance(e, sp.Mul):
            args = [a for a in args if a != 1] or [sp.S.One]
            return args[0] if len(args) == 1 else sp.Mul(*args, evaluate=False)
        if isinstance(e, sp.Add | sp.Pow):
            return e.func(*args, evaluate=False)
        return e.func(*args)

    return visit(expr), found

"""The Hessian, step by step: every gradient differentiated again, and checked.

:func:`with_hessian` appends to a :class:`~symgrad.core.steps.Derivation` the second derivatives
``∂²L/∂q∂p = ∂/∂q (∂L/∂p)`` of every pair of parameters it has gradients for (the upper
triangle: the Hessian is symmetric). Each starts from the verified gradient in the lecture's
form, ``∂L/∂p = (c/N) Σ_i T_i(ŷ_i, x_i, y_i) (+ penalty)``, and differentiates under the sum
with the chain rule through the kept intermediates:

* ``∂ŷ_i/∂q``: the total derivative of an intermediate, along the graph (``∂ŷ_i/∂z_i · ∂z_i/∂q``),
  from the derivation's local derivatives;
* ``∂²L/∂q∂p = (c/N) Σ_i (∂T_i/∂ŷ_i · ∂ŷ_i/∂q + ∂T_i/∂q)``, then the total derivatives put in.

Every step is checked, in one batch, against ``sympy.diff`` taken twice of the fully substituted
loss (:func:`symgrad.core.verify.same_all`); a failed check is a VerificationError. For MSE with
a linear model the entries are ``(2/N) Σ_i x_ip x_iq``, i.e. ``H = (2/N) X̃ᵀX̃`` with
``X̃ = [X, 1]``; for BCE with logistic regression ``(1/N) Σ_i ŷ_i (1 − ŷ_i) x_ip x_iq``, i.e.
``H = (1/N) X̃ᵀ diag(ŷ(1 − ŷ)) X̃``.

The entries are in ``meta["hessian"]`` (:class:`Entry` records) for the printers and for
:mod:`symgrad.numerics.hessian`, which evaluates them on data.

>>> from symgrad.core.derive import derive
>>> d = with_hessian(derive("bce", "logistic"))
>>> d.verified, [(e.row, e.col, str(e.named)) for e in d.meta["hessian"]][1]
(True, ('w', 'b', 'Sum(x_i*yhat_i*(1 - yhat_i), (i, 1, N))/N'))
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import sympy as sp

from symgrad.core.derive import AGAINST, in_named_terms, tidy
from symgrad.core.errors import VerificationError
from symgrad.core.functions import elementary
from symgrad.core.graph import Graph, N
from symgrad.core.steps import Derivation, Kind, Partial, Rule, Step
from symgrad.core.verify import combined, same_all

__all__ = ["Entry", "with_hessian"]


@dataclass(frozen=True)
class Entry:
    """One Hessian entry ``∂²L/∂col∂row`` (row <= col in parameter order).

    ``named`` is the lecture's form (intermediates kept); numerically the entry is
    ``scale · Σ_i term + extra`` with ``term`` in parameters and per-sample data, like a
    :class:`~symgrad.core.steps.Gradient` (no sum when the graph is not a loss over samples).
    """

    row: str
    col: str
    named: sp.Expr
    scale: sp.Expr
    term: sp.Expr
    extra: sp.Expr


def _split(named: sp.Expr) -> tuple[sp.Expr, sp.Sum | None, sp.Expr]:
    """``named`` as ``scale · Σ_i T + rest`` (no sum: ``(1, None, named)``)."""
    for term in sp.Add.make_args(named):
        sums = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.Sum)]
        if len(sums) == 1:
            scale = sp.Mul(*[f for f in sp.Mul.make_args(term) if f is not sums[0]])
            return scale, sums[0], named - term
    return sp.Integer(1), None, named


class _Totals:
    """Total derivatives ``∂u/∂q`` of the graph's intermediates, along the graph, with the steps
    that derive them (each once)."""

    def __init__(self, d: Derivation) -> None:
        self.graph = d.graph
        self.local = {(s.lhs.of, s.lhs.wrt): s.result for s in d.steps
                      if s.kind is Kind.LOCAL and isinstance(s.lhs, Partial)}
        self.values: dict[tuple[sp.Symbol, sp.Symbol], sp.Expr] = {}
        self.steps: list[Step] = []

    def _local(self, node: sp.Symbol, s: sp.Symbol) -> sp.Expr:
        if (node, s) in self.local:
            return self.local[(node, s)]
        return in_named_terms(self.graph.node(node).local(s), self.graph)

    def of(self, u: sp.Symbol, q: sp.Symbol) -> sp.Expr:
        """``∂u/∂q`` in named terms; ``q`` a parameter, ``u`` a node, parameter or data symbol."""
        g = self.graph
        if u == q:
            return sp.Integer(1)
        if u not in g.definitions:
            return sp.Integer(0)
        if (u, q) in self.values:
            return self.values[(u, q)]
        node = g.node(u)
        inputs = [s for s in g.inputs(node) if s not in g.params or s == q]
        paths = [(s, self.of(s, q)) for s in inputs]
        paths = [(s, v) for s, v in paths if v != 0]
        value = tidy(sp.Add(*[self._local(u, s) * v for s, v in paths]), g)
        self.values[(u, q)] = value
        if any(s != q for s, _ in paths):  # through an intermediate: the chain written out
            product = sp.Add(*[self._local(u, s) * v for s, v in paths])
            written = sp.Add(*[self._local(u, s) if v == 1 else
                               sp.Mul(self._local(u, s), v, evaluate=False) for s, v in paths])
            # the product written out only when tidying changed it (not (a(1 - a))·x = a(1 - a)x)
            forms = [sp.Add(*[Partial(u, s) * (Partial(s, q) if s != q else 1)
                              for s, _ in paths]),
                     *([] if product == value else [written]),
                     value]
            self.steps.append(Step(Kind.HESSIAN, (Rule.CHAIN,), Partial(u, q), _distinct(forms),
                                   None))
        return value


def _sum(body: sp.Expr, limits: tuple, per_sample: set[sp.Symbol]) -> sp.Sum | sp.Expr:
    """``Σ_i body``, done when the body holds no per-sample symbol (``Σ_i 1 = N``)."""
    out = sp.Sum(body, *limits)
    return out if body.free_symbols & per_sample else out.doit()


def _distinct(forms: list[sp.Expr]) -> tuple[sp.Expr, ...]:
    out: list[sp.Expr] = []
    for f in forms:
        if not out or f != out[-1]:
            out.append(f)
    return tuple(out)


def with_hessian(d: Derivation) -> Derivation:
    """``d`` with the Hessian of its loss over the parameters it has gradients for, each entry
    derived step by step and checked (see the module docstring).

    >>> from symgrad.core.derive import derive
    >>> d = with_hessian(derive("mse", "linear"))
    >>> [str(e.named) for e in d.meta["hessian"]]
    ['2*Sum(x_i**2, (i, 1, N))/N', '2*Sum(x_i, (i, 1, N))/N', '2']
    >>> print(d.steps[-1])  # doctest: +ELLIPSIS
    Step(kind=<Kind.HESSIAN: 'hessian'>, ...
    """
    g = d.graph
    totals = _Totals(d)
    grads = list(d.gradients.values())
    steps: list[Step] = []
    entries: list[Entry] = []
    claims: list[tuple[int, sp.Expr, sp.Expr]] = []
    full = _Full(g)
    for j, gj in enumerate(grads):
        scale, total, rest = _split(gj.named)
        body = total.function if total is not None else rest
        kept = sorted((s for s in body.free_symbols if s in g.definitions), key=str)
        for gk in grads[j:]:
            q = gk.wrt
            chain = sp.Add(*[sp.diff(body, u) * Partial(u, q) for u in kept]) + sp.diff(body, q)
            before = len(totals.steps)
            inner = tidy(sp.Add(*[sp.diff(body, u) * totals.of(u, q) for u in kept])
                         + sp.diff(body, q), g)
            for s in totals.steps[before:]:  # each total derivative, when first needed
                steps.append(s)
                claims.append((len(steps) - 1, full(s.result),
                               sp.diff(full.of(s.lhs.of), s.lhs.wrt)))
            if total is None:
                extra = sp.Integer(0)
                written, named = chain, inner
            else:
                extra = tidy(sp.diff(rest, q), g)
                written = scale * sp.Sum(chain, total.limits) + extra
                named = scale * _sum(inner, total.limits, g.per_sample()) + extra
            lhs = Partial(g.result_symbol, gj.wrt, q)
            rules = (Rule.SECOND_DERIVATIVE, Rule.CHAIN) if kept else (Rule.SECOND_DERIVATIVE,)
            steps.append(Step(Kind.HESSIAN, rules, lhs, _distinct([written, named]), None))
            entry = Entry(str(gj.wrt), str(q), named, scale if total is not None else 1,
                          full(inner), extra)
            entries.append(entry)
            claims += [(len(steps) - 1, *pair) for pair in full.claims(entry, gj.wrt, q)]
    checks = same_all([(a, b) for _, a, b in claims], simplex=g.sum_to_one)
    decided: dict[int, list] = {}
    for (k, _, _), c in zip(claims, checks, strict=True):
        if not c.passed:
            raise VerificationError(f"Hessian step {steps[k].lhs} does not match sympy.diff "
                                    "taken twice: symgrad has a bug")
        decided.setdefault(k, []).append(c)
    steps = [dataclasses.replace(s, check=dataclasses.replace(combined(decided[k]),
                                                              against=AGAINST_TWICE))
             for k, s in enumerate(steps)]
    title = f"{d.title}, with its Hessian" if d.title else "the Hessian"
    return dataclasses.replace(d, steps=(*d.steps, *steps), title=title,
                               meta={**d.meta, "hessian": tuple(entries)})


AGAINST_TWICE = AGAINST.replace("sympy.diff", "sympy.diff (twice)", 1)


class _Full:
    """Full substitution and the independent reference: sympy.diff twice of the whole loss."""

    def __init__(self, g: Graph) -> None:
        self.graph = g
        self._fulls: dict[sp.Symbol, sp.Expr] = {}
        for n in g.nodes:
            self._fulls[n.symbol] = n.expr.xreplace(self._fulls)
        self.sample = elementary(self(g.output))

    def __call__(self, e: sp.Expr) -> sp.Expr:
        return e.xreplace(self._fulls)

    def of(self, s: sp.Symbol) -> sp.Expr:
        return elementary(self(s))

    def claims(self, e: Entry, p: sp.Symbol, q: sp.Symbol) -> list[tuple[sp.Expr, sp.Expr]]:
        """``scale · term_i = (1/N) ∂²ℓ_i/∂q∂p`` for one generic sample (N free) and the penalty
        part, as :class:`symgrad.core.derive` checks a gradient; or the whole expression."""
        g = self.graph
        twice = sp.diff(self.sample, p, q)
        if not g.mean_over_samples:
            return [(e.term + e.extra, twice)]
        return [(e.scale * e.term, twice / N),
                (e.extra, sp.diff(elementary(g.penalty), p, q))]

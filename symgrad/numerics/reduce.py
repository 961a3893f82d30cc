"""Symbolic data reduction: expand the sum over samples so the data enter only through statistics.

When the per-sample loss is a polynomial in the parameters and the data (MSE with a linear model,
any number of features, optional l2 penalty), every sum over samples splits into
``sum over parameter monomials of (monomial) * (sum over samples of a data monomial)``:

    dL/dw = (2/N) sum_i x_i (w x_i + b - y_i) = (2/N) (w sum x_i^2 + b sum x_i - sum x_i y_i)

The statistics (``sum x_i^2``, ``sum x_i y_i``, ..., in matrix form X^T X and X^T y) are computed
once, in one pass over the data; after that every gradient-descent step costs O(1) in N. Setting
the reduced gradient to zero gives the normal equations, whose solution is the closed form.

Each reduced gradient is a :class:`~symgrad.core.steps.Step` of kind ``REDUCTION``, checked like
the engine's own steps: the statistics written out for three samples must give ``sympy.diff`` of
the loss written out for those samples.

>>> from symgrad.core.derive import derive
>>> r = reduce_derivation(derive("mse", "linear"))
>>> from symgrad.render.text import step_text
>>> print(step_text(r.steps[0]))
∂L/∂w = (2/N)·(b·Σᵢ xᵢ + w·Σᵢ xᵢ² − Σᵢ xᵢ·yᵢ)    [expand the sum over samples]
>>> import numpy as np
>>> X, y = np.array([[1.0], [2.0], [3.0]]), np.array([3.0, 5.0, 7.0])
>>> stats = r.statistics(X, y)
>>> loss, grad = r.evaluate(np.array([0.0, 0.0]), stats)
>>> round(loss, 12), grad.round(12).tolist()
(27.666666666667, [-22.666666666667, -10.0])
>>> {k: round(v, 12) for k, v in r.closed_form(stats).items()}
{'w': 2.0, 'b': 1.0}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import sympy as sp

from symgrad.core.catalogue import LAMBDA
from symgrad.core.derive import _check
from symgrad.core.errors import DataError
from symgrad.core.functions import elementary
from symgrad.core.graph import Graph, N, i
from symgrad.core.steps import Derivation, Kind, Partial, Rule, Step
from symgrad.core.verify import Check, Method, same_all

__all__ = ["Reduction", "reduce_derivation", "with_reduction"]

SAMPLES = 3


@dataclass(frozen=True, eq=False)
class Reduction:
    """The loss and gradients of a derivation in terms of data statistics.

    ``steps`` are the readable, verified ``reduction`` steps (one per gradient, plus the closed
    form for one feature); ``statistics(X, y)`` computes the statistics once (the Gram matrix of
    ``[1, X, y]``); ``evaluate(theta, stats)`` gives ``(loss, grad)`` over all parameters in
    graph order; ``closed_form(stats)`` solves the normal equations.
    """

    names: tuple[str, ...]
    steps: tuple[Step, ...]
    loss: sp.Expr
    gradients: dict[str, sp.Expr]
    n_features: int
    _index: tuple[tuple[int, int], ...]
    _f: Callable[..., Any]
    _system: Callable[..., Any]
    l2: float

    def statistics(self, X: Any, y: Any) -> np.ndarray:
        """The statistics the reduced loss needs, in one pass over the data (O(N k^2)).

        The data are centred first: the statistics are the Gram matrix ``A.T @ A`` of
        ``A = [1, X - mean(X), y - mean(y)]`` (N, sums of centred monomials) followed by the means.
        Sums of raw monomials would lose the loss to cancellation once the data sit far from 0
        (targets near 1e10: sum y^2 ~ 1e20 N, the loss ~ 1e-2).
        """
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if X.ndim == 1:
            X = X[:, None]
        if X.shape[1] != self.n_features or X.shape[0] != y.shape[0]:
            raise DataError(f"data of shape {X.shape}, {y.shape} for {self.n_features} feature(s)")
        A = np.empty((X.shape[0], self.n_features + 2))
        A[:, 0] = 0.0
        A[:, 1:-1] = X
        A[:, -1] = y
        # the column means by BLAS (A.mean(axis=0) reduces a strided column: 4x slower); any
        # centre serves, the statistics carry the one they were taken around. The ones are this
        # call's own: once per fit, not worth keeping a data-sized array for the process
        means = np.ones(A.shape[0]) @ A / A.shape[0]
        A -= means
        A[:, 0] = 1.0
        G = A.T @ A
        return np.array([G[r, c] for r, c in self._index] + means[1:].tolist())

    def evaluate(self, theta: np.ndarray, stats: np.ndarray) -> tuple[float, np.ndarray]:
        """Loss and gradient at ``theta`` from the statistics alone (no pass over the data)."""
        out = self._f(*theta, *stats)
        return float(out[0]), np.array(out[1:], dtype=np.float64)

    def closed_form(self, stats: np.ndarray) -> dict[str, float] | None:
        """The parameters where the gradient is zero (normal equations), None if singular.

        The solve is refined twice with the gradient from :meth:`evaluate` (the system is
        ``M theta = v``, the gradient ``M theta - v``), so large offsets in the data cost no digits.
        """
        M, v = self._system(*stats)
        M = np.asarray(M, dtype=np.float64)
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(M)) or np.linalg.matrix_rank(M) < M.shape[0]:
            return None
        sol = np.linalg.solve(M, v)
        for _ in range(2):
            sol = sol - np.linalg.solve(M, self.evaluate(sol, stats)[1])
        return {name: float(x) for name, x in zip(self.names, sol, strict=True)}


def _data_monomials(term: sp.Expr, params: tuple, data: tuple) -> dict | None:
    """``term`` as {param monomial: {data monomial: coefficient}}, or None if not polynomial."""
    try:
        poly = sp.Poly(sp.expand(term), *params, *data)
    except sp.PolynomialError:
        return None
    if not poly.domain.is_Numerical:
        return None
    out: dict[sp.Expr, dict[sp.Expr, sp.Expr]] = {}
    k = len(params)
    for exps, coeff in poly.terms():
        if sum(exps[k:]) > 2:
            return None
        pm = sp.Mul(*[p**e for p, e in zip(params, exps[:k], strict=True)])
        dm = sp.Mul(*[s**e for s, e in zip(data, exps[k:], strict=True)])
        out.setdefault(pm, {})
        out[pm][dm] = out[pm].get(dm, 0) + coeff
    return out


def _reduced(term: sp.Expr, g: Graph, stat: dict) -> sp.Expr | None:
    """sum_i term as a sum of parameter monomials times sums of data monomials (display form)."""
    parts = _data_monomials(term, g.params, g.data)
    if parts is None:
        return None
    out = []
    for pm, datas in parts.items():
        inner = []
        for dm, c in datas.items():
            if dm == 1:
                inner.append(c * N)
            else:
                s = stat.setdefault(dm, sp.Sum(dm, (i, 1, N)))
                inner.append(c * s)
        out.append(sp.Mul(pm, sp.Add(*inner)))
    return sp.Add(*out)


def reduce_derivation(d: Derivation) -> Reduction | None:
    """The statistics form of a derivation, or None when its loss is not polynomial.

    See the module docstring; the steps are verified (a failed check raises
    :class:`~symgrad.core.errors.VerificationError`).
    """
    g = d.graph
    if not g.mean_over_samples or len(g.labels) != 1:
        return None
    stat: dict[sp.Expr, sp.Sum] = {}
    ell = g.full(g.output)
    loss_sum = _reduced(ell, g, stat)
    if loss_sum is None:
        return None
    loss = loss_sum / N + g.penalty
    loss_shown = _outside(loss_sum, stat)
    if g.penalty != 0:
        loss_shown = sp.Add(loss_shown, g.penalty, evaluate=False)
    grads: dict[str, sp.Expr] = {}
    shown: dict[str, sp.Expr] = {}
    for p in g.params:
        total = _reduced(sp.diff(ell, p), g, stat)
        if total is None:
            return None
        extra = sp.diff(g.penalty, p)
        grads[str(p)] = total / N + extra
        display = _outside(total, stat)
        shown[str(p)] = display if extra == 0 else sp.Add(display, extra, evaluate=False)

    # verify: with three samples written out, the reduced gradient is sympy.diff of the loss
    ref_loss, renames = (
        0,
        [{s: sp.Dummy(f"{s.name}{k}", real=True) for s in g.data} for k in range(SAMPLES)],
    )
    for r in renames:
        ref_loss += elementary(ell).xreplace(r)
    ref_loss = ref_loss / SAMPLES + g.penalty

    def written(e: sp.Expr) -> sp.Expr:
        sums = {s: sp.Add(*[s.function.xreplace(r) for r in renames]) for s in e.atoms(sp.Sum)}
        return e.xreplace(sums).subs(N, SAMPLES)

    steps: list[Step] = []
    result = g.result_symbol
    claims = [(written(loss), ref_loss)] + [
        (written(grads[str(p)]), sp.diff(ref_loss, p)) for p in g.params
    ]
    against = f"sympy.diff of the loss written out for {SAMPLES} samples"
    checks = [replace(c, against=against) for c in same_all(claims)]
    lhss = [result] + [Partial(result, p) for p in g.params]
    forms = [loss_shown] + [shown[str(p)] for p in g.params]
    for lhs, form, c in zip(lhss, forms, checks, strict=True):
        _check(c.passed, f"{lhs} in statistics")
        steps.append(Step(Kind.REDUCTION, (Rule.EXPAND_SUMS,), lhs, (form,), c))
    # keep the loss step after the gradients: the gradients are what a student reads first
    steps = steps[1:] + steps[:1]

    # numeric side: the data centred (s = mean_s + centred s), each sum of a centred monomial an
    # entry of the Gram matrix of [1, x - mean x, y - mean y], the means plain numbers
    means = {s: sp.Dummy(f"mean_{s}", real=True) for s in g.data}
    pos = {s: k + 1 for k, s in enumerate(g.features)} | {g.labels[0]: len(g.features) + 1}
    monomials: dict[sp.Expr, sp.Dummy] = {}
    n_sym = sp.Dummy("N", positive=True)
    l2 = float(d.meta.get("l2", 0.0))

    def centred(term: sp.Expr, penalty: sp.Expr) -> sp.Expr:
        """(1/N) sum_i term + penalty over centred statistics, each coefficient factored."""
        shifted = sp.expand(term.xreplace({s: s + means[s] for s in g.data}))
        poly = sp.Poly(shifted, *g.data)
        total = []
        for exps, coeff in zip(poly.monoms(), poly.coeffs(), strict=True):
            dm = sp.Mul(*[s**e for s, e in zip(g.data, exps, strict=True)])
            stat = n_sym if dm == 1 else monomials.setdefault(dm, sp.Dummy(f"S{len(monomials)}"))
            total.append(sp.factor(coeff) * stat)  # (b + w mean_x - mean_y)^2, not b^2 - ...
        return sp.Add(*total) / n_sym + penalty.subs(LAMBDA, l2)

    exprs = [centred(ell, g.penalty)]
    exprs += [centred(sp.diff(ell, p), sp.diff(g.penalty, p)) for p in g.params]
    syms = [*monomials.values(), n_sym, *means.values()]
    index = [_gram_index(m, pos) for m in monomials] + [(0, 0)]
    f = sp.lambdify([*g.params, *syms], exprs, modules="numpy", cse=True)
    M, v = sp.linear_eq_to_matrix(exprs[1:], list(g.params))
    system = sp.lambdify(syms, [M, v], modules="numpy")

    if len(g.features) == 1 and len(g.params) == 2:
        steps += _closed_form_steps(g, grads, result)

    return Reduction(
        names=tuple(str(p) for p in g.params),
        steps=tuple(steps),
        loss=loss,
        gradients=grads,
        n_features=len(g.features),
        _index=tuple(index),
        _f=f,
        _system=system,
        l2=l2,
    )


def _outside(total: sp.Expr, stat: dict) -> sp.Expr:
    """``(c/N)·(...)`` with the numeric factor c outside, as a lecturer writes it.

    The sums are swapped for plain symbols first: SymPy would treat x_i inside a Sum as a
    constant and pull it out.
    """
    sums = {s: sp.Dummy(f"S{k}") for k, s in enumerate(stat.values())}
    back = {v: k for k, v in sums.items()}
    content, primitive = sp.factor_terms(total.xreplace(sums)).as_coeff_Mul()
    return sp.Mul(content / N, primitive.xreplace(back), evaluate=False)


def _gram_index(m: sp.Expr, pos: dict) -> tuple[int, int]:
    powers = m.as_powers_dict()
    idx = [pos[s] for s, e in powers.items() for _ in range(int(e))]
    return (0, idx[0]) if len(idx) == 1 else (idx[0], idx[1])


def _closed_form_steps(g: Graph, grads: dict[str, sp.Expr], result: sp.Symbol) -> list[Step]:
    """Set the reduced gradient to zero and solve (one feature): the textbook formulas."""
    atoms = set().union(*[e.atoms(sp.Sum) for e in grads.values()])
    sums = {s: sp.Dummy(f"S{k}", positive=True) for k, s in enumerate(sorted(atoms, key=str))}
    back = {v: k for k, v in sums.items()}
    eqs = [e.xreplace(sums) for e in grads.values()]
    sol = sp.solve(eqs, list(g.params), dict=True)
    if len(sol) != 1 or set(sol[0]) != set(g.params):
        return []
    # check: the solution makes every reduced gradient zero, the statistics being any numbers
    ok = all(sp.expand(sp.numer(sp.together(e.xreplace(sol[0])))) == 0 for e in eqs)
    _check(ok, "closed form")
    check = Check(Method.SYMBOLIC, ok, against="the reduced gradients, which it makes zero")
    return [
        Step(Kind.REDUCTION, (Rule.NORMAL_EQUATIONS,), p, (sp.factor(sol[0][p]).xreplace(back),),
             check)
        for p in g.params
    ]


def with_reduction(d: Derivation) -> Derivation:
    """The derivation with its reduction steps appended (unchanged when it has none).

    >>> from symgrad.core.derive import derive
    >>> [s.rules for s in with_reduction(derive("mse", "linear")).steps
    ...  if s.kind is Kind.REDUCTION][:1]
    [(<Rule.EXPAND_SUMS: 'expand the sum over samples'>,)]
    """
    r = reduce_derivation(d)
    return d if r is None else replace(d, steps=d.steps + r.steps)

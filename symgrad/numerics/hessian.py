"""The Hessian on data: a derivation's Hessian entries compiled over the samples, and what it
says about gradient descent (its eigenvalues, the largest stable learning rate ``2/λ_max`` and
the condition number ``λ_max/λ_min``).

>>> import numpy as np
>>> from symgrad.core.derive import derive
>>> from symgrad.core.hessian import with_hessian
>>> h = compile_hessian(with_hessian(derive("mse", "linear")))
>>> X, y = np.array([[1.0], [2.0], [3.0]]), np.array([1.0, 2.0, 2.0])
>>> h.matrix(np.array([0.0, 0.0]), X, y).tolist()  # (2/N) [X, 1]^T [X, 1]
[[9.333333333333334, 4.0], [4.0, 2.0]]
>>> c = curvature(h.matrix(np.zeros(2), X, y))
>>> round(c.stable_lr, 6), round(c.condition_number, 3)
(0.180295, 46.145)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp

from symgrad.core.catalogue import LAMBDA
from symgrad.core.errors import OptionError
from symgrad.core.graph import N
from symgrad.core.hessian import Entry
from symgrad.core.steps import Derivation
from symgrad.numerics.compile import lambdify

__all__ = ["CompiledHessian", "Curvature", "compile_hessian", "curvature"]


@dataclass(frozen=True, eq=False)
class CompiledHessian:
    """``matrix(theta, X, Y)``: the Hessian over ``names`` (the parameters with gradients, in
    graph order) at ``theta`` (over all the graph's parameters, as
    :class:`~symgrad.numerics.compile.CompiledGradient`), on prepared data."""

    names: tuple[str, ...]
    entries: tuple[Entry, ...]
    _terms: Callable[..., list]
    _extras: np.ndarray

    def matrix(self, theta: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        n = X.shape[0]
        ycols = [*Y.T] if Y.ndim == 2 else [Y]
        out = self._terms(*theta, *X.T, *ycols)
        k = len(self.names)
        H = np.zeros((k, k))
        where = {name: j for j, name in enumerate(self.names)}
        for e, o, extra in zip(self.entries, out, self._extras, strict=True):
            v = float(np.sum(np.broadcast_to(o, (n,)))) / n + extra
            H[where[e.row], where[e.col]] = H[where[e.col], where[e.row]] = v
        return H

    def values(self, theta: np.ndarray, X: np.ndarray, Y: np.ndarray) -> dict[str, float]:
        """The entries by ``"row,col"`` (what ``symgrad derive --hessian --format json`` shows)."""
        H = self.matrix(theta, X, Y)
        where = {name: j for j, name in enumerate(self.names)}
        return {f"{e.row},{e.col}": float(H[where[e.row], where[e.col]]) for e in self.entries}


def compile_hessian(d: Derivation) -> CompiledHessian:
    """Lambdify the Hessian entries of :func:`symgrad.core.hessian.with_hessian`'s derivation
    over the samples (``scale · Σ_i term + extra``, the penalty's λ at the derivation's ``l2``).
    """
    g = d.graph
    entries = d.meta.get("hessian")
    if entries is None:
        raise OptionError("the derivation has no Hessian: derive it with with_hessian(...)")
    if not g.mean_over_samples:
        raise OptionError("only losses over samples compile to a Hessian on data")
    params = [p for p in g.params if str(p) in d.gradients]
    names = tuple(str(p) for p in params)
    l2 = float(d.meta.get("l2", 0.0) or 0.0)
    terms = lambdify([*params, *g.features, *g.labels],
                     [sp.sympify(e.scale * e.term).subs(N, 1) for e in entries])
    extras = np.array([float(sp.sympify(e.extra).subs(LAMBDA, l2)) for e in entries])
    return CompiledHessian(names, tuple(entries), terms, extras)


@dataclass(frozen=True)
class Curvature:
    """What a Hessian says about gradient descent on the quadratic it describes.

    ``eigenvalues`` ascending; ``stable_lr = 2/λ_max`` (gradient descent converges on the
    quadratic for ``lr`` below it and diverges above it); ``condition_number = λ_max/λ_min``
    (inf when the Hessian is singular or not positive definite): how many times slower the
    flattest direction is than the steepest one.
    """

    eigenvalues: tuple[float, ...]
    lambda_max: float
    lambda_min: float
    stable_lr: float
    condition_number: float

    def to_dict(self) -> dict[str, object]:
        return {"eigenvalues": list(self.eigenvalues), "lambda_max": self.lambda_max,
                "lambda_min": self.lambda_min, "stable_lr": self.stable_lr,
                "condition_number": self.condition_number}


def curvature(H: np.ndarray) -> Curvature:
    """The eigenvalues of the symmetric matrix ``H``, ``2/λ_max`` and ``λ_max/λ_min``.

    >>> c = curvature(np.diag([1.0, 4.0]))
    >>> c.stable_lr, c.condition_number
    (0.5, 4.0)
    """
    ev = np.linalg.eigvalsh(np.asarray(H, dtype=np.float64))
    lo, hi = float(ev[0]), float(ev[-1])
    stable = 2.0 / hi if hi > 0 else math.inf
    cond = hi / lo if lo > 0 else math.inf
    return Curvature(tuple(float(v) for v in ev), hi, lo, stable, cond)

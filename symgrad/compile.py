"""The lambdify boundary: a derivation becomes NumPy functions, vectorized over samples.

Per-sample terms are lambdified once (with common subexpressions eliminated) and summed in NumPy,
so no Python loop runs per sample. Past this module everything is NumPy.

>>> import numpy as np
>>> from symgrad.derive import derive
>>> f = compile_gradient(derive("mse", "linear"))
>>> x, y = np.array([[1.0], [2.0]]), np.array([1.0, 3.0])
>>> loss, grads = f({"w": 1.0, "b": 0.0}, x, y)
>>> float(loss), float(grads["w"]), float(grads["b"])
(0.5, -2.0, -1.0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp

from . import kernels
from .catalogue import LAMBDA
from .derive import Derivation
from .errors import DataError, OptionError
from .graph import N

#: NumPy implementations of symgrad's SymPy functions, stable for large arguments.
NUMPY_FUNCTIONS: dict[str, Callable] = {
    "sigmoid": kernels.sigmoid,
    "softplus": kernels.softplus,
    "relu": kernels.relu,
    "leaky_relu": kernels.leaky_relu,
}


def lambdify(args: list[sp.Symbol], exprs: list[sp.Expr]) -> Callable:
    """``sympy.lambdify`` into NumPy with symgrad's stable kernels and CSE."""
    return sp.lambdify(args, exprs, modules=[NUMPY_FUNCTIONS, "numpy"], cse=True)


@dataclass(frozen=True)
class CompiledGradient:
    """``f(params, X, Y) -> (loss, {name: gradient})`` for one derivation; X is (N, k)."""

    names: tuple[str, ...]
    wrt: tuple[str, ...]
    n_features: int
    n_labels: int
    per_sample: Callable
    scales: tuple[Callable, ...]
    penalty: Callable
    extras: tuple[Callable, ...]
    l2: float

    def __call__(
        self, params: dict[str, float], X: np.ndarray, Y: np.ndarray
    ) -> tuple[float, dict[str, float]]:
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        Y2 = Y[:, None] if Y.ndim == 1 else Y
        if X.shape[1] != self.n_features:
            raise DataError(f"the model has {self.n_features} feature(s), the data {X.shape[1]}")
        if Y2.shape[1] != self.n_labels:
            raise DataError(f"the model expects {self.n_labels} label column(s), got {Y2.shape[1]}")
        missing = [n for n in self.names if n not in params]
        if missing:
            raise OptionError(f"no value given for parameter(s): {', '.join(missing)}")
        n = X.shape[0]
        values = [float(params[k]) for k in self.names]
        out = self.per_sample(*values, *X.T, *Y2.T)
        loss = float(np.mean(np.broadcast_to(out[0], (n,)))) + self.penalty(*values, self.l2)
        grads = {}
        for k, name in enumerate(self.wrt):
            total = np.sum(np.broadcast_to(out[k + 1], (n,)))
            grads[name] = float(self.scales[k](n) * total + self.extras[k](*values, self.l2))
        return loss, grads


def compile_gradient(d: Derivation) -> CompiledGradient:
    """Lambdify a derivation's per-sample loss and gradient terms (see the module example)."""
    g = d.graph
    if not g.mean_over_samples:
        raise OptionError("only losses over samples compile to a data gradient")
    args = [*g.params, *g.features, *g.labels]
    per_sample = lambdify(args, [g.full(g.output)] + [gr.term for gr in d.gradients.values()])
    with_l2 = [*g.params, LAMBDA]
    return CompiledGradient(
        names=tuple(str(p) for p in g.params),
        wrt=tuple(d.gradients),
        n_features=len(g.features),
        n_labels=len(g.labels),
        per_sample=per_sample,
        scales=tuple(sp.lambdify([N], gr.scale) for gr in d.gradients.values()),
        penalty=sp.lambdify(with_l2, g.penalty),
        extras=tuple(sp.lambdify(with_l2, gr.extra) for gr in d.gradients.values()),
        l2=float(d.meta.get("l2", 0.0)),
    )

"""The lambdify boundary: a derivation becomes NumPy functions, vectorized over samples.

Two strategies, chosen from the structure the engine already found:

* **linear scores** (linear, logistic and softmax models: every parameter enters through scores
  ``z_i = w . x_i + b``). The chain steps give ``dL/dz_i``; ``delta_i = N dL/dz_i`` is lambdified
  once over the sample arrays (with CSE, in symgrad's stable kernels), and then
  ``dL/dw = X.T @ delta / N``, ``dL/db = sum(delta) / N``: two dot products, no column per feature.
  The loss is evaluated from the scores in a stable form: ``log sigma(z)`` becomes
  ``z - softplus(z)`` and ``log(1 - sigma(z))`` becomes ``-softplus(z)`` (BCE = softplus(z) - y z),
  and ``log p_k`` of a softmax becomes ``log_softmax(z)_k``; ``sigma`` itself never overflows.
  BCE with a sigmoid, recognised in the derived expressions, runs one fused kernel that shares
  ``exp(-|z|)`` between the loss and ``delta``.
* **per-sample terms** (anything else): the per-sample loss and gradient terms, with CSE, applied
  to the data columns and summed in NumPy.

Either way nothing runs per sample in Python, everything is float64, and past this module
everything is NumPy.

>>> import numpy as np
>>> from symgrad.core.derive import derive
>>> f = compile_gradient(derive("mse", "linear"))
>>> x, y = np.array([[1.0], [2.0]]), np.array([1.0, 3.0])
>>> loss, grads = f({"w": 1.0, "b": 0.0}, x, y)
>>> float(loss), float(grads["w"]), float(grads["b"])
(0.5, -2.0, -1.0)
>>> f.strategy
'linear scores'
>>> g = compile_gradient(derive("bce", "logistic"))
>>> loss, grads = g({"w": 1.0, "b": 0.0}, np.array([[1e4], [-1e4]]), np.array([0.0, 1.0]))
>>> loss, grads["w"], grads["b"]
(10000.0, 10000.0, 0.0)
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from symgrad.core.catalogue import LAMBDA
from symgrad.core.derive import Derivation, Partial
from symgrad.core.errors import DataError, OptionError
from symgrad.core.functions import FUNCTIONS, huber, relu, sigmoid, softplus
from symgrad.core.graph import Graph, N
from symgrad.core.parse import parse_names
from symgrad.core.steps import Kind
from symgrad.core.verify import same
from symgrad.numerics import kernels
from symgrad.numerics.data import one_hot

__all__ = ["CompiledGradient", "compile_gradient", "lambdify", "prepare", "NUMPY_FUNCTIONS"]

#: NumPy implementations of symgrad's SymPy functions, stable for large arguments.
#: The name lambdify prints -> its NumPy function: the function registry's stable kernels.
NUMPY_FUNCTIONS: dict[str, Callable] = {
    record.name: record.kernel for record in FUNCTIONS.values() if record.kernel is not None
}


def lambdify(args: Sequence[Any], exprs: Any) -> Callable:
    """``sympy.lambdify`` into NumPy with symgrad's stable kernels and CSE."""
    return sp.lambdify(args, exprs, modules=[NUMPY_FUNCTIONS, "numpy"], cse=True)


def prepare(X: Any, Y: Any, n_features: int, n_labels: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``X`` as a C-contiguous float64 (N, k) array and ``Y`` as (N,) (one label) or (N, K).

    >>> X, Y = prepare([1, 2], [0, 1], 1)
    >>> X.shape, Y.shape, X.dtype
    ((2, 1), (2,), dtype('float64'))
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if n_labels == 1 and Y.ndim == 2 and Y.shape[1] == 1:
        Y = Y[:, 0]
    if X.ndim != 2 or X.shape[1] != n_features:
        raise DataError(f"the model has {n_features} feature(s), the data {X.shape[1:]}")
    labels = 1 if Y.ndim == 1 else Y.shape[1]
    if labels != n_labels or Y.ndim > 2:
        raise DataError(f"the model expects {n_labels} label column(s), got {labels}")
    if Y.shape[0] != X.shape[0]:
        raise DataError(f"{X.shape[0]} rows of features but {Y.shape[0]} labels")
    return X, Y


# -------------------------------------------------------------------------------------------------
# work arrays reused from call to call (the gradient-only path)

_THREAD = threading.local()


def _scratch(n: int) -> np.ndarray:
    """A float64 work array of ``n`` numbers owned by the calling thread, reused by every call
    (no fresh n-array per gradient); nothing returned to a caller aliases it. It keeps the
    largest size asked for: 8 MB per thread after a gradient over 1e6 samples.

    >>> _scratch(3).shape
    (3,)
    """
    buf = getattr(_THREAD, "buf", None)
    if buf is None or buf.shape[0] < n:
        buf = _THREAD.buf = np.empty(n)
    return buf if buf.shape[0] == n else buf[:n]


# -------------------------------------------------------------------------------------------------
# the compiled function


@dataclass(frozen=True, eq=False)
class CompiledGradient:
    """``f(params, X, Y) -> (loss, {name: gradient})`` for one derivation; X is (N, k).

    ``f.vector(theta, X, Y) -> (loss, grad)`` is the fast form the training loop uses: ``theta``
    and ``grad`` are float64 arrays over ``names`` (every parameter of the graph, in graph order),
    and ``X``, ``Y`` must already be :func:`prepare`-d. ``strategy`` says which path was compiled.
    ``classes``: the labels are K classes (cross-entropy); calling accepts integer classes 0..K-1
    or one-hot/probability rows and refuses anything else (:func:`~symgrad.numerics.data.one_hot`).
    """

    names: tuple[str, ...]
    wrt: tuple[str, ...]
    n_features: int
    n_labels: int
    strategy: str
    _vector: Callable[..., tuple[float, np.ndarray]]
    classes: bool = False

    def vector(self, theta: np.ndarray, X: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
        """Loss and gradient (over all ``names``) at ``theta``; ``X``, ``Y`` as :func:`prepare`."""
        return self._vector(theta, X, Y)

    def gradient(self, theta: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """The gradient alone (the loss may be skipped), as :meth:`vector`."""
        return self._vector(theta, X, Y, False)[1]

    def theta(self, params: dict[str, Any]) -> np.ndarray:
        """The parameter vector from a ``{name: value}`` dict."""
        missing = [n for n in self.names if n not in params]
        if missing:
            raise OptionError(f"no value given for parameter(s): {', '.join(missing)}")
        return np.array([float(params[k]) for k in self.names], dtype=np.float64)

    def __call__(
        self, params: dict[str, float], X: np.ndarray, Y: np.ndarray
    ) -> tuple[float, dict[str, float]]:
        theta = self.theta(params)
        if self.classes:  # cross-entropy: integer classes or rows that sum to 1, checked
            Y = one_hot(Y, self.n_labels)
        X, Y = prepare(X, Y, self.n_features, self.n_labels)
        loss, grad = self._vector(theta, X, Y)
        where = {name: k for k, name in enumerate(self.names)}
        return float(loss), {name: float(grad[where[name]]) for name in self.wrt}


def compile_gradient(
    d: Derivation, constants: dict[str, float] | None = None
) -> CompiledGradient:
    """Lambdify a derivation's loss and gradient over the samples (see the module docstring).

    ``constants`` gives the values of the named constants of a typed penalty (``lam`` in
    ``mean(...) + lam*w^2``):

    >>> import numpy as np
    >>> from symgrad.core.derive import derive_expr
    >>> d = derive_expr("L = mean((w*x - y)^2) + lam*w^2", ["w"])
    >>> loss, grads = compile_gradient(d, {"lam": 0.5})({"w": 1.0}, np.array([[1.0]]), [3.0])
    >>> float(loss), float(grads["w"])
    (4.5, -3.0)
    """
    g = d.graph
    if not g.mean_over_samples:
        raise OptionError("only losses over samples compile to a data gradient")
    l2 = float(d.meta.get("l2", 0.0))
    scores = _linear_scores(g)
    vector = _score_path(d, scores) if scores is not None else None
    strategy = "linear scores"
    if vector is None:
        vector = _per_sample_path(d)
        strategy = "per-sample terms"
    if g.summed:  # a typed sum(...) without 1/N: the paths compute means
        vector = _times_samples(vector)
    vector = _with_penalty(vector, _penalty(g, l2, constants or {}))
    return CompiledGradient(
        names=tuple(str(p) for p in g.params),
        wrt=tuple(d.gradients),
        n_features=len(g.features),
        n_labels=len(g.labels),
        strategy=strategy,
        _vector=vector,
        classes=bool(g.sum_to_one),
    )


def _times_samples(vector: Callable[..., tuple[float, np.ndarray]]) -> Callable:
    """The loss and gradient of a sum over the samples from those of their mean."""

    def summed(theta: np.ndarray, X: np.ndarray, Y: np.ndarray, want_loss: bool = True):
        loss, grad = vector(theta, X, Y, want_loss)
        return loss * len(X), grad * len(X)

    return summed


def _penalty(
    g: Graph, l2: float, constants: dict[str, float]
) -> Callable[[np.ndarray, int], tuple[float, np.ndarray]] | None:
    """``(theta, N) -> (penalty, d penalty / d theta)``, or None without a penalty (N, the
    number of samples, may appear in it: w²/(2N))."""
    if g.penalty == 0:
        return None
    known = {LAMBDA: l2}
    for name, v in constants.items():  # the parser's names: lam is lambda
        read = parse_names(name)[0].name
        known |= {s: v for s in g.penalty.free_symbols if s.name == read}
    penalty = g.penalty.xreplace({s: sp.Float(v) for s, v in known.items()})
    missing = sorted(str(s) for s in penalty.free_symbols - {*g.params, N})
    if missing:
        raise OptionError(f"no value given for {', '.join(missing)} in the penalty (give "
                          f"{'it' if len(missing) == 1 else 'them'} in constants=)",
                          option="constants")
    value = sp.lambdify([g.params, N], penalty)
    grads = [sp.diff(penalty, p) for p in g.params]
    grad = sp.lambdify([g.params, N], grads)

    def penalty(theta: np.ndarray, n: int) -> tuple[float, np.ndarray]:
        return float(value(theta, n)), np.asarray(grad(theta, n), dtype=np.float64)

    return penalty


def _with_penalty(
    vector: Callable[..., tuple[float, np.ndarray]],
    penalty: Callable[[np.ndarray, int], tuple[float, np.ndarray]] | None,
) -> Callable[..., tuple[float, np.ndarray]]:
    """``vector`` with the penalty's value and gradient added (``vector`` itself without one)."""
    if penalty is None:
        return vector

    def penalized(
        theta: np.ndarray, X: np.ndarray, Y: np.ndarray, want_loss: bool = True
    ) -> tuple[float, np.ndarray]:
        loss, grad = vector(theta, X, Y, want_loss)
        pv, pg = penalty(theta, len(Y))
        loss += pv
        grad += pg
        return loss, grad

    return penalized


# -------------------------------------------------------------------------------------------------
# strategy 1: linear scores


@dataclass(frozen=True)
class _Score:
    """A node ``z = sum_j w_j x_j + b``: weight index per feature (-1: absent), bias index."""

    symbol: sp.Symbol
    weights: tuple[int, ...]
    bias: int


def _linear_scores(g: Graph) -> list[_Score] | None:
    """The nodes through which every parameter enters linearly, or None if there are none."""
    params = {p: k for k, p in enumerate(g.params)}
    features = {x: j for j, x in enumerate(g.features)}
    scores: list[_Score] = []
    used: set[sp.Symbol] = set()
    for n in g.nodes:
        own = n.expr.free_symbols & set(params)
        if not own:
            continue
        weights, bias = [-1] * len(features), -1
        for t in sp.Add.make_args(n.expr):
            if t in params and bias < 0:
                bias = params[t]
                continue
            factors = sp.Mul.make_args(t)
            if len(factors) != 2:
                return None
            p, x = (factors[0], factors[1]) if factors[0] in params else (factors[1], factors[0])
            if p not in params or x not in features or weights[features[x]] >= 0:
                return None
            weights[features[x]] = params[p]
        if own & used:
            return None
        used |= own
        scores.append(_Score(n.symbol, tuple(weights), bias))
    if used != set(params) or not scores:
        return None
    return scores


def _adjoint(d: Derivation, symbol: sp.Symbol) -> sp.Expr | None:
    """dL/d(symbol) from the derivation's chain steps."""
    target = Partial(d.graph.result_symbol, symbol)
    for s in d.steps:
        if s.kind is Kind.CHAIN and s.lhs == target:
            return s.result
    return None


def _softmax_nodes(g: Graph, zs: set[sp.Symbol]) -> dict[sp.Symbol, int]:
    """Nodes p_k = exp(z_k) / sum_j exp(z_j) over the scores: {p_k: k}."""
    order = [s for s in (n.symbol for n in g.nodes) if s in zs]
    total = sp.Add(*[sp.exp(z) for z in order])
    found = {}
    for n in g.nodes:
        for k, z in enumerate(order):
            if len(order) > 1 and n.expr == sp.exp(z) / total:
                found[n.symbol] = k
    return found if len(found) == len(order) else {}


def _score_path(
    d: Derivation, scores: list[_Score]
) -> Callable[..., tuple[float, np.ndarray]] | None:
    g = d.graph
    zs = [s.symbol for s in scores]
    softmax = _softmax_nodes(g, set(zs))
    ps = sorted(softmax, key=lambda p: softmax[p])
    logps = [sp.Dummy(f"log_{p}", real=True) for p in ps]
    labels = list(g.labels)

    # definitions below the scores, except the softmax outputs (computed by a stable kernel)
    keep = set(zs) | set(ps)
    below = {n.symbol: n.expr for n in g.nodes if n.symbol not in keep}

    deltas = []
    for z in zs:
        adj = _adjoint(d, z)
        if adj is None:
            return None
        delta = sp.expand(sp.piecewise_fold(g.substitute(adj, below) * N))
        if N in delta.free_symbols:
            return None
        deltas.append(delta)
    ell = g.substitute(g.output, below)
    ell_stable = _stable_logs(ell, zs, dict(zip(ps, logps, strict=True)))
    allowed = set(zs) | set(ps) | set(labels)
    if any(e.free_symbols - allowed for e in deltas) or ell_stable.free_symbols - (
        allowed | set(logps)
    ):
        return None

    # verify the structure against the engine's own gradients (never trust a pattern blindly)
    p_full = {p: sp.exp(zs[k]) / sp.Add(*[sp.exp(z) for z in zs]) for p, k in softmax.items()}
    z_full = {s.symbol: g.full(s.symbol) for s in scores}
    pidx = {str(p): k for k, p in enumerate(g.params)}
    for name, gr in d.gradients.items():
        k = pidx[name]
        claimed = 0
        for s, delta in zip(scores, deltas, strict=True):
            if s.bias == k:
                claimed += delta
            for j, widx in enumerate(s.weights):
                if widx == k:
                    claimed += delta * g.features[j]
        claimed = claimed.xreplace(p_full).xreplace(z_full)
        if not same(claimed, (gr.scale * N * gr.term).subs(N, 1), simplex=g.sum_to_one):
            return None
    back = {lp: sp.log(p) for p, lp in zip(ps, logps, strict=True)}
    if not same(
        ell_stable.xreplace(back).xreplace(p_full).xreplace(z_full),
        g.full(g.output),
        simplex=g.sum_to_one,
    ):
        return None

    K, k = len(scores), len(g.features)
    W_index = np.array([s.weights for s in scores], dtype=np.int64).reshape(K, k)
    W_mask = W_index >= 0
    W_index = np.where(W_mask, W_index, 0)
    b_index = np.array([s.bias for s in scores], dtype=np.int64)
    b_mask = b_index >= 0
    b_index = np.where(b_mask, b_index, 0)
    n_params = len(g.params)
    y_args = [sp.Dummy("y", real=True)] if len(labels) == 1 else labels
    fused = None
    if K == 1 and not ps:
        if _is_bce_logit(ell_stable, deltas[0], zs[0], labels[0]):
            fused = kernels.bce_loss_grad
        elif _is_squared_residual(ell_stable, deltas[0], zs[0], labels[0]):
            fused = kernels.squared_error_loss_grad
        else:
            fused = _kinked_kernel(ell_stable, deltas[0], zs[0], labels[0])

    if K == 1 and not ps:
        z = zs[0]
        ell_f = lambdify([z, labels[0]], ell_stable)
        delta_f = lambdify([z, labels[0]], deltas[0])
        w_idx, w_all = W_index[0], bool(W_mask.all())
        wmask0 = W_mask[0]
        b_i, has_b = int(b_index[0]), bool(b_mask[0])
        simple = w_all and has_b and np.array_equal(w_idx, np.arange(k)) and b_i == k

        # the gradient alone, as the textbook writes it with fewer passes over the samples:
        # BCE sigma(z) - y from z/2 (the parameters halved), MSE the residual z - y with its
        # factor 2 on the k + 1 sums instead of the N residuals
        halves = simple and fused is kernels.bce_loss_grad
        residual = simple and fused is kernels.squared_error_loss_grad

        def vector(
            theta: np.ndarray, X: np.ndarray, Y: np.ndarray, want_loss: bool = True
        ) -> tuple[float, np.ndarray]:
            n = X.shape[0]
            if not want_loss and (halves or residual):
                h = theta * 0.5 if halves else theta
                zv = _scratch(n)  # no fresh n-array per call: the thread's work array
                np.dot(X, h[:k], out=zv)  # BLAS, even for one feature (measured faster)
                zv += h[k]
                if halves:
                    kernels.sigmoid_residual_half(zv, Y)
                else:
                    zv -= Y
                grad = np.empty(n_params)
                np.dot(zv, X, out=grad[:k])
                grad[k] = kernels.total(zv)
                grad *= (1.0 if halves else 2.0) / n
                return np.nan, grad
            if simple:
                zv = _scratch(n)  # the kernels below work in it (overwrite=True)
                np.dot(X, theta[:k], out=zv)
                zv += theta[k]
            else:
                zv = X @ np.where(wmask0, theta[w_idx], 0.0)
                if has_b:
                    zv += theta[b_i]
            if fused is not None:
                loss, delta = fused(zv, Y, want_loss=want_loss, overwrite=True)
            else:
                loss = float(np.mean(np.broadcast_to(ell_f(zv, Y), (n,))))
                delta = np.broadcast_to(delta_f(zv, Y), (n,))
            if simple:
                grad = np.empty(n_params)
                np.dot(delta, X, out=grad[:k])
                grad[k] = kernels.total(delta)
                grad /= n
            else:
                gw = delta @ X
                grad = np.zeros(n_params)
                np.add.at(grad, w_idx[wmask0], gw[wmask0] / n)
                if has_b:
                    grad[b_i] += delta.sum() / n
            return loss, grad

        return vector

    # several scores (softmax): Z is (N, K)
    args = [*zs, *ps, *logps, *y_args] if len(labels) > 1 else [*zs, *ps, *logps, y_args[0]]
    ell_f = lambdify(args, ell_stable.xreplace(dict(zip(labels, y_args, strict=True))))
    delta_f = lambdify(args, [e.xreplace(dict(zip(labels, y_args, strict=True))) for e in deltas])

    def vector_k(
        theta: np.ndarray, X: np.ndarray, Y: np.ndarray, want_loss: bool = True
    ) -> tuple[float, np.ndarray]:
        n = X.shape[0]
        W = np.where(W_mask, theta[W_index], 0.0)
        Z = X @ W.T
        Z += np.where(b_mask, theta[b_index], 0.0)
        cols = [*Z.T]
        if ps:
            cols += [*kernels.softmax(Z, axis=1).T, *kernels.log_softmax(Z, axis=1).T]
        ycols = [*Y.T] if Y.ndim == 2 else [Y]
        loss = float(np.mean(np.broadcast_to(ell_f(*cols, *ycols), (n,))))
        D = np.column_stack([np.broadcast_to(e, (n,)) for e in delta_f(*cols, *ycols)])
        GW = D.T @ X / n
        grad = np.zeros(n_params)
        np.add.at(grad, W_index[W_mask], GW[W_mask])
        np.add.at(grad, b_index[b_mask], D.sum(axis=0)[b_mask] / n)
        return loss, grad

    return vector_k


def _stable_logs(ell: sp.Expr, zs: list[sp.Symbol], logp: dict[sp.Symbol, sp.Symbol]) -> sp.Expr:
    """Rewrite logs of sigmoids and of softmax outputs in their stable forms."""
    swap: dict[sp.Expr, sp.Expr] = {sp.log(p): lp for p, lp in logp.items()}
    for z in zs:
        swap[sp.log(sigmoid(z))] = z - softplus(z)
        swap[sp.log(1 - sigmoid(z))] = -softplus(z)
    return sp.expand(ell.xreplace(swap))


def _is_bce_logit(ell: sp.Expr, delta: sp.Expr, z: sp.Symbol, y: sp.Symbol) -> bool:
    """Whether the derived per-sample loss and delta are softplus(z) - y z and sigma(z) - y."""
    return sp.expand(ell - (softplus(z) - y * z)) == 0 and sp.expand(delta - (sigmoid(z) - y)) == 0


def _is_squared_residual(ell: sp.Expr, delta: sp.Expr, z: sp.Symbol, y: sp.Symbol) -> bool:
    """Whether the derived per-sample loss and delta are (z - y)^2 and 2 (z - y)."""
    return sp.expand(ell - (z - y) ** 2) == 0 and sp.expand(delta - 2 * (z - y)) == 0


def _kinked_kernel(ell: sp.Expr, delta: sp.Expr, z: sp.Symbol, y: sp.Symbol) -> Callable | None:
    """The kernel of MAE, Huber or hinge when the derived per-sample loss and delta are its loss
    and gradient (checked by :func:`same`, with the kernel's convention at the kink)."""
    r = z - y
    forms = [(kernels.absolute_error_loss_grad, sp.Abs(r), sp.sign(r)),
             (kernels.hinge_loss_grad, relu(1 - y * z), sp.Piecewise((-y, y * z < 1), (0, True)))]
    for h in ell.atoms(huber):
        d = h.args[1]
        kernel = functools.partial(kernels.huber_loss_grad, delta=float(d))
        clip = sp.Piecewise((r, sp.Abs(r) <= d), (d * sp.sign(r), True))
        forms.append((kernel, huber(r, d), clip))
    for kernel, loss_form, grad_form in forms:
        if ell.has(type(loss_form)) and same(ell, loss_form) and same(delta, grad_form):
            return kernel
    return None


# -------------------------------------------------------------------------------------------------
# strategy 2: per-sample terms


def _per_sample_path(d: Derivation) -> Callable[..., tuple[float, np.ndarray]]:
    g = d.graph
    args = [*g.params, *g.features, *g.labels]
    terms = []
    for p in g.params:
        gr = d.gradients.get(str(p))
        if gr is not None:  # the engine's term: dL/dp = scale * sum_i term (+ penalty)
            terms.append((gr.scale * gr.term).subs(N, 1))
        else:  # a parameter outside wrt: differentiate the per-sample loss directly
            terms.append(sp.diff(g.full(g.output), p))
    f = lambdify(args, [g.full(g.output), *terms])

    def vector(
        theta: np.ndarray, X: np.ndarray, Y: np.ndarray, want_loss: bool = True
    ) -> tuple[float, np.ndarray]:
        n = X.shape[0]
        ycols = [*Y.T] if Y.ndim == 2 else [Y]
        out = f(*theta, *X.T, *ycols)
        loss = float(np.mean(np.broadcast_to(out[0], (n,))))
        grad = np.array([np.sum(np.broadcast_to(o, (n,))) / n for o in out[1:]])
        return loss, grad

    return vector

r"""Layered networks: a spec, its backprop derived layer by layer, and a fast NumPy trainer.

**Layout: samples are columns**, as in the lecture (z^[1] = W^[1] x + b^[1]). Inside the
derivation and the backprop, ``A^[0] = X^T`` has shape (n0, m), ``Z^[l]`` and ``A^[l]`` have shape
(n_l, m), ``W^[l]`` is (n_l, n_{l-1}) and ``b^[l]`` is (n_l,) broadcast over the m columns.
The Python API takes data the NumPy way, one **row** per sample (``X`` of shape (m, n0)),
and transposes at the boundary (a view, no copy).

Notation: ``dZ^[l] = m ∂L/∂Z^[l]`` (column i is ∂ℓ_i/∂z_i^[l]), so the backward pass reads

    dZ^[L] = A^[L] − Y                 (sigmoid + bce, softmax + cross-entropy: the cancellation)
    dW^[l] = (1/m) dZ^[l] A^[l-1]^T    db^[l] = (1/m) Σ_i dz_i^[l]
    dA^[l-1] = W^[l]^T dZ^[l]          dZ^[l-1] = dA^[l-1] ⊙ g'_{l-1}(Z^[l-1])

where every g' is derived by symgrad's engine (:func:`symgrad.core.derive.derive_graph`) and
lambdified.
The loss is the mean over the m samples: bce (one sigmoid output), cross_entropy (softmax output;
labels one-hot or integer classes) or mse (sum over the outputs, mean over the samples).

>>> import numpy as np
>>> net = network([4, 8, 1], activations=["relu", "sigmoid"], loss="bce")
>>> params = net.init_params(seed=0)
>>> {k: v.shape for k, v in params.items()}
{'W1': (8, 4), 'b1': (8,), 'W2': (1, 8), 'b2': (1,)}
>>> rng = np.random.default_rng(1)
>>> X, Y = rng.normal(size=(20, 4)), (rng.random(20) < 0.5).astype(float)
>>> grads = net.gradients(params, X, Y)
>>> {k: v.shape for k, v in grads.items()} == {k: v.shape for k, v in params.items()}
True
>>> res = net.fit(X, Y, lr=0.5, max_iter=300)
>>> net.loss(res.params, X, Y) < net.loss(params, X, Y)
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from symgrad.core.catalogue import ACTIVATIONS, activation_graph
from symgrad.core.derive import Derivation, Progress, derive_graph
from symgrad.core.errors import DataError, OptionError, choose
from symgrad.core.functions import FUNCTIONS, activations
from symgrad.core.names import NETWORK_LOSSES, display_name
from symgrad.core.notebook import preformatted
from symgrad.models.backprop import NumPyOps, backprop, forward
from symgrad.numerics import kernels
from symgrad.numerics.compile import NUMPY_FUNCTIONS
from symgrad.numerics.data import class_labels
from symgrad.numerics.optim import Optimizer, Schedule
from symgrad.numerics.train import TrainResult, batch_rows, gradient_descent

__all__ = ["Network", "network", "train_network", "parse_layers", "NETWORK_ACTIVATIONS",
           "NETWORK_LOSSES"]

NETWORK_ACTIVATIONS = activations(output=True)


# --- g and g' from SymPy -------------------------------------------------------------------------


class _indicator(sp.Function):  # noqa: N801 - a SymPy function
    """[cond] as 0/1: Piecewise((1, cond), (0, True)) for lambdify (a boolean mask in NumPy)."""


class _where(sp.Function):  # noqa: N801
    """Piecewise((x, cond), (y, True)) for lambdify, as ``numpy.where``."""


def _for_numpy(expr: sp.Expr) -> sp.Expr:
    """Two-branch Piecewise as a mask or ``where`` (``numpy.select`` is several times slower)."""

    def rewrite(pw: sp.Piecewise) -> sp.Expr:
        if len(pw.args) != 2 or pw.args[1].cond != sp.true:
            return pw
        (e1, c1), (e2, _) = pw.args
        if e1 == 1 and e2 == 0:
            return _indicator(c1)
        return _where(c1, e1, e2)

    return expr.replace(lambda e: isinstance(e, sp.Piecewise), rewrite)


_MASK_MODULE = {
    "_indicator": lambda c: c,
    "_where": lambda c, a, b: np.where(c, a, b).astype(np.float64),
}


@dataclass(frozen=True)
class Activation:
    """One activation: g(z), and g'(z) as the engine derived it, in named form (a = g(z)).

    ``g`` and ``dg`` are the NumPy functions lambdified from ``expr`` and ``derivative``;
    ``dg(z, a)`` may use the activation value (``a (1 - a)`` for the sigmoid) and returns an array,
    a boolean mask (ReLU) or the number 1 (identity).
    """

    name: str
    expr: sp.Expr
    derivative: sp.Expr
    derivation: Derivation | None
    g: Callable[[np.ndarray], np.ndarray]
    dg: Callable[[np.ndarray, np.ndarray], Any]


Z_SYM, A_SYM = sp.Symbol("z", real=True), sp.Symbol("a", real=True)
_ACT_CACHE: dict[str, Activation] = {}


def activation(name: str) -> Activation:
    """The activation ``name`` with g' derived by the engine (softmax: handled by the loss).

    >>> activation("sigmoid").derivative
    a*(1 - a)
    >>> activation("relu").dg(np.array([-1.0, 2.0]), None).tolist()
    [False, True]
    """
    if name in _ACT_CACHE:
        return _ACT_CACHE[name]
    choose("activation", name, NETWORK_ACTIVATIONS)
    if name == "softmax":
        z = Z_SYM
        act = Activation(name, sp.Function("softmax")(z), sp.S.Zero, None,
                         lambda Z: kernels.softmax(Z, axis=0), lambda Z, A: 1)
    else:
        d = derive_graph(activation_graph(name))
        expr = ACTIVATIONS[name](Z_SYM)
        deriv = d.gradients["z"].named
        modules = [_MASK_MODULE, NUMPY_FUNCTIONS, "numpy"]
        g = sp.lambdify([Z_SYM], expr, modules=modules)
        dg = sp.lambdify([Z_SYM, A_SYM], _for_numpy(deriv), modules=modules, cse=True)
        act = Activation(name, expr, deriv, d, g, dg)
    _ACT_CACHE[name] = act
    return act


# --- the spec ------------------------------------------------------------------------------------


def parse_layers(text: str | Sequence[int]) -> tuple[int, ...]:
    """``"2,3,1"`` or ``[2, 3, 1]`` as a tuple of ints (sizes are checked by :func:`network`).

    >>> parse_layers("64, 32,10")
    (64, 32, 10)
    """
    if isinstance(text, str):
        try:
            return tuple(int(t) for t in text.split(","))
        except ValueError:
            raise OptionError(f"layer sizes must be integers separated by commas, got {text!r}")\
                from None
    return tuple(int(n) for n in text)


def _parse_names(text: str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(text, str):
        return tuple(t.strip() for t in text.split(","))
    return tuple(text)


@dataclass
class Network:
    """A fully connected network: sizes [n0, ..., nL], an activation per layer, a loss.

    Build it with :func:`network`, which checks the spec.
    """

    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    loss_name: str
    _acts: tuple[Activation, ...] = field(init=False, repr=False)
    _derivations: dict[bool, Derivation] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._acts = tuple(activation(a) for a in self.activations)

    # -- shape --
    @property
    def depth(self) -> int:
        """L, the number of layers with parameters."""
        return len(self.sizes) - 1

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """``{"W1": (n1, n0), "b1": (n1,), ...}``."""
        out: dict[str, tuple[int, ...]] = {}
        for ell in range(1, self.depth + 1):
            out[f"W{ell}"] = (self.sizes[ell], self.sizes[ell - 1])
            out[f"b{ell}"] = (self.sizes[ell],)
        return out

    @property
    def n_params(self) -> int:
        """The number of scalar parameters."""
        return sum(int(np.prod(s)) for s in self.shapes().values())

    def __str__(self) -> str:
        return f"{'-'.join(map(str, self.sizes))} ({', '.join(self.activations)}; {self.loss_name})"

    def _repr_html_(self) -> str:
        """Jupyter shows the network's layers and parameter shapes under its title.

        >>> out = network([2, 3, 1], ["relu", "sigmoid"], "bce")._repr_html_()
        >>> "<strong>Network 2-3-1: ReLU, sigmoid; binary cross-entropy</strong>" in out
        True
        """
        acts = ", ".join(display_name(a) for a in self.activations)
        title = f"Network {'-'.join(map(str, self.sizes))}: {acts}; {display_name(self.loss_name)}"
        shapes = self.shapes()
        lines = [f"layer {ell}: {display_name(self.activations[ell - 1])}, "
                 f"W{ell} {' × '.join(map(str, shapes[f'W{ell}']))}, b{ell} {shapes[f'b{ell}'][0]}"
                 for ell in range(1, self.depth + 1)]
        return preformatted(title, "\n".join([*lines, f"{self.n_params} parameters"]))

    # -- parameters --
    def init_params(self, seed: int | None = 0) -> dict[str, np.ndarray]:
        """Random weights (He or Glorot, as the activation's registry record says) and zero biases.

        >>> p = network([2, 3, 1], ["tanh", "sigmoid"], "bce").init_params(seed=0)
        >>> sorted(p), p["W1"].shape, p["b2"].tolist()
        (['W1', 'W2', 'b1', 'b2'], (3, 2), [0.0])
        """
        rng = np.random.default_rng(seed)
        params: dict[str, np.ndarray] = {}
        for ell in range(1, self.depth + 1):
            n_in, n_out = self.sizes[ell - 1], self.sizes[ell]
            if FUNCTIONS[self.activations[ell - 1]].activation.init == "he":
                scale = np.sqrt(2.0 / n_in)
            else:
                scale = np.sqrt(2.0 / (n_in + n_out))
            params[f"W{ell}"] = rng.normal(0.0, scale, size=(n_out, n_in))
            params[f"b{ell}"] = np.zeros(n_out)
        return params

    def check_params(self, params: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """The parameters as float64 arrays; DataError naming any missing or misshapen one."""
        out: dict[str, np.ndarray] = {}
        for name, shape in self.shapes().items():
            if name not in params:
                raise DataError(f"no value for parameter {name}; expected an array of shape "
                                f"{shape}")
            v = np.asarray(params[name], dtype=np.float64)
            if v.shape != shape:
                ell = name[1:]
                dims = (f"(n{ell}, n{int(ell) - 1})" if name[0] == "W" else f"(n{ell},)")
                raise DataError(f"parameter {name} has shape {v.shape}; expected {shape} = {dims}")
            out[name] = v
        extra = sorted(set(params) - set(out))
        if extra:
            raise DataError(f"unknown parameter(s) {', '.join(extra)}; the network has "
                            f"{', '.join(out)}")
        return out

    # -- data --
    def check_data(self, X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
        """X as float64 (m, n0); Y as float64 (m, nL), or int (m,) class labels for softmax.

        Raises :class:`DataError` naming the array and the expected shape.
        """
        X = np.asarray(X, dtype=np.float64)
        n0, nL = self.sizes[0], self.sizes[-1]
        if X.ndim == 1 and n0 == 1:
            X = X[:, None]
        if X.ndim != 2 or X.shape[1] != n0:
            raise DataError(f"X has shape {X.shape}; expected (m, {n0}): one row per sample, "
                            f"n0 = {n0} columns")
        m = X.shape[0]
        Y = np.asarray(Y)
        if Y.ndim == 0 or Y.shape[0] != m:
            raise DataError(f"X has {m} samples (rows) but Y has "
                            f"{'none' if Y.ndim == 0 else Y.shape[0]}; expected Y of shape "
                            f"({m}, {nL})" + (" or (m,)" if nL == 1 or self._softmax else ""))
        if self._softmax and Y.ndim in (1, 2) and (Y.ndim == 1 or Y.shape[1] == nL):
            return X, class_labels(Y, nL)  # integer classes, or rows that sum to 1
        Y = Y.astype(np.float64)
        if Y.ndim == 1 and nL == 1:
            Y = Y[:, None]
        if Y.ndim != 2 or Y.shape[1] != nL:
            raise DataError(f"Y has shape {Y.shape}; expected ({m}, {nL})"
                            + (f" or ({m},)" if nL == 1 else "")
                            + (f" or integer labels of shape ({m},)" if self._softmax else ""))
        return X, Y

    @property
    def _softmax(self) -> bool:
        return self.activations[-1] == "softmax"

    # -- the backprop (the layer-level equations: symgrad.models.backprop) --
    def _loss_and_grad(self, params: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray
                       ) -> tuple[float, dict[str, np.ndarray]]:
        res = backprop(NumPyOps(self), params, X.T, Y)
        grads = {f"{k}{ell}": g for k, by in (("W", res.dW), ("b", res.db))
                 for ell, g in by.items()}
        return res.loss, {k: grads[k] for k in self.shapes()}

    # -- the public numeric API --
    def loss(self, params: Mapping[str, Any], X: Any, Y: Any) -> float:
        """The loss averaged over the m samples (rows of X)."""
        p = self.check_params(params)
        X, Y = self.check_data(X, Y)
        ops = NumPyOps(self)
        Zs, As = forward(ops, p, X.T)
        return ops.head(Zs[-1], As[-1], Y)[0]

    def gradients(self, params: Mapping[str, Any], X: Any, Y: Any) -> dict[str, np.ndarray]:
        """dL/d(param) for every parameter, same keys and shapes as ``params``."""
        return self.loss_and_gradients(params, X, Y)[1]

    def loss_and_gradients(self, params: Mapping[str, Any], X: Any, Y: Any
                           ) -> tuple[float, dict[str, np.ndarray]]:
        """The loss and the gradients in one forward and one backward pass."""
        p = self.check_params(params)
        X, Y = self.check_data(X, Y)
        return self._loss_and_grad(p, X, Y)

    def predict_proba(self, params: Mapping[str, Any], X: Any) -> np.ndarray:
        """A^[L] with one row per sample: shape (m, nL)."""
        p = self.check_params(params)
        X, _ = self.check_data(X, np.zeros(np.shape(X)[0], dtype=np.int64)
                               if self._softmax else np.zeros((np.shape(X)[0], self.sizes[-1])))
        return forward(NumPyOps(self, outputs=True), p, X.T)[1][-1].T

    def predict(self, params: Mapping[str, Any], X: Any) -> np.ndarray:
        """Class labels (softmax: argmax; one sigmoid output: A > 0.5), else the outputs A^[L]."""
        A = self.predict_proba(params, X)
        if self._softmax:
            return A.argmax(axis=1)
        if self.activations[-1] == "sigmoid" and self.sizes[-1] == 1:
            return (A[:, 0] > 0.5).astype(np.int64)
        return A

    def accuracy(self, params: Mapping[str, Any], X: Any, Y: Any) -> float:
        """The fraction of samples classified correctly (Y: labels, one-hot or 0/1)."""
        Xc, Yc = self.check_data(X, Y)
        pred = self.predict(params, Xc)
        if self._softmax:
            truth = Yc if Yc.ndim == 1 else Yc.argmax(axis=1)
        else:
            truth = (Yc[:, 0] > 0.5).astype(np.int64)
        return float(np.mean(pred == truth))

    def fit(self, X: Any, Y: Any, *, lr: float, max_iter: int = 1000,
            batch_size: int | None = None, seed: int | None = 0,
            params: Mapping[str, Any] | None = None, tol: float = 1e-9,
            history_every: int | None = None,
            progress: Callable[[int, int, float], object] | None = None,
            optimizer: str | Optimizer = "gd", schedule: str | Schedule | None = None
            ) -> TrainResult:
        """Train with :func:`symgrad.numerics.train.gradient_descent` (full batch or mini-batch).

        Starts from ``params`` or ``init_params(seed)``; ``seed`` also shuffles the mini-batches.
        ``optimizer`` and ``schedule`` are :mod:`symgrad.numerics.optim`'s (plain GD by default).
        Returns the loop's :class:`~symgrad.numerics.train.TrainResult` (``params``: arrays W1, b1,
        ...).
        """
        X, Y = self.check_data(X, Y)
        p0 = self.check_params(params) if params is not None else self.init_params(seed)

        def loss_and_grad(p: dict[str, Any], idx: Any) -> tuple[float, dict[str, np.ndarray]]:
            return self._loss_and_grad(p, *batch_rows(idx, X, Y))

        return gradient_descent(loss_and_grad, p0, X.shape[0], lr=lr, max_iter=max_iter, tol=tol,
                                batch_size=batch_size, seed=seed, history_every=history_every,
                                progress=progress, optimizer=optimizer, schedule=schedule)

    # -- the derivation --
    def derive(self, expanded: bool = False, progress: Progress | None = None) -> Derivation:
        """The backward pass step by step: layer level (any size) or scalar-expanded (small nets).

        >>> d = network([2, 3, 1], ["relu", "sigmoid"], "bce").derive()
        >>> from symgrad.render.text import expr_text
        >>> expr_text(d.gradients["W1"].named)
        '(1/m)·dZ^[1]·A^[0]ᵀ'
        >>> d.verified
        True

        ``progress(stage, fraction)`` is called as an expanded derivation goes (see
        :func:`symgrad.core.derive.derive_graph`).
        """
        if expanded not in self._derivations:
            if expanded:
                from symgrad.models.network_expand import derive_expanded

                self._derivations[expanded] = derive_expanded(self, progress=progress)
            else:
                from symgrad.models.network_layers import derive_layers

                self._derivations[expanded] = derive_layers(self)
        return self._derivations[expanded]


def network(sizes: Sequence[int] | str, activations: Sequence[str] | str,
            loss: str) -> Network:
    """A checked :class:`Network` spec (see the module docstring).

    ``sizes`` is [n0, n1, ..., nL] (or ``"2,3,1"``); ``activations`` has one name per layer
    after the input: sigmoid, tanh, relu, leaky_relu, identity, or softmax on the last layer;
    ``loss`` is bce (one sigmoid output), cross_entropy (softmax output) or mse.

    >>> network([4, 8, 1], ["relu", "softmax"], "mse")
    Traceback (most recent call last):
    ...
    symgrad.core.errors.OptionError: softmax needs cross_entropy (loss mse); ...
    """
    sizes = parse_layers(sizes)
    acts = _parse_names(activations)
    choose("loss", loss, NETWORK_LOSSES)
    if len(sizes) < 2:
        raise OptionError(f"a network needs at least 2 layer sizes (input and output), got "
                          f"{list(sizes)}")
    for ell, n in enumerate(sizes):
        if n < 1:
            what = "input layer (layer 0)" if ell == 0 else f"layer {ell}"
            raise OptionError(f"{what} has size {n}; every layer needs at least 1 unit")
    if len(acts) != len(sizes) - 1:
        raise OptionError(f"{len(sizes)} layer sizes {list(sizes)} need {len(sizes) - 1} "
                          f"activation(s), one per layer after the input; got {len(acts)}")
    for ell, a in enumerate(acts, start=1):
        choose(f"activation for layer {ell}", a, NETWORK_ACTIVATIONS)
        if a == "softmax" and ell != len(acts):
            raise OptionError(f"softmax is only allowed on the last layer (layer {len(acts)}), "
                              f"got it on layer {ell}")
    L, nL, last = len(acts), sizes[-1], acts[-1]
    if loss == "bce":
        if nL != 1:
            raise OptionError(f"bce needs one sigmoid output unit; the output layer (layer {L}) "
                              f"has {nL}: use cross_entropy with softmax")
        if last != "sigmoid":
            raise OptionError(f"bce needs a sigmoid output; the output layer (layer {L}) uses "
                              f"{last}")
    if loss == "cross_entropy" and (last != "softmax" or nL < 2):
        raise OptionError(f"cross_entropy needs a softmax output layer with at least 2 units; "
                          f"layer {L} is {last} with {nL}")
    if last == "softmax" and loss != "cross_entropy":
        raise OptionError(f"softmax needs cross_entropy (loss {loss}); a softmax output layer "
                          "has at least 2 units")
    return Network(sizes, acts, loss)


def train_network(
    layers: Sequence[int] | str,
    activations: Sequence[str] | str,
    loss: str,
    X: Any,
    Y: Any,
    *,
    lr: float,
    max_iter: int = 1000,
    batch_size: int | None = None,
    seed: int | None = 0,
    **fit_options: Any,
) -> tuple[Network, TrainResult]:
    """What ``symgrad train --model mlp`` calls: build the network, check the data, train.

    ``layers`` and ``activations`` may be the command line's comma lists (``"2,3,1"``,
    ``"relu,sigmoid"``); returns the network (for ``accuracy``/``predict``) and the TrainResult.

    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]); y = np.array([0, 1, 1, 0])
    >>> net, res = train_network("2,4,1", "tanh,sigmoid", "bce", X, y, lr=1.0, max_iter=2000)
    >>> net.accuracy(res.params, X, y)
    1.0
    """
    net = network(layers, activations, loss)
    return net, net.fit(X, Y, lr=lr, max_iter=max_iter, batch_size=batch_size, seed=seed,
                        **fit_options)

"""Numerically stable NumPy kernels for activations and losses.

The activation kernels (sigmoid, softplus, relu, leaky_relu) are the function registry's, defined
with their functions in :mod:`symgrad.core.functions`; the loss kernels are here.

Every function accepts a scalar or an array and returns a Python ``float`` for a scalar input and
a float64 array otherwise. None of them overflows or emits a NumPy warning for finite inputs of any
size (``|z| = 1e4`` or ``1e300`` alike): each is written so that ``exp`` only ever sees a
non-positive argument.

Conventions match :mod:`symgrad.core.functions`: ``relu'(0) = 0`` and ``leaky_relu'(0) = alpha``.

>>> sigmoid(0.0)
0.5
>>> sigmoid(-1e4), sigmoid(1e4)
(0.0, 1.0)
>>> round(bce_from_logits([0.0, 0.0], [0.0, 1.0]), 6)  # log 2
0.693147
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from symgrad.core.functions import FUNCTIONS, _arr, _out, constant_array

__all__ = [
    "sigmoid",
    "log_sigmoid",
    "softplus",
    "bce_from_logits",
    "softmax",
    "log_softmax",
    "bce_loss_grad",
    "cross_entropy_loss_grad",
    "squared_error_loss_grad",
    "absolute_error_loss_grad",
    "huber_loss_grad",
    "hinge_loss_grad",
    "relu",
    "relu_grad",
    "leaky_relu",
    "leaky_relu_grad",
    "ones",
    "total",
]

#: The activation kernels are the function registry's (:mod:`symgrad.core.functions`).
sigmoid = FUNCTIONS["sigmoid"].kernel
softplus = FUNCTIONS["softplus"].kernel
relu = FUNCTIONS["relu"].kernel
leaky_relu = FUNCTIONS["leaky_relu"].kernel


def log_sigmoid(z: ArrayLike) -> Any:
    """log(sigmoid(z)) = -softplus(-z); finite (about ``z``) even where sigmoid(z) underflows to 0.

    >>> log_sigmoid(-1e4)
    -10000.0
    >>> import math
    >>> log_sigmoid(0.0) == -math.log(2)
    True
    """
    return _out(-_arr(softplus(-_arr(z))))


def bce_from_logits(z: ArrayLike, y: ArrayLike, *, reduction: str = "mean") -> Any:
    """Binary cross-entropy of labels ``y`` against ``sigmoid(z)``, computed from the logit ``z``.

    Mathematically ``softplus(z) - y z``; evaluated as ``max(z, 0) - y z + log1p(exp(-|z|))`` so
    that a confident, correct prediction gives a tiny positive loss instead of a cancellation to 0,
    and a confident wrong one gives about ``|z|`` instead of ``inf``. ``reduction`` is ``"mean"``
    (default), ``"sum"`` or ``"none"`` (the per-sample losses). ``z`` and ``y`` must have the
    same shape.

    >>> bce_from_logits([1e4, -1e4], [0.0, 1.0])  # two confident mistakes
    10000.0
    >>> bce_from_logits(40.0, 1.0) > 0
    True
    >>> bce_from_logits([2.0, -3.0], [1.0, 0.0], reduction="none").round(4).tolist()
    [0.1269, 0.0486]
    """
    z = _arr(z)
    y = _arr(y)
    if z.shape != y.shape:
        raise ValueError(f"logits of shape {z.shape} and labels of shape {y.shape} differ")
    per = _bce_terms(z, y)
    if reduction == "mean":
        return float(per.mean())
    if reduction == "sum":
        return float(per.sum())
    if reduction == "none":
        return _out(per)
    raise ValueError(f"unknown reduction {reduction!r}; choose one of: mean, sum, none")


def ones(n: int) -> np.ndarray:
    """``n`` ones, read-only and shared (:func:`~symgrad.core.functions.constant_array`):
    ``r @ ones(n)`` is BLAS's sum of ``r``, which is faster than ``r.sum()`` (NumPy's pairwise
    sum is one thread and not vectorized across rows).

    >>> float(np.arange(4.0) @ ones(4))
    6.0
    """
    return constant_array(1.0, (n,))


#: Up to this many numbers :func:`total` sums by BLAS; above, the ones would be one more large
#: array in the cache beside the data (measured: at 1e6 samples ``r.sum()`` wins in a gradient).
BLAS_SUM_MAX = 65536


def total(r: np.ndarray) -> float:
    """The sum of a 1-D float64 array, the faster way for its size: ``r @ ones(n)`` for small
    arrays (a third of ``r.sum()``'s call overhead), ``r.sum()`` past :data:`BLAS_SUM_MAX`.

    >>> total(np.arange(5.0)), total(np.ones(100000))
    (10.0, 100000.0)
    """
    n = r.shape[0]
    return float(np.dot(r, ones(n))) if n <= BLAS_SUM_MAX else float(r.sum())


def _bce_terms(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The per-sample ``max(z, 0) - y z + log1p(exp(-|z|))`` (float64 arrays of one shape), in
    that order of operations, in two new arrays."""
    with np.errstate(under="ignore"):
        e = np.abs(z, out=np.empty(z.shape))  # an array even for one number (out= below)
        np.negative(e, out=e)
        np.log1p(np.exp(e, out=e), out=e)
    per = np.maximum(z, 0.0)
    per -= y * z
    per += e
    return per


def _shifted(z: ArrayLike, axis: int) -> np.ndarray:
    """``z - max(z)`` along ``axis`` (every entry <= 0); an overflowing difference gives -inf."""
    z = _arr(z)
    m = np.max(z, axis=axis, keepdims=True)
    with np.errstate(over="ignore", invalid="ignore"):
        d = z - np.where(np.isfinite(m), m, 0.0)
    return d


def softmax(z: ArrayLike, axis: int = -1) -> np.ndarray:
    """exp(z) / sum(exp(z)) along ``axis``, after subtracting the maximum so no exp overflows.

    >>> softmax([1e4, 0.0, -1e4]).tolist()
    [1.0, 0.0, 0.0]
    >>> softmax([[1.0, 1.0], [0.0, np.log(3)]], axis=1).round(6).tolist()
    [[0.5, 0.5], [0.25, 0.75]]
    """
    d = _shifted(z, axis)
    with np.errstate(under="ignore"):
        e = np.exp(d)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(z: ArrayLike, axis: int = -1) -> np.ndarray:
    """log(softmax(z)) along ``axis``: ``(z - m) - log(sum(exp(z - m)))`` with ``m = max(z)``.

    Finite where softmax underflows to 0:

    >>> log_softmax([1e4, 0.0]).tolist()
    [0.0, -10000.0]
    """
    d = _shifted(z, axis)
    with np.errstate(under="ignore"):
        lse = np.log(np.sum(np.exp(d), axis=axis, keepdims=True))
    return d - lse


# --- the losses with their gradient: one kernel per loss ------------------------------------------
#
# Each returns ``(loss, delta)``: the loss is the sum over everything divided by the number of
# samples, which lie along the LAST axis (a vector of N samples; (outputs, m) with samples as
# columns); ``delta`` is the per-sample gradient with respect to the kernel's input, unscaled
# (the caller divides by the number of samples where it sums). ``overwrite=True`` lets the kernel
# reuse its first argument's memory (the training loops' hot path); ``want_loss=False`` skips the
# loss (nan).


def _work(z: ArrayLike, overwrite: bool) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    return z if overwrite else z.copy()


def bce_loss_grad(
    z: ArrayLike, y: ArrayLike, *, want_loss: bool = True, overwrite: bool = False
) -> tuple[float, np.ndarray]:
    """Binary cross-entropy from the logits and its gradient ``sigma(z) - y`` (the cancellation).

    The loss is :func:`bce_from_logits`; ``sigma(z) = (1 + tanh(z/2)) / 2`` saturates to 0 or 1
    instead of overflowing.

    >>> loss, delta = bce_loss_grad([1e4, -1e4, 0.0], [0.0, 1.0, 1.0])
    >>> round(loss, 6), delta.tolist()
    (6666.897716, [1.0, -1.0, -0.5])
    """
    y = _arr(y)
    s = _work(z, overwrite)
    if s.shape != y.shape:
        raise ValueError(f"logits of shape {s.shape} and labels of shape {y.shape} differ")
    loss = float(_bce_terms(s, y).sum()) / s.shape[-1] if want_loss else np.nan
    s *= 0.5
    np.tanh(s, out=s)
    s *= 0.5
    s += 0.5
    s -= y
    return float(loss), s


def sigmoid_residual_half(h: np.ndarray, y: ArrayLike) -> np.ndarray:
    """``sigma(2 h) - y`` in place in ``h`` (float64): the BCE gradient from half the logits.

    ``sigma(z) = (1 + tanh(z/2)) / 2``, so with h = z/2 (the parameters halved, 31 numbers instead
    of 569) it takes one tanh and three in-place passes, and saturates instead of overflowing.

    >>> sigmoid_residual_half(np.array([5e3, -5e3, 0.0]), [0.0, 1.0, 1.0]).tolist()
    [1.0, -1.0, -0.5]
    """
    np.tanh(h, out=h)
    h *= 0.5
    h += 0.5
    h -= y
    return h


def squared_error_loss_grad(
    a: ArrayLike, y: ArrayLike, *, want_loss: bool = True, overwrite: bool = False
) -> tuple[float, np.ndarray]:
    """The squared error summed over outputs, averaged over samples, and its gradient 2 (a - y).

    >>> squared_error_loss_grad([1.0, 3.0], [0.0, 1.0])
    (2.5, array([2., 4.]))
    >>> squared_error_loss_grad([[1.0, 3.0], [0.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]])[0]  # 2 samples
    3.0
    """
    r = _work(a, overwrite)
    r -= _arr(y)
    loss = float(np.vdot(r, r)) / r.shape[-1] if want_loss else np.nan
    r *= 2.0
    return loss, r


def absolute_error_loss_grad(
    a: ArrayLike, y: ArrayLike, *, want_loss: bool = True, overwrite: bool = False
) -> tuple[float, np.ndarray]:
    """The absolute error (MAE) and its gradient sign(a - y), 0 at a tie (PyTorch's L1Loss).

    >>> absolute_error_loss_grad([1.0, 3.0, 2.0], [0.0, 5.0, 2.0])
    (1.0, array([ 1., -1.,  0.]))
    """
    r = _work(a, overwrite)
    r -= _arr(y)
    loss = float(np.abs(r).sum()) / r.shape[-1] if want_loss else np.nan
    np.sign(r, out=r)
    return loss, r


def huber_loss_grad(
    a: ArrayLike,
    y: ArrayLike,
    *,
    delta: float = 1.0,
    want_loss: bool = True,
    overwrite: bool = False,
) -> tuple[float, np.ndarray]:
    """PyTorch's HuberLoss (r^2/2 for |r| <= delta, delta (|r| - delta/2) beyond, r = a - y) and
    its gradient, r clipped to [-delta, delta] (continuous: no convention at |r| = delta).

    >>> loss, g = huber_loss_grad([0.5, 3.0, -1e300], [0.0, 0.0, 0.0])
    >>> loss == (0.125 + 2.5 + 1e300 - 0.5) / 3, g.tolist()
    (True, [0.5, 1.0, -1.0])
    """
    r = _work(a, overwrite)
    r -= _arr(y)
    loss = float(np.sum(FUNCTIONS["huber"].kernel(r, delta))) / r.shape[-1] if want_loss else np.nan
    np.clip(r, -delta, delta, out=r)
    return loss, r


def hinge_loss_grad(
    z: ArrayLike, y: ArrayLike, *, want_loss: bool = True, overwrite: bool = False
) -> tuple[float, np.ndarray]:
    """The hinge loss max(0, 1 - y z) for labels in {-1, 1} and its gradient with respect to the
    score z: -y where y z < 1, else 0 (0 at the kink y z = 1, as PyTorch's relu).

    >>> hinge_loss_grad([2.0, 0.5, -1.0, 1.0], [1.0, 1.0, 1.0, 1.0])
    (0.625, array([ 0., -1., -1.,  0.]))
    """
    y = _arr(y)
    m = _work(z, overwrite)
    m *= -y
    m += 1.0
    loss = float(np.maximum(m, 0.0).sum()) / m.shape[-1] if want_loss else np.nan
    return loss, np.where(m > 0, -y, 0.0)


def cross_entropy_loss_grad(
    z: ArrayLike, y: ArrayLike, *, axis: int = 0, want_loss: bool = True
) -> tuple[float, np.ndarray]:
    """Cross-entropy of softmax(z) along ``axis`` (the classes) and its gradient softmax(z) - y.

    ``y`` is one-hot (or probability) rows of ``z``'s shape, or integer classes with ``axis``
    removed. softmax and log-softmax come from the same max-subtracted exponentials (one ``exp``
    pass): finite for any finite logits.

    >>> Z = np.array([[1e4, 0.0], [0.0, 0.0], [-1e4, 0.0]])  # 3 classes, 2 samples (columns)
    >>> loss, delta = cross_entropy_loss_grad(Z, np.array([2, 1]))
    >>> round(loss, 6), delta.round(6).tolist()
    (10000.549306, [[1.0, 0.333333], [0.0, -0.666667], [-1.0, 0.333333]])
    """
    d = _shifted(z, axis)
    samples = d.size // d.shape[axis]
    y = np.asarray(y)
    if y.ndim == d.ndim - 1:  # integer classes: the entries (class y_i, sample i)
        at = _class_entries(y.astype(np.intp, copy=False), axis, d.ndim)
        picked = float(d[at].sum()) if want_loss else 0.0
        with np.errstate(under="ignore"):
            P = np.exp(d, out=d)  # d is this call's own array: no second one
        total = P.sum(axis=axis, keepdims=True)
        P /= total
        loss = float(np.log(total).sum() - picked) / samples if want_loss else np.nan
        P[at] -= 1.0
        return loss, P
    with np.errstate(under="ignore"):
        P = np.exp(d)
    total = P.sum(axis=axis, keepdims=True)
    P /= total
    y = _arr(y)
    loss = float(-np.vdot(y, d - np.log(total))) / samples if want_loss else np.nan
    P -= y
    return loss, P


def _class_entries(y: np.ndarray, axis: int, ndim: int) -> tuple[np.ndarray, ...]:
    """The index of the entries (class ``y[i]``, sample ``i``) of an array with the classes along
    ``axis``: direct indexing (``take_along_axis`` costs a third of the loss head on 1797 digits).

    >>> _class_entries(np.array([2, 0]), 0, 2)
    (array([2, 0]), array([0, 1]))
    """
    rest = np.indices(y.shape, sparse=True) if y.ndim > 1 else (np.arange(y.shape[0]),)
    axis = axis % ndim
    return (*rest[:axis], y, *rest[axis:])


def relu_grad(z: ArrayLike) -> Any:
    """Derivative of relu: 1 for z > 0, else 0 (0 at z = 0, as PyTorch and JAX).

    >>> relu_grad([-2.0, 0.0, 3.0]).tolist()
    [0.0, 0.0, 1.0]
    """
    return _out((_arr(z) > 0).astype(np.float64))


def leaky_relu_grad(z: ArrayLike, alpha: float = 0.01) -> Any:
    """Derivative of leaky_relu: 1 for z > 0, ``alpha`` otherwise (``alpha`` at z = 0).

    >>> leaky_relu_grad([-2.0, 0.0, 3.0], alpha=0.1).tolist()
    [0.1, 0.1, 1.0]
    """
    z = _arr(z)
    return _out(np.where(z > 0, 1.0, float(alpha)))

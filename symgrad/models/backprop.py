r"""The one backprop pass over a layered network, for any number type.

Samples are columns (``A^[0] = X^T``). The pass is written once, in the layer-level equations

    Z^[l] = W^[l] A^[l-1] + b^[l]      A^[l] = g_l(Z^[l])
    dZ^[L] = A^[L] - Y (the loss head's cancellation), or dA^[L] ⊙ g_L'(Z^[L])
    dW^[l] = (1/m) dZ^[l] A^[l-1]^T    db^[l] = (1/m) Σ_i dz_i^[l]
    dA^[l-1] = W^[l]^T dZ^[l]          dZ^[l-1] = dA^[l-1] ⊙ g'_{l-1}(Z^[l-1])

and the arithmetic comes from an ``ops`` object: :class:`NumPyOps` (float64, the API, training
and the numeric verification of the derivation) or the worksheet's exact SymPy numbers
(:mod:`symgrad.teaching.worksheets.kinds.network`).

>>> from symgrad.models.network import network
>>> net = network([2, 3, 1], ["tanh", "sigmoid"], "bce")
>>> p = net.init_params(seed=0)
>>> X, Y = np.array([[0.5, -1.0], [1.0, 2.0]]), np.array([[1.0], [0.0]])
>>> res = backprop(NumPyOps(net), p, X.T, Y, keep=True)
>>> sorted(res.dW), res.dZ[2].shape, res.dA[1].shape
([1, 2], (1, 2), (3, 2))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from symgrad.numerics import kernels

if TYPE_CHECKING:
    from symgrad.models.network_spec import LayeredNetwork

__all__ = ["Backprop", "Ops", "NumPyOps", "backprop", "forward"]


class Ops(Protocol):
    """The arithmetic of one number type (the matrices have samples as columns)."""

    def linear(self, W: Any, A: Any, b: Any) -> Any:
        """W A + b (b broadcast over the columns)."""

    def activate(self, ell: int, Z: Any, last: bool) -> Any:
        """g_l(Z); may return None for the last layer when the loss head works from the logits."""

    def head(self, Z: Any, A: Any, Y: Any) -> tuple[Any, Any, bool]:
        """(loss, gradient, cancelled): dZ^[L] if ``cancelled``, else dA^[L]."""

    def slope(self, ell: int, dA: Any, Z: Any, A: Any) -> Any:
        """dA ⊙ g_l'(Z) (may reuse dA's memory)."""

    def weight_grad(self, dZ: Any, A_prev: Any) -> Any:
        """(1/m) dZ A_prev^T."""

    def bias_grad(self, dZ: Any) -> Any:
        """(1/m) times the row sums of dZ."""

    def back(self, W: Any, dZ: Any) -> Any:
        """W^T dZ."""


@dataclass
class Backprop:
    """The pass's values by layer: Z[l], A[l] (A[0] the input), the loss, dW[l], db[l]; with
    ``keep`` also dZ[l] and dA[l] (dZ = m ∂L/∂Z, dA = m ∂L/∂A)."""

    Z: list[Any]
    A: list[Any]
    loss: Any
    dW: dict[int, Any] = field(default_factory=dict)
    db: dict[int, Any] = field(default_factory=dict)
    dZ: dict[int, Any] = field(default_factory=dict)
    dA: dict[int, Any] = field(default_factory=dict)


def forward(ops: Ops, params: Mapping[str, Any], A0: Any) -> tuple[list[Any], list[Any]]:
    """Z^[l] and A^[l] for l = 1..L (``Z[0]`` is None, ``A[0] = A0 = X^T``)."""
    L = sum(1 for k in params if k.startswith("W"))
    Zs: list[Any] = [None]
    As: list[Any] = [A0]
    for ell in range(1, L + 1):
        Zs.append(ops.linear(params[f"W{ell}"], As[-1], params[f"b{ell}"]))
        As.append(ops.activate(ell, Zs[-1], ell == L))
    return Zs, As


def backprop(ops: Ops, params: Mapping[str, Any], A0: Any, Y: Any, keep: bool = False
             ) -> Backprop:
    """One forward and one backward pass (see the module docstring); ``A0`` is X^T, ``Y`` the
    labels in the layout ``ops.head`` takes."""
    Zs, As = forward(ops, params, A0)
    L = len(Zs) - 1
    loss, grad, cancelled = ops.head(Zs[L], As[L], Y)
    out = Backprop(Zs, As, loss)
    if cancelled:
        dZ = grad
    else:
        if keep:
            out.dA[L], grad = grad, grad.copy()
        dZ = ops.slope(L, grad, Zs[L], As[L])
    for ell in range(L, 0, -1):
        if keep:
            out.dZ[ell] = dZ
        out.dW[ell] = ops.weight_grad(dZ, As[ell - 1])
        out.db[ell] = ops.bias_grad(dZ)
        if ell > 1:
            dA = ops.back(params[f"W{ell}"], dZ)
            if keep:
                out.dA[ell - 1], dA = dA, dA.copy()
            dZ = ops.slope(ell - 1, dA, Zs[ell - 1], As[ell - 1])
    return out


class NumPyOps:
    """float64 NumPy arithmetic for a :class:`~symgrad.models.network.Network`: its activations
    (g and the engine's g'), and the loss heads from :mod:`symgrad.numerics.kernels`."""

    def __init__(self, net: LayeredNetwork, outputs: bool = False) -> None:
        self.net = net
        # bce and cross-entropy work from the logits: the backprop never needs A^[L]
        self.from_logits = not outputs and net.loss_name in ("bce", "cross_entropy")

    def linear(self, W: np.ndarray, A: np.ndarray, b: np.ndarray) -> np.ndarray:
        Z = W @ A
        Z += b[:, None]
        return Z

    def activate(self, ell: int, Z: np.ndarray, last: bool) -> np.ndarray | None:
        if last and self.from_logits:
            return None
        return self.net._acts[ell - 1].g(Z)

    def head(self, Z: np.ndarray, A: np.ndarray | None, Y: np.ndarray
             ) -> tuple[float, np.ndarray, bool]:
        """Y is (m, nL), or (m,) integer classes for cross-entropy (the API's layout)."""
        loss = self.net.loss_name
        if loss == "cross_entropy":
            return (*kernels.cross_entropy_loss_grad(Z, Y if Y.ndim == 1 else Y.T, axis=0), True)
        if loss == "bce":
            return (*kernels.bce_loss_grad(Z, Y.T), True)
        return (*kernels.squared_error_loss_grad(A, Y.T), False)

    def slope(self, ell: int, dA: np.ndarray, Z: np.ndarray, A: np.ndarray) -> np.ndarray:
        d = self.net._acts[ell - 1].dg(Z, A)
        if isinstance(d, int | float) and d == 1:
            return dA
        np.multiply(dA, d, out=dA)
        return dA

    def weight_grad(self, dZ: np.ndarray, A_prev: np.ndarray) -> np.ndarray:
        dW = dZ @ A_prev.T
        dW /= dZ.shape[1]
        return dW

    def bias_grad(self, dZ: np.ndarray) -> np.ndarray:
        db = dZ @ kernels.ones(dZ.shape[1])  # the row sums, by BLAS
        db /= dZ.shape[1]
        return db

    def back(self, W: np.ndarray, dZ: np.ndarray) -> np.ndarray:
        return W.T @ dZ

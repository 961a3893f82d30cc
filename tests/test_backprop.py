"""The one backprop pass against autograd, and the loss kernels at extreme logits vs mpmath."""

from __future__ import annotations

import autograd.numpy as anp
import mpmath
import numpy as np
import pytest
from autograd import grad

from symgrad.models.network import network
from symgrad.numerics import kernels as K

ACT = {"sigmoid": lambda z: 1 / (1 + anp.exp(-z)), "tanh": anp.tanh,
       "relu": lambda z: anp.maximum(z, 0.0), "identity": lambda z: z,
       "leaky_relu": lambda z: anp.where(z > 0, z, 0.01 * z)}


def _autograd_loss(net, X, Y):
    def loss(params):
        A = X.T
        for ell, act in enumerate(net.activations, start=1):
            Z = anp.dot(params[f"W{ell}"], A) + params[f"b{ell}"][:, None]
            if act == "softmax":
                m = anp.max(Z, axis=0, keepdims=True)
                logp = Z - m - anp.log(anp.sum(anp.exp(Z - m), axis=0, keepdims=True))
                return -anp.sum(Y.T * logp) / X.shape[0]
            A = ACT[act](Z)
        if net.loss_name == "bce":
            return -anp.mean(Y.T * anp.log(A) + (1 - Y.T) * anp.log(1 - A))
        return anp.sum((A - Y.T) ** 2) / X.shape[0]

    return loss


@pytest.mark.parametrize(
    ("sizes", "acts", "loss"),
    [
        ([3, 4, 1], ["tanh", "sigmoid"], "bce"),
        ([2, 5, 3, 1], ["relu", "leaky_relu", "sigmoid"], "bce"),
        ([4, 3, 3], ["sigmoid", "softmax"], "cross_entropy"),
        ([3, 4, 2, 4], ["tanh", "relu", "softmax"], "cross_entropy"),
        ([2, 3, 2], ["tanh", "identity"], "mse"),
        ([3, 2, 3, 2], ["leaky_relu", "tanh", "sigmoid"], "mse"),
    ],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_network_gradients_match_autograd(sizes, acts, loss, seed) -> None:
    net = network(sizes, acts, loss)
    rng = np.random.default_rng(seed)
    params = {k: v + rng.normal(0, 0.5, v.shape) for k, v in net.init_params(seed).items()}
    m = 7
    X = rng.normal(size=(m, sizes[0]))
    if loss == "bce":
        Y = (rng.random((m, 1)) < 0.5).astype(float)
    elif loss == "cross_entropy":
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], m)]
    else:
        Y = rng.normal(size=(m, sizes[-1]))
    value, grads = net.loss_and_gradients(params, X, Y)
    ref = _autograd_loss(net, X, Y)
    assert value == pytest.approx(float(ref(params)), rel=1e-12)
    ref_grads = grad(ref)(params)
    for k, g in grads.items():
        np.testing.assert_allclose(g, ref_grads[k], rtol=1e-9, atol=1e-12)
    if loss == "cross_entropy":  # integer classes give the same numbers
        v2, g2 = net.loss_and_gradients(params, X, Y.argmax(axis=1))
        assert v2 == pytest.approx(value, rel=1e-14)
        for k in grads:
            np.testing.assert_allclose(g2[k], grads[k], rtol=1e-14, atol=1e-16)


mpmath.mp.dps = 50
EXTREME = [-1e4, -745.0, -40.0, -1.0, 0.0, 1e-8, 3.0, 40.0, 745.0, 1e4]


def _mp_sigmoid(z):
    return 1 / (1 + mpmath.exp(-mpmath.mpf(z)))


@pytest.mark.parametrize("y", [0.0, 1.0, 0.3])
def test_bce_kernel_matches_mpmath_at_extreme_logits(y: float) -> None:
    z = np.array(EXTREME)
    loss, delta = K.bce_loss_grad(z, np.full(z.shape, y))
    per = [mpmath.log(1 + mpmath.exp(mpmath.mpf(v))) - y * mpmath.mpf(v) for v in EXTREME]
    assert np.isfinite(loss) and np.all(np.isfinite(delta))
    assert loss == pytest.approx(float(mpmath.fsum(per) / len(per)), rel=1e-14)
    exact = [float(_mp_sigmoid(v) - y) for v in EXTREME]
    np.testing.assert_allclose(delta, exact, rtol=1e-12, atol=1e-16)


def test_cross_entropy_kernel_matches_mpmath_at_extreme_logits() -> None:
    Z = np.array([[1e4, -1e4, 0.0, 3.0], [0.0, 1e4, 0.0, -2.0], [-1e4, 5.0, 1e-8, 40.0]])
    labels = np.array([2, 0, 1, 0])
    loss, delta = K.cross_entropy_loss_grad(Z, labels, axis=0)
    loss_oh, delta_oh = K.cross_entropy_loss_grad(Z, np.eye(3)[labels].T, axis=0)
    total = mpmath.mpf(0)
    for j in range(Z.shape[1]):
        col = [mpmath.mpf(v) for v in Z[:, j]]
        lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in col))
        total += lse - col[labels[j]]
        for c in range(3):
            p = mpmath.exp(col[c] - lse) - (1 if c == labels[j] else 0)
            assert delta[c, j] == pytest.approx(float(p), rel=1e-12, abs=1e-300)
    assert np.isfinite(loss)
    assert loss == pytest.approx(float(total / Z.shape[1]), rel=1e-14)
    assert loss_oh == pytest.approx(loss, rel=1e-15)
    np.testing.assert_allclose(delta_oh, delta, rtol=1e-15, atol=0)


def test_squared_error_kernel_matches_mpmath() -> None:
    a = np.array([[1e4, -3.0, 0.1], [2.0, 1e-8, -1e4]])
    y = np.array([[0.0, 1.0, 0.2], [2.5, 0.0, 1e4]])
    loss, delta = K.squared_error_loss_grad(a, y)
    exact = mpmath.fsum((mpmath.mpf(p) - mpmath.mpf(t)) ** 2
                        for p, t in zip(a.ravel(), y.ravel(), strict=True)) / a.shape[1]
    assert loss == pytest.approx(float(exact), rel=1e-14)
    np.testing.assert_array_equal(delta, 2 * (a - y))

"""Every catalogue gradient against two independent references on random data.

The references never use symgrad: the losses are written out here by hand, once in autograd.numpy
(reverse-mode autodiff) and once in mpmath at 50 digits (central differences with h = 1e-15, whose
truncation error is far below the 1e-9 tolerance).
"""

from __future__ import annotations

import autograd.numpy as anp
import mpmath
import numpy as np
import pytest
from _catalogue_data import catalogue_data
from autograd import grad

from symgrad import compile_gradient, derive

CASES = [
    ("mse", "linear", 1, None),
    ("mse", "linear", 3, None),
    ("mse", "linear", 2, 0.3),
    ("mse", "logistic", 1, None),
    ("mse", "logistic", 2, None),
    ("bce", "logistic", 1, None),
    ("bce", "logistic", 4, None),
    ("bce", "logistic", 3, 0.1),
    ("cross_entropy", "linear", 1, None),
    ("cross_entropy", "linear", 2, 0.2),
]
CLASSES = 3


def _params(loss: str, features: int, seed: int = 1) -> dict[str, float]:
    """Parameter names as the catalogue documents them, with random values."""
    rng = np.random.default_rng(seed)
    if loss == "cross_entropy":
        names = [f"w{k}{j}" for k in range(1, CLASSES + 1) for j in range(1, features + 1)]
        names += [f"b{k}" for k in range(1, CLASSES + 1)]
    else:
        names = ["w"] if features == 1 else [f"w{j}" for j in range(1, features + 1)]
        names += ["b"]
    return {n: float(v) for n, v in zip(names, rng.normal(size=len(names)), strict=True)}


def _loss(lib, loss, model, features, l2, theta, X, y):
    """The loss written from its textbook formula; ``lib`` is autograd.numpy or an mpmath shim."""
    n = X.shape[0]
    if loss == "cross_entropy":
        W = [[theta[k * features + j] for j in range(features)] for k in range(CLASSES)]
        b = theta[CLASSES * features :]
        total = 0
        for i in range(n):
            z = [sum(W[k][j] * X[i, j] for j in range(features)) + b[k] for k in range(CLASSES)]
            log_norm = lib.log(sum(lib.exp(zk) for zk in z))
            total = total - sum(y[i, k] * (z[k] - log_norm) for k in range(CLASSES))
        weights = [W[k][j] for k in range(CLASSES) for j in range(features)]
    else:
        w, b = theta[:features], theta[features]
        total = 0
        for i in range(n):
            z = sum(w[j] * X[i, j] for j in range(features)) + b
            yhat = z if model == "linear" else 1 / (1 + lib.exp(-z))
            if loss == "mse":
                total = total + (yhat - y[i]) ** 2
            else:
                total = total - (y[i] * lib.log(yhat) + (1 - y[i]) * lib.log(1 - yhat))
        weights = list(w)
    penalty = l2 * sum(wj**2 for wj in weights) if l2 else 0
    return total / n + penalty


class _Mp:
    log = staticmethod(mpmath.log)
    exp = staticmethod(mpmath.exp)


@pytest.mark.parametrize(("loss", "model", "features", "l2"), CASES)
def test_gradient_matches_autodiff_and_central_differences(loss, model, features, l2):
    d = derive(loss, model, features=features, classes=CLASSES, l2=l2)
    checks = [s.check for s in d.steps if s.check is not None]
    assert len(checks) == sum(s.kind.value != "definition" for s in d.steps)
    assert all(c.passed and (c.points >= 4 or c.method.value == "symbolic identity")
               for c in checks)
    X, y = catalogue_data(loss, features, n=7, classes=CLASSES)
    params = _params(loss, features)
    value, grads = compile_gradient(d)(params, X, y)
    names = list(params)
    theta = np.array([params[n] for n in names])

    # autograd: reverse-mode autodiff of the loss written by hand
    def f(t):
        return _loss(anp, loss, model, features, l2, t, X, y)

    reference = grad(f)(theta)
    assert value == pytest.approx(float(f(theta)), rel=1e-12)
    for k, name in enumerate(names):
        assert grads[name] == pytest.approx(reference[k], rel=1e-9, abs=1e-12)

    # central differences at 50 digits
    with mpmath.workdps(50):
        h = mpmath.mpf("1e-15")
        Xm = np.array([[mpmath.mpf(float(v)) for v in row] for row in X], dtype=object)
        ym = np.array(y, dtype=object)
        for k, name in enumerate(names):
            up = [mpmath.mpf(float(v)) for v in theta]
            down = list(up)
            up[k] += h
            down[k] -= h
            fd = (
                _loss(_Mp, loss, model, features, l2, up, Xm, ym)
                - _loss(_Mp, loss, model, features, l2, down, Xm, ym)
            ) / (2 * h)
            assert grads[name] == pytest.approx(float(fd), rel=1e-9, abs=1e-12), name


def test_lecture_mse_gradient_against_hand_numpy():
    """dL/dw = (2/N) sum (w x_i + b - y_i) x_i, dL/db = (2/N) sum (w x_i + b - y_i): the lecture,
    corrected (it drops the 1/N and the sum)."""
    rng = np.random.default_rng(5)
    x, y = rng.uniform(400, 1600, 50), rng.uniform(0, 4, 50)
    w, b = 0.003, -0.5
    _, grads = compile_gradient(derive("mse", "linear"))({"w": w, "b": b}, x[:, None], y)
    r = w * x + b - y
    assert grads["w"] == pytest.approx(2 * np.mean(r * x), rel=1e-12)
    assert grads["b"] == pytest.approx(2 * np.mean(r), rel=1e-12)
    # the lecture's form 2 u x_i (no 1/N, no sum) is not the gradient
    assert grads["w"] != pytest.approx(float(2 * r[0] * x[0]), rel=1e-3)

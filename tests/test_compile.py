"""The lambdify boundary: equal to the symbolic gradient and to central differences; stable."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy as sp
from _catalogue_data import catalogue_data

from symgrad import compile_gradient, derive
from symgrad.numerics.compile import NUMPY_FUNCTIONS, prepare

CASES = [
    ("mse", "linear", 1, None),
    ("mse", "linear", 3, 0.2),
    ("mse", "logistic", 2, None),
    ("bce", "logistic", 1, None),
    ("bce", "logistic", 4, 0.1),
    ("cross_entropy", "linear", 2, None),
]


@pytest.mark.parametrize("loss,model,k,l2", CASES)
def test_equals_symbolic_gradient(loss, model, k, l2):
    d = derive(loss, model, features=k, l2=l2)
    f = compile_gradient(d)
    assert f.strategy == "linear scores"
    X, y = catalogue_data(loss, k, n=9)
    rng = np.random.default_rng(1)
    params = {n: float(v) for n, v in zip(f.names, rng.normal(size=len(f.names)), strict=True)}
    _, grads = f(params, X, y)
    g = d.graph
    Y = y[:, None] if y.ndim == 1 else y
    for name, gr in d.gradients.items():
        term = sp.lambdify(
            [*g.params, *g.features, *g.labels], gr.term, modules=[NUMPY_FUNCTIONS, "numpy"]
        )
        values = [params[str(p)] for p in g.params]
        total = sum(float(term(*values, *X[r], *Y[r])) for r in range(len(X)))
        extra = float(
            gr.extra.subs({sp.Symbol("lambda", positive=True): l2 or 0}).subs(
                {p: params[str(p)] for p in g.params}
            )
        )
        expected = float(gr.scale.subs(sp.Symbol("N", integer=True, positive=True), len(X)))
        expected = expected * total + extra
        assert grads[name] == pytest.approx(expected, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("loss,model,k,l2", CASES)
def test_equals_central_differences(loss, model, k, l2):
    f = compile_gradient(derive(loss, model, features=k, l2=l2))
    X, y = prepare(*catalogue_data(loss, k, n=9, seed=3), k, 3 if loss == "cross_entropy" else 1)
    theta = np.random.default_rng(4).normal(size=len(f.names))
    _, grad = f.vector(theta, X, y)
    for j in range(len(theta)):
        h = 1e-6
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        fd = (f.vector(up, X, y)[0] - f.vector(down, X, y)[0]) / (2 * h)
        assert grad[j] == pytest.approx(fd, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("loss,model", [("bce", "logistic"), ("mse", "linear")])
def test_gradient_only_matches_vector(k, loss, model):
    f = compile_gradient(derive(loss, model, features=k))
    X, y = prepare(*catalogue_data(loss, k, n=9), k)
    theta = np.array([0.3, -0.2, 0.5, 0.1][-k - 1:])
    assert np.allclose(f.gradient(theta, X, y), f.vector(theta, X, y)[1], rtol=0, atol=1e-15)


@pytest.mark.parametrize("z", [1e4, -1e4, 800.0, -800.0, 40.0, -40.0])
def test_bce_finite_at_huge_logits_without_warnings(z):
    f = compile_gradient(derive("bce", "logistic"))
    X = np.array([[1.0], [1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            for y in ([0.0, 1.0], [1.0, 0.0], [1.0, 1.0]):
                loss, grads = f({"w": z, "b": 0.0}, X, np.array(y))
                assert np.isfinite(loss) and all(np.isfinite(v) for v in grads.values())
    loss, grads = f({"w": 1e4, "b": 0.0}, np.array([[1.0]]), np.array([0.0]))
    assert loss == pytest.approx(1e4) and grads["w"] == pytest.approx(1.0)
    loss, grads = f({"w": 1e4, "b": 0.0}, np.array([[1.0]]), np.array([1.0]))
    assert loss == 0.0 and grads["w"] == 0.0


def test_cross_entropy_stable_at_huge_scores():
    f = compile_gradient(derive("cross_entropy", "linear", features=1))
    params = {n: 0.0 for n in f.names} | {"w11": 1e4, "w21": -1e4}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, grads = f(params, np.array([[1.0]]), np.array([[0.0, 1.0, 0.0]]))
    assert loss == pytest.approx(2e4) and all(np.isfinite(v) for v in grads.values())


def test_wrt_subset_and_errors():
    f = compile_gradient(derive("mse", "linear", wrt=["b"]))
    loss, grads = f({"w": 1.0, "b": 0.0}, [[1.0], [2.0]], [1.0, 3.0])
    assert list(grads) == ["b"] and grads["b"] == pytest.approx(-1.0)
    from symgrad.core.errors import DataError, OptionError

    with pytest.raises(OptionError, match="no value given"):
        f({"w": 1.0}, [[1.0]], [1.0])
    with pytest.raises(DataError, match="feature"):
        f({"w": 1.0, "b": 0.0}, [[1.0, 2.0]], [1.0])


@pytest.mark.parametrize(
    "loss,model,k", [("mse", "linear", 1), ("mse", "linear", 3), ("bce", "logistic", 4)]
)
def test_gradient_alone_equals_textbook_numpy_on_large_data(loss, model, k):
    """The gradient-only path (issue 18) on about 100,000 numbers, called twice, then on fewer
    samples: the textbook full-array NumPy gradient and the loss path's gradient."""
    f = compile_gradient(derive(loss, model, features=k))
    rng = np.random.default_rng(7)
    n = 3 * (32768 // k) + 5
    X = rng.normal(loc=3.0, size=(n, k))
    theta = rng.normal(size=k + 1)
    z = X @ theta[:k] + theta[k]
    if loss == "mse":
        y = z + rng.normal(size=n)
        r = 2.0 * (z - y)
    else:
        y = (rng.random(n) < 0.5).astype(float)
        r = 1.0 / (1.0 + np.exp(-z)) - y
    want = np.append(r @ X, r.sum()) / n
    X, Y = prepare(X, y, k)
    for _ in range(2):
        np.testing.assert_allclose(f.gradient(theta, X, Y), want, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(f.vector(theta, X, Y)[1], want, rtol=1e-11, atol=1e-14)
    small = f.gradient(theta, X[:7], Y[:7])  # a smaller call after a larger one
    np.testing.assert_allclose(small, np.append(r[:7] @ X[:7], r[:7].sum()) / 7, rtol=1e-12)


def test_gradient_alone_is_right_when_threads_call_it_at_once():
    """The gradient-only path reuses a work array per thread: threads calling one compiled
    function at the same time, on different data, each get their own textbook gradient."""
    from concurrent.futures import ThreadPoolExecutor

    f = compile_gradient(derive("mse", "linear", features=3))
    rng = np.random.default_rng(11)
    jobs = []
    for t in range(8):
        n = 20000 + 1000 * t
        X = rng.normal(size=(n, 3))
        theta = rng.normal(size=4)
        y = X @ theta[:3] + theta[3] + rng.normal(size=n)
        r = 2.0 * (X @ theta[:3] + theta[3] - y)
        jobs.append((theta, *prepare(X, y, 3), np.append(r @ X, r.sum()) / n))

    def run(job):
        theta, X, Y, want = job
        return all(np.allclose(f.gradient(theta, X, Y), want, rtol=1e-11) for _ in range(20))

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(run, jobs * 2))

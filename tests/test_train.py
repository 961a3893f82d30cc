"""Tests of symgrad.numerics.train.gradient_descent against hand-written textbook loops."""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from symgrad.core.errors import OptionError
from symgrad.numerics.data import bundled, load_data, standardize, unstandardize_linear
from symgrad.numerics.train import GROWTH_RUN, HISTORY_ROWS, TrainResult, gradient_descent


@contextmanager
def no_warnings() -> Iterator[None]:
    """Every warning is an error, and so is every floating-point problem NumPy would warn about."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def linreg(x: np.ndarray, y: np.ndarray):
    """loss_and_grad for y = w x + b with MSE, in matrix form (A = [x, 1], grad = 2/N A^T r)."""

    def f(params, idx):
        xi, yi = (x, y) if idx is None else (x[idx], y[idx])
        a = np.column_stack([xi, np.ones_like(xi)])
        r = a @ np.array([params["w"], params["b"]]) - yi
        g = 2.0 / len(yi) * (a.T @ r)
        return float(r @ r) / len(yi), {"w": float(g[0]), "b": float(g[1])}

    return f


def sat_gpa() -> tuple[np.ndarray, np.ndarray]:
    ds = load_data(bundled(), x=["sat"], y="gpa")
    return ds.X[:, 0], ds.y


X_SMALL = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
Y_SMALL = np.array([2.9, 5.2, 6.8, 9.1, 11.0])


def test_full_batch_matches_hand_written_loop_step_for_step() -> None:
    x, y, lr, steps = X_SMALL, Y_SMALL, 0.01, 60
    n = len(x)
    w, b = 0.5, -0.3
    expected = [(w, b)]
    for _ in range(steps):
        dw = (2 / n) * sum((w * xi + b - yi) * xi for xi, yi in zip(x, y, strict=True))
        db = (2 / n) * sum((w * xi + b - yi) for xi, yi in zip(x, y, strict=True))
        w, b = w - lr * dw, b - lr * db
        expected.append((w, b))

    res = gradient_descent(
        linreg(x, y), {"w": 0.5, "b": -0.3}, n, lr=lr, max_iter=steps, history_every=1
    )
    assert res.stopped_because == "max_iter"
    assert res.iterations == steps
    assert res.history_iterations.tolist() == list(range(steps + 1))
    got = [(row["w"], row["b"]) for row in res.param_history]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    assert (res.params["w"], res.params["b"]) == got[-1]
    # the losses are those of the parameters of the same row
    for (wi, bi), loss in zip(expected, res.loss_history, strict=True):
        assert loss == pytest.approx(np.mean((wi * x + bi - y) ** 2), rel=1e-12)
    assert isinstance(res.params["w"], float)


def test_converged_with_tol_zero_means_exactly_equal() -> None:
    # y = 1 x + 2 fits exactly; x is centred, so every quantity below is a binary fraction.
    x, y = np.array([-1.0, 1.0]), np.array([1.0, 3.0])
    res = gradient_descent(linreg(x, y), {"w": 0.0, "b": 0.0}, 2, lr=0.25, tol=0, max_iter=1000)
    assert res.stopped_because == "converged"
    assert res.iterations < 1000
    w, b = res.params["w"], res.params["b"]
    assert w == pytest.approx(1.0, abs=1e-15) and b == pytest.approx(2.0, abs=1e-15)
    # a floating-point fixed point: one more textbook update leaves w and b exactly as they are
    r = w * x + b - y
    assert (w - 0.25 * np.mean(2 * r * x), b - 0.25 * np.mean(2 * r)) == (w, b)
    # lr = 0.5 is the exact Newton step here: one update to the answer, one that changes nothing
    one = gradient_descent(linreg(x, y), {"w": 0.0, "b": 0.0}, 2, lr=0.5, tol=0)
    assert (one.stopped_because, one.iterations, one.params) == (
        "converged",
        2,
        {"w": 1.0, "b": 2.0},
    )


def test_max_iter() -> None:
    res = gradient_descent(linreg(X_SMALL, Y_SMALL), {"w": 0.0, "b": 0.0}, 5, lr=1e-4, max_iter=7)
    assert (res.stopped_because, res.iterations, res.diverged_at, res.hint) == (
        "max_iter",
        7,
        None,
        None,
    )
    assert res.history_iterations[0] == 0 and res.history_iterations[-1] == 7


def test_big_learning_rate_diverges_with_hint() -> None:
    with no_warnings():
        res = gradient_descent(linreg(X_SMALL, Y_SMALL), {"w": 0.0, "b": 0.0}, 5, lr=1.0)
    assert res.stopped_because == "diverged"
    assert res.diverged_at == 1
    assert res.hint == "lower the learning rate (try lr/10 = 0.1) or use standardize=True"
    assert all(math.isfinite(v) for v in res.params.values())
    assert res.loss_history[-1] > 1e6 * res.loss_history[0]


def test_raw_sat_scores_with_lecture_learning_rate_diverge() -> None:
    x, y = sat_gpa()
    with no_warnings():
        res = gradient_descent(linreg(x, y), {"w": 0.0, "b": 0.0}, len(x), lr=0.001)
    assert res.stopped_because == "diverged"
    assert res.diverged_at == 1  # the very first step overshoots: SAT ~ 1000 makes dL/dw huge
    assert res.iterations >= res.diverged_at
    assert "lr/10" in res.hint and "standardize=True" in res.hint and "--" not in res.hint
    json.dumps(res.to_dict(), allow_nan=False)


def test_standardized_sat_scores_converge_to_least_squares() -> None:
    x, y = sat_gpa()
    xs, mean, std = standardize(x)
    res = gradient_descent(linreg(xs[:, 0], y), {"w": 0.0, "b": 0.0}, len(x), lr=0.1, max_iter=5000)
    assert res.stopped_because == "converged"
    w, b = unstandardize_linear(res.params["w"], res.params["b"], mean, std)
    slope, intercept = np.polyfit(x, y, 1)
    assert w == pytest.approx(slope, rel=1e-6)
    assert b == pytest.approx(intercept, rel=1e-6)
    # the lecture's lr = 0.001 is stable once standardized, only slow
    slow = gradient_descent(linreg(xs[:, 0], y), {"w": 0.0, "b": 0.0}, len(x), lr=0.001)
    assert slow.stopped_because == "max_iter"
    assert np.all(np.diff(slow.loss_history) < 0)


def test_slow_steady_growth_is_divergence() -> None:
    # L = w^2, lr = 1.01: w -> -1.02 w, the loss grows by 4% a step, far from 1e6 x in 20 steps
    def f(p, idx):
        return p["w"] ** 2, {"w": 2 * p["w"]}

    res = gradient_descent(f, {"w": 1.0}, 1, lr=1.01)
    assert res.stopped_because == "diverged"
    assert res.iterations == GROWTH_RUN
    assert res.diverged_at == 1
    assert res.final_loss < 1e6


def test_overflowing_update_is_divergence_without_warnings() -> None:
    def f(p, idx):
        return 1.0, {"w": np.full(3, 1e308)}

    with no_warnings(), np.errstate(all="raise"):
        res = gradient_descent(f, {"w": np.zeros(3)}, 1, lr=10.0)
    assert res.stopped_because == "diverged"
    assert res.iterations == 0 and res.diverged_at == 1
    np.testing.assert_array_equal(res.params["w"], np.zeros(3))


def test_overflowing_loss_is_divergence_without_warnings() -> None:
    x, y = sat_gpa()

    def f(p, idx):  # a careless loss that overflows for huge parameters
        r = p["w"] * x + p["b"] - y
        return np.mean(r**2), {"w": 2 * np.mean(r * x), "b": 2 * np.mean(r)}

    with no_warnings(), np.errstate(all="raise"):
        res = gradient_descent(f, {"w": 0.0, "b": 0.0}, len(x), lr=1e300)
    assert res.stopped_because == "diverged"
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["final_loss"] is None  # inf becomes None in JSON


def test_loss_not_finite_at_start_is_an_option_error() -> None:
    with pytest.raises(OptionError, match="initial parameters is nan"):
        gradient_descent(lambda p, i: (math.nan, {"w": 0.0}), {"w": 0.0}, 1, lr=0.1)


def test_array_parameters() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3))
    w_true = np.array([1.0, -2.0, 0.5])
    y = X @ w_true + 0.3

    def f(p, idx):
        Xi, yi = (X, y) if idx is None else (X[idx], y[idx])
        r = Xi @ p["w"] + p["b"] - yi
        return np.mean(r**2), {"w": 2 * Xi.T @ r / len(yi), "b": 2 * np.mean(r)}

    res = gradient_descent(f, {"w": np.zeros(3), "b": 0.0}, 50, lr=0.1, max_iter=10_000)
    assert res.stopped_because == "converged"
    np.testing.assert_allclose(res.params["w"], w_true, atol=1e-7)
    assert res.params["b"] == pytest.approx(0.3, abs=1e-7)
    assert isinstance(res.to_dict()["params"]["w"], list)


def recording(x: np.ndarray, y: np.ndarray, seen: list):
    base = linreg(x, y)

    def f(p, idx):
        seen.append(None if idx is None else np.array(idx))
        return base(p, idx)

    return f


def test_minibatch_epochs_cover_every_sample_once() -> None:
    x = np.linspace(0, 1, 10)
    y = 3 * x - 1
    seen: list = []
    res = gradient_descent(
        recording(x, y, seen), {"w": 0.0, "b": 0.0}, 10, lr=0.1, batch_size=3, max_iter=8
    )
    assert res.iterations == 8
    batches = [s for s in seen if s is not None]
    assert [len(b) for b in batches] == [3, 3, 3, 1, 3, 3, 3, 1]  # 4 iterations an epoch
    for epoch in (batches[:4], batches[4:]):
        assert sorted(np.concatenate(epoch).tolist()) == list(range(10))
    assert not np.array_equal(np.concatenate(batches[:4]), np.concatenate(batches[4:]))
    # the first and last history rows are full-data evaluations
    assert seen[0] is None and seen[-1] is None


def test_full_batch_passes_none() -> None:
    seen: list = []
    gradient_descent(
        recording(X_SMALL, Y_SMALL, seen), {"w": 0.0, "b": 0.0}, 5, lr=0.01, max_iter=3
    )
    assert seen == [None] * 4
    seen.clear()
    gradient_descent(
        recording(X_SMALL, Y_SMALL, seen),
        {"w": 0.0, "b": 0.0},
        5,
        lr=0.01,
        max_iter=3,
        batch_size=5,
    )
    assert seen == [None] * 4


def test_minibatch_same_seed_reproducible_other_seed_differs() -> None:
    x, y = sat_gpa()
    xs = standardize(x)[0][:, 0]
    a = gradient_descent(
        linreg(xs, y), {"w": 0.0, "b": 0.0}, len(x), lr=0.01, batch_size=8, seed=0, max_iter=300
    )
    b = gradient_descent(
        linreg(xs, y), {"w": 0.0, "b": 0.0}, len(x), lr=0.01, batch_size=8, seed=0, max_iter=300
    )
    c = gradient_descent(
        linreg(xs, y), {"w": 0.0, "b": 0.0}, len(x), lr=0.01, batch_size=8, seed=1, max_iter=300
    )
    assert a.params == b.params
    np.testing.assert_array_equal(a.loss_history, b.loss_history)
    assert a.params != c.params


def test_sgd_reaches_the_exact_line() -> None:
    x = np.linspace(-1, 1, 20)
    y = 2 * x + 1
    res = gradient_descent(
        linreg(x, y), {"w": 0.0, "b": 0.0}, 20, lr=0.05, batch_size=1, tol=1e-12, max_iter=50_000
    )
    assert res.stopped_because == "converged"
    assert res.params["w"] == pytest.approx(2.0, abs=1e-9)
    assert res.params["b"] == pytest.approx(1.0, abs=1e-9)


def test_stochastic_divergence_is_detected() -> None:
    x, y = sat_gpa()
    with no_warnings():
        res = gradient_descent(
            linreg(x, y), {"w": 0.0, "b": 0.0}, len(x), lr=0.001, batch_size=1, seed=3
        )
    assert res.stopped_because == "diverged"
    assert res.hint is not None and res.diverged_at is not None


def test_history_is_thinned_and_keeps_first_and_last() -> None:
    def f(p, idx):
        return (p["w"] - 1) ** 2, {"w": 2 * (p["w"] - 1)}

    res = gradient_descent(f, {"w": 0.0}, 1, lr=1e-6, max_iter=12_345, tol=0)
    assert res.stopped_because == "max_iter"
    it = res.history_iterations
    assert it[0] == 0 and it[-1] == 12_345
    assert len(it) <= HISTORY_ROWS + 1
    assert len(it) >= HISTORY_ROWS // 2
    assert np.all(np.diff(it) > 0)
    assert len(res.loss_history) == len(res.param_history) == len(res.grad_norm_history) == len(it)
    # each row really is the state at its iteration: w_t = 1 - (1 - 2 lr)^t
    t = it.astype(float)
    w = np.array([row["w"] for row in res.param_history])
    np.testing.assert_allclose(w, 1 - (1 - 2e-6) ** t, rtol=1e-6)
    np.testing.assert_allclose(res.grad_norm_history, 2 * np.abs(w - 1), rtol=1e-9)


def test_history_every() -> None:
    res = gradient_descent(
        linreg(X_SMALL, Y_SMALL), {"w": 0.0, "b": 0.0}, 5, lr=1e-3, max_iter=50, history_every=7
    )
    assert res.history_iterations.tolist() == [0, 7, 14, 21, 28, 35, 42, 49, 50]


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"lr": 0}, "0"),
        ({"lr": -0.1}, "-0.1"),
        ({"lr": math.nan}, "nan"),
        ({"lr": math.inf}, "inf"),
        ({"lr": 0.1, "max_iter": 0}, "max_iter must be at least 1, got 0"),
        ({"lr": 0.1, "tol": -1e-3}, "-0.001"),
        ({"lr": 0.1, "batch_size": 0}, "batch size must be at least 1, got 0"),
        ({"lr": 0.1, "batch_size": 6}, "batch size 6 is larger than the 5 samples"),
        ({"lr": 0.1, "history_every": 0}, "history_every"),
    ],
)
def test_invalid_options(kwargs: dict, text: str) -> None:
    with pytest.raises(OptionError) as e:
        gradient_descent(linreg(X_SMALL, Y_SMALL), {"w": 0.0, "b": 0.0}, 5, **kwargs)
    msg = str(e.value)
    assert text in msg and "\n" not in msg


def test_invalid_initial_parameters() -> None:
    with pytest.raises(OptionError, match="'w' is not finite"):
        gradient_descent(linreg(X_SMALL, Y_SMALL), {"w": math.inf, "b": 0.0}, 5, lr=0.1)
    with pytest.raises(OptionError, match="no parameters"):
        gradient_descent(linreg(X_SMALL, Y_SMALL), {}, 5, lr=0.1)


def test_gradient_mismatch_is_a_bug_not_a_user_error() -> None:
    with pytest.raises(ValueError, match="gradients for"):
        gradient_descent(lambda p, i: (1.0, {"v": 0.0}), {"w": 0.0}, 1, lr=0.1)


def test_progress_is_rate_limited_and_ends_at_the_last_iteration() -> None:
    calls: list[tuple[int, int, float]] = []

    def f(p, idx):
        time.sleep(0.0005)
        return (p["w"] - 1) ** 2, {"w": 2 * (p["w"] - 1)}

    t0 = time.perf_counter()
    res = gradient_descent(
        f, {"w": 0.0}, 1, lr=1e-6, max_iter=600, progress=lambda *a: calls.append(a)
    )
    elapsed = time.perf_counter() - t0
    assert calls[0][:2] == (0, 600)
    assert calls[-1][:2] == (res.iterations, 600)
    assert 2 <= len(calls) <= 20 * elapsed + 3


def test_result_is_frozen_and_json_ready() -> None:
    res = gradient_descent(linreg(X_SMALL, Y_SMALL), {"w": 0.0, "b": 0.0}, 5, lr=0.01, max_iter=3)
    assert isinstance(res, TrainResult)
    with pytest.raises(AttributeError):
        res.iterations = 5  # type: ignore[misc]
    d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert d["stopped_because"] == "max_iter"
    assert d["history_iterations"] == [0, 1, 2, 3]
    assert d["param_history"][0] == {"w": 0.0, "b": 0.0}


def test_long_runs_complete_with_thinned_history() -> None:
    """The loop's overhead per iteration is measured in benchmarks/bench_derive.py."""

    def g(p, idx):
        return 1.0, {"w": 1.0, "b": np.ones(2)}

    res = gradient_descent(g, {"w": 1.0, "b": np.ones(2)}, 1, lr=1e-9, max_iter=20_000, tol=0)
    assert res.iterations == 20_000
    assert len(res.history_iterations) <= 1000
    assert res.history_iterations[0] == 0 and res.history_iterations[-1] == 20_000

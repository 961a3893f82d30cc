"""symgrad.models.fit: GD reproduces a hand-written loop, each stopping rule, the statistics
reduction."""

from __future__ import annotations

import numpy as np
import pytest

from symgrad.core.derive import derive
from symgrad.core.errors import DataError, OptionError
from symgrad.core.steps import Kind, Rule
from symgrad.core.verify import Method
from symgrad.models.fit import fit
from symgrad.numerics.reduce import reduce_derivation, with_reduction

X = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
Y = np.array([2.9, 5.1, 7.2, 8.8, 11.1])


def test_linear_gd_matches_hand_loop_step_for_step():
    lr, steps = 0.01, 50
    w = b = 0.0
    hand = []
    for _ in range(steps):  # the textbook: dL/dw = (2/N) sum x (yhat - y), dL/db = (2/N) sum (...)
        r = w * X + b - Y
        w, b = w - lr * 2 * np.mean(r * X), b - lr * 2 * np.mean(r)
        hand.append((w, b))
    for batch in (None, len(X)):
        r = fit(
            "mse", "linear", (X, Y), lr=lr, max_iter=steps, tol=0, history_every=1, batch_size=batch
        )
        got = [(row["theta"][0], row["theta"][1]) for row in r.train.param_history[1:]]
        assert np.allclose(got, hand, rtol=1e-12, atol=1e-14)
    assert r.method == "statistics"


def test_logistic_gd_matches_hand_loop_step_for_step():
    rng = np.random.default_rng(0)
    Xl = rng.normal(size=(20, 2))
    yl = (Xl[:, 0] - Xl[:, 1] + 0.3 * rng.normal(size=20) > 0).astype(float)
    lr, steps = 0.5, 30
    w, b = np.zeros(2), 0.0
    hand = []
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(Xl @ w + b)))
        w, b = w - lr * Xl.T @ (p - yl) / len(yl), b - lr * np.mean(p - yl)
        hand.append([*w, b])
    r = fit("bce", "logistic", (Xl, yl), lr=lr, max_iter=steps, tol=0, history_every=1)
    got = [row["theta"] for row in r.train.param_history[1:]]
    assert r.method == "compiled"
    assert np.allclose(got, hand, rtol=1e-12, atol=1e-14)
    assert list(r.params) == ["w1", "w2", "b"]


def test_statistics_reduction_gives_the_same_iterates_as_direct_evaluation():
    rng = np.random.default_rng(2)
    Xk = rng.normal(size=(50, 3))
    yk = Xk @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=50)
    red = fit("mse", "linear", (Xk, yk), lr=0.05, max_iter=200, tol=0, l2=0.01, history_every=1)
    # the direct evaluation (compiled X.T @ delta over the data) at every iterate of the run
    d = derive("mse", "linear", features=3, l2=0.01)
    r = reduce_derivation(d)
    from symgrad.numerics.compile import compile_gradient, prepare

    f = compile_gradient(d)
    Xp, yp = prepare(Xk, yk, 3)
    stats = r.statistics(Xp, yp)
    theta = np.zeros(4)
    for row in red.train.param_history[1:]:
        loss_d, g_d = f.vector(theta, Xp, yp)
        loss_r, g_r = r.evaluate(theta, stats)
        assert loss_r == pytest.approx(loss_d, rel=1e-10)
        assert np.allclose(g_r, g_d, rtol=1e-9, atol=1e-12)
        theta = theta - 0.05 * g_d
        assert np.allclose(row["theta"], theta, rtol=1e-9, atol=1e-12)
    assert red.method == "statistics"


def test_reduction_steps_are_verified_and_readable():
    d = with_reduction(derive("mse", "linear"))
    steps = [s for s in d.steps if s.kind is Kind.REDUCTION]
    gradients = [s for s in steps if s.rules == (Rule.EXPAND_SUMS,)]
    assert len(gradients) == 3 and all(s.check.passed for s in steps)
    # polynomials: an exact identity with sympy.diff of the loss written out for 3 samples
    assert all(s.check.method is Method.SYMBOLIC for s in gradients)
    assert all(s.check.against.endswith("written out for 3 samples") for s in gradients)
    closed = [s for s in steps if s.rules == (Rule.NORMAL_EQUATIONS,)]
    assert len(closed) == 2 and all(s.check.method is Method.SYMBOLIC for s in closed)
    text = str(d)
    assert "Expand the sums over samples" in text and "Σᵢ xᵢ²" in text
    assert reduce_derivation(derive("bce", "logistic")) is None


def test_closed_form_matches_lstsq():
    r = fit("mse", "linear", (X, Y), lr=0.01, max_iter=5)
    A = np.column_stack([X, np.ones_like(X)])
    w, b = np.linalg.lstsq(A, Y, rcond=None)[0]
    assert r.closed_form == pytest.approx({"w": w, "b": b}, rel=1e-12)
    assert (
        fit("bce", "logistic", (X, (Y > 6).astype(float)), lr=0.1, max_iter=5).closed_form is None
    )


def test_stopping_reasons():
    conv = fit("mse", "linear", (X, Y), lr=0.02, max_iter=100000, tol=1e-12)
    assert conv.stopped_because == "converged" and conv.iterations < 100000
    assert conv.params == pytest.approx(conv.closed_form, rel=1e-8)
    exact = fit("mse", "linear", (X, Y), lr=0.02, max_iter=100000, tol=0)
    assert exact.stopped_because == "converged"  # w_new == w_old exactly
    lim = fit("mse", "linear", (X, Y), lr=0.001, max_iter=7)
    assert lim.stopped_because == "max_iter" and lim.iterations == 7 and lim.diverged_at is None
    div = fit("mse", "linear", (X, Y), lr=1.0, max_iter=1000)
    assert div.stopped_because == "diverged" and div.diverged_at == 1
    assert div.hint and "lr/10" in div.hint and div.why


def test_raw_sat_diverges_with_the_reason_and_standardized_converges():
    raw = fit("mse", "linear", lr=0.001, max_iter=1000)
    assert raw.stopped_because == "diverged" and raw.diverged_at == 1
    assert "'sat'" in raw.why and "huge" in raw.why and "standardize=True" in raw.hint
    std = fit("mse", "linear", lr=0.1, max_iter=1000, standardize=True)
    assert std.stopped_because == "converged"
    assert std.params_original == pytest.approx(std.closed_form_original, rel=1e-6)
    assert std.closed_form_original == pytest.approx(raw.closed_form, rel=1e-9)


def test_minibatch_and_sgd_are_seeded():
    a = fit("mse", "linear", (X, Y), lr=0.01, max_iter=40, batch_size=2, seed=3)
    b = fit("mse", "linear", (X, Y), lr=0.01, max_iter=40, batch_size=2, seed=3)
    c = fit("mse", "linear", (X, Y), lr=0.01, max_iter=40, batch_size=1, seed=4)
    assert a.params == b.params and a.method == "compiled" and c.params != a.params


def test_init_and_bad_options():
    r = fit("mse", "linear", (X, Y), lr=0.01, max_iter=1, init={"w": 2.0, "b": 1.0})
    assert r.train.param_history[0]["theta"].tolist() == [2.0, 1.0]
    with pytest.raises(OptionError, match="unknown parameter 'v'"):
        fit("mse", "linear", (X, Y), init={"v": 1})
    with pytest.raises(OptionError, match="learning rate"):
        fit("mse", "linear", (X, Y), lr=0)
    with pytest.raises(OptionError, match="max_iter"):
        fit("mse", "linear", (X, Y), max_iter=0)
    with pytest.raises(OptionError, match="tol"):
        fit("mse", "linear", (X, Y), tol=-1)
    with pytest.raises(OptionError, match="batch size"):
        fit("mse", "linear", (X, Y), batch_size=6)
    with pytest.raises(DataError, match="constant"):
        fit("mse", "linear", (np.ones(5), Y), standardize=True)
    with pytest.raises(DataError, match="not 0 or 1"):
        fit("bce", "logistic", (X, Y))
    with pytest.raises(OptionError, match="logistic"):
        fit("bce", "linear", (X, Y))
    with pytest.raises(OptionError, match="finite"):
        fit("mse", "linear", (np.array([1.0, np.nan]), np.array([1.0, 2.0])))


def test_result_prints_the_cli_table_and_shows_in_jupyter():
    from symgrad import fit as fit_fn

    r = fit_fn("mse", "linear", lr=0.1, standardize=True)
    text = str(r)
    assert "stopped: converged" in text and "closed form, original units" in text
    shown = r._repr_html_()  # the same table, under a title, left-aligned
    assert f"{__import__('html').escape(text)}</pre></div>" in shown
    assert "<strong>Fit of the linear model to the mean squared error</strong>" in shown
    assert shown.startswith('<div class="symgrad" style="text-align:left')

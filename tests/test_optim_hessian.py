"""Second order: the Hessian derived step by step, Newton's method / IRLS, and the curvature
used by the divergence diagnosis.

The Hessians are checked against two independent computations: central differences of the
compiled gradient, and sympy.diff taken twice of the loss written out over a small explicit
data set (no engine involved). Newton's iterates are checked against a plain-NumPy IRLS.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp

from symgrad.cli import main
from symgrad.core.catalogue import real
from symgrad.core.derive import derive, derive_expr
from symgrad.core.errors import OptionError
from symgrad.core.hessian import with_hessian
from symgrad.core.steps import Kind, Partial
from symgrad.models.fit import fit
from symgrad.numerics.compile import compile_gradient, prepare
from symgrad.numerics.hessian import compile_hessian, curvature
from symgrad.numerics.optim import optimizer
from symgrad.numerics.train import gradient_descent

CASES = [("mse", "linear", 1, None), ("mse", "linear", 2, 0.3), ("bce", "logistic", 2, None),
         ("bce", "logistic", 1, 0.1)]


def _data(loss: str, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(7, k))
    y = rng.integers(0, 2, 7).astype(float) if loss == "bce" else rng.normal(size=7)
    return X, y


@pytest.mark.parametrize("loss,model,k,l2", CASES)
def test_hessian_equals_central_differences_of_the_gradient(loss, model, k, l2):
    d = with_hessian(derive(loss, model, features=k, l2=l2))
    assert d.verified
    grad, hess = compile_gradient(d), compile_hessian(d)
    for seed in range(3):
        X, y = prepare(*_data(loss, k, seed), k)
        theta = np.random.default_rng(10 + seed).normal(size=k + 1)
        H = hess.matrix(theta, X, y)
        h = 1e-5
        fd = np.empty_like(H)
        for j in range(k + 1):
            e = np.zeros(k + 1)
            e[j] = h
            fd[:, j] = (grad.gradient(theta + e, X, y) - grad.gradient(theta - e, X, y)) / (2 * h)
        np.testing.assert_allclose(H, fd, rtol=1e-7, atol=1e-8)
        np.testing.assert_array_equal(H, H.T)


@pytest.mark.parametrize("loss,model,k,l2", CASES)
def test_hessian_equals_sympy_diff_twice_of_the_written_out_loss(loss, model, k, l2):
    """L = (1/n) sum over 4 explicit samples + l2 * sum w^2, differentiated twice by SymPy."""
    X, y = _data(loss, k, 5)
    X, y = X[:4], y[:4]
    ws = [real(f"w{j + 1}") for j in range(k)] if k > 1 else [real("w")]
    b = real("b")
    total = 0
    for xi, yi in zip(X, y, strict=True):
        z = sum(w * sp.Float(v) for w, v in zip(ws, xi, strict=True)) + b
        if loss == "mse":
            total += (z - sp.Float(yi)) ** 2
        else:
            p = 1 / (1 + sp.exp(-z))
            total += -(sp.Float(yi) * sp.log(p) + (1 - sp.Float(yi)) * sp.log(1 - p))
    L = total / 4 + (l2 or 0) * sum(w**2 for w in ws)
    params = [*ws, b]
    theta = np.random.default_rng(3).normal(size=k + 1)
    at = dict(zip(params, theta, strict=True))
    ref = np.array([[float(sp.diff(L, p, q).subs(at)) for q in params] for p in params])
    d = with_hessian(derive(loss, model, features=k, l2=l2))
    H = compile_hessian(d).matrix(theta, *prepare(X, y, k))
    np.testing.assert_allclose(H, ref, rtol=1e-10, atol=1e-12)


def test_closed_forms_of_the_lecture():
    """MSE + linear: (2/N) X~^T X~; BCE + logistic: (1/N) X~^T diag(y_hat (1 - y_hat)) X~."""
    X, y = _data("bce", 2, 1)
    A = np.column_stack([X, np.ones(len(X))])
    theta = np.array([0.4, -0.7, 0.2])
    H = compile_hessian(with_hessian(derive("mse", "linear", features=2))).matrix(theta, X, y)
    np.testing.assert_allclose(H, 2 / len(X) * A.T @ A, rtol=1e-12)
    p = 1 / (1 + np.exp(-A @ theta))
    H = compile_hessian(with_hessian(derive("bce", "logistic", features=2))).matrix(theta, X, y)
    np.testing.assert_allclose(H, A.T @ np.diag(p * (1 - p)) @ A / len(X), rtol=1e-12)


def test_the_steps_name_the_rules_and_show_the_lecture_forms():
    d = with_hessian(derive("bce", "logistic"))
    steps = [s for s in d.steps if s.kind is Kind.HESSIAN]
    assert all(s.check is not None and s.check.passed for s in steps)
    text = str(d)
    assert "Differentiate the gradient again (the Hessian)" in text
    assert "∂ŷᵢ/∂w = ∂ŷᵢ/∂zᵢ·∂zᵢ/∂w" in text
    assert "∂²L/∂b∂w = (1/N)·Σᵢ ∂ŷᵢ/∂b·xᵢ = (1/N)·Σᵢ ŷᵢ·(1 − ŷᵢ)·xᵢ" in text
    assert "∂²L/∂b² = (1/N)·Σᵢ ∂ŷᵢ/∂b = (1/N)·Σᵢ ŷᵢ·(1 − ŷᵢ)" in text
    mse = with_hessian(derive("mse", "linear"))
    assert [str(e.named) for e in mse.meta["hessian"]][-1] == "2"  # (2/N) sum_i 1
    assert isinstance(steps[-1].lhs, Partial) and len(steps[-1].lhs.wrts) == 2


def test_a_typed_expression_has_its_hessian_too():
    d = with_hessian(derive_expr("(w*x + b - y)^2", wrt=["w", "b"]))
    w, x, b, y = (real(n) for n in "wxby")
    full = (w * x + b - y) ** 2
    for e in d.meta["hessian"]:
        p, q = real(e.row), real(e.col)
        assert sp.expand(d.graph.full(e.named) - sp.diff(full, p, q)) == 0


def test_cli_json_has_the_hessian_with_values(tmp_path, capsys):
    X, y = _data("bce", 1, 2)
    path = tmp_path / "d.csv"
    path.write_text("x,y\n" + "".join(f"{a},{int(c)}\n" for a, c in zip(X[:, 0], y, strict=True)))
    assert main(["derive", "bce", "--model", "logistic", "--hessian", "--at", "w=0.5,b=-1",
                 "--data", str(path), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    A = np.column_stack([X, np.ones(len(X))])
    p = 1 / (1 + np.exp(-A @ np.array([0.5, -1.0])))
    H = A.T @ np.diag(p * (1 - p)) @ A / len(X)
    assert set(out["hessian"]) == {"w,w", "w,b", "b,b"}
    assert out["hessian"]["w,b"]["value"] == pytest.approx(H[0, 1], rel=1e-12)
    assert out["hessian"]["b,b"]["text"] == "(1/N)·Σᵢ ŷᵢ·(1 − ŷᵢ)"
    ev = np.linalg.eigvalsh(H)
    assert out["curvature"]["stable_lr"] == pytest.approx(2 / ev[-1], rel=1e-12)
    assert out["curvature"]["condition_number"] == pytest.approx(ev[-1] / ev[0], rel=1e-9)
    assert main(["derive", "mse", "--hessian", "--at", "w=0.5,b=-1", "--data", str(path)]) == 0
    text = capsys.readouterr().out
    assert "∂²L/∂b∂w = " in text and "2/λ_max" in text


def test_newton_reaches_the_closed_form_of_mse_in_one_step():
    r = fit("mse", "linear", lr=1.0, max_iter=1, optimizer="newton")
    assert r.iterations == 1
    for name in ("w", "b"):
        assert r.params[name] == pytest.approx(r.closed_form[name], rel=1e-9)
    r = fit("mse", "linear", lr=1.0, optimizer="newton", standardize=True)
    assert r.stopped_because == "converged" and r.iterations <= 2


def _irls(A: np.ndarray, y: np.ndarray, steps: int) -> list[np.ndarray]:
    """Iteratively reweighted least squares, as a statistics textbook writes it."""
    theta = np.zeros(A.shape[1])
    out = []
    for _ in range(steps):
        p = 1 / (1 + np.exp(-A @ theta))
        W = p * (1 - p)
        z = A @ theta + (y - p) / W  # the working response
        theta = np.linalg.solve(A.T @ (W[:, None] * A), A.T @ (W * z))
        out.append(theta)
    return out


@pytest.mark.parametrize("seed", range(3))
def test_newton_on_logistic_regression_is_irls(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 2))
    y = (X @ [1.0, -2.0] + rng.normal(size=40) > 0).astype(float)
    A = np.column_stack([X, np.ones(40)])
    ref = _irls(A, y, 4)
    for t in range(1, 5):
        r = fit("bce", "logistic", (X, y), lr=1.0, max_iter=t, tol=0.0, optimizer="newton")
        got = np.array([r.params[n] for n in ("w1", "w2", "b")])
        np.testing.assert_allclose(got, ref[t - 1], rtol=1e-10, atol=1e-12)


def test_the_largest_stable_lr_is_two_over_lambda_max():
    X, y = _data("mse", 2, 4)
    A = np.column_stack([X, np.ones(len(X))])
    bound = curvature(2 / len(X) * A.T @ A).stable_lr
    ok = fit("mse", "linear", (X, y), lr=0.98 * bound, max_iter=20000)
    bad = fit("mse", "linear", (X, y), lr=1.02 * bound, max_iter=20000)
    assert ok.stopped_because == "converged"
    assert bad.stopped_because == "diverged"
    assert f"lr < {bound:.2g}" in bad.why and "from the Hessian: λ_max" in bad.why


def test_divergence_diagnosis_names_the_condition_number():
    r = fit("mse", "linear", lr=0.001)
    assert "condition number λ_max/λ_min = 3.4e+07" in r.why


def test_newton_needs_a_hessian_and_the_full_batch():
    with pytest.raises(OptionError, match="newton needs the loss's Hessian"):
        gradient_descent(lambda p, i: (p["w"] ** 2, {"w": 2 * p["w"]}), {"w": 1.0}, 1, lr=1.0,
                         optimizer="newton")
    with pytest.raises(OptionError, match="full batch only"):
        fit("mse", "linear", lr=1.0, optimizer="newton", batch_size=5)
    with pytest.raises(OptionError, match="newton takes no momentum"):
        optimizer("newton", momentum=0.5)


def test_cli_trains_with_newton(capsys):
    assert main(["train", "--standardize", "--optimizer", "newton", "--lr", "1"]) == 0
    assert "newton" in capsys.readouterr().out
    assert main(["train", "--optimizer", "newton", "--momentum", "0.5"]) == 2
    assert "--momentum does not apply to --optimizer newton" in capsys.readouterr().err


# -------------------------------------------------------------------------------------------------
# figures


def test_optimizer_paths_are_the_trained_iterates():
    from symgrad.teaching import plots

    problem = plots.valley_problem()
    runs = plots.optimizer_runs(problem, max_iter=30)
    ax = plots.plot_optimizer_paths(problem, max_iter=30)
    for name, (lr, _) in runs.items():
        line = next(ln for ln in ax.get_lines() if ln.get_gid() == f"path-{name}")
        ref = gradient_descent(problem.loss_and_grad, plots.OPTIMIZER_START, len(problem.y),
                               lr=lr, max_iter=30, tol=1e-9, optimizer=name) \
            if name != "newton" else None
        if ref is not None:
            np.testing.assert_allclose(line.get_xdata(), [r["w"] for r in ref.param_history])
    newton = runs["newton"][1]
    cf = problem.closed_form()
    assert newton.param_history[1]["w"] == pytest.approx(cf["w"], rel=1e-9)  # one step


def test_schedule_and_vanishing_gradient_figures():
    from symgrad.teaching import plots

    ax = plots.plot_schedules(lr=0.2, max_iter=40)
    cosine = next(ln for ln in ax.get_lines() if ln.get_gid() == "schedule-cosine")
    assert cosine.get_ydata()[0] == pytest.approx(0.2) and cosine.get_ydata()[-1] == 0
    it, sig = plots.layer_gradient_norms("sigmoid", max_iter=2)
    _, relu = plots.layer_gradient_norms("relu", max_iter=2)
    assert np.all(np.diff(sig[0]) > 0)  # smaller and smaller towards the first layer
    assert sig[0, 0] / sig[0, -1] < 1e-3 < relu[0, 0] / relu[0, -1]


@pytest.mark.parametrize("loss,model", [("bce", "logistic"), ("mse", "linear"),
                                        ("mse", "logistic")])
def test_hessian_steps_never_repeat_a_form_nor_multiply_by_one(loss, model):
    # the logistic Hessian printed "(ŷ(1 − ŷ))·x = ŷ(1 − ŷ)x" and "(ŷ(1 − ŷ))·1 = ŷ(1 − ŷ)"
    from symgrad.render.text import expr_text

    d = with_hessian(derive(loss, model))
    for s in d.steps:
        if s.kind is not Kind.HESSIAN:
            continue
        shown = [expr_text(f).replace("(", "").replace(")", "") for f in s.forms]
        assert all(a != b for a, b in zip(shown, shown[1:], strict=False)), shown
        for f in s.forms:
            ones = [m for m in sp.preorder_traversal(f)
                    if isinstance(m, sp.Mul) and sp.S.One in m.args]
            assert not ones, expr_text(f)

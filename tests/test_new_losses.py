"""The catalogue's MAE, Huber (with its delta) and hinge losses: derived, compiled (one stable
kernel each), trained, plotted, checked; and ``check`` reading sign, Heaviside/step and where(...).

Every gradient is compared with autograd on random data away from the kinks."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

from symgrad.core.derive import derive
from symgrad.core.errors import OptionError, ParseError
from symgrad.core.parse import parse
from symgrad.models.fit import fit
from symgrad.numerics import kernels
from symgrad.numerics.compile import compile_gradient
from symgrad.render.text import render
from symgrad.teaching.check import check_answer
from symgrad.teaching.plots import make_problem


def _huber(r, delta):
    return anp.where(anp.abs(r) <= delta, r**2 / 2, delta * (anp.abs(r) - delta / 2))


LOSSES = {
    "mae": lambda r, z, y, delta: anp.abs(r),
    "huber": lambda r, z, y, delta: _huber(r, delta),
    "hinge": lambda r, z, y, delta: anp.maximum(0.0, 1 - y * z),
}


def _data(loss: str, k: int, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, k))
    y = np.sign(rng.normal(size=40)) if loss == "hinge" else rng.normal(size=40) * 2
    return X, y


@pytest.mark.parametrize("features", [1, 3])
@pytest.mark.parametrize(("loss", "delta"), [("mae", None), ("huber", None), ("huber", 0.5),
                                             ("hinge", None)])
def test_compiled_gradient_matches_autograd(loss, delta, features):
    d = derive(loss, "linear", features=features, delta=delta)
    f = compile_gradient(d)
    names = f.names
    for seed in range(3):
        X, y = _data(loss, features, seed)
        theta = np.random.default_rng(100 + seed).normal(size=len(names))

        def L(th, X=X, y=y):
            z = X @ th[:-1] + th[-1]
            return anp.mean(LOSSES[loss](z - y, z, y, 1.0 if delta is None else delta))

        z = X @ theta[:-1] + theta[-1]
        kinks = {"mae": z - y, "huber": np.abs(z - y) - (delta or 1.0), "hinge": 1 - y * z}[loss]
        assert np.min(np.abs(kinks)) > 1e-6  # away from the kinks
        loss_value, grads = f(dict(zip(names, theta, strict=True)), X, y)
        assert loss_value == pytest.approx(float(L(theta)), rel=1e-12)
        expected = grad(L)(theta)
        assert [grads[n] for n in names] == pytest.approx(list(expected), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("loss", ["mae", "huber", "hinge"])
def test_each_loss_runs_its_own_kernel(loss, monkeypatch):
    kernel = {"mae": "absolute_error_loss_grad", "huber": "huber_loss_grad",
              "hinge": "hinge_loss_grad"}[loss]
    calls = []
    original = getattr(kernels, kernel)
    monkeypatch.setattr(kernels, kernel, lambda *a, **k: calls.append(1) or original(*a, **k))
    f = compile_gradient(derive(loss, "linear"))
    X, y = _data(loss, 1, 0)
    f({"w": 0.3, "b": -0.1}, X, y)
    assert calls


def test_kernels_at_the_kinks_follow_pytorch():
    # sign(0) = 0; hinge: 0 at y z = 1; huber: continuous, r clipped to [-delta, delta]
    assert kernels.absolute_error_loss_grad([2.0], [2.0])[1].tolist() == [0.0]
    assert kernels.hinge_loss_grad([1.0, -1.0], [1.0, -1.0])[1].tolist() == [0.0, 0.0]
    assert kernels.huber_loss_grad([1.0, -3.0], [0.0, 0.0], delta=2.0)[1].tolist() == [1.0, -2.0]
    big = kernels.huber_loss_grad([1e300], [-1e300])  # no overflow: delta (|r| - delta/2)
    assert np.isinf(big[0]) or big[0] > 1e299


@pytest.mark.parametrize(("loss", "note"), [
    ("mae", "sign(z), 0 at z = 0"),
    ("huber", "continuous, no kink"),
    ("hinge", "ReLU'(0) = 0"),
])
def test_the_derivation_states_its_kink_convention(loss, note):
    text = render(derive(loss, "linear"))
    assert note in text and "UNVERIFIED" not in text


def test_huber_delta_is_shown_and_validated():
    d = derive("huber", "linear", delta=2)
    assert "Huber_2" in render(d) and "≤ 2" in render(d)
    with pytest.raises(OptionError):
        derive("mse", "linear", delta=2)
    with pytest.raises(OptionError):
        derive("huber", "linear", delta=-1)
    with pytest.raises(OptionError):
        derive("hinge", "logistic")


@pytest.mark.parametrize("loss", ["mae", "huber", "hinge"])
def test_training_decreases_the_loss(loss):
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = 2 * x + 1 + 0.3 * rng.normal(size=200)
    if loss == "hinge":
        y = np.where(x + 0.2 * rng.normal(size=200) > 0, 1.0, -1.0)
    r = fit(loss, "linear", (x, y), lr=0.1, max_iter=300)
    history = np.asarray(r.loss_history)
    assert history[-1] < 0.5 * history[0]
    assert np.all(np.diff(history[:20]) <= 1e-12)


def test_hinge_needs_minus_one_or_one_labels():
    with pytest.raises(Exception, match="-1 or 1"):
        fit("hinge", "linear", ([0.0, 1.0], [0.0, 1.0]))


@pytest.mark.parametrize("loss", ["mae", "huber"])
def test_plots_draw_the_new_losses(loss):
    p = make_problem(loss)
    assert p.loss == loss and p.reference()["w"] > 0


@pytest.mark.parametrize(("loss", "answer", "correct"), [
    ("mae", "(1/N)*sum(sign(w*x + b - y)*x)", True),
    ("mae", "(1/N)*sum(sign(y - w*x - b)*x)", False),
    ("hinge", "(1/N)*sum(where(y*(w*x + b) < 1, -y*x, 0))", True),
    ("hinge", "(1/N)*sum(Heaviside(1 - y*(w*x + b))*(-y*x))", True),
    ("hinge", "(1/N)*sum(step(1 - y*(w*x + b))*(-y)*x)", True),
    ("hinge", "(1/N)*sum(step(1 - y*(w*x + b))*y*x)", False),
    ("hinge", "(1/N)*sum(where(y*(w*x + b) > 1, -y*x, 0))", False),
    ("huber", "(1/N)*sum(where(abs(w*x + b - y) <= 1, w*x + b - y, sign(w*x + b - y))*x)", True),
    ("huber", "(1/N)*sum((w*x + b - y)*x)", False),
])
def test_check_reads_sign_step_and_where(loss, answer, correct):
    assert check_answer(answer, loss, "linear", wrt="w").correct is correct


def test_comparisons_only_inside_where():
    assert parse("where(z >= 0, 1, 0)") is not None
    for bad in ["z > 0", "where(z, 1, 0)", "where(0 < z < 1, 1, 0)", "where(z == 0, 1, 0)",
                "where(z > 0, z > 1, 0)", "where(z > 0, 1)"]:
        with pytest.raises(ParseError):
            parse(bad)


SPEC = """
title = "New losses"
seed = 1
variants = 1
{exercises}
"""
EXERCISE = """
[[exercise]]
kind = "derive"
title = "{loss}"
loss = "{loss}"
model = "linear"
points = 4
[exercise.at]
w = {{ range = [1, 3], step = 0.5 }}
b = {{ range = [-1, 1], step = 0.5 }}
[exercise.data]
x = [-2, 1, 2]
y = {ys}
"""


def test_worksheet_derive_kind_accepts_the_new_losses(tmp_path):
    import json

    from symgrad.cli import main

    exercises = "".join(EXERCISE.format(loss=loss, ys=ys) for loss, ys in
                        [("mae", "[1, -1, 3]"), ("huber", "[1, -1, 3]"), ("hinge", "[1, -1, -1]")])
    spec = tmp_path / "ws.toml"
    spec.write_text(SPEC.format(exercises=exercises))
    code = main(["worksheet", str(spec), "--out", str(tmp_path / "out"), "--formats", "md,html"])
    assert code == 0
    answers = json.loads(next((tmp_path / "out").rglob("answers.json")).read_text())
    assert {a["given"]["loss"] for a in answers} == {"mae", "huber", "hinge"}
    for a in answers:  # every value against autograd at the drawn point on the drawn data
        given = a["given"]
        X, y = np.array(given["data"]["x"]), np.array(given["data"]["y"])

        def L(th, X=X, y=y, loss=given["loss"]):
            z = th[0] * X + th[1]
            return anp.mean(LOSSES[loss](z - y, z, y, 1.0))

        g = grad(L)(np.array([given["point"]["w"], given["point"]["b"]]))
        assert a["answer"]["value"] == pytest.approx(g["wb".index(given["wrt"])], rel=1e-12)
    md = "".join(p.read_text() for p in (tmp_path / "out").rglob("solutions.md"))
    assert "sign" in md and "Huber" in md and "ReLU" in md

"""The activations added as one registry record each (ELU, SiLU, GELU) work everywhere: derive,
typed --expr, networks (layer level and expanded, gradients, fit), check's named mistakes, the
activation and network worksheet kinds and ``plot activations``. Derivatives are checked against
autograd (an independent autodiff library) and central differences, away from kinks.
"""

from __future__ import annotations

import random
from fractions import Fraction

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
import sympy as sp
from autograd.scipy.special import erf as aerf

from symgrad.cli import main
from symgrad.core.derive import derive_expr
from symgrad.core.functions import FUNCTIONS
from symgrad.models.network import activation, network
from symgrad.numerics.compile import lambdify
from symgrad.teaching.check import check_answer
from symgrad.teaching.plots import plot_activations
from symgrad.teaching.worksheets.kinds import KINDS
from symgrad.teaching.worksheets.spec import ExerciseSpec

#: The activations as autograd computes them, written independently of symgrad (PyTorch's forms).
AUTOGRAD = {
    "elu": lambda z: anp.where(z > 0, z, anp.exp(anp.minimum(z, 0.0)) - 1.0),
    "silu": lambda z: z / (1.0 + anp.exp(-z)),
    "gelu": lambda z: 0.5 * z * (1.0 + aerf(z / anp.sqrt(2.0))),
}
NEW = list(AUTOGRAD)
z = sp.Symbol("z", real=True)


def _points(seed: int = 0) -> np.ndarray:
    """Random points away from the kink at 0."""
    rng = np.random.default_rng(seed)
    zs = rng.uniform(-6.0, 6.0, 200)
    return zs[np.abs(zs) > 1e-3]


@pytest.mark.parametrize("name", NEW)
def test_sympy_derivative_matches_autograd_and_central_differences(name) -> None:
    record = FUNCTIONS[name]
    g = lambdify([z], record(z))
    dg = lambdify([z], sp.diff(record(z), z))
    zs = _points()
    grad = autograd.elementwise_grad(AUTOGRAD[name])
    np.testing.assert_allclose(g(zs), AUTOGRAD[name](zs), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dg(zs), grad(zs), rtol=1e-10, atol=1e-14)
    h = 1e-6
    central = (record.kernel(zs + h) - record.kernel(zs - h)) / (2 * h)
    np.testing.assert_allclose(dg(zs), central, rtol=1e-6, atol=1e-8)


def test_elu_convention_at_the_kink_is_pytorchs() -> None:
    # PyTorch: elu_backward takes the z <= 0 branch at 0: alpha * exp(0) = alpha
    for alpha in (sp.S.One, sp.Rational(1, 2)):
        d = sp.diff(FUNCTIONS["elu"](z, alpha), z)
        assert d.subs(z, 0) == alpha
    assert "elu'(0) = alpha" in FUNCTIONS["elu"].sympy.__doc__


@pytest.mark.parametrize("name", NEW)
def test_derive_typed_expr_and_cli(name, capsys) -> None:
    d = derive_expr(f"{name}(w*x + b)")
    w, x, b = (sp.Symbol(s, real=True) for s in "wxb")
    at = {w: 0.7, x: -1.3, b: 0.2}
    v = float(w.subs(at) * x.subs(at) + b.subs(at))
    want = float(autograd.grad(AUTOGRAD[name])(v)) * at[x]
    got = float(d.gradients["w"].expanded.subs(at).evalf(30))
    assert got == pytest.approx(want, rel=1e-10)
    assert FUNCTIONS[name].rule in str(d)
    assert main(["derive", "--expr", f"{name}(w*x+b)"]) == 0
    out = capsys.readouterr().out
    assert FUNCTIONS[name].text + "(" in out and "∂j/∂w" in out


def _numeric_gradients(net, params, X, Y, h=1e-6):
    out = {}
    for k, p in params.items():
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            plus = {n: q.copy() for n, q in params.items()}
            minus = {n: q.copy() for n, q in params.items()}
            plus[k][idx] += h
            minus[k][idx] -= h
            lp, _ = net.loss_and_gradients(plus, X, Y)
            lm, _ = net.loss_and_gradients(minus, X, Y)
            g[idx] = (lp - lm) / (2 * h)
        out[k] = g
    return out


@pytest.mark.parametrize("name", NEW)
def test_network_gradients_derivations_and_fit(name) -> None:
    net = network([2, 3, 1], [name, "sigmoid"], "bce")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(8, 2))
    Y = (X[:, :1] * X[:, 1:] > 0).astype(float)
    params = net.init_params(seed=3)
    loss, grads = net.loss_and_gradients(params, X, Y)
    numeric = _numeric_gradients(net, params, X, Y)
    for k in grads:
        np.testing.assert_allclose(grads[k], numeric[k], rtol=1e-5, atol=1e-8)
    # the network's g' against autograd
    zs = _points(2)
    act = activation(name)
    dg = np.broadcast_to(act.dg(zs, act.g(zs)), zs.shape)
    want = autograd.elementwise_grad(AUTOGRAD[name])(zs)
    np.testing.assert_allclose(dg, want, rtol=1e-10, atol=1e-14)
    assert name in str(net.derive()).lower()
    assert net.derive(expanded=True).gradients
    res = net.fit(X, Y, lr=0.5, max_iter=300)
    assert res.stopped_because != "diverged"
    assert net.loss_and_gradients(res.params, X, Y)[0] < 0.8 * loss


@pytest.mark.parametrize("name", NEW)
def test_check_names_the_mistakes(name) -> None:
    # g(z - 1): check's random points then fall on both sides of a kink at 0
    u = z - 1
    expr = f"{name}(z - 1)"
    assert check_answer(_correct_answer(name).replace("u", "(z - 1)"), expr=expr, wrt="z").correct
    for mistake in FUNCTIONS[name].mistakes:
        wrong = _typed(mistake.wrong(*FUNCTIONS[name](u).args))
        r = check_answer(wrong, expr=expr, wrt="z")
        assert not r.correct and mistake.name in r.mistakes, (mistake.name, r.mistakes)


def _typed(e: sp.Expr) -> str:
    """An expression as a student types it: a step at 0 as relu(x)/x (random points only)."""

    def typed(pw: sp.Piecewise) -> sp.Expr:
        (above, cond), (below, _) = pw.args
        x = cond.lhs - cond.rhs
        step = FUNCTIONS["relu"](x) / x
        return above * step + below * (1 - step)

    return sp.sstr(e.replace(lambda x: isinstance(x, sp.Piecewise), typed)).replace("**", "^")


def _correct_answer(name: str) -> str:
    return {
        "elu": "min(1, exp(u))",
        "silu": "sigmoid(u)*(1 + u*(1 - sigmoid(u)))",
        # 1/√(2π) typed as a number: the parser has no pi
        "gelu": "(1 + erf(u/sqrt(2)))/2 + u*exp(-u^2/2)*0.398942280401432677939946059934",
    }[name]


@pytest.mark.parametrize("name", NEW)
def test_activation_worksheet_and_plot(name) -> None:
    fields = {"activation": name, "z": [-1.5, 2]}
    es = ExerciseSpec(2, "activation", Fraction(2), "", fields, "demo")
    ex = KINDS["activation"].generate(es, random.Random(0))
    values = {a.id: a.value for a in ex.answers}
    grad = autograd.grad(AUTOGRAD[name])
    for k, v in enumerate((-1.5, 2.0), start=1):
        assert values[f"2.a{k}"] == pytest.approx(float(AUTOGRAD[name](v)), rel=1e-12)
        assert values[f"2.da{k}"] == pytest.approx(float(grad(v)), rel=1e-12)
    fig = plot_activations([name])
    ax = fig.axes[0]
    assert ax.get_title() == name
    line, dline = ax.get_lines()[:2]
    np.testing.assert_allclose(line.get_ydata(), AUTOGRAD[name](line.get_xdata()), atol=1e-12)
    np.testing.assert_allclose(dline.get_ydata(),
                               autograd.elementwise_grad(AUTOGRAD[name])(dline.get_xdata()),
                               atol=1e-10)


@pytest.mark.parametrize("name", NEW)
def test_network_worksheet(name) -> None:
    fields = {"layers": [2, 2, 1], "activations": [name, "sigmoid"], "loss": "bce",
              "weights": {"W1": [[1, -1], [0.5, 1]], "b1": [0, -0.5], "W2": [[1, -1]],
                          "b2": [0.5]}, "x": [2, 1], "y": 1}
    es = ExerciseSpec(1, "network", Fraction(8), "", fields, "demo")
    KINDS["network"].validate(es)
    ex = KINDS["network"].generate(es, random.Random(0))
    got = {a.id: a.value for a in ex.answers}
    # z1 = (1, 1.5): both positive; a1 = g(z1); dW1 from autograd through the whole network
    g = AUTOGRAD[name]

    def loss(W1):
        a1 = g(anp.dot(W1, anp.array([2.0, 1.0])) + anp.array([0.0, -0.5]))
        zz = anp.dot(anp.array([1.0, -1.0]), a1) + 0.5
        return anp.log(1.0 + anp.exp(-zz))

    dW1 = autograd.grad(loss)(np.array([[1.0, -1.0], [0.5, 1.0]]))
    assert got["1.dW1_2_1"] == pytest.approx(dW1[1, 0], rel=1e-9)

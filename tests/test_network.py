"""Layered networks: gradients against autograd and central differences, the expanded and the
layer-level derivations element by element, the digits example, timings and bad input."""

from __future__ import annotations

import json
from collections import Counter

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad as agrad

from symgrad.core.errors import DataError, OptionError
from symgrad.core.steps import Kind, Rule
from symgrad.core.verify import Method
from symgrad.models.network import activation, network, train_network
from symgrad.models.network_expand import parameter_index
from symgrad.numerics.compile import compile_gradient
from symgrad.render import json as json_render
from symgrad.render import latex, text

HIDDEN = ("sigmoid", "tanh", "relu", "leaky_relu", "identity")


# --- an independent forward pass in autograd.numpy (samples as rows, unlike symgrad) -------------


def _g(name: str, z):
    if name == "sigmoid":
        return 1.0 / (1.0 + anp.exp(-z))
    if name == "tanh":
        return anp.tanh(z)
    if name == "relu":
        return anp.where(z > 0, z, 0.0)
    if name == "leaky_relu":
        return anp.where(z > 0, z, 0.01 * z)
    if name == "identity":
        return z
    raise AssertionError(name)


def autograd_loss(sizes, acts, loss, X, Y):
    """L(params) written directly from the definitions (rows = samples)."""
    L = len(sizes) - 1

    def f(flat):
        A = X
        for ell in range(1, L + 1):
            W, b = flat[f"W{ell}"], flat[f"b{ell}"]
            Z = anp.dot(A, W.T) + b
            if acts[ell - 1] == "softmax":
                shifted = Z - anp.max(Z, axis=1, keepdims=True)
                logp = shifted - anp.log(anp.sum(anp.exp(shifted), axis=1, keepdims=True))
                return -anp.sum(Y * logp) / X.shape[0]
            A = _g(acts[ell - 1], Z)
        if loss == "bce":
            return -anp.mean(Y * anp.log(A) + (1 - Y) * anp.log(1 - A))
        return anp.sum((A - Y) ** 2) / X.shape[0]

    return f


def random_specs():
    """Depth 1-4, every activation in a hidden and in the output layer, every loss."""
    specs = []
    for depth in (1, 2, 3, 4):
        for k, loss in enumerate(("bce", "cross_entropy", "mse")):
            for j, act in enumerate(HIDDEN):
                rng = np.random.default_rng(100 * depth + 10 * k + j)
                hidden = [HIDDEN[(j + t) % 5] for t in range(depth - 1)]
                n_out = {"bce": 1, "cross_entropy": 3, "mse": 2}[loss]
                last = {"bce": "sigmoid", "cross_entropy": "softmax", "mse": act}[loss]
                if depth == 1 and loss != "mse" and j > 0:
                    continue
                sizes = [int(rng.integers(1, 5))] + [int(rng.integers(1, 5)) for _ in hidden]
                specs.append((sizes + [n_out], hidden + [last], loss))
    return specs


SPECS = random_specs()


def _data(net, seed: int, m: int = 7, onehot: bool = False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, net.sizes[0]))
    nL = net.sizes[-1]
    if net.loss_name == "bce":
        Y = (rng.random(m) < 0.5).astype(float)
    elif net.loss_name == "cross_entropy":
        labels = rng.integers(0, nL, size=m)
        Y = np.eye(nL)[labels] if onehot else labels
    else:
        Y = rng.normal(size=(m, nL))
    return X, Y


def _params(net, seed: int):
    rng = np.random.default_rng(seed)
    return {k: rng.normal(0.0, 0.8, size=v.shape) for k, v in net.init_params(seed).items()}


def _rel(a, b) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def test_specs_cover_everything():
    used_acts = {a for _, acts, _ in SPECS for a in acts}
    assert used_acts == {*HIDDEN, "softmax"}
    assert {loss for *_, loss in SPECS} == {"bce", "cross_entropy", "mse"}
    assert {len(s) - 1 for s, _, _ in SPECS} == {1, 2, 3, 4}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{'-'.join(map(str, s[0]))}-"
                         f"{'.'.join(s[1])}-{s[2]}")
def test_gradients_match_autograd_and_central_differences(spec):
    sizes, acts, loss = spec
    net = network(sizes, acts, loss)
    params = _params(net, seed=len(sizes) + sum(sizes))
    X, Y = _data(net, seed=sum(sizes), onehot=True)
    Yr = Y if Y.ndim == 2 else Y[:, None]
    f = autograd_loss(sizes, acts, loss, X, Yr)
    ref = agrad(f)(params)
    got = net.gradients(params, X, Y)
    assert set(got) == set(params)
    for k in params:
        assert got[k].shape == params[k].shape
        assert _rel(got[k], ref[k]) < 1e-10, k
    assert abs(net.loss(params, X, Y) - f(params)) < 1e-12 * max(1.0, abs(f(params)))
    # central differences, every parameter entry
    h = 1e-6
    for k, v in params.items():
        fd = np.zeros_like(v)
        for idx in np.ndindex(v.shape):
            up = {**params, k: v.copy()}
            up[k][idx] += h
            down = {**params, k: v.copy()}
            down[k][idx] -= h
            fd[idx] = (net.loss(up, X, Y) - net.loss(down, X, Y)) / (2 * h)
        assert np.max(np.abs(fd - got[k])) < 1e-6 * max(1.0, float(np.max(np.abs(fd)))), k


def test_integer_labels_equal_one_hot():
    net = network([3, 4, 3], ["tanh", "softmax"], "cross_entropy")
    p = _params(net, 1)
    X, labels = _data(net, 2)
    g1, g2 = net.gradients(p, X, labels), net.gradients(p, X, np.eye(3)[labels])
    for k in p:
        assert np.allclose(g1[k], g2[k], rtol=1e-13, atol=1e-15)


def test_g_prime_comes_from_the_engine():
    import sympy as sp

    a, z = sp.symbols("a z", real=True)
    assert activation("sigmoid").derivative == a * (1 - a)
    assert activation("tanh").derivative == 1 - a**2
    assert activation("relu").derivative == sp.Piecewise((1, z > 0), (0, True))
    assert activation("identity").derivative == 1
    assert _methods(activation("leaky_relu").derivation)[Method.SYMBOLIC] == 2


# --- derivations ---------------------------------------------------------------------------------


def _methods(d) -> Counter:
    """How the steps of ``d`` were checked, by method; asserts that every step that is not a
    definition has a check and that it passed."""
    counts: Counter = Counter()
    for s in d.steps:
        if s.kind is Kind.DEFINITION:
            assert s.check is None, s
            continue
        assert s.check is not None and s.check.passed, s
        counts[s.check.method] += 1
    return counts


EXPANDED = [
    ([2, 3, 1], ["relu", "sigmoid"], "bce"),
    ([2, 2, 3], ["sigmoid", "softmax"], "cross_entropy"),
    ([2, 2, 2, 1], ["tanh", "leaky_relu", "identity"], "mse"),
    ([1, 2, 2], ["identity", "tanh"], "mse"),
]


@pytest.mark.parametrize("spec", EXPANDED, ids=lambda s: "-".join(map(str, s[0])))
def test_expanded_equals_layer_level_element_by_element(spec):
    net = network(*spec)
    d = net.derive(expanded=True)
    numeric = [s.check for s in d.steps if s.check and s.check.method is Method.RANDOM_POINTS]
    assert sum(_methods(d).values()) > len(d.gradients)
    assert all(c.points >= 4 and c.digits >= 60 for c in numeric)
    n_weights = sum(int(np.prod(s)) for s in net.shapes().values())
    assert len(d.gradients) == n_weights == net.n_params
    params = _params(net, 3)
    X, Y = _data(net, 4, m=6, onehot=True)
    flat = {}
    for name in d.gradients:
        array, _, idx = parameter_index(name)
        flat[name] = float(params[array][idx])
    loss, grads = compile_gradient(d)(flat, X, Y)
    layer = net.gradients(params, X, Y)
    assert abs(loss - net.loss(params, X, Y)) < 1e-12
    for name, value in grads.items():
        array, _, idx = parameter_index(name)
        assert abs(value - layer[array][idx]) <= 1e-12 * max(1.0, abs(value)), name


def test_expanded_shows_the_per_weight_chain_rule():
    d = network([2, 3, 1], ["relu", "sigmoid"], "bce").derive(expanded=True)
    out = text.render(d)
    assert "∂L/∂w₁₂^[1]" in out
    assert any(s.kind is Kind.CHAIN and Rule.CHAIN in s.rules for s in d.steps)
    assert any(Rule.CANCELLATION in s.rules for s in d.steps)


def test_expanded_4_8_1_derives_every_weight():
    """Its time (target: under 5 s) is measured in benchmarks/bench_derive.py, not here."""
    d = network([4, 8, 1], ["relu", "sigmoid"], "bce").derive(expanded=True)
    assert _methods(d)[Method.RANDOM_POINTS] > 49 and len(d.gradients) == 49


def test_expanded_refuses_large_networks():
    # 16-32-1 (577 parameters) is derived since issue 18 (about 25 s: benchmarks/bench_derive.py)
    with pytest.raises(OptionError, match=r"32-64-1 network \(2177 parameters\).*layer-level"):
        network([32, 64, 1], ["relu", "sigmoid"], "bce").derive(expanded=True)


def test_layer_level_any_width():
    """Its time (under 2 s, whatever the width) is measured in benchmarks/bench_derive.py."""
    for sizes, acts, loss in [
        ([784, 512, 512, 256, 10], ["relu", "tanh", "sigmoid", "softmax"], "cross_entropy"),
        ([10_000] * 6 + [1], ["leaky_relu"] * 5 + ["sigmoid"], "bce"),
        ([3] + [4096] * 4 + [7], ["sigmoid", "identity", "relu", "tanh", "identity"], "mse"),
    ]:
        d = network(sizes, acts, loss).derive()
        matrix = [s.check for s in d.steps if s.check
                  and s.check.method is Method.CENTRAL_DIFFERENCES]
        # per layer dW, db and dZ, and dA below the top: checked on 4 samples to 1e-6
        assert len(matrix) == 4 * (len(sizes) - 1) - 1 + (loss == "mse")
        assert all(c.passed and c.points == 4 and c.tolerance == 1e-6 for c in matrix)
        assert _methods(d)[Method.SYMBOLIC] + _methods(d)[Method.RANDOM_POINTS] > 0
        assert len(d.gradients) == 2 * (len(sizes) - 1)


def test_layer_level_steps_show_the_lecture_equations():
    d = network([4, 8, 1], ["relu", "sigmoid"], "bce").derive()
    out = text.render(d)
    for line in [
        "Z^[1] = W^[1]·A^[0] + b^[1]",
        "A^[1] = ReLU(Z^[1])",
        "dZ^[2] = A^[2] − Y    [chain rule, cancellation (sigmoid + binary cross-entropy)",
        "∂L/∂W^[2] = (1/m)·Σᵢ dzᵢ^[2]·aᵢ^[1]ᵀ = (1/m)·dZ^[2]·A^[1]ᵀ",
        "∂L/∂b^[1] = (1/m)·Σᵢ dzᵢ^[1]",
        "dA^[1] = W^[2]ᵀ·dZ^[2]",
        "dZ^[1] = dA^[1] ⊙ g₁'(Z^[1]) = dA^[1] ⊙ {1 if Z^[1] > 0; 0 otherwise}",
        "∂a/∂z = a·(1 − a)    [sigmoid identity",
        "(8, 4) (4, m) + (8, 1) broadcast over the m columns = (8, m)",
        "samples as columns",
    ]:
        assert line in out, line
    assert {s.kind for s in d.steps} == {Kind.DEFINITION, Kind.LOCAL, Kind.CHAIN}
    ce = text.render(network([3, 5, 4], ["sigmoid", "softmax"], "cross_entropy").derive())
    assert "cancellation (softmax + cross-entropy)" in ce
    assert "dZ^[1] = dA^[1] ⊙ g₁'(Z^[1]) = dA^[1] ⊙ A^[1] ⊙ (1 − A^[1])" in ce


def test_renderers_print_network_derivations():
    d = network([2, 3, 3], ["tanh", "softmax"], "cross_entropy").derive()
    tex = latex.render(d)
    assert r"W^{[1]} A^{[0]} + b^{[1]}" in tex and r"\odot" in tex and "_" not in \
        tex.replace("_{", "").replace(r"\sum_", "")
    data = json.loads(json_render.render(d))
    assert data["model"] == "mlp" and data["layout"] == "samples as columns"
    assert set(data["gradient"]) == {"W1", "b1", "W2", "b2"}
    assert all(s["check"]["passed"] for s in data["steps"] if s["kind"] != "definition")
    assert {s["check"]["method"] for s in data["steps"] if s["check"]} == {
        "symbolic identity", "random points", "central differences"}
    expanded = json.loads(json_render.render(
        network([1, 2, 1], ["tanh", "sigmoid"], "bce").derive(expanded=True)))
    assert expanded["form"] == "expanded" and len(expanded["gradient"]) == 7


def test_cli_derive_mlp(capsys):
    from symgrad.cli import main

    assert main(["derive", "bce", "--model", "mlp", "--layers", "2,3,1", "--activations",
                 "relu,sigmoid"]) == 0
    assert "dZ^[2] = A^[2] − Y" in capsys.readouterr().out
    assert main(["derive", "bce", "--model", "mlp", "--layers", "2,3,1", "--activations",
                 "relu,sigmoid", "--expanded", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["form"] == "expanded"
    assert main(["derive", "bce", "--model", "mlp", "--layers", "2,3,2", "--activations",
                 "relu,sigmoid"]) == 2
    assert "bce needs one sigmoid output unit" in capsys.readouterr().err
    assert main(["derive", "bce", "--model", "mlp", "--layers", "2,3,1"]) == 2
    assert "--activations is required" in capsys.readouterr().err


# --- training ------------------------------------------------------------------------------------


def test_fit_full_batch_and_mini_batch():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 5)
    y = np.array([0, 1, 1, 0] * 5)
    net = network([2, 4, 1], ["tanh", "sigmoid"], "bce")
    full = net.fit(X, y, lr=1.0, max_iter=2000, seed=0)
    mini = net.fit(X, y, lr=0.5, max_iter=2000, batch_size=4, seed=0)
    for res in (full, mini):
        assert net.accuracy(res.params, X, y) == 1.0
        assert res.loss_history[-1] < res.loss_history[0]
        assert set(res.params) == {"W1", "b1", "W2", "b2"}


def test_digits_example_reaches_95_percent():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / "digits.py"
    spec = importlib.util.spec_from_file_location("digits_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    train = module.train

    net, res, acc = train()
    assert acc >= 0.95
    assert res.stopped_because in ("max_iter", "converged")


def test_train_network_for_the_train_command():
    X = np.random.default_rng(0).normal(size=(30, 3))
    Y = X @ np.array([[1.0], [-2.0], [0.5]])
    net, res = train_network("3,1", "identity", "mse", X, Y, lr=0.1, max_iter=500)
    assert net.sizes == (3, 1) and res.final_loss < 1e-6


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (([4, 0, 1], ["relu", "sigmoid"], "bce"), "layer 1 has size 0; every layer needs at least 1"),
    (([0, 3, 1], ["relu", "sigmoid"], "bce"), "input layer (layer 0) has size 0"),
    (([4], [], "mse"), "at least 2 layer sizes"),
    (([4, 8, 1], ["relu"], "bce"), "3 layer sizes [4, 8, 1] need 2 activation(s)"),
    (([4, 8, 1], ["relu", "relu", "sigmoid"], "bce"), "need 2 activation(s), one per layer"),
    (([4, 8, 3], ["softmax", "softmax"], "cross_entropy"),
     "softmax is only allowed on the last layer (layer 2), got it on layer 1"),
    (([4, 8, 2], ["relu", "sigmoid"], "bce"),
     "bce needs one sigmoid output unit; the output layer (layer 2) has 2"),
    (([4, 8, 1], ["relu", "tanh"], "bce"), "bce needs a sigmoid output; the output layer"),
    (([4, 3], ["sigmoid"], "cross_entropy"), "cross_entropy needs a softmax output layer"),
    (([4, 3], ["softmax"], "mse"), "softmax needs cross_entropy"),
    (([4, 3], ["swish"], "mse"), "unknown activation for layer 1 'swish'"),
    (([4, 3], ["relu"], "hinge"), "unknown loss 'hinge'"),
    (("4,x,1", "relu,sigmoid", "bce"), "layer sizes must be integers"),
])
def test_bad_specs(args, message):
    with pytest.raises(OptionError) as err:
        network(*args)
    assert message in str(err.value)


def test_bad_params_and_data():
    net = network([4, 8, 1], ["relu", "sigmoid"], "bce")
    p = net.init_params(0)
    X, y = np.zeros((5, 4)), np.zeros(5)
    with pytest.raises(DataError, match=r"parameter W2 has shape \(8, 1\); expected \(1, 8\) = "
                                         r"\(n2, n1\)"):
        net.gradients({**p, "W2": np.zeros((8, 1))}, X, y)
    with pytest.raises(DataError, match=r"parameter b1 has shape \(4,\); expected \(8,\)"):
        net.loss({**p, "b1": np.zeros(4)}, X, y)
    with pytest.raises(DataError, match="no value for parameter W1"):
        net.gradients({k: v for k, v in p.items() if k != "W1"}, X, y)
    with pytest.raises(DataError, match="unknown parameter"):
        net.gradients({**p, "W3": 1.0}, X, y)
    with pytest.raises(DataError, match=r"X has 5 samples \(rows\) but Y has 4; expected Y of "
                                         r"shape \(5, 1\)"):
        net.gradients(p, X, np.zeros(4))
    with pytest.raises(DataError, match=r"X has shape \(5, 3\); expected \(m, 4\)"):
        net.gradients(p, np.zeros((5, 3)), y)
    ce = network([4, 3], ["softmax"], "cross_entropy")
    with pytest.raises(DataError, match=r"integer class labels 0..2"):
        ce.gradients(ce.init_params(0), X, np.array([0, 1, 2, 3, 0]))
    with pytest.raises(DataError, match=r"Y has shape \(5, 2\); expected \(5, 3\)"):
        ce.gradients(ce.init_params(0), X, np.zeros((5, 2)))


def test_engine_relu_term_is_free_of_n():
    """Regression: a ReLU unit's gradient term once kept 1/N inside its Piecewise."""
    from symgrad.core.graph import N

    d = network([1, 1, 1], ["relu", "sigmoid"], "bce").derive(expanded=True)
    for g in d.gradients.values():
        assert not g.term.has(N)

"""Matrix calculus step by step (issue 17, phase 1): the engine against autograd, the textbook
forms, the checks failing on a corrupted claim, the NumPy export, the CLI and its bad input."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import autograd.numpy as anp
import numpy as np
import pytest
import sympy as sp
from _matrix_examples import assert_matches_autograd

from symgrad.core.errors import ParseError, ShapeError, SymgradError, VerificationError
from symgrad.core.matrix import parse_matrix, parse_shapes, shape_list
from symgrad.core.matrix_check import verify
from symgrad.core.matrix_derive import derive_matrix
from symgrad.core.steps import Kind, Rule
from symgrad.render.json import matrix_dict
from symgrad.render.python import render as python_source
from symgrad.render.text import matrix_text

ROOT = Path(__file__).resolve().parent.parent


def _sigmoid(z):
    return 1 / (1 + anp.exp(-z))


def _softmax(v):
    e = anp.exp(v - anp.max(v))
    return e / anp.sum(e)


# (expression, shapes, wrt, the loss written independently with autograd.numpy)
CASES = [
    ("sum((X*w - y)^2)/N", "X: N x d, w: d, y: N", "w",
     lambda X, w, y: anp.sum((X @ w - y) ** 2) / X.shape[0]),
    ("z = X*w; p = sigmoid(z); L = mean(-y .* log(p) - (1 - y) .* log(1 - p))",
     "X: N x d, w: d, y: N", "w",
     lambda X, w, y: anp.mean(-y * anp.log(_sigmoid(X @ w))
                              - (1 - y) * anp.log(1 - _sigmoid(X @ w)))),
    ("mean(log(1 + exp(-y .* (X*w))))", "X: N x d, w: d, y: N", "w",
     lambda X, w, y: anp.mean(anp.log(1 + anp.exp(-y * (X @ w))))),
    ("norm(A*x - b)^2 + lam*norm(x)^2", "A: m x n, x: n, b: m, lam: scalar", "x,lam",
     lambda A, x, b, lam: anp.sum((A @ x - b) ** 2) + lam * anp.sum(x**2)),
    ("-sum(y .* log(softmax(W*x + b)))", "W: k x d, x: d, b: k, y: k", "W,b,x",
     lambda W, x, b, y: -anp.sum(y * anp.log(_softmax(W @ x + b)))),
    ("mean(-y .* log(sigmoid(X*w)) - (1 - y) .* log(1 - sigmoid(X*w)))",
     "X: N x d, w: d, y: N", "w",
     lambda X, w, y: anp.mean(-y * anp.log(_sigmoid(X @ w))
                              - (1 - y) * anp.log(1 - _sigmoid(X @ w)))),
    ("sum(tanh(W*x))", "W: k x d, x: d", "W,x", lambda W, x: anp.sum(anp.tanh(W @ x))),
    ("mean(relu(X*w + c))", "X: N x d, w: d, c: scalar", "w,c",
     lambda X, w, c: anp.mean(anp.maximum(X @ w + c, 0.0))),
    ("dot(a, b) * sum(a)", "a: n, b: n", "a,b", lambda a, b: anp.sum(a * b) * anp.sum(a)),
    ("trace(A'*B)", "A: n x m, B: n x m", "A,B", lambda A, B: anp.trace(A.T @ B)),
    ("norm(x)", "x: n", "x", lambda x: anp.sqrt(anp.sum(x**2))),
    ("x'*A*x", "x: n, A: n x n", "x,A", lambda x, A: x @ A @ x),
    ("sum(exp(X*w) ./ (1 + exp(X*w)))", "X: N x d, w: d", "w",
     lambda X, w: anp.sum(anp.exp(X @ w) / (1 + anp.exp(X @ w)))),
    ("sum(softplus(X*w)) - dot(y, X*w)", "X: N x d, w: d, y: N", "w",
     lambda X, w, y: anp.sum(anp.log(1 + anp.exp(X @ w))) - anp.sum(y * (X @ w))),
    ("sum((A*B - C)^2)", "A: m x n, B: n x p, C: m x p", "A,B",
     lambda A, B, C: anp.sum((A @ B - C) ** 2)),
    ("sum(sigmoid(V*tanh(W*x)))", "V: k x m, W: m x d, x: d", "V,W",
     lambda V, W, x: anp.sum(_sigmoid(V @ anp.tanh(W @ x)))),
    ("0.5*norm(X*w - y)^2/N + lam/2*norm(w)^2", "X: N x d, w: d, y: N, lam: scalar", "w",
     lambda X, w, y, lam: 0.5 * anp.sum((X @ w - y) ** 2) / X.shape[0] + lam / 2 * anp.sum(w**2)),
    ("sum(log(sigmoid(y .* (X*w))))", "X: N x d, w: d, y: N", "w",
     lambda X, w, y: anp.sum(anp.log(_sigmoid(y * (X @ w))))),
    ("mean(sqrt(1 + (X*w)^2))", "X: N x d, w: d", "w",
     lambda X, w: anp.mean(anp.sqrt(1 + (X @ w) ** 2))),
    ("sum(w ./ (1 + w .* w))", "w: d", "w", lambda w: anp.sum(w / (1 + w * w))),
    ("sum(X'*y .* w)", "X: N x d, y: N, w: d", "w", lambda X, y, w: anp.sum((X.T @ y) * w)),
    ("exp(-norm(x - c)^2) * sum(x)", "x: n, c: n", "x,c",
     lambda x, c: anp.exp(-anp.sum((x - c) ** 2)) * anp.sum(x)),
    ("u = W*x + b; h = tanh(u); L = norm(V*h - y)^2", "W: m x d, x: d, b: m, V: k x m, y: k",
     "W,b,V", lambda W, x, b, V, y: anp.sum((V @ anp.tanh(W @ x + b) - y) ** 2)),
]

SIZES = ({"N": 5, "d": 3, "k": 4, "m": 3, "n": 4, "p": 2}, {"N": 2, "d": 1, "k": 2, "m": 2, "n": 1,
                                                           "p": 3})


@pytest.mark.parametrize("text, shapes, wrt, reference", CASES, ids=[c[0] for c in CASES])
def test_against_autograd(text, shapes, wrt, reference):
    assert len(CASES) >= 20
    d = derive_matrix(text, shapes, wrt)
    assert d.verified
    assert_matches_autograd(d, reference, SIZES, seed=17)


def test_every_step_carries_its_check():
    d = derive_matrix(*CASES[1][:3])
    for s in d.steps:
        if s.kind is Kind.DEFINITION:
            assert s.check is None
        else:
            assert s.check.passed and s.check.method.value == "central differences"
            assert s.check.points == 3 and s.check.digits >= 40 and "N=" in s.check.against
    g = d.gradients["w"]
    assert g.exact.passed and g.exact.against  # sympy.diff entry by entry


def _gradient(text, shapes, wrt, name):
    return derive_matrix(text, shapes, wrt).gradients[name]


def test_textbook_least_squares():
    g = _gradient("sum((X*w - y)^2)/N", "X: N x d, w: d, y: N", "w", "w")
    X, w, y = (parse_matrix(n, parse_shapes("X: N x d, w: d, y: N")) for n in "Xwy")
    scale, product = g.expanded.args
    assert g.expanded.op == "mul" and scale.value == 2 / sp.Symbol("N", positive=True,
                                                                   integer=True)
    assert product.op == "matmul" and product.args[0].op == "T" and product.args[0].args[0] == X
    assert product.args[1] == parse_matrix("X*w - y", parse_shapes("X: N x d, w: d, y: N"))
    assert (w.shape, y.shape) == (g.shape, y.shape)
    assert matrix_text(g.expanded) == "(2/N)·Xᵀ(Xw − y)"


def test_textbook_logistic_forms():
    bce = _gradient("mean(-y .* log(sigmoid(X*w)) - (1 - y) .* log(1 - sigmoid(X*w)))",
                    "X: N x d, w: d, y: N", "w", "w")
    assert matrix_text(bce.expanded) == "(1/N)·Xᵀ(σ(Xw) − y)"
    inner = bce.expanded.args[1].args[1]
    assert inner.op == "sub" and inner.args[0].op == "fn" and inner.args[0].name == "sigmoid"
    pm = _gradient("mean(log(1 + exp(-y .* (X*w))))", "X: N x d, w: d, y: N", "w", "w")
    # the textbook's −(1/N)·Xᵀ(y ⊙ σ(−y ⊙ Xw)): y before Xw, the sign in front
    assert matrix_text(pm.expanded).replace("(Xw)", "Xw") == "−(1/N)·Xᵀ(y ⊙ σ(−y ⊙ Xw))"
    sigma = pm.expanded.args[0].args[1].args[1].args[1]
    assert sigma.op == "fn" and sigma.args[0].op == "neg"
    assert [a.op for a in sigma.args[0].args[0].args] == ["var", "matmul"]


def test_textbook_ridge_and_softmax():
    ridge = _gradient("norm(A*x - b)^2 + lam*norm(x)^2", "A: m x n, x: n, b: m, lam: scalar",
                      "x", "x")
    assert matrix_text(ridge.expanded) == "2·Aᵀ(Ax − b) + 2λ·x"
    assert ridge.expanded.op == "add" and ridge.expanded.args[0].args[1].op == "matmul"
    d = derive_matrix("-sum(y .* log(softmax(W*x + b)))", "W: k x d, x: d, b: k, y: k", "W,b")
    assert matrix_text(d.gradients["W"].expanded) == "(softmax(Wx + b) − y)xᵀ"
    assert matrix_text(d.gradients["b"].expanded) == "softmax(Wx + b) − y"
    assert d.gradients["W"].shape_list == ["k", "d"]
    cancel = next(s for s in d.steps if s.lhs.op == "adj" and s.lhs.name == "z")
    assert Rule.ONE_HOT_CANCELLATION in cancel.rules and Rule.SOFTMAX_JACOBIAN in cancel.rules
    assert d.simplex == ("y",) and d.assumptions


def test_printed_text_names_shapes_rules_and_layout():
    d = derive_matrix("z = X*w; p = sigmoid(z); L = mean(-y .* log(p) - (1 - y) .* log(1 - p))",
                      "X: N x d, w: d, y: N", "w")
    text = str(d)
    assert "\nDenominator layout: ∂L/∂v has the shape of v.\n" in text
    assert "z = Xw ∈ ℝᴺ    [definition]" in text
    assert "∂L/∂z = ∂L/∂p ⊙ (p ⊙ (1 − p)) = (1/N)·(p − y) ∈ ℝᴺ    [sigmoid identity" in text
    assert "∂L/∂w = (1/N)·Xᵀ(σ(Xw) − y) ∈ ℝᵈ" in text
    assert "linear map" in text and "mean as a ones vector" in text


def test_a_corrupted_claim_fails():
    d = derive_matrix(*CASES[0][:3])
    grads = [(n, g.named, g.expanded) for n, g in d.gradients.items()]
    assert verify(d, grads).verified
    k, step = next((k, s) for k, s in enumerate(d.steps) if s.kind is Kind.CHAIN)
    wrong = parse_matrix("(1/N) * (z - y)", {"z": step.shape, "y": step.shape})
    bad = dataclasses.replace(d, steps=(*d.steps[:k], dataclasses.replace(
        step, forms=(*step.forms[:-1], wrong)), *d.steps[k + 1:]))
    with pytest.raises(VerificationError):
        verify(bad, grads)
    name, named, expanded = grads[0]
    off = parse_matrix("(2/N) * X'*(X*w - y) + w", parse_shapes("X: N x d, w: d, y: N"))
    with pytest.raises(VerificationError):
        verify(d, [(name, named, off)])


def test_json_is_strict_with_shapes_as_lists():
    d = derive_matrix("norm(A*x - b)^2 + lam*norm(x)^2", "A: m x n, x: n, b: m, lam: scalar",
                      "x")
    data = json.loads(json.dumps(matrix_dict(d), allow_nan=False))
    assert data["shapes"] == {"A": ["m", "n"], "x": ["n"], "b": ["m"], "lambda": []}
    assert all(isinstance(s, str) for step in data["steps"] for s in step["shape"])
    assert data["gradients"]["x"]["shape"] == ["n"] and data["gradients"]["x"]["exact"]["passed"]
    checked = [step for step in data["steps"] if step["kind"] != "definition"]
    assert checked and all(step["exact"]["passed"] and step["check"]["passed"] for step in checked)
    assert d.to_dict() == matrix_dict(d)


def test_numpy_export_asserts_shapes():
    d = derive_matrix("sum((X*w - y)^2)/N", "X: N x d, w: d, y: N", "w")
    source = python_source(d)
    assert "assert X.shape[1] == w.shape[0]" in source
    f = d.to_numpy()
    with pytest.raises(AssertionError, match="X.shape.1. must equal w.shape.0."):
        f(np.ones((3, 2)), np.ones(4), np.ones(3))


def test_shapes_and_language():
    s = parse_shapes("X: N×d, w: d, B: 3x2, c: 1, lam: scalar, M: Nxd")
    assert [shape_list(v) for v in s.values()] == [["N", "d"], ["d"], ["3", "2"], [], [], ["N",
                                                                                           "d"]]
    s = parse_shapes("X: N x d, w: d, y: N")
    for text in ("X'*(X*w - y)", "X.T*(X*w - y)", "transpose(X)*(X*w - y)"):
        assert matrix_text(parse_matrix(text, s)) == "Xᵀ(Xw − y)"
    assert parse_matrix("(X*w - y)^2", s).op == "pow"
    assert parse_matrix("norm(w)^2", s).op == "sqnorm"


BAD = [
    ("sum(X*w)", "X: N x d, w: k", ShapeError,
     "X*w at column 5: X is N×d and w is k; a matrix product needs d = k"),
    ("sum(X*w - y)", "X: N x d, w: d", ShapeError, "y at column 11 has no declared shape"),
    ("X*w - y", "X: N x d, w: d, y: N", ShapeError, "the loss L is N, not a scalar"),
    ("sum(w .* y)", "w: d, y: N", ShapeError, "w .* y at column 5: w is d and y is N"),
    ("trace(X)", "X: N x d", ShapeError, "trace needs a square matrix"),
    ("sum(X*w", "X: N x d, w: d", ParseError, "invalid syntax"),
    ("sum(__import__(w))", "w: d", ParseError, "unknown function '__import__'"),
    ("sum(w) + 'os'", "w: d", ParseError, "invalid syntax"),
    ("sum(w.shape)", "w: d", ParseError, "attribute access other than .T"),
    ("sum(w)", "w: d x", ShapeError, "not a size"),
    ("sum(w)", "w: d, w: d", ShapeError, "w is declared twice"),
]


@pytest.mark.parametrize("text, shapes, error, words", BAD, ids=[b[0] + b[1] for b in BAD])
def test_bad_input_api(text, shapes, error, words):
    with pytest.raises(error, match=None) as info:
        derive_matrix(text, shapes, "w" if "w" in shapes else None)
    assert words in str(info.value) and "\n" not in str(info.value)


SHAPE_ERRORS = [b for b in BAD if b[2] is ShapeError]


@pytest.mark.parametrize("text, shapes, error, words", SHAPE_ERRORS,
                         ids=[b[0] + b[1] for b in SHAPE_ERRORS])
def test_bad_input_cli(text, shapes, error, words):
    args = ["derive", "--expr", text, "--shapes", shapes]
    out = subprocess.run([sys.executable, "-m", "symgrad", *args], capture_output=True,
                         text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)})
    assert out.returncode == 2, out.stderr
    assert out.stdout == "" and out.stderr.count("\n") == 1
    assert out.stderr.startswith("symgrad: error: ")
    assert words.replace("the shapes", "--shapes") in out.stderr


def test_cli_formats():
    base = [sys.executable, "-m", "symgrad", "derive", "--expr", "sum((X*w - y)^2)/N",
            "--shapes", "X: N x d, w: d, y: N", "--wrt", "w"]
    run = {fmt: subprocess.run([*base, "--format", fmt], capture_output=True, text=True, cwd=ROOT,
                               env={"PYTHONPATH": str(ROOT)}) for fmt in ("text", "json",
                                                                          "python")}
    assert all(r.returncode == 0 for r in run.values())
    assert "∂L/∂w = (2/N)·Xᵀ(Xw − y) ∈ ℝᵈ" in run["text"].stdout
    assert json.loads(run["json"].stdout)["gradients"]["w"]["shape"] == ["d"]
    assert "def loss_and_gradient(X, w, y):" in run["python"].stdout
    latex = subprocess.run([*base, "--format", "latex"], capture_output=True, text=True, cwd=ROOT,
                           env={"PYTHONPATH": str(ROOT)})
    assert latex.returncode == 0 and r"\in \mathbb{R}^{d}" in latex.stdout
    python_alone = subprocess.run([sys.executable, "-m", "symgrad", "derive", "mse", "--format",
                                   "python"], capture_output=True, text=True, cwd=ROOT,
                                  env={"PYTHONPATH": str(ROOT)})
    assert python_alone.returncode == 2 and "--shapes" in python_alone.stderr


def test_api_entry_point():
    import symgrad

    d = symgrad.derive_matrix("sum((X*w - y)^2)/N", shapes="X: N x d, w: d, y: N", wrt="w")
    assert isinstance(d, symgrad.MatrixDerivation) and d.verified
    with pytest.raises(SymgradError):
        symgrad.derive_matrix("sum(w)", shapes="w: d", wrt="v")


def test_derive_expr_with_shapes_is_the_matrix_engine():
    from symgrad import derive_expr
    from symgrad.core.matrix_steps import MatrixDerivation

    d = derive_expr("sum((X*w - y)^2)/N", ["w"], shapes="X: N x d, w: d, y: N")
    assert isinstance(d, MatrixDerivation) and d.verified
    ref = derive_matrix("sum((X*w - y)^2)/N", "X: N x d, w: d, y: N", "w")
    assert str(d.gradients["w"].expanded) == str(ref.gradients["w"].expanded)


def test_json_carries_the_numpy_code_and_it_runs():
    # issue 17: the code export in the API, the JSON and --format python
    d = derive_matrix("sum((X*w - y)^2)/N", "X: N x d, w: d, y: N", "w")
    data = json.loads(json.dumps(matrix_dict(d), allow_nan=False))
    assert data["numpy"] == python_source(d)
    namespace: dict = {}
    exec(compile(data["numpy"], "<symgrad export>", "exec"), namespace)  # our own generated code
    f = next(v for k, v in namespace.items() if callable(v) and k.startswith("loss"))
    X, w, y = np.arange(6.0).reshape(3, 2), np.array([0.5, -1.0]), np.array([1.0, 0.0, 2.0])
    loss, grads = f(X, w, y)
    r = X @ w - y
    assert loss == pytest.approx(r @ r / 3) and grads["w"] == pytest.approx(2 / 3 * X.T @ r)

"""Weighted least squares as a lecturer writes it (issue 17 follow-up): common factors of
products collected, and matrices declared symmetric in the shapes (D: N x N symmetric), known
to the checks; every form against autograd through the exported NumPy."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import autograd.numpy as anp
import numpy as np
import pytest
import sympy as sp
from _matrix_examples import assert_matches_autograd
from test_matrix import ROOT, SIZES

from symgrad.core.errors import OptionError, ShapeError, VerificationError
from symgrad.core.matrix import is_symmetric, parse_matrix, parse_shapes, transpose, var
from symgrad.core.matrix_check import _draw, _entries, _exact, _small_sizes, verify
from symgrad.core.matrix_derive import derive_matrix
from symgrad.core.steps import Kind
from symgrad.teaching.check_matrix import check_matrix_answer

WLS = "(X*w - y)' * D * (X*w - y)"
GENERAL = "X: N x d, w: d, y: N, D: N x N"
SYMMETRIC = "X: N x d, w: d, y: N, D: N x N symmetric"


def wls(X, w, y, D):
    return (X @ w - y) @ D @ (X @ w - y)


def wls_ridge(X, w, y, D, lam):
    return wls(X, w, y, D) + lam * anp.sum(w**2)


def _grad(text, shapes, wrt="w"):
    return str(derive_matrix(text, shapes, wrt).gradients[wrt].expanded)


def test_the_printed_forms():
    assert _grad(WLS, GENERAL) == "Xᵀ(D + Dᵀ)(Xw − y)"
    assert _grad(WLS, SYMMETRIC) == "2·XᵀD(Xw − y)"
    ridge = WLS + " + lam*norm(w)^2"
    assert _grad(ridge, GENERAL + ", lam: scalar") == "Xᵀ(D + Dᵀ)(Xw − y) + 2λ·w"
    assert _grad(ridge, SYMMETRIC + ", lam: scalar") == "2·XᵀD(Xw − y) + 2λ·w"
    assert _grad("x'*A*x", "x: n, A: n x n", "x") == "(A + Aᵀ)x"
    assert _grad("x'*A*x", "x: n, A: n x n symmetric", "x") == "2·Ax"


def _substitute_back(text, shapes, wrt="w"):
    d = derive_matrix(text, shapes, wrt)
    step = next(s for s in d.steps if s.kind is Kind.SUBSTITUTION)
    assert step.verified and step.exact.passed
    return " = ".join(str(f) for f in step.forms)


def test_the_substitute_back_step_pushes_transposes_inside_products():
    """Xᵀ((Xw − y)ᵀDᵀ)ᵀ + ... is written as a lecturer does, (AB)ᵀ = BᵀAᵀ, then collected;
    every form checked (central differences, sympy.diff entry by entry)."""
    assert _substitute_back(WLS, GENERAL) == (
        "XᵀD(Xw − y) + XᵀDᵀ(Xw − y) = Xᵀ(D + Dᵀ)(Xw − y)")
    assert _substitute_back(WLS, SYMMETRIC) == "XᵀD(Xw − y) + XᵀD(Xw − y) = 2·XᵀD(Xw − y)"
    assert _substitute_back("x'*A*x", "x: n, A: n x n", "x") == "Ax + Aᵀx = (A + Aᵀ)x"
    two = "X: N x d, w: d, y: N, A: N x N, B: N x N"
    text = "(X*w - y)' * A * (X*w - y) - (X*w - y)' * B * (X*w - y)"
    assert "ᵀ)ᵀ" not in _substitute_back(text, two)


def test_collecting_keeps_signs_and_leaves_unrelated_terms():
    two = "X: N x d, w: d, y: N, A: N x N, B: N x N"
    text = "(X*w - y)' * A * (X*w - y) - (X*w - y)' * B * (X*w - y)"
    assert _grad(text, two) == "Xᵀ(A + Aᵀ − B − Bᵀ)(Xw − y)"
    assert _grad("x'*A*x + b'*x", "x: n, A: n x n, b: n", "x") == "(A + Aᵀ)x + b"
    # nothing shared: as before
    assert _grad("norm(A*x - b)^2 + lam*norm(x)^2", "A: m x n, x: n, b: m, lam: scalar",
                 "x") == "2·Aᵀ(Ax − b) + 2λ·x"


def test_the_assumption_is_stated():
    d = derive_matrix(WLS, SYMMETRIC, "w")
    assert d.symmetric == ("D",) and d.assumptions == ("Dᵀ = D (D: symmetric)",)
    assert "Assumed: Dᵀ = D (D: symmetric)." in str(d)
    assert r"\text{Assumed: }D^{\top} = D\text{ (}D\text{: symmetric).}" in d._repr_latex_()
    assert derive_matrix(WLS, GENERAL, "w").assumptions == ()


@pytest.mark.parametrize("shapes, reference, wrt", [
    (GENERAL, wls, "w"),
    (SYMMETRIC, wls, "w"),
    (SYMMETRIC, wls, "w,X"),
    (GENERAL + ", lam: scalar", wls_ridge, "w"),
    (SYMMETRIC + ", lam: scalar", wls_ridge, "w"),
], ids=["general", "symmetric", "symmetric w,X", "general ridge", "symmetric ridge"])
def test_against_autograd(shapes, reference, wrt):
    """The exported NumPy against autograd at random X, w, y and a random D (symmetric when
    declared so: tests/_matrix_examples.py draws it so), at two sets of sizes."""
    text = WLS + (" + lam*norm(w)^2" if reference is wls_ridge else "")
    d = derive_matrix(text, shapes, wrt)
    assert d.verified
    assert_matches_autograd(d, reference, SIZES, seed=17)


def test_the_symmetric_form_is_wrong_for_a_matrix_that_is_not():
    """2·XᵀD(Xw − y) holds only for a symmetric D: the export refuses another D, and at one
    the general form (and autograd) differ from it."""
    f = derive_matrix(WLS, SYMMETRIC, "w").to_numpy()
    rng = np.random.default_rng(3)
    X, w, y, D = rng.normal(size=(4, 2)), rng.normal(size=2), rng.normal(size=4), rng.normal(
        size=(4, 4))
    with pytest.raises(AssertionError, match="D must be symmetric"):
        f(X, w, y, D)
    _, general = derive_matrix(WLS, GENERAL, "w").to_numpy()(X, w, y, D)
    assert not np.allclose(general["w"], 2 * X.T @ D @ (X @ w - y))


def test_the_checks_draw_a_symmetric_matrix():
    d = derive_matrix(WLS, SYMMETRIC, "w")
    import random

    sizes = {sp.Symbol("N", positive=True, integer=True): 3,
             sp.Symbol("d", positive=True, integer=True): 2}
    value = _draw(d, sizes, random.Random(0), positive=False)["D"]
    assert value == value.T and value[0, 1] != value[0, 0]
    held = _entries("D", 3, 3, d.shapes["D"])
    assert held == held.T and len(held.free_symbols) == 6  # D[i,j] and D[j,i]: one symbol
    assert len(_entries("D", 3, 3).free_symbols) == 9


def _corrupt_result(d, result):
    k = next(k for k, s in enumerate(d.steps) if s.kind is Kind.SUBSTITUTION)
    step = d.steps[k]
    steps = (*d.steps[:k], dataclasses.replace(step, forms=(*step.forms[:-1], result)),
             *d.steps[k + 1:])
    return dataclasses.replace(d, steps=steps), [("w", result, result)]


def test_a_wrong_symmetric_form_is_caught():
    """Drop the 2 of 2·XᵀD(Xw − y): central differences and sympy.diff both refuse it."""
    d = derive_matrix(WLS, SYMMETRIC, "w")
    right = d.gradients["w"].expanded
    assert right.op == "mul" and right.args[0].value == 2
    bad, gradients = _corrupt_result(d, right.args[1])
    steps, grads = _exact(bad, gradients, _small_sizes(bad.shapes))
    assert not grads["w"].passed and not all(c.passed for c in steps.values())
    with pytest.raises(VerificationError, match="does not match"):
        verify(bad, gradients)


def test_the_checks_must_know_the_matrix_is_symmetric():
    """The same right form, checked as if D were any matrix (drawn not symmetric, its entries
    D[i,j] and D[j,i] apart), fails: the checks decide Dᵀ = D from the declaration."""
    d = derive_matrix(WLS, SYMMETRIC, "w")
    plain = dataclasses.replace(d, shapes={**d.shapes, "D": tuple(d.shapes["D"])})
    assert not is_symmetric(plain.shapes["D"])
    g = d.gradients["w"]
    with pytest.raises(VerificationError):
        verify(plain, [("w", g.named, g.expanded)])
    verify(d, [("w", g.named, g.expanded)])  # and with the declaration it passes


def test_shapes_declare_symmetric():
    for text in ("D: N x N symmetric", "D: NxN symmetric", "D: N×N symmetric",
                 "D:N x N  symmetric"):
        shapes = parse_shapes(text)
        assert is_symmetric(shapes["D"]) and shapes["D"] == (sp.Symbol("N", positive=True,
                                                                         integer=True),) * 2
    assert is_symmetric(parse_shapes("D: 3 x 3 symmetric, w: 3")["D"])
    assert not is_symmetric(parse_shapes("D: N x N")["D"])
    s = parse_shapes("D: n x n symmetric, A: n x n")
    d_, a_ = var("D", s["D"]), var("A", s["A"])
    assert transpose(d_) == d_ and transpose(a_) != a_
    assert parse_matrix("D'", s) == parse_matrix("D", s)


REFUSED = [
    ("w: d symmetric", "w is a vector (d); only a square matrix can be symmetric"),
    ("X: N x d symmetric", "X is N×d; only a square matrix can be symmetric"),
    ("lam: scalar symmetric", "lam is a scalar; only a square matrix can be symmetric"),
    ("D: 1 x 1 symmetric", "D is a scalar; only a square matrix can be symmetric"),
    ("D: symmetric", "D needs its sizes before symmetric (like D: N x N symmetric)"),
]


@pytest.mark.parametrize("shapes, message", REFUSED, ids=[r[0] for r in REFUSED])
def test_symmetric_is_refused_on_what_is_not_a_square_matrix(shapes, message):
    with pytest.raises(ShapeError) as e:
        parse_shapes(shapes)
    assert str(e.value) == f"shapes {shapes!r}: {message}" and e.value.option == "shapes"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "symgrad", *args], capture_output=True,
                          text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)})


@pytest.mark.parametrize("command", ["derive", "check"])
def test_cli_refusal_is_one_line(command):
    extra = ["--answer", "2*X'*w"] if command == "check" else []
    out = _cli(command, "--expr", "sum(X*w)", "--shapes", "X: N x d, w: d symmetric",
               "--wrt", "w", *extra)
    assert out.returncode == 2 and out.stdout == "" and out.stderr.count("\n") == 1
    assert out.stderr == ("symgrad: error: --shapes 'X: N x d, w: d symmetric': w is a vector "
                          "(d); only a square matrix can be symmetric\n")


def test_a_gradient_by_a_symmetric_matrix_is_refused():
    with pytest.raises(OptionError, match="D is declared symmetric") as e:
        derive_matrix(WLS, SYMMETRIC, "w,D")
    assert e.value.option == "wrt"
    assert derive_matrix(WLS, SYMMETRIC).params == ("X", "w", "y")  # D is data by default
    out = _cli("derive", "--expr", WLS, "--shapes", SYMMETRIC, "--wrt", "D")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and out.stdout == ""


def test_cli_forms():
    out = _cli("derive", "--expr", WLS, "--shapes", SYMMETRIC, "--wrt", "w", "--format", "json")
    data = json.loads(out.stdout)
    assert data["gradients"]["w"]["text"] == "2·XᵀD(Xw − y)"
    assert data["assumptions"] == ["Dᵀ = D (D: symmetric)"]
    assert "assert np.allclose(D, D.T)" in data["numpy"]
    out = _cli("derive", "--expr", WLS, "--shapes", GENERAL, "--wrt", "w", "--format", "latex")
    assert r"X^{\top} \left(D + D^{\top}\right) \left(X w - y\right) \in" in out.stdout
    out = _cli("derive", "--expr", WLS, "--shapes", SYMMETRIC, "--wrt", "w", "--format", "latex")
    assert r"&= 2 X^{\top} D \left(X w - y\right) \in" in out.stdout
    assert r"\intertext{Assumed: \(D^{\top} = D\) (\(D\): symmetric).}" in out.stdout


def test_answers_to_the_symmetric_case():
    d = derive_matrix(WLS, SYMMETRIC, "w")
    for right in ("2*X'*D*(X*w - y)", "X'*(D + D')*(X*w - y)", "2*X'*D'*(X*w - y)"):
        assert check_matrix_answer(right, d, "w").correct, right
    wrong = check_matrix_answer("X'*D*(X*w - y)", d, "w")
    assert not wrong.correct and "factor_2" in wrong.mistakes

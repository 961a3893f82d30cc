"""Matrix calculus (issue 17, phase 2): every step checked exactly against sympy.diff, the
textbook forms a lecturer writes, the language's edges and more expressions against autograd."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import autograd.numpy as anp
import pytest
import sympy as sp
from _matrix_examples import assert_matches_autograd
from test_matrix import BAD, ROOT, SIZES

from symgrad.core.errors import ParseError, VerificationError
from symgrad.core.matrix import parse_matrix
from symgrad.core.matrix_check import _exact, _small_sizes, verify
from symgrad.core.matrix_derive import derive_matrix
from symgrad.core.steps import Kind

LOGISTIC = ("z = X*w; p = sigmoid(z); L = mean(-y .* log(p) - (1 - y) .* log(1 - p))",
            "X: N x d, w: d, y: N", "w")
NETWORK = ("u = W*x + b; h = tanh(u); L = norm(V*h - y)^2",
           "W: m x d, x: d, b: m, V: k x m, y: k", "W,b,V")
SOFTMAX = ("-sum(y .* log(softmax(W*x + b)))", "W: k x d, x: d, b: k, y: k", "W,b")


def _gradients(d):
    return [(n, g.named, g.expanded) for n, g in d.gradients.items()]


@pytest.mark.parametrize("case", [LOGISTIC, NETWORK, SOFTMAX], ids=["bce", "network", "softmax"])
def test_every_step_is_checked_exactly(case):
    d = derive_matrix(*case)
    checked = [s for s in d.steps if s.kind is not Kind.DEFINITION]
    assert checked and all(s.exact is not None and s.exact.passed for s in checked)
    for s in checked:
        assert s.exact.against.startswith("sympy.diff entry by entry at ")
        free = "held as free symbols" if s.kind is Kind.CHAIN else "the loss written out"
        assert free in s.exact.against, s.exact.against
        assert s.check.method.value == "central differences" and s.check.points == 3
    assert all(s.exact is None for s in d.steps if s.kind is Kind.DEFINITION)
    assert "exactly against sympy.diff entry by entry at " in d.checks_text()
    sizes = _small_sizes(d.shapes)
    assert set(sizes.values()) <= {2, 3} and len(set(sizes.values())) == min(2, len(sizes))


def _corrupt(d, k, forms):
    step = d.steps[k]
    return dataclasses.replace(d, steps=(*d.steps[:k], dataclasses.replace(step, forms=forms),
                                         *d.steps[k + 1:]))


def test_a_corrupted_intermediate_step_fails_the_exact_check():
    d = derive_matrix(*LOGISTIC)
    k = next(k for k, s in enumerate(d.steps) if s.kind is Kind.CHAIN and s.lhs.name == "z")
    shapes = {"p": d.steps[k].shape, "y": d.steps[k].shape}
    wrong = parse_matrix("(1/N) * (p - y) .* p", shapes)  # a stray factor p
    bad = _corrupt(d, k, (*d.steps[k].forms[:-1], wrong))
    steps, grads = _exact(bad, _gradients(d), _small_sizes(d.shapes))
    assert not steps[k].passed and grads["w"].passed
    assert all(c.passed for j, c in steps.items() if j != k)
    with pytest.raises(VerificationError, match="does not match"):
        verify(bad, _gradients(d))


def test_a_corrupted_chain_form_fails_both_checks():
    """The chain form (∂L/∂p ⊙ ...) is checked too, with the users' adjoints at their
    reference values: a wrong middle form with a right result still fails."""
    d = derive_matrix(*LOGISTIC)
    k = next(k for k, s in enumerate(d.steps) if s.kind is Kind.CHAIN and s.lhs.name == "z")
    step = d.steps[k]
    assert len(step.forms) == 2
    wrong_chain = parse_matrix("dLdp .* p", {"dLdp": step.shape, "p": step.shape})
    wrong_chain = dataclasses.replace(wrong_chain, args=(step.forms[0].args[0],
                                                         wrong_chain.args[1]))
    bad = _corrupt(d, k, (wrong_chain, step.forms[-1]))
    steps, _ = _exact(bad, _gradients(d), _small_sizes(d.shapes))
    assert not steps[k].passed
    with pytest.raises(VerificationError, match="central differences"):
        verify(bad, _gradients(d))


def _text(m):
    return str(m)


def _no_double_negation(m):
    assert not (m.op == "neg" and m.args[0].op == "neg"), m
    assert not (m.op == "neg" and m.args[0].op == "const"), m
    for a in m.args:
        _no_double_negation(a)


def test_bce_step_in_the_lecture_form():
    d = derive_matrix(*LOGISTIC)
    step = next(s for s in d.steps if s.kind is Kind.CHAIN and s.lhs.name == "p")
    scale, quotient = step.result.args
    assert step.result.op == "mul" and str(scale) == "1/N" and quotient.op == "div"
    assert _text(quotient.args[0]) == "p − y" and _text(quotient.args[1]) == "p ⊙ (1 − p)"
    for form in step.forms:
        _no_double_negation(form)
    assert "−(−" not in _text(step.forms[0]) and step.exact.passed and step.check.passed
    definition = next(s for s in d.steps if s.lhs.name == "L")
    assert _text(definition.result).startswith("mean(−y ⊙ log(p) − ")  # as typed


def test_softmax_step_shows_the_middle_and_names_the_assumption():
    d = derive_matrix(*SOFTMAX)
    step = next(s for s in d.steps if s.kind is Kind.CHAIN and s.lhs.name == "z")
    shown = [_text(f) for f in step.forms]
    assert shown[1:] == ["pᵀ(y ⊘ p)·p − y", "sum(y)·p − y", "p − y"], shown
    assert d.assumptions == ("1ᵀy = 1 (y: one-hot labels)",)
    assert step.verified and step.exact.passed  # every middle form, on the simplex


def test_plus_minus_one_logistic_in_the_textbook_order():
    d = derive_matrix("mean(log(1 + exp(-y .* (X*w))))", "X: N x d, w: d, y: N", "w")
    g = d.gradients["w"].expanded
    assert _text(g).replace("(Xw)", "Xw") == "−(1/N)·Xᵀ(y ⊙ σ(−y ⊙ Xw))"
    for s in d.steps:
        for form in s.forms:
            _no_double_negation(form)


# What a course adds to the 23 expressions of tests/test_matrix.py (each verified by the engine,
# then its NumPy export compared with autograd at random matrices of two sizes)
COURSE = [
    ("sum((relu(X*W1)*w2 - y)^2)/N", "X: N x d, W1: d x h, w2: h, y: N", "W1,w2",
     lambda X, W1, w2, y: anp.sum((anp.maximum(X @ W1, 0.0) @ w2 - y) ** 2) / X.shape[0]),
    ("(X*w - y)' * D * (X*w - y)", "X: N x d, w: d, y: N, D: N x N", "w,D",
     lambda X, w, y, D: (X @ w - y) @ D @ (X @ w - y)),
    ("trace(A'*X*B)", "A: m x n, X: m x p, B: p x n", "X,A,B",
     lambda A, X, B: anp.trace(A.T @ X @ B)),
    ("log(sum(exp(z)))", "z: n", "z", lambda z: anp.log(anp.sum(anp.exp(z)))),
    ("log(sum(exp(W*x))) - dot(y, W*x)", "W: k x d, x: d, y: k", "W,x",
     lambda W, x, y: anp.log(anp.sum(anp.exp(W @ x))) - anp.sum(y * (W @ x))),
    ("sum(2.*x + 2./x + x.^2)", "x: n", "x",
     lambda x: anp.sum(2 * x + 2 / x + x**2)),
]

COURSE_SIZES = [{**s, "h": h} for s, h in zip(SIZES, (3, 2), strict=True)]


@pytest.mark.parametrize("text, shapes, wrt, reference", COURSE, ids=[c[0] for c in COURSE])
def test_course_expressions_against_autograd(text, shapes, wrt, reference):
    d = derive_matrix(text, shapes, wrt)
    assert d.verified and all(s.exact.passed for s in d.steps if s.exact is not None)
    assert set(d.gradients) == set(wrt.split(","))
    assert_matches_autograd(d, reference, COURSE_SIZES, seed=170)


def test_course_forms():
    def grad(case, name):
        return _text(derive_matrix(*case[:3]).gradients[name].expanded)

    # no (rᵀDᵀ)ᵀ left, and the common factors collected (issue 17 follow-up)
    assert grad(COURSE[1], "w") == "Xᵀ(D + Dᵀ)(Xw − y)"
    assert grad(COURSE[2], "X") == "ABᵀ"  # no identity matrix left


def test_numbers_and_elementwise_operators():
    from symgrad.core.matrix import parse_shapes

    s = parse_shapes("x: n")
    assert _text(parse_matrix("2.*x", s)) == _text(parse_matrix("2 .* x", s))
    assert _text(parse_matrix("1./x", s)) == _text(parse_matrix("1 ./ x", s))
    assert parse_matrix("x.^2", s) == parse_matrix("x^2", s) == parse_matrix("x**2", s)
    assert parse_matrix("2. * x", s) == parse_matrix("2 * x", s)
    assert parse_matrix("0.5 * x", s).args[0].value == sp.Rational(1, 2)


PARSE_ERRORS = [b for b in BAD if b[2] is ParseError] + [
    ("sum(leaky_relu(w, 0.1))", "w: d", ParseError,
     "leaky_relu() is not in the matrix language"),
    ("huber(w)", "w: d", ParseError, "huber() is not in the matrix language"),
    ("sum(w[0])", "w: d", ParseError, "subscript is not allowed at column 5"),
    ("sum(w > 0)", "w: d", ParseError, "compare is not allowed at column 5"),
    ("sum(w) @ x", "w: d", ParseError, "the character '@' is not allowed at column 8"),
]


@pytest.mark.parametrize("text, shapes, error, words", PARSE_ERRORS,
                         ids=[b[0] for b in PARSE_ERRORS])
def test_parse_errors_api_and_cli(text, shapes, error, words):
    with pytest.raises(error) as info:
        derive_matrix(text, shapes, "w")
    assert words in str(info.value) and "\n" not in str(info.value)
    out = subprocess.run([sys.executable, "-m", "symgrad", "derive", "--expr", text, "--shapes",
                          shapes, "--wrt", "w"], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT)})
    assert out.returncode == 2, out.stderr
    # the error on one line; then, as for every typed expression, the input with a caret
    first, *caret = out.stderr.splitlines()
    assert out.stdout == "" and first.startswith("symgrad: error: ") and words in first
    assert first == f"symgrad: error: {info.value}"
    if caret:
        assert caret[0] == f"  {text}" and caret[1] == "  " + " " * (info.value.column - 1) + "^"


def test_a_scalar_comes_out_of_a_transpose():
    """lam*w'*w reads (λwᵀ)w: its gradient is 2λ·w, not 2·(λ·wᵀ)ᵀ; every step checked."""
    d = derive_matrix("(X*w - y)'*(X*w - y) + lam*w'*w", "X: N x d, w: d, y: N, lam: scalar",
                      "w")
    assert _text(d.gradients["w"].expanded) == "2·Xᵀ(Xw − y) + 2λ·w"
    assert all(s.check.passed for s in d.steps if s.check is not None)

    def reference(X, w, y, lam):
        r = anp.dot(X, w) - y
        return anp.dot(r, r) + lam * anp.dot(w, w)

    assert_matches_autograd(d, reference, COURSE_SIZES, seed=171)

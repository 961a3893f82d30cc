"""Matrix calculus (issue 17, phase 2): every step checked exactly against sympy.diff, the
textbook forms a lecturer writes, the language's edges and more expressions against autograd."""

from __future__ import annotations

import dataclasses

import pytest

from symgrad.core.errors import VerificationError
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

"""The engine's shortcuts for speed (issue 18) give what the long way gives, and keep every check.

* ``tidy`` skips ``factor`` for a fraction already in lowest terms (``_lowest_terms``), and
  factors with ``factor`` alone instead of ``factor(cancel(...))`` (``_factored``): on the forms
  of several catalogue, typed and network derivations, each gives what the long way gives;
* a derivation differentiates each (expression, variable) once (``_Checker.diff``);
* a substitution step's claims name the nodes' long forms (sigma of the weighted sum as v), and a
  wrong form there is still caught.
"""

from __future__ import annotations

from collections import Counter

import pytest
import sympy as sp

import symgrad.core.derive as engine
from symgrad import derive, derive_expr, network
from symgrad.core.definitions import typed_graph
from symgrad.core.errors import VerificationError

TYPED_BCE = ("-(y*log(sigmoid(w1*x1 + w2*x2 + b)) + (1 - y)*log(1 - sigmoid(w1*x1 + w2*x2 + b)))",
             ["w1", "w2", "b"])

DERIVATIONS = {
    "bce, logistic, 2 features": lambda: derive("bce", "logistic", features=2),
    "mse, logistic, l2": lambda: derive("mse", "logistic", features=2, l2=0.1),
    "cross_entropy, 3 classes": lambda: derive("cross_entropy", "linear", features=2, classes=3),
    "huber": lambda: derive("huber", "linear"),
    "typed definitions": lambda: derive_expr(
        "z = w*x + b; yhat = sigmoid(z); L = -mean(y*log(yhat) + (1-y)*log(1-yhat))", ["w", "b"]),
    "typed bce": lambda: derive_expr(*TYPED_BCE),
    "typed quotient": lambda: derive_expr("x*y/(x + y)"),
    "typed tanh, relu": lambda: derive_expr("tanh(a*x + b)^2 + relu(c*x - d)"),
    "network 2-3-1": lambda: network([2, 3, 1], ["relu", "sigmoid"], "bce").derive(expanded=True),
}


@pytest.fixture(scope="module")
def tidy_inputs():
    """Every (expression, graph) ``tidy`` was given in the derivations above."""
    seen = []
    tidy = engine.tidy

    def recording(expr, graph):
        seen.append((expr, graph))
        return tidy(expr, graph)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine, "tidy", recording)
        for make in DERIVATIONS.values():
            make()
    return seen


def test_a_fraction_in_lowest_terms_is_left_as_the_long_way_leaves_it(tidy_inputs, monkeypatch):
    shortcut = [(e, g) for e, g in tidy_inputs
                if engine._lowest_terms(e) and not engine._irreducible(e)
                and not engine._monomial(e) and not g.sum_to_one]
    assert len(shortcut) >= 10  # the shortcut is exercised
    fast = [engine.tidy(e, g) for e, g in shortcut]
    monkeypatch.setattr(engine, "_lowest_terms", lambda e: False)
    slow = [engine.tidy(e, g) for e, g in shortcut]
    assert fast == slow


def test_lowest_terms_refuses_what_could_cancel():
    x, y, u, s = sp.symbols("x y u s", real=True)
    assert engine._lowest_terms(x * (u - y) / s)
    assert not engine._lowest_terms((u - y) / (y - u) * x)  # the same sum, up to its sign
    assert not engine._lowest_terms((x**2 - 1) / (x - 1))  # x^2 - 1 is not irreducible
    assert not engine._lowest_terms((sp.exp(x) - 1) / (sp.exp(2 * x) - 1))  # exp(x)^2 - 1


def test_factor_alone_gives_what_factor_after_cancel_gave(tidy_inputs, monkeypatch):
    fast = [engine.tidy(e, g) for e, g in tidy_inputs]
    monkeypatch.setattr(engine, "_factored", lambda w: sp.factor(sp.cancel(w)))
    slow = [engine.tidy(e, g) for e, g in tidy_inputs]
    assert [str(f) for f in fast] == [str(s) for s in slow]
    same = sum(f == s for f, s in zip(fast, slow, strict=True))
    assert same >= len(fast) - 2, (same, len(fast))  # the rest differ in a typed sum's order


def test_each_derivative_is_computed_once_per_derivation(monkeypatch):
    calls: Counter = Counter()
    diff = sp.diff

    def counting(expr, var):
        if not expr.is_number:  # the penalty's 0 is differentiated by the engine and the check
            calls[(expr, var)] += 1
        return diff(expr, var)

    monkeypatch.setattr(engine.sp, "diff", counting)
    derive("bce", "logistic")
    assert calls and max(calls.values()) == 1, [k for k, n in calls.items() if n > 1]


def test_substitution_claims_name_the_long_forms():
    graph = typed_graph(*TYPED_BCE)
    check = engine._Checker(graph)
    v = next(n.symbol for n in graph.nodes if type(n.expr).__name__ == "sigmoid")
    u = graph.nodes[0].symbol
    x1, y = (next(s for s in graph.features + graph.labels if s.name == n) for n in ("x1", "y"))
    full_v = check.full(v)
    ((what, a, b),) = check.named([("d", x1 * (full_v - y), 2 * full_v)])
    assert a == x1 * (v - y) and b == 2 * v, (a, b)
    ((_, a, _),) = check.named([("d", y * check.full(u), y)])
    assert a == y * u


def test_a_wrong_substituted_form_is_still_caught(monkeypatch):
    compact = engine._compact

    def doubled(expr, graph, rule, what, tidy_=None):
        rules, claims, form = compact(expr, graph, rule, what, tidy_)
        return (rules, claims, 2 * form) if claims else (rules, claims, form)

    monkeypatch.setattr(engine, "_compact", doubled)
    with pytest.raises(VerificationError, match="substituted"):
        derive_expr(*TYPED_BCE)


def test_the_inliner_builds_only_the_full_forms_a_claim_holds():
    from symgrad.core.verify import _Inliner

    a, b, c, u, v, w = sp.symbols("a b c u v w", real=True)
    inline = _Inliner([(u, a + b), (v, u * c), (w, sp.log(v))])
    assert inline(v + 1) == c * (a + b) + 1
    assert set(inline._full) == {u, v}  # w's full form (a log) was never needed
    assert inline(w * a) == a * sp.log(c * (a + b))
    assert _Inliner([(u, a + b)], limit=2)(u * c) is None  # too large once substituted
    assert not _Inliner([(u, a + b)], limit=2).fits(u * c)

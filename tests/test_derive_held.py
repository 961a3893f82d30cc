"""Long node values held while a substitution step is compacted, and one parameter's renaming
walks shared (issue 18: one typed expression as fast as the catalogue).

* ``_ops`` (count_ops with each long function value counted once) equals ``sympy.count_ops`` on
  every form ``_compact`` compared, across catalogue, typed and network derivations;
* the long form sigma(31-term sum) is counted once per derivation, not in every form;
* ``_shape`` under one renaming, sharing what earlier walks found, gives what a fresh walk (and
  ``xreplace``) gives;
* the unevaluated fully substituted form is built only when it is shown.
"""

from __future__ import annotations

import pytest
import sympy as sp

import symgrad.core.derive as engine
from symgrad import derive, derive_expr, network

L30 = " + ".join(f"w{j}*x{j}" for j in range(1, 31)) + " + b"
TYPED_30 = (f"-(y*log(sigmoid({L30})) + (1 - y)*log(1 - sigmoid({L30})))",
            [f"w{j}" for j in range(1, 31)] + ["b"])
L15 = " + ".join(f"w{j}*x{j}" for j in range(1, 16)) + " + b"
W15 = [f"w{j}" for j in range(1, 16)] + ["b"]
L3 = "w1*x1 + w2*x2 + w3*x3 + b"
TYPED_3 = (f"-(y*log(sigmoid({L3})) + (1 - y)*log(1 - sigmoid({L3})))", ["w1", "w2", "w3", "b"])

DERIVATIONS = {
    "typed bce, 30 features": lambda: derive_expr(*TYPED_30),
    "typed bce, 3 features": lambda: derive_expr(*TYPED_3),
    "typed exp of a long sum": lambda: derive_expr(f"exp({L15}) - y*({L15})", W15),
    "typed tanh, sigmoid": lambda: derive_expr(f"(tanh({L15}) - y)^2 + sigmoid({L15})", W15),
    "bce, logistic, 30 features": lambda: derive("bce", "logistic", features=30),
    "cross_entropy, 3 classes": lambda: derive("cross_entropy", "linear", features=2, classes=3),
    "network 4-8-1": lambda: network([4, 8, 1], ["relu", "sigmoid"], "bce").derive(expanded=True),
    "network 2-3-1 tanh": lambda: network([2, 3, 1], ["tanh", "sigmoid"], "bce").derive(
        expanded=True),
}


@pytest.fixture(scope="module")
def compared():
    """Every form ``_compact`` was given and made, in the derivations above."""
    seen: list[sp.Expr] = []
    compact = engine._compact

    def recording(expr, graph, rule, what, tidy_=None):
        rules, claims, form = compact(expr, graph, rule, what, tidy_)
        seen.extend((expr, form))
        return rules, claims, form

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine, "_compact", recording)
        for make in DERIVATIONS.values():
            make()
    return seen


def _holds(e: sp.Expr) -> bool:
    return any(not isinstance(f, sp.exp) for f in engine._held(e.atoms(sp.Function)))


def test_held_counting_is_count_ops(compared):
    held = [e for e in compared if _holds(e)]
    assert len(held) >= 20  # the held count is exercised (sigma of long sums, network units)
    assert [engine._ops(e) for e in compared] == [sp.count_ops(e) for e in compared]


def test_held_counting_on_made_up_forms():
    x, y, a = sp.symbols("x y a", real=True)
    from symgrad.core.functions import sigmoid

    long = sp.Add(*sp.symbols("c:30", real=True)) + a
    s, t = sigmoid(long), sp.tanh(long * x + y)  # nested: s inside t's argument
    forms = [-s, x / s, (1 - s) ** 2 / (y - s), -x * s - y * s, t * s - s / (1 + t),
             sp.exp(-long) * s, sp.exp(long) / (1 + s), sigmoid(s * x + long)]
    assert [engine._ops(e) for e in forms] == [sp.count_ops(e) for e in forms]


def test_the_long_form_is_counted_once_per_derivation(monkeypatch):
    engine._value_ops.cache_clear()
    long_counts = []
    count_ops = sp.count_ops

    def recording(expr, visual=False):
        if any(isinstance(f, sp.Function) and len(f.args[0].args) > 30
               for f in sp.preorder_traversal(expr)):
            long_counts.append(expr)
        return count_ops(expr, visual)

    monkeypatch.setattr(engine.sp, "count_ops", recording)
    derive_expr(*TYPED_30)
    assert 1 <= len(long_counts) <= 2, len(long_counts)  # sigma(L) once (1 - sigma(L) at most)


def test_shared_walks_give_what_fresh_walks_give(compared):
    w1, w2, x1, x2 = sp.symbols("w1 w2 x1 x2", real=True)
    forms = [e for e in compared if {w1, w2, x1, x2} <= e.free_symbols][:12]
    assert len(forms) >= 4
    swap = {w1: w2, w2: w1, x1: x2, x2: x1}
    shapes: engine._Walked = {}
    for e in forms:
        shape = engine._shape(e, swap, shapes)
        assert shape == engine._shape(e, swap) == engine._shape(e.xreplace(swap))
    assert shapes  # filled, and read by the later forms
    tidier = engine._Tidier(None)
    assert tidier.walked(swap) is tidier.walked(swap)
    assert tidier.walked(dict(swap)) is not tidier.walked(swap)


def test_the_unevaluated_full_form_is_built_only_when_shown(monkeypatch):
    built = []
    shown_full = engine._Checker.shown_full

    def recording(self, expr):
        built.append(expr)
        return shown_full(self, expr)

    monkeypatch.setattr(engine._Checker, "shown_full", recording)
    d = derive_expr(*TYPED_3)  # every full form has a shorter compact form: none is built
    assert not built and d.verified
    d = derive("mse", "linear")  # 2 (w x + b - y) as written: built and shown
    assert built and "∂L/∂w = (2/N)·Σᵢ (w·xᵢ + b − yᵢ)·xᵢ    [substitute fully]" in str(d)

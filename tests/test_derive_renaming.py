"""Parameters whose derivation is another's renamed (w_j is w_1 with x_1 -> x_j): their steps are
made from the first one's, their claims decided with its checks, and the result is still right.

Every gradient here is compared with sympy.diff of the fully substituted loss, independently of
the engine, and a wrong form in a renamed copy is still caught."""

from __future__ import annotations

import pytest
import sympy as sp

from symgrad import derive, derive_expr
from symgrad.core.catalogue import model_graph
from symgrad.core.derive import AGAINST, _renamings, _shape, _swap
from symgrad.core.errors import VerificationError
from symgrad.core.functions import elementary
from symgrad.core.graph import N


def _per_sample_gradients_match(d):
    """Every gradient of ``d`` equals (1/N) sum_i d(ell_i)/d(param), ell_i fully substituted."""
    g = d.graph
    loss = elementary(g.full(g.output))
    for p in g.params:
        grad = d.gradients[str(p)]
        reference = sp.diff(loss, p) / N + sp.diff(g.penalty, p)
        claimed = elementary(grad.scale * grad.term + grad.extra)
        diff = (claimed - reference).subs(N, 7)
        rng = [0.3 + 0.1 * k for k in range(len(diff.free_symbols))]
        at = dict(zip(sorted(diff.free_symbols, key=str), rng, strict=True))
        assert abs(float(diff.evalf(30, subs=at))) < 1e-20, p


@pytest.mark.parametrize(("loss", "model", "l2"), [
    ("bce", "logistic", None), ("mse", "logistic", None), ("bce", "logistic", 0.1),
    ("mse", "linear", None),
])
def test_renamed_gradients_equal_sympy_diff(loss, model, l2):
    d = derive(loss, model, features=4, l2=l2)
    _per_sample_gradients_match(d)
    renamed = [s for s in d.steps if s.check is not None and "renamed" in s.check.against]
    assert renamed and d.verified
    for s in renamed:  # the check record says what was done
        assert s.check.against.startswith(AGAINST)
        assert "w1 ↔ w" in s.check.against and "x_i1 ↔ x_i" in s.check.against


def test_renamed_forms_are_the_first_ones_renamed():
    d = derive("bce", "logistic", features=3)
    g = d.graph
    w1, w3 = g.params[0], g.params[2]
    swap = _swap(g, w1, w3)
    for kind in ("named", "expanded"):
        one, three = (getattr(d.gradients[str(p)], kind) for p in (w1, w3))
        assert _shape(three) == _shape(one, swap)


def test_only_true_symmetries_rename():
    g = model_graph("bce", "logistic", features=3)
    w1, w2, w3, b = g.params
    assert _swap(g, w1, b) is None  # b multiplies nothing
    local = {(n.symbol, s): n.local(s) for n in g.nodes for s in g.inputs(n)}
    assert set(_renamings(g, g.params, local)) == {w2, w3}
    # an L2 penalty on w1 only breaks the symmetry: nothing is renamed
    from dataclasses import replace
    lopsided = replace(g, penalty=w1**2)
    assert _renamings(lopsided, g.params, local) == {}
    # a network's weights feed different units: nothing is renamed
    from symgrad import network

    net = network([2, 2, 1], ["tanh", "sigmoid"], "bce")
    d = net.derive(expanded=True)
    assert not any("renamed" in s.check.against for s in d.steps if s.check is not None)


def test_a_typed_sum_is_renamed_too():
    text = "-(y*log(sigmoid(w1*x1 + w2*x2 + w3*x3 + b)) + (1 - y)*log(1 - sigmoid(w1*x1 + " \
           "w2*x2 + w3*x3 + b)))"
    d = derive_expr(text, wrt=["w1", "w2", "w3", "b"])
    assert d.verified
    assert any("renamed w1 ↔ w3, x1 ↔ x3" in s.check.against for s in d.steps if s.check)
    loss = elementary(d.graph.full(d.graph.output))
    for p in d.graph.params:
        grad = d.gradients[str(p)]
        diff = elementary(grad.term + grad.extra) - sp.diff(loss, p)
        at = {s: 0.2 + 0.1 * k for k, s in enumerate(sorted(diff.free_symbols, key=str))}
        assert abs(float(diff.evalf(30, subs=at))) < 1e-20, p


def test_a_wrong_form_in_a_renamed_copy_is_caught(monkeypatch):
    """A remembered form renamed wrongly for w3 alone (a bug in the renaming) is no copy of the
    first one's claim: it is decided on its own, and fails."""
    import symgrad.core.derive as engine

    rename = engine._rename_result

    def wrong_for_w3(known, swap):
        out = rename(known, swap)
        return 2 * out if not isinstance(out, tuple) and out.has(sp.Symbol("x_i3", real=True)) \
            else out

    monkeypatch.setattr(engine, "_rename_result", wrong_for_w3)
    with pytest.raises(VerificationError, match="w3"):
        derive("bce", "logistic", features=3)


def test_a_renamed_copy_is_not_taken_when_the_forms_differ(monkeypatch):
    """_copies takes a claim only when both sides are the first one's renamed, literally."""
    import symgrad.core.derive as engine

    claims = [("a", sp.Symbol("x1"), sp.Symbol("x1")), ("b", sp.Symbol("x2") * 2, sp.Symbol("x2"))]
    swap = {sp.Symbol("x1"): sp.Symbol("x2"), sp.Symbol("x2"): sp.Symbol("x1")}
    assert engine._copies(claims, [0], [1], swap, sp.Symbol("w1")) == {}
    claims[1] = ("b", sp.Symbol("x2"), sp.Symbol("x2"))
    assert list(engine._copies(claims, [0], [1], swap, sp.Symbol("w1"))) == [1]

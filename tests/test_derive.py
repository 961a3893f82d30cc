"""The derivation engine: lecture forms (reviewed by hand against the math), rules, verification."""

from __future__ import annotations

import pytest
import sympy as sp

from symgrad import derive, derive_expr, derive_graph
from symgrad.core.catalogue import activation_graph, model_graph, real
from symgrad.core.derive import AGAINST, Partial
from symgrad.core.errors import OptionError, VerificationError
from symgrad.core.functions import sigmoid
from symgrad.core.graph import Graph, N, Node, expression_graph, i
from symgrad.core.steps import Kind, Rule
from symgrad.core.verify import Method, same
from symgrad.render.latex import expr_latex
from symgrad.render.text import expr_text

x, y, yhat, u, z = (real(n) for n in ("x_i", "y_i", "yhat_i", "u_i", "z_i"))
w, b = real("w"), real("b")


def _text(d, name):
    return expr_text(d.gradients[name].named, frozenset(d.graph.features))


def _step(d, lhs):
    return [s for s in d.steps if s.lhs == lhs]


def test_mse_linear_in_lecture_form():
    d = derive("mse", "linear")
    assert _text(d, "w") == "(2/N)·Σᵢ (ŷᵢ − yᵢ)·xᵢ"
    assert _text(d, "b") == "(2/N)·Σᵢ (ŷᵢ − yᵢ)"
    assert expr_latex(d.gradients["w"].named, {x}) == (
        r"\frac{2}{N} \sum_{i=1}^{N} \left(\hat{y}_{i} - y_{i}\right) x_{i}"
    )
    # the lecture's intermediate: u = y_hat - y, dL/du = 2u/N
    (du,) = [s for s in _step(d, Partial(real("L"), u)) if s.kind is Kind.CHAIN]
    assert du.result == 2 * u / N
    # the gradient as a value: (2/N) sum (w x_i + b - y_i) x_i
    g = d.gradients["w"]
    assert sp.expand(g.scale * g.term - 2 / N * (w * x + b - y) * x) == 0
    assert g.extra == 0


def test_bce_logistic_shows_the_cancellation():
    d = derive("bce", "logistic")
    (dz,) = [s for s in _step(d, Partial(real("L"), z)) if s.kind is Kind.CHAIN]
    assert dz.result == (yhat - y) / N
    assert dz.rules == (Rule.CHAIN, Rule.CANCELLATION)
    (dyhat,) = [s for s in _step(d, Partial(yhat, z)) if s.kind is Kind.LOCAL]
    assert dyhat.rules == (Rule.function("sigmoid identity"),)
    assert dyhat.result == yhat * (1 - yhat)
    assert _text(d, "w") == "(1/N)·Σᵢ (ŷᵢ − yᵢ)·xᵢ"
    assert _text(d, "b") == "(1/N)·Σᵢ (ŷᵢ − yᵢ)"


def test_bce_with_k_features_gives_one_gradient_per_weight():
    d = derive("bce", "logistic", features=3)
    assert list(d.gradients) == ["w1", "w2", "w3", "b"]
    assert _text(d, "w2") == "(1/N)·Σᵢ (ŷᵢ − yᵢ)·xᵢ₂"
    assert "σ" in expr_text(d.gradients["w2"].expanded)  # fully substituted, never exponentials
    assert "exp" not in str(d.gradients["w2"].named)


def test_softmax_cross_entropy_cancels_to_p_minus_y():
    d = derive("cross_entropy", "linear", classes=3)
    for k in (1, 2, 3):
        (dz,) = [s for s in _step(d, Partial(real("L"), real(f"z_i{k}"))) if s.kind is Kind.CHAIN]
        assert dz.result == (real(f"p_i{k}") - real(f"y_i{k}")) / N
        assert dz.rules == (Rule.MULTIVARIABLE_CHAIN, Rule.ONE_HOT_CANCELLATION)
    assert _text(d, "w21") == "(1/N)·Σᵢ (pᵢ₂ − yᵢ₂)·xᵢ"


def test_l2_penalty_adds_two_lambda_w():
    d = derive("mse", "linear", l2=0.5)
    lam = sp.Symbol("lambda", positive=True)
    assert d.gradients["w"].extra == 2 * lam * w
    assert d.gradients["b"].extra == 0  # the bias is not penalized


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sigmoid", lambda a, zz: a * (1 - a)),
        ("tanh", lambda a, zz: 1 - a**2),
        ("relu", lambda a, zz: sp.Piecewise((1, zz > 0), (0, True))),
        ("leaky_relu", lambda a, zz: sp.Piecewise((1, zz > 0), (sp.Rational(1, 100), True))),
        ("identity", lambda a, zz: sp.S.One),
    ],
)
def test_activation_derivatives_in_named_form(name, expected):
    d = derive_graph(activation_graph(name))
    a, zz = real("a"), real("z")
    assert d.gradients["z"].named == expected(a, zz)


def test_relu_derivative_is_zero_at_zero_by_convention():
    d = derive_graph(activation_graph("relu"))
    assert d.gradients["z"].named.subs(real("z"), 0) == 0


def test_mean_over_samples_is_visible_in_every_chain_step():
    d = derive("mse", "linear")
    L = real("L")
    for s in d.steps:
        if s.kind is Kind.CHAIN and s.lhs.of == L:
            assert s.result.has(N), s  # 1/N appears wherever it belongs
        if s.kind is Kind.CHAIN and s.lhs.wrt in (w, b):
            assert any(f.has(sp.Sum) for f in s.forms)  # and the sum over samples


def test_every_step_records_its_check_and_its_rules():
    """Definitions need no check; every other step was compared with sympy.diff of the fully
    substituted expression, symbolically or at >= 4 random points in >= 60-digit arithmetic."""
    for loss, model in [("mse", "linear"), ("bce", "logistic"), ("mse", "logistic")]:
        d = derive(loss, model)
        numeric = 0
        for s in d.steps:
            assert s.rules and all(r.text and r.text == r.text.lower() for r in s.rules)
            if s.kind is Kind.DEFINITION:
                assert s.check is None
                continue
            assert s.check is not None and s.check.passed and s.check.against == AGAINST, s
            if s.check.method is Method.RANDOM_POINTS:
                numeric += 1
                assert s.check.points >= 4 and s.check.digits >= 60, s.check
                assert s.check.tolerance <= 1e-12
            else:
                assert s.check.method is Method.SYMBOLIC and s.check.points == 0
        assert d.verified and (numeric > 0) == (model == "logistic"), (loss, model)


def test_a_corrupted_claim_fails_its_check(monkeypatch):
    """A local derivative that is off by a factor is caught: a failed Check, a VerificationError
    from the engine, and a derivation holding such a step is not verified."""
    from dataclasses import replace

    import symgrad.core.derive as engine
    from symgrad.core.verify import same_all
    from symgrad.render.text import step_text

    (bad,) = same_all([(sp.diff(sp.log(1 + sp.exp(z)), z), 2 * sigmoid(z))])
    assert bad.method is Method.RANDOM_POINTS and not bad.passed and bad.points >= 1

    tidy = engine.tidy
    monkeypatch.setattr(engine, "tidy", lambda e, g: 2 * tidy(e, g))
    with pytest.raises(VerificationError, match=r"step d\w+/d\w+ does not match sympy.diff"):
        derive("bce", "logistic")
    monkeypatch.undo()

    d = derive("bce", "logistic")
    k = next(k for k, s in enumerate(d.steps) if s.kind is Kind.LOCAL)
    failed = replace(d.steps[k], check=replace(d.steps[k].check, passed=False))
    unchecked = replace(d.steps[k], check=None)
    for step in (failed, unchecked):
        assert not replace(d, steps=(*d.steps[:k], step, *d.steps[k + 1:])).verified
        assert step_text(step).endswith("(UNVERIFIED)")


class _WrongSigmoid(sigmoid):
    """A sigmoid whose derivative rule is wrong: the engine must refuse to print it as right."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])


def test_a_wrong_rule_raises_instead_of_printing():
    g = Graph((Node(z, w * x + b), Node(yhat, _WrongSigmoid(z))), params=(w, b))
    with pytest.raises(VerificationError):
        derive_graph(g)


def test_verification_detects_a_dropped_factor():
    assert not same(sp.diff((w * x + b - y) ** 2, w), (w * x + b - y) * x)
    assert same(sp.diff((w * x + b - y) ** 2, w), 2 * (w * x + b - y) * x)


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(OptionError, match="unknown loss 'svm'; choose one of: mse, bce"):
        derive("svm")
    with pytest.raises(OptionError, match="unknown parameter 'v'; choose from: w, b"):
        derive("mse", wrt=["v"])
    with pytest.raises(OptionError, match="bce needs"):
        model_graph("bce", "linear")


def test_wrt_restricts_the_gradients():
    assert list(derive("mse", "linear", wrt=["b"]).gradients) == ["b"]


def test_sum_display_pulls_out_constants():
    d = derive("mse", "linear")
    named = d.gradients["w"].named
    assert isinstance(named, sp.Mul) and any(isinstance(f, sp.Sum) for f in named.args)
    (total,) = [f for f in named.args if isinstance(f, sp.Sum)]
    assert total.limits == ((i, 1, N),)


def test_gradient_check_catches_a_term_and_penalty_that_compensate():
    from symgrad.core.derive import Gradient, _Checker

    d = derive("mse", "linear", l2=0.5)
    g = d.gradients["w"]
    check = _Checker(d.graph)
    check.run(check.gradient(w, g, "dL/dw"))  # passes
    delta = sp.Rational(1, 7)
    # wrong per sample by -delta/scale, "fixed" in the penalty by +delta: right for N = 1 only
    shifted = Gradient(w, g.named, g.expanded, g.scale, g.term - delta / g.scale, g.extra + delta)
    with pytest.raises(VerificationError, match="dL/dw"):
        check.run(check.gradient(w, shifted, "dL/dw"))


def test_elementary_rewrites_nested_functions_but_not_their_arguments():
    from symgrad.core.functions import elementary, relu, softplus

    a = real("a")
    assert elementary(softplus(sp.cos(a))) == sp.log(1 + sp.exp(sp.cos(a)))  # no complex exp
    nested = elementary(softplus(sigmoid(relu(a))))
    assert not nested.has(softplus, sigmoid, relu)
    d = derive_graph(expression_graph(softplus(sp.cos(a))))
    assert [s.check.passed for s in d.steps if s.kind is Kind.LOCAL] == [True, True]


def test_batched_check_settles_cancellation_at_large_logits():
    """log(1 - sigmoid(z)) at z ~ 150 loses ~65 digits to cancellation (more than 60 digits hold):
    the check raises the precision until the values settle instead of failing to decide."""
    from symgrad.core.verify import same, same_all

    zz = real("z")
    loss = -sp.log(1 - 1 / (1 + sp.exp(-(zz + 150))))
    right, wrong = sp.diff(loss, zz), sp.diff(loss, zz) * (1 + sp.Rational(1, 10**9))
    assert same(right, sigmoid(zz + 150))
    ok, bad = same_all([(right, sigmoid(zz + 150)), (wrong, sigmoid(zz + 150))])
    assert (ok.passed, bad.passed) == (True, False)
    assert ok.digits > 60 and ok.points == 4  # settled only above the first precision


def test_the_loss_line_with_a_penalty_is_not_tagged_a_mean():
    """L = (1/N) Σ ℓᵢ + λ Σ w² is a mean plus a penalty: the tag says both, and the L2 strength."""
    from symgrad.render import rule_text

    line = [s for s in derive("mse", "linear", l2=0.1).steps if str(s.lhs) == "L"][0]
    assert rule_text(line) == "mean over samples + penalty (L2, λ = 0.1)"
    plain = [s for s in derive("mse", "linear").steps if str(s.lhs) == "L"][0]
    assert rule_text(plain) == "mean over samples"
    typed = derive_expr("yhat = w*x + b; L = mean((yhat - y)^2) + 0.5*w^2", wrt=("w", "b"))
    assert rule_text([s for s in typed.steps if str(s.lhs) == "L"][0]) == (
        "mean over samples + penalty")

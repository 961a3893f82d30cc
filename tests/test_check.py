"""symgrad.teaching.check: a table of hand-written (problem, answer, verdict, mistakes) cases from
the
lectures (video 3: MSE for ŷ = w x + b, u = ŷ − y, the update rule; L7: logistic regression with
BCE, sigmoid / tanh / ReLU, the graph j = 3(a + b c)), including the lectures' own mistakes.

Every expected verdict and mistake below was worked out by hand from the math, not by running the
checker.
"""

from __future__ import annotations

import re

import pytest
import sympy as sp

from symgrad.core.errors import OptionError, ParseError
from symgrad.teaching.check import MISTAKES, AnswerError, check_answer, mistake_names

MSE = {"loss": "mse", "model": "linear"}
BCE = {"loss": "bce", "model": "logistic"}
MSE_SIG = {"loss": "mse", "model": "logistic"}

# (problem, wrt, answer, options, correct?, mistakes)
CASES = [
    # --- video 3: MSE, linear model; dL/dw = (2/N) Σ (w x_i + b − y_i) x_i
    (MSE, "w", "(2/N)*sum((w*x_i + b - y_i)*x_i, i)", {}, True, ()),
    (MSE, "w", "(2/N)*sum((yhat - y)*x)", {}, True, ()),
    (MSE, "w", "2/N*sum(u*x)", {}, True, ()),
    (MSE, "w", "(1/N)*sum(2*w*x^2 + 2*b*x - 2*x*y)", {}, True, ()),  # expanded
    (MSE, "w", "2*u*x_i", {}, False, ("missing_1_over_N", "missing_sum")),  # the slide's dL/dw
    (MSE, "w", "2*(y_hat - y)*x_i", {}, False, ("missing_1_over_N", "missing_sum")),
    (MSE, "w", "2*((w*x + b) - y)*x_i", {}, False, ("missing_1_over_N", "missing_sum")),
    (MSE, "w", "2*sum(u*x)", {}, False, ("missing_1_over_N",)),
    (MSE, "w", "(2/N)*u*x", {}, False, ("missing_sum",)),
    (MSE, "w", "(2/N)*sum(u)", {}, False, ("missing_chain_factor",)),  # x_i dropped
    (MSE, "w", "(1/N)*sum(u*x)", {}, False, ("factor_2",)),  # the power rule's 2 dropped
    (MSE, "w", "(4/N)*sum(u*x)", {}, False, ("factor_2",)),
    (MSE, "w", "(2/N)*sum((y - yhat)*x)", {}, False, ("sign",)),
    (MSE, "w", "-(2/N)*sum(u*x)", {}, False, ("sign",)),
    (MSE, "w", "(2/N)*sum(u*w)", {}, False, ("wrong_variable",)),  # ∂L/∂x_i
    (MSE, "w", "(2/N)*sum(yhat*x)", {}, False, ("missing_y",)),
    # dL/db = (2/N) Σ (w x_i + b − y_i); the slide's garbled "2u − y = 2(w_old x + b)"
    (MSE, "b", "(2/N)*sum(w*x + b - y)", {}, True, ()),
    (MSE, "b", "2*(w_old*x + b)", {}, False, ("missing_y", "missing_1_over_N", "missing_sum")),
    (MSE, "b", "2*u - y", {}, False, ()),  # garbled: no known mistake
    (MSE, "b", "2*u", {}, False, ("missing_1_over_N", "missing_sum")),
    (MSE, "b", "(2/N)*sum(u*x)", {}, False, ("wrong_variable",)),  # this is ∂L/∂w
    (MSE, "w", "(2/N)*sum(u)", {}, False, ("missing_chain_factor",)),
    # per sample: the slide's formula is right as the gradient of one sample's loss
    (MSE, "w", "2*u*x", {"per_sample": True}, True, ()),
    (MSE, "w", "2*u", {"per_sample": True}, False, ("missing_chain_factor",)),
    (MSE, "b", "2*(yhat - y)", {"per_sample": True}, True, ()),
    # two features, and the L2 penalty λ Σ w²
    (MSE, "w1", "(2/N)*sum(u*x1)", {"features": 2}, True, ()),
    (MSE, "w2", "(2/N)*sum(u*x_i1)", {"features": 2}, False, ("wrong_variable",)),
    (MSE, "w", "(2/N)*sum(u*x) + 2*lam*w", {"l2": 0.1}, True, ()),
    (MSE, "w", "(2/N)*sum(u*x)", {"l2": 0.1}, False, ("missing_penalty",)),
    # --- gradient-descent updates: w_new = w − η dL/dw
    (MSE, "w", "w - lr*(2/N)*sum(u*x)", {"update": True}, True, ()),
    (MSE, "w", "w_old - eta*(2/N)*sum((w*x + b - y)*x)", {"update": True}, True, ()),
    (MSE, "w", "w + lr*(2/N)*sum(u*x)", {"update": True}, False, ("update_sign",)),
    (MSE, "w", "w - (2/N)*sum(u*x)", {"update": True}, False, ("missing_learning_rate",)),
    (MSE, "b", "b - lr*2*u", {"update": True}, False, ("missing_1_over_N", "missing_sum")),
    (BCE, "w", "w + lr*(1/N)*sum((yhat - y)*x)", {"update": True}, False, ("update_sign",)),
    # --- L7: logistic regression with BCE; dL/dw = (1/N) Σ (ŷ_i − y_i) x_i
    (BCE, "w", "(1/N)*sum((yhat - y)*x)", {}, True, ()),
    (BCE, "w", "(1/N)*sum((sigmoid(w*x + b) - y)*x)", {}, True, ()),
    (BCE, "b", "(1/N)*sum(yhat - y)", {}, True, ()),
    (BCE, "w", "(1/N)*sum((y - yhat)*x)", {}, False, ("sign",)),
    (BCE, "w", "sum((yhat - y)*x)", {}, False, ("missing_1_over_N",)),
    (BCE, "w", "(yhat - y)*x", {}, False, ("missing_1_over_N", "missing_sum")),
    (BCE, "w", "(1/N)*sum(yhat - y)", {}, False, ("missing_chain_factor",)),
    (BCE, "w", "(1/N)*sum((yhat - y)/(yhat*(1 - yhat))*x)", {}, False,
     ("missing_chain_factor",)),  # σ'(z) dropped
    (BCE, "w", "(1/N)*sum(yhat*(1 - yhat)*x)", {}, False, ("bce_derivative_as_sigma_prime",)),
    (BCE, "w", "(1/N)*sum(yhat^2*(1 - yhat)^2*x)", {}, False, ("bce_derivative_as_sigma_prime",)),
    (BCE, "w", "(1/N)*sum((yhat - y)*yhat*(1 - yhat)*x)", {}, False, ("sigma_prime_twice",)),
    (BCE, "w", "(2/N)*sum((yhat - y)*x)", {}, False, ("factor_2",)),
    (BCE, "w", "(1/N)*sum(yhat*x)", {}, False, ("missing_y",)),
    # MSE on a sigmoid output: σ' appears and can be written as σ
    (MSE_SIG, "w", "(2/N)*sum((yhat - y)*yhat*(1 - yhat)*x)", {}, True, ()),
    (MSE_SIG, "w", "(2/N)*sum((yhat - y)*yhat*x)", {}, False, ("sigma_prime_as_sigma",)),
    (MSE_SIG, "w", "(2/N)*sum((yhat - y)*x)", {}, False, ("missing_chain_factor",)),
    # --- activations (L7 → L8)
    ({"expr": "sigmoid(z)"}, "z", "sigmoid(z)*(1 - sigmoid(z))", {}, True, ()),
    ({"expr": "sigmoid(z)"}, "z", "exp(-z)/(1 + exp(-z))^2", {}, True, ()),
    ({"expr": "sigmoid(z)"}, "z", "sigmoid(z)", {}, False, ("sigma_prime_as_sigma",)),
    ({"expr": "tanh(z)"}, "z", "1 - tanh(z)^2", {}, True, ()),
    ({"expr": "tanh(z)"}, "z", "tanh(z)", {}, False, ("tanh_prime_as_tanh",)),
    ({"expr": "tanh(z)"}, "z", "1 - tanh(z)", {}, False, ("tanh_prime_missing_square",)),
    ({"expr": "relu(z)"}, "z", "relu(z)", {}, False, ("relu_prime_as_relu",)),
    ({"expr": "elu(z)"}, "z", "elu(z)", {}, False, ("elu_prime_as_elu",)),
    ({"expr": "elu(z - 1)"}, "z", "relu(z - 1)/(z - 1) + (1 - relu(z - 1)/(z - 1))*elu(z - 1)", {},
     False, ("elu_prime_missing_alpha",)),  # ELU'(u) = ELU(u) for u <= 0: the + 1 is missing
    ({"expr": "silu(z)"}, "z", "sigmoid(z)", {}, False, ("silu_prime_as_sigma",)),
    ({"expr": "gelu(z)"}, "z", "(1 + erf(z/sqrt(2)))/2", {}, False, ("gelu_prime_as_cdf",)),
    ({"expr": "sigmoid(w*x)"}, "w", "sigmoid(w*x)*(1 - sigmoid(w*x))", {}, False,
     ("missing_chain_factor",)),
    # --- the toy graph j = 3(a + b c): dj/da = 3, dj/db = 3c, dj/dc = 3b
    ({"expr": "3*(a + b*c)"}, "a", "3", {}, True, ()),
    ({"expr": "3*(a + b*c)"}, "b", "3*c", {}, True, ()),
    ({"expr": "3*(a + b*c)"}, "c", "3*b", {}, True, ()),
    ({"expr": "3*(a + b*c)"}, "b", "c", {}, False, ("missing_chain_factor",)),  # ∂j/∂v = 3
    ({"expr": "3*(a + b*c)"}, "b", "3*b", {}, False, ("wrong_variable",)),
    ({"expr": "3*(a + b*c)"}, "b", "-3*c", {}, False, ("sign",)),
    # --- the typed function
    ({"expr": "(w*x + b - y)^2"}, "w", "2*(w*x + b - y)*x", {}, True, ()),
    ({"expr": "(w*x + b - y)^2"}, "w", "2*(w*x + b - y)", {}, False, ("missing_chain_factor",)),
    ({"expr": "(w*x + b - y)^2"}, "w", "(w*x + b - y)*x", {}, False, ("factor_2",)),
    ({"expr": "(w*x + b - y)^2"}, "w", "w - lr*2*(w*x + b - y)*x", {"update": True}, True, ()),
]


def _id(case) -> str:
    problem, wrt, answer, options, *_ = case
    what = problem.get("expr") or f"{problem['loss']}/{problem['model']}"
    extra = ",".join(k for k in options)
    return f"{what}:d{wrt}:{answer}" + (f"[{extra}]" if extra else "")


def test_the_table_is_large_and_uses_every_mistake_name():
    assert len(CASES) >= 40
    used = {m for case in CASES for m in case[5]}
    assert used == set(MISTAKES), set(MISTAKES) - used


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_case(case):
    problem, wrt, answer, options, correct, mistakes = case
    result = check_answer(answer, **problem, wrt=wrt, **options)
    assert result.correct is correct
    assert result.mistakes == mistakes
    data = result.to_dict()
    assert set(data) >= {"correct", "mistakes", "expected", "feedback"}
    assert set(data["expected"]) == {"latex", "text"}
    if correct:
        assert result.method in ("symbolic", "random points")
    else:
        assert result.steps and result.feedback


def test_expected_matches_sympy_diff_of_the_loss_written_out():
    """The 'expected' answer, typed back as an answer, is judged correct (a round trip)."""
    r = check_answer("(2/N)*sum((w*x + b - y)*x)", "mse", wrt="w")
    assert r.expected_text == "∂L/∂w = (2/N)·Σᵢ (ŷᵢ − yᵢ)·xᵢ"
    # independent: sympy.diff of the MSE over three samples equals the accepted formula
    w, b = sp.symbols("w b", real=True)
    xs, ys = sp.symbols("x1:4", real=True), sp.symbols("y1:4", real=True)
    loss = sum((w * x + b - y) ** 2 for x, y in zip(xs, ys, strict=True)) / 3
    typed = sp.Rational(2, 3) * sum((w * x + b - y) * x for x, y in zip(xs, ys, strict=True))
    assert sp.expand(sp.diff(loss, w) - typed) == 0


def test_departs_at_the_step_the_mistake_changes():
    r = check_answer("2*u*x_i", "mse", wrt="w")
    step = r.steps[r.departs_at]
    assert str(step.lhs.args) == "(L, ell_i)" and step.result == 1 / sp.Symbol(
        "N", integer=True, positive=True)
    r = check_answer("(2/N)*sum(u)", "mse", wrt="w")
    assert str(r.steps[r.departs_at].lhs.args) == "(yhat_i, w)"  # ∂ŷ/∂w = x_i
    r = check_answer("(1/N)*sum(u*x)", "mse", wrt="w")
    assert str(r.steps[r.departs_at].lhs.args) == "(ell_i, u_i)"  # ∂ℓ/∂u = 2u: the 2
    r = check_answer("(1/N)*sum(yhat*(1 - yhat)*x)", "bce", "logistic", wrt="w")
    assert str(r.steps[r.departs_at].lhs.args) == "(ell_i, yhat_i)"
    r = check_answer("w + lr*(2/N)*sum(u*x)", "mse", wrt="w", update=True)
    assert r.departs_at is None and "your gradient is right" in str(r)


def test_text_report():
    text = str(check_answer("2*u*x_i", "mse", wrt="w"))
    assert text.startswith("Not correct: 2·uᵢ·xᵢ")
    assert "Mistakes: missing_1_over_N, missing_sum" in text
    assert "<-- your answer departs here" in text
    assert "per_sample=True" in text and not re.search(r"--[a-z]", text)  # the API's words
    assert str(check_answer("2/N*sum(u*x)", "mse", wrt="w")).startswith("Correct: ∂L/∂w")


def test_every_mistake_is_documented():
    import symgrad.teaching.check as module

    for name in mistake_names():
        assert f"``{name}``" in module.__doc__


@pytest.mark.parametrize(
    ("answer", "column"),
    [("2*(u*x", 3), ("2*u*x)", 6), ("2**", 4), ("sum(u, j)", 8), ("sum(sum(u))", 5)],
)
def test_answer_that_does_not_parse_has_a_column(answer, column):
    with pytest.raises(ParseError) as caught:
        check_answer(answer, "mse", wrt="w")
    assert caught.value.column == column
    assert caught.value.caret().endswith("^")


@pytest.mark.parametrize(
    ("problem", "answer", "fragment"),
    [
        ({"loss": "mse"}, "2*v*x", "unknown symbol in the answer: v"),
        ({"loss": "mse"}, "2*q*r", "unknown symbols in the answer: q, r"),
        ({"expr": "3*(a + b*c)"}, "3*d", "unknown symbol in the answer: d"),
        ({"expr": "3*(a + b*c)"}, "3*N", "unknown symbol in the answer: N"),
        ({"expr": "3*(a + b*c)"}, "sum(c)", "sum(...) is for losses over samples"),
        ({"loss": "mse", "per_sample": True}, "sum(u*x)", "without sum"),
        ({"loss": "mse"}, "w - lr*2*u", "unknown symbol in the answer: lr"),
    ],
)
def test_answer_in_the_wrong_variables(problem, answer, fragment):
    with pytest.raises(AnswerError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        check_answer(answer, **problem, wrt="c" if "expr" in problem else "w")


def test_hostile_answers_are_refused_by_the_safe_parser():
    for text in ("__import__('os').system('true')", "x.__class__", "[u for u in x]",
                 "sum(u, __import__)", "(" * 200 + "u" + ")" * 200):
        with pytest.raises(ParseError):
            check_answer(text, "mse", wrt="w")


def test_bad_problems():
    with pytest.raises(OptionError):
        check_answer("1", wrt="w")
    with pytest.raises(OptionError):
        check_answer("1", "mse", wrt="q")
    with pytest.raises(OptionError):
        check_answer("1", expr="a*b", wrt="c")


def test_an_answer_undefined_everywhere():
    with pytest.raises(AnswerError, match="undefined"):
        check_answer("log(-1 - x^2)", "mse", wrt="w")


def test_cross_entropy_one_hot_labels():
    assert check_answer("(1/N)*sum((p_i1 - y_i1)*x)", "cross_entropy", wrt="w11").correct
    r = check_answer("(1/N)*sum((y_i1 - p_i1)*x)", "cross_entropy", wrt="w11")
    assert r.mistakes == ("sign",)


def test_an_answer_undefined_on_a_branch_gets_a_verdict():
    """1/relu(y_hat) is complex infinity where y_hat <= 0: those points are skipped, as in the
    engine's checks (it was a KeyError inside lambdify's printer)."""
    result = check_answer("sigmoid((0.5 - b) / relu(y_hat))", "mse", wrt="w")
    assert not result.correct

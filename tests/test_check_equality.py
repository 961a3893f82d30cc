"""``check`` cannot be fooled (issue 12): one equality decision, in symgrad.core.verify.

Each repro of the issue is rejected while the correct answer is accepted; property tests add a
random small perturbation to a correct answer (a relu of a shifted parameter, a polynomial in N
vanishing at small N, a tiny offset) and write correct answers differently (expanded, factored).
The expected answers are independent: sympy.diff of the typed function, or the MSE gradient
written by hand.
"""

from __future__ import annotations

import threading

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symgrad.cli import main
from symgrad.teaching.check import check_answer, check_problem, problem

MSE_W = "(2/N)*sum((yhat - y)*x)"  # the hand-written MSE gradient for the linear model
SLOW = settings(max_examples=12, deadline=None)


@pytest.fixture(scope="module")
def mse_w():
    return problem("mse", wrt="w")


@pytest.fixture(scope="module")
def cubic_w():
    return problem(expr="w^3*x + 2*w*x^2", wrt="w")


# --- the repros ---------------------------------------------------------------------------


def test_a_factor_equal_to_1_at_n_3_and_4_is_caught(mse_w):
    """N² − 7N + 13 = 1 at N = 3 and N = 4, the only counts tried before."""
    r = check_problem(f"{MSE_W}*(N^2 - 7*N + 13)", mse_w)
    assert not r.correct and r.method == "random points"
    ok = check_problem(MSE_W, mse_w)
    assert ok.correct and ok.method == "symbolic"  # a proof, N kept symbolic


def test_a_shifted_relu_is_caught():
    assert not check_answer("2*w*x + relu(w - 3)", expr="w^2*x", wrt="w").correct
    assert check_answer("2*w*x", expr="w^2*x", wrt="w").correct


def test_a_tiny_offset_is_caught(mse_w):
    assert not check_problem(f"{MSE_W} + 1e-13", mse_w).correct
    assert not check_answer("2*w*x + 1e-13", expr="w^2*x", wrt="w").correct
    assert check_answer("2*x*w", expr="w^2*x", wrt="w").correct


def test_the_cli_repro_exits_1_and_the_correct_answer_0(capsys):
    code = main(["check", "mse", "--wrt", "w", "--answer", f"{MSE_W}*(N^2 - 7*N + 13)"])
    out = capsys.readouterr().out
    assert code == 1 and out.startswith("Not correct")
    assert main(["check", "--expr", "w^2*x", "--wrt", "w", "--answer", "2*w*x + relu(w - 3)"])
    assert main(["check", "mse", "--wrt", "w", "--answer", MSE_W]) == 0
    assert "checked symbolically" in capsys.readouterr().out


def test_the_decision_works_off_the_main_thread(mse_w):
    """No SIGALRM: a worker thread (a web server, a notebook kernel) decides the same way."""
    results: dict[str, bool] = {}

    def work() -> None:
        results["right"] = check_problem(MSE_W, mse_w).correct
        results["wrong"] = check_problem(f"{MSE_W}*(N^2 - 7*N + 13)", mse_w).correct

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert results == {"right": True, "wrong": False}


def test_differently_written_sums_are_proved(mse_w):
    for answer in (
        "(2/N)*sum(yhat*x) - (2/N)*sum(y*x)",
        "sum(2*(w*x + b - y)*x/N)",
        "2*(w*sum(x^2) + b*sum(x) - sum(x*y))/N",
    ):
        r = check_problem(answer, mse_w)
        assert r.correct and r.method == "symbolic", answer


# --- properties ---------------------------------------------------------------------------------


@SLOW
@given(c=st.integers(1, 50), d=st.integers(1, 9))
def test_a_relu_of_a_shifted_parameter_is_rejected(mse_w, cubic_w, c, d):
    shift = f"{c} + {d}/10"
    assert not check_problem(f"{MSE_W} + relu(w - ({shift}))", mse_w).correct
    right = "3*w^2*x + 2*x^2"
    assert not check_problem(f"{right} + relu(w - ({shift}))", cubic_w).correct
    assert not check_problem(f"{right} - relu({shift} - w)*x", cubic_w).correct
    assert check_problem(right, cubic_w).correct


@SLOW
@given(a=st.integers(1, 10), b=st.integers(1, 10))
def test_a_polynomial_in_n_vanishing_at_small_n_is_rejected(mse_w, a, b):
    vanish = f"(N - {a})*(N - {b})"
    assert not check_problem(f"{MSE_W}*(1 + {vanish})", mse_w).correct
    assert not check_problem(f"{MSE_W} + {vanish}*w/N", mse_w).correct
    assert not check_problem(f"(2/N)*sum((yhat - y)*x*(1 + {vanish}))", mse_w).correct


@SLOW
@given(k=st.integers(1, 9), e=st.integers(12, 13), sign=st.sampled_from("+-"))
def test_a_tiny_offset_is_rejected(mse_w, cubic_w, k, e, sign):
    offset = f" {sign} {k}e-{e}"
    assert not check_problem(MSE_W + offset, mse_w).correct
    assert not check_problem(f"3*w^2*x + 2*x^2{offset}", cubic_w).correct
    assert not check_problem(f"3*w^2*x + 2*x^2 + x*w{offset}*w", cubic_w).correct


def _typed(e: sp.Expr) -> str:
    return str(e).replace("**", "^")


@SLOW
@given(
    a=st.integers(-5, 5).filter(bool),
    b=st.integers(-5, 5),
    k=st.integers(2, 5),
    form=st.sampled_from(["expand", "factor", "as typed"]),
)
def test_correct_answers_written_differently_are_accepted(a, b, k, form):
    w, x = sp.symbols("w x", real=True)
    f = (a * w * x + b) ** k + w**2 / x
    expected = sp.diff(f, w)  # independent of symgrad
    shown = {"expand": sp.expand, "factor": sp.factor, "as typed": lambda e: e}[form](expected)
    r = check_answer(_typed(shown), expr=_typed(f), wrt="w")
    assert r.correct, (f, shown)
    assert not check_answer(_typed(shown + sp.Rational(1, 10**12)), expr=_typed(f), wrt="w").correct


@SLOW
@given(m=st.integers(1, 20), split=st.booleans())
def test_correct_sums_written_differently_are_accepted(mse_w, m, split):
    body = "(w*x + b - y)*x"
    answer = (
        f"({2 * m}/({m}*N))*sum(w*x^2) + (2/N)*sum(b*x - y*x)"
        if split
        else f"(2*{m}/N)*sum({body}/{m})"
    )
    r = check_problem(answer, mse_w)
    assert r.correct and r.method == "symbolic", answer

"""``symgrad check`` from the command line: exit status 0 / 1 / 2, the JSON contract, carets."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from symgrad.cli import main
from symgrad.teaching.check import MISTAKES


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_correct_answer_exits_0(capsys):
    code, out, err = run(capsys, "check", "mse", "--model", "linear", "--wrt", "w",
                         "--answer", "(2/N)*sum((w*x + b - y)*x)")
    assert code == 0 and err == ""
    assert out.startswith("Correct: ∂L/∂w = (2/N)·Σᵢ (ŷᵢ − yᵢ)·xᵢ")


def test_the_lectures_dl_dw_exits_1_with_its_mistakes(capsys):
    code, out, err = run(capsys, "check", "mse", "--wrt", "w", "--answer", "2*u*x_i")
    assert code == 1 and err == ""
    assert "Mistakes: missing_1_over_N, missing_sum" in out
    assert "∂L/∂ℓᵢ = 1/N" in out and "<-- your answer departs here" in out
    assert "∂L/∂w = Σᵢ" not in out  # the derivation stops at the departing step


def test_per_sample_and_expr_and_update(capsys):
    assert run(capsys, "check", "mse", "--wrt", "w", "--per-sample", "--answer", "2*u*x")[0] == 0
    assert run(capsys, "check", "--expr", "(w*x + b - y)^2", "--wrt", "w", "--answer",
               "2*(w*x + b - y)*x")[0] == 0
    code, out, _ = run(capsys, "check", "bce", "--model", "logistic", "--wrt", "b", "--update",
                       "--answer", "b + lr*(1/N)*sum(yhat - y)")
    assert code == 1 and "update_sign" in out


def test_json_contract(capsys):
    code, out, _ = run(capsys, "check", "bce", "--model", "logistic", "--wrt", "w", "--format",
                       "json", "--answer", "(1/N)*sum(yhat*(1 - yhat)*x)")
    data = json.loads(out)
    assert code == 1
    assert {"correct", "mistakes", "expected", "feedback"} <= set(data)
    assert data["correct"] is False
    assert data["mistakes"] == ["bce_derivative_as_sigma_prime"]
    assert set(data["expected"]) == {"latex", "text"}
    assert data["expected"]["text"] == "∂L/∂w = (1/N)·Σᵢ (ŷᵢ − yᵢ)·xᵢ"
    assert data["expected"]["latex"].startswith(r"\frac{\partial L}{\partial w} = \frac{1}{N}")
    assert isinstance(data["feedback"], str) and data["feedback"]
    assert all(m in MISTAKES for m in data["mistakes"])
    assert data["steps"][data["departs_at"]]["text"].startswith("∂ℓᵢ/∂ŷᵢ")
    code, out, _ = run(capsys, "check", "mse", "--wrt", "b", "--format", "json", "--answer",
                       "(2/N)*sum(yhat - y)")
    data = json.loads(out)
    assert code == 0 and data["correct"] is True and data["mistakes"] == []


def test_parse_error_exits_2_with_column_and_caret(capsys):
    code, out, err = run(capsys, "check", "mse", "--wrt", "w", "--answer", "2*(u*x")
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0].startswith("symgrad: error: invalid syntax at column 3")
    assert lines[1] == "  2*(u*x" and lines[2] == "    ^"


def test_unknown_symbols_exit_2_naming_them(capsys):
    code, out, err = run(capsys, "check", "mse", "--wrt", "w", "--answer", "2*v*q")
    assert code == 2 and out == ""
    assert err.startswith("symgrad: error: unknown symbols in the answer: q, v; use b,")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--wrt", "w", "--answer", "1"],  # neither loss nor --expr
        ["check", "mse", "--expr", "a*b", "--wrt", "a", "--answer", "b"],  # both
        ["check", "mse", "--wrt", "q", "--answer", "1"],  # unknown parameter
        ["check", "mse", "--wrt", "w"],  # no --answer (argparse)
        ["check", "mse", "--wrt", "w", "--answer", "1", "--per-sample", "--update"],
    ],
)
def test_bad_options_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as caught:
        raise SystemExit(main(argv))
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("symgrad") and "Traceback" not in err


def test_exit_status_through_a_real_process():
    base = [sys.executable, "-m", "symgrad.cli", "check", "mse", "--wrt", "w", "--answer"]
    assert subprocess.run([*base, "2/N*sum(u*x)"], capture_output=True).returncode == 0
    assert subprocess.run([*base, "2*u*x"], capture_output=True).returncode == 1
    assert subprocess.run([*base, "2*u*"], capture_output=True).returncode == 2


def test_check_result_shows_in_jupyter():
    import html

    from symgrad import check_answer

    r = check_answer("2*u*x_i", "mse", wrt="w")
    assert f"{html.escape(str(r))}</pre></div>" in r._repr_html_()  # the report, under a title
    assert "<strong>Check of your answer: not correct</strong>" in r._repr_html_()
    assert "missing_1_over_N" in r._repr_html_()


def test_a_wrong_answer_is_shown_as_typed():
    from symgrad import check_answer

    r = check_answer("2*(w*x + b - y)", expr="(w*x + b - y)^2", wrt="w")
    assert str(r).splitlines()[0] == "Not correct: 2·(w·x + b − y)"  # not 2·w·x + 2·b − 2·y
    assert r.mistakes == ("missing_chain_factor",)


MATRIX = ("check", "--expr", "sum((X*w - y)^2)/N", "--shapes", "X: N x d, w: d, y: N",
          "--wrt", "w", "--answer")


@pytest.mark.parametrize("answer, code, line", [
    ("2/N * X'*(X*w - y)", 0, "Correct: ∂L/∂w = (2/N)·Xᵀ(Xw − y) (shape d)"),
    ("(2/N)*(X.T*X*w - X.T*y)", 0, "Correct: ∂L/∂w = (2/N)·Xᵀ(Xw − y) (shape d)"),
    ("2/N * X*(X*w - y)", 1, "Not correct: 2/N * X*(X*w - y) at column 1: (2/N)·X is N×d and "
     "Xw − y is N; a matrix product needs d = N (a missing transpose (Xw where Xᵀ belongs)) "
     "(mistakes: wrong_shape, missing_transpose)"),
    ("2/N * (X*w - y)", 1, "Not correct: the shape is wrong: yours is N, ∂L/∂w is d (the shape "
     "of w) (mistakes: wrong_shape)"),
    ("-2/N * X'*(X*w - y)", 1, "Not correct: not equal to the gradient: the sign is flipped "
     "(mistakes: sign)"),
    ("2 * X'*(X*w - y)", 1, "Not correct: not equal to the gradient: missing 1 over N "
     "(mistakes: missing_1_over_N)"),
])
def test_matrix_answers_one_line_and_exit_status(capsys, answer, code, line):
    got, out, err = run(capsys, *MATRIX, answer)
    assert (got, out, err) == (code, line + "\n", "")


def test_matrix_answer_json_and_bad_input(capsys):
    code, out, _ = run(capsys, *MATRIX, "2/N * X'*(X*w - y)", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["correct"] is True and data["expected"] == "d"
    assert data["mistakes"] == [] and data["answer"] == "2/N * X'*(X*w - y)"
    for answer, message in (("2/N * q'*X", "q at column 7 is not a name of the expression "
                                           "(its names: X, w, y)"),
                            ("2/N * X'*(X*w - ", "invalid syntax")):
        code, out, err = run(capsys, *MATRIX, answer)
        assert code == 2 and out == "" and message in err.splitlines()[0], err
    code, out, err = run(capsys, *MATRIX, "X'*X", "--update")
    assert code == 2 and out == "" and "--update does not apply to a matrix expression" in err
    code, out, err = run(capsys, *MATRIX[:4], "X: N x", "--wrt", "w", "--answer", "w")
    assert code == 2 and out == "" and "--shapes 'X: N x'" in err


@pytest.mark.parametrize("answer, line", [
    ("(1/N)*sum((w*x + b - y)*x)", "Not correct: (1/N)·Σᵢ (w·xᵢ + b − yᵢ)·xᵢ"),
    ("sum(2*(w*x + b - y)*x)", "Not correct: Σᵢ 2·(w·xᵢ + b − yᵢ)·xᵢ"),
])
def test_a_wrong_sum_is_shown_as_typed(capsys, answer, line):
    """Renaming the answer's symbols rebuilt its sum under evaluate(False), and SymPy's Sum put a
    factor 1 in front of its term: 'Not correct: (1/N)·Σᵢ 1·((w·xᵢ + b − yᵢ)·xᵢ)'."""
    code, out, err = run(capsys, "check", "mse", "--wrt", "w", "--answer", answer)
    assert code == 1 and err == ""
    assert out.splitlines()[0] == line


def test_an_answer_that_begins_with_a_minus_is_read(capsys):
    """A sign error begins with a minus: argparse took '-(2/N)*sum(...)' for an option and
    stopped with "argument --answer: expected one argument"."""
    code, out, err = run(capsys, "check", "mse", "--wrt", "w", "--answer",
                         "-(2/N)*sum((w*x+b-y)*x)")
    assert code == 1 and err == ""
    assert "Mistakes: sign" in out.splitlines()[1]
    code, out, err = run(capsys, "check", "--expr", "-log(sigmoid(w*x))", "--wrt", "w",
                         "--answer", "-(1-sigmoid(w*x))*x")
    assert code == 0 and out.startswith("Correct:")

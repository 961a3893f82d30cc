"""One minus sign on the page: every minus the text printer writes is U+2212 (−), never the
hyphen; and a zero vector gradient prints as 0 (text) and 𝟎 (LaTeX), not 0·1_d.

Over the 49 derivations of ``scripts/derivation_snapshot.py`` (catalogue, typed text, expanded
networks), check's messages, worksheet answers, and what reads the printed text back.
"""

from __future__ import annotations

import importlib.util
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from symgrad import derive_expr
from symgrad.core.errors import SymgradError
from symgrad.core.matrix import parse_matrix, parse_shapes
from symgrad.core.matrix_derive import derive_matrix
from symgrad.render import latex
from symgrad.render.text import expr_text, matrix_render, matrix_text
from symgrad.teaching.check import check_answer

ROOT = Path(__file__).parent.parent
_spec = importlib.util.spec_from_file_location(
    "derivation_snapshot", ROOT / "scripts" / "derivation_snapshot.py")
snapshot = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(snapshot)

#: a hyphen that is not inside a word (cross-entropy, one-hot): a minus sign written as '-'
HYPHEN_MINUS = re.compile(r"(?<![A-Za-z])-|-(?![A-Za-z])")


def _no_hyphen_minus(text: str) -> None:
    for line in text.replace("   <-- your answer departs here", "").splitlines():  # an arrow
        assert not HYPHEN_MINUS.search(line), line


@pytest.mark.parametrize("name", list(snapshot.cases()))
def test_no_hyphen_minus_in_any_printed_derivation(name):
    try:
        d = snapshot.cases()[name]()
    except SymgradError as e:  # a combination refused (mae of the logistic model): one line
        assert "\n" not in str(e)
        _no_hyphen_minus(str(e))
        return
    printed = str(d).splitlines()
    typed = f"Gradient of {snapshot.TYPED.get(name.removeprefix('typed '), ('',))[0]}"
    if printed[0] == typed:  # the title echoes the user's typed text as typed
        printed = printed[1:]
    if name.startswith("net"):  # the network's name in the title: 2-3-1
        sizes = name.split()[1]
        assert sizes in printed[0]
        printed[0] = printed[0].replace(sizes, "")
    _no_hyphen_minus("\n".join(printed))
    late = frozenset(d.graph.features)
    for s in d.steps:  # every form of every step: no '-' at all (a name cannot contain one)
        for f in (s.lhs, *s.forms):
            assert "-" not in expr_text(f, late), (name, expr_text(f, late))
    for g in d.gradients.values():
        assert "-" not in expr_text(g.named, late) + expr_text(g.expanded, late)


def test_the_cases_print_minus_signs_at_all():
    """The test above can fail: these derivations do print leading minus signs and negative
    numbers, now as U+2212."""
    text = str(snapshot.cases()["hinge,linear,1"]())
    assert "{−yᵢ·xᵢ if yᵢ·zᵢ < 1; 0 otherwise}" in text and "∂mᵢ/∂zᵢ = −yᵢ" in text
    assert "∂j/∂w = −(1 − σ(w·x))·x" in str(derive_expr("-log(sigmoid(w*x))", ["w"]))


x, z, w = sp.symbols("x z w", real=True)


@pytest.mark.parametrize(("expr", "text"), [
    (sp.Integer(-1), "−1"),
    (sp.Rational(-1, 2), "−1/2"),
    (-x, "−x"),
    (-2 * x / 3, "−2·x/3"),
    (x - z, "x − z"),
    (-x - z, "−x − z"),
    (x**-2, "x^(−2)"),
    (sp.exp(-z), "e^(−z)"),
    (sp.Piecewise((1, x > -1), (0, True)), "{1 if x > −1; 0 otherwise}"),
    (sp.Float(-0.5, 3), "−0.500"),
    (x**2, "x²"),
])
def test_every_minus_the_text_printer_writes_is_u2212(expr, text):
    assert expr_text(expr) == text


def test_matrix_exponents_keep_their_superscript_minus():
    shapes = parse_shapes("x: N, y: N")
    assert matrix_text(parse_matrix("x.^(-1)", shapes)) == "x⁻¹"
    assert matrix_text(parse_matrix("x.^(-0.5)", shapes)) == "x^(−1/2)"
    assert matrix_text(parse_matrix("-2*x - y", shapes)) == "−2·x − y"


@pytest.mark.parametrize("answer", [
    "-(2/N)*sum((w*x+b-y)*x)",  # the sign mistake: its echo and its message
    "(2/N)*sum((w*x+b-y)*x) - 1",
    "2*(w*x - y)*x",
    "(2/N)*sum((w*x+b-y)*x)",
])
def test_no_hyphen_minus_in_check_messages(answer):
    r = check_answer(answer, "mse", wrt="w")
    _no_hyphen_minus(str(r).replace("missing_1_over_N", ""))
    assert "Not correct: −2/N·Σᵢ" in str(check_answer(
        "-(2/N)*sum((w*x+b-y)*x)", "mse", wrt="w"))


@pytest.mark.parametrize(("expr", "wrt"), [
    ("-log(sigmoid(w*x))", "w"),
    ("a - b*c", "b"),
    ("w/(1 - w*x)", "w"),
    ("-(y*log(sigmoid(w*x + b)) + (1 - y)*log(1 - sigmoid(w*x + b)))", "b"),
])
def test_check_reads_back_every_printed_form_with_its_minus_signs(expr, wrt):
    """What symgrad prints (−, ·, σ, e^(…)) is read back as the same answer by check, and the
    opposite sign is not."""
    d = derive_expr(expr, [wrt])
    late = frozenset(d.graph.features)
    g = next(iter(d.gradients.values()))
    printed = {expr_text(g.named, late), expr_text(g.expanded, late)}
    assert any("−" in p for p in printed), printed
    for p in printed:
        assert check_answer(p, expr=expr, wrt=wrt).correct, p
        assert not check_answer(f"−({p})", expr=expr, wrt=wrt).correct, p


def test_worksheet_answers_print_negative_numbers_with_u2212():
    """answers.json's text: the numbers beside the text printer's forms use its minus sign
    (the tables already did)."""
    from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
    from symgrad.teaching.worksheets.kinds._common import num, num_text

    assert num_text(Fraction(-1, 4)) == "−0.25" and num(Fraction(-1, 4)) == "-0.25"
    negatives = 0
    for path in sorted(bundled_dir().glob("*.toml")):
        for seed in (1, 2):
            sheet = generate(load_spec(path), seed=seed)
            for a in (a for ex in sheet.exercises for a in ex.answers):
                assert not re.search(r"(?<![A-Za-z])-|-(?![A-Za-z])", a.text), a.text
                negatives += "−" in a.text
    assert negatives > 0


def _relu_of_zero():
    text = "sum(relu(X*w - X*w + y .* y))"
    return derive_matrix(text, parse_shapes("X: N x d, w: d, y: N"), ["w"])


def test_a_zero_vector_gradient_prints_as_zero():
    d = _relu_of_zero()
    g = d.gradients["w"]
    assert matrix_text(g.expanded) == "0"
    assert "  ∂L/∂w = 0 ∈ ℝᵈ" in matrix_render(d).splitlines()
    assert "0·1_d" not in matrix_render(d)
    out = latex.render(d)
    assert r"\frac{\partial L}{\partial w} &= \mathbf{0} \in \mathbb{R}^{d}" in out
    assert r"0 \mathbf{1}" not in out
    # the value is zero: L does not depend on w (central differences in NumPy)
    rng = np.random.default_rng(0)
    X, y, w0 = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=3)
    loss = lambda v: np.sum(np.maximum(X @ v - X @ v + y * y, 0))  # noqa: E731
    h = 1e-6
    grad = [(loss(w0 + h * e) - loss(w0 - h * e)) / (2 * h) for e in np.eye(3)]
    assert np.allclose(grad, 0)

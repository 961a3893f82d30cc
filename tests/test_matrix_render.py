"""The printed page of a matrix derivation (issue 17): text, LaTeX, Markdown, HTML and the
notebook hooks state the layout once, every intermediate and derivative with its shape in one
convention (``z = Xw ∈ ℝᴺ``, ``\\in \\mathbb{R}^{N}``), each rule, and how it was checked; the
signs a printer pulls out of products never change a value."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp
from _matrix_examples import EXAMPLES

from symgrad.core.matrix import parse_matrix, parse_shapes
from symgrad.core.matrix_check import evaluate
from symgrad.core.matrix_derive import derive_matrix
from symgrad.render import html, latex, markdown, text

ROOT = Path(__file__).resolve().parent.parent
CASES = EXAMPLES  # the examples (issue 17)


@pytest.fixture(scope="module")
def derived():
    return {name: derive_matrix(*case) for name, case in CASES.items()}


SIGNED = ["-(-y) .* p", "y - (-(2*p))", "-(X*w) .* y + (-1)*y", "(-y) ./ (1 + p)",
          "-(-(-(X*w)))", "y + (-y) .* (-p)", "X'*(-(y .* p))"]


@pytest.mark.parametrize("source", SIGNED)
def test_signs_pulled_out_keep_the_value(source: str) -> None:
    shapes = parse_shapes("X: N x d, w: d, y: N, p: N")
    m = parse_matrix(source, shapes)
    rng = random.Random(source)
    env = {"__sizes__": {sp.Symbol("N", positive=True, integer=True): 3,
                         sp.Symbol("d", positive=True, integer=True): 2}}
    sizes = {"X": (3, 2), "w": (2, 1), "y": (3, 1), "p": (3, 1)}
    env |= {n: sp.Matrix(*s, lambda i, j: sp.Rational(rng.randint(1, 9), 7)) for n, s in
            sizes.items()}
    negative, rest = text.signed(m)
    assert evaluate(rest, env) * (-1 if negative else 1) == evaluate(m, env)
    shown = text.matrix_text(m)
    assert "+ −" not in shown and "−(−" not in shown and "− −" not in shown, shown


def test_text_never_prints_a_double_sign(derived) -> None:
    out = str(derived["bce definitions"])
    assert "+ −" not in out and "−(−" not in out
    assert ("∂L/∂p = −(1/N)·1_N ⊙ y ⊙ (1 ⊘ p) + (1/N)·1_N ⊙ (1 − y) ⊙ (1 ⊘ (1 − p))" in out)
    assert out.count("layout") == 1 and "\nDenominator layout: ∂L/∂v has the shape of v.\n" in out


def test_every_format_states_every_shape_once_per_step(derived) -> None:
    d = derived["softmax ce"]
    tex, md, page = latex.render(d), markdown.render(d), html.render(d)
    rows = len(d.steps) + len(d.gradients)
    assert tex.count(r"\in \mathbb{R}") == rows and md.count(r"\in \mathbb{R}") == rows
    assert page.count("<mo>&#x02208;</mo><m") == rows  # ∈ ℝ... in MathML
    assert str(d).count(" ∈ ℝ") == rows
    assert (r"\frac{\partial L}{\partial W} &= \left(\operatorname{softmax}\left(W x + b\right)"
            r" - y\right) x^{\top} \in \mathbb{R}^{k \times d}") in tex
    for out in (tex, md):
        assert out.count("Denominator layout") == 1
        assert r"\mathbf{1}^{\top} y = 1" in out and "one-hot labels" in out
        assert "softmax Jacobian" in out and "central differences" in out
    assert page.count("Denominator layout") == 1 and "one-hot labels" in page


def test_textbook_forms_in_latex(derived) -> None:
    forms = {"mse": r"\frac{2}{N} X^{\top} \left(X w - y\right) \in \mathbb{R}^{d}",
             "bce definitions": r"\frac{1}{N} X^{\top} \left(\sigma\left(X w\right) - y\right)",
             "norm + lam": r"2 A^{\top} \left(A x - b\right) + 2\lambda x \in \mathbb{R}^{n}"}
    for name, form in forms.items():
        assert form in latex.render(derived[name]), name


def test_notebook_hooks(derived) -> None:
    d = derived["mse"]
    tex, page = d._repr_latex_(), d._repr_html_()
    assert tex.startswith("$$\\begin{aligned}") and tex.endswith("\\end{aligned}$$")
    for unsupported in ("\\intertext", "\\parbox", "\\(", "align*"):
        assert unsupported not in tex
    assert page.startswith('<div class="symgrad" style="text-align:left') and "<math" in page


@pytest.mark.parametrize("fmt", ["latex", "md", "html"])
def test_cli_prints_every_format(fmt: str, tmp_path: Path) -> None:
    expr, shapes, wrt = CASES["mse"]
    run = subprocess.run([sys.executable, "-m", "symgrad", "derive", "--expr", expr, "--shapes",
                          shapes, "--wrt", wrt, "--format", fmt, "--standalone"],
                         capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr
    head = {"latex": "\\documentclass", "md": "# Gradient of", "html": "<!DOCTYPE html>"}[fmt]
    assert run.stdout.startswith(head)
    if fmt == "latex":
        (tmp_path / "page.tex").write_text(run.stdout, encoding="utf-8")
        pdf = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                              "page.tex"], cwd=tmp_path, capture_output=True,
                             stdin=subprocess.DEVNULL, timeout=300)
        assert pdf.returncode == 0 and (tmp_path / "page.pdf").exists()


def test_a_matrix_product_inside_a_hadamard_product_needs_no_brackets():
    # printed "σ(−y ⊙ (Xw))": the textbook writes −(1/N)·Xᵀ(y ⊙ σ(−y ⊙ Xw))
    from symgrad.core.matrix_derive import derive_matrix
    from symgrad.render.text import matrix_text

    d = derive_matrix("mean(log(1 + exp(-y .* (X*w))))", "X: N x d, w: d, y: N", "w")
    assert matrix_text(d.gradients["w"].expanded) == "−(1/N)·Xᵀ(y ⊙ σ(−y ⊙ Xw))"

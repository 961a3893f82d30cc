"""Issue 17, teaching: the ``matrix`` worksheet kind (its key recomputed by autograd at random
matrices), the bundled sheet built, and matrix answers checked with named mistakes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import autograd.numpy as anp
import numpy as np
import pytest
import sympy as sp
from autograd import grad
from lxml import etree

from symgrad.core.errors import SymgradError
from symgrad.core.matrix_check import evaluate
from symgrad.core.matrix_derive import derive_matrix
from symgrad.render.text import matrix_text
from symgrad.teaching.check_matrix import check_matrix_answer
from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
from symgrad.teaching.worksheets.export import to_moodle, to_tex
from symgrad.teaching.worksheets.model import Math, Text

ROOT = Path(__file__).resolve().parents[1]
SPEC = load_spec(bundled_dir() / "matrix_calculus.toml")


def _sig(z):
    return 1 / (1 + anp.exp(-z))


def _softmax(z):
    e = anp.exp(z - anp.max(z))
    return e / anp.sum(e)


def _lam(text):
    return float(re.search(r"\(([\d.]+)\)", text).group(1))


#: The sheet's losses written independently in autograd.numpy: (marker in the expression, loss of
#: the inputs in order of declaration, the drawn λ read from the text).
LOSSES = [
    ("sum((X*w - y)^2)/", lambda t: lambda X, w, y: anp.sum((X @ w - y) ** 2) / len(y)),
    ("mean((X*w - y)^2)", lambda t: lambda X, w, y: anp.mean((X @ w - y) ** 2)),
    ("sigmoid", lambda t: lambda X, w, y: anp.mean(
        -y * anp.log(_sig(X @ w)) - (1 - y) * anp.log(1 - _sig(X @ w)))),
    ("log(1 + exp", lambda t: lambda X, w, y: anp.mean(anp.log(1 + anp.exp(-y * (X @ w))))),
    ("^2/2", lambda t: lambda A, x, b: anp.sum((A @ x - b) ** 2) / 2
     + _lam(t) * anp.sum(x ** 2) / 2),
    ("norm(A*x - b)^2 +", lambda t: lambda A, x, b: anp.sum((A @ x - b) ** 2)
     + _lam(t) * anp.sum(x ** 2)),
    ("softmax", lambda t: lambda W, x, b, y: -anp.sum(y * anp.log(_softmax(W @ x + b)))),
]


def _loss(text):
    return next(make(text) for marker, make in LOSSES if marker in text)


@pytest.fixture(scope="module")
def variants():
    return [generate(SPEC, seed) for seed in range(1, 51)]


@pytest.mark.parametrize("sizes", [(3, 2), (5, 4)])
def test_the_key_is_autograd_s_gradient_at_random_matrices(variants, sizes):
    rng = np.random.default_rng(sum(sizes))
    seen = set()
    for v in variants[:12]:
        for ex in v.exercises:
            for a in ex.answers:
                if a.id.endswith(".shape") or (a.given["expr"], a.given["wrt"]) in seen:
                    continue
                seen.add((a.given["expr"], a.given["wrt"]))
                shapes = ", ".join(f"{k}: {s.replace('×', ' x ')}"
                                   for k, s in a.given["shapes"].items())
                d = derive_matrix(a.given["expr"], shapes, wrt=a.given["wrt"])
                g = d.gradients[a.given["wrt"]]
                assert a.text == f"∂L/∂{g.wrt} = {matrix_text(g.expanded)}"
                names = sorted({s for sh in d.shapes.values() for s in sh if s.is_Symbol},
                               key=str)
                dims = {s: sizes[k % 2] for k, s in enumerate(names)}
                arrays = {}
                for k, sh in d.shapes.items():
                    r, c = (int(sp.sympify(x).subs(dims)) for x in sh)
                    arrays[k] = rng.uniform(-1, 1, (r, c) if c > 1 else (r,))
                if "softmax" in a.given["expr"]:
                    arrays["y"] = np.eye(len(arrays["y"]))[0]
                if "log(1 + exp" in a.given["expr"]:
                    arrays["y"] = np.sign(arrays["y"])
                if "sigmoid" in a.given["expr"]:
                    arrays["y"] = (arrays["y"] > 0).astype(float)
                order = list(d.shapes)
                want = grad(_loss(a.given["expr"]), order.index(g.wrt))(
                    *[arrays[k] for k in order])
                env = {"__sizes__": dims, **{k: sp.Matrix(np.atleast_2d(x).T if x.ndim == 1
                                                         else x) for k, x in arrays.items()}}
                got = np.array(evaluate(g.expanded, env, numeric=True).tolist(), dtype=float)
                np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-10,
                                           atol=1e-12)
    assert len(seen) >= 10


def test_variants_vary_and_shapes_are_typed_answers(variants):
    exprs = {ex.answers[0].given["expr"] for v in variants for ex in v.exercises}
    assert len(exprs) >= 12
    for v in variants:
        for ex in v.exercises:
            shapes = [a for a in ex.answers if a.id.endswith(".shape")]
            assert shapes and all(a.typed and a.value in a.given["accepts"] for a in shapes)
    w = [a for v in variants for ex in v.exercises for a in ex.answers if a.id == "4.W.shape"]
    assert {a.value for a in w} == {"k×d", "c×n"}


def test_a_question_does_not_give_the_answer_away(variants):
    for v in variants:
        for ex in v.exercises:
            prompt = " ".join(b.text if isinstance(b, Text) else " ".join(b.rows)
                              for b in ex.prompt if isinstance(b, Text | Math))
            assert r"\top" not in prompt and "∂L/∂" not in prompt  # the transpose is the lesson
            for a in ex.answers:
                assert a.latex.split(" = ")[-1] not in prompt
            assert "shape" in prompt


def test_moodle_asks_the_shape_as_a_typed_answer(variants):
    root = etree.fromstring(to_moodle(variants[:2], SPEC.course, SPEC.title).encode())
    texts = [q.findtext("questiontext/text") for q in root.findall("question")
             if q.get("type") == "cloze"]
    assert len(texts) == 8
    assert all(":SHORTANSWER:=" in t and ":MULTICHOICE:" not in t for t in texts)
    assert r"{1:SHORTANSWER:=k×d~=k x d~=kxd~=k\*d~=(k, d)~=k,d}" in "".join(texts) or \
        r"{1:SHORTANSWER:=c×n~=c x n~=cxn~=c\*n~=(c, n)~=c,n}" in "".join(texts)
    assert not any("decimal places" in t for t in texts)  # a shape is not a number


def test_the_solution_is_the_matrix_printer_s(variants):
    """The solution sheet prints each derivation with render/latex.py's matrix printer (a form
    per row, broken to fit the page; shapes as \\in \\mathbb{R}^{...}), no stand-in."""
    from symgrad.render.latex import matrix_render
    from symgrad.teaching.worksheets.export import RULE_WIDTH
    from symgrad.teaching.worksheets.model import Steps

    tex = to_tex(variants[0], "solutions")
    for ex in variants[0].exercises:
        (steps,) = ex.solution
        assert isinstance(steps, Steps)
        assert matrix_render(steps.derivation, rule_width=RULE_WIDTH) in tex
    assert r"\operatorname{log}" not in tex and r"\in \mathbb{R}^{" in tex


def test_the_sheet_compiles_with_pdflatex(variants, tmp_path):
    from symgrad.teaching.worksheets.export import compile_pdf

    pdf = compile_pdf(to_tex(variants[0], "solutions"), "solutions")
    (tmp_path / "s.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(tmp_path / "s.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "Substitute back" in text and "linear map" in text


def test_symgrad_worksheet_builds_the_bundled_sheet(tmp_path):
    out = subprocess.run([sys.executable, "-m", "symgrad", "worksheet", "matrix_calculus",
                          "--out", str(tmp_path), "--formats", "html,md,moodle"],
                         capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    seed = tmp_path / "matrix_calculus" / "seed-1"
    rows = json.loads((seed / "answers.json").read_text())
    assert [r["answer"]["value"] for r in rows if r["id"] == "1.w.shape"] in (["d"], ["p"],
                                                                             ["k"])
    assert "<math" in (seed / "solutions.html").read_text()


# --- answer checking -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ls():
    return derive_matrix("sum((X*w - y)^2)/N", "X: N x d, w: d, y: N", wrt="w")


@pytest.mark.parametrize("answer", ["2/N * X'*(X*w - y)", "(2/N)*(X.T*X*w - X'*y)",
                                    "2*transpose(X)*(X*w - y)/N", "2*mean(1)*X'*(X*w-y)/N"])
def test_equal_forms_are_accepted(ls, answer):
    assert check_matrix_answer(answer, ls, "w").correct


@pytest.mark.parametrize("answer, mistakes", [
    ("2/N * X*(X*w - y)", ("wrong_shape", "missing_transpose")),
    ("2 * X'*(X*w - y)", ("missing_1_over_N",)),
    ("-2/N * X'*(X*w - y)", ("sign",)),
    ("1/N * X'*(X*w - y)", ("factor_2",)),
    ("2/N * (X*w - y)", ("wrong_shape",)),
    ("2/N * X'*(X*w + y)", ()),
])
def test_mistakes_are_named(ls, answer, mistakes):
    v = check_matrix_answer(answer, ls, "w")
    assert not v.correct and v.mistakes == mistakes and v.expected == "d"
    assert "\n" not in v.message


def test_a_matrix_gradient_missing_transpose_and_softmax_answers():
    d = derive_matrix("-sum(y .* log(softmax(W*x + b)))", "W: k x d, x: d, b: k, y: k",
                      wrt="W,b")
    assert check_matrix_answer("(softmax(W*x + b) - y)*x'", d, "W").correct
    assert check_matrix_answer("softmax(W*x+b) - y", d, "b").correct
    v = check_matrix_answer("(softmax(W*x + b) - y)*x", d, "W")
    assert v.mistakes[0] == "wrong_shape"
    r = derive_matrix("norm(A*x - b)^2 + lam*norm(x)^2", "A: m x n, x: n, b: m, lam: scalar",
                      wrt="x")
    assert check_matrix_answer("2*A'*(A*x - b) + 2*lam*x", r, "x").correct
    assert check_matrix_answer("2*A'*(A*x - b) + lam*x", r, "x").mistakes == ()


@pytest.mark.parametrize("hostile", ["__import__('os').system('id')", "X.__class__",
                                     "open('/etc/passwd')", "lambda: 1", "X[0]"])
def test_hostile_text_is_refused_in_one_line(ls, hostile):
    with pytest.raises(SymgradError) as e:
        check_matrix_answer(hostile, ls, "w")
    assert "\n" not in str(e.value)

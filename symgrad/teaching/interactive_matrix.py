r"""A matrix derivation as an interactive page: step through it, type each derivative and its shape.

The page of :mod:`symgrad.teaching.interactive` (one self-contained file, the same CSP by script
hash, no network) for a :class:`~symgrad.core.matrix_steps.MatrixDerivation`: the intermediates
are revealed one at a time with their shapes, then each ∂L/∂node from the loss back; before a
derivative is revealed the student types it AND its shape, and every gradient has its own
question. The page checks offline: it embeds random input matrices (of two sets of distinct
sizes, and one set with every size equal) with the values of the intermediates, the expected
derivatives and the named mistakes there, all computed in Python through
:func:`symgrad.core.matrix_check.evaluate` and :func:`symgrad.teaching.check_matrix.wrong_answers`;
the page's whitelist parser reads the matrix language (``*``, ``.*``, ``./``, ``.^``, ``'``,
``.T``, sum, mean, norm, dot, trace, softmax and the registry's elementwise functions) and a small
matrix evaluator compares the student's answer with them: a wrong shape is named first, then a
missing transpose, a sign, a factor 2, a missing 1/N.

>>> from symgrad.core.matrix_derive import derive_matrix
>>> d = derive_matrix("sum((X*w - y)^2)/N", "X: N x d, w: d, y: N", wrt="w")
>>> html = render(d)
>>> "connect-src 'none'" in html, html.count('class="step"'), 'data-q="grad-w"' in html
(True, 4, True)
>>> "eval(" in html or "new Function" in html
False
"""

from __future__ import annotations

import hashlib
import html as htmlmod
from typing import Any

import sympy as sp

from symgrad.core.matrix import ELEMENTWISE, SPECIAL, M, Shape, shape_text
from symgrad.core.matrix_check import ADJOINT, evaluate
from symgrad.core.matrix_steps import MatrixDerivation
from symgrad.core.parse import MAX_LENGTH
from symgrad.core.steps import Kind
from symgrad.render.html import mathml, prose
from symgrad.render.latex import (
    expr_latex,
    matrix_latex,
    matrix_prose,
    matrix_steps,
    shape_latex,
    unstack,
)
from symgrad.teaching.check_matrix import (
    mistake_text,
    points,
    shape_words,
    without_transposes,
    wrong_answers,
)
from symgrad.teaching.interactive import Page, check_reveal, page, page_heading

__all__ = ["HINT", "practice", "render", "worksheet_question"]

Env = dict[str, Any]
#: How to type a matrix answer (the page and the worksheets' pages say it).
HINT = ("Write <code>*</code> for a matrix product (or a scaling), <code>.*</code> "
        "<code>./</code> <code>.^</code> elementwise, <code>X'</code> or <code>X.T</code> for a "
        "transpose; <code>sum</code>, <code>mean</code>, <code>norm</code>, <code>dot</code>, "
        "<code>trace</code>, <code>softmax</code> and the elementwise functions (<code>exp</code>, "
        "<code>log</code>, <code>sigmoid</code>, ...). Answers are checked in this page at random "
        "matrices.")


def _values(m: sp.Matrix) -> list[list[float]]:
    return [[float(m[i, j]) for j in range(m.shape[1])] for i in range(m.shape[0])]


def _env(d: MatrixDerivation, env: Env) -> Env:
    """``env`` (the inputs) with every intermediate and every adjoint ∂L/∂v (from the steps, from
    the loss back: each step's form refers only to adjoints already known)."""
    for node in d.nodes:
        env[node.name] = evaluate(node.expr, env, numeric=True)
    for s in d.steps:
        if s.kind is not Kind.DEFINITION:
            env[ADJOINT + s.lhs.name] = evaluate(s.result, env, numeric=True)
    return env


def _value(m: M, env: Env) -> list[list[float]] | None:
    try:
        return _values(evaluate(m, env, numeric=True))
    except (ArithmeticError, TypeError, ValueError):
        return None


def _point(d: MatrixDerivation, env: Env) -> dict[str, Any]:
    sizes = {str(k): int(v) for k, v in env["__sizes__"].items()}
    names = [*d.shapes, *(n.name for n in d.nodes)]
    return {"sizes": sizes, "values": {n: _values(env[n]) for n in names}}


def _question(qid: str, lhs: str, correct: M, shape: Shape, d: MatrixDerivation,
              at: list[Env], square: Env) -> dict[str, Any]:
    """One derivative to type: its shape (and the spellings accepted), its values at the page's
    points, the named mistakes' values there, and the values without each transpose at the
    square point."""
    text = shape_text(shape)
    return {
        "id": qid, "lhs": lhs, "shape": text, "accepts": list(shape_words(text)),
        "expected": [_value(correct, env) for env in at],
        "mistakes": [{"name": name, "message": mistake_text(name),
                      "values": [[_value(f, env) for env in at] for f in forms]}
                     for name, forms in wrong_answers(correct, d.shapes).items()],
        "transposes": [_value(f, square) for f in without_transposes(correct)],
        "square": _value(correct, square),
    }


def _names(d: MatrixDerivation) -> dict[str, str]:
    """Typed name -> the page's name: the inputs and the intermediates (``lam`` for λ)."""
    out = {n: n for n in [*d.shapes, *(n.name for n in d.nodes)]}
    if "lambda" in out:
        out["lam"] = "lambda"
    return out


def _shapes(d: MatrixDerivation) -> dict[str, list[str]]:
    """Every name's shape as [rows, columns] (size names or numbers), for the page's parser."""
    shapes = {**d.shapes, **{n.name: n.shape for n in d.nodes}}
    return {n: [str(r), str(c)] for n, (r, c) in shapes.items()}


def _try(prefix: str, label: str, shape: bool = True) -> str:
    """A derivative box and (with ``shape``) a shape box, a Check button and the verdict."""
    return (f'<label for="{prefix}-in">{label} =</label> '
            f'<input id="{prefix}-in" class="answer" autocomplete="off" spellcheck="false"> '
            + (f'<label for="{prefix}-shape">shape:</label> <input id="{prefix}-shape" '
               'class="shape" autocomplete="off" spellcheck="false" '
               'placeholder="e.g. d or N x d"> ' if shape else "")
            + '<button type="button" class="check">Check</button>'
            f'<p class="verdict" id="{prefix}-verdict" role="status" aria-live="polite"></p>')


def _context(d: MatrixDerivation) -> tuple[dict[str, Any], list[Env], Env]:
    """What the page's checker reads for ``d`` (names, shapes, sizes, functions, the points),
    with the points' values: two sets of distinct sizes, one with every size equal."""
    at = [_env(d, env) for env in list(points(d, d.shapes, square=False))[:2]]
    square = _env(d, next(points(d, d.shapes, square=True)))
    shapes = _shapes(d)
    return {
        "names": _names(d), "shapes": shapes,
        "sizes": sorted({s for v in shapes.values() for s in v if not s.isdigit()}),
        "functions": list(ELEMENTWISE), "special": list(SPECIAL),
        "points": [_point(d, env) for env in at], "square": _point(d, square),
    }, at, square


def worksheet_question(d: MatrixDerivation, wrt: str, qid: str, label: str
                       ) -> tuple[dict[str, Any], str]:
    """A worksheet's formula answer ∂L/∂``wrt`` as a question of the worksheet's page (its own
    context: a worksheet has several derivations) and its box, without a shape box (the
    worksheet asks the shape apart); the page needs ``interactive_matrix.js``.

    >>> from symgrad.core.matrix_derive import derive_matrix
    >>> d = derive_matrix("norm(A*x - b)^2", "A: m x n, x: n, b: m", wrt="x")
    >>> q, box = worksheet_question(d, "x", "q-1.x", "dL/dx")
    >>> q["matrix"], q["shape"], 'class="shape"' in box
    (True, 'n', False)
    """
    context, at, square = _context(d)
    g = d.gradients[wrt]
    q = _question(qid, f"∂{d.loss}/∂{wrt}", g.expanded, g.shape, d, at, square)
    return ({**q, "matrix": True, "context": context},
            f'<div class="question" data-q="{qid}">{_try(qid, label, shape=False)}</div>')


def _steps_html(d: MatrixDerivation, at: list[Env], square: Env,
                questions: list[dict[str, Any]]) -> str:
    items, last = [], ""
    for k, ((heading, rows), step) in enumerate(zip(_rows(d), d.steps, strict=True)):
        lhs, forms, rule = rows
        section = "" if heading == last else f'<span class="section">{prose(heading)}:</span>'
        last = heading
        qid = ""
        if step.kind is not Kind.DEFINITION:
            qid = f"step-{k}"
            questions.append(_question(qid, str(step.lhs), step.result, step.shape, d, at,
                                       square))
        eq = mathml(lhs + " " + " ".join(unstack(r) for r in forms))
        items.append(
            f'<li class="step" id="s{k}" data-q="{qid}" data-lhs="{htmlmod.escape(str(step.lhs))}"'
            f'>{section}<span class="eq">{eq}'
            f'</span> <span class="rule">{htmlmod.escape(rule)}</span>'
            f'<template class="lhs">{mathml(lhs)}</template></li>')
    return (
        '<section aria-labelledby="h-steps"><h2 id="h-steps">The derivation, step by step</h2>\n'
        '<div class="try question" id="step-try" data-step="" hidden>'
        + _try("step", 'Before the next step, your answer for <span id="step-lhs"></span>')
        + '</div>\n<div class="controls" role="group" aria-label="Steps">'
        '<button type="button" id="step-prev">Previous</button> '
        '<button type="button" id="step-next">Next step</button> '
        '<button type="button" id="step-all">Reveal all</button> '
        '<span id="step-status" role="status" aria-live="polite"></span></div>\n'
        '<ol class="steps" id="steps">\n' + "\n".join(items) + "\n</ol></section>")


def _rows(d: MatrixDerivation):
    """``(heading, (lhs, rows, rule))`` per step, from the printer's :func:`matrix_steps` (its
    last section, the results, is the practice's)."""
    out = []
    for heading, steps in list(matrix_steps(d))[:-1]:
        out += [(heading, step) for step in steps]
    return out


def _gradients_html(d: MatrixDerivation, at: list[Env], square: Env,
                    questions: list[dict[str, Any]], reveal: str) -> str:
    items = []
    loss = expr_latex(sp.Symbol(d.loss))
    for name, g in d.gradients.items():
        qid = f"grad-{name}"
        questions.append({**_question(qid, f"∂{d.loss}/∂{name}", g.expanded, g.shape, d, at,
                                      square), "reveal": reveal})
        lhs = rf"\frac{{\partial {loss}}}{{\partial {expr_latex(sp.Symbol(name))}}}"
        solution = f"{lhs} = {matrix_latex(g.expanded)} \\in {shape_latex(g.shape)}"
        items.append(f'<div class="question" data-q="{qid}">' + _try(qid, mathml(lhs))
                     + f'<div class="solution" hidden><p>Solution: {mathml(solution)}</p></div>'
                     "</div>")
    return (
        '<section aria-labelledby="h-practice"><h2 id="h-practice">Practice: the gradients'
        f"</h2><p class=\"hint\">{HINT} The shape as <code>d</code>, <code>N x d</code> or "
        "<code>(N, d)</code>, <code>scalar</code> for a number.</p>\n"
        + "\n".join(items) + "</section>")


def render(d: MatrixDerivation, *, title: str | None = None, reveal: str = "after_attempt"
           ) -> str:
    """The interactive page of the matrix derivation ``d`` (a whole HTML document); ``reveal``
    says when a gradient's solution shows, as :func:`symgrad.teaching.interactive.render`."""
    check_reveal(reveal)
    context, at, square = _context(d)
    questions: list[dict[str, Any]] = []
    steps = _steps_html(d, at, square, questions)
    grads = _gradients_html(d, at, square, questions, reveal)
    inputs = ", ".join(f"{n} \\in {shape_latex(s)}" for n, s in d.shapes.items())
    intro = ("".join(f"<p>{prose(line)}</p>\n" for line in matrix_prose(d))
             + f"<p>The inputs: {mathml(inputs)}.</p>\n"
             '<p class="hint">Keyboard: Tab to a control, Enter to press it. Progress is kept in '
             'this browser. <button type="button" id="reset">Reset progress</button></p>')
    data = {
        "key": "symgrad:" + hashlib.sha256(steps.encode()).hexdigest()[:16],
        **context, "questions": questions, "max_length": MAX_LENGTH,
    }
    title, typed = page_heading(d, title, "Matrix derivation")
    return page(intro + "\n" + steps + "\n" + grads, title, data,
                scripts=("interactive_matrix.js",), typed=typed)


def practice(d: MatrixDerivation, **options: Any) -> Page:
    """:func:`render` as a :class:`~symgrad.teaching.interactive.Page`, for Jupyter
    (``d.practice()``).

    >>> from symgrad.core.matrix_derive import derive_matrix
    >>> p = practice(derive_matrix("norm(A*x - b)^2", "A: m x n, x: n, b: m", wrt="x"))
    >>> p._repr_html_().startswith("<iframe")
    True
    """
    return Page(render(d, **options))

r"""Markdown with ``$$`` math (GitHub, Jupyter, pandoc, MkDocs with MathJax or KaTeX).

Each section of a derivation is a bold heading followed by one ``aligned`` display block, a row per
step with its rule in ``\text{}``; ``\intertext`` (which Markdown math engines lack) is never used.

>>> from symgrad.core.derive import derive
>>> md = render(derive("mse", "linear"))
>>> print(md.splitlines()[0])
**Define the intermediates**
>>> "$$\n\\begin{aligned}" in md and "\\hat{y}_{i}" in md
True
"""

from __future__ import annotations

import re

from symgrad.core.steps import Derivation
from symgrad.render import checks_text, sections
from symgrad.render.latex import expr_latex, math_rows, matrix_prose, matrix_steps, step_latex


def display(latex: str) -> str:
    r"""A display formula as a ``$$`` block on lines of its own.

    >>> print(display(r"\frac{1}{N}"))
    $$
    \frac{1}{N}
    $$
    """
    return f"$$\n{latex}\n$$"


def inline(text: str) -> str:
    r"""Prose with ``\( ... \)`` math (symgrad's markup for inline math) in Markdown's ``$...$``.

    >>> inline(r"the slope \(\frac{\partial L}{\partial w}\) at w = 1")
    'the slope $\\frac{\\partial L}{\\partial w}$ at w = 1'
    """
    return re.sub(r"\\\((.+?)\\\)", lambda m: f"${m.group(1).strip()}$", text, flags=re.S)


def render(d: Derivation) -> str:
    """The derivation as Markdown: a heading and an ``aligned`` block per section, the result (a
    matrix derivation: the layout and assumptions first, each row with its shape)."""
    if not isinstance(d, Derivation):
        return matrix_render(d)
    late = frozenset(d.graph.features)
    parts = []
    for heading, steps in sections(d.steps):
        body = " \\\\\n".join(step_latex(step, late) for step in steps)
        block = display("\\begin{aligned}\n" + body + "\n\\end{aligned}")
        parts.append(f"**{heading}**\n\n" + block)
    result = expr_latex(d.graph.result_symbol)
    lines = [
        rf"\frac{{\partial {result}}}{{\partial {expr_latex(g.wrt)}}} = {expr_latex(g.named, late)}"
        for g in d.gradients.values()
    ]
    parts.append(f"**Result** ({checks_text(d)})\n\n"
                 + display(" \\\\\n".join(lines) if len(lines) == 1 else
                           "\\begin{gathered}\n" + " \\\\\n".join(lines) + "\n\\end{gathered}"))
    return "\n\n".join(parts) + "\n"


def matrix_render(d) -> str:
    r"""A matrix derivation as Markdown: the layout and assumptions as prose, then a bold heading
    and an ``aligned`` block per section (:func:`symgrad.render.latex.matrix_steps`).

    >>> from symgrad.core.matrix_derive import derive_matrix
    >>> md = matrix_render(derive_matrix("sum((X*w - y)^2)/N", "X: N x d, w: d, y: N", "w"))
    >>> md.splitlines()[0]
    'Denominator layout: $\\partial L/\\partial v$ has the shape of $v$.'
    >>> "X^{\\top} \\left(X w - y\\right) \\in \\mathbb{R}^{d}" in md
    True
    """
    parts = [inline(line) for line in matrix_prose(d)]
    for heading, steps in matrix_steps(d):
        body = " \\\\\n".join(math_rows(steps))
        parts.append(f"**{heading}**\n\n" + display("\\begin{aligned}\n" + body
                                                    + "\n\\end{aligned}"))
    return "\n\n".join(parts) + "\n"


def document(body: str, title: str = "", typed: str = "") -> str:
    """A Markdown document: an optional ``#`` title over ``body``, the user's ``typed`` text after
    it as code (``a*b*c`` is not emphasis)."""
    tail = f" `{typed}`" if typed and "`" not in typed else (f" {typed}" if typed else "")
    head = f"# {title}{tail}\n\n" if title else ""
    return head + body.rstrip("\n") + "\n"

r"""Self-contained HTML whose math renders offline, as MathML (converted with latex2mathml).

No script, font or network access is needed: browsers render MathML Core natively. An ``align*``
derivation becomes a table, a row per step (left-hand side, ``=`` and the forms, the rule as plain
text), since MathML converters have no ``align``; every formula is checked to have converted
completely (no LaTeX command left over).

>>> m = mathml(r"\frac{\partial L}{\partial w}")
>>> m.startswith("<math") and "<mfrac>" in m
True
>>> from symgrad.core.derive import derive
>>> page = document(render(derive("bce", "logistic")), "BCE")
>>> "\\frac" in page, page.count("<math") > 10
(False, True)
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

from latex2mathml.converter import convert

from symgrad.core.notebook import block
from symgrad.core.steps import Derivation
from symgrad.render import checks_text, rule_text, sections
from symgrad.render.latex import (
    equals_rows,
    expr_latex,
    form_rows,
    len_em,
    matrix_latex,
    matrix_prose,
    matrix_steps,
    unstack,
)

_MATH = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)

CSS = """
body { font-family: "Latin Modern Roman", "Times New Roman", serif; max-width: 52em;
       margin: 2em auto; padding: 0 1em; line-height: 1.45; color: #111; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin-top: 1.6em; }
h3 { font-size: 1.05em; } .meta { color: #555; } .points { float: right; font-weight: normal; }
table { border-collapse: collapse; margin: 0.6em 0; }
table.derivation td { padding: 0.25em 0.5em; vertical-align: middle; }
table.derivation td.lhs { text-align: right; } table.derivation td.rule { color: #555;
       font-style: italic; font-size: 0.9em; width: 11em; vertical-align: top; }
table.derivation tr.section td { font-weight: bold; padding-top: 0.8em; }
table.grid td, table.grid th { border: 1px solid #888; padding: 0.3em 0.8em; min-width: 4em;
       height: 1.6em; text-align: center; }
.space { border: 1px dashed #bbb; margin: 0.5em 0; }
.display { display: block; margin: 0.5em 0; }
mtd[columnalign="left"] { text-align: left; }
@media print { .space { border: none; } }
"""


class MathConversionError(ValueError):
    """A formula did not convert completely to MathML: a renderer emitted something unsupported."""


def mathml(latex: str, display: bool = False) -> str:
    r"""One formula as ``<math>``; :class:`MathConversionError` if it did not convert fully.

    >>> mathml(r"\hat{y}_{i}").count("<mover")
    1
    >>> try:
    ...     mathml(r"\intertext{x}")
    ... except MathConversionError as e:
    ...     print(e)
    LaTeX left over in MathML for '\\intertext{x}': \intertext
    """
    out = convert(latex, display="block" if display else "inline")
    try:
        root = ET.fromstring(out)
    except ET.ParseError as err:
        raise MathConversionError(f"MathML for {latex!r} is not well-formed: {err}") from None
    for el in root.iter():
        if el.text and "\\" in el.text:
            raise MathConversionError(f"LaTeX left over in MathML for {latex!r}: {el.text}")
        if el.tag.endswith("}mi") and el.text == "&":
            raise MathConversionError(f"alignment '&' in {latex!r}: convert row by row")
    return _spaced_operators(_snug_fences(out))


#: A function name written upright after a letter, a number or a bracket: TeX puts a thin space
#: before it (``y_i \log(p)``); latex2mathml's ``<mi>log</mi>`` sits flush (``yᵢlog(p)``).
_NAMED_AFTER_ORD = re.compile(
    r"(</mi>|</mn>|</msub>|</msup>|</msubsup>|</mover>|</mrow>)"
    r"(<mi>(?:log|ln|exp|sin|cos|tan|sinh|cosh|tanh|max|min)</mi>)"
)


def _spaced_operators(out: str) -> str:
    r"""A thin space before an operator name that follows an ordinary symbol, as TeX sets it.

    >>> _spaced_operators(mathml(r"y_{i} \log{\left(p\right)}")).count("<mspace")
    1
    >>> _spaced_operators(mathml(r"- \log{\left(p\right)}")).count("<mspace")
    0
    """
    return _NAMED_AFTER_ORD.sub(r'\1<mspace width="0.1667em"></mspace>\2', out)


_FENCE = re.compile(r'<mo stretchy="true" fence="true" form="(prefix|postfix)">')
#: What makes brackets grow: a fraction, a sum with limits, a matrix.
_TALL = ("<mfrac", "<munderover", "<mtable")


def _snug_fences(out: str) -> str:
    r"""Brackets around a single line of math do not stretch: Chromium sets a stretchy bracket
    apart from its contents (``σ ( z )``), a plain one sits as in print (``σ(z)``).

    >>> _snug_fences(mathml(r"\sigma\left(z\right)")).count('stretchy="false"')
    2
    >>> _snug_fences(mathml(r"\left(\frac{1}{N}\right)")).count('stretchy="true"')
    2
    """
    pairs, stack = [], []
    for m in _FENCE.finditer(out):
        if m.group(1) == "prefix":
            stack.append(m)
        elif stack:
            pairs.append((stack.pop(), m))
    snug = sorted(
        (m.start() for a, b in pairs if not any(t in out[a.end():b.start()] for t in _TALL)
         for m in (a, b)), reverse=True)
    for start in snug:
        out = out[:start] + out[start:].replace('stretchy="true"', 'stretchy="false"', 1)
    return out


def prose(text: str) -> str:
    r"""Escape prose for HTML and turn its ``\( \)`` and ``\[ \]`` math into MathML.

    >>> prose(r"if \(z < 0\) & more")[:12], "&amp; more" in prose(r"if \(z < 0\) & more")
    ('if <math xml', True)
    """
    out, pos = [], 0
    for m in _MATH.finditer(text):
        out.append(html.escape(text[pos:m.start()], quote=False))
        if m.group(1) is not None:
            out.append(mathml(m.group(1).strip()))
        else:
            out.append(f'<span class="display">{mathml(m.group(2).strip(), True)}</span>')
        pos = m.end()
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out)


#: Width of :func:`document`'s text column in em (the body's ``max-width``).
COLUMN = 52.0

#: Width of the rule column in em (``td.rule`` in :data:`CSS`); long rules wrap.
RULE = 11.0


def render(d: Derivation, width: float = COLUMN) -> str:
    r"""The derivation as an HTML table: section rows, then ``lhs | = forms | rule`` per step.

    As in the LaTeX printer, each right-hand side has its own row and a form too wide for the
    column (``width`` em, less the widest left-hand side and the rule) breaks into rows
    (:func:`symgrad.render.latex.form_rows`), each its own ``<math>``; the results likewise.
    A matrix derivation: :func:`matrix_render`.
    """
    if not isinstance(d, Derivation):
        return matrix_render(d, width)
    late = frozenset(d.graph.features)
    lhs = max((len_em(expr_latex(s.lhs, late)) for s in d.steps), default=0.0)
    budget = width - lhs - RULE - 4.0
    rows: list[str] = []
    for heading, steps in sections(d.steps):
        rows.append(f'<tr class="section"><td colspan="3">{heading}</td></tr>')
        for step in steps:
            rule = f'<td class="rule">{html.escape(rule_text(step))}</td>'
            rows += _rows(expr_latex(step.lhs, late), form_rows(step, late, budget), rule)
    result = expr_latex(d.graph.result_symbol)
    results: list[str] = []
    for g in d.gradients.values():
        lhs_g = rf"\frac{{\partial {result}}}{{\partial {expr_latex(g.wrt)}}}"
        results += _rows(lhs_g, equals_rows(expr_latex(g.named, late), width - RULE), "")
    return ('<table class="derivation">\n' + "\n".join(rows) + "\n</table>\n"
            f"<p>Result ({html.escape(checks_text(d))}):</p>\n"
            '<table class="derivation results">\n' + "\n".join(results) + "\n</table>")


def matrix_render(d, width: float = COLUMN) -> str:
    r"""A matrix derivation as HTML: the layout and assumptions as paragraphs, then the table of
    :func:`render` with each step's shape (``z = Xw ∈ ℝ^N`` as MathML) and rules, the results
    last (:func:`symgrad.render.latex.matrix_steps`).

    >>> from symgrad.core.matrix_derive import derive_matrix
    >>> out = matrix_render(derive_matrix("sum((X*w - y)^2)/N", "X: N x d, w: d, y: N", "w"))
    >>> out.startswith("<p>Denominator layout: <math"), "\\frac" in out
    (True, False)
    """
    lhs = max(len_em(matrix_latex(s.lhs)) for s in d.steps)
    rows: list[str] = []
    for heading, steps in matrix_steps(d, width - max(lhs, 3.0) - RULE - 4.0):
        rows.append(f'<tr class="section"><td colspan="3">{prose(heading)}</td></tr>')
        for lhs_, forms, rule in steps:
            rows += _rows(lhs_, forms, f'<td class="rule">{html.escape(rule)}</td>' if rule
                          else "")
    return ("".join(f"<p>{prose(line)}</p>\n" for line in matrix_prose(d))
            + '<table class="derivation">\n' + "\n".join(rows) + "\n</table>")


def _rows(lhs: str, rhs: list[str], rule: str) -> list[str]:
    """``lhs | first row | rule``, then ``| row |`` for the rest (the rule cell spans them)."""
    if rule and len(rhs) > 1:
        rule = rule.replace("<td ", f'<td rowspan="{len(rhs)}" ', 1)
    first, *rest = (f"<td>{mathml(unstack(r))}</td>" for r in rhs)
    return ([f'<tr><td class="lhs">{mathml(lhs)}</td>{first}{rule}</tr>']
            + [f"<tr><td></td>{r}</tr>" for r in rest])


def notebook(d: Derivation) -> str:
    """The derivation for Jupyter: its title, then the table, left-aligned at body-text size with
    fractions in display style (inline styles: a notebook's own CSS centres tables and
    right-aligns cells).

    >>> from symgrad.core.derive import derive
    >>> out = notebook(derive("mse", "linear"))
    >>> out.startswith('<div class="symgrad" style="text-align:left') and "<strong>Gradient" in out
    True
    """
    body = (render(d).replace('<table class="derivation">',
                              '<table class="derivation" style="margin-left:0;font-size:1em">')
            .replace("<td", '<td style="text-align:left;padding:0.2em 0.6em"')
            .replace("<math ", '<math displaystyle="true" '))
    return block(d.title, body)


def document(body: str, title: str = "", typed: str = "") -> str:
    """A standalone HTML page (inline CSS, no scripts, no external resources) around ``body``;
    the user's ``typed`` text after the title as code."""
    code = f" <code>{html.escape(typed)}</code>" if typed else ""
    head = f"<h1>{html.escape(title)}{code}</h1>\n" if title else ""
    plain = f"{title} {typed}".strip()
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(plain or 'symgrad')}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n{head}{body}\n</body>\n</html>\n"
    )

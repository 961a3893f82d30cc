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

from symgrad.core.steps import Derivation
from symgrad.render import checks_text, rule_text, sections
from symgrad.render.latex import expr_latex

_MATH = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)

CSS = """
body { font-family: "Latin Modern Roman", "Times New Roman", serif; max-width: 52em;
       margin: 2em auto; padding: 0 1em; line-height: 1.45; color: #111; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin-top: 1.6em; }
h3 { font-size: 1.05em; } .meta { color: #555; } .points { float: right; font-weight: normal; }
table { border-collapse: collapse; margin: 0.6em 0; }
table.derivation td { padding: 0.25em 0.5em; vertical-align: middle; }
table.derivation td.lhs { text-align: right; } table.derivation td.rule { color: #555;
       font-style: italic; font-size: 0.9em; }
table.derivation tr.section td { font-weight: bold; padding-top: 0.8em; }
table.grid td, table.grid th { border: 1px solid #888; padding: 0.3em 0.8em; min-width: 4em;
       height: 1.6em; text-align: center; }
.space { border: 1px dashed #bbb; margin: 0.5em 0; }
.display { display: block; margin: 0.5em 0; }
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


def render(d: Derivation) -> str:
    """The derivation as an HTML table: section rows, then ``lhs | = forms | rule`` per step."""
    late = frozenset(d.graph.features)
    rows: list[str] = []
    for heading, steps in sections(d.steps):
        rows.append(f'<tr class="section"><td colspan="3">{heading}</td></tr>')
        for step in steps:
            rhs = " = ".join(expr_latex(f, late) for f in step.forms)
            rows.append(
                f'<tr><td class="lhs">{mathml(expr_latex(step.lhs, late))}</td>'
                f"<td>{mathml('= ' + rhs)}</td>"
                f'<td class="rule">{html.escape(rule_text(step))}</td></tr>'
            )
    result = expr_latex(d.graph.result_symbol)
    results = "".join(
        "<li>" + mathml(rf"\frac{{\partial {result}}}{{\partial {expr_latex(g.wrt)}}} = "
                        + expr_latex(g.named, late)) + "</li>"
        for g in d.gradients.values()
    )
    return ('<table class="derivation">\n' + "\n".join(rows) + "\n</table>\n"
            f"<p>Result ({html.escape(checks_text(d))}):</p><ul>{results}</ul>")


def notebook(d: Derivation) -> str:
    """The derivation for Jupyter: its title, then the table, left-aligned at body-text size with
    fractions in display style (inline styles: a notebook's own CSS centres tables and
    right-aligns cells).

    >>> from symgrad.core.derive import derive
    >>> out = notebook(derive("mse", "linear"))
    >>> out.startswith('<div style="text-align:left') and "<strong>Gradient of the" in out
    True
    """
    body = (render(d).replace('<table class="derivation">',
                              '<table class="derivation" style="margin-left:0;font-size:1em">')
            .replace("<td", '<td style="text-align:left;padding:0.2em 0.6em"')
            .replace("<math ", '<math displaystyle="true" '))
    title = f"<p><strong>{html.escape(d.title)}</strong></p>" if d.title else ""
    return f'<div style="text-align:left;font-size:1em">{title}{body}</div>'


def document(body: str, title: str = "") -> str:
    """A standalone HTML page (inline CSS, no scripts, no external resources) around ``body``."""
    head = f"<h1>{html.escape(title)}</h1>\n" if title else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title or 'symgrad')}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n{head}{body}\n</body>\n</html>\n"
    )

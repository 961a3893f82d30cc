r"""LaTeX: an ``align*`` block with each step's rule in ``\text{}``, or a standalone document.

>>> import sympy as sp
>>> x, y, yhat, N = sp.symbols("x_i y_i yhat_i N", real=True)
>>> expr_latex((yhat - y) * x, late={x})
'\\left(\\hat{y}_{i} - y_{i}\\right) x_{i}'
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter

from symgrad.core.functions import Function, by_class
from symgrad.core.steps import Derivation, Partial, Step
from symgrad.models.network_names import Elementwise, Hadamard, Mat, MatMul, Unit
from symgrad.render import rule_text, sections
from symgrad.render._display import arrange


class _Printer(LatexPrinter):
    def __init__(self, late: frozenset) -> None:
        super().__init__({"order": "none"})
        self.late = late

    def doprint(self, expr):  # noqa: D102 - SymPy API
        return super().doprint(arrange(sp.sympify(expr), self.late))

    def _print_Mul(self, expr):
        if len(expr.args) == 2 and expr.args[0] == -1 and isinstance(expr.args[1], sp.Add):
            return rf"-\left[{self._print(expr.args[1])}\right]"
        sums = [f for f in expr.args if isinstance(f, sp.Sum)]
        if sums:  # \frac{2}{N} \sum_i ..., as a lecturer writes the mean
            rest = sp.Mul(*[f for f in expr.args if f not in sums])
            coeff = "-" if rest == -1 else self._print(rest)
            return coeff + " " + " ".join(self._print(s) for s in sums)
        return super()._print_Mul(expr)

    def _print_Partial(self, expr: Partial) -> str:
        if len(expr.wrts) == 1:
            return rf"\frac{{\partial {self._print(expr.of)}}}{{\partial {self._print(expr.wrt)}}}"
        a, b = (self._print(v) for v in expr.wrts)  # d/db (dF/da) = d^2F/(db da)
        below = rf"\partial {a}^{{2}}" if a == b else rf"\partial {b} \, \partial {a}"
        return rf"\frac{{\partial^{{2}} {self._print(expr.of)}}}{{{below}}}"

    def _print_Mat(self, expr: Mat) -> str:  # \mathrm{d}Z^{[2]}, A^{[1],\top}
        d, base, layer, t, sub = expr.parts()
        d = r"\mathrm{d}" if d else ""
        sup = ",".join(filter(None, [f"[{layer}]" if layer else "", r"\top" if t else ""]))
        return d + base + (f"^{{{sup}}}" if sup else "") + (f"_{{{sub}}}" if sub else "")

    def _print_Unit(self, expr: Unit) -> str:  # w^{[1]}_{21}
        base, layer, idx = expr.parts()
        sep = "," if any(len(s) > 1 for s in idx) else ""
        return f"{base}^{{[{layer}]}}_{{{sep.join(idx)}}}"

    def _matrix_factor(self, e: sp.Expr) -> str:
        s = self._print(e)
        if isinstance(e, sp.Add | Hadamard) or (
            isinstance(e, sp.Mul) and e.could_extract_minus_sign()
        ):
            return rf"\left({s}\right)"
        return s

    def _print_MatMul(self, expr: MatMul) -> str:
        return " ".join(self._matrix_factor(f) for f in expr.args)

    def _print_Hadamard(self, expr: Hadamard) -> str:
        return r" \odot ".join(self._matrix_factor(f) for f in expr.args)

    def _print_Elementwise(self, expr: Elementwise) -> str:  # g_{1}'(Z^{[1]})
        return rf"g_{{{expr.args[1]}}}'\left({self._print(expr.args[0])}\right)"

    def _print_Derivative(self, expr):
        return (
            rf"\frac{{\partial}}{{\partial {self._print(expr.variables[0])}}}"
            rf"\left({self._print(expr.expr)}\right)"
        )


def _function_printer(record: Function):
    r"""``_print_<Class>`` for a registry function: its LaTeX name applied
    (``\operatorname{ReLU}\left(z\right)``), parameters as a subscript, raised to ``exp`` when
    SymPy's printer asks for a power."""

    def print_function(self, expr, exp=None):
        params = ", ".join(self._print(a) for a in record.shown_parameters(expr.args))
        head = rf"{record.latex}_{{{params}}}" if params else record.latex
        body = rf"{head}\left({self._print(expr.args[0])}\right)"
        return body if exp is None else rf"{body}^{{{exp}}}"

    return print_function


for _cls, _record in by_class().items():
    if _record.custom and _record.latex is not None:
        setattr(_Printer, f"_print_{_cls.__name__}", _function_printer(_record))


def expr_latex(expr: sp.Expr, late: frozenset | set = frozenset()) -> str:
    """One expression as LaTeX in lecture order (``late`` symbols go last in products)."""
    return _Printer(frozenset(late)).doprint(expr)


def step_latex(step: Step, late: frozenset = frozenset()) -> str:
    r"""``lhs &= form = form && \text{rule}``."""
    rhs = " = ".join(expr_latex(f, late) for f in step.forms)
    return rf"{expr_latex(step.lhs, late)} &= {rhs} && \text{{{rule_text(step)}}}"


def step_rows(
    step: Step, late: frozenset = frozenset(), rule_width: str | None = None
) -> list[str]:
    r"""A step as ``align*`` rows: ``lhs &= form && \text{rule}``, then one ``&= form`` per row.

    With ``rule_width`` (e.g. ``"5cm"``, for documents) the rule wraps in a ``\parbox`` of that
    width inside the ``\text{}``.
    """
    forms = [expr_latex(f, late) for f in step.forms]
    rule = rule_text(step)
    if rule_width is not None:
        rule = rf"\parbox[t]{{{rule_width}}}{{\raggedright\footnotesize {rule}}}"
    rows = [rf"{expr_latex(step.lhs, late)} &= {forms[0]} && \text{{{rule}}}"]
    return rows + [rf"&= {f}" for f in forms[1:]]


def render(d: Derivation, rule_width: str | None = None) -> str:
    r"""The derivation as one ``align*`` block, sections as ``\intertext``.

    A step with several right-hand sides puts each on its own row, so long chains fit the page.
    """
    late = frozenset(d.graph.features)
    rows: list[str] = []
    for heading, steps in sections(d.steps):
        rows.append(rf"\intertext{{{heading}}}")
        rows += [row + r" \\" for step in steps for row in step_rows(step, late, rule_width)]
    rows[-1] = rows[-1].removesuffix(r" \\")
    return "\\begin{align*}\n" + "\n".join(rows) + "\n\\end{align*}"


def document(body: str, title: str = "") -> str:
    """A standalone document around a LaTeX body, compilable with pdflatex."""
    head = rf"\section*{{{title}}}" + "\n" if title else ""
    return (
        "\\documentclass[11pt]{article}\n\\usepackage[margin=2cm]{geometry}\n"
        "\\usepackage{amsmath,amssymb}\n\\allowdisplaybreaks\n\\begin{document}\n"
        f"{head}{body}\n\\end{{document}}\n"
    )

r"""LaTeX: an ``align*`` block with each step's rule in ``\text{}``, or a standalone document.

>>> import sympy as sp
>>> x, y, yhat, N = sp.symbols("x_i y_i yhat_i N", real=True)
>>> expr_latex((yhat - y) * x, late={x})
'\\left(\\hat{y}_{i} - y_{i}\\right) x_{i}'
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter

from symgrad.core.functions import FUNCTIONS, Function, by_class
from symgrad.core.matrix import is_scalar
from symgrad.core.matrix_steps import LAYOUT
from symgrad.core.steps import Derivation, Partial, Step
from symgrad.models.network_names import Elementwise, Hadamard, Mat, MatMul, Unit, bracketed
from symgrad.render import rule_text, sections, typed_title
from symgrad.render._display import arrange
from symgrad.render.text import MatrixTextPrinter, signed


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
        base, layer, _ = expr.parts()
        return f"{base}^{{[{layer}]}}_{{{expr.index()}}}"

    def _matrix_factor(self, e: sp.Expr) -> str:
        s = self._print(e)
        return rf"\left({s}\right)" if bracketed(e) else s

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
    """One expression as LaTeX in lecture order (``late`` symbols go last in products); a term
    with a minus sign is subtracted (``a - b``, never ``a + -b``)."""
    return _Printer(frozenset(late)).doprint(expr).replace(" + - ", " - ")


def step_latex(step: Step, late: frozenset = frozenset()) -> str:
    r"""``lhs &= form = form && \text{rule}``."""
    rhs = " = ".join(expr_latex(f, late) for f in step.forms)
    return rf"{expr_latex(step.lhs, late)} &= {rhs} && \text{{{prose(rule_text(step))}}}"


#: Width of the text of :func:`document`'s page in em (11pt, 2 cm margins on letter paper).
TEXT_WIDTH = 44.0

#: Width of the rule column in documents: long rules wrap instead of running off the page.
RULE_WIDTH = "4.5cm"

_CM_PER_EM = 0.3866  # 1 em at 11pt


def form_rows(step: Step, late: frozenset = frozenset(), budget: float | None = None) -> list[str]:
    r"""The right-hand side of a step as rows: ``= form`` per form, and with ``budget`` (em) a
    form wider than that continued on rows ``\quad ...`` (:func:`break_rows`). The LaTeX and the
    HTML derivations lay their rows out from this.

    >>> from symgrad.core.derive import derive
    >>> step = derive("mse", "linear").steps[-1]
    >>> form_rows(step)[0].startswith("= ")
    True
    """
    return [row for f in step.forms for row in equals_rows(expr_latex(f, late), budget)]


def equals_rows(form: str, budget: float | None = None) -> list[str]:
    r"""``= form`` as one row, or with ``budget`` (em) broken into ``= first`` and ``\quad ...``
    rows (:func:`break_rows`).

    >>> equals_rows(r"a + b + c", 3)
    ['= a + b', '\\quad {} + c']
    """
    parts = [form] if budget is None else break_rows(form, budget)
    return [f"= {parts[0]}"] + [rf"\quad {p}" for p in parts[1:]]


def step_rows(
    step: Step, late: frozenset = frozenset(), rule_width: str | None = None,
    budget: float | None = None,
) -> list[str]:
    r"""A step as ``align*`` rows: ``lhs &= form && \text{rule}``, then one ``&= form`` per row.

    With ``rule_width`` (e.g. ``"5cm"``, for documents) the rule wraps in a ``\parbox`` of that
    width inside the ``\text{}``. With ``budget`` (em) a form wider than that breaks into rows
    ``&\quad + ...`` (:func:`form_rows`).
    """
    return aligned_rows(expr_latex(step.lhs, late), form_rows(step, late, budget),
                        rule_text(step), rule_width)


def aligned_rows(lhs: str, rows: list[str], rule: str, rule_width: str | None = None) -> list[str]:
    r"""``lhs &= first row && \text{rule}``, then ``&row`` for the other rows of the forms; the
    rule (prose) in a ``\parbox`` of ``rule_width`` when given.

    >>> aligned_rows("y", ["= a", r"\quad {} + b"], "chain rule")
    ['y &= a && \\text{chain rule}', '&\\quad {} + b']
    """
    rule = prose(rule)
    if rule_width is not None and rule:
        rule = rf"\parbox[t]{{{rule_width}}}{{\raggedright\footnotesize {rule}}}"
    first, *rest = rows
    return ([rf"{lhs} &{first}" + (rf" && \text{{{rule}}}" if rule else "")]
            + ["&" + r for r in rest])


def render(d: Derivation, rule_width: str | None = RULE_WIDTH, width: float = TEXT_WIDTH) -> str:
    r"""The derivation as one ``align*`` block, sections as ``\intertext``.

    A step with several right-hand sides puts each on its own row, and a form too wide for the
    page (``width`` em, less the widest left-hand side and the rule column) breaks into rows at
    its + and − and between factors, so nothing runs off the page. A matrix derivation:
    :func:`matrix_render`.
    """
    if not isinstance(d, Derivation):
        return matrix_render(d, rule_width, width)
    late = frozenset(d.graph.features)
    lhs = max((len_em(expr_latex(s.lhs, late)) for s in d.steps), default=0.0)
    rule = float(rule_width.removesuffix("cm")) / _CM_PER_EM if rule_width else 12.0
    budget = width - lhs - rule - 4.0
    rows: list[str] = []
    for heading, steps in sections(d.steps):
        rows.append(rf"\intertext{{{heading}}}")
        rows += [row + r" \\" for step in steps
                 for row in step_rows(step, late, rule_width, budget)]
    rows[-1] = rows[-1].removesuffix(r" \\")
    return "\\begin{align*}\n" + "\n".join(rows) + "\n\\end{align*}"


_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
            "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
            "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}", "λ": r"\(\lambda\)",
            "−": r"\textminus{}", "·": r"\(\cdot\)", "ᵀ": r"\(^{\top}\)", "∂": r"\(\partial\)",
            "‖": r"\(\Vert\)", "²": r"\(^{2}\)"}
_MATH = re.compile(r"(\\\(.+?\\\)|\\\[.+?\\\])", re.S)


def prose(text: str) -> str:
    r"""Escape text for LaTeX, keeping its ``\( \)`` and ``\[ \]`` math as it is.

    >>> prose(r"50% of \(x_{i}\) & more")
    '50\\% of \\(x_{i}\\) \\& more'
    >>> prose("Gradient of x_1*w_1")
    'Gradient of x\\_1*w\\_1'
    """
    parts = _MATH.split(text)
    return "".join(p if k % 2 else "".join(_SPECIAL.get(c, c) for c in p)
                   for k, p in enumerate(parts))


def code(typed: str) -> str:
    r"""The user's typed text after a title, in typewriter (``''`` for none).

    >>> code("3*x^2")
    ' \\texttt{3*x\\textasciicircum{}2}'
    """
    return rf" \texttt{{{prose(typed)}}}" if typed else ""


def notebook(d: Derivation) -> str:
    r"""The derivation for a notebook's MathJax: one ``aligned`` block in ``$$``, the title and
    section headings as ``\text`` rows (MathJax has no ``\intertext`` or ``\parbox``).

    >>> from symgrad.core.derive import derive
    >>> out = notebook(derive("mse", "linear"))
    >>> out.startswith("$$\\begin{aligned}"), "intertext" in out, "parbox" in out
    (True, False, False)
    """
    words, typed = typed_title(d)
    title = [rf"&\textbf{{{prose(words)}{code(typed)}}}"] if d.title else []
    if not isinstance(d, Derivation):
        rows = title + [
            "&" + _text_math(prose(r)) if lhs is None else r for lhs, r in _matrix_lines(d, None)]
        return "$$\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}$$"
    late = frozenset(d.graph.features)
    rows = list(title)
    for heading, steps in sections(d.steps):
        rows.append(rf"&\text{{{heading}:}}")
        rows += [step_latex(step, late) for step in steps]
    return "$$\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}$$"


def document(body: str, title: str = "", typed: str = "") -> str:
    """A standalone document around a LaTeX body, compilable with pdflatex; the ``title`` is text
    (escaped: ``cross_entropy`` prints as it reads), ``typed`` the user's text after it, set as
    code (see :func:`symgrad.render.typed_title`)."""
    head = rf"\section*{{{prose(title)}{code(typed)}}}" + "\n" if title else ""
    return (
        "\\documentclass[11pt]{article}\n\\usepackage[margin=2cm]{geometry}\n"
        "\\usepackage{amsmath,amssymb,mathtools}\n\\usepackage{textcomp}\n\\allowdisplaybreaks\n"
        "\\begin{document}\n"
        f"{head}{body}\n\\end{{document}}\n"
    )


# --- matrix derivations (symgrad.core.matrix_steps) ------------------------------------------

class MatrixLatexPrinter(MatrixTextPrinter):
    r"""A matrix expression as a lecture writes it: ``X^{\top} \left(X w - y\right)``,
    ``\odot``, ``\oslash``, ``\mathbf{1}_{N}``, ``\sigma``, ``\left\lVert x\right\rVert^{2}``,
    ``\operatorname{tr}``; the layout of sums, products and signs is the text printer's."""

    minus, plus, times, hadamard, oslash = " - ", " + ", " ", r" \odot ", r" \oslash "

    def paren(self, text: str) -> str:
        return rf"\left({text}\right)"

    def wrap(self, m, atomic=()) -> str:  # a fraction ∂L/∂z needs no brackets
        return self.doprint(m) if m.op == "adj" else super().wrap(m, *(atomic and (atomic,)))

    def bare(self, m) -> bool:
        return not (m.op == "const" and m.value.is_number and m.value.is_negative)

    def _print_var(self, m):
        return expr_latex(sp.Symbol(m.name))

    def _print_const(self, m):
        return expr_latex(m.value)

    def _print_ones(self, m):
        return rf"\mathbf{{1}}_{{{shape_latex(m.shape, False)}}}"

    def zero(self, shape) -> str:  # the zero vector or matrix in bold, as the ones are
        return "0" if is_scalar(shape) else r"\mathbf{0}"

    def _print_eye(self, m):
        return rf"I_{{{expr_latex(m.shape[0])}}}"

    def _print_adj(self, m):
        of = expr_latex(sp.Symbol(str(m.value or "L")))
        return rf"\frac{{\partial {of}}}{{\partial {expr_latex(sp.Symbol(m.name))}}}"

    def _print_div(self, m):
        negative, _ = signed(m)
        a, b = m.args
        if negative or not is_scalar(b.shape):
            return super()._print_div(m)
        return rf"\frac{{{self.doprint(a)}}}{{{self.doprint(b)}}}"

    def exponent(self, e: sp.Expr) -> str:
        return f"^{{{expr_latex(e)}}}"

    def juxtapose(self, left: str, right: str, a, b) -> str:
        return f"{left} {right}"

    def _print_T(self, m):
        return self.wrap(m.args[0], ("var", "ones", "adj")) + r"^{\top}"

    def _print_sum(self, m):
        return rf"\operatorname{{sum}}{self.paren(self.doprint(m.args[0]))}"

    def _print_mean(self, m):
        return rf"\operatorname{{mean}}{self.paren(self.doprint(m.args[0]))}"

    def _print_norm(self, m):
        return rf"\left\lVert {self.doprint(m.args[0])} \right\rVert"

    def _print_sqnorm(self, m):
        return self._print_norm(m) + "^{2}"

    def _print_dot(self, m):
        return rf"{self.wrap(m.args[0], ('var',))}^{{\top}} {self.wrap(m.args[1], ('var',))}"

    def _print_trace(self, m):
        return rf"\operatorname{{tr}}{self.paren(self.doprint(m.args[0]))}"

    def _print_fn(self, m):
        record = FUNCTIONS[m.name]
        name = record.latex or (rf"\{record.name}" if record.name in _TEX_FUNCTIONS
                                else rf"\operatorname{{{record.name}}}")
        return name + self.paren(self.doprint(m.args[0]))

    def _print_softmax(self, m):
        return r"\operatorname{softmax}" + self.paren(self.doprint(m.args[0]))


_TEX_FUNCTIONS = ("log", "exp", "sin", "cos", "tan", "sinh", "cosh", "tanh")


def matrix_latex(m) -> str:
    r"""A matrix expression as LaTeX.

    >>> from symgrad.core.matrix import parse_matrix, parse_shapes
    >>> s = parse_shapes("X: N x d, w: d, y: N")
    >>> matrix_latex(parse_matrix("X'*(X*w - y)", s))
    'X^{\\top} \\left(X w - y\\right)'
    >>> matrix_latex(parse_matrix("mean(sigmoid(X*w) .* (1 - y))", s))
    '\\operatorname{mean}\\left(\\sigma\\left(X w\\right) \\odot \\left(1 - y\\right)\\right)'
    """
    return MatrixLatexPrinter().doprint(m)


def shape_latex(shape, space: bool = True) -> str:
    r"""``\mathbb{R}^{k \times d}`` (or, with ``space=False``, the size ``k \times d`` alone).

    >>> shape_latex((sp.Symbol("N"), sp.S.One)), shape_latex((sp.S.One, sp.S.One))
    ('\\mathbb{R}^{N}', '\\mathbb{R}')
    """
    rows, cols = (expr_latex(n) for n in shape)
    size = rows if cols == "1" else rf"{rows} \times {cols}"
    if not space:
        return size
    return r"\mathbb{R}" if is_scalar(shape) else rf"\mathbb{{R}}^{{{size}}}"


#: The layouts of :mod:`symgrad.core.matrix_steps` as LaTeX prose.
LAYOUTS = {LAYOUT: r"Denominator layout: \(\partial L/\partial v\) has the shape of \(v\)."}


def matrix_prose(d) -> list[str]:
    r"""What a matrix derivation states once, as prose with ``\( \)`` math: the layout and the
    assumptions (symmetric matrices, one-hot labels); the Markdown and HTML printers say the
    same."""
    lines = [LAYOUTS[d.layout]]
    lines += [rf"Assumed: \({name}^{{\top}} = {name}\) (\({name}\): symmetric)."
              for name in (expr_latex(sp.Symbol(n)) for n in d.symmetric)]
    lines += [rf"Assumed: \(\mathbf{{1}}^{{\top}} {expr_latex(sp.Symbol(n))} = 1\) "
              rf"(\({expr_latex(sp.Symbol(n))}\): one-hot labels)." for n in d.simplex]
    return lines


def matrix_steps(d, budget: float | None = None):
    r"""A matrix derivation as ``(heading, [(lhs, rows, rule), ...])``: sections of steps, then
    the results; ``rows`` are ``= form`` rows (:func:`equals_rows`, broken at ``budget`` em) and
    the last ends with the shape, ``\in \mathbb{R}^{N}``. The LaTeX, Markdown and HTML printers
    lay these out."""
    loss = expr_latex(sp.Symbol(d.loss))

    def rows(forms, shape):
        space = rf" \in {shape_latex(shape)}"
        room = None if budget is None else budget - len_em(space)
        out = [r for f in forms for r in equals_rows(matrix_latex(f), room)]
        out[-1] += space
        return out

    for heading, steps in sections(d.steps):
        yield heading, [(matrix_latex(s.lhs), rows(s.forms, s.shape),
                         ", ".join(r.text for r in s.rules)) for s in steps]
    yield f"Result ({d.checks_text()})", [
        (rf"\frac{{\partial {loss}}}{{\partial {expr_latex(sp.Symbol(g.wrt))}}}",
         rows((g.expanded,), g.shape), "") for g in d.gradients.values()]


def math_rows(steps) -> list[str]:
    r"""One section of :func:`matrix_steps` as rows of an ``aligned`` block for MathJax and KaTeX
    (notebooks, Markdown): ``lhs &= form && \text{rule}``, no ``\parbox``."""
    out = []
    for lhs, rows, rule in steps:
        out.append(f"{lhs} &{rows[0]}" + (" && " + _text_math(prose(rule)) if rule else ""))
        out += [f" &{r}" for r in rows[1:]]
    return out


def _matrix_lines(d, budget: float | None):
    """``(None, prose)`` for text rows and ``(lhs, row)`` for math rows (:func:`notebook`)."""
    for line in matrix_prose(d):
        yield None, line
    for heading, steps in matrix_steps(d, budget):
        yield None, heading + ":"
        yield from (("", r) for r in math_rows(steps))


def _text_math(text: str) -> str:
    r"""Prose with ``\( \)`` math as a math row: ``\text{...}`` pieces and the math between
    (MathJax reads no math inside ``\text``).

    >>> _text_math(r"the shape of \(v\).")
    '\\text{the shape of }v\\text{.}'
    """
    parts = _MATH.split(text)
    return "".join(p[2:-2] if k % 2 else rf"\text{{{p}}}" for k, p in enumerate(parts) if p)


def matrix_render(d, rule_width: str | None = RULE_WIDTH, width: float = TEXT_WIDTH) -> str:
    r"""A matrix derivation as one ``align*`` block: the layout and assumptions, then each
    section as ``\intertext``, a step per row with its shape and rules; forms too wide for the
    page break into rows as the scalar derivations do (:func:`equals_rows`)."""
    lhs = max(len_em(matrix_latex(s.lhs)) for s in d.steps)
    rule = float(rule_width.removesuffix("cm")) / _CM_PER_EM if rule_width else 12.0
    out = [rf"\intertext{{{prose(line)}}}" for line in matrix_prose(d)]
    for heading, steps in matrix_steps(d, width - max(lhs, 3.0) - rule - 4.0):
        out.append(rf"\intertext{{{prose(heading)}}}")
        out += [r + r" \\" for lhs_, rows, rule_ in steps
                for r in aligned_rows(lhs_, rows, rule_, rule_width)]
    out[-1] = out[-1].removesuffix(r" \\")
    return "\\begin{align*}\n" + "\n".join(out) + "\n\\end{align*}"


# --- line breaking -------------------------------------------------------------------------------

_NAMED = {"tanh": 1.9, "log": 1.3, "exp": 1.4, "sin": 1.3, "cos": 1.4, "max": 1.6, "min": 1.5,
          "sum": 1.3, "cdot": 0.8, "odot": 1.2, "quad": 1.0, "qquad": 2.0, "top": 0.7,
          "partial": 0.55, "infty": 1.0}
_SPACED = "+-=<>"


def _group(s: str, i: int) -> int:
    """Index after the brace group starting at s[i] == '{'."""
    depth = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        depth += (c == "{") - (c == "}")
        i += 1
        if depth == 0:
            return i
    return i


def len_em(s: str, scale: float = 1.0) -> float:
    """Estimated width of LaTeX math ``s`` in em (display style, 11pt Computer Modern)."""
    w, i, n = 0.0, 0, len(s)
    while i < n:
        c = s[i]
        if s.startswith(("\\frac{", "\\splitfrac{"), i):
            j = s.index("{", i)
            a = _group(s, j)
            b = _group(s, a)
            w += max(len_em(s[j + 1:a - 1], scale), len_em(s[a + 1:b - 1], scale)) + 0.3 * scale
            w += 1.2 * scale if s[i + 1] == "s" else 0.0  # \splitfrac indents its rows by \quad
            i = b
        elif s.startswith("\\begin{cases}", i):
            end = s.find("\\end{cases}", i)
            rows = s[i + 13:end].split("\\\\")
            w += 1.2 * scale + max(sum(len_em(p, scale) + 1 for p in r.split("&")) for r in rows)
            i = end + 11
        elif s.startswith(("\\operatorname{", "\\text{", "\\mathrm{"), i):
            j = s.index("{", i)
            k = _group(s, j)
            w += 0.62 * scale * len(s[j + 1:k - 1].replace("\\", ""))
            i = k
        elif c in "_^":
            j = i + 1
            k = _group(s, j) if j < n and s[j] == "{" else j + 1
            body = s[j + 1:k - 1] if s[j:j + 1] == "{" else s[j:k]
            if s[max(0, i - 4):i] == "\\sum":  # limits under and over the sum
                w += max(0.0, 0.7 * len_em(body, scale) - 1.3 * scale) / 2
            else:
                w += len_em(body, 0.7 * scale)
            i = k
        elif c == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", s[i:])
            name = m.group(1)
            if name in ("left", "right"):
                i += len(m.group(0))
                d = re.match(r"\\[A-Za-z]+|\\.|.", s[i:]).group(0)
                w += (0 if d in (".",) else 0.4 * scale)
                i += len(d)
                continue
            if name in (",", ":", ";"):
                w += 0.25 * scale
            elif name == "!":
                w -= 0.15 * scale
            elif name in ("{", "}"):
                w += 0.5 * scale
            elif len(name) > 1:
                w += _NAMED.get(name, 0.6) * scale
            i += len(m.group(0))
        elif c in "{} &":
            i += 1
        elif c in _SPACED:
            w += (1.2 if scale == 1.0 else 0.8) * scale
            i += 1
        elif c in "()[],;|'":
            w += 0.4 * scale
            i += 1
        elif c.isdigit():
            w += 0.5 * scale
            i += 1
        else:
            w += (0.75 if c.isupper() else 0.55) * scale
            i += 1
    return w


def _unwrap(s: str) -> str:
    r"""Drop SymPy's grouping braces around a function's argument, ``\tanh{\left(x\right)}`` →
    ``\tanh\left(x\right)``, so the argument can break across lines like any other."""
    out, i = [], 0
    while True:
        j = s.find("{\\left(", i)
        if j < 0:
            return "".join(out) + s[i:]
        k = _group(s, j)
        inner = s[j + 1:k - 1]
        if inner.endswith("\\right)") and _closes_at_end(inner):
            out.append(s[i:j] + inner.rstrip())
        else:
            out.append(s[i:j + 1])
            k = j + 1
        i = k


def _closes_at_end(s: str) -> bool:
    depth = 0
    for m in re.finditer(r"\\left(?![A-Za-z])|\\right(?![A-Za-z])", s):
        depth += 1 if m.group(0) == "\\left" else -1
        if depth == 0 and m.end() < len(s) - 1:
            return False
    return depth == 0


def _breaks(s: str) -> list[tuple[int, int]]:
    r"""Where ``s`` may break: ``(position of a space, depth)``. Before a binary + or − (depth
    2·n) and between the factors of a product after a closing ``\right)`` (depth 2·n + 1), where n
    counts the ``\left``… ``\right`` pairs around; never inside braces or environments."""
    out, i, brace, env, left = [], 0, 0, 0, 0
    while i < len(s):
        c = s[i]
        if s.startswith("\\begin{", i):
            env += 1
            i = _group(s, i + 6)
        elif s.startswith("\\end{", i):
            env -= 1
            i = _group(s, i + 4)
        elif c == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", s[i:])
            left += (m.group(1) == "left") - (m.group(1) == "right")
            i += len(m.group(0))
        else:
            brace += (c == "{") - (c == "}")
            if c == " " and brace == 0 and env == 0:
                if s[i + 1:i + 3] in ("+ ", "- "):
                    out.append((i, 2 * left))
                elif re.search(r"\\right[)\]]$", s[:i]) and s[i + 1:i + 2] not in "+-=":
                    out.append((i, 2 * left + 1))
            i += 1
    return out


def _depth_change(s: str) -> tuple[int, int]:
    """(unmatched closers, unmatched openers) of ``\\left``/``\\right`` in ``s``."""
    closers = openers = 0
    for m in re.finditer(r"\\left(?![A-Za-z])|\\right(?![A-Za-z])", s):
        if m.group(0) == "\\left":
            openers += 1
        elif openers:
            openers -= 1
        else:
            closers += 1
    return closers, openers


def break_rows(s: str, budget: float) -> list[str]:
    r"""``s`` cut into rows of at most ``budget`` em where it can break (:func:`_breaks`), the
    shallowest breaks first; a ``\left`` left open on a row is closed by ``\right.`` and reopened
    by ``\left.`` on the next. A row that cannot be cut stays whole.

    >>> break_rows(r"a + b", 10)
    ['a + b']
    >>> break_rows(r"\left(a + b\right) \left(c + d\right)", 4)
    ['\\left(a + b\\right)', '\\cdot \\left(c + d\\right)']
    """
    s = _unwrap(s)
    if len_em(s) <= budget:
        return [s]
    if s.count(r"\begin{cases}") == 1:
        return [_break_cases(s, budget)]
    s = _split_fractions(s, budget)
    cuts = _breaks(s)
    best: list[str] = [s]
    for depth in sorted({d for _, d in cuts}):
        pieces, start = [], 0
        for pos, d in cuts:
            if d <= depth:
                pieces.append(s[start:pos])
                start = pos + 1
        pieces.append(s[start:])
        rows = _pack(pieces, budget)
        best = rows
        if all(len_em(r) <= budget for r in rows):
            break
    return _balance(best)


def _pack(pieces: list[str], budget: float) -> list[str]:
    rows = [pieces[0]]
    for p in pieces[1:]:
        if len_em(rows[-1] + " " + p) <= budget:
            rows[-1] += " " + p
        else:
            rows.append(p if p[:1] in "+-" else r"\cdot " + p)
    return rows


def _balance(rows: list[str]) -> list[str]:
    out, open_ = [], 0
    for r in rows:
        lead = "\\left. " * open_ + ("{} " if r[:1] in "+-" or open_ else "")
        closers, openers = _depth_change(lead + r)
        open_ = openers
        out.append(lead + r + " \\right." * openers)
    return out


def _break_cases(s: str, budget: float) -> str:
    r"""A ``cases`` block too wide for ``budget``: each value breaks into rows and its condition
    follows on a row of its own (no second column to push the values apart)."""
    start, end = s.index(r"\begin{cases}"), s.index(r"\end{cases}")
    inner = budget - len_em(s[:start]) - len_em(s[end + 11:]) - 1.5
    rows = []
    for row in s[start + 13:end].split(r"\\"):
        value, _, cond = row.partition("&")
        parts = break_rows(value.strip(), inner)
        rows += [parts[0]] + [rf"\quad {p}" for p in parts[1:]]
        rows[-1] += rf"\quad {cond.strip()}" if len(parts) == 1 else rf", \\ \quad {cond.strip()}"
    return s[:start] + "\\begin{cases} " + r" \\ ".join(rows) + " " + s[end:]


def _split_fractions(s: str, budget: float) -> str:
    r"""Every ``\frac`` wider than ``budget`` with its numerator and denominator broken into rows
    stacked by ``\splitfrac`` (mathtools), as a fraction with a long sum below is written."""
    out, i = [], 0
    while (j := s.find("\\frac{", i)) >= 0:
        a = _group(s, j + 5)
        b = _group(s, a)
        num, den = s[j + 6:a - 1], s[a + 1:b - 1]
        if len_em(s[j:b]) > budget:
            num, den = (_stack(break_rows(part, budget - 2.5)) for part in (num, den))
        out.append(s[i:j] + rf"\frac{{{num}}}{{{den}}}")
        i = b
    return "".join(out) + s[i:]


def _stack(rows: list[str]) -> str:
    return rows[0] if len(rows) == 1 else rf"\splitfrac{{{rows[0]}}}{{{_stack(rows[1:])}}}"


def unstack(s: str) -> str:
    r"""``s`` with each ``\splitfrac`` stack as a left-aligned ``array`` of its rows, for
    converters that have no mathtools (MathML).

    >>> unstack(r"\frac{\splitfrac{a + b}{\splitfrac{{} + c}{{} + d}}}{2}")
    '\\frac{\\begin{array}{l}a + b \\\\ {} + c \\\\ {} + d\\end{array}}{2}'
    """
    out, i = [], 0
    while (j := s.find("\\splitfrac{", i)) >= 0:
        rows, end = _stacked(s, j)
        out.append(s[i:j] + r"\begin{array}{l}" + r" \\ ".join(unstack(r) for r in rows)
                   + r"\end{array}")
        i = end
    return "".join(out) + s[i:]


def _stacked(s: str, k: int) -> tuple[list[str], int]:
    """The rows of the ``\\splitfrac`` stack at ``k`` (nested in its second group), and its end."""
    top_end = _group(s, k + 10)
    end = _group(s, top_end)
    top, bottom = s[k + 11:top_end - 1], s[top_end + 1:end - 1]
    if bottom.startswith("\\splitfrac{") and _stacked(bottom, 0)[1] == len(bottom):
        return [top, *_stacked(bottom, 0)[0]], end
    return [top, bottom], end

"""Readable Unicode text: y_hat_i prints as ŷᵢ, sums as Σᵢ, partial derivatives as ∂L/∂w.

>>> import sympy as sp
>>> x, y, yhat, N = sp.symbols("x_i y_i yhat_i N", real=True)
>>> expr_text((yhat - y) * x / N, late={x})
'(ŷᵢ − yᵢ)·xᵢ/N'
>>> expr_text(sp.Symbol("alpha") * sp.Symbol("w1") ** 2)
'α·w₁²'
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from typing import Any

import sympy as sp
from sympy.printing.str import StrPrinter

from symgrad.core.functions import FUNCTIONS, Function, by_class
from symgrad.core.matrix import is_scalar, shape_text
from symgrad.core.steps import Derivation, Step
from symgrad.models.network_names import Elementwise, Hadamard, Mat, MatMul, Unit, bracketed
from symgrad.render import checks_text, rule_text, sections
from symgrad.render._display import arrange

_SUB = str.maketrans("0123456789aeijklmnoprstuvx+-", "₀₁₂₃₄₅₆₇₈₉ₐₑᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ₊₋")
_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
#: Every minus sign the text printer writes is the real one (U+2212), never the hyphen: −x, −1/2,
#: x > −1, e^(−z), as a binary minus between terms. A name cannot contain a hyphen.
MINUS = str.maketrans("-", "\u2212")
_GREEK = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "eta": "η",
    "theta": "θ",
    "lambda": "λ",
    "mu": "μ",
    "sigma": "σ",
    "tau": "τ",
    "phi": "φ",
    "omega": "ω",
    "ell": "ℓ",
    "Sigma": "Σ",
    "Delta": "Δ",
}


def symbol_text(name: str) -> str:
    """A symbol name in Unicode: ``yhat_i`` → ŷᵢ, ``w12`` → w₁₂, ``lambda`` → λ."""
    m = re.fullmatch(r"([A-Za-z]+?)(hat)?(\d*)(?:_(.*))?", name)
    if not m:
        return name
    base, hat, digits, sub = m.groups()
    base = unicodedata.normalize("NFC", _GREEK.get(base, base) + ("\u0302" if hat else ""))
    sub = (digits or "") + (sub or "")
    if sub and all(ch in "0123456789aeijklmnoprstuvx+-" for ch in sub):
        return base + sub.translate(_SUB)
    return base + (f"_{sub}" if sub else "")


class TextPrinter(StrPrinter):
    """SymPy's string printer with Unicode symbols and lecture notation."""

    def __init__(self, late: frozenset = frozenset()) -> None:
        super().__init__({"order": "none"})
        self.late = late

    def doprint(self, expr):  # noqa: D102 - SymPy API
        return super().doprint(arrange(sp.sympify(expr), self.late)).translate(MINUS)

    def _print_Symbol(self, expr):
        return symbol_text(expr.name)

    _print_Dummy = _print_Symbol

    def _print_Mul(self, expr):
        if len(expr.args) == 2 and expr.args[0] == -1 and isinstance(expr.args[1], sp.Add):
            return f"−({self._print(expr.args[1])})"
        sums = [f for f in expr.args if isinstance(f, sp.Sum)]
        if sums:  # (2/N)·Σᵢ ..., as a lecturer writes the mean
            rest = sp.Mul(*[f for f in expr.args if f not in sums])
            sign, rest = ("−", -rest) if rest.could_extract_minus_sign() else ("", rest)
            coeff = self._print(rest)
            coeff = f"({coeff})·" if "/" in coeff or rest.is_Add else f"{coeff}·"
            return sign + ("" if rest == 1 else coeff) + "·".join(self._print(s) for s in sums)
        return super()._print_Mul(expr).replace("*", "·")

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.as_base_exp()
        if exp.is_Integer and exp > 1:
            b = self._print(base)
            if not (base.is_Atom or isinstance(base, sp.Function)):
                b = f"({b})"
            return b + str(exp).translate(_SUP)
        return super()._print_Pow(expr, rational).replace("**", "^")

    def _print_Add(self, expr, order=None):
        return super()._print_Add(expr, order).replace(" - ", " − ").replace(" + −", " − ")

    def _print_Sum(self, expr):
        body = self._print(expr.function)
        if isinstance(expr.function, sp.Add):
            body = f"({body})"
        return f"Σ{str(expr.limits[0][0]).translate(_SUB)} {body}"

    def _print_Partial(self, expr):
        if len(expr.wrts) == 1:
            return f"∂{self._print(expr.of)}/∂{self._print(expr.wrt)}"
        a, b = (self._print(v) for v in expr.wrts)  # d/db (dF/da) = d²F/(db da)
        return f"∂²{self._print(expr.of)}/" + (f"∂{a}²" if a == b else f"∂{b}∂{a}")

    def _print_Mat(self, expr: Mat) -> str:  # dZ^[2], A^[1]ᵀ
        d, base, layer, t, sub = expr.parts()
        sub_text = sub.translate(_SUB) if sub else ""
        return f"{d}{base}{sub_text}" + (f"^[{layer}]" if layer else "") + ("ᵀ" if t else "")

    def _print_Unit(self, expr: Unit) -> str:  # w₂₁^[1]
        base, layer, _ = expr.parts()
        return f"{base}{expr.index().translate(_SUB)}^[{layer}]"

    def _matrix_factor(self, e: sp.Expr) -> str:
        s = self._print(e)
        return f"({s})" if bracketed(e) else s

    def _print_MatMul(self, expr: MatMul) -> str:  # (1/m)·dZ^[1]·A^[0]ᵀ
        return "·".join(
            f"({self._print(f)})" if f.is_number or isinstance(f, sp.Pow)
            else self._matrix_factor(f)
            for f in expr.args
        )

    def _print_Hadamard(self, expr: Hadamard) -> str:
        return " ⊙ ".join(self._matrix_factor(f) for f in expr.args)

    def _print_Elementwise(self, expr: Elementwise) -> str:  # g₁'(Z^[1])
        return f"g{str(expr.args[1]).translate(_SUB)}'({self._print(expr.args[0])})"

    def _print_Derivative(self, expr):
        return f"∂({self._print(expr.expr)})/∂{self._print(expr.variables[0])}"

    def _print_Piecewise(self, expr):
        parts = [
            f"{self._print(e)} otherwise"
            if c == sp.true
            else f"{self._print(e)} if {self._print(c)}"
            for e, c in expr.args
        ]
        return "{" + "; ".join(parts) + "}"

    def _print_exp(self, expr):
        return f"e^({self._print(expr.args[0])})"

    def _print_Abs(self, expr):
        return f"|{self._print(expr.args[0])}|"

    def _print_Max(self, expr):  # max(0, z) as typed, not SymPy's Max
        return f"max({', '.join(self._print(a) for a in expr.args)})"

    def _print_Min(self, expr):
        return f"min({', '.join(self._print(a) for a in expr.args)})"

    def _print_Relational(self, expr):
        op = {"<=": "≤", ">=": "≥", "==": "=", "!=": "≠"}.get(expr.rel_op, expr.rel_op)
        return f"{self._print(expr.lhs)} {op} {self._print(expr.rhs)}"


def _function_printer(record: Function):
    """``_print_<Class>`` for a registry function: its text name applied, parameters as a
    subscript (``LeakyReLU_1/100(z)``)."""

    def print_function(self, expr):
        params = "".join(f"_{self._print(a)}" for a in record.shown_parameters(expr.args))
        return f"{record.text}{params}({self._print(expr.args[0])})"

    return print_function


for _cls, _record in by_class().items():
    if _record.custom and _record.text is not None:
        setattr(TextPrinter, f"_print_{_cls.__name__}", _function_printer(_record))


def expr_text(expr: sp.Expr, late: frozenset = frozenset()) -> str:
    """One expression as Unicode text (``late`` symbols go last in products)."""
    return TextPrinter(late).doprint(expr)


def step_text(step: Step, late: frozenset = frozenset()) -> str:
    """``lhs = form = form    [rule]`` on one line."""
    rhs = " = ".join(expr_text(f, late) for f in step.forms)
    mark = "" if step.verified else "  (UNVERIFIED)"
    return f"{expr_text(step.lhs, late)} = {rhs}    [{rule_text(step)}]{mark}"


def render(d: Derivation) -> str:
    """The whole derivation as text: sections of steps, then the results (a matrix derivation:
    :func:`matrix_render`)."""
    if not isinstance(d, Derivation):
        return matrix_render(d)
    late = frozenset(d.graph.features)
    lines = [d.title] if d.title else []
    for heading, steps in sections(d.steps):
        lines += ["", heading + ":"]
        lines += ["  " + step_text(step, late) for step in steps]
    lines += ["", f"Result ({checks_text(d)}):"]
    for g in d.gradients.values():
        lines.append(
            f"  ∂{expr_text(d.graph.result_symbol)}/∂{expr_text(g.wrt)} = "
            f"{expr_text(g.named, late)}"
        )
    return "\n".join(lines)


def document(body: str, title: str = "", typed: str = "") -> str:
    """Text with its title underlined (the text renderer already starts with the title)."""
    title = f"{title} {typed}".strip()
    return body if not title or body.startswith(title) else f"{title}\n{'=' * len(title)}\n{body}"


# --- matrix expressions (symgrad.core.matrix): one _print_<op> method per operation ----------

_ATOMIC = ("var", "const", "ones", "eye", "adj", "T", "fn", "softmax", "sum", "mean", "norm",
           "sqnorm", "dot", "trace", "pow")
_PRODUCTS = ("mul", "div", "matmul")


def signed(m: Any) -> tuple[bool, Any]:
    """``(negative, m')`` with ``m = −m'`` when ``negative``: the minus signs of a product pulled
    out in front (``−(−a) ⊙ b`` is ``a ⊙ b``, ``(−1)·a`` is ``a``), so that a printer writes
    ``a − b`` and never ``a + −(−b)``. It changes the look, never the value.

    >>> from symgrad.core.matrix import parse_matrix, parse_shapes
    >>> m = parse_matrix("-(-y) .* p", parse_shapes("y: N, p: N"))
    >>> negative, rest = signed(m)
    >>> negative, matrix_text(rest)
    (False, 'y ⊙ p')
    """
    if m.op == "neg":
        negative, inner = signed(m.args[0])
        return not negative, inner
    if m.op == "const" and m.value.is_number and m.value.is_negative:
        return True, replace(m, value=-m.value)
    if m.op in ("mul", "matmul"):
        (sa, a), (sb, b) = signed(m.args[0]), signed(m.args[1])
        one = [x for x in (a, b) if x.op == "const" and x.value == 1]
        if m.op == "mul" and one:
            return sa != sb, b if one[0] is a else a
        return sa != sb, replace(m, args=(a, b))
    if m.op == "div":
        negative, a = signed(m.args[0])
        return negative, replace(m, args=(a, m.args[1]))
    return False, m


class MatrixTextPrinter:
    """Prints a :class:`symgrad.core.matrix.M` record: Xᵀ(Xw − y), z ⊙ (1 − z), ‖x‖², 1_N.

    The LaTeX printer (:class:`symgrad.render.latex.MatrixLatexPrinter`) is this printer with
    its own symbols (the class attributes) and leaves; the layout of sums, products and signs is
    decided here once.
    """

    minus, plus, times, hadamard, over, oslash = " − ", " + ", "·", " ⊙ ", "/", " ⊘ "

    def doprint(self, m: Any) -> str:
        return getattr(self, f"_print_{m.op}")(m)

    def paren(self, text: str) -> str:
        return f"({text})"

    def bare(self, m: Any) -> bool:
        """Whether ``m`` needs no brackets as a factor (a number like 1/N does in text)."""
        return not (m.op == "const" and not _plain_number(m.value))

    def wrap(self, m: Any, atomic: tuple[str, ...] = _ATOMIC) -> str:
        text = self.doprint(m)
        simple = m.op in atomic and self.bare(m)
        simple = simple or m.op == "mul" and _coefficient(m)
        return text if simple else self.paren(text)

    def _print_var(self, m):
        return symbol_text(m.name)

    def _print_const(self, m):
        return expr_text(m.value)

    def _print_ones(self, m):
        return "1_" + shape_text(m.shape)

    def _print_eye(self, m):
        return f"I_{m.shape[0]}"

    def _print_adj(self, m):
        return f"∂{symbol_text(str(m.value or 'L'))}/∂{symbol_text(m.name)}"

    def _print_add(self, m):
        negative, right = signed(m.args[1])
        if negative:
            return self.doprint(m.args[0]) + self.minus + self.wrap(right, (*_ATOMIC, *_PRODUCTS))
        return self.doprint(m.args[0]) + self.plus + self.doprint(m.args[1])

    def _print_sub(self, m):
        negative, right = signed(m.args[1])
        if negative:
            return self.doprint(m.args[0]) + self.plus + self.doprint(right)
        return self.doprint(m.args[0]) + self.minus + self.wrap(right, (*_ATOMIC, *_PRODUCTS))

    def _print_neg(self, m):
        negative, inner = signed(m)
        if not negative:
            return self.doprint(inner)
        return self.minus.strip() + self.wrap(inner, (*_ATOMIC, *_PRODUCTS))

    def _print_mul(self, m):
        if any(f.op == "const" and f.value == 0 for f in m.args):  # 0·1_d is the zero vector
            return self.zero(m.shape)
        negative, n = signed(m)
        if negative or n is not m and n.op != "mul":
            return self._print_neg(m) if negative else self.doprint(n)
        a, b = m.args
        if _coefficient(m):  # 2λ
            return self.doprint(a) + self.doprint(b)
        if is_scalar(b.shape) and not is_scalar(a.shape):
            a, b = b, a
        if is_scalar(a.shape):
            return self.wrap(a) + self.times + self.wrap(b, (*_ATOMIC, "matmul"))
        # a matrix product binds tighter than ⊙: y ⊙ Xw, as the textbook writes it
        return (self.wrap(a, (*_ATOMIC, "mul", "matmul")) + self.hadamard
                + self.wrap(b, (*_ATOMIC, "matmul")))

    def zero(self, shape: Any) -> str:
        """The zero of a shape: a lecturer writes 0 (the shape is printed after it, ∈ ℝᵈ)."""
        return "0"

    def _print_div(self, m):
        negative, _ = signed(m)
        if negative:
            return self._print_neg(m)
        a, b = m.args
        sign = self.over if is_scalar(b.shape) else self.oslash
        return self.wrap(a, (*_ATOMIC, "mul", "matmul")) + sign + self.wrap(b)

    def _print_pow(self, m):
        return self.wrap(m.args[0], ("var", "adj", "fn", "softmax")) + self.exponent(m.value)

    def exponent(self, e: sp.Expr) -> str:
        return str(e).translate(_SUP) if e.is_Integer else f"^({expr_text(e)})"

    def _print_matmul(self, m):
        negative, _ = signed(m)
        if negative:
            return self._print_neg(m)
        a, b = m.args
        left = self.wrap(a, ("var", "T", "matmul", "eye", "ones"))
        right = self.wrap(b, ("var", "T", "matmul", "eye", "ones"))
        return self.juxtapose(left, right, a, b)

    def juxtapose(self, left: str, right: str, a: Any, b: Any) -> str:
        """A matrix product's factors side by side (``Xw``), with ``·`` after a long name."""
        long = a.op == "var" and len(left) > 1 or b.op == "var" and len(right) > 1
        return f"{left}·{right}" if long else left + right

    def _print_T(self, m):
        return self.wrap(m.args[0], ("var", "ones", "adj")) + "ᵀ"

    def _print_sum(self, m):
        return f"sum({self.doprint(m.args[0])})"

    def _print_mean(self, m):
        return f"mean({self.doprint(m.args[0])})"

    def _print_norm(self, m):
        return f"‖{self.doprint(m.args[0])}‖"

    def _print_sqnorm(self, m):
        return f"‖{self.doprint(m.args[0])}‖²"

    def _print_dot(self, m):
        return f"{self.wrap(m.args[0], ('var',))}ᵀ{self.wrap(m.args[1], ('var',))}"

    def _print_trace(self, m):
        return f"tr({self.doprint(m.args[0])})"

    def _print_fn(self, m):
        record = FUNCTIONS[m.name]
        return f"{record.text or record.name}({self.doprint(m.args[0])})"

    def _print_softmax(self, m):
        return f"softmax({self.doprint(m.args[0])})"


def _coefficient(m: Any) -> bool:
    """A whole number times a scalar name, printed side by side (2λ)."""
    a, b = m.args
    return (m.op == "mul" and a.op == "const" and a.value.is_Integer and a.value > 0
            and b.op == "var" and is_scalar(b.shape))


def _plain_number(value: sp.Expr) -> bool:
    return value.is_Atom and not (value.is_Rational and not value.is_Integer) and not (
        value.is_Number and value < 0)


def matrix_text(m: Any) -> str:
    """A matrix expression as Unicode text.

    >>> from symgrad.core.matrix import parse_matrix, parse_shapes
    >>> matrix_text(parse_matrix("X'*(X*w - y)", parse_shapes("X: N x d, w: d, y: N")))
    'Xᵀ(Xw − y)'
    """
    return MatrixTextPrinter().doprint(m)


_SUPERSCRIPT = dict(zip("0123456789abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVW×",
                        "⁰¹²³⁴⁵⁶⁷⁸⁹ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂˣ",
                        strict=True))


def shape_space(shape: Any) -> str:
    """The space a value lives in: ``ℝ`` (a scalar), ``ℝᴺ`` (a vector), ``ℝᵏˣᵈ`` (a matrix);
    ``ℝ^(…)`` when a size has no superscript letter.

    >>> import sympy as sp
    >>> shape_space((sp.Symbol("k"), sp.Symbol("d"))), shape_space((sp.Symbol("q"), sp.S.One))
    ('ℝᵏˣᵈ', 'ℝ^q')
    """
    if is_scalar(shape):
        return "ℝ"
    size = shape_text(shape)
    if all(c in _SUPERSCRIPT for c in size):
        return "ℝ" + "".join(_SUPERSCRIPT[c] for c in size)
    return f"ℝ^({size})" if "×" in size else f"ℝ^{size}"


def layout_text(d: Any) -> str:
    """The layout of a matrix derivation as a sentence: ``Denominator layout: ∂L/∂v has ...``."""
    return d.layout[:1].upper() + d.layout[1:] + "."


def matrix_render(d: Any) -> str:
    """A matrix derivation as text: the layout, every intermediate and derivative with its shape
    (``z = Xw ∈ ℝᴺ``) and rules, the vector-Jacobian chain from the loss back, the results and
    how they were checked."""
    lines = [d.title, "", layout_text(d)]
    for assumption in d.assumptions:
        lines.append(f"Assumed: {assumption}.")
    for heading, steps in sections(d.steps):
        lines += ["", heading + ":"]
        for s in steps:
            rhs = " = ".join(matrix_text(f) for f in s.forms)
            rules = ", ".join(r.text for r in s.rules)
            mark = "" if s.verified else "  (UNVERIFIED)"
            lines.append(f"  {matrix_text(s.lhs)} = {rhs} ∈ {shape_space(s.shape)}    [{rules}]"
                         f"{mark}")
    lines += ["", f"Result ({d.checks_text()}):"]
    for g in d.gradients.values():
        lines.append(f"  ∂{symbol_text(d.loss)}/∂{symbol_text(g.wrt)} = {matrix_text(g.expanded)}"
                     f" ∈ {shape_space(g.shape)}")
    return "\n".join(lines)

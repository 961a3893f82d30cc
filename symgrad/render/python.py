"""A matrix derivation as a NumPy function: the loss and its gradients, with shape assertions.

Vectors are 1-D arrays, matrices 2-D, scalars floats; the function computes the named
intermediates once and the gradients from them (``--format python``).

>>> from symgrad.core.matrix_derive import derive_matrix
>>> d = derive_matrix("sum((X*w - y)^2)/N", "X: N x d, w: d, y: N", "w")
>>> print(render(d))  # doctest: +ELLIPSIS
import numpy as np
<BLANKLINE>
<BLANKLINE>
def loss_and_gradient(X, w, y):
    ...
    assert X.shape[0] == y.shape[0], "X is N×d and y is N: X.shape[0] must equal y.shape[0]"
    N, d = X.shape[0], X.shape[1]
    z = X @ w
    L = np.sum((z - y) ** 2) / N
    dL_dz = (2/N) * (z - y)
    dL_dw = X.T @ dL_dz
    return L, {"w": dL_dw}
>>> import numpy as np
>>> f = function(d)
>>> loss, grads = f(np.eye(2), np.array([1.0, 2.0]), np.zeros(2))
>>> float(loss), grads["w"].tolist()
(2.5, [1.0, 2.0])
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from symgrad.core.functions import by_class
from symgrad.core.matrix import ONE, M, is_scalar, is_symmetric, shape_text

#: NumPy's own functions; the registry's others use their stable kernels.
_NUMPY = {"exp": "np.exp", "log": "np.log", "sqrt": "np.sqrt", "abs": "np.abs", "sin": "np.sin",
          "cos": "np.cos", "tan": "np.tan", "tanh": "np.tanh", "sign": "np.sign"}
#: The registry's records by SymPy class (a constant's functions: sin(N)).
_BY_CLASS = by_class()
_SOFTMAX = '''

def softmax(v):
    e = np.exp(v - np.max(v))
    return e / np.sum(e)'''


def identifier(name: str) -> str:
    """A Python name for a symgrad name (``lambda`` is a keyword: ``lam``)."""
    return "lam" if name == "lambda" else name


class PythonPrinter:
    """A matrix expression as NumPy source: one ``_print_<op>`` per operation."""

    def __init__(self, loss: str = "L") -> None:
        self.loss = loss
        self.kernels: set[str] = set()

    def doprint(self, m: M) -> str:
        return getattr(self, f"_print_{m.op}")(m)

    def wrap(self, m: M) -> str:
        text = self.doprint(m)
        atomic = m.op in ("var", "adj", "fn", "softmax", "sum", "mean", "norm", "sqnorm", "dot",
                          "trace", "ones", "eye", "T") or m.op == "const" and (
            m.value.is_Integer or m.value.is_Symbol)
        return text if atomic and not text.startswith("-") else f"({text})"

    def _print_var(self, m):
        return identifier(m.name)

    def _print_adj(self, m):
        return f"d{self.loss}_d{identifier(m.name)}"

    def _print_const(self, m):
        return self.scalar(m.value)

    def scalar(self, e: sp.Expr) -> str:
        """A scalar constant as Python: a number (2/√π, erf's factor, as its float), the sizes
        (N, d) and functions of them (sin(N): the same functions as :meth:`_print_fn`).

        >>> n = sp.Symbol("N", positive=True)
        >>> PythonPrinter().scalar(2 / n), PythonPrinter().scalar(sp.sqrt(n) / 2)
        ('2/N', '(N ** (1/2))/2')
        """
        if e.is_Rational or e.is_Symbol:
            return str(e)
        if e.is_number:
            return repr(float(e))
        record = _BY_CLASS.get(type(e))
        if record is not None and len(e.args) == 1:
            return self.call(record.name, self.scalar(e.args[0]))
        num, den = sp.fraction(e)
        if den != 1:  # 2/N, not 2 * N ** (-1)
            return f"{self._operand(num)}/{self._operand(den)}"
        op = {sp.Add: " + ", sp.Mul: " * ", sp.Pow: " ** "}.get(type(e))
        if op is None:
            raise ValueError(f"no NumPy form for the constant {e}")
        return op.join(self._operand(a) for a in e.args)

    def _operand(self, e: sp.Expr) -> str:
        """:meth:`scalar`, bracketed unless it is a name, a whole number >= 0 or a call."""
        text = self.scalar(e)
        whole = e.is_Symbol or e.is_Integer and e >= 0 or isinstance(e, sp.Function)
        return text if whole else f"({text})"

    def _print_ones(self, m):
        return f"np.ones({_dims(m.shape)})"

    def _print_eye(self, m):
        return f"np.eye({m.shape[0]})"

    def _print_add(self, m):
        return f"{self.doprint(m.args[0])} + {self.doprint(m.args[1])}"

    def _print_sub(self, m):
        return f"{self.doprint(m.args[0])} - {self.wrap(m.args[1])}"

    def _print_neg(self, m):
        return f"-{self.wrap(m.args[0])}"

    def _print_mul(self, m):
        return f"{self.wrap(m.args[0])} * {self.wrap(m.args[1])}"

    def _print_div(self, m):
        return f"{self.wrap(m.args[0])} / {self.wrap(m.args[1])}"

    def _print_pow(self, m):
        return f"{self.wrap(m.args[0])} ** {self.wrap(_const(m.value))}"

    def _print_matmul(self, m):
        a, b = m.args
        if a.shape[1] == ONE and b.shape[0] == ONE:  # a column times a row: the outer product
            return f"np.outer({self.doprint(_column(a))}, {self.doprint(_column(b))})"
        return f"{self.wrap(a)} @ {self.wrap(b)}"

    def _print_T(self, m):
        inner = m.args[0]
        return self.wrap(inner) if inner.shape[1] == ONE else f"{self.wrap(inner)}.T"

    def _print_sum(self, m):
        return f"np.sum({self.doprint(m.args[0])})"

    def _print_mean(self, m):
        return f"np.mean({self.doprint(m.args[0])})"

    def _print_norm(self, m):
        return f"np.linalg.norm({self.doprint(m.args[0])})"

    def _print_sqnorm(self, m):
        return f"np.sum({self.wrap(m.args[0])} ** 2)"

    def _print_dot(self, m):
        return f"np.sum({self.wrap(m.args[0])} * {self.wrap(m.args[1])})"

    def _print_trace(self, m):
        return f"np.trace({self.doprint(m.args[0])})"

    def _print_fn(self, m):
        return self.call(m.name, self.doprint(m.args[0]))

    def call(self, name: str, arg: str) -> str:
        """Function ``name`` of the source ``arg``: NumPy's own, else the registry's kernel."""
        if name == "Heaviside":  # the step, 0 at 0 (relu'(0) = 0, as PyTorch)
            return f"np.heaviside({arg}, 0.0)"
        if name in _NUMPY:
            return f"{_NUMPY[name]}({arg})"
        self.kernels.add(name)
        return f"{name}({arg})"

    def _print_softmax(self, m):
        self.kernels.add("softmax")
        return f"softmax({self.doprint(m.args[0])})"


def _const(value: sp.Expr) -> M:
    return M("const", value=value)


def _column(m: M) -> M:
    """A row written as a transposed column, as its column (1-D arrays have no orientation)."""
    return m.args[0] if m.op == "T" else m


def _dims(shape) -> str:
    rows, cols = shape
    return f"({rows},)" if cols == ONE else f"({rows}, {cols})"


def _assertions(d: Any) -> list[str]:
    """ndim and size checks of the inputs; the first axis of each size binds it."""
    lines, first = [], {}
    for name, shape in d.shapes.items():
        py = identifier(name)
        ndim = 0 if is_scalar(shape) else 1 if shape[1] == ONE else 2
        if ndim == 0:
            lines.append(f"    {py} = float({py})")
            continue
        lines.append(f"    {py} = np.asarray({py}, dtype=float)")
        lines.append(f'    assert {py}.ndim == {ndim}, "{name} must be {shape_text(shape)}: '
                     f'{ndim}-D, got " + str({py}.shape)')
        for axis, size in enumerate(shape[:ndim]):
            here = f"{py}.shape[{axis}]"
            if size.is_Integer:
                lines.append(f'    assert {here} == {size}, "{name} must be {shape_text(shape)}"')
            elif size in first:
                other, other_shape, where = first[size]
                lines.append(f'    assert {where} == {here}, "{other} is '
                             f'{shape_text(other_shape)} and {name} is {shape_text(shape)}: '
                             f'{where} must equal {here}"')
            else:
                first[size] = (name, shape, here)
        if is_symmetric(shape):  # the gradient's form holds only for a symmetric value
            lines.append(f'    assert np.allclose({py}, {py}.T), "{name} must be symmetric '
                         f'(declared {shape_text(shape)} symmetric)"')
    if first:
        names = ", ".join(str(s) for s in first)
        values = ", ".join(where for _, _, where in first.values())
        lines.append(f"    {names} = {values}")
    return lines


def render(d: Any) -> str:
    """The NumPy source of ``loss_and_gradient(inputs...) -> (loss, {param: gradient})``."""
    p = PythonPrinter(d.loss)
    args = ", ".join(identifier(n) for n in d.shapes)
    body = [f"def loss_and_gradient({args}):",
            f'    """{d.loss} and its gradients (denominator layout: each has the shape of its',
            "    parameter); generated by symgrad from the verified derivation of",
            f"    {d.text.strip()!r}",
            "    with shapes " + ", ".join(f"{n}: {shape_text(s)}" + " symmetric" * is_symmetric(s)
                                       for n, s in d.shapes.items())
            + '."""']
    body += _assertions(d)
    body += [f"    {identifier(n.name)} = {p.doprint(n.expr)}" for n in d.nodes]
    for s in d.steps:
        if s.kind.value == "chain":
            body.append(f"    {p.doprint(s.lhs)} = {p.doprint(s.result)}")
    for name in d.gradients:  # the chain form: from the adjoints computed above
        step = next(s for s in d.steps if s.lhs.op == "adj" and s.lhs.name == name)
        body.append(f"    d{d.loss}_d{identifier(name)} = {p.doprint(step.forms[0])}")
    grads = ", ".join(f'"{n}": d{d.loss}_d{identifier(n)}' for n in d.gradients)
    body.append(f"    return {identifier(d.loss)}, {{{grads}}}")
    head = ["import numpy as np"]
    custom = sorted(k for k in p.kernels if k != "softmax")
    if custom:
        head.append("from symgrad.core.functions import FUNCTIONS")
        head += [""] + [f'{k} = FUNCTIONS["{k}"].kernel' for k in custom]
    source = "\n".join(head) + (_SOFTMAX if "softmax" in p.kernels else "")
    return source + "\n\n\n" + "\n".join(body)


def function(d: Any) -> Any:
    """The compiled :func:`render` source: ``f(inputs...) -> (loss, {param: gradient})``."""
    # Safe to compile: the source is generated from parsed records only. Every name in it passed
    # the whitelist parser (letters, digits and _), every number is a SymPy Rational, and no user
    # text is copied into code (the expression appears only as a repr inside the docstring).
    namespace: dict[str, Any] = {}
    exec(compile(render(d), "<symgrad matrix derivation>", "exec"), namespace)  # noqa: S102
    return namespace["loss_and_gradient"]

r"""Vector and matrix expressions with declared shapes: the records and their safe parser.

Shapes are declared as ``"X: N x d, w: d, y: N"`` (``N×d`` and ``Nxd`` too): a size is a
name (N, d, k: a SymPy symbol) or a positive integer; one size is a column vector, two a matrix;
``1`` or ``scalar`` (or ``N x 1`` for a column) declares a scalar; ``symmetric`` after a square
matrix's sizes (``D: N x N symmetric``) declares it equal to its transpose (Dᵀ is D). Internally
every shape is two sizes, (rows, columns): a vector is (n, 1), a scalar (1, 1), a row vector
(1, n); a symmetric matrix's shape is a :class:`SymmetricShape`.

>>> shapes = parse_shapes("X: N x d, w: d, y: N, lam: scalar")
>>> {k: shape_text(v) for k, v in shapes.items()}
{'X': 'N×d', 'w': 'd', 'y': 'N', 'lambda': 'scalar'}
>>> e = parse_matrix("sum((X*w - y)^2)/N", shapes)
>>> e.op, shape_text(e.shape)
('div', 'scalar')

The language (:func:`parse_matrix`), parsed by a whitelist walk over Python's ``ast`` like
:mod:`symgrad.core.parse` (user text never reaches ``eval``):

* ``*`` is the matrix product when both sides are vectors or matrices (``X*w``), a scaling when
  one side is a scalar; ``.*`` is the Hadamard (elementwise) product, ``./`` elementwise division,
  ``/`` division by a scalar (or elementwise, between equal shapes);
* ``^``, ``.^`` and ``**`` raise every entry to a number: ``(X*w - y)^2`` is the elementwise
  square, except that ``norm(v)^2`` is the quadratic form vᵀv;
* numbers: ``2``, ``0.5``, ``1e-3``, ``2.`` (exact: 0.5 is 1/2); a dot after a number followed
  by ``*``, ``/`` or ``^`` is read as the elementwise operator, as in MATLAB: ``2.*x`` is
  ``2 .* x``, ``1./x`` is ``1 ./ x`` (the same values as 2·x and 1/x, so nothing is lost);
* ``A'``, ``A.T`` and ``transpose(A)`` transpose; ``sum``, ``mean`` (over all entries),
  ``norm`` (Euclidean/Frobenius), ``dot(u, v)``, ``trace(A)``, ``softmax(v)``;
* the elementwise functions of the function registry (:mod:`symgrad.core.functions`: exp, log,
  sigmoid, tanh, relu, softplus, ...), applied to every entry; those with a second argument
  (leaky_relu's slope, elu's alpha, huber's delta) and the others of more arguments are refused
  in one line (not yet in the matrix language);
* a scalar (a number, a size such as N, a name declared ``scalar``) adds to or scales anything.

A name used without a declared shape, shapes that do not conform, and unknown constructs raise a
:class:`~symgrad.core.errors.ShapeError` or :class:`~symgrad.core.errors.ParseError` with the
1-based column:

>>> try:
...     parse_matrix("sum(X*w)", parse_shapes("X: N x d, w: k"))
... except ShapeError as e:
...     print(e)
X*w at column 5: X is N×d and w is k; a matrix product needs d = k
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass

import sympy as sp

from symgrad.core.errors import ParseError, ShapeError
from symgrad.core.functions import FUNCTIONS
from symgrad.core.parse import MAX_DEPTH, MAX_LENGTH, _symbol

Shape = tuple[sp.Expr, sp.Expr]
"""(rows, columns), each a positive SymPy Integer or a size Symbol."""

ONE = sp.S.One
SCALAR: Shape = (ONE, ONE)

#: The elementwise functions of the registry that the matrix language accepts (one argument).
ELEMENTWISE = tuple(
    r.name for r in FUNCTIONS.values() if r.parse and r.arity == (1, 1) and r.sympy is not None
)
#: The other functions of the language: reductions, products and softmax.
SPECIAL = ("sum", "mean", "norm", "dot", "trace", "transpose", "softmax")


class SymmetricShape(tuple):
    """The shape (n, n) of a matrix declared symmetric: equal to the plain (n, n) everywhere, and
    a variable of this shape is its own transpose (:func:`transpose`).

    >>> n = sp.Symbol("n")
    >>> SymmetricShape((n, n)) == (n, n), is_symmetric(SymmetricShape((n, n))), is_symmetric((n, n))
    (True, True, False)
    """

    __slots__ = ()


def is_symmetric(shape: Shape) -> bool:
    """Whether ``shape`` was declared symmetric (``D: N x N symmetric``)."""
    return isinstance(shape, SymmetricShape)


def is_scalar(shape: Shape) -> bool:
    return shape == SCALAR


def shape_text(shape: Shape) -> str:
    """``scalar``, ``d`` (a column vector), ``1×d`` (a row) or ``N×d``.

    >>> shape_text((sp.Symbol("N"), sp.Integer(3))), shape_text(SCALAR)
    ('N×3', 'scalar')
    """
    rows, cols = shape
    if shape == SCALAR:
        return "scalar"
    if cols == ONE:
        return str(rows)
    return f"{rows}×{cols}"


def shape_list(shape: Shape) -> list[str]:
    """The shape as JSON: ``[]`` a scalar, ``["d"]`` a column vector, ``["N", "d"]`` a matrix
    (``["1", "d"]`` a row vector).

    >>> shape_list((sp.Symbol("d"), ONE)), shape_list(SCALAR)
    (['d'], [])
    """
    if shape == SCALAR:
        return []
    if shape[1] == ONE:
        return [str(shape[0])]
    return [str(shape[0]), str(shape[1])]


@dataclass(frozen=True)
class M:
    """One node of a matrix expression: ``op`` applied to ``args``, of shape ``shape``.

    ``op`` is one of :data:`OPS`; ``name`` is a variable's name (``var``), the node whose
    adjoint ∂L/∂name it is (``adj``) or a registry function's name (``fn``); ``value`` is a
    constant's number (``const``) or an exponent (``pow``).
    """

    op: str
    args: tuple[M, ...] = ()
    shape: Shape = SCALAR
    name: str = ""
    value: sp.Expr | None = None

    def __str__(self) -> str:
        """The text printer's form (through the one lazy hook, :func:`symgrad.core.steps.display`).
        """
        from symgrad.core.steps import display

        return display(self, "text", "matrix_text")


#: Every operation of a matrix expression (the engine's table in symgrad.core.matrix_derive
#: gives each its vector-Jacobian product).
OPS = ("var", "const", "ones", "eye", "adj", "add", "sub", "neg", "mul", "div", "pow", "matmul",
       "T", "sum", "mean", "norm", "sqnorm", "dot", "trace", "fn", "softmax")


def var(name: str, shape: Shape) -> M:
    return M("var", (), shape, name)


def const(value: sp.Expr | int) -> M:
    return M("const", (), SCALAR, value=sp.sympify(value))


def ones(shape: Shape) -> M:
    """The all-ones vector or matrix 1 of a shape (1_N)."""
    return const(1) if shape == SCALAR else M("ones", (), shape)


def adj(name: str, shape: Shape, of: sp.Symbol | None = None) -> M:
    """∂L/∂name, the adjoint of an intermediate or a parameter (``of``: the loss, L)."""
    return M("adj", (), shape, name, of)


# --- the shape rules, one per operation: they build a node or raise ShapeError --------------


class _Where:
    """What a shape error says about the operation: its text and 1-based column."""

    def __init__(self, text: str = "", column: int | None = None) -> None:
        self.text, self.column = text, column

    def fail(self, message: str) -> ShapeError:
        at = f" at column {self.column}" if self.column else ""
        return ShapeError(f"{self.text}{at}: {message}", column=self.column)


_NOWHERE = _Where("the expression")


def _conform(a: M, b: M, where: _Where, what: str) -> Shape:
    """The shape of an elementwise operation: equal shapes, or a scalar broadcast."""
    if is_scalar(a.shape):
        return b.shape
    if is_scalar(b.shape) or a.shape == b.shape:
        return a.shape
    raise where.fail(f"{_named(a, 'the left side')} is {shape_text(a.shape)} and "
                     f"{_named(b, 'the right side')} is {shape_text(b.shape)}; {what} needs "
                     "equal shapes (or a scalar)")


def _named(m: M, fallback: str) -> str:
    """How an error names an operand: its printed form (Xw), or ``fallback``."""
    try:
        return str(m)
    except (ImportError, AttributeError, KeyError):  # pragma: no cover - printer unavailable
        return fallback


def add(a: M, b: M, where: _Where = _NOWHERE) -> M:
    return M("add", (a, b), _conform(a, b, where, "a sum"))


def sub(a: M, b: M, where: _Where = _NOWHERE) -> M:
    return M("sub", (a, b), _conform(a, b, where, "a difference"))


def neg(a: M) -> M:
    return M("neg", (a,), a.shape)


def mul(a: M, b: M, where: _Where = _NOWHERE) -> M:
    """The Hadamard product a ⊙ b, or a scaling when one side is a scalar."""
    return M("mul", (a, b), _conform(a, b, where, "a Hadamard product"))


def div(a: M, b: M, where: _Where = _NOWHERE) -> M:
    return M("div", (a, b), _conform(a, b, where, "an elementwise division"))


def power(a: M, exponent: sp.Expr) -> M:
    return M("pow", (a,), a.shape, value=sp.sympify(exponent))


def matmul(a: M, b: M, where: _Where = _NOWHERE) -> M:
    """The matrix product; a scaling when one side is a scalar."""
    if is_scalar(a.shape) or is_scalar(b.shape):
        return mul(a, b, where)
    if a.shape[1] != b.shape[0]:
        raise where.fail(
            f"{_named(a, 'the left side')} is {shape_text(a.shape)} and "
            f"{_named(b, 'the right side')} is {shape_text(b.shape)}; a matrix product needs "
            f"{a.shape[1]} = {b.shape[0]}")
    return M("matmul", (a, b), (a.shape[0], b.shape[1]))


def transpose(a: M) -> M:
    """Aᵀ; a scalar, and a variable declared symmetric (Dᵀ = D), are their own transposes."""
    if is_scalar(a.shape) or a.op == "var" and is_symmetric(a.shape):
        return a
    if a.op == "T":
        return a.args[0]
    return M("T", (a,), (a.shape[1], a.shape[0]))


def reduce(op: str, a: M) -> M:
    """``sum``, ``mean``, ``norm`` or ``sqnorm`` (the quadratic form aᵀa) of all entries."""
    return M(op, (a,), SCALAR)


def dot(a: M, b: M, where: _Where = _NOWHERE) -> M:
    if a.shape != b.shape:
        raise where.fail(f"{_named(a, 'the first argument')} is {shape_text(a.shape)} and "
                         f"{_named(b, 'the second')} is {shape_text(b.shape)}; dot needs equal "
                         "shapes")
    return M("dot", (a, b), SCALAR)


def trace(a: M, where: _Where = _NOWHERE) -> M:
    if a.shape[0] != a.shape[1]:
        raise where.fail(f"{_named(a, 'the argument')} is {shape_text(a.shape)}; trace needs a "
                         "square matrix")
    return M("trace", (a,), SCALAR)


def eye(n: sp.Expr) -> M:
    """The identity matrix I of size n."""
    return M("eye", (), (n, n))


def fn(name: str, a: M) -> M:
    """A registry function applied to every entry."""
    return M("fn", (a,), a.shape, name)


def softmax(a: M, where: _Where = _NOWHERE) -> M:
    if a.shape[1] != ONE:
        raise where.fail(f"{_named(a, 'the argument')} is {shape_text(a.shape)}; softmax takes "
                         "a column vector")
    return M("softmax", (a,), a.shape)


# --- shape declarations ------------------------------------------------------------------------

_SIZE = re.compile(r"[A-Za-z][A-Za-z0-9_]*|[1-9][0-9]*")
_SIZES_SPLIT = re.compile(r"\s*(?:×|(?<=\S)\s*x\s*(?=\S))\s*")


def _size(text: str, whole: str) -> sp.Expr:
    if not _SIZE.fullmatch(text):
        raise ShapeError(f"shapes {whole!r}: {text!r} is not a size (a name such as N, or a "
                         "positive whole number)", option="shapes")
    return sp.Integer(int(text)) if text[0].isdigit() else sp.Symbol(text, positive=True,
                                                                      integer=True)


def parse_shapes(text: str) -> dict[str, Shape]:
    """``"X: N x d, w: d, y: N, lam: scalar"`` → each name's shape (rows, columns);
    ``"D: N x N symmetric"`` declares a symmetric matrix (a :class:`SymmetricShape`).

    >>> parse_shapes("A: 3x2, b: 3")
    {'A': (3, 2), 'b': (3, 1)}
    >>> is_symmetric(parse_shapes("D: N x N symmetric")["D"])
    True
    >>> try:
    ...     parse_shapes("X: N x d symmetric")
    ... except ShapeError as e:
    ...     print(e)
    shapes 'X: N x d symmetric': X is N×d; only a square matrix can be symmetric
    >>> try:
    ...     parse_shapes("X: N x d, X: d")
    ... except ShapeError as e:
    ...     print(e)
    shapes 'X: N x d, X: d': X is declared twice
    """
    if len(text) > MAX_LENGTH:
        raise ShapeError(f"shapes: too long ({len(text)} characters)", option="shapes")
    out: dict[str, Shape] = {}
    for item in text.split(","):
        name, colon, sizes = (t.strip() for t in item.partition(":"))
        if not colon or not name or not sizes:
            raise ShapeError(f"shapes {text!r}: expected NAME: SIZES (like X: N x d), got "
                             f"{item.strip()!r}", option="shapes")
        symbol = str(_symbol(name, text, None))
        if symbol in out:
            raise ShapeError(f"shapes {text!r}: {name} is declared twice", option="shapes")
        symmetric = sizes.split()[-1] == "symmetric"
        if symmetric:
            sizes = sizes[:sizes.rindex("symmetric")].strip()
            if not sizes:
                raise ShapeError(f"shapes {text!r}: {name} needs its sizes before symmetric "
                                 f"(like {name}: N x N symmetric)", option="shapes")
        if sizes in ("scalar", "1"):
            if symmetric:
                raise ShapeError(f"shapes {text!r}: {name} is a scalar; only a square matrix "
                                 "can be symmetric", option="shapes")
            out[symbol] = SCALAR
            continue
        parts = _SIZES_SPLIT.split(sizes)
        if len(parts) == 1 and re.fullmatch(r"[A-Za-z0-9_]+x[A-Za-z0-9_]+", sizes):
            parts = sizes.split("x")  # Nxd
        if len(parts) > 2:
            raise ShapeError(f"shapes {text!r}: {name} has {len(parts)} sizes; vectors have one "
                             "and matrices two", option="shapes")
        dims = [_size(p, text) for p in parts]
        shape = (dims[0], dims[1] if len(dims) == 2 else ONE)
        if symmetric:
            if shape[0] != shape[1] or is_scalar(shape):
                what = ("a scalar" if is_scalar(shape) else
                        f"a vector ({shape_text(shape)})" if shape[1] == ONE else shape_text(shape))
                raise ShapeError(f"shapes {text!r}: {name} is {what}; only a square matrix can "
                                 "be symmetric", option="shapes")
            shape = SymmetricShape(shape)
        out[symbol] = shape
    return out


# --- the parser --------------------------------------------------------------------------------

_HADAMARD, _EDIV = "%", "//"  # what .* and ./ become in the Python source (same precedence as *)
_MAX_NODES = 400


class _Parser:
    def __init__(self, text: str, shapes: dict[str, Shape]) -> None:
        self.text, self.shapes = text, shapes
        self.sizes = {str(s): s for shape in shapes.values() for s in shape if s.is_Symbol}
        self.count = 0

    def column(self, offset: int) -> int:
        offset = min(max(offset, 0), len(self.origin) - 1)
        return self.origin[offset] + 1

    def fail(self, message: str, node: ast.AST | None) -> ParseError:
        col = None if node is None else self.column(node.col_offset)
        at = f" at column {col}" if col else ""
        return ParseError(f"{message}{at}", text=self.text, column=col)

    def where(self, node: ast.expr) -> _Where:
        start = self.column(node.col_offset) - 1
        end = self.column(max(node.end_col_offset - 1, node.col_offset))
        return _Where(self.text[start:end].strip(), start + 1)

    def run(self) -> M:
        text = self.text
        if len(text) > MAX_LENGTH:
            raise ParseError(f"input is too long ({len(text)} characters)", text=text)
        if not text.strip():
            raise ParseError("empty expression", text=text)
        source, self.origin, k = "", [], 0
        while k < len(text):
            char, pair = text[k], text[k:k + 2]
            if not " " <= char <= "~" and char != "×" or char in "#\\\"%@&|~":
                raise ParseError(f"the character {char!r} is not allowed at column {k + 1}",
                                 text, k + 1)
            if pair in (".*", "./", ".^"):
                piece, step = {".*": _HADAMARD, "./": _EDIV, ".^": "**"}[pair], 2
            elif char == "^":
                piece, step = "**", 1
            elif char == "'":
                piece, step = ".T", 1
            elif char == "/" and pair == "//":
                raise ParseError(f"'//' is not allowed at column {k + 1}", text, k + 1)
            else:
                piece, step = char, 1
            source += piece
            self.origin += [k] * len(piece)
            k += step
        self.origin.append(len(text))
        self.source = source
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(source, mode="eval")
        except SyntaxError as e:
            col = self.column((e.offset or len(source) + 1) - 1)
            raise ParseError(f"invalid syntax at column {col}", text, col) from None
        depth = [(tree.body, 1)]
        while depth:
            node, level = depth.pop()
            if level > MAX_DEPTH:
                raise self.fail(f"more than {MAX_DEPTH} operations nested", node)
            depth += [(c, level + 1) for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr)]
        return self.build(tree.body)

    def build(self, node: ast.expr) -> M:
        self.count += 1
        if self.count > _MAX_NODES:
            raise self.fail(f"more than {_MAX_NODES} operations", node)
        if isinstance(node, ast.Constant):
            if type(node.value) not in (int, float):
                raise self.fail("only numbers, names and operations are allowed", node)
            literal = ast.get_source_segment(self.source, node) or repr(node.value)
            return const(sp.Rational(literal.replace("_", "")))
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner = self.build(node.operand)
            if isinstance(node.op, ast.UAdd):
                return inner
            return const(-inner.value) if inner.op == "const" else neg(inner)
        if isinstance(node, ast.Attribute):
            if node.attr != "T":
                raise self.fail("attribute access other than .T is not allowed", node)
            return transpose(self.build(node.value))
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(f"{type(node).__name__.lower()} is not allowed", node)

    def name(self, node: ast.Name) -> M:
        if node.id in self.sizes:
            return const(self.sizes[node.id])
        symbol = str(_symbol(node.id, self.text, self.column(node.col_offset)))
        if symbol not in self.shapes:
            declared = ", ".join(self.shapes) or "none"
            raise ShapeError(f"{node.id} at column {self.column(node.col_offset)} has no "
                             f"declared shape (declared: {declared}); add it to the shapes, "
                             f"e.g. {node.id}: d, or {node.id}: scalar",
                             column=self.column(node.col_offset), option="shapes")
        return var(symbol, self.shapes[symbol])

    def binop(self, node: ast.BinOp) -> M:
        a, b = self.build(node.left), self.build(node.right)
        where = self.where(node)
        op = type(node.op)
        if op is ast.Add:
            return add(a, b, where)
        if op is ast.Sub:
            return sub(a, b, where)
        if op is ast.Mult:
            return matmul(a, b, where)
        if op is ast.Mod:  # -y .* log(p) is −(y ⊙ log(p)), as typed (Python reads (−y) ⊙ ...)
            if a.op == "neg":
                return neg(mul(a.args[0], b, where))
            return mul(a, b, where)
        if op in (ast.Div, ast.FloorDiv):
            if b.op == "const" and b.value == 0:
                raise where.fail("division by zero")
            return div(a, b, where)
        if op is ast.Pow:
            if b.op != "const" or not b.value.is_Rational:
                raise where.fail("an exponent must be a number")
            if abs(b.value.p) > 1000 or b.value.q > 1000:
                raise where.fail(f"the exponent {b.value} is too large")
            if a.op == "norm" and b.value == 2:
                return reduce("sqnorm", a.args[0])
            return power(a, b.value)
        raise self.fail("this operator is not allowed", node)

    def call(self, node: ast.Call) -> M:
        if not isinstance(node.func, ast.Name):
            raise self.fail("calling anything but a known function is not allowed", node)
        name, where = node.func.id, self.where(node)
        known = (*ELEMENTWISE, *SPECIAL)
        if name in FUNCTIONS and name not in known:
            raise self.fail(f"{name}() is not in the matrix language (its functions take one "
                            f"argument: {', '.join(ELEMENTWISE)}; and {', '.join(SPECIAL)})",
                            node)
        if name not in known:
            raise self.fail(f"unknown function '{name}'; known: {', '.join(known)}", node)
        two = name == "dot"
        if node.keywords or len(node.args) != (2 if two else 1):
            raise self.fail(f"{name}() takes {2 if two else 1} argument" + ("s" if two else ""),
                            node)
        args = [self.build(a) for a in node.args]
        if name == "dot":
            return dot(*args, where)
        if name == "trace":
            return trace(args[0], where)
        if name == "transpose":
            return transpose(args[0])
        if name == "softmax":
            return softmax(args[0], where)
        if name in ("sum", "mean", "norm"):
            return reduce(name, args[0])
        return fn(name, args[0])


def parse_matrix(text: str, shapes: dict[str, Shape]) -> M:
    """Parse a matrix expression against declared shapes (see the module docstring).

    >>> s = parse_shapes("A: m x n, x: n, b: m, lam: scalar")
    >>> e = parse_matrix("norm(A*x - b)^2 + lam*norm(x)^2", s)
    >>> e.op, e.args[0].op, e.args[1].op
    ('add', 'sqnorm', 'mul')
    """
    return _Parser(text, shapes).run()

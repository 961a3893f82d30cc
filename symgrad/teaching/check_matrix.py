r"""A student's matrix answer against a matrix derivation: shape first, then values, then the named
mistakes (each built by transforming the correct gradient, like :mod:`symgrad.teaching.check`).

The answer is parsed by :func:`symgrad.core.matrix.parse_matrix` with the derivation's shapes (the
whitelist parser, never ``eval``) and compared with the derived gradient at random matrices of
several sizes through :func:`symgrad.core.matrix_check.evaluate`. An answer that does not conform
(``X*(X*w - y)`` with X: N×d) is read again with every size equal, where a dropped transpose
conforms, and compared with the correct gradient without each of its transposes.

>>> from symgrad.core.matrix_derive import derive_matrix
>>> d = derive_matrix("sum((X*w - y)^2)/N", "X: N x d, w: d, y: N", wrt="w")
>>> check_matrix_answer("2/N * X'*(X*w - y)", d, "w").correct
True
>>> v = check_matrix_answer("2/N * X*(X*w - y)", d, "w")
>>> v.correct, v.mistakes
(False, ('wrong_shape', 'missing_transpose'))
>>> check_matrix_answer("2 * X'*(X*w - y)", d, "w").mistakes
('missing_1_over_N',)
>>> check_matrix_answer("-2/N * X.T*(X*w - y)", d, "w").mistakes
('sign',)
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from dataclasses import dataclass

import sympy as sp

from symgrad.core.errors import ParseError, ShapeError, SymgradError
from symgrad.core.matrix import M, Shape, const, mul, neg, parse_matrix, shape_text
from symgrad.core.matrix_check import evaluate, symmetrized
from symgrad.core.matrix_steps import MatrixDerivation

#: The named mistakes, as a student reads them.
MISTAKES = {
    "wrong_shape": "the shape is wrong",
    "missing_transpose": "a missing transpose (Xw where Xᵀ belongs)",
    "sign": "the sign is flipped",
    "factor_2": "a factor 2 dropped or added",
}
#: Sizes of the random matrices (one set per point; distinct, so that N×d is not square).
SIZES = ((2, 3, 4, 5), (3, 5, 2, 4), (4, 2, 5, 3))
TOLERANCE = 1e-9


@dataclass(frozen=True)
class MatrixVerdict:
    """``correct``; the student's shape text (``""`` when the answer does not conform) and the
    expected one; the named ``mistakes``; a one-line ``message``."""

    correct: bool
    shape: str
    expected: str
    mistakes: tuple[str, ...]
    message: str
    answer: str = ""
    gradient: str = ""

    def __str__(self) -> str:
        """One line: ``Correct: ∂L/∂w = ... (shape d)`` or ``Not correct: ...``."""
        if self.correct:
            return f"Correct: {self.gradient} (shape {self.expected})"
        named = f" (mistakes: {', '.join(self.mistakes)})" if self.mistakes else ""
        return f"Not correct: {self.message}{named}"

    def to_dict(self) -> dict[str, object]:
        """Strict JSON data: the fields, ``mistakes`` a list."""
        return {**dataclasses.asdict(self), "mistakes": list(self.mistakes)}


def _sizes(shapes: dict[str, Shape]) -> list[sp.Symbol]:
    return sorted({s for shape in shapes.values() for s in shape if s.is_Symbol}, key=str)


def points(d: MatrixDerivation, shapes: dict[str, Shape], square: bool) -> Iterator[dict]:
    """Random inputs (SymPy matrices of Floats), one set of sizes per point (:data:`SIZES`; with
    ``square``, every size equal, where a product missing its transpose still conforms)."""
    rng = random.Random(0)
    names = _sizes(shapes)
    for values in SIZES:
        sizes = {s: values[0 if square else k % len(values)] for k, s in enumerate(names)}
        env: dict = {"__sizes__": sizes}
        for name, shape in shapes.items():
            rows, cols = (int(sp.sympify(x).subs(sizes)) for x in shape)
            value = symmetrized(shape, sp.Matrix(rows, cols, [sp.Float(rng.uniform(0.2, 1.5), 30)
                                                              for _ in range(rows * cols)]))
            if name in d.simplex:
                value = value / sum(value)
            env[name] = value
        yield env


def _same(a: M, b: M, at: list[dict]) -> bool:
    try:
        for env in at:
            u, v = evaluate(a, env, numeric=True), evaluate(b, env, numeric=True)
            if u.shape != v.shape or any(
                    abs(complex(x) - complex(y)) > TOLERANCE * max(1, abs(complex(y)))
                    for x, y in zip(u, v, strict=True)):
                return False
    except (ArithmeticError, TypeError, ValueError):
        return False
    return True


def without_transposes(m: M) -> Iterator[M]:
    """``m`` with one of its transposes dropped (each in turn), then with all of them."""
    def drop(x: M, which: int | None, seen: list[int]) -> M:
        if x.op == "T":
            seen[0] += 1
            if which is None or seen[0] - 1 == which:
                return drop(x.args[0], which, seen)
        return dataclasses.replace(x, args=tuple(drop(a, which, seen) for a in x.args))

    count = [0]
    drop(m, None, count)
    for k in range(count[0]):
        yield drop(m, k, [0])
    if count[0] > 1:
        yield drop(m, None, [0])


def wrong_answers(correct: M, shapes: dict[str, Shape]) -> dict[str, list[M]]:
    """The named mistakes as transformations of the correct gradient (same shape: sign, factor 2,
    a forgotten 1/size for each size; the transposes are :func:`without_transposes`)."""
    out = {"sign": [neg(correct)], "factor_2": [mul(const(2), correct),
                                                 mul(const(sp.Rational(1, 2)), correct)]}
    for s in _sizes(shapes):
        out[f"missing_1_over_{s}"] = [mul(const(s), correct)]
    return out


def check_matrix_answer(answer: str, d: MatrixDerivation, wrt: str) -> MatrixVerdict:
    """The student's ``answer`` for ∂L/∂``wrt`` against the derivation ``d``."""
    verdict = _verdict(answer, d, wrt)
    return dataclasses.replace(verdict, answer=answer, gradient=(
        f"∂{d.loss}/∂{wrt} = {d.gradients[wrt].expanded}"))


def _verdict(answer: str, d: MatrixDerivation, wrt: str) -> MatrixVerdict:
    g = d.gradients[wrt]
    expected = shape_text(g.shape)
    try:
        typed = parse_matrix(answer, d.shapes)
    except ShapeError as err:
        if err.option == "shapes":  # a name without a shape: not a name of the expression
            raise ParseError(f"{str(err).split(' has no')[0]} is not a name of the "
                             f"expression (its names: {', '.join(d.shapes)})", text=answer,
                             column=err.column) from None
        return _not_conforming(answer, d, g.expanded, expected, err)
    shape = shape_text(typed.shape)
    if typed.shape != g.shape:
        return MatrixVerdict(False, shape, expected, ("wrong_shape",),
                             f"the shape is wrong: yours is {shape}, ∂{d.loss}/∂{wrt} is "
                             f"{expected} (the shape of {wrt})")
    at = list(points(d, d.shapes, square=False))
    if _same(typed, g.expanded, at):
        return MatrixVerdict(True, shape, expected, (), "correct")
    named = tuple(name for name, forms in wrong_answers(g.expanded, d.shapes).items()
                  if any(_same(typed, f, at) for f in forms))
    square = list(points(d, d.shapes, square=True))
    if not named and any(_same(typed, f, square) for f in without_transposes(g.expanded)):
        named = ("missing_transpose",)
    return MatrixVerdict(False, shape, expected, named,
                         "not equal to the gradient" + (": " + ", ".join(
                             mistake_text(n) for n in named) if named else ""))


def mistake_text(name: str) -> str:
    """A named mistake as a student reads it.

    >>> mistake_text("sign"), mistake_text("missing_1_over_N")
    ('the sign is flipped', 'missing 1 over N')
    """
    return MISTAKES.get(name, name.replace("_", " "))


def _not_conforming(answer: str, d: MatrixDerivation, correct: M, expected: str,
                    err: SymgradError) -> MatrixVerdict:
    """An answer whose shapes do not conform: read with every size equal, a dropped transpose is
    named."""
    names = _sizes(d.shapes)
    one = {s: names[0] for s in names}
    square_shapes = {k: type(shape)((sp.sympify(shape[0]).subs(one),
                                     sp.sympify(shape[1]).subs(one)))
                     for k, shape in d.shapes.items()}  # a symmetric matrix stays symmetric
    named: tuple[str, ...] = ("wrong_shape",)
    try:
        typed = parse_matrix(answer, square_shapes)
    except SymgradError:
        typed = None
    if typed is not None and names:
        square = list(points(d, d.shapes, square=True))
        if any(_same(typed, f, square) for f in without_transposes(correct)):
            named += ("missing_transpose",)
    return MatrixVerdict(False, "", expected, named, f"{err}" + (
        f" ({MISTAKES['missing_transpose']})" if "missing_transpose" in named else ""))


def shape_words(shape_text_: str) -> tuple[str, ...]:
    """The ways a student may type a shape: ``k×d``, ``k x d``, ``kxd``, ``k*d``, ``(k, d)``.

    >>> shape_words("k×d")
    ('k×d', 'k x d', 'kxd', 'k*d', '(k, d)', 'k,d')
    >>> shape_words("d")
    ('d', '(d,)', 'd x 1')
    """
    if "×" not in shape_text_:
        if shape_text_ == "scalar":
            return ("scalar", "1", "1 x 1", "()")
        return (shape_text_, f"({shape_text_},)", f"{shape_text_} x 1")
    r, c = shape_text_.split("×")
    return (shape_text_, f"{r} x {c}", f"{r}x{c}", f"{r}*{c}", f"({r}, {c})", f"{r},{c}")

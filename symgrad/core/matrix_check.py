"""The checks of a matrix derivation, independent of its rules.

Every adjoint ∂L/∂v (an intermediate's or a parameter's) is compared with central differences of
the loss, at random matrices of three sizes, in arithmetic of :data:`DIGITS` digits (SymPy
Floats over mpmath); every gradient is also compared, at the smallest sizes, with ``sympy.diff``
of the loss written out entry by entry (:func:`symgrad.core.verify.same_all`, the one equality
decision). A failed check raises :class:`~symgrad.core.errors.VerificationError`.

>>> from symgrad.core.matrix import parse_matrix, parse_shapes
>>> s = parse_shapes("A: 2 x 2, x: 2")
>>> evaluate(parse_matrix("A*x", s), {"A": sp.Matrix([[1, 2], [3, 4]]), "x": sp.Matrix([1, 1])})
Matrix([
[3],
[7]])
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence

import sympy as sp

from symgrad.core.errors import DomainError, VerificationError
from symgrad.core.functions import FUNCTIONS, elementary
from symgrad.core.matrix import M, Shape
from symgrad.core.matrix_steps import MatrixGradient
from symgrad.core.verify import Check, Method, combined, same_all

DIGITS = 40
STEP = sp.Float("1e-12", DIGITS)
TOLERANCE = 1e-15
#: The sizes each size name takes at the three points (one point per set of sizes).
SIZES = (2, 3, 4)

Env = dict[str, sp.Matrix]


def evaluate(m: M, env: Env, numeric: bool = False) -> sp.Matrix:
    """The value of ``m`` as a SymPy matrix (a scalar is 1×1) given the inputs' values."""
    op, a = m.op, m.args
    if op in ("var", "adj"):
        return env[m.name]
    if op == "const":
        return sp.Matrix([[_num(m.value.subs(env.get("__sizes__", {})), numeric)]])
    if op == "ones":
        r, c = _dims(m.shape, env)
        return sp.ones(r, c)
    if op == "eye":
        return sp.eye(_dims(m.shape, env)[0])
    args = [evaluate(x, env, numeric) for x in a]
    if op == "add":
        return _broadcast(args, lambda u, v: u + v)
    if op == "sub":
        return _broadcast(args, lambda u, v: u - v)
    if op == "neg":
        return -args[0]
    if op == "mul":
        return _broadcast(args, lambda u, v: u * v)
    if op == "div":
        return _broadcast(args, lambda u, v: u / v)
    if op == "pow":
        return args[0].applyfunc(lambda u: _num(u ** m.value, numeric))
    if op == "matmul":
        return args[0] * args[1]
    if op == "T":
        return args[0].T
    if op == "sum":
        return sp.Matrix([[sum(args[0])]])
    if op == "mean":
        return sp.Matrix([[sum(args[0]) / len(args[0])]])
    if op == "sqnorm":
        return sp.Matrix([[sum(u**2 for u in args[0])]])
    if op == "norm":
        return sp.Matrix([[_num(sp.sqrt(sum(u**2 for u in args[0])), numeric)]])
    if op == "dot":
        return sp.Matrix([[sum(u * v for u, v in zip(args[0], args[1], strict=True))]])
    if op == "trace":
        return sp.Matrix([[args[0].trace()]])
    if op == "fn":
        record = FUNCTIONS[m.name]
        return args[0].applyfunc(lambda u: _num(record(u), numeric))
    if op == "softmax":
        e = args[0].applyfunc(lambda u: _num(sp.exp(u), numeric))
        total = sum(e)
        return e.applyfunc(lambda u: u / total)
    raise ValueError(f"unknown operation {op}")  # pragma: no cover


def _num(e: sp.Expr, numeric: bool) -> sp.Expr:
    return elementary(e).evalf(DIGITS) if numeric else e


def _dims(shape: Shape, env: Env) -> tuple[int, int]:
    sizes = env.get("__sizes__", {})
    return int(sp.sympify(shape[0]).subs(sizes)), int(sp.sympify(shape[1]).subs(sizes))


def _broadcast(args: list[sp.Matrix], f) -> sp.Matrix:
    a, b = args
    if a.shape == (1, 1) and b.shape != (1, 1):
        return b.applyfunc(lambda v: f(a[0], v))
    if b.shape == (1, 1) and a.shape != (1, 1):
        return a.applyfunc(lambda u: f(u, b[0]))
    return sp.Matrix(a.shape[0], a.shape[1], lambda i, j: f(a[i, j], b[i, j]))


def _size_sets(shapes: dict[str, Shape]) -> list[dict[sp.Symbol, int]]:
    names = sorted({s for shape in shapes.values() for s in shape if s.is_Symbol}, key=str)
    return [{s: SIZES[(i + k) % len(SIZES)] for k, s in enumerate(names)}
            for i in range(len(SIZES))]


def _draw(d, sizes: dict, rng: random.Random, positive: bool, symbolic: bool = False) -> Env:
    env: Env = {"__sizes__": sizes}
    for name, shape in d.shapes.items():
        rows, cols = (int(sp.sympify(x).subs(sizes)) for x in shape)
        if symbolic:
            entries = [sp.Symbol(f"{name}_{i}_{j}", real=True)
                       for i in range(rows) for j in range(cols)]
        else:
            lo = 0.2 if positive else -1.5
            entries = [sp.Float(repr(rng.uniform(lo, 1.5)), DIGITS) for _ in range(rows * cols)]
        value = sp.Matrix(rows, cols, entries)
        if not symbolic and name in d.simplex:
            value = value.applyfunc(abs) / sum(value.applyfunc(abs))
        env[name] = value
    return env


def _forward(d, env: Env, start: int = 0) -> Env:
    for node in d.nodes[start:]:
        env[node.name] = evaluate(node.expr, env, numeric=True)
    return env


def _real(env: Env) -> bool:
    return all(v.is_real is not False and not v.has(sp.I, sp.zoo, sp.nan)
               for k, m in env.items() if k != "__sizes__" for v in m)


def _point(d, sizes: dict, rng: random.Random) -> Env:
    for attempt in range(20):
        env = _forward(d, _draw(d, sizes, rng, positive=attempt >= 10))
        if _real(env):
            return env
    raise DomainError(f"no random point of {d.text!r} lies in its domain")


def _differences(d, env: Env, name: str) -> sp.Matrix:
    """∂L/∂name by central differences, the nodes after it recomputed."""
    names = [n.name for n in d.nodes]
    start = names.index(name) + 1 if name in names else 0
    base = env[name]
    out = sp.zeros(*base.shape)
    for i in range(base.shape[0]):
        for j in range(base.shape[1]):
            values = []
            for sign in (1, -1):
                trial = dict(env)
                moved = base.copy()
                moved[i, j] = base[i, j] + sign * STEP
                trial[name] = moved
                values.append(_forward(d, trial, start)[d.loss][0])
            out[i, j] = (values[0] - values[1]) / (2 * STEP)
    return out


def _close(a: sp.Matrix, b: sp.Matrix) -> bool:
    return a.shape == b.shape and all(
        abs(u - v) <= TOLERANCE * max(1, abs(u), abs(v)) for u, v in zip(a, b, strict=True))


def _check(passed: bool, points: int, against: str) -> Check:
    return Check(Method.CENTRAL_DIFFERENCES, passed, points, DIGITS, TOLERANCE, against)


def verify(d, gradients: Sequence[tuple[str, M, M]], seed: int = 0):
    """``d`` with every step's and gradient's check filled in (VerificationError if one fails).

    ``gradients`` are (name, named form, expanded form) per parameter.
    """
    rng = random.Random(seed)
    size_sets = _size_sets(d.shapes)
    against = "central differences at " + "; ".join(
        ", ".join(f"{k}={v}" for k, v in sizes.items()) or "the declared sizes"
        for sizes in size_sets)
    passed: dict[int, bool] = {}
    grads: dict[str, bool] = {}
    for sizes in size_sets:
        env = _point(d, sizes, rng)
        for k, step in enumerate(d.steps):
            if step.kind.value == "definition":
                continue
            name = step.lhs.name
            reference = _differences(d, env, name)
            ok = all(_close(evaluate(f, env, numeric=True), reference)
                     for f in step.forms[1:] or step.forms)
            passed[k] = passed.get(k, True) and ok
        for name, named, expanded in gradients:
            reference = _differences(d, env, name)
            ok = all(_close(evaluate(f, env, numeric=True), reference) for f in (named, expanded))
            grads[name] = grads.get(name, True) and ok
    steps = tuple(
        dataclasses.replace(s, check=_check(passed[k], len(size_sets), against))
        if k in passed else s for k, s in enumerate(d.steps))
    out: dict[str, MatrixGradient] = {}
    for name, named, expanded in gradients:
        exact = _exact(d, name, expanded, size_sets[0])
        check = _check(grads[name], len(size_sets), against)
        out[name] = MatrixGradient(name, d.shapes[name], named, expanded, check, exact)
    for s in steps:
        if not s.verified:
            raise VerificationError(f"step {s.lhs} = {s.result} does not match central "
                                    "differences: symgrad has a bug")
    for g in out.values():
        if not (g.check.passed and g.exact.passed):
            raise VerificationError(f"∂{d.loss}/∂{g.wrt} = {g.expanded} does not match "
                                    f"{'sympy.diff' if g.check.passed else 'central differences'}"
                                    ": symgrad has a bug")
    sizes_text = "; ".join(", ".join(f"{k}={v}" for k, v in s.items()) for s in size_sets)
    meta = {**d.meta, "sizes": sizes_text or "the declared sizes"}
    return dataclasses.replace(d, steps=steps, gradients=out, meta=meta)


def _exact(d, name: str, expanded: M, sizes: dict) -> Check:
    """The gradient entry by entry against sympy.diff of the loss written out at ``sizes``."""
    small = {k: 2 for k in sizes}
    env = _draw(d, small, random.Random(0), positive=False, symbolic=True)
    simplex = []
    for label in d.simplex:  # one-hot labels: the groups same_all draws on the simplex
        simplex.append(tuple(env[label]))
    loss_env = dict(env)
    for node in d.nodes:
        loss_env[node.name] = evaluate(node.expr, loss_env)
    loss = loss_env[d.loss][0]
    claimed = evaluate(expanded, env)
    pairs = [(sp.diff(loss, entry), claimed[k]) for k, entry in enumerate(env[name])]
    at = ", ".join(f"{k}=2" for k in sizes) or "the declared sizes"
    return dataclasses.replace(combined(same_all(pairs, simplex=simplex, points=3)),
                               against=f"sympy.diff of the loss written out entry by entry at {at}")

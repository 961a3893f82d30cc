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
import functools
import random
from collections.abc import Sequence

import sympy as sp

from symgrad.core.errors import DomainError, VerificationError
from symgrad.core.functions import FUNCTIONS, elementary
from symgrad.core.matrix import M, Shape, is_symmetric
from symgrad.core.matrix_steps import MatrixGradient
from symgrad.core.verify import Check, Method, combined, kinks, same_all

DIGITS = 40
#: The step of the differences: their error is about (STEP/δ)² near a pole δ away (sin(tan(u)) by
#: u = 1.5707), and rounding leaves them about 10^-DIGITS/STEP.
STEP = sp.Float("1e-16", DIGITS)
TOLERANCE = 1e-15
#: The sizes each size name takes at the three points (one point per set of sizes).
SIZES = (2, 3, 4)

Env = dict[str, sp.Matrix]
#: The key of ∂L/∂v's value in an :data:`Env` is ADJOINT + v (a chain form uses its users').
ADJOINT = "∂"


def evaluate(m: M, env: Env, numeric: bool = False) -> sp.Matrix:
    """The value of ``m`` as a SymPy matrix (a scalar is 1×1) given the inputs' values."""
    op, a = m.op, m.args
    if op == "var":
        return env[m.name]
    if op == "adj":
        return env[ADJOINT + m.name]
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
        value = symmetrized(shape, sp.Matrix(rows, cols, entries))
        if not symbolic and name in d.simplex:
            value = value.applyfunc(abs) / sum(value.applyfunc(abs))
        env[name] = value
    return env


def symmetrized(shape: Shape, value: sp.Matrix) -> sp.Matrix:
    """A random value of a matrix declared symmetric made symmetric (its upper triangle
    mirrored); any other value as it is.

    >>> from symgrad.core.matrix import parse_shapes
    >>> symmetrized(parse_shapes("D: 2 x 2 symmetric")["D"], sp.Matrix([[1, 2], [3, 4]]))
    Matrix([
    [1, 2],
    [2, 4]])
    """
    if not is_symmetric(shape):
        return value
    return sp.Matrix(*value.shape, lambda i, j: value[min(i, j), max(i, j)])


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
            _off_kinks(d, env)
            return env
    raise DomainError(f"no random point of {d.text!r} lies in its domain")


#: How close to a kink a value must be to sit on it: far below the step of the differences, and
#: far above what 40 digits leave of an expression that is 0 whatever its inputs (Xw − Xw).
AT_KINK = sp.Float("1e-25", DIGITS)


def _off_kinks(d, env: Env) -> None:
    """A DomainError if a function is applied to a value where it has no derivative: on a kink
    (relu, abs, sign), such as relu(Xw − Xw), or on a singular point of its derivative (sqrt at
    0), such as sqrt(y − y). Drawn at random, a value lies there only when it does so whatever
    the inputs (and there are no differences to compare either)."""
    definitions = {n.name: n.expr for n in d.nodes}

    def walk(m: M) -> None:
        for a in m.args:
            walk(a)
        if m.op != "fn" or not _names(m.args[0]):
            return
        places, slope = _kinks_and_slope(m.name)
        value = evaluate(m.args[0], env, numeric=True)
        on_kink = any(abs(k.subs(_Z, u)) < AT_KINK for k in places for u in value)
        singular = [] if on_kink else [u for u in value if not slope.subs(_Z, u).is_finite]
        if not (on_kink or singular):
            return
        arg = m.args[0]
        named = (f"{arg} = {definitions[arg.name]}" if arg.op == "var"
                 and arg.name in definitions else str(arg))
        if on_kink:
            raise DomainError(f"{m} sits on the kink of {m.name} at every point: {named} is 0 "
                              f"whatever the inputs, where {m.name} has no derivative; simplify "
                              "the expression")
        at = "0" if abs(singular[0]) < AT_KINK else f"{float(singular[0]):g}"
        raise DomainError(f"{m} has no derivative at any point: {named} is {at} whatever "
                          f"the inputs, where the derivative of {m.name} is undefined; simplify "
                          "the expression")

    for node in d.nodes:
        walk(node.expr)


_Z = sp.Symbol("_z", real=True)


@functools.cache
def _kinks_and_slope(name: str) -> tuple[list[sp.Expr], sp.Expr]:
    """Where function ``name`` of z has kinks (expressions in z that are 0 there), and its
    derivative in z: worked out once per function, not at every node and point."""
    f = elementary(FUNCTIONS[name](_Z))
    return kinks([f]), sp.diff(f, _Z)


def _names(m: M) -> set[str]:
    return {m.name} if m.op == "var" else set().union(*(_names(a) for a in m.args))


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


def _checked(step) -> bool:
    return step.kind.value != "definition"


def _sizes_text(sizes: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) or "the declared sizes"


def verify(d, gradients: Sequence[tuple[str, M, M]], seed: int = 0):
    """``d`` with every step's and gradient's checks filled in (VerificationError if one fails).

    ``gradients`` are (name, named form, expanded form) per parameter. Every form of a step is
    checked, its chain form too: there the adjoints ∂L/∂u of its users take their reference
    values (central differences; sympy.diff), never the engine's claims.
    """
    rng = random.Random(seed)
    size_sets = _size_sets(d.shapes)
    against = "central differences at " + "; ".join(_sizes_text(s) for s in size_sets)
    passed: dict[int, bool] = {}
    grads: dict[str, bool] = {}
    for sizes in size_sets:
        env = _point(d, sizes, rng)
        names = {s.lhs.name for s in d.steps if _checked(s)} | {n for n, _, _ in gradients}
        for name in names:
            env[ADJOINT + name] = _differences(d, env, name)
        for k, step in enumerate(d.steps):
            if _checked(step):
                reference = env[ADJOINT + step.lhs.name]
                ok = all(_close(evaluate(f, env, numeric=True), reference) for f in step.forms)
                passed[k] = passed.get(k, True) and ok
        for name, named, expanded in gradients:
            reference = env[ADJOINT + name]
            ok = all(_close(evaluate(f, env, numeric=True), reference) for f in (named, expanded))
            grads[name] = grads.get(name, True) and ok
    exact_steps, exact_grads = _exact(d, gradients, _small_sizes(d.shapes))
    steps = tuple(
        dataclasses.replace(s, check=_check(passed[k], len(size_sets), against),
                            exact=exact_steps[k])
        if k in passed else s for k, s in enumerate(d.steps))
    out: dict[str, MatrixGradient] = {}
    for name, named, expanded in gradients:
        check = _check(grads[name], len(size_sets), against)
        out[name] = MatrixGradient(name, d.shapes[name], named, expanded, check, exact_grads[name])
    for s in steps:
        if not s.verified:
            how = "central differences" if not s.check.passed else "sympy.diff"
            raise VerificationError(f"step {s.lhs} = {s.result} does not match {how}: symgrad "
                                    "has a bug")
    for g in out.values():
        if not (g.check.passed and g.exact.passed):
            raise VerificationError(f"∂{d.loss}/∂{g.wrt} = {g.expanded} does not match "
                                    f"{'sympy.diff' if g.check.passed else 'central differences'}"
                                    ": symgrad has a bug")
    sizes_text = "; ".join(", ".join(f"{k}={v}" for k, v in s.items()) for s in size_sets)
    meta = {**d.meta, "sizes": sizes_text or "the declared sizes",
            "exact sizes": _sizes_text(_small_sizes(d.shapes))}
    return dataclasses.replace(d, steps=steps, gradients=out, meta=meta)


def _small_sizes(shapes: dict[str, Shape]) -> dict[sp.Symbol, int]:
    """The sizes of the exact check: small, and 2 and 3 in turn, so that a product with a
    transpose missing does not conform by accident."""
    names = sorted({s for shape in shapes.values() for s in shape if s.is_Symbol}, key=str)
    return {s: EXACT_SIZES[k % len(EXACT_SIZES)] for k, s in enumerate(names)}


#: The sizes each size name takes in the exact check, in turn (see :func:`_small_sizes`).
EXACT_SIZES = (2, 3)


def _entries(name: str, rows: int, cols: int, shape: Shape | None = None) -> sp.Matrix:
    """The entries as symbols name[i,j]; a symmetric matrix's name[i,j] and name[j,i] are one
    symbol."""
    entries = sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}[{i},{j}]", real=True))
    return entries if shape is None else symmetrized(shape, entries)


def _exact(d, gradients: Sequence[tuple[str, M, M]], sizes: dict
           ) -> tuple[dict[int, Check], dict[str, Check]]:
    """Every step and gradient entry by entry against ``sympy.diff`` of the loss written out at
    ``sizes``, as the scalar engine checks its adjoints: for ∂L/∂v, v is held as a matrix of
    free symbols and the nodes after it are written out in it (the nodes before it are held as
    their own symbols, which stand for their definitions at the points of
    :func:`~symgrad.core.verify.same_all`); for a parameter, the whole loss is written out."""
    held: Env = {"__sizes__": sizes}
    for name, shape in d.shapes.items():
        held[name] = _entries(name, *_dims(shape, held), shape)
    simplex = [tuple(held[label]) for label in d.simplex]  # one-hot labels: on the simplex
    definitions: list[tuple[sp.Symbol, sp.Expr]] = []
    for node in d.nodes:
        value = evaluate(node.expr, held)
        held[node.name] = _entries(node.name, *value.shape)
        definitions += list(zip(held[node.name], value, strict=True))
    names = [n.name for n in d.nodes]

    def adjoint(name: str) -> sp.Matrix:
        local = dict(held)
        for node in d.nodes[names.index(name) + 1 if name in names else 0:]:
            local[node.name] = evaluate(node.expr, local)
        loss = local[d.loss][0]
        return held[name].applyfunc(lambda entry: sp.diff(loss, entry))

    env = dict(held)
    for name in {s.lhs.name for s in d.steps if _checked(s)} | {n for n, _, _ in gradients}:
        env[ADJOINT + name] = adjoint(name)
    claims: list[tuple[object, list[tuple[sp.Expr, sp.Expr]]]] = []
    for k, step in enumerate(d.steps):
        if _checked(step):
            claims.append((k, _pairs(env[ADJOINT + step.lhs.name], step.forms, env)))
    for name, named, expanded in gradients:
        claims.append((name, _pairs(env[ADJOINT + name], (named, expanded), env)))
    checks = same_all([p for _, pairs in claims for p in pairs], simplex=simplex,
                      definitions=definitions, points=3, domain=[s for s, _ in definitions])
    at = _sizes_text(sizes)
    out: tuple[dict[int, Check], dict[str, Check]] = ({}, {})
    for key, pairs in claims:
        mine, checks = checks[:len(pairs)], checks[len(pairs):]
        name = d.steps[key].lhs.name if isinstance(key, int) else key
        held_free = (f"{name} held as free symbols, the nodes after it written out"
                     if name in names else "the loss written out in the inputs")
        check = dataclasses.replace(
            combined(mine), against=f"sympy.diff entry by entry at {at} ({held_free})")
        (out[0] if isinstance(key, int) else out[1])[key] = check
    return out


def _pairs(reference: sp.Matrix, forms: Sequence[M], env: Env) -> list[tuple[sp.Expr, sp.Expr]]:
    out = []
    for form in forms:
        claimed = evaluate(form, env)
        if claimed.shape != reference.shape:
            raise VerificationError(f"{form} is {claimed.shape[0]}×{claimed.shape[1]} at the "
                                    "small sizes, not the shape of its left side: symgrad has a "
                                    "bug")
        out += list(zip(reference, claimed, strict=True))
    return out

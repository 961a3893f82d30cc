r"""Matrix calculus step by step: reverse mode over named intermediates with shapes.

The layout is the denominator layout: ∂L/∂w has the shape of w. A loss (a scalar) is split
into named intermediates (yours, in definitions ``z = X*w; p = sigmoid(z); L = ...``; otherwise
z, p, ... chosen by :func:`split`); going back from the loss, each intermediate's adjoint ∂L/∂v is
the sum of the vector-Jacobian products (VJPs) of its users, each VJP from :data:`VJP`, the one
table of operations (the forward shape rules are the constructors of :mod:`symgrad.core.matrix`),
with its rule named. Every step and result is verified (:mod:`symgrad.core.matrix_check`).

>>> d = derive_matrix("sum((X*w - y)^2)/N", shapes="X: N x d, w: d, y: N", wrt="w")
>>> str(d.gradients["w"].expanded)
'(2/N)·Xᵀ(Xw − y)'
>>> d.verified, d.gradients["w"].shape_list
(True, ['d'])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sympy as sp

from symgrad.core.definitions import split_definitions
from symgrad.core.errors import OptionError, ParseError, ShapeError
from symgrad.core.functions import FUNCTIONS
from symgrad.core.matrix import (
    SCALAR,
    M,
    Shape,
    add,
    adj,
    const,
    div,
    eye,
    is_scalar,
    is_symmetric,
    matmul,
    mul,
    neg,
    ones,
    parse_matrix,
    parse_shapes,
    power,
    reduce,
    shape_text,
    sub,
    transpose,
)
from symgrad.core.matrix_simplify import pushed_transposes, tidy, tidy_keeping_dots
from symgrad.core.matrix_steps import (
    MatrixDerivation,
    MatrixNode,
    MatrixStep,
)
from symgrad.core.steps import AnyRule, Kind, Rule

# --- the table of operations: each op's vector-Jacobian product and its rule -------------------

Vjp = Callable[[M, M, M], list[tuple[M, tuple[AnyRule, ...]]]]
"""(node, incoming adjoint g, the node's value as named) -> per argument: (its VJP, rules)."""


def _unbroadcast(g: M, shape: Shape) -> tuple[M, tuple[AnyRule, ...]]:
    """A scalar broadcast over a vector receives the sum of its adjoint (1ᵀg)."""
    if is_scalar(shape) and not is_scalar(g.shape):
        return reduce("sum", g), (Rule.ONES_VECTOR,)
    return g, ()


def _each(pairs: Sequence[tuple[M, M, tuple[AnyRule, ...]]]) -> list[tuple[M, tuple]]:
    out = []
    for arg, g, rules in pairs:
        g2, more = _unbroadcast(g, arg.shape)
        out.append((g2, rules + more))
    return out


def _fn_vjp(m: M, g: M, named: M) -> list[tuple[M, tuple]]:
    record = FUNCTIONS[m.name]
    if record.derivative is None:  # sign: 0 but at 0, where it jumps (no derivative there)
        raise ParseError(f"{m.name}({m.args[0]}): the matrix language has no derivative of "
                         f"{m.name} (apply it to data only, or leave it out)", text=str(m))
    z = sp.Symbol("_z", real=True)
    derivative = record.derivative(z)
    value = record(z)
    if named != m:  # the identity form in the node's own name: σ'(z) = p ⊙ (1 − p)
        derivative = derivative.subs(value, sp.Symbol("_value", real=True))
    from symgrad.core.matrix_simplify import _Template

    t = _Template({})
    zs, vs = t.atom(m.args[0]), t.atom(named)
    local = t.back(derivative.subs({z: zs, sp.Symbol("_value", real=True): vs}), m.shape)
    rule = (Rule.function(record.rule), Rule.HADAMARD)
    return [(_times(g, local), rule)]


def _softmax_vjp(m: M, g: M, named: M) -> list[tuple[M, tuple]]:
    s = named
    return [(sub(mul(s, g), mul(_dot(s, g), s)), (Rule.SOFTMAX_JACOBIAN,))]


def _dot(a: M, b: M) -> M:
    return M("dot", (a, b), SCALAR)


VJP: dict[str, Vjp] = {
    "add": lambda m, g, _: _each([(m.args[0], g, ()), (m.args[1], g, ())]),
    "sub": lambda m, g, _: _each([(m.args[0], g, ()), (m.args[1], _negated(g), ())]),
    "neg": lambda m, g, _: [(_negated(g), ())],
    "mul": lambda m, g, _: _each([
        (m.args[0], _times(g, m.args[1]), (_product_rule(m),)),
        (m.args[1], _times(g, m.args[0]), (_product_rule(m),)),
    ]),
    "div": lambda m, g, _: _each([
        (m.args[0], div(g, m.args[1]),
         (Rule.CONSTANT_MULTIPLE if m.args[1].op == "const" else Rule.QUOTIENT,)),
        (m.args[1], neg(div(mul(g, m.args[0]), power(m.args[1], 2))), (Rule.QUOTIENT,)),
    ]),
    "pow": lambda m, g, _: [
        (_times(g, _times(const(m.value), _power(m.args[0], m.value - 1))),
         (Rule.POWER, Rule.HADAMARD))
    ],
    "matmul": lambda m, g, _: [
        (_product(g, transpose(m.args[1])), (Rule.LINEAR_MAP,)),
        (_product(transpose(m.args[0]), g), (Rule.LINEAR_MAP,)),
    ],
    "T": lambda m, g, _: [(transpose(g), (Rule.TRANSPOSE,))],
    "sum": lambda m, g, _: [(_times(g, ones(m.args[0].shape)), (Rule.ONES_VECTOR,))],
    "mean": lambda m, g, _: [
        (_times(_times(g, const(1 / (m.args[0].shape[0] * m.args[0].shape[1]))),
                ones(m.args[0].shape)),
         (Rule.MEAN_ONES,))
    ],
    "sqnorm": lambda m, g, _: [(_times(_times(const(2), g), m.args[0]), (Rule.QUADRATIC_FORM,))],
    "norm": lambda m, g, named: [(mul(g, div(m.args[0], named)), (Rule.NORM,))],
    "dot": lambda m, g, _: [(_times(g, m.args[1]), (Rule.LINEAR_MAP,)),
                            (_times(g, m.args[0]), (Rule.LINEAR_MAP,))],
    "trace": lambda m, g, _: [(_times(g, eye(m.args[0].shape[0])), (Rule.TRACE,))],
    "fn": _fn_vjp,
    "softmax": _softmax_vjp,
}


def _product(a: M, b: M) -> M:
    """The matrix product a·b; a scaling by a scalar adjoint without a factor ±1 (the loss's
    adjoint 1 times rᵀ is rᵀ)."""
    return _times(a, b) if is_scalar(a.shape) or is_scalar(b.shape) else matmul(a, b)


def _power(a: M, exponent: sp.Expr) -> M:
    """a^exponent, without a power 1 or 0."""
    return a if exponent == 1 else const(1) if exponent == 0 else power(a, exponent)


def _times(a: M, b: M) -> M:
    """a·b without multiplying by ±1 or leaving a product of two numbers."""
    if a.op == "const" and a.value in (1, -1):
        return b if a.value == 1 else _negated(b)
    if b.op == "const" and b.value in (1, -1):
        return a if b.value == 1 else _negated(a)
    if a.op == "neg":  # a negation goes in front of the whole product
        return _negated(_times(a.args[0], b))
    if a.op == "const" and b.op == "const":
        return const(a.value * b.value)
    return mul(a, b)


def _negated(m: M) -> M:
    """−m, the sign taken by a leading negation or negative number (−(−g) is g): a chain
    form carries no negation of a negation."""
    if m.op == "neg":
        return m.args[0]
    if m.op == "const":
        return const(-m.value)
    if m.op == "mul" and _signed(m.args[0]):
        return mul(_negated(m.args[0]), m.args[1])
    return neg(m)


def _signed(m: M) -> bool:
    if m.op == "const":
        return bool(m.value.could_extract_minus_sign())
    return m.op == "neg" or m.op == "mul" and _signed(m.args[0])


def _product_rule(m: M) -> Rule:
    a, b = m.args
    return Rule.CONSTANT_MULTIPLE if is_scalar(a.shape) or is_scalar(b.shape) else Rule.HADAMARD


# --- the graph ----------------------------------------------------------------------------------

_BOUNDARY = ("fn", "softmax", "pow", "norm", "sqnorm")
_LINEAR_WRAPPERS = ("add", "sub", "neg", "mul", "div")


class _Splitter:
    """One expression into named intermediates: the argument of a nonlinear function (or its
    part that is not an affine wrapper of data, such as X*w in X*w - y) becomes a node."""

    def __init__(self, data: set[str], taken: set[str]) -> None:
        self.data, self.taken = data, taken
        self.nodes: list[MatrixNode] = []
        self.cache: dict[M, M] = {}

    def fresh(self, hint: str) -> str:
        name, k = hint, 2
        while name in self.taken:
            name, k = f"{hint}{k}", k + 1
        self.taken.add(name)
        return name

    def split(self, m: M) -> M:
        if not m.args:
            return m
        inner = self.core if m.op in _BOUNDARY else self.split
        return M(m.op, tuple(inner(a) for a in m.args), m.shape, m.name, m.value)

    def constant(self, m: M) -> bool:
        """Numbers and data, and expressions of them only."""
        return _names(m) <= self.data

    def core(self, m: M) -> M:
        if not m.args:
            return m
        if m.op in _LINEAR_WRAPPERS:
            moving = [a for a in m.args if not self.constant(a)]
            if len(moving) == 1:
                return M(m.op, tuple(a if self.constant(a) else self.core(a) for a in m.args),
                         m.shape, m.name, m.value)
        return self.node(m)

    def node(self, m: M) -> M:
        if m not in self.cache:
            body = self.split(m)
            name = self.fresh(_hint(m))
            self.nodes.append(MatrixNode(name, body, m.shape))
            self.cache[m] = M("var", (), m.shape, name)
        return self.cache[m]


def _hint(m: M) -> str:
    if m.op == "fn":
        return {"sigmoid": "p", "exp": "e", "log": "l"}.get(m.name, "h")
    return {"softmax": "p", "pow": "s", "norm": "n"}.get(m.op, "z" if _has(m, "matmul") else "u")


def _has(m: M, op: str) -> bool:
    return m.op == op or any(_has(a, op) for a in m.args)


def _loss_name(taken: set[str]) -> str:
    return "L" if "L" not in taken else "J"


def build_nodes(text: str, shapes: dict[str, Shape], params: Sequence[str] | None
                ) -> tuple[tuple[MatrixNode, ...], dict[str, Shape]]:
    """The named intermediates of ``text`` (one expression, or definitions one per line or
    ``;``) and the shapes of the inputs; the last node is the loss."""
    statements = split_definitions(text)
    named = any(s.name for s in statements)
    shapes = dict(shapes)
    if named:
        nodes: list[MatrixNode] = []
        known = dict(shapes)
        for s in statements:
            if s.name is None:
                raise ParseError(f"line {s.line}: every line of definitions is name = expression",
                                 text=s.source, column=s.column)
            if s.name in known:
                raise ParseError(f"line {s.line}: {s.name} is already "
                                 + ("a declared input" if s.name in shapes else "defined"),
                                 text=s.source, column=s.name_column)
            expr = _parse_at(s, known)
            known[s.name] = expr.shape
            nodes.append(MatrixNode(s.name, expr, expr.shape))
        return tuple(nodes), shapes
    if len(statements) != 1:
        raise ParseError("give one expression, or definitions name = expression", text=text)
    expr = _parse_at(statements[0], shapes)
    data = set(shapes) - set(params if params is not None else shapes)
    splitter = _Splitter(data, set(shapes) | {"L", "J"})
    body = splitter.split(expr)
    loss = MatrixNode(_loss_name(set(shapes)), body, body.shape)
    return (*splitter.nodes, loss), shapes


def _parse_at(s: Any, shapes: dict[str, Shape]) -> M:
    try:
        return parse_matrix(s.text, shapes)
    except (ParseError, ShapeError) as e:
        column = None if e.column is None else s.column + e.column - 1
        message = str(e)
        if e.column is not None:
            message = message.replace(f"column {e.column}", f"column {column}", 1)
        if s.line > 1 or ";" in s.source or s.name:
            message = f"line {s.line}: {message}"
        error = ShapeError(message, column=column, option=e.option) if isinstance(
            e, ShapeError) else ParseError(
            message, text=s.source, column=column)
        raise error from None


# --- the engine ---------------------------------------------------------------------------------


def _vjps(m: M, g: M, named: M, out: dict[str, list[tuple[M, tuple]]], moving: set[str],
          rules: tuple[AnyRule, ...] = ()) -> None:
    """Reverse mode through one node's expression: the VJP reaching each variable in
    ``moving`` (the parameters and the intermediates), with the rules along the way; data
    (sign(y)) is passed by."""
    if m.op == "var":
        out.setdefault(m.name, []).append((g, rules))
        return
    if not _names(m) & moving:
        return
    parts = VJP[m.op](m, g, named)
    for arg, (vjp, more) in zip(m.args, parts, strict=False):
        if _names(arg) & moving:
            _vjps(arg, vjp, arg, out, moving, rules + tuple(r for r in more if r not in rules))


def _sum(terms: Sequence[M]) -> M:
    out = terms[0]
    for t in terms[1:]:
        out = add(out, t)
    return out


def _substitute(m: M, values: dict[M, M]) -> M:
    if m in values:
        return values[m]
    if not m.args:
        return m
    return M(m.op, tuple(_substitute(a, values) for a in m.args), m.shape, m.name, m.value)


def _as_list(wrt: str | Sequence[str] | None) -> list[str] | None:
    if wrt is None:
        return None
    items = [w.strip() for w in wrt.split(",")] if isinstance(wrt, str) else list(wrt)
    return [str(parse_names_one(w)) for w in items]


def parse_names_one(name: str) -> str:
    from symgrad.core.parse import parse_names

    return str(parse_names(name)[0])


def derive_matrix(
    text: str,
    shapes: str | dict[str, Shape],
    wrt: str | Sequence[str] | None = None,
) -> MatrixDerivation:
    """Derive a scalar loss of vectors and matrices step by step, every step verified.

    ``shapes`` declares every name (``"X: N x d, w: d, y: N, lam: scalar"``); ``wrt`` names the
    parameters (default: every declared name but the matrices declared symmetric), the others
    are data. A matrix declared symmetric (``D: N x N symmetric``) is its own transpose; it is
    data (a gradient by it would differentiate its mirrored entries together): naming it in
    ``wrt`` is refused.

    >>> d = derive_matrix("z = X*w; p = sigmoid(z); "
    ...                   "L = mean(-y .* log(p) - (1 - y) .* log(1 - p))",
    ...                   shapes="X: N x d, w: d, y: N", wrt="w")
    >>> [f"{s.lhs} = {s.result}" for s in d.steps if s.kind is Kind.CHAIN]
    ['∂L/∂p = (1/N)·((p − y) ⊘ (p ⊙ (1 − p)))', '∂L/∂z = (1/N)·(p − y)']
    >>> str(d.gradients["w"].expanded)
    '(1/N)·Xᵀ(σ(Xw) − y)'
    """
    from symgrad.core.matrix_check import verify

    declared = parse_shapes(shapes) if isinstance(shapes, str) else dict(shapes)
    params = _as_list(wrt)
    symmetric = [n for n, shape in declared.items() if is_symmetric(shape)]
    for p in params or ():
        if p not in declared:
            raise OptionError(f"unknown parameter {p!r}; the declared names: "
                              f"{', '.join(declared)}", option="wrt")
        if p in symmetric:
            raise OptionError(f"{p} is declared symmetric: a gradient by a symmetric matrix is "
                              "not supported (declare it without symmetric to differentiate by "
                              "it)", option="wrt")
    if params is None:
        params = [n for n in declared if n not in symmetric]
    nodes, declared = build_nodes(text, declared, params)
    loss = nodes[-1]
    used = {n for node in nodes for n in _names(node.expr)}
    params = [p for p in params if p in used]
    if not params:
        raise OptionError("no parameter to differentiate by occurs in the expression",
                          option="wrt")
    if not is_scalar(loss.shape):
        raise ShapeError(f"the loss {loss.name} is {shape_text(loss.shape)}, not a scalar: a "
                         "gradient needs a scalar loss (wrap it in sum(...), mean(...) or "
                         "norm(...)^2)")
    node_names = [n.name for n in nodes]
    of = sp.Symbol(loss.name)
    incoming: dict[str, list[tuple[M, tuple, str]]] = {}
    for node in reversed(nodes):
        reached: dict[str, list[tuple[M, tuple]]] = {}
        g = const(1) if node is loss else adj(node.name, node.shape, of)
        _vjps(node.expr, g, M("var", (), node.shape, node.name), reached,
              {*params, *node_names})
        for name, terms in reached.items():
            for vjp, rules in terms:
                incoming.setdefault(name, []).append((vjp, rules, node.name))
    values: dict[M, M] = {}  # ∂L/∂v (as adj) -> its tidy value, in named intermediates
    steps: list[MatrixStep] = [
        MatrixStep(Kind.DEFINITION, (Rule.DEFINITION,), M("var", (), n.shape, n.name),
                   (n.expr,), n.shape, None) for n in nodes
    ]
    chain_steps: list[MatrixStep] = []
    simplex: list[str] = []
    symmetric = [n for n in symmetric if n in used]
    assumptions: list[str] = [f"{n}ᵀ = {n} ({n}: symmetric)" for n in symmetric]
    named_grads: dict[str, tuple[M, M, tuple]] = {}
    for name in [*reversed(node_names[:-1]), *params]:
        terms = incoming.get(name, [])
        if not terms:
            continue
        shape = nodes[node_names.index(name)].shape if name in node_names else declared[name]
        raw = _sum([t for t, _, _ in terms])
        chain = pushed_transposes(raw)  # (rᵀD)ᵀ written Dᵀr
        rules: list[AnyRule] = []
        for _, rs, _ in terms:
            rules += [r for r in rs if r not in rules]
        if len(terms) > 1:
            rules.append(Rule.MULTIVARIABLE_CHAIN)
        elif terms[0][2] != loss.name:
            rules.append(Rule.CHAIN)
        substituted = _substitute(raw, values)
        value = tidy(substituted)
        middle: tuple[M, ...] = ()
        after_softmax = any(nodes[node_names.index(u)].expr.op == "softmax" for _, _, u in terms)
        given, one_hot = _one_hot(value, params) if after_softmax else ({}, [])
        if given:  # −y + (pᵀ(y ⊘ p))·p = −y + (1ᵀy)·p = p − y
            middle = (tidy_keeping_dots(substituted), value)
            value = tidy(value, given)
            rules.append(Rule.ONE_HOT_CANCELLATION)
            simplex += [n for n in one_hot if n not in simplex]
            assumptions += [f"1ᵀ{n} = 1 ({n}: one-hot labels)" for n in one_hot
                            if f"1ᵀ{n} = 1 ({n}: one-hot labels)" not in assumptions]
        lhs = adj(name, shape, of)
        values[lhs] = value
        forms = tuple(dict.fromkeys((chain, *middle, value)))
        if name in node_names:
            chain_steps.append(MatrixStep(Kind.CHAIN, tuple(rules), lhs, forms, shape, None))
        else:
            named_grads[name] = (value, chain, tuple(rules))
    definitions = {M("var", (), n.shape, n.name): n.expr for n in nodes}
    grad_steps = []
    for name, (value, chain, rules) in named_grads.items():
        expanded = tidy(_expand(value, definitions))
        forms = tuple(dict.fromkeys((chain, value, expanded)))
        grad_steps.append((name, MatrixStep(Kind.SUBSTITUTION, (*rules, Rule.SUBSTITUTE_BACK),
                                            adj(name, declared[name], of), forms,
                                            declared[name], None), value, expanded))
    draft = MatrixDerivation(
        text=text, shapes=declared, nodes=nodes, params=tuple(params),
        steps=(*steps, *chain_steps, *(s for _, s, _, _ in grad_steps)),
        gradients={}, title=f"Gradient of {text}" if "\n" not in text else
        "Gradient of the typed definitions", assumptions=tuple(assumptions),
        simplex=tuple(simplex), symmetric=tuple(symmetric),
    )
    return verify(draft, [(n, v, e) for n, _, v, e in grad_steps])


def _names(m: M) -> set[str]:
    return {m.name} if m.op == "var" else set().union(*(_names(a) for a in m.args))


def _expand(m: M, definitions: dict[M, M]) -> M:
    while True:
        out = _substitute(m, definitions)
        if out == m:
            return out
        m = out


def _one_hot(value: M, params: Sequence[str]) -> tuple[dict[M, M], list[str]]:
    """sum(y) of a data vector y left by softmax's Jacobian: 1 for one-hot labels."""
    found: dict[M, M] = {}
    names: list[str] = []

    def walk(m: M) -> None:
        if m.op == "sum" and m.args[0].op == "var" and m.args[0].name not in params:
            found[m] = const(1)
            names.append(m.args[0].name)
        for a in m.args:
            walk(a)

    walk(value)
    return found, names

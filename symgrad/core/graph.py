"""Expression graphs: named intermediates (z, y_hat, u, ...) as SymPy expressions.

A :class:`Graph` is what the derivation engine differentiates. Its nodes are in topological order
and
each defines one symbol in terms of earlier symbols, parameters and data; the last node is the
output.
For a loss over samples (``mean_over_samples``) the nodes describe one sample ``i`` and the loss is
``L = (1/N) sum_i output_i + penalty``.

>>> import sympy as sp
>>> a, b, c, u, v, j = sp.symbols("a b c u v j", real=True)
>>> g = Graph(nodes=(Node(u, b * c), Node(v, a + u), Node(j, 3 * v)), params=(a, b, c))
>>> g.output
j
>>> g.full(v)
a + b*c
>>> [n.symbol for n in g.consumers(u)]
[v]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

#: The symbols every loss over samples shares.
i = sp.Symbol("i", integer=True, positive=True)
N = sp.Symbol("N", integer=True, positive=True)
L = sp.Symbol("L", real=True)


@dataclass(frozen=True)
class Node:
    """One named intermediate: ``symbol = expr``.

    ``keep`` says whether results keep this name (y_hat, z) or substitute it back (u), as a lecturer
    writes dL/dw = (2/N) sum (y_hat_i - y_i) x_i rather than (2/N) sum u_i x_i.
    """

    symbol: sp.Symbol
    expr: sp.Expr
    keep: bool = True
    label: str = ""

    def local(
        self, var: sp.Symbol, diff: Callable[[sp.Expr, sp.Symbol], sp.Expr] = sp.diff
    ) -> sp.Expr:
        """d(expr)/d(var), of the evaluated expression (so (a^2)^2 gives 4 a^3, not 4 a^4/a);
        ``diff`` differentiates (``sympy.diff``, or one that remembers)."""
        return diff(self.expr.doit(), var)


@dataclass(frozen=True)
class Graph:
    """Nodes in topological order (the last is the output), the parameters, and the data symbols.

    ``features`` and ``labels`` are the per-sample data (x_i, y_i) of a loss over samples.

    A loss over samples is ``L = (1/N) sum_i output_i + penalty``, or without the 1/N when
    ``summed``; ``output_symbol`` names L (default ``L``). ``recognized`` lists the
    :class:`~symgrad.core.recognize.Recognition`\\ s made in typed text, shown as steps.

    ``sum_to_one`` lists groups of data symbols known to sum to one (one-hot labels), which the
    engine uses to show the softmax + cross-entropy cancellation and the verification respects.
    """

    nodes: tuple[Node, ...]
    params: tuple[sp.Symbol, ...]
    features: tuple[sp.Symbol, ...] = ()
    labels: tuple[sp.Symbol, ...] = ()
    mean_over_samples: bool = False
    penalty: sp.Expr = sp.S.Zero
    sum_to_one: tuple[tuple[sp.Symbol, ...], ...] = ()
    output_symbol: sp.Symbol | None = field(default=None)
    summed: bool = False
    recognized: tuple[Any, ...] = ()

    @property
    def weight(self) -> sp.Expr:
        """The factor of the sum over samples: 1/N for a mean, 1 for a plain sum (``summed``)."""
        return sp.S.One if self.summed else 1 / N

    @property
    def data(self) -> tuple[sp.Symbol, ...]:
        """The per-sample data symbols: features, then labels."""
        return self.features + self.labels

    @property
    def output(self) -> sp.Symbol:
        """The symbol of the last node (the per-sample loss, or the expression's value)."""
        return self.nodes[-1].symbol

    @property
    def result_symbol(self) -> sp.Symbol:
        """What is differentiated: L for a loss over samples, else the output node."""
        if self.output_symbol is not None:
            return self.output_symbol
        return L if self.mean_over_samples else self.output

    def node(self, symbol: sp.Symbol) -> Node:
        """The node defining ``symbol``."""
        for n in self.nodes:
            if n.symbol == symbol:
                return n
        raise KeyError(symbol)

    @property
    def definitions(self) -> dict[sp.Symbol, sp.Expr]:
        """``{symbol: expr}`` for every node."""
        return {n.symbol: n.expr for n in self.nodes}

    def consumers(self, symbol: sp.Symbol) -> list[Node]:
        """The nodes whose definition uses ``symbol`` directly."""
        return [n for n in self.nodes if symbol in n.expr.free_symbols]

    def inputs(self, node: Node) -> list[sp.Symbol]:
        """The differentiable symbols a node uses directly (nodes and parameters), in graph
        order."""
        order = [n.symbol for n in self.nodes] + list(self.params)
        used = node.expr.free_symbols
        return [s for s in order if s in used]

    def full(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with every node symbol replaced by its definition, down to parameters and
        data."""
        for n in reversed(self.nodes):
            expr = expr.xreplace({n.symbol: n.expr})
        return expr

    def substitute(self, expr: sp.Expr, defs: dict[sp.Symbol, sp.Expr]) -> sp.Expr:
        """``expr`` with the definitions ``defs`` (of some of the nodes) put in until none is left;
        one definition may use another, so there is at most a round per node."""
        for _ in self.nodes:
            new = expr.xreplace(defs)
            if new == expr:
                break
            expr = new
        return expr

    def per_sample(self) -> set[sp.Symbol]:
        """Symbols that carry the sample index i: the data and, for a loss over samples, the
        nodes."""
        if not self.mean_over_samples:
            return set()
        return set(self.data) | {n.symbol for n in self.nodes}


def as_written(expr: sp.Expr, mapping: Mapping[sp.Expr, sp.Expr]) -> sp.Expr:
    """``expr.xreplace(mapping)`` with the sums, products and powers it rebuilds kept as written
    (2 (w x + b - y), not 2 w x + 2 b - 2 y); functions and where() evaluate as usual (SymPy's
    Piecewise does not build under ``sympy.evaluate(False)``: it recurses without end on some
    conditions).

    >>> w, x, b, u = sp.symbols("w x b u", real=True)
    >>> as_written(sp.Mul(2, u, evaluate=False), {u: w * x + b})
    2*(b + w*x)
    """
    def walk(e: sp.Expr) -> sp.Expr:
        if e in mapping:
            return mapping[e]
        if not e.args:
            return e
        args = [walk(a) for a in e.args]
        if all(a is b for a, b in zip(args, e.args, strict=True)):
            return e
        if isinstance(e, sp.Add | sp.Mul | sp.Pow):
            return e.func(*args, evaluate=False)
        return e.func(*args)

    return walk(expr)


# --- graphs of typed expressions ---------------------------------------------------------------

#: Names for intermediates, in the order the lecture uses them (u = b c, v = a + u, ...).
INTERMEDIATE_NAMES = ("u", "v", "t", "s", "r", "q", "p", "m", "n", "k")


def _is_leaf(e: sp.Expr) -> bool:
    """Symbols, numbers, and a number times a symbol (-y) or 1/symbol stay inside their parent."""
    if e.is_Atom:
        return True
    if isinstance(e, sp.Mul) and len(e.args) == 2 and e.args[0].is_Number:
        return e.args[1].is_Atom
    return isinstance(e, sp.Pow) and e.base.is_Atom and e.exp.is_Number


def _fresh_names(taken: set[str]):
    for name in INTERMEDIATE_NAMES:
        if name not in taken:
            yield name
    k = 1
    while True:
        if f"u{k}" not in taken:
            yield f"u{k}"
        k += 1


def expression_graph(
    expr: sp.Expr, output: str = "j", params: tuple[sp.Symbol, ...] | None = None
) -> Graph:
    """Split an expression into one node per operation, named u, v, ... as in the lecture.

    The parameters are ``params`` (default: the expression's symbols); the other symbols are data
    (the graph's ``features``), and a part without parameters (1 - y) stays inside its parent:
    nothing is differentiated with respect to data. A repeated subexpression is one node used
    twice.
    Build the expression unevaluated (as :func:`symgrad.core.parse.parse` does) to keep the
    structure
    typed: SymPy itself would rewrite 3 (a + b c) as 3 a + 3 b c.

    >>> a, b, c = sp.symbols("a b c", real=True)
    >>> g = expression_graph(sp.Mul(3, a + b * c, evaluate=False))
    >>> [(str(n.symbol), str(n.expr)) for n in g.nodes]
    [('u', 'b*c'), ('v', 'a + u'), ('j', '3*v')]
    """
    symbols = sorted(expr.free_symbols, key=str)
    taken = {str(s) for s in symbols}
    explicit = params is not None
    if params is None:
        params = tuple(symbols)
    varying = set(params)
    out_name = output if output not in taken else next(_fresh_names(taken | {output}))
    taken.add(out_name)
    names = _fresh_names(taken)
    nodes: list[Node] = []
    made: dict[sp.Expr, sp.Symbol] = {}

    def leaf(e: sp.Expr) -> bool:
        if _is_leaf(e) or not e.free_symbols & varying:
            return True
        # with parameters named, a parameter times data (w x) is a leaf too, as in w x + b
        product = explicit and isinstance(e, sp.Mul) and all(a.is_Atom for a in e.args)
        return product and len(e.free_symbols & varying) == 1

    def visit(e: sp.Expr, top: bool = False) -> sp.Expr:
        if leaf(e) and not top:
            return e
        if e in made:
            return made[e]
        # a term subtracted stays in its sum: q = 1 - v, not r = -v and q = 1 + r; a piece of
        # where(cond, a, b) is its value and its condition, not a node
        within = _minus if isinstance(e, sp.Add) else _piece if isinstance(
            e, sp.Piecewise) else lambda a, visit: visit(a)
        args = [within(a, visit) for a in e.args] if not leaf(e) else list(e.args)
        if e.is_Atom:  # the whole expression is one symbol: j = a
            body = e
        elif isinstance(e, sp.Add | sp.Mul | sp.Pow):
            body = e.func(*args, evaluate=False)
        else:
            body = e.func(*args)
        sym = sp.Symbol(out_name if top else next(names), real=True)
        # with parameters named, the results are written without the generated names u, v, ...
        nodes.append(Node(sym, body, keep=top or not explicit))
        made[e] = sym
        return sym

    visit(expr, top=True)
    data = [s for s in symbols if s not in varying]
    return Graph(tuple(nodes), tuple(params), features=tuple(s for s in data if not is_label(s)),
                 labels=tuple(s for s in data if is_label(s)))


def is_label(symbol: sp.Symbol) -> bool:
    """Whether a data name is a label (y, y1, y_true), not a feature: features go last in a
    product as a lecturer writes it (w·x), labels keep their place (y·log(ŷ)).

    >>> is_label(sp.Symbol("y_i")), is_label(sp.Symbol("x1"))
    (True, False)
    """
    return symbol.name.startswith("y")


def typed_negative(e: sp.Expr) -> sp.Expr | None:
    """x, for an expression typed as ``-x`` (SymPy's unevaluated ``Mul(-1, x)``); else None."""
    if isinstance(e, sp.Mul) and len(e.args) == 2 and e.args[0] == -1:
        return e.args[1]
    return None


def negated(e: sp.Expr, evaluate: bool = True) -> sp.Expr:
    """-e, keeping a typed sum as typed: -(-(w x + b)) is w x + b.

    >>> w, x, b = sp.symbols("w x b", real=True)
    >>> negated(sp.Mul(-1, w * x + b, evaluate=False)), negated(w * x + b, evaluate=False)
    (b + w*x, -(b + w*x))
    """
    x = typed_negative(e)
    return x if x is not None else sp.Mul(-1, e, evaluate=evaluate)


def _minus(e: sp.Expr, visit: Callable[[sp.Expr], sp.Expr]) -> sp.Expr:
    """A term of a sum, visited: a term typed as ``-x`` stays ``-x`` with x visited (a node),
    rather than becoming a node of its own."""
    x = typed_negative(e)
    return visit(e) if x is None else sp.Mul(-1, visit(x), evaluate=False)


def _piece(pair: sp.Expr, visit: Callable[[sp.Expr], sp.Expr]) -> sp.Expr:
    """A piece (value, condition) of a Piecewise, visited: the value, and each side of a
    comparison (z > 0 with z a node), stay inside the piece."""
    value, cond = pair.args
    if isinstance(cond, sp.core.relational.Relational):
        cond = cond.func(visit(cond.lhs), visit(cond.rhs), evaluate=False)
    return type(pair)(visit(value), cond)


@dataclass(frozen=True)
class Values:
    """Forward values and backward gradients (adjoints) of every symbol in a graph at one point."""

    value: dict[sp.Symbol, sp.Expr]
    grad: dict[sp.Symbol, sp.Expr]


def forward_backward(graph: Graph, point: Mapping[str | sp.Symbol, Any]) -> Values:
    """Evaluate every node at ``point``, then propagate d(output)/d(node) back, micrograd-style.

    ``point`` maps parameter names (or their Symbols) to values. Exact when the point is exact
    (integers and fractions). A value outside a function's domain
    raises :class:`~symgrad.core.errors.DomainError` naming the node.

    >>> a, b, c = sp.symbols("a b c", real=True)
    >>> g = expression_graph(sp.Mul(3, a + b * c, evaluate=False))
    >>> vals = forward_backward(g, {a: 1, b: 2, c: 3})
    >>> [int(vals.value[n.symbol]) for n in g.nodes], [int(vals.grad[s]) for s in (a, b, c)]
    ([6, 7, 21], [3, 9, 6])
    >>> forward_backward(g, {"a": 1, "b": 2, "c": 3}).grad[b]
    9
    """
    from symgrad.core.errors import DomainError, OptionError

    point = {str(k): v for k, v in point.items()}
    inputs = (*graph.params, *graph.data)
    missing = [str(s) for s in inputs if str(s) not in point]
    if missing:
        raise OptionError(f"no value given for {', '.join(missing)} (give it in the point)",
                          option="point")
    value = {s: sp.sympify(point[str(s)]) for s in inputs}
    for n in graph.nodes:
        v = n.expr.xreplace(value).doit()  # doit evaluates the unevaluated (typed) structure
        if not v.is_number or v.has(sp.nan, sp.zoo, sp.oo, -sp.oo) or v.is_real is False:
            at = ", ".join(f"{s} = {value[s]}" for s in graph.inputs(n))
            raise DomainError(f"node {n.symbol} = {n.expr} is undefined where {at}")
        value[n.symbol] = v
    grad: dict[sp.Symbol, sp.Expr] = {s: sp.S.Zero for s in value}
    grad[graph.output] = sp.S.One
    for n in reversed(graph.nodes):
        for s in graph.inputs(n):
            local = n.local(s).xreplace(value)
            grad[s] += grad[n.symbol] * local
    return Values(value, grad)


@dataclass(frozen=True)
class Constant:
    """A number an operation uses directly (the 3 in j = 3 v): a constant node of the graph.

    ``local`` is d(node)/d(constant), in the node's inputs (for j = 3 v it is v).
    """

    node: sp.Symbol
    index: int
    value: sp.Expr
    local: sp.Expr


def constants(graph: Graph) -> list[Constant]:
    """The constant nodes: numbers that are arguments of a sum or product node (not exponents).

    >>> a, b, c = sp.symbols("a b c", real=True)
    >>> g = expression_graph(sp.Mul(3, a + b * c, evaluate=False))
    >>> [(str(k.node), k.value, str(k.local)) for k in constants(g)]
    [('j', 3, 'v')]
    """
    out = []
    for n in graph.nodes:
        if not isinstance(n.expr, sp.Add | sp.Mul):
            continue
        for k, arg in enumerate(n.expr.args):
            if arg.is_Number and arg != -1:
                hold = sp.Dummy()
                args = list(n.expr.args)
                args[k] = hold
                local = sp.diff(n.expr.func(*args), hold).xreplace({hold: arg})
                out.append(Constant(n.symbol, k, arg, local))
    return out

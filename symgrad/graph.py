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

from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class Graph:
    """Nodes in topological order (the last is the output), the parameters, and the data symbols.

    ``features`` and ``labels`` are the per-sample data (x_i, y_i) of a loss over samples.

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

    def per_sample(self) -> set[sp.Symbol]:
        """Symbols that carry the sample index i: the data and, for a loss over samples, the
        nodes."""
        if not self.mean_over_samples:
            return set()
        return set(self.data) | {n.symbol for n in self.nodes}

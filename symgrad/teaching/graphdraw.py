r"""Drawing a computational graph: boxes with values and gradients, edges with local derivatives.

The figure the L7 lecture draws for backpropagation: the inputs on the left, one box per operation
(``u = b c``), the output on the right. With :class:`~symgrad.core.graph.Values` each box also
shows the
node's forward value and its gradient (adjoint) ``∂j/∂u``, and every edge carries the symbolic local
derivative of its target with respect to its source (``∂u/∂b = c``), so that a gradient is the sum,
over a node's outgoing edges, of the target's gradient times the edge's local derivative.

=============================  ====================================================================
:func:`edges`                  one :class:`Edge` per (input, consumer) pair, with ∂target/∂source
:func:`layout`                 left-to-right layered positions, deterministic
:func:`draw_graph`             matplotlib, on a given or a new :class:`~matplotlib.axes.Axes`
:func:`to_tikz`                a ``tikzpicture`` (needs ``tikz`` and ``amsmath``)
:func:`tikz_document`          a standalone ``.tex`` file around it, for pdflatex
:func:`save_graph`             ``.png``, ``.svg``, ``.pdf`` (matplotlib), ``.tex`` (TikZ); atomic
=============================  ====================================================================

A node used several times by one consumer (``u = x x``) is one edge whose local derivative is the
total one (``∂u/∂x = 2 x``); a node used by several consumers has one edge to each.

>>> import sympy as sp
>>> from symgrad.core.graph import expression_graph, forward_backward
>>> a, b, c = sp.symbols("a b c", real=True)
>>> g = expression_graph(sp.Mul(3, a + b * c, evaluate=False))
>>> [(str(e.source), str(e.target), str(e.local)) for e in edges(g)]
[('b', 'u', 'c'), ('c', 'u', 'b'), ('a', 'v', '1'), ('u', 'v', '1'), ('v', 'j', '3')]
>>> {str(s): x for s, (x, y) in layout(g).items()}
{'a': 0.0, 'b': 0.0, 'c': 0.0, 'u': 1.0, 'v': 2.0, 'j': 3.0}
>>> ax = draw_graph(g, forward_backward(g, {a: 1, b: 2, c: 3}))
>>> node_lines(ax)["u"]
['$u = b c$', '$= 6$', '$\\partial j/\\partial u = 3$']
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import sympy as sp
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.mathtext import MathTextParser
from matplotlib.offsetbox import AnnotationBbox, TextArea, VPacker
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from symgrad.core.errors import OptionError
from symgrad.core.graph import Graph, Values
from symgrad.core.names import GRAPH_FORMATS
from symgrad.core.numbers import to_float
from symgrad.render._display import arrange
from symgrad.render.latex import expr_latex
from symgrad.render.text import expr_text
from symgrad.teaching._io import atomic_write_text, check_folder
from symgrad.teaching.figfile import InlineFigure, save_figure

__all__ = [
    "Edge",
    "FORMATS",
    "inputs",
    "edges",
    "layers",
    "layout",
    "format_number",
    "draw_graph",
    "node_lines",
    "to_tikz",
    "tikz_document",
    "save_graph",
]

#: The file formats :func:`save_graph` writes.
FORMATS = GRAPH_FORMATS

# Colours: forward values in blue, backward gradients in red, as on the lecture slides.
_FORWARD = "#1f4e9a"
_BACKWARD = "#b2222b"
_EDGE = "#555555"
_FILL = {"input": "#e6eefa", "op": "#f4f4f4", "output": "#fdebd3"}
_BORDER = {"input": "#4a6fa5", "op": "#666666", "output": "#c07a1e"}
_TIKZ_FILL = {"input": "blue!8", "op": "black!4", "output": "orange!15"}
_TIKZ_BORDER = {"input": "blue!50!black", "op": "black!60", "output": "orange!60!black"}


@dataclass(frozen=True)
class Edge:
    """An arrow ``source → target`` and its local derivative ∂target/∂source (symbolic)."""

    source: sp.Symbol
    target: sp.Symbol
    local: sp.Expr


# --- structure ------------------------------------------------------------------------------------


def _printed_order(expr: sp.Expr) -> list[sp.Symbol]:
    """The symbols of ``expr`` in the order a lecturer writes them (a + u: a, then u)."""
    seen: list[sp.Symbol] = []
    for e in sp.preorder_traversal(arrange(expr)):
        if isinstance(e, sp.Symbol) and e not in seen:
            seen.append(e)
    rest = sorted(expr.free_symbols - set(seen), key=str)
    return seen + rest


def inputs(graph: Graph) -> list[sp.Symbol]:
    """The leaves drawn on the left: parameters, then data, then any other symbol the nodes use.

    >>> a, b, u, j = sp.symbols("a b u j", real=True)
    >>> from symgrad.core.graph import Node
    >>> inputs(Graph((Node(u, a * b), Node(j, u + 1)), params=(b, a)))
    [b, a]
    """
    defined = {n.symbol for n in graph.nodes}
    used: set[sp.Symbol] = set()
    for n in graph.nodes:
        used |= n.expr.free_symbols
    order = list(dict.fromkeys(graph.params + graph.features + graph.labels))
    extra = sorted(used - defined - set(order), key=str)
    return [s for s in order if s not in defined] + extra


def edges(graph: Graph) -> list[Edge]:
    """One edge per (input, consumer) pair, in node order, each node's inputs in printed order.

    The local derivative is SymPy's: a symbol used twice by one node (``x x``) gets one edge with
    the total local derivative ``2 x``, which is what the chain rule multiplies.

    >>> x = sp.Symbol("x", real=True)
    >>> from symgrad.core.graph import expression_graph
    >>> g = expression_graph(sp.Add(sp.Mul(x, x, evaluate=False), x, evaluate=False))
    >>> [(str(e.source), str(e.target), str(e.local)) for e in edges(g)]
    [('x', 'u', '2*x'), ('u', 'j', '1'), ('x', 'j', '1')]
    """
    out: list[Edge] = []
    for n in graph.nodes:
        for s in _printed_order(n.expr):
            out.append(Edge(s, n.symbol, n.local(s)))
    return out


def layers(graph: Graph) -> dict[sp.Symbol, int]:
    """Layer of every drawn symbol: 0 for the inputs, else the longest path from an input.

    The output goes last: if a node that nothing consumes reaches its layer, the output moves one
    further right.

    >>> a, b, c = sp.symbols("a b c", real=True)
    >>> from symgrad.core.graph import expression_graph
    >>> layers(expression_graph(sp.Mul(3, a + b * c, evaluate=False)))
    {a: 0, b: 0, c: 0, u: 1, v: 2, j: 3}
    """
    layer = {s: 0 for s in inputs(graph)}
    for n in graph.nodes:
        layer[n.symbol] = 1 + max((layer[s] for s in n.expr.free_symbols if s in layer), default=-1)
    out = graph.output
    others = [v for s, v in layer.items() if s != out]
    if others and max(others) >= layer[out]:
        layer[out] = max(others) + 1
    return layer


def layout(graph: Graph) -> dict[sp.Symbol, tuple[float, float]]:
    """Positions ``(x, y)`` in units of one column and one row: x is the layer, y goes down from 0.

    The inputs are stacked in the order a depth-first walk from the output meets them (each node's
    inputs in printed order), so a tree is drawn without crossings and the lecture's a, b, c come
    out top to bottom; every other node sits at the mean height of its inputs, nodes of one layer
    kept at least one row apart. Deterministic: the same graph always gets the same picture.

    >>> a, b, c = sp.symbols("a b c", real=True)
    >>> from symgrad.core.graph import expression_graph
    >>> pos = layout(expression_graph(sp.Mul(3, a + b * c, evaluate=False)))
    >>> {str(s): y for s, (x, y) in pos.items()}
    {'a': 0.0, 'b': -1.0, 'c': -2.0, 'u': -1.5, 'v': -0.75, 'j': -0.75}
    """
    layer = layers(graph)
    leaves = inputs(graph)
    defs = graph.definitions
    rank: list[sp.Symbol] = []

    def walk(s: sp.Symbol) -> None:
        if s in defs:
            for t in _printed_order(defs[s]):
                walk(t)
        elif s not in rank:
            rank.append(s)

    walk(graph.output)
    for n in reversed(graph.nodes):  # nodes the output does not reach
        walk(n.symbol)
    rank += [s for s in leaves if s not in rank]
    y: dict[sp.Symbol, float] = {s: -float(k) for k, s in enumerate(rank)}
    order = {n.symbol: k for k, n in enumerate(graph.nodes)}
    for col in range(1, max(layer.values(), default=0) + 1):
        here = [n.symbol for n in graph.nodes if layer[n.symbol] == col]
        wanted = {}
        for s in here:
            below = [y[t] for t in defs[s].free_symbols if t in y]
            wanted[s] = sum(below) / len(below) if below else -float(len(rank))
        placed = sorted(here, key=lambda s: (-wanted[s], order[s]))
        ys: list[float] = []
        for s in placed:  # top to bottom, at least one row apart
            ys.append(min(wanted[s], ys[-1] - 1.0) if ys else wanted[s])
        shift = (sum(wanted.values()) - sum(ys)) / len(ys) if ys else 0.0  # keep the mean height
        for s, v in zip(placed, ys, strict=True):
            y[s] = v + shift
    return {s: (float(layer[s]), y[s] + 0.0) for s in [*leaves, *(n.symbol for n in graph.nodes)]}


# --- numbers and labels ---------------------------------------------------------------------------


def format_number(value: sp.Expr | float | int, latex: bool = False, inline: bool = False) -> str:
    r"""A value as a lecturer writes it: integers whole, short fractions as fractions, else 4
    significant digits. ``latex`` writes LaTeX, with ``\frac`` unless ``inline`` (then ``3/4``).

    >>> format_number(sp.Integer(21)), format_number(sp.Rational(-3, 4)), format_number(1 / 3)
    ('21', '−3/4', '0.3333')
    >>> format_number(sp.Rational(-3, 4), latex=True), format_number(sp.exp(9), latex=True)
    ('-\\frac{3}{4}', '8103')
    >>> format_number(sp.Rational(3, 4), latex=True, inline=True)
    '3/4'
    >>> format_number(sp.Rational(1, 123456)), format_number(2.5e-7, latex=True)
    ('8.1×10⁻⁶', '2.5 \\times 10^{-7}')
    """
    v = sp.sympify(value)
    if not v.is_number:
        return expr_latex(v) if latex else expr_text(v)
    minus = "-" if latex else "−"
    if v.is_Integer and abs(v) < 10**9:
        return str(v).replace("-", minus)
    if v.is_Rational and not v.is_Integer and len(f"{abs(v.p)}/{v.q}") <= 7:
        sign = minus if v < 0 else ""
        if latex and not inline:
            return rf"{sign}\frac{{{abs(v.p)}}}{{{v.q}}}"
        return f"{sign}{abs(v.p)}/{v.q}"
    f = to_float(v)
    if f == 0:
        return "0"
    s = f"{f:.4g}"
    if "e" in s:
        mantissa, exponent = s.split("e")
        e = int(exponent)
        if latex:
            return rf"{mantissa} \times 10^{{{e}}}"
        sup = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
        s = f"{mantissa}×10{str(e).translate(sup)}"
    return s.replace("-", minus)


_MATHTEXT = MathTextParser("path")


@lru_cache(maxsize=1024)
def mathtext_ok(latex: str) -> bool:
    r"""Whether matplotlib's mathtext can render ``$latex$`` (it knows no ``cases``, ...).

    >>> mathtext_ok(r"\partial u/\partial b = c"), mathtext_ok(r"\begin{cases} 1 \end{cases}")
    (True, False)
    """
    try:
        _MATHTEXT.parse(f"${latex}$", dpi=72)
    except (ValueError, RuntimeError):
        return False
    return True


def _partial(of: sp.Symbol, wrt: sp.Symbol, latex: bool) -> str:
    if latex:
        return rf"\partial {expr_latex(of)}/\partial {expr_latex(wrt)}"
    return f"∂{expr_text(of)}/∂{expr_text(wrt)}"


_SIZED = re.compile(r"\\(?:left|right)(?:\.|(?=[()\[\]|]|\\[{}|]))")


def _line(latex: str, text: str, math: bool) -> str:
    r"""A mathtext line when matplotlib can render it, else the Unicode text.

    Mathtext draws ``\left(`` smaller than ``(`` in Computer Modern, so plain delimiters are used.

    >>> _line(r"\sigma\left(v\right)", "σ(v)", True), _line(r"\begin{cases}\end{cases}", "{}", True)
    ('$\\sigma(v)$', '{}')
    """
    latex = _SIZED.sub("", latex)
    return f"${latex}$" if math and mathtext_ok(latex) else text


def _kind(graph: Graph, s: sp.Symbol) -> str:
    if s == graph.output:
        return "output"
    return "op" if s in graph.definitions else "input"


def _contents(
    graph: Graph, s: sp.Symbol, values: Values | None, latex: bool, inline: bool = False
) -> list[tuple[str, str]]:
    """The lines of a node's box as ``(role, content)``; role is name, value or grad.

    With ``latex`` the content is LaTeX (without dollars; fractions of values as ``3/4`` when
    ``inline``), else Unicode text.
    """
    show = expr_latex if latex else expr_text

    def number(v: sp.Expr) -> str:
        return format_number(v, latex, inline)

    name = show(s)
    lines: list[tuple[str, str]] = []
    value = None if values is None else values.value.get(s)
    grad = None if values is None else values.grad.get(s)
    if s in graph.definitions:
        lines.append(("name", f"{name} = {show(graph.definitions[s])}"))
        if value is not None:
            lines.append(("value", f"= {number(value)}"))
    else:
        lines.append(("name", name if value is None else f"{name} = {number(value)}"))
    if grad is not None:
        lines.append(("grad", f"{_partial(graph.output, s, latex)} = {number(grad)}"))
    return lines


def _edge_label(edge: Edge, latex: bool) -> str:
    show = expr_latex if latex else expr_text
    return f"{_partial(edge.target, edge.source, latex)} = {show(edge.local)}"


# --- matplotlib -----------------------------------------------------------------------------------


def _spread(n: int) -> list[float]:
    """Where n arrows meet a box side, as fractions of its height from the bottom, top first."""
    if n == 1:
        return [0.5]
    step = min(0.3, 0.7 / (n - 1))
    return [0.5 + step * ((n - 1) / 2 - k) for k in range(n)]


def _along(
    ax: Axes,
    source: AnnotationBbox,
    out_at: float,
    target: AnnotationBbox,
    in_at: float,
    at_x: float,
) -> Callable[[RendererBase], Bbox]:
    """Where an edge label goes: on the drawn arrow, where it crosses ``x = at_x`` (data units);
    found at draw time, so a resized figure keeps its labels on their arrows."""

    def where(renderer: RendererBase) -> Bbox:
        a = source.get_window_extent(renderer)
        b = target.get_window_extent(renderer)
        x0, y0 = a.x1, a.y0 + out_at * a.height
        x1, y1 = b.x0, b.y0 + in_at * b.height
        xd = ax.transData.transform((at_x, 0.0))[0]
        t = min(max((xd - x0) / (x1 - x0), 0.0), 1.0) if x1 != x0 else 0.5
        return Bbox.from_bounds(x0 + t * (x1 - x0), y0 + t * (y1 - y0), 0, 0)

    return where


def _place_labels(
    drawn: list[Edge],
    where: dict[sp.Symbol, tuple[float, float]],
    size: dict[sp.Symbol, Bbox],
    dpi: float,
    ends: dict[Edge, tuple[float, float]],
    label_size: dict[Edge, tuple[float, float]],
    col_x: list[float],
    col_w: list[float],
    gap_w: list[float],
    pos: dict[sp.Symbol, tuple[float, float]],
) -> dict[Edge, float]:
    """The x (inches) of every edge label: the middle of the gap after the source's column unless
    the label would cover a box or an earlier label there; then another point of the same gap or a
    later gap the edge crosses. Edges between neighbouring columns are placed first."""
    taken = []
    for s, (x, y) in where.items():
        w, h = size[s].width / dpi, size[s].height / dpi
        taken.append((x - w / 2, y - h / 2, x + w / 2, y + h / 2))
    out: dict[Edge, float] = {}
    for e in sorted(drawn, key=lambda e: pos[e.target][0] - pos[e.source][0]):
        (xs, ys), (xt, yt) = where[e.source], where[e.target]
        ws, hs = size[e.source].width / dpi, size[e.source].height / dpi
        wt, ht = size[e.target].width / dpi, size[e.target].height / dpi
        x0, y0 = xs + ws / 2, ys + (ends[e][0] - 0.5) * hs
        x1, y1 = xt - wt / 2, yt + (ends[e][1] - 0.5) * ht
        w, h = label_size[e]
        candidates = []
        for col in range(int(pos[e.source][0]), int(pos[e.target][0])):
            mid = col_x[col] + col_w[col] / 2 + gap_w[col] / 2
            room = max(gap_w[col] - w, 0.0) / 2
            candidates += [mid, mid - room * 0.8, mid + room * 0.8]
        best = None
        for cx in candidates:
            t = min(max((cx - x0) / (x1 - x0), 0.0), 1.0) if x1 != x0 else 0.5
            cy = y0 + t * (y1 - y0)
            rect = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            if best is None:
                best = (cx, rect)
            if not any(_overlap(rect, r) for r in taken):
                best = (cx, rect)
                break
        assert best is not None
        out[e] = best[0]
        taken.append(best[1])
    return out


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _node_box(lines: list[tuple[str, str]], kind: str) -> AnnotationBbox:
    colour = {"name": "black", "value": _FORWARD, "grad": _BACKWARD}
    areas = [
        TextArea(text, textprops={"color": colour[role], "fontsize": 14, "math_fontfamily": "cm"})
        for role, text in lines
    ]
    return AnnotationBbox(
        VPacker(children=areas, align="center", pad=0, sep=4),
        (0.0, 0.0),
        frameon=True,
        pad=0.5,
        bboxprops={
            "boxstyle": "round,pad=0.5,rounding_size=0.4",
            "facecolor": _FILL[kind],
            "edgecolor": _BORDER[kind],
            "linewidth": 1.5 if kind == "output" else 1.0,
        },
        zorder=3,
    )


def draw_graph(
    graph: Graph, values: Values | None = None, ax: Axes | None = None, *, math: bool = True,
    local: bool = True,
) -> Axes:
    r"""Draw the graph left to right: a box per input and per node, an arrow per :class:`Edge`.

    Boxes show the node's name and operation (``u = b c``) and, with ``values``, its forward value
    (``= 6``, blue) and gradient (``∂j/∂u = 3``, red); inputs show ``a = 1`` and their gradient.
    Arrows are labelled with their local derivative (``∂u/∂b = c``), in the gap after the source's
    column; with ``local=False`` the arrows are bare (an exercise sheet that leaves the local
    derivatives to the student). Every text is mathtext made from
    :func:`~symgrad.render.latex.expr_latex` where matplotlib can render it, else (or with
    ``math=False``) Unicode from :func:`~symgrad.render.text.expr_text`.

    Positions come from :func:`layout`; the columns are as wide as their widest box and the gaps
    as wide as their widest label, so data units are inches. Without ``ax`` a new
    :class:`~matplotlib.figure.Figure` of exactly that size is made (no pyplot); a given ``ax``
    gets its limits set to the whole graph (its texts keep their size, so give it room). Artists
    carry gids: ``node:u`` (the box), ``edge:b->u`` (the arrow) and ``label:b->u`` (its text);
    :func:`node_lines` reads the boxes' lines back.

    >>> import sympy as sp
    >>> from symgrad.core.graph import expression_graph, forward_backward
    >>> a, b, c = sp.symbols("a b c", real=True)
    >>> g = expression_graph(sp.Mul(3, a + b * c, evaluate=False))
    >>> ax = draw_graph(g, forward_backward(g, {a: 1, b: 2, c: 3}), math=False)
    >>> node_lines(ax)["b"], node_lines(ax)["j"]
    (['b = 2', '∂j/∂b = 9'], ['j = 3·v', '= 21', '∂j/∂j = 1'])
    >>> sorted(t.get_text() for t in ax.texts if t.get_gid().startswith("label:"))[:2]
    ['∂j/∂v = 3', '∂u/∂b = c']
    >>> [t.get_gid() for t in draw_graph(g, local=False).texts if t.get_gid().startswith("label")]
    []
    """
    return _draw(graph, values, ax, math, local)[0]


def _draw(
    graph: Graph, values: Values | None, ax: Axes | None, math: bool, local: bool = True
) -> tuple[Axes, dict[sp.Symbol, tuple[float, float]], dict[Edge, float]]:
    """:func:`draw_graph`, also returning the box centres and the labels' x (inches)."""
    pos = layout(graph)
    new = ax is None
    if ax is None:
        ax = InlineFigure().add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    boxes: dict[sp.Symbol, AnnotationBbox] = {}
    for s in pos:
        tex = _contents(graph, s, values, latex=True, inline=True)
        txt = _contents(graph, s, values, latex=False)
        lines = [(role, _line(lt, tt, math)) for (role, lt), (_, tt) in zip(tex, txt, strict=True)]
        box = _node_box(lines, _kind(graph, s))
        box.set_gid(f"node:{s}")
        ax.add_artist(box)
        boxes[s] = box

    # Measure (in inches) the boxes and the labels, to size the columns and the gaps.
    dpi = ax.figure.dpi
    size = {s: box.get_window_extent() for s, box in boxes.items()}
    drawn = edges(graph)
    labels = {
        e: _line(_edge_label(e, True), _edge_label(e, False), math) for e in drawn if local
    }
    ncol = int(max(x for x, _ in pos.values())) + 1
    col_w = [0.0] * ncol
    for s, (x, _) in pos.items():
        col_w[int(x)] = max(col_w[int(x)], size[s].width / dpi)
    gap_w = [0.7] * ncol
    probe = ax.text(0, 0, "", fontsize=12, math_fontfamily="cm")
    label_size: dict[Edge, tuple[float, float]] = {}
    for e in labels:
        probe.set_text(labels[e])
        ext = probe.get_window_extent()
        label_size[e] = (ext.width / dpi + 0.1, ext.height / dpi + 0.08)
        col = int(pos[e.source][0])
        gap_w[col] = max(gap_w[col], label_size[e][0] + 0.6)
    probe.remove()
    col_x = [col_w[0] / 2]
    for k in range(1, ncol):
        col_x.append(col_x[-1] + col_w[k - 1] / 2 + gap_w[k - 1] + col_w[k] / 2)
    row_h = max(b.height for b in size.values()) / dpi + 0.4
    where = {s: (col_x[int(x)], y * row_h) for s, (x, y) in pos.items()}
    for s, box in boxes.items():
        box.xy = box.xybox = where[s]
    margin = 0.15
    left = -margin
    right = col_x[-1] + col_w[-1] / 2 + margin
    top = max(y + size[s].height / dpi / 2 for s, (_, y) in where.items()) + margin
    bottom = min(y - size[s].height / dpi / 2 for s, (_, y) in where.items()) - margin
    if new:
        ax.figure.set_size_inches(right - left, top - bottom)
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)

    outgoing = {s: sorted((e for e in drawn if e.source == s), key=lambda e: -pos[e.target][1])
                for s in pos}
    incoming = {s: sorted((e for e in drawn if e.target == s), key=lambda e: -pos[e.source][1])
                for s in pos}
    ends = {}
    for e in drawn:
        out_at = _spread(len(outgoing[e.source]))[outgoing[e.source].index(e)]
        in_at = _spread(len(incoming[e.target]))[incoming[e.target].index(e)]
        ends[e] = (out_at, in_at)
    label_x = _place_labels(list(labels), where, size, dpi, ends, label_size, col_x, col_w, gap_w,
                            pos)
    for e in drawn:
        out_at, in_at = ends[e]
        name = f"{e.source}->{e.target}"
        ax.annotate(
            "",
            xy=(0, in_at),
            xycoords=boxes[e.target],
            xytext=(1, out_at),
            textcoords=boxes[e.source],
            arrowprops={
                "arrowstyle": "-|>,head_length=0.6,head_width=0.3",
                "color": _EDGE,
                "linewidth": 1.2,
                "shrinkA": 1,
                "shrinkB": 1,
            },
            zorder=2,
        ).set_gid(f"edge:{name}")
        if not local:
            continue
        ax.annotate(
            labels[e],
            xy=(0, 0),
            xycoords=_along(ax, boxes[e.source], out_at, boxes[e.target], in_at, label_x[e]),
            ha="center",
            va="center",
            fontsize=12,
            color="#333333",
            math_fontfamily="cm",
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none",
                  "alpha": 0.9},
            zorder=4,
        ).set_gid(f"label:{name}")
    return ax, where, label_x


def node_lines(ax: Axes) -> dict[str, list[str]]:
    """The lines of every node box :func:`draw_graph` drew on ``ax``, by node name.

    >>> a = sp.Symbol("a", real=True)
    >>> from symgrad.core.graph import expression_graph
    >>> node_lines(draw_graph(expression_graph(sp.Mul(2, sp.exp(a), evaluate=False))))["u"]
    ['$u = e^{a}$']
    """
    out: dict[str, list[str]] = {}
    for artist in ax.artists:
        gid = artist.get_gid() or ""
        if isinstance(artist, AnnotationBbox) and gid.startswith("node:"):
            out[gid.removeprefix("node:")] = [
                t.get_text() for t in artist.findobj(Text) if t.get_text()
            ]
    return out


# --- TikZ -----------------------------------------------------------------------------------------


def _tikz_names(symbols: list[sp.Symbol]) -> dict[sp.Symbol, str]:
    names: dict[sp.Symbol, str] = {}
    for k, s in enumerate(symbols):
        name = re.sub(r"[^A-Za-z0-9]", "", str(s)) or f"n{k}"
        names[s] = name if name not in names.values() and name != f"n{k}" else f"n{k}-{name}"
    return names


def to_tikz(graph: Graph, values: Values | None = None) -> str:
    r"""The graph as a ``tikzpicture`` for lecture notes: a rounded box per node with the same
    lines as :func:`draw_graph`, each edge labelled with its local derivative, at the positions of
    :func:`draw_graph`'s figure (so columns and gaps fit their boxes and labels) scaled to LaTeX's
    ``\small`` type. The preamble needs ``\usepackage{tikz}`` and ``\usepackage{amsmath}`` (no TikZ
    library: the arrow tip is the built-in ``stealth``); :func:`tikz_document` makes a whole file.

    >>> import sympy as sp
    >>> from symgrad.core.graph import expression_graph, forward_backward
    >>> a, b, c = sp.symbols("a b c", real=True)
    >>> g = expression_graph(sp.Mul(3, a + b * c, evaluate=False))
    >>> tikz = to_tikz(g, forward_backward(g, {a: 1, b: 2, c: 3}))
    >>> print(next(line for line in tikz.splitlines() if "(b) at" in line).split(") {")[1])
    $b = 2$\\ \textcolor{backward}{$\partial j/\partial b = 9$}};
    >>> print(next(line for line in tikz.splitlines() if "(b) --" in line))
      \draw[edge] (b) -- node[label, pos=0.5] {$\partial u/\partial b = c$} (u);
    """
    _, where, label_x = _draw(graph, values, None, math=True)
    names = _tikz_names(list(where))
    lines = [
        r"\begin{tikzpicture}[x=1.9cm, y=1.9cm, font=\small,",
        r"  every node/.style={align=center, rounded corners=3pt, inner sep=4pt},",
        "  " + ", ".join(
            f"{kind}/.style={{draw={_TIKZ_BORDER[kind]}, fill={_TIKZ_FILL[kind]}}}"
            for kind in ("input", "op", "output")
        ) + ",",
        r"  edge/.style={-stealth, draw=black!65, thick},",
        r"  label/.style={fill=white, font=\footnotesize, inner sep=1.5pt}]",
    ]
    role_colour = {"value": "forward", "grad": "backward"}
    for s, (x, y) in where.items():
        parts = []
        for role, content in _contents(graph, s, values, latex=True):
            math = f"${content}$"
            parts.append(rf"\textcolor{{{role_colour[role]}}}{{{math}}}" if role in role_colour
                         else math)
        body = "\\\\ ".join(parts)
        lines.append(
            rf"  \node[{_kind(graph, s)}] ({names[s]}) at ({_coord(x)}, {_coord(y)}) {{{body}}};"
        )
    for e in edges(graph):
        (x0, _), (x1, _) = where[e.source], where[e.target]
        at = round(min(max((label_x[e] - x0) / (x1 - x0), 0.2), 0.8), 2)
        lines.append(
            rf"  \draw[edge] ({names[e.source]}) -- node[label, pos={at}] "
            f"{{${_edge_label(e, True)}$}} ({names[e.target]});"
        )
    lines.append(r"\end{tikzpicture}")
    colours = (
        rf"\providecolor{{forward}}{{HTML}}{{{_FORWARD[1:].upper()}}}"
        rf"\providecolor{{backward}}{{HTML}}{{{_BACKWARD[1:].upper()}}}%"
    )
    return colours + "\n" + "\n".join(lines) + "\n"


def _coord(inches: float) -> str:
    """A coordinate in units of 1.9 cm (x=, y= of the picture) from inches of the matplotlib
    drawing: LaTeX's ``\\small`` type is about 0.75 of the figure's, 0.75 in = 1.9 cm."""
    return f"{round(inches, 2):g}"


def tikz_document(graph: Graph, values: Values | None = None) -> str:
    r"""A standalone LaTeX file (class ``standalone``, packages ``tikz`` and ``amsmath``) around
    :func:`to_tikz`; pdflatex makes a PDF cropped to the picture.

    >>> a = sp.Symbol("a", real=True)
    >>> from symgrad.core.graph import expression_graph
    >>> print(tikz_document(expression_graph(sp.Mul(2, a, evaluate=False))).splitlines()[0])
    \documentclass[border=6pt]{standalone}
    """
    return (
        "\\documentclass[border=6pt]{standalone}\n\\usepackage{amsmath}\n\\usepackage{tikz}\n"
        "\\begin{document}\n" + to_tikz(graph, values) + "\\end{document}\n"
    )


# --- files ----------------------------------------------------------------------------------------


def save_graph(graph: Graph, values: Values | None, path: str | os.PathLike[str]) -> Path:
    """Write the drawing to ``path``: PNG, SVG or PDF with matplotlib, a TikZ document for ``.tex``.

    Atomic: written to a temporary file in the same folder, then renamed, so a failure leaves no
    partial file. An unknown extension or a missing folder is an :class:`OptionError`.

    >>> import tempfile
    >>> from symgrad.core.graph import expression_graph
    >>> a = sp.Symbol("a", real=True)
    >>> g = expression_graph(sp.Mul(2, a, evaluate=False))
    >>> folder = Path(tempfile.mkdtemp())
    >>> save_graph(g, None, folder / "g.svg").read_text()[:5]
    '<?xml'
    >>> "tikzpicture" in save_graph(g, None, folder / "g.tex").read_text()
    True
    >>> try:
    ...     save_graph(g, None, folder / "g.docx")
    ... except OptionError as e:
    ...     print(e)
    cannot write '.docx' graphs; use one of: .png, .svg, .pdf, .tex
    """
    p = Path(path)
    ext = p.suffix.lower().lstrip(".")
    if ext not in FORMATS:
        shown = f"'.{ext}'" if ext else "files without an extension"
        raise OptionError(
            f"cannot write {shown} graphs; use one of: {', '.join('.' + f for f in FORMATS)}"
        )
    check_folder(p)
    if ext != "tex":
        return save_figure(draw_graph(graph, values).figure, p)
    return atomic_write_text(p, tikz_document(graph, values))

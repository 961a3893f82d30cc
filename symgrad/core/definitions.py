r"""Typed definitions, as a lecture writes a graph: ``z = w*x + b; yhat = sigmoid(z); L = ...``.

:func:`typed_graph` turns typed text into the :class:`~symgrad.core.graph.Graph` the engine
differentiates:

* **definitions**, one per line or separated by ``;``, each ``name = expression``: the names are
  the graph's intermediates and its output, exactly as typed (the last definition is the output);
  ``#`` starts a comment that runs to the end of the line;
* **one expression** (no ``=``): split into one node per operation, u, v, ... as before;
* **parameters and data**: ``wrt`` names the parameters; every other free symbol is data or a
  constant, and nothing is differentiated with respect to it (a part without parameters, such as
  ``1 - y``, stays inside its node);
* **losses over samples**: an output ``mean(...)``, ``(1/N)*sum(...)``, ``(1/n)*sum(...)`` or
  ``sum(...)`` (plus a penalty in the parameters) is a loss over the samples, with the
  catalogue's shape: the data and the intermediates carry the sample index (``x_i``, ``z_i``)
  and the loss is ``L = (1/N) sum_i ell_i``; such a loss needs ``wrt``;
* **recognition**: known functions written by their formulas become the functions
  (:mod:`symgrad.core.recognize`), each rewrite listed in the graph and shown as a checked step.

Bad input is a :class:`~symgrad.core.errors.ParseError` naming the problem with its line and
column: a name used before it is defined, a definition that refers to itself, a name defined
twice or a parameter redefined, an unused definition, a ``wrt`` name that does not occur.

>>> g = typed_graph("z = w*x + b; yhat = sigmoid(z); L = -(y*log(yhat) + (1-y)*log(1-yhat))",
...                 wrt=["w", "b"])
>>> [(str(n.symbol), str(n.expr)) for n in g.nodes]
[('z', 'b + w*x'), ('yhat', 'sigmoid(z)'), ('L', '-(y*log(yhat) + (1 - y)*log(1 - yhat))')]
>>> g.params, g.data
((w, b), (x, y))
>>> g = typed_graph("L = mean((w*x + b - y)^2)", wrt=["w", "b"])
>>> [(str(n.symbol), str(n.expr)) for n in g.nodes], g.result_symbol, g.weight
([('u_i', 'b + w*x_i - y_i'), ('ell_i', 'u_i**2')], L, 1/N)
>>> try:
...     typed_graph("z = w*x + b\nL = (yhat - y)^2\nyhat = z", wrt=["w", "b"])
... except ParseError as e:
...     print(e)
line 2, column 6: 'yhat' is used before it is defined (on line 3)
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy as sp

from symgrad.core.errors import OptionError, ParseError
from symgrad.core.graph import (
    Graph,
    N,
    Node,
    as_written,
    expression_graph,
    is_label,
    negated,
)
from symgrad.core.parse import MEAN, SUM, parse, parse_names
from symgrad.core.recognize import Recognition, recognize

__all__ = ["Definition", "split_definitions", "typed_graph"]

_name = operator.attrgetter("name")  # a symbol's name (str() goes through a printer)
_BARE_EQUALS = re.compile(r"(?<![<>=!])=(?!=)")
_SAMPLE_SUM = re.compile(rf"(?<![A-Za-z0-9_])(?:{SUM}|{MEAN})\s*\(|Σ")  # a loss over samples
_ASSIGN = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*=(?!=)")


@dataclass(frozen=True)
class Definition:
    """``name = text`` on ``line`` (1-based), the text starting at ``column`` (1-based)."""

    name: str | None
    text: str
    line: int
    column: int
    source: str  # the whole line, to show with a caret
    name_column: int = 0


def split_definitions(text: str) -> list[Definition]:
    r"""The statements of ``text``: one per line or per ``;``, comments and blanks dropped.

    >>> [(d.name, d.text, d.line, d.column) for d in split_definitions("u = b*c; v = a + u\nj=3*v")]
    [('u', 'b*c', 1, 5), ('v', 'a + u', 1, 14), ('j', '3*v', 2, 3)]
    """
    out: list[Definition] = []
    for number, raw in enumerate(text.splitlines() or [""], start=1):
        line = raw.split("#", 1)[0]
        start = 0
        for part in line.split(";"):
            offset = start
            start += len(part) + 1
            if not part.strip():
                continue
            m = _ASSIGN.match(part)
            if m is None:
                bare = _BARE_EQUALS.search(part)  # not the = of <=, >=, == or !=
                if bare:
                    column = offset + bare.start() + 1
                    raise _error("a definition is name = expression", raw, number, column)
                lead = len(part) - len(part.lstrip())
                out.append(Definition(None, part.strip(), number, offset + lead + 1, raw))
                continue
            rhs = part[m.end():]
            lead = len(rhs) - len(rhs.lstrip())
            column = offset + m.end() + lead + 1
            name_column = offset + m.start(1) + 1
            out.append(Definition(m.group(1), rhs.strip(), number, column, raw, name_column))
    return out


def _error(message: str, source: str, line: int, column: int | None) -> ParseError:
    where = f"line {line}" + (f", column {column}" if column is not None else "")
    return ParseError(f"{where}: {message}", text=source, column=column)


def _column(d: Definition, name: str) -> int:
    """The column of the first use of ``name`` in the definition's text (or of the text)."""
    m = re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", d.text)
    return d.column + (m.start() if m else 0)


def _parse(d: Definition, rename: Callable[[str], str] | None = None) -> sp.Expr:
    try:
        return parse(d.text, evaluate=False, sums=True, rename=rename)
    except ParseError as e:
        column = None if e.column is None else d.column + e.column - 1
        # the column is the line's now; "invalid syntax: invalid syntax" said once
        message = re.sub(r"^(invalid syntax) at column \d+(: invalid syntax$)?", r"\1", str(e))
        raise _error(message, d.source, d.line, column) from None


def typed_graph(text: str, wrt: Sequence[str | sp.Symbol] | None = None) -> Graph:
    """The graph of typed definitions or of one typed expression (see the module docstring)."""
    statements = split_definitions(text)
    if not statements:
        raise ParseError("empty expression", text=text)
    for d in statements[:-1]:
        if d.name is None:
            raise _error("only the last line may be an expression without a name",
                         d.source, d.line, d.column)
    params = _wrt(wrt, text)
    rename = _sample_names(statements[-1], params)
    exprs = [_parse(d, rename) for d in statements]
    found: list[Recognition] = []
    recognized = []
    for e in exprs:
        new, rec = recognize(e)
        recognized.append(new)
        found += [r for r in rec if all(r.typed != f.typed for f in found)]
    if len(statements) == 1 and statements[0].name is None and not exprs[0].has(sp.Sum):
        graph = expression_graph(recognized[0], params=params)
        _check_wrt(params, graph, text, statements)
        return _with(graph, recognized=tuple(found))
    return _definitions_graph(statements, recognized, params, tuple(found), text,
                              rename or _same)


def _sample_names(
    last: Definition, params: tuple[sp.Symbol, ...] | None
) -> Callable[[str], str] | None:
    """For a loss over samples with known parameters: each other name as it is read gets the
    sample index (x is x_i), so that the graph need not be renamed after parsing; else None."""
    if params is None or not _SAMPLE_SUM.search(last.text):
        return None
    kept = {p.name for p in params} | {"N", "n"}

    def rename(name: str) -> str:
        return name if name in kept else _indexed(name)

    return rename


def _same(name: str) -> str:
    return name


def _wrt(wrt: Sequence[str | sp.Symbol] | None, text: str) -> tuple[sp.Symbol, ...] | None:
    if wrt is None:
        return None
    return tuple(parse_names(",".join(str(w) for w in wrt)))


def _check_wrt(params, graph: Graph, text: str, statements: list[Definition]) -> None:
    """Every ``wrt`` name occurs in the text (with or without the sample index)."""
    if params is None:
        return
    free = set().union(*[n.expr.free_symbols for n in graph.nodes]) | graph.penalty.free_symbols
    free -= {n.symbol for n in graph.nodes} | {N}
    typed = {s.name.removesuffix("_i") for s in free} | {s.name for s in free}
    for p in params:
        if p.name not in typed:
            names = ", ".join(sorted(typed - {str(s) + "_i" for s in typed}))
            raise OptionError(f"unknown variable {str(p)!r}; choose from: {names}", option="wrt")


def _with(graph: Graph, **changes) -> Graph:
    from dataclasses import replace

    return replace(graph, **changes)


def _definitions_graph(
    statements: list[Definition],
    exprs: list[sp.Expr],
    params: tuple[sp.Symbol, ...] | None,
    found: tuple[Recognition, ...],
    text: str,
    rename: Callable[[str], str],
) -> Graph:
    order = [None if d.name is None else sp.Symbol(rename(parse_names(d.name)[0].name), real=True)
             for d in statements]
    names: dict[sp.Symbol, Definition] = {}
    for d, symbol in zip(statements, order, strict=True):
        if symbol is None:
            continue
        if symbol in names:
            first = names[symbol]
            raise _error(f"'{d.name}' is defined twice (first on line {first.line})",
                         d.source, d.line, d.name_column)
        if params is not None and symbol in params:
            raise _error(f"'{d.name}' is a parameter (wrt) and cannot be defined",
                         d.source, d.line, d.name_column)
        names[symbol] = d
    frees = [e.free_symbols for e in exprs]  # each walks the whole expression: once
    for k, (d, free) in enumerate(zip(statements, frees, strict=True)):
        if order[k] is not None and order[k] in free:
            raise _error(f"'{d.name}' refers to itself", d.source, d.line, _column(d, d.name))
        for s in sorted(free & set(names), key=_name):
            later = names[s]
            if later.line > d.line or (later.line == d.line and later.column > d.column):
                raise _error(f"'{later.name}' is used before it is defined (on line "
                             f"{later.line})", d.source, d.line, _column(d, later.name))
    for k, d in enumerate(statements[:-1]):
        if not any(order[k] in free for free in frees[k + 1:]):
            raise _error(f"'{d.name}' is defined but never used", d.source, d.line,
                         d.name_column)
    for k, e in enumerate(exprs[:-1]):
        if e.has(sp.Sum):
            d = statements[k]
            raise _error("a sum or mean over the samples belongs in the last definition (the "
                         "loss)", d.source, d.line, d.column)
    defined = set(names)
    free = set().union(*frees) - defined
    if params is None:
        params = tuple(sorted(free - {N}, key=_name))
    out_name = statements[-1].name
    if exprs[-1].has(sp.Sum):
        graph = _sample_graph(statements, exprs, order, params, defined, out_name)
    else:
        nodes = [Node(s, e) for s, e in zip(order[:-1], exprs[:-1], strict=True)]
        nodes.append(Node(order[-1] or sp.Symbol("j", real=True), exprs[-1]))
        data = sorted(free - set(params), key=_name)  # labels (y...) as over the samples:
        graph = _inline_data(Graph(tuple(nodes), params,  # only features go last in products
                                   features=tuple(s for s in data if not is_label(s)),
                                   labels=tuple(s for s in data if is_label(s))))
    _check_wrt(params, graph, text, statements)
    return _with(graph, recognized=found)


def _inline_data(graph: Graph) -> Graph:
    """Put definitions without parameters (t = 2 y - 1) into their users: they are data."""
    params = set(graph.params)
    fixed: dict[sp.Symbol, sp.Expr] = {}
    nodes = []
    for n in graph.nodes:
        expr = n.expr.xreplace(fixed)
        varying = params | {m.symbol for m in nodes}
        if n is not graph.nodes[-1] and not expr.free_symbols & varying:
            fixed[n.symbol] = expr
            continue
        nodes.append(Node(n.symbol, expr, n.keep, n.label))
    return _with(graph, nodes=tuple(nodes))


def _per_sample(symbol: sp.Symbol) -> sp.Symbol:
    return sp.Symbol(_indexed(symbol.name), real=True)


def _indexed(name: str) -> str:
    """The name with the sample index: x is x_i (and x_i stays x_i)."""
    return name if name.endswith("_i") else name + "_i"


def _sample_graph(statements, exprs, order, params, defined, out_name) -> Graph:
    """A loss over samples: the last definition is scale * sum(ell) + penalty."""
    d = statements[-1]
    loss = _outside_sums(exprs[-1].xreplace(
        {sp.Symbol("N", real=True): N, sp.Symbol("n", real=True): N}))
    terms = sp.Add.make_args(loss)
    summed = [t for t in terms if t.has(sp.Sum)]
    shape = ("a loss over samples is mean(...), (1/N)*sum(...) or sum(...), plus a penalty in "
             "the parameters")
    sums = [f for f in sp.Mul.make_args(summed[0]) if isinstance(f, sp.Sum)] if summed else []
    if len(summed) != 1 or len(sums) != 1:
        raise _error(shape, d.source, d.line, d.column)
    scale = sp.Mul(*[f for f in sp.Mul.make_args(summed[0]) if f is not sums[0]])
    mean = (scale * N).is_number
    factor = scale * N if mean else scale
    if not factor.is_number:
        raise _error(shape + f" (the factor {scale} is not a number, nor a number over N)",
                     d.source, d.line, d.column)
    penalty = sp.Add(*[t for t in terms if t is not summed[0]])
    bad = penalty.free_symbols & (defined | (sums[0].function.free_symbols - set(params)))
    if bad:
        raise _error("the penalty outside the sum may use only parameters and constants, not "
                     + ", ".join(sorted({s.name.removesuffix("_i") for s in bad})), d.source,
                     d.line, d.column)
    # a constant outside the sum is one number, not a column of the data: lam, not the lam_i
    # it was read as (N stays the number of samples)
    penalty = penalty.xreplace({s: sp.Symbol(s.name.removesuffix("_i"), real=True)
                                for s in penalty.free_symbols - set(params)
                                if s.name.endswith("_i")})
    body = sums[0].function
    if factor == -1:
        body = negated(body, evaluate=False)
    elif factor != 1:
        body = sp.Mul(factor, body, evaluate=False)
    nodes = [Node(s, e) for s, e in zip(order[:-1], exprs[:-1], strict=True)]
    ell = sp.Symbol("ell", real=True)
    if nodes and body == nodes[-1].symbol:
        pass
    elif nodes:
        nodes.append(Node(ell, body, label="loss"))
    else:  # one typed loss: split its term into operations, as a typed expression
        g = expression_graph(body, output="ell", params=params)
        nodes = list(g.nodes)
    graph = _inline_data(Graph(tuple(nodes), params))
    free = set().union(*[n.expr.free_symbols for n in graph.nodes])
    data = sorted(free - set(params) - {n.symbol for n in graph.nodes} - {N}, key=_name)
    rename = {s: _per_sample(s) for s in [*data, *(n.symbol for n in graph.nodes)]}
    rename = {s: r for s, r in rename.items() if r != s}  # most were named so when read
    # renamed, not rewritten: the sums keep the order typed
    nodes = [Node(rename.get(n.symbol, n.symbol), as_written(n.expr, rename) if rename else n.expr,
                  n.keep, n.label) for n in graph.nodes]
    labels = tuple(rename.get(s, s) for s in data if is_label(s))
    features = tuple(rename.get(s, s) for s in data if not is_label(s))
    return Graph(tuple(nodes), params, features, labels, True, penalty,
                 output_symbol=sp.Symbol(out_name or "L", real=True), summed=not mean)


def _outside_sums(e: sp.Expr) -> sp.Expr:
    """``e`` evaluated around its sums over samples, which stay as typed: -(1/N) sum(...)."""
    if e.is_Atom or isinstance(e, sp.Sum):
        return e
    return e.func(*[_outside_sums(a) for a in e.args])

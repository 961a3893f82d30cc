r"""``graph``: backprop through a typed expression at a point, with a fill-in table of node values
and gradients (the lecture's j = 3(a + b c) at a = 1, b = 2, c = 3: j = 21, dj/da = 3, dj/db = 9,
dj/dc = 6).

Fields: ``expr`` (typed text, or ``{choice = [...]}``; parsed safely by :mod:`symgrad.core.parse`),
``at`` (a value or draw per symbol), ``output`` (the output's name, default ``j``). The graph has
one node per operation (:func:`symgrad.core.graph.expression_graph`), the values and adjoints are
exact
(:func:`symgrad.core.graph.forward_backward`), and the derivation comes from the engine. A point
outside a function's domain, or where a gradient is zero, is drawn again.

>>> "graph" in KINDS
True
"""

from __future__ import annotations

import random

import sympy as sp

from symgrad.core import parse as parser
from symgrad.core.derive import derive_graph
from symgrad.core.errors import DomainError, SymgradError
from symgrad.core.graph import expression_graph, forward_backward
from symgrad.render.latex import expr_latex
from symgrad.render.text import expr_text
from symgrad.teaching.worksheets.kinds import KINDS, Degenerate, Field, Kind, register
from symgrad.teaching.worksheets.kinds._common import (
    approx,
    draw_point,
    num,
    num_text,
    pick,
    tolerance,
)
from symgrad.teaching.worksheets.model import Answer, Exercise, Math, Steps, Table, Text
from symgrad.teaching.worksheets.spec import ExerciseSpec, SpecError

__all__ = ["GraphKind", "KINDS"]


def _frac(v: sp.Expr):
    from fractions import Fraction

    return Fraction(int(v.p), int(v.q)) if v.is_Rational else v


def parse(text: str) -> sp.Expr:
    """Typed text to an unevaluated expression (the structure as typed), by the safe parser."""
    return parser.parse(text, evaluate=False)


class GraphKind(Kind):
    name = "graph"
    graph_figure = True
    summary = "backprop through a typed expression at a point, with a table of values and gradients"
    fields = {
        "expr": Field("name", required=True, help='typed text such as "3*(a + b*c)"'),
        "at": Field("point", required=True, help="a value or draw for every symbol"),
        "output": Field("name", default="j"),
        "tolerance": Field("number"),
    }

    def check(self, es: ExerciseSpec) -> None:
        texts = es.fields["expr"]
        for text in texts["choice"] if isinstance(texts, dict) else [texts]:
            try:
                expr = parse(text)
            except SymgradError as err:
                raise SpecError(f"{es.at('expr')}: {err}") from None
            missing = sorted(str(s) for s in expr.free_symbols if str(s) not in es.fields["at"])
            if missing:
                raise SpecError(f"{es.at('at')}: no value for {missing[0]!r} (used in {text!r})")

    def generate(self, es: ExerciseSpec, rng: random.Random) -> Exercise:
        text = pick(es.fields["expr"], rng, es.at("expr"))
        expr = parse(text)
        g = expression_graph(expr, output=self.get(es, "output"))
        drawn = draw_point(es.fields["at"], rng, es.at("at"))
        point = {s: sp.Rational(drawn[str(s)].numerator, drawn[str(s)].denominator)
                 for s in g.params}
        try:
            vals = forward_backward(g, point)
        except DomainError as err:
            raise Degenerate(str(err)) from None
        if any(vals.grad[p] == 0 for p in g.params):
            raise Degenerate("a zero gradient")
        d = derive_graph(g, title=f"Backpropagation through {text}")
        out = expr_latex(g.output)
        at_latex = ", ".join(f"{expr_latex(s)} = {num(_frac(point[s]))}" for s in g.params)
        header = ("node", "definition", "value", rf"\(\frac{{\partial {out}}}{{\partial \cdot}}\)")
        blank, full = [], []
        for s in g.params:
            blank.append((rf"\({expr_latex(s)}\)", "input", num(_frac(point[s])), ""))
            full.append((rf"\({expr_latex(s)}\)", "input", num(_frac(point[s])),
                         num(_frac(vals.grad[s]))))
        for n in g.nodes:
            definition = rf"\({expr_latex(n.symbol)} = {expr_latex(n.expr)}\)"
            blank.append((rf"\({expr_latex(n.symbol)}\)", definition, "", ""))
            full.append((rf"\({expr_latex(n.symbol)}\)", definition,
                         num(_frac(vals.value[n.symbol])), num(_frac(vals.grad[n.symbol]))))
        prompt = [
            Text(rf"The computational graph of \({out} = {expr_latex(expr)}\) has one node per "
                 "operation:"),
            Math(tuple(f"{expr_latex(n.symbol)} = {expr_latex(n.expr)}" for n in g.nodes)),
            Text(rf"At \({at_latex}\): (a) go forward and fill in each node's value; (b) go "
                 rf"backward with the chain rule and fill in \(\partial {out}\) with respect to "
                 "every node and input."),
            Table(header, tuple(blank)),
        ]
        solution = [Steps(d), Table(header, tuple(full))]
        given = {"expr": text, "point": {str(s): float(point[s]) for s in g.params},
                 "output": str(g.output)}
        value = _frac(vals.value[g.output])
        answers = [Answer(f"{es.number}.{g.output}", self.name,
                          rf"the value of \({out}\) at \({at_latex}\)", given,
                          rf"{out} {approx(value)}", f"{expr_text(g.output)} = {num_text(value)}",
                          float(value), tolerance(float(value), es))]
        for s in g.params:
            v = _frac(vals.grad[s])
            partial = rf"\frac{{\partial {out}}}{{\partial {expr_latex(s)}}}"
            named = d.gradients[str(s)].named
            formula = "" if named.is_number else f" = {expr_latex(named)}"
            answers.append(Answer(
                f"{es.number}.d{s}", self.name, rf"\({partial}\) at \({at_latex}\)",
                {**given, "wrt": str(s)}, f"{partial}{formula} {approx(v)}",
                f"∂{g.output}/∂{s} = {num_text(v)}", float(v),
                tolerance(float(v), es)))
        title = es.title or f"Backpropagation through {out} = {text}"
        drawn = {"graph": g, "values": vals, "output": f"{g.output}"}
        return Exercise(es.number, self.name, title, float(es.points), prompt, solution, answers,
                        drawn=drawn)


register(GraphKind)

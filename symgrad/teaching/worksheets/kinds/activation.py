r"""``activation``: an activation function and its derivative, from the engine, at a few points.

Fields: ``activation`` (an activation of the function registry but identity: sigmoid, tanh, relu,
leaky_relu, ..., or a choice), ``z`` (a number, a list, or a draw with ``count``). The derivative
comes from ``derive_graph(activation_graph(name))``. A draw at an activation's kink (z = 0 for
relu and leaky_relu) is rejected (the derivative is a convention there), and so are points all on
one side of it (both pieces are the lesson). Its zeros (ReLU left of 0) are the lesson, not a
degenerate draw (:meth:`ActivationKind.zeros_teach`).

>>> import random
>>> from fractions import Fraction
>>> from symgrad.teaching.worksheets.spec import ExerciseSpec
>>> fields = {"activation": "relu", "z": [-1, 2]}
>>> es = ExerciseSpec(2, "activation", Fraction(2), "", fields, "demo")
>>> [(a.id, a.value) for a in KINDS["activation"].generate(es, random.Random(0)).answers]
[('2.a1', 0.0), ('2.da1', 0.0), ('2.a2', 2.0), ('2.da2', 1.0)]
"""

from __future__ import annotations

import random
from typing import Any

import sympy as sp

from symgrad.core.catalogue import ACTIVATIONS, activation_graph
from symgrad.core.derive import derive_graph
from symgrad.core.functions import FUNCTIONS
from symgrad.core.names import display_name
from symgrad.render.latex import expr_latex
from symgrad.render.text import expr_text
from symgrad.teaching.worksheets.kinds import KINDS, Degenerate, Field, Kind, register
from symgrad.teaching.worksheets.kinds._common import (
    approx,
    num,
    num_text,
    pick,
    to_sympy,
    tolerance,
)
from symgrad.teaching.worksheets.model import Answer, Exercise, Math, Steps, Table, Text
from symgrad.teaching.worksheets.spec import ExerciseSpec, draw

__all__ = ["ActivationKind", "KINDS"]

#: The registry's activations with a name to show (not identity), and where each one kinks.
NAMES = tuple(n for n in ACTIVATIONS if FUNCTIONS[n].latex is not None)
KINKS = {n: FUNCTIONS[n].activation.kink for n in NAMES}


def _value(e: sp.Expr) -> sp.Expr:
    e = sp.sympify(e)
    return e if e.is_Rational else sp.Float(e.evalf(30), 30)


@register
class ActivationKind(Kind):
    name = "activation"
    summary = "an activation function and its derivative (from the engine) at a few points"
    fields = {
        "activation": Field("name", required=True, choices=NAMES,
                            help=", ".join(NAMES)),
        "z": Field("values", required=True, help="the point(s) to evaluate at"),
        "tolerance": Field("number"),
    }

    def generate(self, es: ExerciseSpec, rng: random.Random) -> Exercise:
        name = pick(self.get(es, "activation"), rng, es.at("activation"))
        zs = draw(es.fields["z"], rng, es.at("z"))
        zs = zs if isinstance(zs, list) else [zs]
        if KINKS[name] is not None and any(float(z) == KINKS[name] for z in zs):
            raise Degenerate(f"z = {num(KINKS[name])} is the kink")
        if len(set(zs)) < len(zs):
            raise Degenerate("a repeated point")
        kink = KINKS[name]
        if kink is not None and len(zs) > 1 and len({float(z) > kink for z in zs}) < 2:
            raise Degenerate("every point on one side of the kink")
        d = derive_graph(activation_graph(name), title=f"The derivative of {display_name(name)}")
        g = d.gradients["z"]
        zsym = d.graph.params[0]
        act = ACTIVATIONS[name]
        a_latex = expr_latex(d.graph.nodes[0].expr)
        prompt = [
            Text(rf"The activation \(a = {a_latex}\)."),
            Text(r"(a) Derive \(\frac{\partial a}{\partial z}\) and write it in terms of \(a\) "
                 "where you can. (b) Fill in the table."),
        ]
        shown = FUNCTIONS[name].latex
        header = (r"\(z\)", rf"\(a = {shown}(z)\)", r"\(\frac{\partial a}{\partial z}\)")
        blank_rows, full_rows, answers = [], [], []
        for k, z in enumerate(zs, start=1):
            a_val = _value(act(to_sympy(z)))
            da_val = _value(g.term.xreplace({zsym: to_sympy(z)}))
            blank_rows.append((num(z), "", ""))
            full_rows.append((num(z), num(a_val), num(da_val)))
            given = {"expr": expr_text(d.graph.nodes[0].expr), "wrt": "z",
                     "point": {"z": float(z)}, "activation": name}
            answers += [
                Answer(f"{es.number}.a{k}", self.name, rf"\(a = {a_latex}\) at \(z = {num(z)}\)",
                       given, rf"a {approx(a_val)}", f"a = {num_text(a_val)}", float(a_val),
                       tolerance(float(a_val), es)),
                Answer(f"{es.number}.da{k}", self.name,
                       rf"\(\frac{{\partial a}}{{\partial z}}\) at \(z = {num(z)}\)", given,
                       rf"\frac{{\partial a}}{{\partial z}} = {expr_latex(g.named)} "
                       f"{approx(da_val)}",
                       f"∂a/∂z = {expr_text(g.named)} = {num_text(da_val)}", float(da_val),
                       tolerance(float(da_val), es)),
            ]
        prompt.append(Table(header, tuple(blank_rows)))
        solution = [Steps(d),
                    Math((rf"\frac{{\partial a}}{{\partial z}} = {expr_latex(g.named)}",)),
                    Table(header, tuple(full_rows))]
        title = es.title or f"The {display_name(name)} activation and its derivative"
        return Exercise(es.number, self.name, title, float(es.points), prompt, solution, answers,
                        drawn={"activation": name})

    def zeros_teach(self, ex: Exercise) -> bool:
        """A kinked activation's zeros (ReLU left of its kink) are the lesson."""
        return KINKS[ex.drawn["activation"]] is not None

    def figure_defaults(self, plot_kind: str, options: Any, drawn: Any) -> dict[str, Any]:
        """``activations``: this exercise's activation only."""
        return {"names": [drawn["activation"]]} if plot_kind == "activations" else {}

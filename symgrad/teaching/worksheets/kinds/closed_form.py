r"""``closed_form``: the mse of a linear model minimised in closed form, and by gradient descent.

Fields: ``data``, ``lr``, ``start`` (default w = 0, b = 0), ``max_iter`` (default 1000), ``tol``
(default 1e-6). Setting both gradients to zero gives the normal equations, solved exactly:
``w* = (N Sxy - Sx Sy) / (N Sxx - Sx^2)``, ``b* = (Sy - w* Sx) / N``. Gradient descent at ``lr``
must converge (else the draw is rejected, as is one with all x equal).

>>> import random
>>> from fractions import Fraction
>>> from symgrad.teaching.worksheets.spec import ExerciseSpec
>>> es = ExerciseSpec(4, "closed_form", Fraction(5), "", {"data": {"x": [0, 1, 2], "y": [1, 3, 4]},
...     "lr": 0.1}, "demo")
>>> ex = KINDS["closed_form"].generate(es, random.Random(0))
>>> [(a.id, round(a.value, 4)) for a in ex.answers][:2]
[('4.w_star', 1.5), ('4.b_star', 1.1667)]
"""

from __future__ import annotations

import random
from typing import Any

import sympy as sp

from symgrad.render.latex import expr_latex
from symgrad.teaching.worksheets.kinds import KINDS, Degenerate, Field, Kind, register
from symgrad.teaching.worksheets.kinds._common import (
    approx,
    data_figure_defaults,
    data_table,
    derived,
    draw_data,
    draw_point,
    gradient_at,
    num,
    num_text,
    partial_latex,
    point_latex,
    tolerance,
)
from symgrad.teaching.worksheets.kinds.gd_steps import RUN_FIELDS, run_story
from symgrad.teaching.worksheets.model import Answer, Exercise, Math, Space, Table, Text
from symgrad.teaching.worksheets.spec import ExerciseSpec, SpecError, draw, exact

__all__ = ["ClosedFormKind", "KINDS"]


@register
class ClosedFormKind(Kind):
    name = "closed_form"
    summary = "the closed-form least-squares line versus gradient descent"
    fields = {
        "data": Field("data", required=True),
        "lr": Field("number", required=True),
        "start": Field("point", default={"w": 0, "b": 0}),
        **RUN_FIELDS,
        "tolerance": Field("number"),
    }

    def generate(self, es: ExerciseSpec, rng: random.Random) -> Exercise:
        d = derived("mse", "linear")
        xs, ys, source = draw_data(es.fields["data"], rng, es.at("data"))
        n = len(xs)
        sx, sy = sum(xs), sum(ys)
        sxx, sxy = sum(x * x for x in xs), sum(x * y for x, y in zip(xs, ys, strict=True))
        den = n * sxx - sx * sx
        if den == 0:
            raise Degenerate("all x equal: no unique line")
        w_star = (n * sxy - sx * sy) / den
        b_star = (sy - w_star * sx) / n
        at_star = gradient_at(d, {"w": w_star, "b": b_star}, xs, ys)
        if any(v != 0 for v in at_star.values()):  # pragma: no cover - a bug, not bad input
            raise AssertionError("the closed form does not zero the gradient")
        start = draw_point(self.get(es, "start"), rng, es.at("start"))
        if sorted(start) != ["b", "w"]:
            raise SpecError(f"{es.at('start')}: expected values for w and b")
        lr = draw(es.fields["lr"], rng, es.at("lr"))
        max_iter = self.get(es, "max_iter")
        tol_exact = exact(self.get(es, "tol"), es.at("tol"))
        tol = float(tol_exact)
        run = run_story(d, xs, ys, start, {"gd": lr}, max_iter, tol)["gd"]
        if run.stopped_because != "converged":
            raise Degenerate("gradient descent does not converge at this learning rate")

        w_gd, b_gd = float(run.params["w"]), float(run.params["b"])
        gap = max(abs(w_gd - float(w_star)), abs(b_gd - float(b_star)))
        dh, dr = data_table(xs, ys)
        x_i = sp.Symbol("x_i", real=True)
        zero = tuple(rf"{partial_latex(d, p)} = {expr_latex(d.gradients[p].expanded, {x_i})} = 0"
                     for p in ("w", "b"))
        prompt = [
            Text(rf"Fit \(\hat{{y}}_{{i}} = w x_{{i}} + b\) to these {n} samples by minimising "
                 "the mean squared error:"),
            Table(dh, dr),
            Text("(a) Closed form: set both gradients to zero and solve for \\(w\\) and \\(b\\)."),
            Text(rf"(b) Iteration: run gradient descent from \({point_latex(start)}\) with "
                 rf"\(\eta = {num(lr)}\), stopping when \(w_{{new}} = w_{{old}}\) (changes at most "
                 f"{num(tol_exact)}) or after {max_iter} iterations. How many iterations does "
                 "it take, and how close does it get to the closed form? (c) When would you "
                 "rather iterate than solve in closed form?"),
            Space(12),
        ]
        solution = [
            Text("(a) Setting the gradients to zero:"),
            Math(zero),
            Text("gives the normal equations. With the sums"),
            Table((r"\(N\)", r"\(\sum x_{i}\)", r"\(\sum y_{i}\)", r"\(\sum x_{i}^{2}\)",
                   r"\(\sum x_{i} y_{i}\)"), ((str(n), num(sx), num(sy), num(sxx), num(sxy)),)),
            Math((r"w^{*} = \frac{N \sum x_{i} y_{i} - \sum x_{i} \sum y_{i}}{N \sum x_{i}^{2} - "
                  rf"\left(\sum x_{{i}}\right)^{{2}}}} {approx(w_star)}",
                  r"b^{*} = \frac{\sum y_{i} - w^{*} \sum x_{i}}{N} "
                  + approx(b_star))),
            Text(rf"(b) By computer (symgrad's gradient descent: too many steps to do by hand), "
                 rf"gradient descent converges (\(w_{{new}} = w_{{old}}\) within "
                 rf"{num(tol_exact)}) after {run.iterations} iterations at "
                 rf"\(w = {num(w_gd)}\), \(b = {num(b_gd)}\), within {num(gap)} "
                 "of the closed form."),
            Text("(c) The closed form solves a k+1 by k+1 linear system; with many features, "
                 "for models without a closed form (logistic regression, networks), or for data "
                 "that do not fit in memory, gradient descent is the way."),
        ]
        given = {"expr": "mse loss with the linear model", "lr": float(lr),
                 "point": {k: float(v) for k, v in start.items()}, "max_iter": max_iter,
                 "tol": tol, "source": source,
                 "data": {"x": [float(x) for x in xs], "y": [float(y) for y in ys]}}
        answers = [
            Answer(f"{es.number}.w_star", self.name, r"the closed-form slope \(w^{*}\)",
                   {**given, "wrt": "w"}, rf"w^{{*}} {approx(w_star)}", f"w* = {num_text(w_star)}",
                   float(w_star), tolerance(float(w_star), es)),
            Answer(f"{es.number}.b_star", self.name, r"the closed-form intercept \(b^{*}\)",
                   {**given, "wrt": "b"}, rf"b^{{*}} {approx(b_star)}", f"b* = {num_text(b_star)}",
                   float(b_star), tolerance(float(b_star), es)),
            Answer(f"{es.number}.iterations", self.name,
                   "the number of gradient-descent iterations until it stops",
                   given, rf"{run.iterations}", f"{run.iterations}", float(run.iterations),
                   max(1.0, 0.02 * run.iterations)),
        ]
        title = es.title or "Closed form versus gradient descent"
        drawn = {"data": (xs, ys), "loss": "mse", "model": "linear", "start": start, "lr": lr,
                 "max_iter": max_iter}
        return Exercise(es.number, self.name, title, float(es.points), prompt, solution, answers,
                        drawn=drawn)

    def figure_defaults(self, plot_kind: str, options: Any, drawn: Any) -> dict[str, Any]:
        """The variant's data; gradient descent from the exercise's start at its learning rate
        (the slope figure keeps the plots' default: b at its minimum, tangents around w*)."""
        return data_figure_defaults(plot_kind, options, drawn)

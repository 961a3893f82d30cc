r"""``gd_steps``: k steps of gradient descent by hand, then the learning-rate story.

Fields: ``loss``/``model`` (default mse/linear), ``data``, ``start`` (a point), ``lr``, ``steps``
(k), and for the story ``story`` (default true), ``story_lrs`` (``{small, ideal, large}``; for
mse/linear they default to values read off the Hessian: ideal about 1/lambda_max, small 100 times
smaller, large past 2/lambda_max), ``max_iter`` (default 1000) and ``tol`` (default 1e-6).

By hand, ``w_new = w_old - lr * dL/dw`` with the gradients evaluated exactly (fractions for mse,
cross-checked against the compiled NumPy gradient); the story runs :func:`symgrad.numerics.train
.gradient_descent` at the three learning rates, which must stop by the iteration limit (small),
by ``w_new = w_old`` within ``tol`` (ideal), and by diverging (large). A draw with a zero gradient
at the start, or whose story does not come out that way, is rejected.

>>> import random
>>> from fractions import Fraction
>>> from symgrad.teaching.worksheets.spec import ExerciseSpec
>>> es = ExerciseSpec(3, "gd_steps", Fraction(6), "", {"data": {"x": [1, 2, 3], "y": [2, 3, 5]},
...     "start": {"w": 0, "b": 0}, "lr": 0.1, "steps": 1}, "demo")
>>> ex = KINDS["gd_steps"].generate(es, random.Random(0))
>>> {a.id: a.value for a in ex.answers if a.id in ("3.w1", "3.b1", "3.story_ideal")}
{'3.w1': 1.5333333333333334, '3.b1': 0.6666666666666666, '3.story_ideal': 'converged'}
"""

from __future__ import annotations

import math
import random
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from symgrad.core.names import FIT_LOSSES, MODELS, display_name
from symgrad.numerics.compile import compile_gradient
from symgrad.numerics.train import batch_rows, gradient_descent
from symgrad.render.latex import expr_latex
from symgrad.render.text import symbol_text
from symgrad.teaching.worksheets.kinds import KINDS, Degenerate, Field, Kind, register
from symgrad.teaching.worksheets.kinds._common import (
    Value,
    approx,
    data_figure_defaults,
    data_table,
    derived,
    draw_run,
    gradient_at,
    loss_at,
    num,
    num_text,
    partial_latex,
    point_latex,
    point_plain,
    to_sympy,
    tolerance,
)
from symgrad.teaching.worksheets.model import (
    NOT_ASKED,
    Answer,
    Exercise,
    Math,
    Space,
    Table,
    Text,
)
from symgrad.teaching.worksheets.spec import ExerciseSpec, SpecError, exact

__all__ = ["GDStepsKind", "KINDS", "RUN_FIELDS", "hessian_lrs", "run_story"]

REASONS = {
    "max_iter": "the iteration limit: still far from the minimum (too small)",
    "converged": r"\(w_{new} = w_{old}\) (within the tolerance): converged (about right)",
    "diverged": "the loss blows up: diverged (too large)",
}


def nice(x: float, up: bool = False) -> Fraction:
    """``x`` rounded down (or up) to one significant digit, as an exact fraction.

    >>> nice(0.0667), nice(0.1667, up=True)
    (Fraction(3, 50), Fraction(1, 5))
    """
    e = math.floor(math.log10(x))
    lead = x / 10**e
    digit = math.ceil(lead - 1e-12) if up else math.floor(lead + 1e-12)
    return Fraction(digit) * Fraction(10) ** e


def hessian_lrs(xs: list) -> dict[str, Fraction]:
    """small / ideal / large learning rates for mse with a linear model, from the Hessian's
    largest eigenvalue (the Hessian of the mse is (2/N) [[sum x^2, sum x], [sum x, N]])."""
    x = np.array([float(v) for v in xs])
    h = 2 / len(x) * np.array([[np.sum(x * x), np.sum(x)], [np.sum(x), len(x)]])
    top = float(np.max(np.linalg.eigvalsh(h)))
    ideal = nice(1 / top)
    return {"small": ideal / 100, "ideal": ideal, "large": nice(2.5 / top, up=True)}


#: The stopping options of :func:`run_story`, fields of every kind that runs it.
RUN_FIELDS = {
    "max_iter": Field("int", default=1000, low=10, high=100_000),
    "tol": Field("number", default=Fraction(1, 10**6)),
}


def run_story(d: Any, xs: list, ys: list, start: dict, lrs: dict, max_iter: int,
              tol: float) -> dict[str, Any]:
    """Gradient descent at each learning rate: ``{which: TrainResult}``."""
    f = compile_gradient(d)
    X = np.array([[float(v)] for v in xs])
    Y = np.array([float(v) for v in ys])

    def loss_and_grad(params: dict, idx: Any) -> tuple:
        return f(params, *batch_rows(idx, X, Y))

    p0 = {k: float(v) for k, v in start.items()}
    return {which: gradient_descent(loss_and_grad, p0, len(xs), lr=float(lr), max_iter=max_iter,
                                    tol=tol) for which, lr in lrs.items()}


def _update(p: Value, lr: Fraction, g: Value) -> Value:
    if isinstance(p, Fraction) and isinstance(g, Fraction):
        return p - lr * g
    value = sp.sympify(to_sympy(p) if isinstance(p, Fraction) else p) - to_sympy(lr) * g
    return sp.Float(value.evalf(30), 30)


@register
class GDStepsKind(Kind):
    name = "gd_steps"
    summary = "k steps of gradient descent by hand, and small / ideal / large learning rates"
    fields = {
        "loss": Field("name", default="mse", choices=FIT_LOSSES),
        "model": Field("name", default="linear", choices=MODELS),
        "data": Field("data", required=True),
        "start": Field("point", required=True, help="the initial parameters: { w = 0, b = 0 }"),
        "lr": Field("number", required=True, help="the learning rate of the steps by hand"),
        "steps": Field("int", default=2, low=1, high=6),
        "story": Field("bool", default=True),
        "story_lrs": Field("lrs"),
        **RUN_FIELDS,
        "tolerance": Field("number"),
    }

    def check(self, es: ExerciseSpec) -> None:
        linear_mse = self.get(es, "loss") == "mse" and self.get(es, "model") == "linear"
        if self.get(es, "story") and "story_lrs" not in es.fields and not linear_mse:
            raise SpecError(f"{es.where}: missing field 'story_lrs' (learning rates are chosen "
                            "automatically only for mse with the linear model)")
        if "story_lrs" in es.fields:
            lrs = {k: exact(v, es.at("story_lrs")) for k, v in es.fields["story_lrs"].items()}
            if not lrs["small"] < lrs["ideal"] < lrs["large"]:
                raise SpecError(f"{es.at('story_lrs')}: expected small < ideal < large")

    def generate(self, es: ExerciseSpec, rng: random.Random) -> Exercise:
        loss, model = self.get(es, "loss"), self.get(es, "model")
        d = derived(loss, model)
        names, xs, ys, source, start, lr = draw_run(es, rng, d, loss)
        k = self.get(es, "steps")

        # by hand
        params = [dict(start)]
        grads, losses = [], []
        for _ in range(k):
            g = gradient_at(d, params[-1], xs, ys)
            if not grads and any(v == 0 for v in g.values()):
                raise Degenerate("a zero gradient at the start")
            grads.append(g)
            losses.append(loss_at(d, params[-1], xs, ys))
            params.append({n: _update(params[-1][n], lr, g[n]) for n in names})
        losses.append(loss_at(d, params[-1], xs, ys))
        if any(abs(float(v)) > 1e6 for p in params for v in p.values()):
            raise Degenerate("numbers too large to do by hand")

        header = (r"\(t\)", *[rf"\({expr_latex(sp.Symbol(n))}_{{t}}\)" for n in names],
                  r"\(L\)", *[rf"\({partial_latex(d, n)}\)" for n in names])
        full_rows, blank_rows = [], []
        for t in range(k + 1):  # no step starts from the last row: its gradients are not asked
            asked = "" if t < k else NOT_ASKED
            full_rows.append((str(t), *[num(params[t][n]) for n in names], num(losses[t]),
                              *[num(grads[t][n]) if t < k else NOT_ASKED for n in names]))
            blank_rows.append((str(t), *[num(params[0][n]) if t == 0 else "" for n in names],
                               "", *[asked] * len(names)))
        dh, dr = data_table(xs, ys)
        updates = tuple(rf"{expr_latex(sp.Symbol(n))}_{{new}} = {expr_latex(sp.Symbol(n))}_{{old}}"
                        rf" - \eta \, {partial_latex(d, n)}" for n in names)
        grads_named = tuple(rf"{partial_latex(d, n)} = {expr_latex(d.gradients[n].named)}"
                            for n in names)
        prompt = [
            Text(f"Fit the model by minimising the {display_name(loss)} on these {len(xs)} "
                 "samples:"),
            Table(dh, dr),
            Text(rf"Start at \({point_latex(start)}\) with learning rate \(\eta = {num(lr)}\). "
                 f"(a) Do {k} step{'s' if k > 1 else ''} of gradient descent by hand, using"),
            Math(updates),
            Text("and fill in the table (the loss at each row's parameters, and the gradients "
                 "at the parameters each step starts from)."),
            Table(header, tuple(blank_rows)),
        ]
        solution = [Text("The gradients (derived step by step in the lecture):"),
                    Math(grads_named), Table(header, tuple(full_rows))]
        for t in range(1, k + 1):
            solution.append(Math(tuple(
                rf"{expr_latex(sp.Symbol(n))}_{{{t}}} = {num(params[t - 1][n])} - {num(lr)} "
                rf"\cdot ({num(grads[t - 1][n])}) {approx(params[t][n])}" for n in names)))
        given = {"expr": f"{loss} loss with the {model} model", "lr": float(lr),
                 "point": point_plain(start), "steps": k, "source": source,
                 "data": {"x": [float(x) for x in xs], "y": [float(y) for y in ys]}}
        answers = []
        for t in range(k):
            for n in names:
                v = grads[t][n]
                answers.append(Answer(
                    f"{es.number}.d{n}{t}", self.name,
                    rf"\({partial_latex(d, n)}\) at step \(t = {t}\)",
                    {**given, "wrt": n, "t": t},
                    rf"{partial_latex(d, n)} {approx(v)}",
                    f"∂L/∂{symbol_text(n)} = {num_text(v)}", float(v), tolerance(float(v), es)))
        for t in range(1, k + 1):
            for n in names:
                v = params[t][n]
                answers.append(Answer(
                    f"{es.number}.{n}{t}", self.name,
                    rf"\({expr_latex(sp.Symbol(n))}_{{{t}}}\) after {t} step{'s' if t > 1 else ''}",
                    {**given, "wrt": n, "t": t},
                    rf"{expr_latex(sp.Symbol(n))}_{{{t}}} {approx(v)}",
                    f"{symbol_text(f'{n}_{t}')} = {num_text(v)}",
                    float(v), tolerance(float(v), es)))

        drawn: dict[str, Any] = {"data": (xs, ys), "loss": loss, "model": model, "start": start,
                                 "lr": lr, "max_iter": self.get(es, "max_iter")}
        if self.get(es, "story"):
            lrs = self._story(es, d, xs, ys, start, names, given, prompt, solution, answers)
            drawn["lrs"] = [lrs[w] for w in ("small", "ideal", "large")]
        prompt.append(Space(10))
        title = es.title or "Gradient descent by hand"
        return Exercise(es.number, self.name, title, float(es.points), prompt, solution, answers,
                        drawn=drawn)

    def figure_defaults(self, plot_kind: str, options: Any, drawn: Any) -> dict[str, Any]:
        """The variant's data, loss, model and start; ``lr-comparison`` at the story's three
        learning rates, the other plots at the by-hand learning rate."""
        return data_figure_defaults(plot_kind, options, drawn)

    def _story(self, es: ExerciseSpec, d: Any, xs: list, ys: list, start: dict, names: list,
               given: dict, prompt: list, solution: list, answers: list) -> dict[str, Fraction]:
        if "story_lrs" in es.fields:
            lrs = {k: exact(v, es.at("story_lrs")) for k, v in es.fields["story_lrs"].items()}
        else:
            lrs = hessian_lrs(xs)
        max_iter = self.get(es, "max_iter")
        tol_exact = exact(self.get(es, "tol"), es.at("tol"))
        tol = float(tol_exact)
        runs = run_story(d, xs, ys, start, lrs, max_iter, tol)
        expected = {"small": "max_iter", "ideal": "converged", "large": "diverged"}
        if any(runs[w].stopped_because != r for w, r in expected.items()):
            raise Degenerate("the learning-rate story does not come out")
        shown = ", ".join(rf"\(\eta = {num(lrs[w])}\)" for w in ("small", "ideal", "large"))
        prompt.append(Text(
            f"(b) Now run gradient descent from the same start with {shown}, stopping when "
            rf"\(w_{{new}} = w_{{old}}\) (every parameter changes by at most {num(tol_exact)}) "
            f"or after {max_iter} iterations, whichever comes first. For each learning rate: which "
            "rule stops the run, and why? Which learning rate is too small, which is about right, "
            "and which is too large?"))
        header = (r"\(\eta\)", "stopped by", "iterations",
                  *[rf"\({expr_latex(sp.Symbol(n))}\)" for n in names], r"\(L\)")
        rows = []
        for which in ("small", "ideal", "large"):
            r = runs[which]
            rows.append((num(lrs[which]), REASONS[r.stopped_because], str(r.iterations),
                         *[num(float(r.params[n])) for n in names], num(r.final_loss)))
            answers.append(Answer(
                f"{es.number}.story_{which}", self.name,
                rf"what stops gradient descent with \(\eta = {num(lrs[which])}\)",
                {**given, "lr": float(lrs[which]), "max_iter": max_iter, "tol": tol},
                rf"\text{{{r.stopped_because}}}", r.stopped_because, r.stopped_because))
        solution += [
            Text(f"(b) By computer (symgrad's gradient descent on all {len(names)} parameters "
                 f"at once; too many steps to do by hand), with at most {max_iter} iterations "
                 f"and tolerance {num(tol_exact)}:"),
            Table(header, tuple(rows)),
            Text(f"Too small a learning rate creeps towards the minimum and is stopped by the "
                 f"iteration limit ({max_iter}); about the right one converges, the updates "
                 rf"shrinking until \(w_{{new}} = w_{{old}}\); too large a one overshoots further "
                 f"at every step and diverges (the run is stopped at iteration "
                 f"{runs['large'].iterations})."),
        ]
        return lrs

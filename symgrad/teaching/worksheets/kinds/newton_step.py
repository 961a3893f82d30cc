r"""``newton_step``: one step of Newton's method by hand, ``theta_1 = theta_0 - H^-1 g``.

Fields: ``loss`` (``mse``, with the linear model: the step lands on the closed-form least-squares
line, whatever the start; ``bce``, with logistic regression: one step of IRLS), ``data``,
``start`` (default w = 0, b = 0: for bce every yhat is then 1/2 and the step is exact fractions)
and ``tolerance``. The Hessian entries are the engine's (:func:`symgrad.core.hessian
.with_hessian`, derived step by step and verified), evaluated exactly on the data and
cross-checked against the compiled Hessian; the 2 x 2 system ``H d = g`` is solved exactly where
the numbers are rational. The answers: the gradient, the three distinct Hessian entries and the
new parameters. A draw with a zero gradient at the start or a singular Hessian is drawn again.

>>> import random
>>> from fractions import Fraction
>>> from symgrad.teaching.worksheets.spec import ExerciseSpec
>>> es = ExerciseSpec(1, "newton_step", Fraction(6), "", {"loss": "mse",
...     "data": {"x": [0, 1, 2], "y": [1, 3, 4]}, "start": {"w": 0, "b": 0}}, "demo")
>>> ex = KINDS["newton_step"].generate(es, random.Random(0))
>>> [(a.id, round(a.value, 4)) for a in ex.answers][-2:]  # the closed form: w* = 1.5
[('1.w1', 1.5), ('1.b1', 1.1667)]
"""

from __future__ import annotations

import functools
import math
import random
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from symgrad.core.derive import Derivation
from symgrad.core.graph import N
from symgrad.core.hessian import with_hessian
from symgrad.numerics.hessian import compile_hessian
from symgrad.render.latex import expr_latex
from symgrad.render.text import symbol_text
from symgrad.teaching.worksheets.kinds import KINDS, Degenerate, Field, Kind, register
from symgrad.teaching.worksheets.kinds._common import (
    _plain,
    _subs,
    approx,
    check_labels,
    data_table,
    derived,
    draw_data,
    draw_point,
    gradient_at,
    num,
    num_text,
    partial_latex,
    point_latex,
    point_plain,
    tolerance,
)
from symgrad.teaching.worksheets.model import Answer, Exercise, Math, Space, Table, Text
from symgrad.teaching.worksheets.spec import ExerciseSpec, SpecError

__all__ = ["KINDS", "NewtonStepKind", "hessian_at"]

MODEL = {"mse": "linear", "bce": "logistic"}


@functools.lru_cache(maxsize=4)
def _with_hessian(loss: str) -> Derivation:
    return with_hessian(derived(loss, MODEL[loss]))


def hessian_at(d: Derivation, point: dict, xs: list, ys: list) -> dict[tuple[str, str], Any]:
    """The Hessian entries ``{(row, col): value}`` at ``point`` on the data, exactly where
    possible, cross-checked against the compiled Hessian."""
    out = {}
    for e in d.meta["hessian"]:
        total = sp.Add(*[e.term.xreplace(_subs(d, point, x, y))
                         for x, y in zip(xs, ys, strict=True)])
        out[(e.row, e.col)] = _plain(sp.sympify(e.scale).subs(N, len(xs)) * total + e.extra)
    names = list(d.gradients)
    fast = compile_hessian(d).matrix(np.array([float(point[n]) for n in names]),
                                     np.array([[float(x)] for x in xs]),
                                     np.array([float(y) for y in ys]))
    for (r, c), v in out.items():
        if not math.isclose(float(v), fast[names.index(r), names.index(c)], rel_tol=1e-9,
                            abs_tol=1e-12):
            raise AssertionError(f"exact and compiled Hessians differ at {r}, {c}")
    return out


def _exact(v: Any) -> Any:
    return v if isinstance(v, Fraction) else float(v)


@register
class NewtonStepKind(Kind):
    name = "newton_step"
    summary = "one Newton step: the closed form for mse, one IRLS step for logistic regression"
    fields = {
        "loss": Field("name", default="mse", choices=tuple(MODEL)),
        "data": Field("data", required=True),
        "start": Field("point", default={"w": 0, "b": 0}),
        "tolerance": Field("number"),
    }

    def generate(self, es: ExerciseSpec, rng: random.Random) -> Exercise:
        loss = self.get(es, "loss")
        loss = rng.choice(loss["choice"]) if isinstance(loss, dict) else loss
        model = MODEL[loss]
        d = _with_hessian(loss)
        names = list(d.gradients)
        xs, ys, source = draw_data(es.fields["data"], rng, es.at("data"))
        check_labels(loss, ys, es.at("data"))
        if len(set(xs)) < 2:
            raise Degenerate("all x equal: the Hessian is singular")
        start = draw_point(self.get(es, "start"), rng, es.at("start"))
        if sorted(start) != sorted(names):
            raise SpecError(f"{es.at('start')}: expected values for {', '.join(names)}")
        start = {n: start[n] for n in names}
        g = {n: _exact(v) for n, v in gradient_at(d, start, xs, ys).items()}
        if any(v == 0 for v in g.values()):
            raise Degenerate("a zero gradient at the start")
        hs = {key: _exact(v) for key, v in hessian_at(d, start, xs, ys).items()}
        (w, b) = names
        hww, hwb, hbb = hs[(w, w)], hs[(w, b)], hs[(b, b)]
        det = hww * hbb - hwb * hwb
        if abs(float(det)) < 1e-9:
            raise Degenerate("a singular Hessian")
        # H^-1 g for a 2 x 2 H = [[hww, hwb], [hwb, hbb]]
        step = {w: (hbb * g[w] - hwb * g[b]) / det, b: (hww * g[b] - hwb * g[w]) / det}
        new = {n: start[n] - step[n] for n in names}
        after = gradient_at(d, new, xs, ys)
        if loss == "mse" and any(v != 0 for v in after.values()):  # pragma: no cover - a bug
            raise AssertionError("Newton's step on the mse does not reach the minimum")

        sw, sb = expr_latex(sp.Symbol(w)), expr_latex(sp.Symbol(b))
        dh, dr = data_table(xs, ys)
        what = ("the mean squared error of the line " + r"\(\hat{y}_{i} = w x_{i} + b\)"
                if loss == "mse" else
                r"the binary cross-entropy of logistic regression \(\hat{y}_{i} = "
                r"\sigma(w x_{i} + b)\)")
        h_latex = {key: rf"\frac{{\partial^{{2}} L}}{{\partial {expr_latex(sp.Symbol(key[0]))} "
                        rf"\partial {expr_latex(sp.Symbol(key[1]))}}}"
                   if key[0] != key[1] else
                   rf"\frac{{\partial^{{2}} L}}{{\partial {expr_latex(sp.Symbol(key[0]))}^{{2}}}}"
                   for key in hs}
        prompt = [
            Text(f"Minimise {what} on these {len(xs)} samples:"),
            Table(dh, dr),
            Text(rf"Take one step of Newton's method from \({point_latex(start)}\):"),
            Math((r"\theta_{1} = \theta_{0} - H^{-1} \, g, \quad \theta = \begin{pmatrix} w \\ b "
                  r"\end{pmatrix}",)),
            Text(r"with \(g\) the gradient and \(H\) the Hessian (the matrix of second "
                 r"derivatives) at \(\theta_{0}\). (a) Compute \(g\) and the entries of \(H\). "
                 r"(b) Solve \(H d = g\) and give \(w_{1}\) and \(b_{1}\). "
                 + ("(c) Compare with the closed-form least-squares line: why does one step "
                    "suffice?" if loss == "mse" else
                    "(c) This is one step of IRLS (iteratively reweighted least squares): "
                    "which weights does it give each sample?")),
            Space(12),
        ]
        named = [rf"{h_latex[key]} = {expr_latex(e.named)}"
                 for key, e in zip(hs, d.meta["hessian"], strict=True)]
        solution = [
            Text("(a) The gradient and the Hessian (each entry differentiates a gradient again, "
                 "with the chain rule):"),
            Math(tuple(rf"{partial_latex(d, n)} = {expr_latex(d.gradients[n].named)}"
                       for n in names)),
            Math(tuple(named)),
            Text(rf"At \({point_latex(start)}\)"
                 + (r" every \(\hat{y}_{i} = \sigma(0) = \frac{1}{2}\), so every weight "
                    r"\(\hat{y}_{i} (1 - \hat{y}_{i}) = \frac{1}{4}\):"
                    if loss == "bce" and all(v == 0 for v in start.values()) else ":")),
            Math((*[rf"g_{{{expr_latex(sp.Symbol(n))}}} = {partial_latex(d, n)} {approx(g[n])}"
                    for n in names],
                  *[rf"H_{{{r}{c}}} = {h_latex[(r, c)]} {approx(v)}" for (r, c), v in hs.items()])),
            Text(rf"(b) With \(\det H = H_{{{w}{w}}} H_{{{b}{b}}} - H_{{{w}{b}}}^{{2}} "
                 rf"{approx(det)}\), the inverse of the 2 by 2 matrix gives"),
            Math((rf"d_{{{sw}}} = \frac{{H_{{{b}{b}}} \, g_{{{sw}}} - H_{{{w}{b}}} \, g_{{{sb}}}}}"
                  rf"{{\det H}} = \frac{{{num(hbb)} \cdot {_paren(g[w])} - {_paren(hwb)} \cdot "
                  rf"{_paren(g[b])}}}{{{num(det)}}} {approx(step[w])}",
                  rf"d_{{{sb}}} = \frac{{H_{{{w}{w}}} \, g_{{{sb}}} - H_{{{w}{b}}} \, g_{{{sw}}}}}"
                  rf"{{\det H}} = \frac{{{num(hww)} \cdot {_paren(g[b])} - {_paren(hwb)} \cdot "
                  rf"{_paren(g[w])}}}{{{num(det)}}} {approx(step[b])}",
                  rf"{sw}_{{1}} = {num(start[w])} - {_paren(step[w])} {approx(new[w])}",
                  rf"{sb}_{{1}} = {num(start[b])} - {_paren(step[b])} {approx(new[b])}")),
            Text("(c) " + (
                "The mean squared error of a linear model is a quadratic in w and b: its "
                "second-order Taylor expansion is exact, so one Newton step lands on its minimum, "
                r"the closed-form line (the gradient there is 0), from any start."
                if loss == "mse" else
                r"Each sample is weighted by \(\hat{y}_{i} (1 - \hat{y}_{i})\): the samples the "
                "model is least sure about count most. The loss is not quadratic, so IRLS "
                "repeats the step with new weights until the parameters stop changing.")),
        ]
        given = {"expr": f"{loss} loss with the {model} model", "optimizer": "newton",
                 "point": point_plain(start), "source": source,
                 "data": {"x": [float(x) for x in xs], "y": [float(y) for y in ys]}}
        answers = []
        for n in names:
            answers.append(Answer(f"{es.number}.d{n}", self.name,
                                  rf"\({partial_latex(d, n)}\) at the start",
                                  {**given, "wrt": n}, rf"{partial_latex(d, n)} {approx(g[n])}",
                                  f"∂L/∂{symbol_text(n)} = {num_text(g[n])}", float(g[n]),
                                  tolerance(float(g[n]), es)))
        for (r, c), v in hs.items():
            answers.append(Answer(f"{es.number}.H{r}{c}", self.name,
                                  rf"the Hessian entry \({h_latex[(r, c)]}\)",
                                  {**given, "wrt": [r, c]}, rf"{h_latex[(r, c)]} {approx(v)}",
                                  f"∂²L/∂{symbol_text(r)}∂{symbol_text(c)} = {num_text(v)}",
                                  float(v), tolerance(float(v), es)))
        for n in names:
            answers.append(Answer(f"{es.number}.{n}1", self.name,
                                  rf"\({expr_latex(sp.Symbol(n))}_{{1}}\) after the Newton step",
                                  {**given, "wrt": n},
                                  rf"{expr_latex(sp.Symbol(n))}_{{1}} {approx(new[n])}",
                                  f"{symbol_text(f'{n}_1')} = {num_text(new[n])}", float(new[n]),
                                  tolerance(float(new[n]), es)))
        title = es.title or ("Newton's method: one step to the least-squares line"
                             if loss == "mse" else "Newton's method for logistic regression (IRLS)")
        return Exercise(es.number, self.name, title, float(es.points), prompt, solution, answers,
                        drawn={"data": (xs, ys), "loss": loss, "model": model, "start": start})


def _paren(x: Any) -> str:
    text = num(x)
    return f"({text})" if text.startswith("-") else text

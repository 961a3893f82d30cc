r"""``optimizer_steps``: two or three steps of momentum or Adam by hand.

Fields: ``optimizer`` (``momentum`` or ``adam``), ``loss``/``model`` (default mse/linear),
``data``, ``start`` (a point), ``lr``, ``steps`` (default 2), the hyper-parameters with PyTorch's
names and defaults (``momentum`` 0.9; ``beta1`` 0.9, ``beta2`` 0.999, ``eps`` 1e-8) and
``tolerance``. The recurrences are those of :mod:`symgrad.core.updates` (torch.optim's), every
state starting at 0, t counting updates:

* momentum: ``V_{t+1} = mu V_t + g_t``, ``p_{t+1} = p_t - eta V_{t+1}``;
* Adam: ``m_{t+1} = beta1 m_t + (1 - beta1) g_t``, ``v_{t+1} = beta2 v_t + (1 - beta2) g_t^2``,
  ``mhat = m_{t+1} / (1 - beta1^(t+1))``, ``vhat = v_{t+1} / (1 - beta2^(t+1))``,
  ``p_{t+1} = p_t - eta mhat / (sqrt(vhat) + eps)``.

Momentum on mse is worked in exact fractions; Adam (a square root) in decimals. The gradients are
the engine's, evaluated exactly and cross-checked against the compiled NumPy gradient. The
answers: each gradient, state and parameter after each step. A draw with a zero gradient at the
start, or numbers too large to do by hand, is drawn again.

>>> import random
>>> from fractions import Fraction
>>> from symgrad.teaching.worksheets.spec import ExerciseSpec
>>> es = ExerciseSpec(2, "optimizer_steps", Fraction(6), "", {"optimizer": "adam",
...     "data": {"x": [1, 2], "y": [2, 3]}, "start": {"w": 0, "b": 0}, "lr": 0.1}, "demo")
>>> ex = KINDS["optimizer_steps"].generate(es, random.Random(0))
>>> [(a.id, round(a.value, 6)) for a in ex.answers][1:4]  # Adam's first step moves by lr
[('2.mw1', -0.8), ('2.vw1', 0.064), ('2.w1', 0.1)]
"""

from __future__ import annotations

import math
import random
from fractions import Fraction
from typing import Any

import sympy as sp

from symgrad.core.errors import OptionError
from symgrad.core.names import display_name
from symgrad.numerics.optim import optimizer
from symgrad.render.latex import expr_latex
from symgrad.render.text import symbol_text
from symgrad.teaching.worksheets.kinds import KINDS, Degenerate, Field, Kind, register
from symgrad.teaching.worksheets.kinds._common import (
    approx,
    data_table,
    derived,
    draw_run,
    gradient_at,
    num,
    num_text,
    partial_latex,
    point_latex,
    point_plain,
    tolerance,
)
from symgrad.teaching.worksheets.model import NOT_ASKED, Answer, Exercise, Math, Space, Table, Text
from symgrad.teaching.worksheets.spec import ExerciseSpec, SpecError, exact

__all__ = ["KINDS", "OptimizerStepsKind"]

#: The hyper-parameters of each optimizer, with PyTorch's defaults.
HYPER = {"momentum": ("momentum",), "adam": ("beta1", "beta2", "eps")}


def _sym(p: str) -> str:
    return expr_latex(sp.Symbol(p))


def _small(x: Fraction) -> str:
    """``10^{-8}`` for a power of ten below 0.001 (epsilon), else the number."""
    k = round(-math.log10(x)) if x > 0 else 0
    return f"10^{{-{k}}}" if k > 3 and x == Fraction(1, 10**k) else num(x)


def _signed(x: Any, digits: int = 4) -> str:
    text = num(x, digits)
    return f"({text})" if text.startswith("-") else text


@register
class OptimizerStepsKind(Kind):
    name = "optimizer_steps"
    summary = "two or three steps of momentum or Adam by hand"
    fields = {
        "optimizer": Field("name", required=True, choices=tuple(HYPER)),
        "loss": Field("name", default="mse", choices=("mse", "bce")),
        "model": Field("name", default="linear", choices=("linear", "logistic")),
        "data": Field("data", required=True),
        "start": Field("point", required=True, help="the initial parameters: { w = 0, b = 0 }"),
        "lr": Field("number", required=True, help="the learning rate eta"),
        "steps": Field("int", default=2, low=1, high=3),
        "momentum": Field("number", default=Fraction(9, 10)),
        "beta1": Field("number", default=Fraction(9, 10)),
        "beta2": Field("number", default=Fraction(999, 1000)),
        "eps": Field("number", default=Fraction(1, 10**8)),
        "tolerance": Field("number"),
    }

    def hyper(self, es: ExerciseSpec, name: str) -> dict[str, Fraction]:
        """The optimizer's hyper-parameters (exact), checked as training checks them."""
        h = {k: exact(self.get(es, k), es.at(k)) for k in HYPER[name]}
        try:
            optimizer(name, **{k: float(v) for k, v in h.items()})
        except OptionError as e:
            raise SpecError(f"{es.at(e.option or name)}: {e}") from None
        return h

    def check(self, es: ExerciseSpec) -> None:
        value = es.fields["optimizer"]
        for name in value["choice"] if isinstance(value, dict) else [value]:
            self.hyper(es, name)
        other = {k for n, ks in HYPER.items() for k in ks} - {
            k for n in (value["choice"] if isinstance(value, dict) else [value]) for k in HYPER[n]}
        for k in sorted(other & set(es.fields)):
            raise SpecError(f"{es.at(k)}: {k} is not a hyper-parameter of {value!r}")

    def generate(self, es: ExerciseSpec, rng: random.Random) -> Exercise:
        opt = self.get(es, "optimizer")
        opt = rng.choice(opt["choice"]) if isinstance(opt, dict) else opt
        loss, model = self.get(es, "loss"), self.get(es, "model")
        d = derived(loss, model)
        names, xs, ys, source, start, lr = draw_run(es, rng, d, loss)
        h = self.hyper(es, opt)
        k = self.get(es, "steps")
        exactly = opt == "momentum"

        def grad(point: dict) -> dict:
            g = gradient_at(d, {n: Fraction(v) for n, v in point.items()}, xs, ys)
            return {n: v if exactly and isinstance(v, Fraction) else float(v)
                    for n, v in g.items()}

        params = [dict(start) if exactly else {n: float(v) for n, v in start.items()}]
        grads: list[dict] = []
        zero: Any = Fraction(0) if exactly else 0.0
        states: list[dict] = [{n: {s: zero for s in self.states(opt)} for n in names}]
        for t in range(1, k + 1):
            g = grad(params[-1])
            if not grads and any(v == 0 for v in g.values()):
                raise Degenerate("a zero gradient at the start")
            grads.append(g)
            new, state = {}, {}
            for n in names:
                new[n], state[n] = self.update(opt, h, lr, t, params[-1][n], g[n],
                                               states[-1][n])
            params.append(new)
            states.append(state)
        if any(abs(float(v)) > 1e4 for p in params for v in p.values()):
            raise Degenerate("numbers too large to do by hand")

        shown = {"momentum": r"\mu", "beta1": r"\beta_{1}", "beta2": r"\beta_{2}",
                 "eps": r"\epsilon"}
        hyper_text = ", ".join(rf"\({shown[key]} = {_small(v)}\)" for key, v in h.items())
        dh, dr = data_table(xs, ys)
        prompt = [
            Text(f"Fit the model by minimising the {display_name(loss)} on these {len(xs)} "
                 "samples:"),
            Table(dh, dr),
            Text(rf"Start at \({point_latex(start)}\), every state at 0, and take {k} "
                 f"step{'s' if k > 1 else ''} of {'Adam' if opt == 'adam' else 'momentum'} "
                 rf"by hand with learning rate \(\eta = {num(lr)}\) and {hyper_text}:"),
            Math(self.rules(opt, "p")),
            Text("for each parameter p (with g its gradient). Fill in a table per parameter "
                 + ("(exact fractions where you can)." if exactly
                    else "(v to 6 digits after the point: it is small).")),
        ]
        solution = [Text("The gradients (derived step by step in the lecture):"),
                    Math(tuple(rf"{partial_latex(d, n)} = {expr_latex(d.gradients[n].named)}"
                               for n in names))]
        for n in names:
            header, blank, full = self.table(opt, n, d, params, grads, states, k)
            prompt.append(Table(header, blank))
            solution.append(Table(header, full))
        if opt == "adam":
            solution.append(Text(
                r"At the first step the bias corrections give \(\hat{m}_{1} = g_{0}\) and "
                r"\(\hat{v}_{1} = g_{0}^{2}\): every parameter moves by \(\eta\) (up to "
                r"\(\epsilon\)), whatever the size of its gradient."))
        for t in range(1, k + 1):
            solution.append(Text(f"Step {t}:"))
            solution.append(Math(tuple(
                row for n in names for row in self.working(opt, h, lr, t, n, params, grads,
                                                           states))))
        prompt.append(Space(8))

        given = {"expr": f"{loss} loss with the {model} model", "optimizer": opt,
                 "lr": float(lr), "hyper": {key: float(v) for key, v in h.items()},
                 "point": point_plain(start), "steps": k, "source": source,
                 "data": {"x": [float(x) for x in xs], "y": [float(y) for y in ys]}}
        answers = []
        for t in range(1, k + 1):
            for n in names:
                items = [(f"d{n}{t - 1}", rf"\({partial_latex(d, n)}\) at step \(t = {t - 1}\)",
                          partial_latex(d, n), f"∂L/∂{symbol_text(n)}", grads[t - 1][n])]
                for s in self.states(opt):
                    items.append((f"{s}{n}{t}", rf"\({self.state_latex(s, n, t)}\)",
                                  self.state_latex(s, n, t), symbol_text(f"{s}_{n},{t}"),
                                  states[t][n][s]))
                items.append((f"{n}{t}", rf"\({_sym(n)}_{{{t}}}\) after {t} "
                              f"step{'s' if t > 1 else ''}", rf"{_sym(n)}_{{{t}}}",
                              symbol_text(f"{n}_{t}"), params[t][n]))
                for key, prose, lhs, text, v in items:
                    tol = tolerance(float(v), es)
                    if key.startswith("v") and "tolerance" not in es.fields:
                        tol = max(5e-7, 1e-3 * abs(float(v)))  # v ~ (1 - beta2) g^2 is small
                    answers.append(Answer(
                        f"{es.number}.{key}", self.name, prose, {**given, "wrt": n, "t": t},
                        f"{lhs} {approx(v)}", f"{text} = {num_text(v, 6 if key[0] == 'v' else 4)}",
                        float(v), tol))
        title = es.title or ("Adam by hand" if opt == "adam" else "Momentum by hand")
        return Exercise(es.number, self.name, title, float(es.points), prompt, solution, answers,
                        drawn={"data": (xs, ys), "loss": loss, "model": model, "start": start,
                               "lr": lr})

    @staticmethod
    def states(opt: str) -> tuple[str, ...]:
        return ("V",) if opt == "momentum" else ("m", "v")

    @staticmethod
    def state_latex(s: str, p: str, t: Any) -> str:
        return f"{s}_{{{_sym(p)},{t}}}"

    @staticmethod
    def update(opt: str, h: dict, lr: Any, t: int, p: Any, g: Any, state: dict
               ) -> tuple[Any, dict]:
        """One step of parameter ``p`` (t = 1, 2, ...): its new value and state."""
        if opt == "momentum":
            v = h["momentum"] * state["V"] + g
            return p - lr * v, {"V": v}
        b1, b2, eps = (float(h[key]) for key in ("beta1", "beta2", "eps"))
        m = b1 * state["m"] + (1 - b1) * g
        v = b2 * state["v"] + (1 - b2) * g * g
        mhat, vhat = m / (1 - b1**t), v / (1 - b2**t)
        return p - float(lr) * mhat / (math.sqrt(vhat) + eps), {"m": m, "v": v, "mhat": mhat,
                                                                  "vhat": vhat}

    def rules(self, opt: str, p: str) -> tuple[str, ...]:
        if opt == "momentum":
            return (r"V_{t+1} = \mu \, V_{t} + g_{t}",
                    rf"{p}_{{t+1}} = {p}_{{t}} - \eta \, V_{{t+1}}")
        return (r"m_{t+1} = \beta_{1} m_{t} + (1 - \beta_{1}) \, g_{t}, \quad "
                r"v_{t+1} = \beta_{2} v_{t} + (1 - \beta_{2}) \, g_{t}^{2}",
                r"\hat{m}_{t+1} = \frac{m_{t+1}}{1 - \beta_{1}^{t+1}}, \quad "
                r"\hat{v}_{t+1} = \frac{v_{t+1}}{1 - \beta_{2}^{t+1}}",
                rf"{p}_{{t+1}} = {p}_{{t}} - \eta \, \frac{{\hat{{m}}_{{t+1}}}}"
                r"{\sqrt{\hat{v}_{t+1}} + \epsilon}")

    def table(self, opt: str, n: str, d: Any, params: list, grads: list, states: list,
              k: int) -> tuple:
        cols = ["V"] if opt == "momentum" else ["m", "v", "mhat", "vhat"]
        heads = {"V": "V", "m": "m", "v": "v", "mhat": r"\hat{m}", "vhat": r"\hat{v}"}
        header = (r"\(t\)", rf"\({_sym(n)}_{{t}}\)", rf"\({partial_latex(d, n)}\)",
                  *[rf"\({heads[c]}_{{{_sym(n)},t}}\)" for c in cols])
        blank, full = [], []
        for t in range(k + 1):  # no step starts from the last row: its gradient is not asked
            row = [str(t), num(params[t][n]), num(grads[t][n]) if t < k else NOT_ASKED]
            for c in cols:
                if c in states[t][n]:
                    row.append(num(states[t][n][c], 6 if c == "v" else 4))
                else:
                    row.append(NOT_ASKED)
            full.append(tuple(row))
            blank.append(tuple(row) if t == 0 else (
                str(t), *[NOT_ASKED if cell == NOT_ASKED else "" for cell in row[1:]]))
        if blank[0][2]:  # the gradient at the start is part of the answer
            blank[0] = (blank[0][0], blank[0][1], "", *blank[0][3:])
        return header, tuple(blank), tuple(full)

    def working(self, opt: str, h: dict, lr: Any, t: int, n: str, params: list, grads: list,
                states: list) -> list[str]:
        """Each recurrence of step ``t`` for parameter ``n``, with its numbers."""
        g, old, new = grads[t - 1][n], states[t - 1][n], states[t][n]
        p0, p1 = params[t - 1][n], params[t][n]
        name = _sym(n)
        if opt == "momentum":
            return [rf"{self.state_latex('V', n, t)} = {num(h['momentum'])} \cdot "
                    rf"{_signed(old['V'])} + {_signed(g)} {approx(new['V'])}",
                    rf"{name}_{{{t}}} = {num(p0)} - {num(lr)} \cdot {_signed(new['V'])} "
                    rf"{approx(p1)}"]
        b1, b2, eps = h["beta1"], h["beta2"], h["eps"]
        return [
            rf"{self.state_latex('m', n, t)} = {num(b1)} \cdot {_signed(old['m'])} + "
            rf"{num(1 - b1)} \cdot {_signed(g)} {approx(new['m'])}",
            rf"{self.state_latex('v', n, t)} = {num(b2)} \cdot {_signed(old['v'], 6)} + "
            rf"{num(1 - b2)} \cdot {_signed(g)}^{{2}} \approx {num(new['v'], 6)}",
            rf"\hat{{m}}_{{{name},{t}}} = \frac{{{num(new['m'])}}}{{1 - {num(b1)}^{{{t}}}}} "
            rf"{approx(new['mhat'])}, \quad \hat{{v}}_{{{name},{t}}} = "
            rf"\frac{{{num(new['v'], 6)}}}{{1 - {num(b2)}^{{{t}}}}} {approx(new['vhat'])}",
            rf"{name}_{{{t}}} = {num(p0)} - {num(lr)} \cdot \frac{{{num(new['mhat'])}}}"
            rf"{{\sqrt{{{num(new['vhat'])}}} + {_small(eps)}}} {approx(p1)}",
        ]

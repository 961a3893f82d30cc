r"""``check``: derive a gradient by hand, check it with ``symgrad check``, and diagnose a
classmate's answer that contains a known mistake.

Fields: ``loss`` and ``model`` (as in ``derive``), ``wrt`` (one parameter, or a choice; default
``w``), ``mistake`` (the mistake in the classmate's answer: ``missing_mean_and_sum`` (the
lecture's 2u·xᵢ), ``missing_1_over_N``, ``missing_sum``, ``sign``, ``factor_2``,
``missing_chain_factor``, or a choice), ``at`` with ``data`` to also evaluate the gradient.
The classmate's answer is built by transforming the correct one (never typed in) and must be
diagnosed by :func:`symgrad.teaching.check.check_answer` as that mistake, or the draw is rejected.

>>> import random
>>> from fractions import Fraction
>>> from symgrad.teaching.worksheets.spec import ExerciseSpec
>>> es = ExerciseSpec(1, "check", Fraction(4), "", {"loss": "mse", "mistake": "sign"}, "demo")
>>> ex = KINDS["check"].generate(es, random.Random(0))
>>> [a.id for a in ex.answers], ex.answers[0].value
(['1.w'], None)
"""

from __future__ import annotations

import functools
import random
from typing import Any

import sympy as sp

from symgrad.core.errors import SymgradError
from symgrad.core.graph import N
from symgrad.core.names import LOSSES, MODELS, display_name
from symgrad.render import rule_text
from symgrad.render.latex import expr_latex
from symgrad.render.text import expr_text
from symgrad.teaching.check import check_answer
from symgrad.teaching.worksheets.kinds import KINDS, Degenerate, Field, Kind, register
from symgrad.teaching.worksheets.kinds._common import (
    approx,
    check_labels,
    data_table,
    derived,
    draw_data,
    draw_point,
    gradient_at,
    num_text,
    partial_latex,
    partial_text,
    pick,
    point_latex,
    point_plain,
    sample_working,
    tolerance,
)
from symgrad.teaching.worksheets.kinds.derive import definitions
from symgrad.teaching.worksheets.model import (
    Answer,
    Code,
    Exercise,
    Math,
    Space,
    Steps,
    Table,
    Text,
)
from symgrad.teaching.worksheets.spec import ExerciseSpec, SpecError

__all__ = ["CheckKind", "KINDS"]

#: The classmate's mistake -> (how the correct mean gradient is transformed, names reported).
CLASSMATE = {
    "missing_mean_and_sum": ("the lecture's slide", ("missing_1_over_N", "missing_sum")),
    "missing_1_over_N": ("no 1/N", ("missing_1_over_N",)),
    "missing_sum": ("no sum", ("missing_sum",)),
    "sign": ("the sign flipped", ("sign",)),
    "factor_2": ("the 2 dropped", ("factor_2",)),
    "missing_chain_factor": ("the inner factor dropped", ("missing_chain_factor",)),
}


#: Lines of room for the classmate part (the derivation's room is the spec's ``space``).
CLASSMATE_SPACE = 4


def _typed(e: sp.Expr) -> str:
    """An expression as text the safe parser reads back (sums as sum(..., i))."""
    text = sp.sstr(e, order="none")
    return text.replace(", (i, 1, N))", ", i)").replace("Sum(", "sum(")


def classmate(d, wrt: str, mistake: str) -> sp.Expr:
    """The classmate's answer: the correct gradient transformed by ``mistake``."""
    g = d.gradients[wrt]
    inside = g.term
    scale = g.scale
    if mistake == "missing_chain_factor":
        # drop the inner factor ∂z/∂w (x_i for a weight): the term divided by it
        inner = sp.diff(d.graph.full(d.graph.nodes[0].expr), g.wrt)
        if inner == 1:
            raise Degenerate("no inner factor to drop")
        inside = sp.cancel(inside / inner)
    if mistake == "sign":
        scale = -scale
    if mistake == "factor_2":
        scale = scale / 2
    if mistake in ("missing_sum", "missing_mean_and_sum"):
        total = inside
    else:
        total = sp.Sum(inside, (sp.Symbol("i", integer=True, positive=True), 1, N))
    if mistake in ("missing_1_over_N", "missing_mean_and_sum"):
        scale = scale * N
    return scale * total


@functools.lru_cache(maxsize=64)
def _verdict(typed: str, loss: str, model: str, wrt: str) -> Any:
    """What ``symgrad check`` says of the classmate's answer (the same for every variant)."""
    return check_answer(typed, loss, model, wrt=wrt)


@register
class CheckKind(Kind):
    name = "check"
    summary = "derive a gradient, check it with symgrad check, and diagnose a classmate's mistake"
    fields = {
        "loss": Field("name", required=True, choices=LOSSES, help="mse or bce"),
        "model": Field("name", default="linear", choices=MODELS),
        "wrt": Field("name", default="w"),
        "mistake": Field("name", default="missing_mean_and_sum", choices=tuple(CLASSMATE)),
        "at": Field("point"),
        "data": Field("data"),
        "tolerance": Field("number"),
        "space": Field("int", default=10, low=1, high=60),
    }

    def check(self, es: ExerciseSpec) -> None:
        mistakes = self.get(es, "mistake")
        wrts = self.get(es, "wrt")
        mistakes = mistakes["choice"] if isinstance(mistakes, dict) else [mistakes]
        wrts = wrts["choice"] if isinstance(wrts, dict) else [wrts]
        if "missing_chain_factor" in mistakes and any(not w.startswith("w") for w in wrts):
            raise SpecError(f"{es.at('mistake')}: missing_chain_factor needs a weight (the bias "
                            "has no inner factor)")
        if ("at" in es.fields) != ("data" in es.fields):
            missing = "data" if "at" in es.fields else "at"
            raise SpecError(f"{es.where}: missing field {missing!r} (evaluating a gradient needs "
                            "both 'at' and 'data')")

    def generate(self, es: ExerciseSpec, rng: random.Random) -> Exercise:
        loss = pick(self.get(es, "loss"), rng, es.at("loss"))
        model = pick(self.get(es, "model"), rng, es.at("model"))
        wrt = pick(self.get(es, "wrt"), rng, es.at("wrt"))
        mistake = pick(self.get(es, "mistake"), rng, es.at("mistake"))
        try:
            d = derived(loss, model, wrt=[wrt])
        except SymgradError as err:
            raise SpecError(f"{es.where}: {err}") from None
        late = frozenset(d.graph.features)
        g = d.gradients[wrt]
        wrong = classmate(d, wrt, mistake)
        typed = _typed(wrong)
        verdict = _verdict(typed, loss, model, wrt)
        if verdict.correct or verdict.mistakes != CLASSMATE[mistake][1]:
            raise Degenerate(f"symgrad check does not diagnose {typed} as {mistake}")
        command = f"symgrad check {loss} --model {model} --wrt {wrt} --answer"
        ask = rf"\({partial_latex(d, wrt)}\)"
        prompt = [
            Text("The loss and the model are defined by:"), Math(definitions(d)),
            Text(f"(a) Derive {ask} step by step with the chain rule."),
            Text("(b) Check your answer with symgrad check, typing your answer between the "
                 "quotes and sums over the samples as sum(..., i) (exit status 0 means correct):"),
            Code(f'{command} "..."'),
        ]
        solution = [Steps(d)]
        given = {"expr": expr_text(d.graph.full(d.graph.output), late), "loss": loss,
                 "model": model, "wrt": wrt, "classmate": typed,
                 "mistakes": list(verdict.mistakes)}
        value = None
        if "at" in es.fields:
            point = draw_point(es.fields["at"], rng, es.at("at"))
            xs, ys, source = draw_data(es.fields["data"], rng, es.at("data"))
            check_labels(loss, ys, es.at("data"))
            values = gradient_at(d, point, xs, ys)
            if values[wrt] == 0:
                raise Degenerate("a zero gradient")
            value = values[wrt]
            header, rows = data_table(xs, ys)
            prompt += [Text(rf"(c) Evaluate {ask} at \({point_latex(point)}\) on the data "
                            f"(N = {len(xs)}):"), Table(header, rows)]
            solution += sample_working(d, [wrt], point, xs, ys, values, "(c) ")
            given.update(point=point_plain(point), data={"x": [float(x) for x in xs],
                                                         "y": [float(y) for y in ys]},
                         source=source)
        # the classmate's answer comes after the student's own work, so it cannot steer it
        part = "(d)" if value is not None else "(c)"
        prompt += [
            Space(self.get(es, "space")),
            Text(f"{part} A classmate wrote"),
            Math((rf"{partial_latex(d, wrt)} = {expr_latex(wrong, late)}",)),
            Text("Run symgrad check on it:"),
            Code(f'{command} "{typed}"'),
            Text("Which mistake does it report, and at which step of your derivation does the "
                 "classmate go wrong?"),
        ]
        solution.append(Text(f"{part} symgrad check exits with status 1 and reports: "
                             + ", ".join(verdict.mistakes) + "."))
        if verdict.departs_at is not None:
            step = verdict.steps[verdict.departs_at]
            solution.append(Text(
                rf"The classmate departs from the derivation at \({expr_latex(step.lhs, late)} = "
                rf"{expr_latex(step.result, late)}\) ({rule_text(step)})."))
        prompt.append(Space(CLASSMATE_SPACE))
        answer = Answer(
            id=f"{es.number}.{wrt}", kind=self.name, question=ask, given=given,
            latex=rf"{partial_latex(d, wrt)} = {expr_latex(g.named, late)}"
            + (f" {approx(value)}" if value is not None else ""),
            text=f"{partial_text(d, wrt)} = {expr_text(g.named, late)}"
            + (f" = {num_text(value)}" if value is not None else ""),
            value=None if value is None else float(value),
            tolerance=None if value is None else tolerance(float(value), es),
        )
        title = es.title or f"Check your gradient of the {display_name(loss)}: symgrad check"
        return Exercise(es.number, self.name, title, float(es.points), prompt, solution, [answer])

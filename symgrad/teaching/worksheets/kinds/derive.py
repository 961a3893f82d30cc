r"""``derive``: derive a gradient step by step, and optionally evaluate it on tiny data.

Fields: ``loss`` (mse, bce, cross_entropy, or a choice), ``model`` (linear, logistic),
``features``, ``wrt`` (default: all parameters); or, instead of ``loss`` and ``model``, typed
``definitions`` (``"z = w*x + b; yhat = sigmoid(z); L = ..."``, one per line or separated by ``;``,
or a choice of such texts) with ``wrt`` naming the parameters (the other names are data), derived
by :func:`symgrad.core.derive.derive_expr` as ``symgrad derive --expr``; ``at`` (a point, drawn)
with ``data`` (drawn or rows of a bundled data set) to evaluate the gradient there (typed
definitions then end in a loss over the samples, ``L = mean(...)``, with one feature and one
label). A draw where a gradient is zero is rejected.

>>> import random
>>> from symgrad.teaching.worksheets.spec import ExerciseSpec
>>> from fractions import Fraction
>>> es = ExerciseSpec(1, "derive", Fraction(4), "", {"loss": "mse", "at": {"w": 1, "b": 0},
...                   "data": {"x": [1, 2], "y": [1, 3]}}, "demo")
>>> ex = KINDS["derive"].generate(es, random.Random(0))
>>> [(a.id, a.value) for a in ex.answers]
[('1.w', -2.0), ('1.b', -1.0)]
"""

from __future__ import annotations

import random
from typing import Any

from symgrad.core.errors import SymgradError
from symgrad.core.names import LOSSES, MODELS, display_name
from symgrad.core.steps import Kind as StepKind
from symgrad.render.latex import expr_latex
from symgrad.render.text import expr_text
from symgrad.teaching.worksheets.kinds import KINDS, Degenerate, Field, Kind, register
from symgrad.teaching.worksheets.kinds._common import (
    approx,
    at_a_kink,
    check_labels,
    check_spread,
    data_figure_defaults,
    data_names,
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
    typed_derived,
)
from symgrad.teaching.worksheets.model import Answer, Exercise, Math, Space, Steps, Table, Text
from symgrad.teaching.worksheets.spec import ExerciseSpec, SpecError

__all__ = ["DeriveKind", "KINDS"]


def definitions(d) -> tuple[str, ...]:
    """The definition steps as ``lhs = rhs`` formulas."""
    late = frozenset(d.graph.features)
    return tuple(f"{expr_latex(s.lhs, late)} = {expr_latex(s.result, late)}"
                 for s in d.steps if s.kind is StepKind.DEFINITION)


@register
class DeriveKind(Kind):
    name = "derive"
    summary = "derive a gradient step by step (and evaluate it at a point on tiny data)"
    fields = {
        "loss": Field("name", choices=LOSSES,
                      help="mse, bce, cross_entropy, mae, huber or hinge"),
        "definitions": Field("name", help='typed, e.g. "z = w*x + b; L = mean((z - y)^2)"'),
        "model": Field("name", default="linear", choices=MODELS),
        "features": Field("int", default=1, low=1, high=5),
        "wrt": Field("names"),
        "at": Field("point"),
        "data": Field("data"),
        "tolerance": Field("number"),
        "space": Field("int", default=12, low=1, high=60),
    }

    def check(self, es: ExerciseSpec) -> None:
        if ("loss" in es.fields) == ("definitions" in es.fields):
            raise SpecError(f"{es.where}: give field 'loss' (a catalogue loss: "
                            f"{', '.join(LOSSES)}) or field 'definitions' (typed), not "
                            + ("both" if "loss" in es.fields else "neither"))
        if "definitions" in es.fields:
            self._check_definitions(es)
        if ("at" in es.fields) != ("data" in es.fields):
            missing = "data" if "at" in es.fields else "at"
            raise SpecError(f"{es.where}: missing field {missing!r} (evaluating a gradient needs "
                            "both 'at' and 'data')")
        if "at" in es.fields and self.get(es, "features") != 1:
            raise SpecError(f"{es.at('features')}: evaluating at a point needs features = 1")

    def _check_definitions(self, es: ExerciseSpec) -> None:
        """Typed definitions: no catalogue fields beside them, ``wrt`` given, each text derives
        (else the one-line error with its line and column), and with ``at`` each is a loss over
        the samples with one feature and one label."""
        for key in ("model", "features"):
            if key in es.fields:
                raise SpecError(f"{es.at(key)}: applies to a catalogue loss, not to definitions")
        if "wrt" not in es.fields:
            raise SpecError(f"{es.where}: missing field 'wrt' (the parameters of the "
                            "definitions; the other names are data)")
        texts = es.fields["definitions"]
        for text in texts["choice"] if isinstance(texts, dict) else [texts]:
            d = self._typed(es, text)
            g = d.graph
            if "at" not in es.fields:
                continue
            wrong = [why for why, bad in (
                ("is not a loss over the samples", not g.mean_over_samples),
                (f"has {len(g.features)} features", g.mean_over_samples and len(g.features) != 1),
                (f"has {len(g.labels)} labels", g.mean_over_samples and len(g.labels) != 1),
                ("has a penalty outside the mean", g.penalty != 0)) if bad]
            if wrong:
                raise SpecError(f"{es.at('definitions')}: evaluating on 'data' needs a loss over "
                                "the samples, L = mean(...), with one feature x and one label y "
                                f"and no penalty; this one {' and '.join(wrong)}")

    def _typed(self, es: ExerciseSpec, text: str):
        try:
            return typed_derived(text, self.get(es, "wrt"))
        except SymgradError as err:
            raise SpecError(f"{es.at('definitions')}: {err}") from None

    def generate(self, es: ExerciseSpec, rng: random.Random) -> Exercise:
        loss = model = None
        if "definitions" in es.fields:
            d = self._typed(es, pick(es.fields["definitions"], rng, es.at("definitions")))
            lead = "The loss is defined by:"
        else:
            loss = pick(self.get(es, "loss"), rng, es.at("loss"))
            model = pick(self.get(es, "model"), rng, es.at("model"))
            try:
                d = derived(loss, model, self.get(es, "features"), self.get(es, "wrt"))
            except SymgradError as err:
                raise SpecError(f"{es.where}: {err}") from None
            lead = "The loss and the model are defined by:"
        late = frozenset(d.graph.features)
        names = list(d.gradients)
        asks = ", ".join(rf"\({partial_latex(d, n)}\)" for n in names)
        prompt = [Text(lead), Math(definitions(d)),
                  Text(f"Derive {asks} step by step with the chain rule: define the "
                       "intermediates, differentiate each one locally, multiply along the chain "
                       "and substitute back. Name the rule you use at each step.")]
        solution = [Steps(d)]
        given = {"expr": expr_text(d.graph.full(d.graph.output), late), "loss": loss,
                 "model": model}
        if loss is None:
            given = {"definitions": d.meta["expr"], "expr": given["expr"]}
        values: dict = {}
        drawn: dict[str, Any] = {"loss": loss, "model": model}
        if "at" in es.fields:
            point = draw_point(es.fields["at"], rng, es.at("at"))
            missing = [n for n in map(str, d.graph.params) if n not in point]
            if missing:
                raise SpecError(f"{es.at('at')}: no value for parameter {missing[0]!r}")
            xs, ys, source = draw_data(es.fields["data"], rng, es.at("data"))
            check_labels(loss, ys, es.at("data"))
            check_spread(xs)
            if at_a_kink(d, point, xs, ys):
                raise Degenerate("a sample at a kink")
            values = gradient_at(d, point, xs, ys)
            if any(v == 0 for v in values.values()):
                raise Degenerate("a zero gradient")
            header, rows = data_table(xs, ys, *data_names(d))
            prompt += [Text(rf"Then evaluate them at \({point_latex(point)}\) on the data "
                            f"(N = {len(xs)}):"), Table(header, rows)]
            solution += sample_working(d, names, point, xs, ys, values)
            given.update(point=point_plain(point), data={"x": [float(x) for x in xs],
                                                         "y": [float(y) for y in ys]},
                         source=source)
            drawn.update(data=(xs, ys), point=point)
        prompt.append(Space(self.get(es, "space")))
        answers = []
        for n in names:
            g = d.gradients[n]
            v = values.get(n)
            question = rf"\({partial_latex(d, n)}\)" + (
                rf" at \({point_latex(point)}\)" if v is not None else "")
            answers.append(Answer(
                id=f"{es.number}.{n}", kind=self.name, question=question,
                given={**given, "wrt": n},
                latex=rf"{partial_latex(d, n)} = {expr_latex(g.named, late)}"
                + (f" {approx(v)}" if v is not None else ""),
                text=f"{partial_text(d, n)} = {expr_text(g.named, late)}"
                + (f" = {num_text(v)}" if v is not None else ""),
                value=None if v is None else float(v),
                tolerance=None if v is None else tolerance(float(v), es),
            ))
        title = es.title or (f"Gradient of the {display_name(loss)} with the {model} model"
                             if loss else "Gradient of a loss defined step by step")
        return Exercise(es.number, self.name, title, float(es.points), prompt, solution, answers,
                        drawn=drawn)

    def figure_defaults(self, plot_kind: str, options: Any, drawn: Any) -> dict[str, Any]:
        """With ``at``: the variant's data and loss; the slope's tangent at the point (the others
        fixed there), gradient descent starting from it."""
        return data_figure_defaults(plot_kind, options, drawn)

r"""``matrix``: derive the gradient of a matrix expression step by step, and give its shape.

Fields: ``expr`` (a matrix expression or lecture-style definitions ``"z = X*w; L = ..."``, as
``symgrad derive --expr``, or a ``{choice = [...]}`` of them), ``shapes`` (``"X: N x d, w: d,
y: N"``, or a choice: the size names vary with it), ``wrt`` (the parameters), ``lam`` (a number
or a draw that replaces the scalar name ``lam`` of the expression: the ridge strength λ), and
``space``. Every choice of ``expr`` and ``shapes`` must derive (checked when the spec is loaded).

The question states the expression and the shapes of its inputs; the answer key gives each
gradient in textbook form, its shape (a typed answer: ``d``, ``k×d``) and the derivation's steps
with their shapes and rules, every one checked by the engine
(:func:`symgrad.core.matrix_derive.derive_matrix`).

>>> import random
>>> from fractions import Fraction
>>> from symgrad.teaching.worksheets.spec import ExerciseSpec
>>> es = ExerciseSpec(1, "matrix", Fraction(4), "", {"expr": "sum((X*w - y)^2)/N",
...                   "shapes": "X: N x d, w: d, y: N", "wrt": ["w"]}, "demo")
>>> ex = KINDS["matrix"].generate(es, random.Random(0))
>>> [(a.id, a.text, a.value) for a in ex.answers]
[('1.w', '∂L/∂w = (2/N)·Xᵀ(Xw − y)', None), ('1.w.shape', 'shape of ∂L/∂w: d', 'd')]
"""

from __future__ import annotations

import functools
import random
import re
from fractions import Fraction
from typing import Any

from symgrad.core.errors import SymgradError
from symgrad.core.matrix import shape_text
from symgrad.core.matrix_derive import derive_matrix
from symgrad.core.matrix_steps import MatrixDerivation
from symgrad.core.steps import Kind as StepKind
from symgrad.render.latex import matrix_latex, shape_latex
from symgrad.render.text import matrix_text
from symgrad.teaching.check_matrix import shape_words
from symgrad.teaching.worksheets.kinds import KINDS, Field, Kind, register
from symgrad.teaching.worksheets.kinds._common import num, pick
from symgrad.teaching.worksheets.model import Answer, Exercise, Math, Space, Steps, Text
from symgrad.teaching.worksheets.spec import ExerciseSpec, SpecError, draw

__all__ = ["KINDS", "MatrixKind"]

# --- the kind ---------------------------------------------------------------------------------


def _choices(value: Any) -> list[str]:
    return list(value["choice"]) if isinstance(value, dict) else [value]


def _with_lam(text: str, shapes: str, lam: Fraction | None) -> tuple[str, str]:
    """The expression with the drawn λ written in for ``lam`` (and ``lam`` no longer declared)."""
    if lam is None:
        return text, shapes
    text = re.sub(r"\blam\b", f"({num(lam)})", text)
    kept = [s for s in shapes.split(",") if s.split(":")[0].strip() != "lam"]
    return text, ",".join(kept)


def _sizes(shapes: str) -> list[str]:
    """The size names of a shapes text in order of appearance."""
    out: list[str] = []
    for part in shapes.split(","):
        for size in re.findall(r"[A-Za-z_]\w*", part.split(":", 1)[-1]):
            if size not in out and size not in ("x", "scalar"):
                out.append(size)
    return out


def _renamed(text: str, first: str, shapes: str) -> str:
    """``text``, written with the sizes of the shapes ``first``, in the sizes of ``shapes``.

    >>> _renamed("sum((X*w - y)^2)/N", "X: N x d, w: d, y: N", "X: n x p, w: p, y: n")
    'sum((X*w - y)^2)/n'
    """
    old, new = _sizes(first), _sizes(shapes)
    if len(old) != len(new):
        return text
    names = dict(zip(old, new, strict=True))
    return re.sub(r"[A-Za-z_]\w*", lambda m: names.get(m.group(), m.group()), text)


@functools.lru_cache(maxsize=64)
def _derived(text: str, shapes: str, wrt: tuple[str, ...]) -> MatrixDerivation:
    """The derivation, once per expression, shapes and parameters (variants share it)."""
    return derive_matrix(text, shapes, wrt=list(wrt))


@register
class MatrixKind(Kind):
    name = "matrix"
    summary = "derive the gradient of a matrix expression step by step, and give its shape"
    fields = {
        "expr": Field("name", required=True,
                      help='a matrix expression, e.g. "sum((X*w - y)^2)/N", or definitions'),
        "shapes": Field("name", required=True, help='e.g. "X: N x d, w: d, y: N"'),
        "wrt": Field("names", required=True),
        "lam": Field("number"),
        "space": Field("int", default=12, low=1, high=60),
    }

    def check(self, es: ExerciseSpec) -> None:
        """Every choice of expression and shapes derives (else its one-line error)."""
        lam = Fraction(1) if "lam" in es.fields else None
        first = _choices(es.fields["shapes"])[0]
        for text in _choices(es.fields["expr"]):
            for shapes in _choices(es.fields["shapes"]):
                self._derive(es, *_with_lam(_renamed(text, first, shapes), shapes, lam))

    def _derive(self, es: ExerciseSpec, text: str, shapes: str) -> MatrixDerivation:
        try:
            return _derived(text, shapes, tuple(self.get(es, "wrt")))
        except SymgradError as err:
            raise SpecError(f"{es.at('expr')}: {err} (shapes {shapes!r})") from None

    def generate(self, es: ExerciseSpec, rng: random.Random) -> Exercise:
        text = pick(es.fields["expr"], rng, es.at("expr"))
        shapes = pick(es.fields["shapes"], rng, es.at("shapes"))
        lam = draw(es.fields["lam"], rng, es.at("lam")) if "lam" in es.fields else None
        text = _renamed(text, _choices(es.fields["shapes"])[0], shapes)
        d = self._derive(es, *_with_lam(text, shapes, lam))
        inputs = ", ".join(rf"\({n} \in {shape_latex(s)}\)" for n, s in d.shapes.items())
        defs = [s for s in d.steps if s.kind is StepKind.DEFINITION]
        asks = ", ".join(rf"\(\partial {d.loss}/\partial {n}\)" for n in d.gradients)
        prompt = [
            Text(f"The inputs are {inputs}. The loss is defined by:"),
            Math(tuple(f"{matrix_latex(s.lhs)} = {matrix_latex(s.forms[0])}" for s in defs)),
            Text(f"Derive {asks} step by step with the chain rule in denominator layout (a "
                 "gradient has the shape of its variable): give the shape of every intermediate "
                 "and every derivative, name the rule at each step, and give the shape of each "
                 "gradient."),
            Space(self.get(es, "space")),
        ]
        answers = []
        given = {"expr": d.text, "shapes": {n: shape_text(s) for n, s in d.shapes.items()}}
        for n, g in d.gradients.items():
            lhs = rf"\frac{{\partial {d.loss}}}{{\partial {n}}}"
            shape = shape_text(g.shape)
            answers += [
                Answer(id=f"{es.number}.{n}", kind=self.name,
                       question=rf"\(\partial {d.loss}/\partial {n}\)",
                       given={**given, "wrt": n},
                       latex=f"{lhs} = {matrix_latex(g.expanded)}",
                       text=f"∂{d.loss}/∂{n} = {matrix_text(g.expanded)}", value=None),
                Answer(id=f"{es.number}.{n}.shape", kind=self.name,
                       question=rf"the shape of \(\partial {d.loss}/\partial {n}\)",
                       given={**given, "wrt": n, "accepts": list(shape_words(shape))},
                       latex=rf"{lhs} \in {shape_latex(g.shape)}",
                       text=f"shape of ∂{d.loss}/∂{n}: {shape}", value=shape, typed=True),
            ]
        title = es.title or "Matrix calculus: a gradient and its shape"
        # the solution is the printer's derivation: a form per row, broken to fit the page, each
        # with its shape and rules, the result last
        return Exercise(es.number, self.name, title, float(es.points), prompt, [Steps(d)],
                        answers, drawn={"expr": d.text})


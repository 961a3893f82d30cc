r"""Helpers the kinds share: exact numbers as a lecturer writes them, data, gradients at a point.

>>> num(Fraction(3, 4)), num(Fraction(1, 3)), num(Fraction(-5))
('0.75', '0.3333', '-5')
>>> from symgrad.core.derive import derive
>>> d = derive("mse", "linear")
>>> g = gradient_at(d, {"w": Fraction(1), "b": Fraction(0)}, [Fraction(1), Fraction(2)],
...                 [Fraction(1), Fraction(3)])
>>> str(g["w"]), str(g["b"])
('-2', '-1')
"""

from __future__ import annotations

import csv
import functools
import itertools
import math
import random
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from symgrad.core.derive import Derivation, derive, derive_expr
from symgrad.core.graph import N
from symgrad.core.names import MODELS, PLOT_LOSSES
from symgrad.numerics.compile import compile_gradient
from symgrad.render.latex import expr_latex
from symgrad.render.text import MINUS, expr_text, symbol_text
from symgrad.teaching.worksheets.spec import (
    ExerciseSpec,
    SpecError,
    draw,
    exact,
    pool_of,
    spread,
)

Value = Fraction | sp.Expr


def _terminating(q: Fraction) -> bool:
    d = q.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def num(x: Value | float, digits: int = 4) -> str:
    """A number for a worksheet: exact when it is a short decimal, else rounded to ``digits``."""
    if isinstance(x, sp.Basic):
        x = Fraction(int(x.p), int(x.q)) if x.is_Rational else float(x)
    if isinstance(x, int):
        x = Fraction(x)
    if isinstance(x, Fraction) and _terminating(x):
        text = f"{float(x):.10f}".rstrip("0").rstrip(".")
        if Fraction(text) == x and len(text.replace("-", "").replace(".", "")) <= 9:
            return "0" if text == "-0" else text
    value = float(x)
    if value != 0 and abs(value) < 10 ** (-digits):
        return f"{value:.{digits - 1}e}"
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


#: The largest denominator a solution shows as an exact fraction (by hand, with exact numbers).
MAX_DENOMINATOR = 10_000


def num_text(x: Value | float, digits: int = 4) -> str:
    """:func:`num` in an answer's Unicode text: the real minus sign (U+2212), as the text printer
    writes it beside (``∂a/∂z = 1 − a² = −0.42``); LaTeX takes :func:`num`.

    >>> num_text(Fraction(-1, 4)), num_text(0.5)
    ('−0.25', '0.5')
    """
    return num(x, digits).translate(MINUS)


def approx(x: Value | float) -> str:
    r"""``= 0.75`` for an exact decimal, ``= \frac{1}{3} \approx 0.3333`` for a fraction whose
    decimal is rounded (the exact value a student working with fractions finds), ``\approx
    0.7311`` for any other rounded value (LaTeX).

    >>> approx(Fraction(3, 4)), approx(Fraction(-23, 15)), approx(0.73105857863)
    ('= 0.75', '= -\\frac{23}{15} \\approx -1.5333', '\\approx 0.7311')
    """
    shown = num(x)
    exactly = isinstance(x, Fraction) or (isinstance(x, sp.Basic) and x.is_Rational)
    if not exactly:
        return r"\approx " + shown
    q = x if isinstance(x, Fraction) else Fraction(int(x.p), int(x.q))
    if Fraction(shown) == q:
        return "= " + shown
    if q.denominator <= MAX_DENOMINATOR:
        sign = "-" if q < 0 else ""
        return rf"= {sign}\frac{{{abs(q.numerator)}}}{{{q.denominator}}} \approx {shown}"
    return r"\approx " + shown


def to_sympy(q: Fraction) -> sp.Rational:
    return sp.Rational(q.numerator, q.denominator)


def floatify(x: Value) -> float:
    return float(x)


def tolerance(value: float, es: ExerciseSpec) -> float:
    """The spec's ``tolerance`` or a default: 0.005, or 0.1 % of the value if that is larger."""
    if "tolerance" in es.fields:
        return float(exact(es.fields["tolerance"], es.at("tolerance")))
    return max(0.005, 0.001 * abs(value))


def pick(value: Any, rng: random.Random, where: str) -> Any:
    """A name field: the name itself or one of its ``choice``."""
    if isinstance(value, dict):
        return rng.choice(value["choice"])
    return value


def draw_data(spec: dict[str, Any], rng: random.Random, where: str) -> tuple[list, list, str]:
    """``(xs, ys, source)`` with exact values: drawn, or rows of a bundled data set."""
    if "dataset" in spec:
        from symgrad.numerics.data import bundled

        path = bundled(spec["dataset"])
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))[1:]
        chosen = sorted(rng.sample(range(len(rows)), spec["rows"]))
        scale = exact(spec.get("x_scale", 1), where)
        xs = [Fraction(rows[k][0]) * scale for k in chosen]
        ys = [Fraction(rows[k][1]) for k in chosen]
        everyone = [Fraction(r[0]) for r in rows], [Fraction(r[1]) for r in rows]
        if trend(xs, ys) != trend(*everyone):
            from symgrad.teaching.worksheets.kinds import Degenerate

            raise Degenerate("the rows do not keep the data set's trend")
        return xs, ys, spec["dataset"]
    xs = draw(spec["x"], rng, where + ".x")
    ys = draw(spec["y"], rng, where + ".y")
    return list(xs), list(ys), "drawn"


def trend(xs: list, ys: list) -> int:
    """The sign of the least-squares slope of ``ys`` on ``xs`` (of their covariance): a few rows
    of a data set tell its story (GPA grows with SAT) only when they have its sign.

    >>> trend([1, 2, 3], [2, 3, 5]), trend([1, 2, 3], [5, 3, 2]), trend([1, 2], [3, 3])
    (1, -1, 0)
    """
    n = len(xs)
    cov = sum(Fraction(x) * Fraction(y) for x, y in zip(xs, ys, strict=True)) * n - \
        sum(map(Fraction, xs)) * sum(map(Fraction, ys))
    return (cov > 0) - (cov < 0)


def check_labels(loss: str, ys: list, where: str) -> None:
    """BCE needs labels 0 or 1, hinge -1 or 1 (else :class:`SpecError`), and both of them (else
    Degenerate)."""
    from symgrad.teaching.worksheets.kinds import Degenerate

    if loss not in ("bce", "hinge"):
        return
    low = 0 if loss == "bce" else -1
    bad = [y for y in ys if y not in (low, 1)]
    if bad:
        raise SpecError(f"{where}: {loss} needs labels y = {low} or 1, got {num(bad[0])}")
    if len(set(ys)) < 2:
        raise Degenerate("every label the same")


#: The most points a spread point is chosen from (a larger grid is drawn as usual).
MAX_POINTS = 100_000


def draw_point(spec: dict[str, Any], rng: random.Random, where: str) -> dict[str, Fraction]:
    """A value for every name in ``spec`` (``at``, ``start``): with the variant's generator, one
    point of the grid of all of them spread over the seeds (:func:`~symgrad.teaching.worksheets
    .spec.spread`), so the variants of a build evaluate at different points (as many as the grid
    has).

    >>> from symgrad.teaching.worksheets.spec import VariantRandom
    >>> at = {"w": {"range": [-1, 1]}, "b": {"choice": [0, 1]}}
    >>> len({tuple(draw_point(at, VariantRandom(s, 1), "at").values()) for s in range(6)})
    6
    """
    pools = [pool_of(v, f"{where}.{k}") for k, v in spec.items()]
    if all(p is not None for p in pools) and math.prod(map(len, pools)) <= MAX_POINTS:
        return dict(zip(spec, spread(list(itertools.product(*pools)), rng), strict=True))
    return {k: draw(v, rng, f"{where}.{k}") for k, v in spec.items()}



def check_spread(xs: list) -> None:
    """Raise :class:`Degenerate` when every x is the same (x = 2, 2, 2: ∂L/∂w is then a multiple
    of ∂L/∂b, and the data show no trend)."""
    from symgrad.teaching.worksheets.kinds import Degenerate

    if len(set(xs)) < 2:
        raise Degenerate("all x equal")


def draw_run(
    es: ExerciseSpec, rng: random.Random, d: Derivation, loss: str
) -> tuple[list[str], list, list, str, dict[str, Fraction], Any]:
    """What a run by hand starts from (gd_steps, optimizer_steps): the parameter names, the drawn
    data (xs, ys, source), the start point and the learning rate, each checked."""
    names = [str(p) for p in d.graph.params]
    xs, ys, source = draw_data(es.fields["data"], rng, es.at("data"))
    check_labels(loss, ys, es.at("data"))
    check_spread(xs)
    start = draw_point(es.fields["start"], rng, es.at("start"))
    if sorted(start) != sorted(names):
        raise SpecError(f"{es.at('start')}: expected values for {', '.join(names)}")
    lr = draw(es.fields["lr"], rng, es.at("lr"))
    if lr <= 0:
        raise SpecError(f"{es.at('lr')}: a learning rate must be positive, got {num(lr)}")
    return names, xs, ys, source, {n: start[n] for n in names}, lr

def _subs(d: Derivation, point: dict[str, Value], x: Value, y: Value) -> dict:
    g = d.graph
    out: dict = {p: _sym(point[str(p)]) for p in g.params}
    out[g.features[0]] = _sym(x)
    out[g.labels[0]] = _sym(y)
    return out


def _sym(v: Value) -> sp.Expr:
    return to_sympy(v) if isinstance(v, Fraction) else sp.sympify(v)


def _plain(e: sp.Expr) -> Value:
    e = sp.nsimplify(e) if e.is_Float else e
    if e.is_Rational:
        return Fraction(int(e.p), int(e.q))
    return e


@functools.lru_cache(maxsize=64)
def _derive(loss: str, model: str, features: int, wrt: tuple[str, ...] | None) -> Derivation:
    return derive(loss, model, features=features, wrt=None if wrt is None else list(wrt))


def derived(loss: str, model: str, features: int = 1, wrt: list[str] | None = None) -> Derivation:
    """:func:`symgrad.core.derive.derive`, once per spec: every variant (and every draw again)
    reads the same derivation, which nothing changes.

    >>> derived("mse", "linear") is derived("mse", "linear")
    True
    """
    return _derive(loss, model, features, None if wrt is None else tuple(wrt))


@functools.lru_cache(maxsize=64)
def _derive_typed(text: str, wrt: tuple[str, ...]) -> Derivation:
    return derive_expr(text, wrt=list(wrt))


def typed_derived(text: str, wrt: list[str]) -> Derivation:
    """Typed definitions derived by :func:`symgrad.core.derive.derive_expr` (the path of
    ``symgrad derive --expr``), once per spec like :func:`derived`.

    >>> d = typed_derived("z = w*x + b; L = mean((z - y)^2)", ["w", "b"])
    >>> d is typed_derived("z = w*x + b; L = mean((z - y)^2)", ["w", "b"]), d.graph.features
    (True, (x_i,))
    """
    return _derive_typed(text, tuple(wrt))


def gradient_at(d: Derivation, point: dict[str, Value], xs: list, ys: list) -> dict[str, Value]:
    """Each gradient at ``point`` on the data, exactly: ``scale * sum_i term + extra``.

    Cross-checked against the compiled NumPy gradient (a mismatch is a bug, not a user error).
    """
    out: dict[str, Value] = {}
    for name, gr in d.gradients.items():
        total = sp.Add(*[gr.term.xreplace(_subs(d, point, x, y)) for x, y in zip(xs, ys,
                                                                              strict=True)])
        value = gr.scale.subs(N, len(xs)) * total + gr.extra
        out[name] = _plain(value)  # exact: nsimplify would round a long rational
    _, fast = compile_gradient(d)({k: float(v) for k, v in point.items()},
                                  np.array([[float(x)] for x in xs]),
                                  np.array([float(y) for y in ys]))
    for name, value in out.items():
        if not math.isclose(float(value), fast[name], rel_tol=1e-9, abs_tol=1e-12):
            raise AssertionError(f"exact and compiled gradients differ for {name}: "
                                 f"{float(value)} vs {fast[name]}")
    return out


def _signed(x: Value) -> str:
    """A number inside a sum: negative ones in parentheses."""
    text = num(x)
    return f"({text})" if text.startswith("-") else text


def sample_working(d: Derivation, names: list[str], point: dict[str, Value], xs: list, ys: list,
                   values: dict[str, Value], part: str = "") -> list[Any]:
    r"""The solution's working for gradients at a point on data, as a lecturer writes it: a table
    of every sample's intermediates and terms, then each gradient as the scaled sum of its terms.

    >>> from symgrad.core.derive import derive
    >>> d = derive("mse", "linear")
    >>> point, xs, ys = {"w": Fraction(1), "b": Fraction(0)}, [Fraction(1), Fraction(2)], \
    ...     [Fraction(1), Fraction(3)]
    >>> text, table, sums = sample_working(d, ["w", "b"], point, xs, ys,
    ...                                    gradient_at(d, point, xs, ys))
    >>> table.header[3:], table.rows[1]
    ... # doctest: +NORMALIZE_WHITESPACE
    (('\\(\\hat{y}_{i}\\)', '\\(u_{i}\\)', '\\(\\left(\\hat{y}_{i} - y_{i}\\right) x_{i}\\)',
      '\\(\\hat{y}_{i} - y_{i}\\)'), ('2', '2', '3', '2', '-1', '-2', '-1'))
    >>> sums.rows[0]
    '\\frac{\\partial L}{\\partial w} = \\frac{2}{2} \\left(0 + (-2)\\right) = -2'
    """
    from symgrad.teaching.worksheets.model import Math, Table, Text

    g = d.graph
    late = frozenset(g.features)
    inner = [n for n in g.nodes if n.symbol != g.output]
    summands = {}
    for n in names:
        sums = d.gradients[n].named.atoms(sp.Sum)
        summands[n] = next(iter(sums)).function if len(sums) == 1 else d.gradients[n].term
    header, _ = data_table(xs, ys, *data_names(d))
    header = (*header, *[rf"\({expr_latex(n.symbol, late)}\)" for n in inner],
              *[rf"\({expr_latex(summands[n], late)}\)" for n in names])
    rows, terms = [], {n: [] for n in names}
    for k, (x, y) in enumerate(zip(xs, ys, strict=True), 1):
        subs = _subs(d, point, x, y)
        cells = [num(x), num(y)] + [num(_plain(g.full(n.symbol).xreplace(subs))) for n in inner]
        for n in names:
            terms[n].append(_plain(d.gradients[n].term.xreplace(subs)))
            cells.append(num(terms[n][-1]))
        rows.append((str(k), *cells))
    lines = []
    for n in names:
        gr = d.gradients[n]
        top, bottom = (expr_latex(sp.sympify(e).subs(N, len(xs)))
                       for e in sp.fraction(sp.sympify(gr.scale)))
        scale = top if bottom == "1" else rf"\frac{{{top}}}{{{bottom}}}"
        total = " + ".join([num(terms[n][0]), *map(_signed, terms[n][1:])])
        penalty = _plain(sp.sympify(gr.extra).xreplace(_subs(d, point, xs[0], ys[0])))
        extra = "" if gr.extra == 0 else f" + {_signed(penalty)}"
        lines.append(rf"{partial_latex(d, n)} = {scale} \left({total}\right){extra} "
                     f"{approx(values[n])}")
    return [Text(rf"{part}At \({point_latex(point)}\), sample by sample (the last columns are "
                 "the terms of the sums):"), Table(header, tuple(rows)), Math(tuple(lines))]


def at_a_kink(d: Derivation, point: dict[str, Value], xs: list, ys: list) -> bool:
    """Whether a sample sits where a derivative is only a convention: |u| at u = 0 (mae) or
    ReLU(m) at m = 0 (hinge's y z = 1); worksheets do not ask there."""
    from symgrad.core.functions import relu

    kinked = [k.args[0] for k in d.graph.full(d.graph.output).atoms(sp.Abs, relu)]
    return any(sp.nsimplify(e.xreplace(_subs(d, point, x, y))) == 0
               for x, y in zip(xs, ys, strict=True) for e in kinked)


def loss_at(d: Derivation, point: dict[str, Value], xs: list, ys: list) -> Value:
    """The loss ``(1/N) sum_i loss_i`` at ``point`` on the data, exactly where possible."""
    g = d.graph
    full = g.full(g.output)
    total = sp.Add(*[full.xreplace(_subs(d, point, x, y)) for x, y in zip(xs, ys, strict=True)])
    return _plain(total / len(xs))


def partial_latex(d: Derivation, name: str) -> str:
    r"""``\frac{\partial L}{\partial w}``."""
    wrt = d.gradients[name].wrt
    return rf"\frac{{\partial {expr_latex(d.graph.result_symbol)}}}{{\partial {expr_latex(wrt)}}}"


def partial_text(d: Derivation, name: str) -> str:
    return f"∂{expr_text(d.graph.result_symbol)}/∂{symbol_text(name)}"


def point_latex(point: dict[str, Value]) -> str:
    return ", ".join(f"{expr_latex(sp.Symbol(k))} = {num(v)}" for k, v in point.items())


def point_plain(point: dict[str, Value]) -> dict[str, float]:
    return {k: float(v) for k, v in point.items()}


def data_names(d: Derivation) -> tuple[str, str]:
    """The names of the feature and the label of a one-feature derivation: ``x_i``, ``y_i``."""
    return str(d.graph.features[0]), str(d.graph.labels[0])


def data_table(xs: list, ys: list, x_name: str = "x_i", y_name: str = "y_i") -> tuple:
    """Header and rows of a small data table (sample i, x_i, y_i)."""
    header = (r"\(i\)", rf"\({expr_latex(sp.Symbol(x_name))}\)",
              rf"\({expr_latex(sp.Symbol(y_name))}\)")
    rows = tuple((str(k), num(x), num(y)) for k, (x, y) in enumerate(zip(xs, ys, strict=True), 1))
    return header, rows


def data_figure_defaults(plot_kind: str, options: dict[str, Any] | Any,
                         drawn: dict[str, Any] | Any) -> dict[str, Any]:
    """Figure defaults for the kinds with one-feature data (``Kind.figure_defaults``).

    ``drawn`` may hold ``data`` (``(xs, ys)``), ``loss``, ``model``, ``point`` (the point the
    exercise evaluates at: the slope figure draws the tangent there, the others fixed at it),
    ``start`` (where gradient descent starts), ``lr`` (one rate) or ``lrs`` (small, ideal,
    large, for ``lr-comparison``) and ``max_iter``. The variant's data is used as it is (not
    standardized), so the figure shows the exercise's own numbers. A spec with its own ``data``
    gets nothing from the draw.

    ``lr-comparison`` runs gradient descent on one parameter, the other held at its best value,
    which is not the exercise's run on both: the exercise's learning rates are used only when
    they tell the same story there (see :func:`_one_parameter_story`), else the plot's own small
    / ideal / large rates for this data.

    >>> d = data_figure_defaults("slope", {}, {"data": ([1, 2], [2, 3]), "loss": "mse",
    ...                          "model": "linear", "point": {"w": 1, "b": 0}})
    >>> d["points"], d["fixed"], d["standardize"], d["data"].X.ravel().tolist()
    ([1.0], {'b': 0.0}, False, [1.0, 2.0])
    """
    from symgrad.numerics.data import Dataset

    if plot_kind == "activations" or "data" in options or "data" not in drawn:
        return {}
    xs, ys = drawn["data"]
    if not all(isinstance(v, int | float | Fraction) for v in [*xs, *ys]):
        return {}
    if drawn.get("loss") not in PLOT_LOSSES or drawn.get("model") not in MODELS:
        return {}
    out: dict[str, Any] = {
        "data": Dataset(np.array([[float(x)] for x in xs]), np.array([float(y) for y in ys]),
                        ("x",), "y", "the exercise's data"),
        "standardize": False, "loss": drawn["loss"], "model": drawn["model"]}
    param = options.get("param", "w")
    point = {k: float(v) for k, v in drawn.get("point", {}).items()}
    start = {k: float(v) for k, v in drawn.get("start", point).items()}
    if plot_kind == "slope" and point:
        out["fixed"] = {k: v for k, v in point.items() if k != param}
        out["points"] = [point[param]]
    if plot_kind == "lr-comparison":
        out.update(_one_parameter_story(out, param, start, drawn.get("lrs")))
    if plot_kind in ("contour", "loss-curve", "fit"):
        if start:
            out["init"] = start
        if "lr" in drawn:
            out["lr"] = float(drawn["lr"])
    if "max_iter" in drawn and plot_kind != "slope":
        out["max_iter"] = int(drawn["max_iter"])
    return out


def _one_parameter_story(out: dict[str, Any], param: str, start: dict[str, float],
                         lrs: list | None) -> dict[str, Any]:
    """``init`` and ``lr`` for an ``lr-comparison`` of the variant's data (``out``).

    The start is the exercise's unless it already sits at the one-parameter minimum (nothing to
    show). The exercise's learning rates (for both parameters at once) are kept only for MSE with
    the linear model when, on ``param`` alone with curvature c, the ideal one converges
    (lr c < 2) and the large one diverges (lr c > 2); otherwise the plot picks its own.

    >>> from symgrad.numerics.data import Dataset
    >>> ds = Dataset(np.array([[0.0], [1.0], [2.0]]), np.array([1.0, 2.0, 4.0]), ("x",), "y", "")
    >>> base = {"data": ds, "standardize": False, "loss": "mse", "model": "linear"}
    >>> _one_parameter_story(base, "w", {"w": 0.0, "b": 0.0}, [0.002, 0.2, 0.7])  # c = 10/3
    {'init': 0.0, 'lr': [0.002, 0.2, 0.7]}
    >>> _one_parameter_story(base, "w", {"w": 0.0, "b": 0.0}, [0.002, 0.2, 0.5])  # 0.5 c < 2
    {'init': 0.0}
    """
    from symgrad.teaching.plots import make_problem

    problem = make_problem(loss=out["loss"], model=out["model"], data=out["data"],
                           standardize=False)
    got: dict[str, Any] = {}
    if start and abs(start[param] - problem.reference()[param]) > 1e-9 * (1 + abs(start[param])):
        got["init"] = start[param]
    if lrs and (out["loss"], out["model"]) == ("mse", "linear"):
        j = problem.params.index(param)
        c = float(problem.curvature()[j, j])
        rates = [float(v) for v in lrs]
        if rates[1] * c < 2 < rates[2] * c:
            got["lr"] = rates
    return got

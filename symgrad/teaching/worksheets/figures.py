r"""Figures in worksheets: the ``figure`` and ``figure_in`` fields of an exercise.

An exercise may ask for one figure by kind, with options for :func:`symgrad.teaching.plots.figure`::

    figure = { kind = "lr-comparison" }
    figure = { kind = "slope", param = "w", points = [-1, 0.44, 1] }
    figure = { kind = "graph" }            # graph exercises: the expression's computational graph
    figure = { kind = "graph", show_local = true }   # ... with the local derivatives on its edges
    figure_in = "solutions"                # or "exercises", or "both" (the default)

The fields are checked when the spec loads (:func:`check`): an unknown kind or option, or a value
of the wrong type, is a :class:`~symgrad.teaching.worksheets.spec.SpecError` naming the file, the
exercise
and the field. When a variant is generated, the exercise's kind may fill in defaults from its
draw (:meth:`~symgrad.teaching.worksheets.kinds.Kind.figure_defaults`: the variant's data, loss,
model,
point and learning rates); the spec's options win. :func:`attach` then adds
:class:`~symgrad.teaching.worksheets.model.Figure` blocks: to the prompt (``both``: both editions;
``exercises``: the exercise sheet only) or to the solution (``solutions``). A ``graph`` figure has
the node values and gradients only where the solution is: with ``both`` the prompt shows the bare
graph and the solution the graph with its values. The prompt's graph has bare arrows unless the
spec asks for the local derivatives on them (``show_local = true``): they are part of the answer.

:func:`render` writes a matplotlib figure as the same bytes every time (no dates, no software
version, a fixed SVG hash salt), so two builds with one seed are byte-identical.

>>> import random
>>> from fractions import Fraction
>>> from symgrad.teaching.worksheets.spec import ExerciseSpec
>>> es = ExerciseSpec(1, "activation", Fraction(2), "", {"activation": "relu", "z": [1, -2],
...     "figure": {"kind": "activations"}}, "demo.toml: exercise 1 (activation)")
>>> check(es)
>>> from symgrad.teaching.worksheets.kinds import KINDS
>>> ex = KINDS["activation"].generate(es, random.Random(0))
>>> attach(es, ex)
>>> [(b.name, b.caption) for b in ex.figures]
[('figure-1', 'The activation relu and its derivative.')]
>>> es.fields["figure"] = {"kind": "slope", "colour": "red"}
>>> try:
...     check(es)
... except SpecError as err:
...     print(str(err).split(" (it takes")[0])
demo.toml: exercise 1 (activation), field 'figure': unknown option 'colour' for plot kind 'slope'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from symgrad.core.catalogue import ACTIVATIONS
from symgrad.core.errors import SymgradError
from symgrad.core.names import MODELS, display_name
from symgrad.teaching import plots
from symgrad.teaching.worksheets.model import Exercise, Figure, Space
from symgrad.teaching.worksheets.spec import ExerciseSpec, SpecError, exact

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

__all__ = ["FIGURE_IN", "FIGURE_KINDS", "attach", "check"]

#: Every figure kind a worksheet may ask for: the plot kinds, and ``graph``.
FIGURE_KINDS = (*plots.KINDS, "graph")
#: Where the figure goes: the prompt (both editions), the exercise sheet only, or the solution.
FIGURE_IN = ("both", "exercises", "solutions")

_PARAMS = ("w", "b")
#: The options of a ``graph`` figure (the graph and its point are the exercise's).
GRAPH_OPTIONS = ("show_local",)


# --- checking the spec ---------------------------------------------------------------------------


def _name(v: Any, choices: tuple[str, ...], what: str) -> None:
    if not isinstance(v, str) or v not in choices:
        raise ValueError(f"{what} must be one of: {', '.join(choices)}; got {v!r}")


def _number(v: Any, what: str, positive: bool = False) -> float:
    try:
        x = float(exact(v, what))
    except SpecError:
        raise ValueError(f"{what} must be a number, got {v!r}") from None
    if positive and x <= 0:
        raise ValueError(f"{what} must be positive, got {v!r}")
    return x


def _numbers(v: Any, what: str, positive: bool = False) -> list[float]:
    if not isinstance(v, list) or not v:
        raise ValueError(f"{what} must be a non-empty list of numbers, got {v!r}")
    return [_number(x, what, positive) for x in v]


def _point(v: Any, what: str) -> None:
    if not isinstance(v, dict) or not v:
        raise ValueError(f"{what} must be a table such as {{ w = 1, b = 0 }}, got {v!r}")
    for k, x in v.items():
        _name(k, _PARAMS, f"a parameter in {what}")
        _number(x, f"{what}.{k}")


def _check_option(key: str, v: Any, base: Path) -> Any:
    """The option's value as :func:`symgrad.teaching.plots.figure` takes it; ValueError if
    malformed."""
    if key == "loss":
        _name(v, plots.PLOT_LOSSES, "loss")
    elif key == "model":
        _name(v, MODELS, "model")
    elif key == "param":
        _name(v, _PARAMS, "param")
    elif key in ("x", "y"):
        if not isinstance(v, str) or not v:
            raise ValueError(f"{key} must be a column name, got {v!r}")
    elif key in ("standardize", "show_local"):
        if not isinstance(v, bool):
            raise ValueError(f"{key} must be true or false, got {v!r}")
    elif key == "data":
        if not isinstance(v, str) or not v:
            raise ValueError(f"data must be a file name (CSV, .npz, .npy), got {v!r}")
        path = Path(v) if Path(v).is_absolute() else base / v
        if not path.is_file():
            raise ValueError(f"data file {v!r} not found (looked for {path})")
        return str(path)
    elif key == "points":
        return _numbers(v, "points")
    elif key == "range":
        lo, hi = _numbers(v, "range") if isinstance(v, list) and len(v) == 2 else (None, None)
        if lo is None:
            raise ValueError(f"range must be [min, max], got {v!r}")
        if lo >= hi:
            raise ValueError(f"range [{v[0]}, {v[1]}]: min must be less than max")
        return [lo, hi]
    elif key == "fixed":
        _point(v, "fixed")
        return {k: float(exact(x, key)) for k, x in v.items()}
    elif key == "init":
        if isinstance(v, dict):
            _point(v, "init")
            return {k: float(exact(x, key)) for k, x in v.items()}
        return _number(v, "init")
    elif key == "lr":
        return _numbers(v, "lr", positive=True) if isinstance(v, list) else \
            _number(v, "lr", positive=True)
    elif key == "max_iter":
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 100_000:
            raise ValueError(f"max_iter must be a whole number from 1 to 100000, got {v!r}")
    elif key == "names":
        if not isinstance(v, list) or not v:
            raise ValueError(f"names must be a non-empty list of activations, got {v!r}")
        for n in v:
            _name(n, tuple(ACTIVATIONS), "each of names")
    return v


def check(es: ExerciseSpec, base: Path | None = None) -> None:
    """Check ``figure`` and ``figure_in`` of one exercise spec (in place: paths made absolute,
    numbers made floats); a :class:`SpecError` names the file, the exercise and the field.

    ``base`` is the folder relative ``data`` paths are read from (the spec's folder).
    """
    from symgrad.teaching.worksheets.kinds import KINDS

    where_in = es.at("figure_in")
    if "figure_in" in es.fields:
        if "figure" not in es.fields:
            raise SpecError(f"{where_in}: there is no 'figure' to place")
        if es.fields["figure_in"] not in FIGURE_IN:
            raise SpecError(f"{where_in}: expected one of: {', '.join(FIGURE_IN)}; got "
                            f"{es.fields['figure_in']!r}")
    if "figure" not in es.fields:
        return
    where = es.at("figure")
    value = es.fields["figure"]
    if not isinstance(value, dict) or "kind" not in value:
        raise SpecError(f'{where}: expected a table such as {{ kind = "slope" }}, got {value!r}')
    kind = value["kind"]
    if kind not in FIGURE_KINDS:
        raise SpecError(f"{where}: unknown figure kind {kind!r}; choose one of: "
                        f"{', '.join(FIGURE_KINDS)}")
    if kind == "graph" and not KINDS[es.kind].graph_figure:
        graphs = [k for k, v in KINDS.items() if v.graph_figure]
        raise SpecError(f"{where}: a 'graph' figure needs an exercise with an expression "
                        f"(kind {', '.join(graphs)}), not {es.kind}")
    allowed = ("kind", *(GRAPH_OPTIONS if kind == "graph" else plots.KIND_OPTIONS[kind]))
    checked: dict[str, Any] = {"kind": kind}
    for key, v in value.items():
        if key not in allowed:
            what = "figure kind" if kind == "graph" else "plot kind"
            raise SpecError(f"{where}: unknown option {key!r} for {what} {kind!r} (it takes: "
                            f"{', '.join(allowed)})")
        if key != "kind":
            try:
                checked[key] = _check_option(key, v, base or Path("."))
            except ValueError as err:
                raise SpecError(f"{where}: {err}") from None
    es.fields["figure"] = checked


# --- drawing -------------------------------------------------------------------------------------


_CAPTIONS = {
    "slope": "The loss against one parameter, with the slope at chosen points.",
    "lr-comparison": "Gradient descent on one parameter with different learning rates.",
    "contour": "Contours of the loss over (w, b), the gradient-descent path and the minimum.",
    "loss-curve": "The loss and the gradient norm against the iteration.",
    "fit": "The data and the fitted line.",
    "activations": "Activation functions and their derivatives.",
}


def _plot(kind: str, options: Mapping[str, Any], where: str) -> Callable[[], MplFigure]:
    def draw() -> MplFigure:
        try:
            return plots.figure(kind, **dict(options))
        except SymgradError as err:
            raise SpecError(f"{where}: {err}") from None

    return draw


def _graph(drawn: Mapping[str, Any], values: bool, local: bool) -> Callable[[], MplFigure]:
    def draw() -> MplFigure:
        from symgrad.teaching.graphdraw import draw_graph

        ax = draw_graph(drawn["graph"], drawn["values"] if values else None, local=local)
        return ax.figure

    return draw


def attach(es: ExerciseSpec, ex: Exercise) -> None:
    """Add the figure ``es`` asks for to ``ex`` (prompt or solution), with the kind's defaults."""
    from symgrad.teaching.worksheets.kinds import KINDS

    if "figure" not in es.fields:
        return
    where = es.at("figure")
    options = dict(es.fields["figure"])
    kind = options.pop("kind")
    place = es.fields.get("figure_in", "both")
    name = f"figure-{es.number}"
    if kind == "graph":
        output = ex.drawn.get("output", "the output")
        if "graph" not in ex.drawn:
            raise SpecError(f"{where}: the {es.kind} kind has no computational graph to draw")
        local = bool(options.get("show_local", False))
        bare = Figure(name, "The computational graph" + (
            ", each edge with its local derivative." if local else "."),
            _graph(ex.drawn, False, local),
                      only="exercises" if place == "exercises" else None)
        full = Figure(name + ("-solution" if place == "both" else ""),
                      f"The computational graph with every node's value and its gradient "
                      f"(the derivative of {output} with respect to the node), and each edge's "
                      "local derivative.",
                      _graph(ex.drawn, True, True))
        if place in ("both", "exercises"):
            _to_prompt(ex, bare)
        if place in ("both", "solutions"):
            ex.solution.append(full)
        return
    options = {**KINDS[es.kind].figure_defaults(kind, options, ex.drawn), **options}
    caption = _CAPTIONS[kind]
    if kind == "lr-comparison":
        caption = _one_parameter_caption(options)
    if kind == "activations" and options.get("names"):
        names = list(options["names"])
        caption = (f"The activation {names[0]} and its derivative." if len(names) == 1 else
                   f"The activations {', '.join(map(display_name, names))} and their derivatives.")
    fig = Figure(name, caption, _plot(kind, options, where),
                 only="exercises" if place == "exercises" else None)
    if place == "solutions":
        ex.solution.append(fig)
    else:
        _to_prompt(ex, fig)


def _one_parameter_caption(options: Mapping[str, Any]) -> str:
    """An ``lr-comparison`` figure runs gradient descent on one parameter, the other held at its
    best value: not the run of an exercise's table on both, and its caption says so.

    >>> _one_parameter_caption({"param": "w", "lr": [0.001, 0.1, 0.3]})  # doctest: +ELLIPSIS
    'Gradient descent on w alone (b held at its best value) with learning rates 0.001, 0.1, ...'
    """
    param = options.get("param", "w")
    other = [p for p in _PARAMS if p != param][0]
    lrs = options.get("lr")
    rates = ("with learning rates " + ", ".join(f"{float(r):g}" for r in lrs)
             if isinstance(lrs, list) else "with learning rates chosen for it")
    return (f"Gradient descent on {param} alone ({other} held at its best value) {rates}: a "
            "one-parameter run, so its iteration counts are not those of a run on both "
            "parameters.")


def _to_prompt(ex: Exercise, fig: Figure) -> None:
    """Before the trailing answer space, if any."""
    k = len(ex.prompt)
    while k and isinstance(ex.prompt[k - 1], Space):
        k -= 1
    ex.prompt.insert(k, fig)

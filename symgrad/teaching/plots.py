"""Figures for the gradient-descent lecture, drawn with matplotlib from symgrad's own gradients.

Every slope, tangent and derivative drawn here comes from the engine: losses and gradients from
:func:`symgrad.numerics.compile.compile_gradient` of a verified derivation, activation derivatives
from
``derive_graph(activation_graph(name))`` (its ``expanded`` form, in terms of z), and every iterate
from :func:`symgrad.numerics.train.gradient_descent`. Nothing is a finite difference.

No pyplot state is used: figures are :class:`matplotlib.figure.Figure` objects, so this module works
with any backend (and headless). The drawing functions take ``ax=`` (or ``fig=`` for the multi-panel
ones) and return what they drew on:

=================================  ==============================  ===============================
function                           kind for :func:`figure`         draws
=================================  ==============================  ===============================
:func:`plot_slope`                 ``slope``                       L(p), others fixed; tangents
:func:`plot_gd_path`               (one panel of lr-comparison)    GD iterates on the L(p) curve
:func:`plot_lr_comparison`         ``lr-comparison``               small / ideal / large lr
:func:`plot_contour`               ``contour``                     L(w, b), GD path, closed form
:func:`plot_loss_curve`            ``loss-curve``                  loss and gradient norm vs iter.
:func:`plot_fit`                   ``fit``                         data, GD line, closed-form line
:func:`plot_activation(s)`         ``activations``                 g(z) and g'(z)
:func:`plot_optimizer_paths`       ``optimizers``                  every optimizer on one contour
:func:`plot_optimizer_losses`      ``optimizer-losses``            their losses together
:func:`plot_schedules`             ``schedules``                   lr of each update by schedule
:func:`plot_vanishing_gradients`   ``vanishing-gradients``         layer gradients, sigmoid/ReLU
=================================  ==============================  ===============================

The kind ``graph`` draws a typed expression's computational graph
(:mod:`symgrad.teaching.graphdraw`); by
default the lecture's j = 3(a + b c) at a = 1, b = 2, c = 3.

**Data and scaling.** Without ``data`` the figures use the bundled synthetic SAT→GPA set
(:func:`symgrad.numerics.data.bundled`). Raw SAT scores (around 1000) make the MSE gradient so
steep in w
that gradient descent with the lecture's learning rate 0.001 diverges, so by default the feature is
**standardized** (mean 0, standard deviation 1) and the titles say so; ``standardize=False`` keeps
the raw scale (the default learning rates then shrink to match). The ``fit`` figure always shows
the data in its original units.

>>> fig = figure("slope", points=[0.0, 1.0])
>>> ax = fig.axes[0]
>>> [line.get_gid() for line in ax.get_lines()]
['curve', 'tangent', 'tangent']
>>> ax.get_xlabel()
'w'
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import sympy as sp
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from symgrad.core.catalogue import ACTIVATIONS, activation_graph, real
from symgrad.core.derive import derive, derive_expr, derive_graph
from symgrad.core.errors import OptionError, choose
from symgrad.core.functions import FUNCTIONS
from symgrad.core.graph import Graph, Values, forward_backward
from symgrad.core.names import OPTIMIZERS, PLOT_KINDS, PLOT_LOSSES
from symgrad.models.fit import second_order
from symgrad.models.network import network
from symgrad.numerics import optim
from symgrad.numerics.compile import CompiledGradient, compile_gradient, lambdify
from symgrad.numerics.data import (
    Dataset,
    bundled,
    check_binary_labels,
    load_data,
    standardize,
    unstandardize_linear,
)
from symgrad.numerics.train import TrainResult, batch_rows, gradient_descent
from symgrad.render.text import expr_text
from symgrad.teaching.figfile import InlineFigure, check_output_path, save_figure

__all__ = [
    "KINDS",
    "KIND_OPTIONS",
    "Problem",
    "make_problem",
    "run_gd",
    "plot_slope",
    "plot_gd_path",
    "plot_lr_comparison",
    "plot_contour",
    "plot_loss_curve",
    "plot_fit",
    "plot_activation",
    "plot_activations",
    "valley_problem",
    "optimizer_runs",
    "plot_optimizer_paths",
    "plot_optimizer_losses",
    "plot_schedules",
    "layer_gradient_norms",
    "plot_vanishing_gradients",
    "figure",
    "graph_and_values",
    "save_figure",
    "check_output_path",
    "gallery",
]

KINDS = PLOT_KINDS
"""The figure kinds :func:`figure` draws."""

#: The L7 lecture's computational graph and point, the ``graph`` kind's default.
LECTURE_GRAPH = ("3*(a + b*c)", {"a": 1, "b": 2, "c": 3})

DEFAULT_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")
SHOW_ITERATES = 30
"""At most this many iterates are drawn on a curve (the first ones; the run continues)."""

_DATA_OPTIONS = ("loss", "model", "data", "x", "y", "standardize")
KIND_OPTIONS: dict[str, tuple[str, ...]] = {
    "slope": (*_DATA_OPTIONS, "param", "points", "range", "fixed"),
    "lr-comparison": (*_DATA_OPTIONS, "param", "lr", "init", "fixed", "range", "max_iter"),
    "contour": (*_DATA_OPTIONS, "lr", "init", "max_iter"),
    "loss-curve": (*_DATA_OPTIONS, "lr", "init", "max_iter"),
    "fit": (*_DATA_OPTIONS, "lr", "init", "max_iter"),
    "activations": ("names", "range"),
    "graph": ("expr", "at"),
    "optimizers": (*_DATA_OPTIONS, "init", "max_iter"),
    "optimizer-losses": (*_DATA_OPTIONS, "init", "max_iter"),
    "schedules": ("lr", "max_iter"),
    "vanishing-gradients": ("max_iter",),
}
"""The options :func:`figure` accepts for each kind (see :func:`figure` for their meaning)."""

_LOSS_LABEL = {"mse": "MSE", "bce": "BCE", "mae": "MAE", "huber": "Huber", "hinge": "hinge"}


def _num(v: float, digits: int = 3) -> str:
    """A short number with a typographic minus: ``_num(-0.5) == '−0.5'``."""
    return f"{v:.{digits}g}".replace("-", "−")


def _round_sig(v: float, digits: int = 3) -> float:
    return float(f"{v:.{digits}g}")


# -------------------------------------------------------------------------------------------------
# the problem: a catalogue loss and model on one feature of a data set


@lru_cache(maxsize=8)
def _compiled(loss: str, model: str) -> CompiledGradient:
    return compile_gradient(derive(loss, model))


@dataclass(frozen=True, eq=False)
class Problem:
    """A one-feature loss ``loss`` with model ``model`` on data, ready to evaluate and train.

    ``X`` (shape (N, 1)) is the feature as the gradient sees it: standardized when
    ``standardized`` (then ``mean``, ``std`` undo it), raw otherwise; ``x_raw`` is the original
    column. Parameters are ``w`` and ``b``.
    """

    loss: str
    model: str
    X: np.ndarray
    y: np.ndarray
    x_raw: np.ndarray
    x_name: str
    y_name: str
    standardized: bool
    mean: float
    std: float
    source: str
    gradient: CompiledGradient = field(repr=False)

    params: tuple[str, ...] = ("w", "b")
    _cache: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)

    @property
    def loss_label(self) -> str:
        """``MSE`` or ``BCE``."""
        return _LOSS_LABEL[self.loss]

    @property
    def scale_note(self) -> str:
        """What the feature axis is, for titles: ``sat standardized (mean 0, sd 1)``."""
        if self.standardized:
            return f"{self.x_name} standardized (mean 0, sd 1)"
        return f"{self.x_name} in raw units"

    def loss_and_grad(
        self, params: Mapping[str, float], idx: slice | np.ndarray | None = None
    ) -> tuple[float, dict[str, float]]:
        """The loss and the symbolic gradient at ``params`` (on the samples ``idx``, or all)."""
        X, y = batch_rows(idx, self.X, self.y)
        with np.errstate(all="ignore"):
            return self.gradient(dict(params), X, y)

    def loss_at(self, params: Mapping[str, float]) -> float:
        """Only the loss."""
        return self.loss_and_grad(params)[0]

    def closed_form(self) -> dict[str, float] | None:
        """For linear + MSE, the minimum from the normal equations ``(AᵀA) θ = Aᵀy``, else None.

        ``A = [x, 1]`` with x as the gradient sees it (standardized or not).

        >>> p = make_problem()
        >>> sorted(p.closed_form())
        ['b', 'w']
        """
        if not (self.loss == "mse" and self.model == "linear"):
            return None
        A = np.column_stack([self.X[:, 0], np.ones(len(self.y))])
        w, b = np.linalg.solve(A.T @ A, A.T @ self.y)
        return {"w": float(w), "b": float(b)}

    def curvature(self) -> np.ndarray:
        """The Hessian of the loss in (w, b) for linear + MSE, an upper bound for the others.

        Used only to choose default learning rates: ``2 AᵀA / N`` for MSE with a linear model,
        a quarter of ``AᵀA / N`` for BCE (σ' ≤ 1/4), ``AᵀA / N`` for Huber, half of it for MSE with
        a logistic model and for MAE and hinge (piecewise linear: no curvature but at the kinks).
        """
        A = np.column_stack([self.X[:, 0], np.ones(len(self.y))])
        H = A.T @ A / len(self.y)
        factor = {("mse", "linear"): 2.0, ("bce", "logistic"): 0.25, ("huber", "linear"): 1.0}.get(
            (self.loss, self.model), 0.5
        )
        return factor * H

    def reference(self) -> dict[str, float]:
        """The minimum: closed form if there is one, else a long gradient-descent run."""
        cf = self.closed_form()
        if cf is not None:
            return cf
        return _reference_gd(self)

    def default_lrs(self, param: str) -> tuple[float, float, float]:
        """Small, ideal and large learning rates for gradient descent on ``param`` alone.

        With curvature c of the loss in ``param``: 0.1/c, 0.5/c and 2.1/c (beyond 2/c gradient
        descent on a quadratic jumps over the minimum further each step and diverges).
        """
        j = self.params.index(param)
        c = float(self.curvature()[j, j])
        return (_round_sig(0.1 / c), _round_sig(0.5 / c), _round_sig(2.1 / c))

    def default_lr(self) -> float:
        """A learning rate for (w, b) together that converges in about a hundred iterations."""
        lam = float(np.max(np.linalg.eigvalsh(self.curvature())))
        return _round_sig(0.2 / lam, 2)


def _reference_gd(p: Problem) -> dict[str, float]:
    if "reference" not in p._cache:
        lr = 1.0 / float(np.max(np.linalg.eigvalsh(p.curvature())))
        res = gradient_descent(p.loss_and_grad, {"w": 0.0, "b": 0.0}, len(p.y), lr=lr,
                               max_iter=20000, tol=1e-10)
        p._cache["reference"] = {k: float(v) for k, v in res.params.items()}
    return p._cache["reference"]


def make_problem(
    loss: str = "mse",
    model: str | None = None,
    data: str | os.PathLike[str] | Dataset | None = None,
    x: str | None = None,
    y: str | None = None,
    standardize: bool = True,
) -> Problem:
    """Load one feature and a target and pair them with a catalogue loss and model.

    Without ``data``: the bundled SAT→GPA set (``x="sat"``, ``y="gpa"``). ``data`` may also be a
    :class:`~symgrad.numerics.data.Dataset` already in memory (a worksheet's drawn samples).
    ``model``
    defaults to ``linear`` for ``mse`` and ``logistic`` for ``bce``.

    >>> p = make_problem()
    >>> p.x_name, p.y_name, p.standardized, p.X.shape
    ('sat', 'gpa', True, (100, 1))
    >>> make_problem(standardize=False).X[:2, 0].tolist()
    [1050.0, 1200.0]
    """
    choose("loss for plots", loss, PLOT_LOSSES)
    if model is None:
        model = "logistic" if loss == "bce" else "linear"
    if data is None:
        if loss in ("bce", "hinge"):
            labels = "0/1" if loss == "bce" else "-1/1"
            raise OptionError(f"{loss} needs {labels} labels: give data", option="data")
        path: Any = bundled("sat_gpa")
        x = "sat" if x is None else x
        y = "gpa" if y is None else y
    else:
        path = data
    ds = path if isinstance(path, Dataset) else load_data(path, x=x, y=y)
    if ds.n_features != 1:
        raise OptionError(
            f"plots need exactly one feature column, {ds.source} has {ds.n_features} "
            f"({', '.join(ds.x_names)}); choose one with x=",
            option="x",
        )
    if loss in ("bce", "hinge"):
        check_binary_labels(ds, 0.0 if loss == "bce" else -1.0)
    grad = _compiled(loss, model)
    x_raw = ds.X[:, 0].copy()
    if standardize:
        Xs, mean, std = standardize_column(ds.X, ds.x_names)
    else:
        Xs, mean, std = ds.X.copy(), 0.0, 1.0
    return Problem(loss, model, Xs, ds.y.copy(), x_raw, ds.x_names[0], ds.y_name,
                   bool(standardize), mean, std, ds.source, grad)


def standardize_column(X: np.ndarray, names: Sequence[str]) -> tuple[np.ndarray, float, float]:
    """:func:`symgrad.numerics.data.standardize` for one column, with the mean and sd as floats."""
    Xs, mean, std = standardize(X, names=names)
    return Xs, float(mean[0]), float(std[0])


def run_gd(
    problem: Problem,
    lr: float,
    init: Mapping[str, float] | None = None,
    train: Sequence[str] = ("w", "b"),
    fixed: Mapping[str, float] | None = None,
    max_iter: int = 1000,
    tol: float = 1e-9,
) -> TrainResult:
    """Full-batch gradient descent on the parameters ``train``, the others held at ``fixed``.

    ``init`` gives starting values (default 0 for every trained parameter); the loop, its stopping
    rules and its history are :func:`symgrad.numerics.train.gradient_descent`'s.

    >>> p = make_problem()
    >>> r = run_gd(p, lr=0.1)
    >>> r.stopped_because, abs(r.params["w"] - p.closed_form()["w"]) < 1e-6
    ('converged', True)
    """
    init = dict(init or {})
    fixed = dict(fixed or {})
    for name in [*init, *fixed, *train]:
        if name not in problem.params:
            raise OptionError(f"unknown parameter {name!r}; choose from: w, b")
    others = [n for n in problem.params if n not in train]
    missing = [n for n in others if n not in fixed]
    if missing:
        ref = problem.reference()
        fixed.update({n: ref[n] for n in missing})
    start = {n: float(init.get(n, 0.0)) for n in train}

    def loss_and_grad(params: dict[str, Any], idx: Any) -> tuple[float, dict[str, float]]:
        loss, grads = problem.loss_and_grad({**fixed, **params}, idx)
        return loss, {n: grads[n] for n in train}

    return gradient_descent(loss_and_grad, start, len(problem.y), lr=lr, max_iter=max_iter,
                            tol=tol)


# -------------------------------------------------------------------------------------------------
# helpers


def _new_ax(ax: Axes | None, figsize: tuple[float, float] = (6.4, 4.6)) -> Axes:
    if ax is not None:
        return ax
    fig = InlineFigure(figsize=figsize, layout="constrained")
    return fig.add_subplot()


def _run_wb(
    problem: Problem | None, lr: float | None, init: Mapping[str, float] | None, max_iter: int
) -> tuple[Problem, float, TrainResult]:
    """Gradient descent on (w, b) from ``init``: the problem defaults to :func:`make_problem`, the
    learning rate to the problem's :meth:`Problem.default_lr`."""
    problem = problem or make_problem()
    lr = problem.default_lr() if lr is None else float(lr)
    return problem, lr, run_gd(problem, lr, init=init, max_iter=max_iter)


def _check_range(rng: Sequence[float] | None, what: str = "range") -> tuple[float, float] | None:
    if rng is None:
        return None
    if len(rng) != 2:
        raise OptionError(f"{what} takes two numbers MIN,MAX, got {len(rng)}", option="range")
    lo, hi = float(rng[0]), float(rng[1])
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise OptionError(f"{what} must be finite, got {lo:g},{hi:g}",
                          option="range")
    if lo >= hi:
        raise OptionError(f"{what}: MIN must be less than MAX, got {lo:g},{hi:g}",
                          option="range")
    return lo, hi


def _default_range(center: float) -> tuple[float, float]:
    h = 2 * abs(center) if abs(center) > 1e-12 else 1.0
    return center - h, center + h


def _fixed_for(problem: Problem, param: str, fixed: Mapping[str, float] | None) -> dict[str, float]:
    if param not in problem.params:
        raise OptionError(f"unknown parameter {param!r}; choose from: w, b")
    ref = problem.reference()
    out = {n: ref[n] for n in problem.params if n != param}
    for k, v in (fixed or {}).items():
        if k == param:
            raise OptionError(f"{param} is the plotted parameter; it cannot also be fixed")
        if k not in out:
            raise OptionError(f"unknown parameter {k!r}; choose from: w, b")
        out[k] = float(v)
    return out


def _curve(
    problem: Problem, param: str, fixed: Mapping[str, float], lo: float, hi: float, n: int = 400
) -> tuple[np.ndarray, np.ndarray]:
    ps = np.linspace(lo, hi, n)
    ls = np.array([problem.loss_at({**fixed, param: float(p)}) for p in ps])
    return ps, ls


def _fixed_note(fixed: Mapping[str, float]) -> str:
    return ", ".join(f"{k} fixed at {_num(v)}" for k, v in fixed.items())


def _stop_text(result: TrainResult, max_iter: int | None = None) -> str:
    if result.stopped_because == "converged":
        return f"converged after {result.iterations} iterations (w_new = w_old, within tol)"
    if result.stopped_because == "max_iter":
        return f"stopped at the iteration limit ({result.iterations} iterations)"
    return f"diverged at iteration {result.diverged_at}: {result.hint}"


# -------------------------------------------------------------------------------------------------
# loss versus one parameter


def plot_slope(
    problem: Problem | None = None,
    *,
    param: str = "w",
    points: Sequence[float] | None = None,
    range: Sequence[float] | None = None,  # noqa: A002 - the CLI's --range
    fixed: Mapping[str, float] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """The loss against one parameter, the others fixed, with tangent lines and their slopes.

    The slope at each point is the compiled symbolic gradient ∂L/∂param there. By default the other
    parameters sit at the minimum (so the curve's lowest point is the best ``param``), the range is
    centred on the minimum, and the points are left of it, at it and right of it: a negative slope
    says "move right", a positive one "move left".

    Lines (in order, with their ``gid``): the curve (``curve``), then one ``tangent`` per point,
    labelled ``slope = ...``.

    >>> ax = plot_slope(make_problem(), points=[0.0])
    >>> tangent = ax.get_lines()[1]
    >>> tangent.get_label().startswith("slope")
    True
    """
    problem = problem or make_problem()
    fx = _fixed_for(problem, param, fixed)
    center = problem.reference()[param]
    lo, hi = _check_range(range) or _default_range(center)
    width = hi - lo
    if points is None:
        points = [center - 0.6 * (center - lo), center, center + 0.6 * (hi - center)]
    ax = _new_ax(ax)
    ps, ls = _curve(problem, param, fx, lo, hi)
    ax.plot(ps, ls, color="C0", lw=2, label=f"{problem.loss_label}({param})", gid="curve")
    half = 0.14 * width
    for k, p0 in enumerate(points):
        p0 = float(p0)
        loss, grads = problem.loss_and_grad({**fx, param: p0})
        s = grads[param]
        t = np.array([p0 - half, p0 + half])
        flat = abs(s) * width <= 1e-9 * max(abs(loss), 1.0)  # zero up to rounding
        ax.plot(t, loss + s * (t - p0), color=f"C{(k % 8) + 1}", lw=1.8,
                label=f"slope = {'0' if flat else _num(s)} at {param} = {_num(p0)}",
                gid="tangent")
        ax.scatter([p0], [loss], color=f"C{(k % 8) + 1}", zorder=3, s=30)
        if not flat:
            way = "move right →" if s < 0 else "← move left"
            ax.annotate(way, xy=(p0, loss), xytext=(0, 12), textcoords="offset points",
                        ha="center", fontsize=9, color=f"C{(k % 8) + 1}")
        else:
            ax.annotate("slope 0: stop", xy=(p0, loss), xytext=(0, -16),
                        textcoords="offset points", ha="center", fontsize=9)
    span = float(ls.max() - ls.min()) or 1.0
    ax.set_ylim(float(ls.min()) - 0.08 * span, float(ls.max()) + 0.1 * span)
    ax.set_xlim(lo, hi)
    ax.set_xlabel(param)
    ax.set_ylabel(problem.loss_label)
    ax.set_title(f"Slope ∂L/∂{param} of the {problem.loss_label} at chosen {param}\n"
                 f"({_fixed_note(fx)}; {problem.scale_note})", fontsize=10)
    ax.legend(fontsize=8, loc="upper center")
    return ax


def plot_gd_path(
    problem: Problem | None = None,
    *,
    param: str = "w",
    lr: float | None = None,
    init: float | None = None,
    fixed: Mapping[str, float] | None = None,
    range: Sequence[float] | None = None,  # noqa: A002
    max_iter: int = 1000,
    tag: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Gradient-descent iterates of one parameter (others fixed) drawn on the loss curve.

    At most the first :data:`SHOW_ITERATES` iterates are drawn. The axis ranges come from the
    iterates drawn (and ``range``, if given), so a diverging run stays readable; when the loss
    spans more than a factor 50 the loss axis is log-scaled, and a note says so.

    Lines (``gid``): ``curve``, ``iterates`` (markers joined in order). The text with ``gid``
    ``stop-reason`` gives the stopping reason.

    >>> ax = plot_gd_path(make_problem(), lr=0.25)
    >>> [t.get_text() for t in ax.texts if t.get_gid() == "stop-reason"][0][:9]
    'converged'
    """
    problem = problem or make_problem()
    fx = _fixed_for(problem, param, fixed)
    center = problem.reference()[param]
    rng = _check_range(range)
    lo0, hi0 = rng or _default_range(center)
    if lr is None:
        lr = problem.default_lrs(param)[1]
    p_init = float(init) if init is not None else center - 0.9 * (center - lo0)
    res = run_gd(problem, lr, init={param: p_init}, train=(param,), fixed=fx, max_iter=max_iter)
    iters = np.array([float(row[param]) for row in res.param_history])
    losses = np.asarray(res.loss_history, dtype=float)
    n_show = min(SHOW_ITERATES, len(iters))
    ps_it, ls_it = iters[:n_show], losses[:n_show]
    keep = np.isfinite(ps_it) & np.isfinite(ls_it)
    ps_it, ls_it = ps_it[keep], ls_it[keep]
    if rng is None:
        lo = min(lo0, float(ps_it.min()))
        hi = max(hi0, float(ps_it.max()))
        pad = 0.05 * (hi - lo)
        lo, hi = lo - pad, hi + pad
    else:
        lo, hi = rng
    ax = _new_ax(ax)
    ps, ls = _curve(problem, param, fx, lo, hi)
    ax.plot(ps, ls, color="C0", lw=2, label=f"{problem.loss_label}({param})", gid="curve")
    ax.plot(ps_it, ls_it, "o-", color="C3", ms=4, lw=1, alpha=0.85,
            label=f"iterates (first {len(ps_it)} of {len(iters)})" if len(iters) > n_show
            else "iterates",
            gid="iterates")
    ax.scatter([ps_it[0]], [ls_it[0]], color="k", zorder=4, s=40)
    ax.annotate("start", xy=(ps_it[0], ls_it[0]), xytext=(4, 6), textcoords="offset points",
                fontsize=8)
    notes = []
    log = ls.min() > 0 and ls.max() / ls.min() > 50
    if log:
        ax.set_yscale("log")
        notes.append("loss axis log-scaled")
        ax.set_ylim(float(ls.min()) / 1.5, float(ls.max()) * 30)
    else:
        span = float(ls.max() - ls.min()) or 1.0
        ax.set_ylim(float(ls.min()) - 0.05 * span, float(ls.max()) + 0.4 * span)
    ax.set_xlim(lo, hi)
    ax.set_xlabel(param)
    ax.set_ylabel(problem.loss_label)
    name = f"lr = {lr:g}" + (f" ({tag})" if tag else "")
    ax.set_title(name, fontsize=11)
    if res.stopped_because == "diverged":
        stop = f"diverged: the loss grows from iteration {res.diverged_at} on"
    else:
        stop = _stop_text(res).split(" (")[0]
    ax.text(0.03, 0.97, stop, transform=ax.transAxes, fontsize=9, va="top", gid="stop-reason",
            color="C3" if res.stopped_because == "diverged" else "k", fontweight="bold")
    if notes:
        ax.text(0.03, 0.90, "; ".join(notes), transform=ax.transAxes, fontsize=8, va="top",
                style="italic", gid="note")
    ax.legend(fontsize=8, loc="upper right", bbox_to_anchor=(1.0, 0.85))
    return ax


def plot_lr_comparison(
    problem: Problem | None = None,
    *,
    param: str = "w",
    lr: Sequence[float] | None = None,
    init: float | None = None,
    fixed: Mapping[str, float] | None = None,
    range: Sequence[float] | None = None,  # noqa: A002
    max_iter: int = 1000,
    fig: Figure | None = None,
) -> Figure:
    """Gradient descent on the same curve with several learning rates, side by side.

    By default three rates from :meth:`Problem.default_lrs`, tagged small, ideal and large (the
    large one jumps over the minimum and diverges). One panel per rate, each a
    :func:`plot_gd_path`; every run starts from the same point.

    >>> fig = plot_lr_comparison(make_problem())
    >>> [ax.get_title() for ax in fig.axes]
    ['lr = 0.05 (small)', 'lr = 0.25 (ideal)', 'lr = 1.05 (large)']
    """
    problem = problem or make_problem()
    fx = _fixed_for(problem, param, fixed)
    if lr is None:
        lrs: list[float] = list(problem.default_lrs(param))
        tags: list[str | None] = ["small", "ideal", "large"]
    else:
        lrs = [float(v) for v in lr]
        if not lrs:
            raise OptionError("give at least one learning rate")
        tags = [None] * len(lrs)
    rng = _check_range(range)
    if init is None:
        center = problem.reference()[param]
        lo0, _ = rng or _default_range(center)
        init = center - 0.9 * (center - lo0)
    fig = fig or InlineFigure(figsize=(4.6 * len(lrs), 4.4), layout="constrained")
    axes = fig.subplots(1, len(lrs), squeeze=False)[0]
    for ax, rate, tag in zip(axes, lrs, tags, strict=True):
        plot_gd_path(problem, param=param, lr=rate, init=init, fixed=fx, range=rng,
                     max_iter=max_iter, tag=tag, ax=ax)
    fig.suptitle(f"Gradient descent on {problem.loss_label}({param}) from {param} = "
                 f"{_num(init)} ({_fixed_note(fx)}; {problem.scale_note})", fontsize=11)
    return fig


# -------------------------------------------------------------------------------------------------
# contour of L(w, b)


def _contours(ax: Axes, problem: Problem, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Filled, labelled contours of L(w, b) around the points ``pts``; returns the view's
    corners ``(lo, hi)``."""
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = np.maximum(hi - lo, 0.2 * np.maximum(np.abs(hi), 1e-3))
    lo, hi = lo - 0.25 * span, hi + 0.25 * span
    ws, bs = np.linspace(lo[0], hi[0], 120), np.linspace(lo[1], hi[1], 120)
    W, B = np.meshgrid(ws, bs)
    L = np.array([[problem.loss_at({"w": w, "b": b}) for w in ws] for b in bs])
    finite = L[np.isfinite(L)]
    lmin, lmax = float(finite.min()), float(finite.max())
    if lmin > 0 and lmax / lmin > 20:
        levels = np.geomspace(lmin * 1.01, lmax, 18)
    else:
        levels = np.linspace(lmin, lmax, 18)
    ax.contourf(W, B, L, levels=levels, cmap="YlGnBu_r", alpha=0.35, extend="both")
    cs = ax.contour(W, B, L, levels=levels, colors="0.35", linewidths=0.6)
    ax.clabel(cs, cs.levels[1::3], fontsize=7, fmt=lambda v: _num(v, 2), colors="k")
    return lo, hi


def plot_contour(
    problem: Problem | None = None,
    *,
    lr: float | None = None,
    init: Mapping[str, float] | None = None,
    max_iter: int = 1000,
    ax: Axes | None = None,
) -> Axes:
    """Contours of L(w, b), the gradient-descent path on both parameters, and the minimum.

    For linear + MSE the closed-form minimum (normal equations, :meth:`Problem.closed_form`) is
    marked with a star (line ``gid`` ``closed-form``); the path has ``gid`` ``trajectory``.

    >>> p = make_problem()
    >>> ax = plot_contour(p)
    >>> star = [ln for ln in ax.get_lines() if ln.get_gid() == "closed-form"][0]
    >>> bool(np.allclose(star.get_xydata()[0], [p.closed_form()["w"], p.closed_form()["b"]]))
    True
    """
    problem, lr, res = _run_wb(problem, lr, {"w": 0.0, "b": 0.0, **(init or {})}, max_iter)
    path = np.array([[float(r["w"]), float(r["b"])] for r in res.param_history])
    path = path[np.all(np.isfinite(path), axis=1)]
    cf = problem.closed_form()
    ref = problem.reference()
    pts = np.vstack([path, [[ref["w"], ref["b"]]]])
    if res.stopped_because == "diverged":  # keep the view near the start and the minimum
        pts = np.vstack([path[: min(len(path), 8)], [[ref["w"], ref["b"]]]])
    ax = _new_ax(ax, figsize=(6.4, 5.2))
    lo, hi = _contours(ax, problem, pts)
    show = path if len(path) <= 400 else path[:: max(1, len(path) // 400)]
    ax.plot(show[:, 0], show[:, 1], ".-", color="C3", ms=3, lw=1,
            label=f"gradient descent, lr = {lr:g}: {res.stopped_because} "
                  f"after {res.iterations} it.", gid="trajectory")
    ax.scatter([path[0, 0]], [path[0, 1]], color="k", zorder=4, s=30)
    ax.annotate("start", xy=tuple(path[0]), xytext=(5, 5), textcoords="offset points",
                fontsize=8)
    if cf is not None:
        ax.plot([cf["w"]], [cf["b"]], marker="*", ms=16, color="gold", mec="k", ls="none",
                label=f"closed form (normal equations): w = {_num(cf['w'])}, b = {_num(cf['b'])}",
                gid="closed-form", zorder=5)
    else:
        ax.text(0.02, 0.02, f"no closed form for {problem.loss}", transform=ax.transAxes,
                fontsize=8, gid="note")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("w")
    ax.set_ylabel("b")
    ax.set_title(f"{problem.loss_label}(w, b) with the gradient-descent path\n"
                 f"({problem.scale_note})", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    return ax


# -------------------------------------------------------------------------------------------------
# loss and gradient norm against iteration


def plot_loss_curve(
    result: TrainResult | None = None,
    *,
    problem: Problem | None = None,
    lr: float | None = None,
    init: Mapping[str, float] | None = None,
    max_iter: int = 1000,
    ax: Axes | None = None,
) -> Axes:
    """The loss (left axis) and the gradient norm (right axis, log scale) against iteration.

    Draws ``result`` if given, else runs gradient descent on (w, b) for ``problem``. The stopping
    reason is annotated at the last iteration (text ``gid`` ``stop-reason``). Returns the loss
    axes; the gradient-norm axes is its twin, the figure's second axes.

    >>> ax = plot_loss_curve(problem=make_problem(), max_iter=20)
    >>> [t.get_text() for t in ax.texts if t.get_gid() == "stop-reason"][0]
    'stopped: at the iteration limit (20 iterations)'
    """
    if result is None:
        problem, lr, result = _run_wb(problem, lr, init, max_iter)
    it = np.asarray(result.history_iterations)
    loss = np.asarray(result.loss_history, dtype=float)
    gnorm = np.asarray(result.grad_norm_history, dtype=float)
    ax = _new_ax(ax)
    ax.plot(it, loss, color="C0", lw=2, label="loss", gid="loss")
    ok = np.isfinite(loss)
    if ok.any() and loss[ok].min() > 0 and loss[ok].max() / loss[ok].min() > 100:
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel(problem.loss_label if problem else "loss", color="C0")
    twin = ax.twinx()
    pos = gnorm > 0
    twin.plot(it[pos], gnorm[pos], color="C1", lw=1.5, ls="--", label="gradient norm",
              gid="grad-norm")
    if pos.any():
        twin.set_yscale("log")
    twin.set_ylabel("gradient norm ‖∇L‖", color="C1")
    reason = {
        "converged": f"stopped: converged after {result.iterations} iterations\n"
                     "(w_new = w_old: the step fell below tol)",
        "max_iter": f"stopped: at the iteration limit ({result.iterations} iterations)",
        "diverged": f"stopped: diverged at iteration {result.diverged_at}\n{result.hint}",
    }[result.stopped_because]
    ax.axvline(it[-1], color="0.4", lw=1, ls=":", gid="stop-line")
    ax.annotate(reason, xy=(it[-1], loss[-1] if np.isfinite(loss[-1]) else loss[ok][-1]),
                xytext=(-30, 70), textcoords="offset points", ha="right", fontsize=9,
                arrowprops={"arrowstyle": "->", "color": "0.3"}, gid="stop-reason",
                bbox={"boxstyle": "round", "fc": "lightyellow", "ec": "0.6"})
    lines = ax.get_lines()[:1] + twin.get_lines()
    ax.legend(lines, [ln.get_label() for ln in lines], fontsize=8, loc="upper right")
    title = "Loss and gradient norm during gradient descent"
    if problem is not None:
        title += f"\n(lr = {lr:g}; {problem.scale_note})"
    ax.set_title(title, fontsize=10)
    return ax


# -------------------------------------------------------------------------------------------------
# data and fitted line


def plot_fit(
    problem: Problem | None = None,
    *,
    lr: float | None = None,
    init: Mapping[str, float] | None = None,
    max_iter: int = 1000,
    ax: Axes | None = None,
) -> Axes:
    """The data (original units) with the model fitted by gradient descent and, for linear + MSE,
    by the closed form.

    Lines (``gid``): ``gd-fit`` and ``closed-form-fit``, labelled with their equations in the
    data's units (fitted on the standardized feature, then converted back).

    >>> ax = plot_fit(make_problem())
    >>> [ln.get_gid() for ln in ax.get_lines()]
    ['gd-fit', 'closed-form-fit']
    """
    problem, lr, res = _run_wb(problem, lr, init, max_iter)
    ax = _new_ax(ax)
    ax.scatter(problem.x_raw, problem.y, s=14, color="0.35", alpha=0.7, label="data", gid="data")
    xs = np.linspace(problem.x_raw.min(), problem.x_raw.max(), 200)

    def to_raw(w: float, b: float) -> tuple[float, float]:
        if problem.standardized:
            return unstandardize_linear(w, b, [problem.mean], [problem.std])
        return w, b

    def predict(w: float, b: float) -> np.ndarray:
        z = w * xs + b
        if problem.model == "logistic":
            from symgrad.numerics.kernels import sigmoid

            return np.asarray(sigmoid(z))
        return z

    xn, yn = problem.x_name, problem.y_name
    fits = [("gd-fit", res.params, "C3", "-",
             f"gradient descent (lr = {lr:g}, {res.stopped_because} after {res.iterations} it.)")]
    cf = problem.closed_form()
    if cf is not None:
        fits.append(("closed-form-fit", cf, "C2", "--", "closed form (normal equations)"))
    for gid, params, color, ls, what in fits:
        w, b = to_raw(float(params["w"]), float(params["b"]))
        if not (math.isfinite(w) and math.isfinite(b)):
            continue
        form = f"{_num(w)}·{xn} + {_num(b)}".replace("+ −", "− ")
        eq = f"{yn} = σ({form})" if problem.model == "logistic" else f"{yn} = {form}"
        ax.plot(xs, predict(w, b), color=color, ls=ls, lw=2, label=f"{what}\n{eq}", gid=gid)
    pad = 0.1 * float(np.ptp(problem.y) or 1.0)
    ax.set_ylim(float(problem.y.min()) - pad, float(problem.y.max()) + pad)
    ax.set_xlabel(xn)
    ax.set_ylabel(yn)
    how = "trained on the standardized feature, shown in original units" if problem.standardized \
        else "trained on raw values"
    ax.set_title(f"{yn} against {xn}: {problem.model} model fitted by {problem.loss_label}\n"
                 f"({how})", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    return ax


# -------------------------------------------------------------------------------------------------
# activations


@lru_cache(maxsize=16)
def _activation_functions(name: str) -> tuple[Callable, Callable, str]:
    """(g, g', text of g' as the engine names it) as NumPy functions of z."""
    choose("activation", name, tuple(ACTIVATIONS))
    z = real("z")
    grad = derive_graph(activation_graph(name)).gradients["z"]
    g = lambdify([z], [ACTIVATIONS[name](z)])
    dg = lambdify([z], [grad.expanded])
    named = expr_text(grad.named)
    expanded = expr_text(grad.expanded)
    text = named if named == expanded else f"{named} = {expanded} (a = {name}(z))"

    def value(fn: Callable) -> Callable:
        def call(zs: np.ndarray) -> np.ndarray:
            return np.broadcast_to(np.asarray(fn(zs)[0], dtype=float), np.shape(zs)).copy()

        return call

    return value(g), value(dg), text


def plot_activation(
    name: str,
    *,
    range: Sequence[float] | None = None,  # noqa: A002
    ax: Axes | None = None,
) -> Axes:
    """One activation g(z) (solid, ``gid`` ``activation``) and its derivative g'(z) (dashed,
    ``gid`` ``derivative``), the derivative from the engine's verified derivation; then the
    z and g axes (grey, ``gid`` ``zero-axis``).

    >>> ax = plot_activation("tanh")
    >>> ax.get_lines()[1].get_label()
    "tanh'(z) = 1 − a² = 1 − tanh(z)² (a = tanh(z))"
    """
    g, dg, text = _activation_functions(name)
    unit = FUNCTIONS[name].activation
    lo, hi = _check_range(range) or unit.plot_range
    zs = np.linspace(lo, hi, 600)
    ax = _new_ax(ax, figsize=(4.6, 3.6))
    ax.plot(zs, g(zs), color="C0", lw=2, label=f"{name}(z)", gid="activation")
    ax.plot(zs, dg(zs), color="C1", lw=2, ls="--", label=f"{name}'(z) = {text}",
            gid="derivative")
    ax.axhline(0, color="0.7", lw=0.8, zorder=0, gid="zero-axis")
    ax.axvline(0, color="0.7", lw=0.8, zorder=0, gid="zero-axis")
    if unit.plot_note is not None and lo < 0:
        ax.annotate(unit.plot_note, xy=(lo / 2, float(g(np.array([lo / 2]))[0])), xytext=(0, 18),
                    textcoords="offset points", ha="center", fontsize=8,
                    arrowprops={"arrowstyle": "->", "color": "0.4"})
    ax.set_xlim(lo, hi)
    ax.set_xlabel("z")
    ax.set_title(name, fontsize=11)
    ax.legend(fontsize=7.5, loc="upper left")
    return ax


def plot_activations(
    names: Sequence[str] | None = None,
    *,
    range: Sequence[float] | None = None,  # noqa: A002
    fig: Figure | None = None,
) -> Figure:
    """:func:`plot_activation` for several activations (default sigmoid, tanh, ReLU, leaky ReLU)
    on a grid.

    >>> fig = plot_activations()
    >>> [ax.get_title() for ax in fig.axes]
    ['sigmoid', 'tanh', 'relu', 'leaky_relu']
    """
    names = list(names or DEFAULT_ACTIVATIONS)
    if not names:
        raise OptionError("give at least one activation")
    for n in names:
        choose("activation", n, tuple(ACTIVATIONS))
    cols = 2 if len(names) in (2, 4) else min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig = fig or InlineFigure(figsize=(5.2 * cols, 3.9 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, n in zip(axes, names, strict=False):
        plot_activation(n, range=range, ax=ax)
    for ax in axes[len(names):]:
        fig.delaxes(ax)
    fig.suptitle("Activation functions g(z) and their derivatives g'(z) (derived by symgrad)",
                 fontsize=11)
    return fig


# -------------------------------------------------------------------------------------------------
# optimizers: paths on one contour, loss curves, schedules, vanishing gradients

#: Each optimizer's learning rate on the default valley (sat in thousands): ``(lr, per)`` with
#: ``per`` what it is relative to: ``"curvature"`` (times 1/lambda_max: the first-order methods
#: whose step is lr times the gradient), ``"distance"`` (times the distance from the start to the
#: minimum: the adaptive ones, whose step is about lr whatever the gradient) or ``"one"``.
OPTIMIZER_LRS: dict[str, tuple[float, str]] = {
    "gd": (1.8, "curvature"), "momentum": (0.22, "curvature"), "nesterov": (0.22, "curvature"),
    "adagrad": (0.2, "distance"), "rmsprop": (0.008, "distance"), "adam": (0.04, "distance"),
    "newton": (1.0, "one"),
}
OPTIMIZER_START = {"w": 4.0, "b": -1.0}
"""Where the optimizers start on the default valley."""


def valley_problem() -> Problem:
    """The bundled SAT→GPA data with SAT in thousands, not standardized: a long, narrow valley
    (the Hessian's condition number is about 100), where the optimizers differ.

    >>> p = valley_problem()
    >>> round(float(np.linalg.cond(p.curvature())))
    109
    """
    p = make_problem(standardize=False)
    return replace(p, X=p.X / 1000.0, x_name="sat/1000", _cache={})


def optimizer_runs(
    problem: Problem | None = None,
    *,
    init: Mapping[str, float] | None = None,
    max_iter: int = 300,
    optimizers: Sequence[str] = OPTIMIZERS,
) -> dict[str, tuple[float, TrainResult]]:
    """Every optimizer from the same start on (w, b): ``{name: (lr, result)}``.

    The learning rates are :data:`OPTIMIZER_LRS`, scaled to the problem; Newton's method uses
    the Hessian derived by :func:`symgrad.models.fit.second_order`.

    >>> runs = optimizer_runs(max_iter=5, optimizers=["gd", "newton"])
    >>> runs["newton"][1].iterations <= 2, runs["gd"][1].iterations
    (True, 5)
    """
    problem = problem or valley_problem()
    start = {**OPTIMIZER_START, **(init or {})} if init or problem.x_name == "sat/1000" else \
        {"w": 0.0, "b": 0.0}
    ref = problem.reference()
    lam = float(np.max(np.linalg.eigvalsh(problem.curvature())))
    dist = math.hypot(start["w"] - ref["w"], start["b"] - ref["b"]) or 1.0
    hess = second_order(problem.loss, problem.model, 1, None)
    out = {}
    for name in optimizers:
        factor, per = OPTIMIZER_LRS[name]
        lr = _round_sig(factor * {"curvature": 1 / lam, "distance": dist, "one": 1.0}[per], 2)
        if name == "newton":  # one parameter vector, and the Hessian
            def loss_and_grad(p: dict[str, Any], idx: Any) -> tuple[float, dict[str, Any]]:
                loss, g = problem.loss_and_grad({"w": p["theta"][0], "b": p["theta"][1]}, idx)
                return loss, {"theta": np.array([g["w"], g["b"]])}

            res = gradient_descent(
                loss_and_grad, {"theta": [start["w"], start["b"]]}, len(problem.y), lr=lr,
                max_iter=max_iter, tol=1e-9, optimizer="newton",
                hessian=lambda p: hess.matrix(p["theta"], problem.X, problem.y))
            res = replace(res, param_history=[{"w": r["theta"][0], "b": r["theta"][1]}
                                              for r in res.param_history])
        else:
            res = gradient_descent(problem.loss_and_grad, start, len(problem.y), lr=lr,
                                   max_iter=max_iter, tol=1e-9, optimizer=name)
        out[name] = (lr, res)
    return out


def plot_optimizer_paths(
    problem: Problem | None = None,
    *,
    init: Mapping[str, float] | None = None,
    max_iter: int = 300,
    ax: Axes | None = None,
) -> Axes:
    """The paths of every optimizer from one start on the contours of L(w, b).

    By default on :func:`valley_problem`, where plain gradient descent zig-zags across the
    valley, momentum overshoots and comes back, the adaptive methods head diagonally, and
    Newton's method jumps to the minimum in one step. Each path has ``gid`` ``path-NAME``.

    >>> ax = plot_optimizer_paths(max_iter=20)
    >>> sorted(ln.get_gid() for ln in ax.get_lines() if ln.get_gid())[:2]
    ['minimum', 'path-adagrad']
    """
    problem = problem or valley_problem()
    runs = optimizer_runs(problem, init=init, max_iter=max_iter)
    paths = {k: np.array([[float(r["w"]), float(r["b"])] for r in res.param_history])
             for k, (_, res) in runs.items()}
    ref = problem.reference()
    pts = np.vstack([*paths.values(), [[ref["w"], ref["b"]]]])
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    ax = _new_ax(ax, figsize=(7.4, 5.6))
    lo, hi = _contours(ax, problem, pts)
    for k, (name, (lr, res)) in enumerate(runs.items()):
        path = paths[name]
        path = path[np.all(np.isfinite(path), axis=1)]
        ax.plot(path[:, 0], path[:, 1], ".-", color=f"C{k}", ms=2.5, lw=1.2,
                label=f"{name}, lr = {lr:g}: {_stop_text(res).split(' (')[0]}",
                gid=f"path-{name}")
    start = paths["gd"][0]
    ax.scatter([start[0]], [start[1]], color="k", zorder=5, s=30)
    ax.annotate("start", xy=tuple(start), xytext=(5, 5), textcoords="offset points", fontsize=8)
    ax.plot([ref["w"]], [ref["b"]], marker="*", ms=16, color="gold", mec="k", ls="none",
            label="minimum", gid="minimum", zorder=6)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("w")
    ax.set_ylabel("b")
    ax.set_title(f"Optimizers from one start on {problem.loss_label}(w, b)\n"
                 f"({problem.x_name} → {problem.y_name}, not standardized: a narrow valley)"
                 if problem.x_name == "sat/1000" else
                 f"Optimizers from one start on {problem.loss_label}(w, b)\n"
                 f"({problem.scale_note})", fontsize=10)
    ax.legend(fontsize=7, loc="upper right", framealpha=0.9)
    return ax


def plot_optimizer_losses(
    problem: Problem | None = None,
    *,
    init: Mapping[str, float] | None = None,
    max_iter: int = 300,
    ax: Axes | None = None,
) -> Axes:
    """The loss of every optimizer's run (:func:`optimizer_runs`) against iteration, as the
    distance to the minimum ``L − L_min`` on a log scale. Each curve has ``gid`` ``loss-NAME``.

    >>> ax = plot_optimizer_losses(max_iter=10)
    >>> len([ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("loss-")])
    7
    """
    problem = problem or valley_problem()
    runs = optimizer_runs(problem, init=init, max_iter=max_iter)
    best = problem.loss_at(problem.reference())
    ax = _new_ax(ax, figsize=(7.0, 4.6))
    for k, (name, (lr, res)) in enumerate(runs.items()):
        gap = np.maximum(np.asarray(res.loss_history) - best, 1e-16)
        ax.plot(res.history_iterations, gap, color=f"C{k}", lw=1.6, label=f"{name}, lr = {lr:g}",
                gid=f"loss-{name}", marker="o" if len(gap) < 4 else None, ms=4)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel(f"{problem.loss_label} − minimum (log scale)")
    ax.set_title("The optimizers' losses from one start\n"
                 f"({problem.x_name} → {problem.y_name})", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    return ax


def plot_schedules(*, lr: float = 0.1, max_iter: int = 100, ax: Axes | None = None) -> Axes:
    """The learning rate of each update under every schedule (:mod:`symgrad.numerics.optim`),
    from ``lr``: step (halved every quarter of the run), exponential (gamma 0.97), cosine
    (down to 0 at ``max_iter``) and inverse time (decay 0.05). Each curve has ``gid``
    ``schedule-NAME``.

    >>> ax = plot_schedules(max_iter=8)
    >>> [round(float(ln.get_ydata()[-1]), 5) for ln in ax.get_lines()][1:3]  # 0.1 * 0.5^4, 0.97^8
    [0.00625, 0.07837]
    """
    params = {"constant": {}, "step": {"step_size": max(1, max_iter // 4), "gamma": 0.5},
              "exponential": {"gamma": 0.97}, "cosine": {"t_max": max_iter},
              "inverse": {"decay": 0.05}}
    ax = _new_ax(ax, figsize=(6.4, 4.2))
    t = np.arange(max_iter + 1)
    for k, (name, opts) in enumerate(params.items()):
        sched = optim.schedule(name, **opts)
        what = ", ".join(f"{key} {v:g}" for key, v in opts.items())
        ax.plot(t, [sched.lr(lr, int(i)) for i in t], color=f"C{k}", lw=1.8,
                drawstyle="steps-post" if name == "step" else "default",
                label=f"{name}" + (f" ({what})" if what else ""), gid=f"schedule-{name}")
    ax.set_xlabel("update t")
    ax.set_ylabel("learning rate")
    ax.set_ylim(bottom=0)
    ax.set_title(f"Learning-rate schedules from lr = {lr:g}", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    return ax


def layer_gradient_norms(
    activation: str, *, depth: int = 6, width: int = 8, max_iter: int = 300, lr: float = 0.1,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(iterations, norms)``: ``‖∂L/∂W^[l]‖`` of each layer l (columns) at each iteration of
    full-batch gradient descent on a deep network (``depth`` hidden layers of ``activation``,
    a sigmoid output, BCE) learning a circle in the plane, from :mod:`symgrad.models.network`'s
    backprop.

    >>> it, norms = layer_gradient_norms("sigmoid", max_iter=3)
    >>> norms.shape, bool(norms[0, 0] < norms[0, -1])  # the first layer's gradient is smallest
    ((4, 7), True)
    """
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(200, 2))
    y = (np.sum(X**2, axis=1) < 0.5).astype(float)
    net = network([2, *[width] * depth, 1], [*[activation] * depth, "sigmoid"], "bce")
    rows: list[list[float]] = []

    def loss_and_grad(p: dict[str, Any], idx: Any) -> tuple[float, dict[str, np.ndarray]]:
        loss, g = net.loss_and_gradients(p, X, y)
        rows.append([float(np.linalg.norm(g[f"W{k}"])) for k in range(1, depth + 2)])
        return loss, g

    gradient_descent(loss_and_grad, net.init_params(seed), len(y), lr=lr, max_iter=max_iter,
                     tol=0.0)
    norms = np.array(rows[: max_iter + 1])
    return np.arange(len(norms)), norms


def plot_vanishing_gradients(*, max_iter: int = 300, fig: Figure | None = None) -> Figure:
    """The gradient norm of each layer's weights over training, a deep sigmoid network beside the
    same network with ReLU (:func:`layer_gradient_norms`): the sigmoid's derivative is at most
    1/4, so the gradient shrinks layer by layer on its way back to the first layers.

    >>> fig = plot_vanishing_gradients(max_iter=3)
    >>> [ax.get_title().split(":")[0] for ax in fig.axes]
    ['sigmoid hidden layers', 'relu hidden layers']
    """
    fig = fig or Figure(figsize=(11, 4.4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, act in zip(axes, ("sigmoid", "relu"), strict=True):
        it, norms = layer_gradient_norms(act, max_iter=max_iter)
        cmap = matplotlib.colormaps["viridis"]
        for j in range(norms.shape[1]):
            ax.plot(it, np.maximum(norms[:, j], 1e-300), color=cmap(j / (norms.shape[1] - 1)),
                    lw=1.5, label=f"layer {j + 1}" + (" (output)" if j == norms.shape[1] - 1
                                                     else ""), gid=f"layer-{j + 1}")
        ax.set_yscale("log")
        ax.set_xlabel("iteration")
        ratio = float(norms[0, 0] / norms[0, -1])
        ax.set_title(f"{act} hidden layers: at the start layer 1 gets {ratio:.1g} × the "
                     "output layer's gradient", fontsize=9)
    axes[0].set_ylabel("‖∂L/∂W^[l]‖ (log scale)")
    axes[1].legend(fontsize=7, loc="lower right", ncols=2)
    fig.suptitle("Vanishing gradients: 6 hidden layers of 8 units, full-batch gradient descent "
                 "(lr 0.1) on a circle in the plane", fontsize=11)
    return fig


# -------------------------------------------------------------------------------------------------
# one entry point by kind, saving, gallery


def figure(kind: str, **options: Any) -> Figure:
    """Draw one figure by kind and return it (for worksheets, LaTeX output and the CLI).

    ``kind`` is one of :data:`KINDS`; :data:`KIND_OPTIONS` lists the options each accepts, and any
    other option is an :class:`~symgrad.core.errors.OptionError`. All are optional:

    * data (every kind but ``activations``): ``loss`` (``mse`` or ``bce``, default ``mse``),
      ``model`` (``linear``/``logistic``; default by loss), ``data`` (a CSV/.npz/.npy path; default
      the bundled SAT→GPA set), ``x`` and ``y`` (column names), ``standardize`` (default True);
    * ``param`` (``w`` or ``b``, default ``w``): the parameter on the x axis (slope, lr-comparison);
    * ``points``: parameter values for the tangents (slope); ``range``: ``(min, max)`` of the
      parameter (slope, lr-comparison) or of z (activations);
    * ``fixed``: ``{name: value}`` for the parameters held fixed (default: at the minimum);
    * ``lr``: a learning rate, or a list of them for lr-comparison (default: chosen from the
      curvature so that the run converges, or small/ideal/large);
    * ``init``: starting values ``{name: value}`` (default 0, or the left of the range for the
      one-parameter curves); ``max_iter`` (default 1000);
    * ``names``: activations to draw (default sigmoid, tanh, relu, leaky_relu).

    >>> fig = figure("activations", names=["relu"])
    >>> len(fig.axes)
    1
    >>> try:
    ...     figure("pie")
    ... except OptionError as e:
    ...     print(e)  # doctest: +NORMALIZE_WHITESPACE
    unknown plot kind 'pie'; choose one of: slope, lr-comparison, contour, loss-curve, fit,
    activations, graph, optimizers, optimizer-losses, schedules, vanishing-gradients
    """
    choose("plot kind", kind, KINDS)
    allowed = KIND_OPTIONS[kind]
    extra = [k for k in options if k not in allowed]
    if extra:
        raise OptionError(f"option(s) {', '.join(extra)} do not apply to plot kind {kind!r}; "
                          f"it takes: {', '.join(allowed)}")
    if kind == "graph":
        from symgrad.teaching.graphdraw import draw_graph

        return draw_graph(*graph_and_values(options.get("expr"), options.get("at"))).figure
    data_opts = {k: options.pop(k) for k in _DATA_OPTIONS if k in options}
    if kind == "activations":
        return plot_activations(options.get("names"), range=options.get("range"))
    if kind == "schedules":
        lr = options.get("lr", 0.1)
        return _figure_of(plot_schedules(lr=float(_one_lr(kind, lr)),
                                         max_iter=options.get("max_iter", 100)))
    if kind == "vanishing-gradients":
        return plot_vanishing_gradients(max_iter=options.get("max_iter", 300))
    if kind in ("optimizers", "optimizer-losses") and not data_opts:
        problem = valley_problem()
    else:
        problem = make_problem(**data_opts)
    lr = options.pop("lr", None)
    if kind == "lr-comparison":
        if lr is not None:
            options["lr"] = [lr] if isinstance(lr, int | float) else list(lr)
        init = options.pop("init", None)
        if isinstance(init, Mapping):
            param = options.get("param", "w")
            unknown = [k for k in init if k != param]
            if unknown:
                raise OptionError(f"init for lr-comparison sets only {param}, got "
                                  f"{', '.join(unknown)}")
            init = init.get(param)
        return plot_lr_comparison(problem, init=init, **options)
    if lr is not None:
        options["lr"] = float(_one_lr(kind, lr))
    if kind == "slope":
        ax = plot_slope(problem, **options)
    elif kind == "contour":
        ax = plot_contour(problem, **options)
    elif kind == "loss-curve":
        ax = plot_loss_curve(problem=problem, **options)
    elif kind in ("optimizers", "optimizer-losses"):
        draw = plot_optimizer_paths if kind == "optimizers" else plot_optimizer_losses
        ax = draw(problem, **options)
    else:
        ax = plot_fit(problem, **options)
    return _figure_of(ax)


def _figure_of(ax: Axes) -> Figure:
    fig = ax.get_figure()
    assert isinstance(fig, Figure)
    return fig


def _one_lr(kind: str, lr: Any) -> float:
    if not isinstance(lr, int | float):
        lr = list(lr)
        if len(lr) != 1:
            raise OptionError(f"plot kind {kind!r} takes one learning rate, got {len(lr)}")
        lr = lr[0]
    return float(lr)


GALLERY: dict[str, dict[str, Any]] = {
    "slope": {},
    "lr-comparison": {},
    "contour": {},
    "loss-curve": {},
    "fit": {},
    "activations": {},
    "graph": {},
    "optimizers": {},
    "optimizer-losses": {},
    "schedules": {},
    "vanishing-gradients": {},
}
"""The figures of the gallery: file stem = kind, with these options."""


def graph_and_values(
    expr: str | None = None, at: Mapping[str, float] | None = None
) -> tuple[Graph, Values | None]:
    """The computational graph of ``expr`` and, with ``at``, its values and gradients there.

    Without ``expr``: the lecture's j = 3(a + b c) at a = 1, b = 2, c = 3.

    >>> g, v = graph_and_values()
    >>> [str(n.symbol) for n in g.nodes], int(v.value[g.output])
    (['u', 'v', 'j'], 21)
    >>> graph_and_values("a*b")[1] is None
    True
    """
    if expr is None:
        expr, at = LECTURE_GRAPH[0], LECTURE_GRAPH[1] if at is None else at
    graph = derive_expr(expr).graph  # the derivation's graph, every step verified
    if at is None:
        return graph, None
    point = {s: sp.Rational(str(at[str(s)])) for s in graph.params if str(s) in at}
    return graph, forward_backward(graph, point)


def gallery(directory: str | os.PathLike[str]) -> list[Path]:
    """Draw every kind with its defaults into ``directory/KIND.png``; return the paths.

    Run as ``python -m symgrad.teaching.plots --gallery docs/gallery``.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for kind, opts in GALLERY.items():
        out.append(save_figure(figure(kind, **opts), d / f"{kind}.png", dpi=110))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m symgrad.teaching.plots --gallery DIR``: write the gallery."""
    parser = argparse.ArgumentParser(prog="python -m symgrad.teaching.plots",
                                     description="Write the figure gallery.")
    parser.add_argument("--gallery", required=True, metavar="DIR")
    args = parser.parse_args(argv)
    for p in gallery(args.gallery):
        print(p)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

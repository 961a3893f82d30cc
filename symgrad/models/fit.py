"""Fit a catalogue model to data by gradient descent, with the derived gradients.

:func:`fit` derives the gradient (:mod:`symgrad.core.derive`), compiles it
(:mod:`symgrad.numerics.compile`) or,
for a loss that is polynomial in the parameters on a full batch, reduces it to statistics of the
data (:mod:`symgrad.numerics.reduce`, each step O(1) in N), and runs
:func:`symgrad.numerics.train.gradient_descent`.
For linear + MSE the closed-form (normal-equation) solution is reported beside the GD result.

The lecture's run, SAT score to first-year GPA, on the bundled synthetic data:

>>> r = fit("mse", "linear", lr=0.001, max_iter=1000)
>>> r.stopped_because, r.diverged_at
('diverged', 1)
>>> print(r.why)  # doctest: +ELLIPSIS
feature 'sat' is on the scale of 1e+03 (mean |sat| = 1...), so dL/dw is huge: ...
>>> r = fit("mse", "linear", lr=0.1, max_iter=1000, standardize=True)
>>> r.stopped_because
'converged'
>>> all(abs(r.params_original[k] - r.closed_form_original[k]) < 1e-6 for k in ("w", "b"))
True
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from symgrad.core.derive import Derivation, derive
from symgrad.core.errors import OptionError
from symgrad.core.hessian import with_hessian
from symgrad.core.names import DEFAULT_LOSS, MODELS, display_name
from symgrad.core.names import FIT_LOSSES as LOSSES
from symgrad.core.notebook import preformatted
from symgrad.numerics.compile import CompiledGradient, compile_gradient, prepare
from symgrad.numerics.data import (
    Dataset,
    bundled,
    check_binary_labels,
    load_data,
    standardize,
    unstandardize_linear,
)
from symgrad.numerics.hessian import CompiledHessian, compile_hessian, curvature
from symgrad.numerics.optim import Optimizer, Schedule, stable_lr
from symgrad.numerics.reduce import Reduction, reduce_derivation
from symgrad.numerics.train import Progress, TrainResult, batch_rows, gradient_descent

__all__ = ["FitResult", "fit", "MODELS", "LOSSES", "dataset", "derived", "initial"]



@dataclass(frozen=True, eq=False)
class FitResult:
    """The outcome of :func:`fit`: a :class:`~symgrad.numerics.train.TrainResult` with names and
    units.

    * ``params``: the fitted parameters by name (``w``, ``b`` or ``w1..wk``, ``b``), in the units
      the model was trained in (standardized features with ``standardize=True``);
    * ``params_original``: with ``standardize=True``, the same model in the data's own units;
    * ``closed_form`` (and ``closed_form_original``): the normal-equation solution, for a loss
      that reduces to statistics (linear + MSE), else None;
    * ``why``: for a diverged run, what made it diverge (None otherwise); ``hint``: what to try;
    * ``method``: ``"statistics"`` (the reduced gradient, O(1) per step) or ``"compiled"``.
    """

    loss: str
    model: str
    names: tuple[str, ...]
    x_names: tuple[str, ...]
    y_name: str
    source: str
    n_samples: int
    lr: float
    batch_size: int | None
    train: TrainResult
    params: dict[str, float]
    closed_form: dict[str, float] | None
    params_original: dict[str, float] | None
    closed_form_original: dict[str, float] | None
    why: str | None
    method: str
    derivation: Derivation

    @property
    def iterations(self) -> int:
        return self.train.iterations

    @property
    def stopped_because(self) -> str:
        return self.train.stopped_because

    @property
    def diverged_at(self) -> int | None:
        return self.train.diverged_at

    @property
    def hint(self) -> str | None:
        return self.train.hint

    @property
    def loss_history(self) -> np.ndarray:
        return self.train.loss_history

    @property
    def final_loss(self) -> float:
        return self.train.final_loss

    def __str__(self) -> str:
        """The final table (what ``symgrad train`` prints)."""
        return _summary(self)

    def _repr_html_(self) -> str:
        """Jupyter shows the final table under a title naming the model and the loss.

        >>> r = fit("mse", "linear", lr=0.1, max_iter=3, standardize=True)
        >>> "<strong>Fit of the linear model to the mean squared error</strong>" in r._repr_html_()
        True
        """
        title = f"Fit of the {display_name(self.model)} model to the {display_name(self.loss)}"
        return preformatted(title, str(self))

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``symgrad train --format json`` (plain types; nan/inf -> None).

        >>> r = fit("mse", "linear", lr=0.1, max_iter=3, standardize=True)
        >>> d = r.to_dict()
        >>> sorted(d)[:6]
        ['batch_size', 'closed_form', 'closed_form_original', 'data', 'delta', 'diverged_at']
        >>> d["l2"], d["delta"]  # the loss's settings: None when not given
        (None, None)
        >>> d["stopped_because"], d["iterations"], len(d["loss_history"])
        ('max_iter', 3, 4)
        """
        t = self.train.to_dict()
        return {
            "params": _plain_dict(self.params),
            "iterations": t["iterations"],
            "stopped_because": t["stopped_because"],
            "diverged_at": t["diverged_at"],
            "loss_history": t["loss_history"],
            "closed_form": _plain_dict(self.closed_form),
            "params_original": _plain_dict(self.params_original),
            "closed_form_original": _plain_dict(self.closed_form_original),
            "final_loss": t["final_loss"],
            "hint": t["hint"],
            "why": self.why,
            "history_iterations": t["history_iterations"],
            "grad_norm_history": t["grad_norm_history"],
            "model": self.model,
            "loss": self.loss,
            "l2": self.derivation.meta.get("l2"),
            "delta": self.derivation.meta.get("delta"),
            "lr": self.lr,
            "batch_size": self.batch_size,
            "method": self.method,
            "optimizer": t["optimizer"],
            "schedule": t["schedule"],
            "data": {
                "source": self.source,
                "x": list(self.x_names),
                "y": self.y_name,
                "n_samples": self.n_samples,
            },
        }


def _plain_dict(d: Mapping[str, float] | None) -> dict[str, float | None] | None:
    if d is None:
        return None
    return {k: (float(v) if math.isfinite(float(v)) else None) for k, v in d.items()}


@functools.lru_cache(maxsize=32)
def derived(
    loss: str, model: str, k: int, l2: float | None, delta: float | None = None
) -> tuple[Derivation, CompiledGradient, Reduction | None]:
    """The derivation of ``loss`` for ``model`` with ``k`` features, compiled and reduced
    (``delta``: huber's).

    >>> derived("mse", "linear", 1, None)[1].names
    ('w', 'b')
    """
    d = derive(loss, model, features=k, l2=l2, delta=delta)
    return d, compile_gradient(d), reduce_derivation(d)


@functools.lru_cache(maxsize=32)
def second_order(loss: str, model: str, k: int, l2: float | None,
                 delta: float | None = None) -> CompiledHessian:
    """The Hessian of ``loss`` for ``model`` with ``k`` features, derived step by step
    (:func:`symgrad.core.hessian.with_hessian`) and compiled: Newton's method and the divergence
    diagnosis read it.

    >>> second_order("mse", "linear", 1, None).names
    ('w', 'b')
    """
    return compile_hessian(with_hessian(derived(loss, model, k, l2, delta)[0]))


def dataset(data: Any, x: Any, y: str | None) -> Dataset:
    """``data`` (None: the bundled SAT->GPA set, a path, a Dataset or ``(X, y)``) as a Dataset.

    >>> dataset(([1.0, 2.0], [1.0, 3.0]), None, None).x_names
    ('x',)
    """
    if data is None:
        return load_data(bundled(), x if x is not None else ["sat"], y if y is not None else "gpa")
    if isinstance(data, Dataset):
        return data
    if isinstance(data, str | os.PathLike):
        return load_data(data, x, y)
    if isinstance(data, tuple) and len(data) == 2:
        X = np.asarray(data[0], dtype=np.float64)
        X = X[:, None] if X.ndim == 1 else X
        names = [x] if isinstance(x, str) else x
        if names is None:
            names = ["x"] if X.shape[1] == 1 else [f"x{j + 1}" for j in range(X.shape[1])]
        ds = Dataset(X, np.asarray(data[1], dtype=np.float64), tuple(names), y or "y", "<arrays>")
        for j, name in enumerate(ds.x_names):
            if not np.all(np.isfinite(ds.X[:, j])):
                raise OptionError(f"column {name!r} holds a value that is not a finite number")
        if not np.all(np.isfinite(ds.y)):
            raise OptionError(f"column {ds.y_name!r} holds a value that is not a finite number")
        return ds
    raise OptionError(
        f"data must be a file, a Dataset or a tuple (X, y), not {type(data).__name__}"
    )


def initial(names: tuple[str, ...], init: Mapping[Any, Any] | None) -> np.ndarray:
    """The starting vector over ``names``: zeros, with the values ``init`` gives by name.

    >>> initial(("w", "b"), {"b": 2}).tolist()
    [0.0, 2.0]
    """
    theta = np.zeros(len(names))
    for key, value in (init or {}).items():
        name = str(key)
        if name not in names:
            raise OptionError(
                f"unknown parameter {name!r} in the initial values; the "
                f"parameters are: {', '.join(names)}"
            )
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise OptionError(f"initial value of {name!r} is not a number: {value!r}") from None
        if not math.isfinite(v):
            raise OptionError(f"initial value of {name!r} is not finite: {value!r}")
        theta[names.index(name)] = v
    return theta


def fit(
    loss: str | None = None,
    model: str = "linear",
    data: Any = None,
    *,
    x: Any = None,
    y: str | None = None,
    lr: float = 0.001,
    max_iter: int = 1000,
    tol: float = 1e-9,
    batch_size: int | None = None,
    seed: int | None = 0,
    init: Mapping[Any, Any] | None = None,
    standardize: bool = False,
    l2: float | None = None,
    history_every: int | None = None,
    progress: Progress | None = None,
    optimizer: str | Optimizer = "gd",
    schedule: str | Schedule | None = None,
    delta: float | None = None,
) -> FitResult:
    """Fit ``model`` by minimizing ``loss`` with gradient descent (see the module docstring).

    ``data`` is a CSV/NPZ/NPY path (columns ``x``, ``y`` as in
    :func:`symgrad.numerics.data.load_data`), a
    :class:`~symgrad.numerics.data.Dataset`, a tuple ``(X, y)``, or None for the bundled SAT-to-GPA
    set.
    ``loss`` defaults to ``mse`` for the linear model and ``bce`` for the logistic one. ``init``
    maps parameter names to initial values (zeros by default); ``batch_size`` < N runs mini-batch
    gradient descent (1: stochastic) with shuffling seeded by ``seed``. ``standardize`` trains on
    features scaled to mean 0 and standard deviation 1 and reports the parameters also in the
    original units. ``optimizer`` and ``schedule`` choose the update rule and the learning rate
    of each update (:func:`symgrad.numerics.train.gradient_descent`). ``delta`` is huber's
    threshold (1 when None; PyTorch's HuberLoss). Bad options raise
    :class:`~symgrad.core.errors.OptionError` or :class:`~symgrad.core.errors.DataError`; a
    diverging run is a result, not an error.

    >>> r = fit("mse", "linear", ([0.0, 1.0, 2.0], [1.0, 3.0, 5.0]), lr=0.1, max_iter=5000)
    >>> r.stopped_because, round(r.params["w"], 6), round(r.params["b"], 6), r.method
    ('converged', 2.0, 1.0, 'statistics')
    >>> r = fit("huber", "linear", ([0.0, 1.0, 2.0], [1.0, 3.0, 9.0]), lr=0.1, delta=2.0)
    >>> r.derivation.meta["delta"], r.to_dict()["delta"]
    (2.0, 2.0)
    """
    if model not in MODELS:
        raise OptionError(f"unknown model {model!r}; choose one of: {', '.join(MODELS)}")
    loss = DEFAULT_LOSS[model] if loss is None else loss
    if loss not in LOSSES:
        raise OptionError(f"unknown loss {loss!r}; choose one of: {', '.join(LOSSES)}")
    if loss == "bce" and model != "logistic":
        raise OptionError("bce needs predictions in (0, 1): use the logistic model")
    ds = dataset(data, x, y)
    if loss == "bce":
        check_binary_labels(ds)
    if loss == "hinge":
        check_binary_labels(ds, -1.0)
    k = ds.n_features
    X = ds.X
    mean = std = None
    if standardize:
        X, mean, std = standardize_features(ds)
    d, compiled, reduction = derived(loss, model, k, l2, delta)
    names = compiled.names
    theta0 = initial(names, init)
    Xp, Yp = prepare(X, ds.y, k)
    hess = second_order(loss, model, k, l2, delta)

    def hessian(p: dict[str, Any]) -> np.ndarray:
        return hess.matrix(p["theta"], Xp, Yp)

    n = ds.n_samples
    full = batch_size is None or (isinstance(batch_size, int) and batch_size >= n)

    loss_and_grad: Callable[[dict[str, Any], Any], tuple[float, dict[str, np.ndarray]]]
    stats = None
    if reduction is not None and full:
        stats = reduction.statistics(Xp, Yp)
        method = "statistics"

        def loss_and_grad(p: dict[str, Any], idx: Any) -> tuple[float, dict[str, np.ndarray]]:
            value, grad = reduction.evaluate(p["theta"], stats)
            return value, {"theta": grad}

    else:
        method = "compiled"

        def loss_and_grad(p: dict[str, Any], idx: Any) -> tuple[float, dict[str, np.ndarray]]:
            value, grad = compiled.vector(p["theta"], *batch_rows(idx, Xp, Yp))
            return value, {"theta": grad}

    result = gradient_descent(
        loss_and_grad,
        {"theta": theta0},
        n,
        lr=lr,
        max_iter=max_iter,
        tol=tol,
        batch_size=batch_size,
        seed=seed,
        history_every=history_every,
        progress=progress,
        optimizer=optimizer,
        schedule=schedule,
        hessian=hessian,
    )
    theta = np.asarray(result.params["theta"])
    params = dict(zip(names, map(float, theta), strict=True))
    closed = None
    if reduction is not None:
        closed = reduction.closed_form(stats if stats is not None
                                       else reduction.statistics(Xp, Yp))  # one pass, not two
    params_orig = closed_orig = None
    if standardize:
        params_orig = _original(params, names, mean, std)
        closed_orig = None if closed is None else _original(closed, names, mean, std)
    why = None
    if result.stopped_because == "diverged":
        why = diagnose(ds, loss, model, names, float(lr), standardized=standardize,
                       optimizer=result.optimizer, hessian=hessian({"theta": theta0}))
    return FitResult(
        loss=loss,
        model=model,
        names=names,
        x_names=ds.x_names,
        y_name=ds.y_name,
        source=ds.source,
        n_samples=n,
        lr=float(lr),
        batch_size=batch_size,
        train=result,
        params=params,
        closed_form=closed,
        params_original=params_orig,
        closed_form_original=closed_orig,
        why=why,
        method=method,
        derivation=d,
    )


def standardize_features(ds: Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(Xs, mean, std)`` of the data set's features; a constant column is a DataError."""
    return standardize(ds.X, names=ds.x_names)


def _original(
    params: Mapping[str, float], names: tuple[str, ...], mean: Any, std: Any
) -> dict[str, float]:
    w = np.array([params[n] for n in names[:-1]])
    w0, b0 = unstandardize_linear(w, params[names[-1]], mean, std)
    return dict(zip(names, [*np.ravel(w0).tolist(), float(b0)], strict=True))


def diagnose(
    ds: Dataset, loss: str, model: str, names: tuple[str, ...], lr: float, standardized: bool,
    optimizer: Mapping[str, Any] | None = None, *, hessian: np.ndarray,
) -> str:
    """Why full-batch gradient descent diverged on these data, in one sentence.

    ``hessian`` is the loss's Hessian at the initial parameters (``(2/N) X~^T X~`` for MSE with
    ``X~ = [X, 1]``, ``(1/N) X~^T diag(y_hat (1 - y_hat)) X~`` for BCE): gradient descent is
    stable only for ``lr < 2 / lambda_max`` (with momentum a larger bound,
    :func:`symgrad.numerics.optim.stable_lr`), features on a large scale make ``lambda_max``, and
    the slope, huge, and a large condition number ``lambda_max / lambda_min`` is why a stable lr
    is then slow. ``optimizer`` is the run's :func:`~symgrad.numerics.optim.describe` (None:
    plain gradient descent).
    """
    opt = dict(optimizer or {"name": "gd"})
    X = ds.X
    if standardized:
        X = (X - X.mean(axis=0)) / X.std(axis=0)
    curv = curvature(hessian)
    bound = stable_lr(opt, curv.lambda_max)
    scales = np.abs(X).mean(axis=0)
    j = int(np.argmax(scales))
    wname = names[j]
    method = "gradient descent" if opt["name"] == "gd" else opt["name"]
    rate = f"{method} is stable only for lr < {bound:.2g} here, and lr = {lr:g}"
    if loss != "mse" or model != "linear":
        rate = f"the largest stable lr is about {bound:.2g} here, and lr = {lr:g}"
    if bound != bound:  # adaptive: no fixed bound
        rate = (f"{method} moves every parameter by up to about lr = {lr:g} per step, which is "
                "too far here")
    else:
        rate += f" (from the Hessian: λ_max = {curv.lambda_max:.3g}"
        if curv.condition_number > 100:
            rate += (f", condition number λ_max/λ_min = {curv.condition_number:.2g}, so even "
                     "a stable lr is slow")
        rate += ")"
    if scales[j] >= 10:
        mag = 10 ** math.floor(math.log10(scales[j]))
        return (
            f"feature {ds.x_names[j]!r} is on the scale of {mag:.0e} (mean |{ds.x_names[j]}| = "
            f"{scales[j]:.4g}), so dL/d{wname} is huge: each step overshoots the minimum by more "
            f"than it corrects; {rate}"
        )
    return f"each step overshoots the minimum by more than it corrects: {rate}"


def number_text(v: float | None) -> str:
    """A number for the tables: 6 significant digits, a dash for none, words for inf and nan.

    >>> number_text(0.0020862137), number_text(None), number_text(float("inf"))
    ('0.00208621', '—', 'overflow')
    """
    if v is None:
        return "—"
    if not math.isfinite(v):
        return "undefined" if v != v else "overflow"
    return f"{v:.6g}"


def source_text(path: str) -> str:
    """Where the data came from, naming the bundled set as such.

    >>> source_text("grades.csv"), source_text(str(bundled()))
    ('grades.csv', 'the bundled synthetic sat_gpa.csv')
    """
    return "the bundled synthetic sat_gpa.csv" if path == str(bundled()) else path


def method_text(t: TrainResult) -> str:
    """The run's optimizer and schedule in words: ``gradient descent``, ``adam (beta1 0.9, ...)``.

    >>> from symgrad.numerics.train import gradient_descent as gd
    >>> method_text(gd(lambda p, i: (p["w"] ** 2, {"w": 2 * p["w"]}), {"w": 1.0}, 1, lr=0.1,
    ...            max_iter=1, optimizer="momentum", schedule="constant"))
    'momentum (momentum 0.9, dampening 0)'
    """
    words = []
    for record in (t.optimizer or {"name": "gd"}, t.schedule or {"name": "constant"}):
        rest = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                         for k, v in record.items() if k != "name")
        if record["name"] not in ("gd", "constant"):
            words.append(f"{record['name']} ({rest})" if rest else record["name"])
    if not words:
        return "gradient descent"
    return words[0] if len(words) == 1 else f"{words[0]}, {words[1]} schedule"


def _summary(r: FitResult) -> str:
    """The final table of a run, with the closed form beside it where there is one."""
    batch = (
        "full batch"
        if r.batch_size is None or r.batch_size >= r.n_samples
        else ("stochastic (batch 1)" if r.batch_size == 1 else f"mini-batch {r.batch_size}")
    )
    settings = ", ".join(f"{k} {r.derivation.meta[k]:g}" for k in ("delta", "l2")
                         if r.derivation.meta.get(k) is not None)
    loss = f"{r.loss} loss ({settings})" if settings else f"{r.loss} loss"
    lines = [
        f"{r.model} model, {loss}: {r.n_samples} samples from {source_text(r.source)} "
        f"(x: {', '.join(r.x_names)}; y: {r.y_name})",
        f"{method_text(r.train)}: lr {r.lr:g}, {batch}; {r.iterations} iterations, "
        f"stopped: {r.stopped_because}",
        "",
    ]
    diverged = r.stopped_because == "diverged"
    run = (r.train.optimizer or {"name": "gd"})["name"]
    cols = ["parameter", "gradient descent" if run == "gd" else run]
    if r.closed_form is not None:
        cols.append("closed form")
    if r.params_original is not None:
        cols.append(f"{'GD' if run == 'gd' else run}, original units")
        if r.closed_form_original is not None:
            cols.append("closed form, original units")
    rows = [cols]
    for name in r.names:
        gd = "diverged" if diverged else number_text(r.params[name])
        row = [name, gd]
        if r.closed_form is not None:
            row.append(number_text(r.closed_form[name]))
        if r.params_original is not None:
            row.append("diverged" if diverged else number_text(r.params_original[name]))
            if r.closed_form_original is not None:
                row.append(number_text(r.closed_form_original[name]))
        rows.append(row)
    final = "diverged" if diverged else number_text(r.final_loss)
    rows.append(["loss", final] + [""] * (len(cols) - 2))
    widths = [max(len(row[j]) for row in rows) for j in range(len(cols))]
    for k, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    if diverged:
        first = float(r.loss_history[0])
        lines += [
            "",
            f"diverged: the loss grew without bound from iteration {r.diverged_at} "
            f"(loss {first:.4g} at the start, {number_text(r.final_loss)} at iteration "
            f"{r.iterations}).",
            f"why: {r.why}",
            f"hint: {r.hint}",
        ]
    return "\n".join(lines)

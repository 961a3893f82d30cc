"""Gradient descent, independent of how the gradients are computed (pure NumPy, no SymPy).

:func:`gradient_descent` repeats ``p_new = p_old - lr * dL/dp`` for every parameter ``p`` and stops
by the lecture's two rules -- the parameters no longer change (``converged``) or an iteration limit
(``max_iter``) -- plus a third one for a learning rate that is too large (``diverged``). A diverging
run is a normal :class:`TrainResult`, never an exception, and never prints a NumPy warning.

Fitting ``y = w x + b`` by the mean squared error, with the gradients written out by hand:

>>> x = np.array([1.0, 2.0, 3.0, 4.0]); y = 2 * x + 1
>>> def mse(params, idx):
...     xi, yi = (x, y) if idx is None else (x[idx], y[idx])
...     r = params["w"] * xi + params["b"] - yi
...     return np.mean(r**2), {"w": 2 * np.mean(r * xi), "b": 2 * np.mean(r)}
>>> res = gradient_descent(mse, {"w": 0.0, "b": 0.0}, len(x), lr=0.05, max_iter=5000)
>>> res.stopped_because, round(res.params["w"], 6), round(res.params["b"], 6)
('converged', 2.0, 1.0)
>>> bad = gradient_descent(mse, {"w": 0.0, "b": 0.0}, len(x), lr=1.0)
>>> bad.stopped_because, bad.diverged_at, bad.hint
('diverged', 1, 'lower the learning rate (try lr/10 = 0.1) or use standardize=True')

**Divergence rule.** Let ``L0`` be the full-data loss at the initial parameters. The run stops as
``diverged`` as soon as

1. the loss, a gradient or an updated parameter is not finite (nan or +-inf); or
2. the loss exceeds ``L0 + DIVERGENCE_FACTOR * max(|L0|, 1e-12)`` (``DIVERGENCE_FACTOR = 1e6``):
   a million times the initial loss for the usual non-negative losses; or
3. (full batch only) the loss has risen at each of the last ``GROWTH_RUN = 20`` iterations and is
   above ``L0``: a slow but steady blow-up that rule 2 would only catch much later. Full-batch
   gradient descent with a small enough learning rate never raises the loss, so this does not fire
   on a run that is merely slow.

``diverged_at`` is the iteration right after the one with the lowest loss seen before the stop:
the update from which the loss only climbed. When an update itself produced non-finite parameters,
those are not kept: ``params`` are the last finite ones (at ``iterations``) and ``diverged_at`` may
then be ``iterations + 1``.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from symgrad.core.errors import OptionError
from symgrad.core.notebook import preformatted
from symgrad.numerics import optim
from symgrad.numerics.optim import Optimizer, Schedule

__all__ = [
    "TrainResult", "batch_rows", "gradient_descent", "DIVERGENCE_FACTOR", "GROWTH_RUN", "HINT"
]

DIVERGENCE_FACTOR = 1e6
"""Rule 2: the loss may grow to at most this many times the initial loss."""

GROWTH_RUN = 20
"""Rule 3: this many consecutive rises of the full-batch loss (above the initial loss) diverge."""

HISTORY_ROWS = 1000
"""With ``history_every=None`` the history is thinned to at most about this many rows."""

PROGRESS_INTERVAL = 0.05
"""Seconds between two calls of the ``progress`` callback (at most 20 per second)."""

HINT = "lower the learning rate (try lr/10 = {lr10:g}) or use standardize=True"

Index = slice | np.ndarray | None
LossAndGrad = Callable[[dict[str, Any], Index], tuple[Any, Mapping[str, Any]]]
Progress = Callable[[int, int, float], object]

STOP_REASONS = ("converged", "max_iter", "diverged")


@dataclass(frozen=True, eq=False)
class TrainResult:
    """The outcome of :func:`gradient_descent`.

    * ``params``: final values (a ``float`` for a scalar parameter, a float64 array otherwise);
    * ``iterations``: number of parameter updates that ``params`` result from;
    * ``stopped_because``: ``"converged"``, ``"max_iter"`` or ``"diverged"``;
    * ``diverged_at``, ``hint``: for a diverged run, the iteration where the loss began to grow
      and what to try instead (both None otherwise);
    * ``history_iterations``: the iterations the history rows are from (0 = the initial
      parameters); always includes the first and the last;
    * ``loss_history``, ``param_history``, ``grad_norm_history``: the loss, the parameters and the
      Euclidean norm of the whole gradient at those iterations. The first and last rows use the
      full data; in a mini-batch run the rows in between hold the loss and gradient of the batch
      used at that iteration.
    """

    params: dict[str, Any]
    iterations: int
    stopped_because: str
    diverged_at: int | None
    hint: str | None
    loss_history: np.ndarray
    param_history: list[dict[str, Any]]
    grad_norm_history: np.ndarray
    history_iterations: np.ndarray
    optimizer: dict[str, Any] | None = None
    schedule: dict[str, Any] | None = None

    @property
    def final_loss(self) -> float:
        """The full-data loss at ``params``."""
        return float(self.loss_history[-1])

    def __str__(self) -> str:
        """The stopping reason, the final loss and the parameters, a line each."""
        lines = [f"stopped: {self.stopped_because} after {self.iterations} iterations",
                 f"final loss: {self.final_loss:.6g}"]
        lines += [f"{k} = " + (np.array2string(v, precision=6) if np.ndim(v) else f"{v:.6g}")
                  for k, v in self.params.items()]
        return "\n".join(lines + ([f"hint: {self.hint}"] if self.hint else []))

    def _repr_html_(self) -> str:
        """Jupyter shows :meth:`__str__` under the title "Gradient descent".

        >>> r = gradient_descent(lambda p, i: (p["w"] ** 2, {"w": 2 * p["w"]}), {"w": 1.0}, 1,
        ...                      lr=0.5)
        >>> print(r)
        stopped: converged after 2 iterations
        final loss: 0
        w = 0
        >>> "<strong>Gradient descent</strong>" in r._repr_html_()
        True
        """
        return preformatted("Gradient descent", str(self))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain types: floats, ints, strings, None and lists (nan and inf become None).

        >>> r = gradient_descent(lambda p, i: (p["w"] ** 2, {"w": 2 * p["w"]}), {"w": 1.0}, 1,
        ...                      lr=0.5)
        >>> r.to_dict()["params"], r.to_dict()["stopped_because"], r.to_dict()["history_iterations"]
        ({'w': 0.0}, 'converged', [0, 1, 2])
        """
        return {
            "params": {k: _plain(v) for k, v in self.params.items()},
            "iterations": int(self.iterations),
            "stopped_because": self.stopped_because,
            "diverged_at": None if self.diverged_at is None else int(self.diverged_at),
            "hint": self.hint,
            "final_loss": _plain(self.final_loss),
            "loss_history": _plain(self.loss_history),
            "param_history": [{k: _plain(v) for k, v in row.items()} for row in self.param_history],
            "grad_norm_history": _plain(self.grad_norm_history),
            "history_iterations": [int(i) for i in self.history_iterations],
            "optimizer": self.optimizer or {"name": "gd"},
            "schedule": self.schedule or {"name": "constant"},
        }


def _plain(v: Any) -> Any:
    """Python floats (None for nan/inf) or nested lists of them."""
    if isinstance(v, np.ndarray) and v.ndim > 0:
        return [_plain(e) for e in v]
    f = float(v)
    return f if math.isfinite(f) else None


# -------------------------------------------------------------------------------------------------
# validation


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise OptionError(f"{name} must be a whole number, got {value!r}")
    return int(value)


def _check_options(
    lr: Any, max_iter: Any, tol: Any, batch_size: Any, n_samples: Any, history_every: Any
) -> tuple[float, int, float, int | None, int, int | None]:
    if (
        isinstance(lr, bool)
        or not isinstance(lr, numbers.Real)
        or not (math.isfinite(float(lr)) and float(lr) > 0)
    ):
        raise OptionError(f"learning rate must be a positive finite number, got {lr!r}")
    max_iter = _positive_int("max_iter", max_iter)
    if max_iter < 1:
        raise OptionError(f"max_iter must be at least 1, got {max_iter}")
    if (
        isinstance(tol, bool)
        or not isinstance(tol, numbers.Real)
        or not (math.isfinite(float(tol)) and float(tol) >= 0)
    ):
        raise OptionError(f"tol must be a finite number >= 0, got {tol!r}")
    n_samples = _positive_int("the number of samples", n_samples)
    if n_samples < 1:
        raise OptionError(f"the number of samples must be at least 1, got {n_samples}")
    if batch_size is not None:
        batch_size = _positive_int("batch size", batch_size)
        if batch_size < 1:
            raise OptionError(f"batch size must be at least 1, got {batch_size}")
        if batch_size > n_samples:
            raise OptionError(
                f"batch size {batch_size} is larger than the {n_samples} samples in the data"
            )
    if history_every is not None:
        history_every = _positive_int("history_every", history_every)
        if history_every < 1:
            raise OptionError(f"history_every must be at least 1, got {history_every}")
    return float(lr), max_iter, float(tol), batch_size, n_samples, history_every


def _initial(name: str, value: Any) -> Any:
    try:
        a = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise OptionError(
            f"initial value of parameter {name!r} is not a number: {value!r}"
        ) from None
    if a.size == 0:
        raise OptionError(f"initial value of parameter {name!r} is empty")
    if not np.all(np.isfinite(a)):
        raise OptionError(f"initial value of parameter {name!r} is not finite: {value!r}")
    return float(a) if a.ndim == 0 else a


def _check_grads(params: Mapping[str, Any], grads: Mapping[str, Any]) -> None:
    """A mismatch between parameters and gradients is a bug in the caller, not a user error."""
    if set(grads) != set(params):
        raise ValueError(
            f"loss_and_grad returned gradients for {sorted(grads)} but the parameters are "
            f"{sorted(params)}"
        )
    for k, v in params.items():
        if np.shape(grads[k]) != np.shape(v):
            raise ValueError(
                f"gradient of {k!r} has shape {np.shape(grads[k])}, parameter has {np.shape(v)}"
            )


def _grad_norm(grads: Mapping[str, Any]) -> float:
    """The Euclidean norm of all the gradients together (``vdot``: a tenth of ``linalg.norm``'s
    overhead, which the history pays every iteration)."""
    return math.hypot(*(math.sqrt(float(np.vdot(g, g))) for g in grads.values()))


# -------------------------------------------------------------------------------------------------
# the loop


def batch_rows(idx: Any, *arrays: Any) -> tuple[Any, ...]:
    """The ``arrays`` themselves when ``idx`` is None (all samples), else their rows ``idx``.

    ``idx`` is what :func:`gradient_descent` passes to ``loss_and_grad``.

    >>> X, y = np.arange(6).reshape(3, 2), np.arange(3)
    >>> batch_rows(None, X, y)[1] is y, batch_rows(np.array([2]), X, y)[1].tolist()
    (True, [2])
    """
    return arrays if idx is None else tuple(a[idx] for a in arrays)


def gradient_descent(
    loss_and_grad: LossAndGrad,
    params0: Mapping[str, np.ndarray | float],
    n_samples: int,
    *,
    lr: float,
    max_iter: int = 1000,
    tol: float = 1e-9,
    batch_size: int | None = None,
    seed: int | None = 0,
    history_every: int | None = None,
    progress: Progress | None = None,
    optimizer: str | Optimizer = "gd",
    schedule: str | Schedule | None = None,
    hessian: Callable[[dict[str, Any]], np.ndarray] | None = None,
) -> TrainResult:
    """Minimize a loss by (full-batch, mini-batch or stochastic) gradient descent.

    ``loss_and_grad(params, idx)`` returns ``(loss, grads)``: the mean loss over the samples ``idx``
    and a dict with the gradient of that loss for every parameter, shaped like the parameter.
    ``idx`` is None for all samples, or an array of sample indices (the callee should also accept
    a slice). ``params`` maps names to floats (scalar parameters) or float64 arrays.

    * ``batch_size`` None or ``>= n_samples``: full batch (``idx`` is always None). Otherwise the
      samples are shuffled at the start of every epoch with ``numpy.random.default_rng(seed)`` and
      cut into batches of ``batch_size`` (the last one may be smaller); ``batch_size=1`` is
      stochastic gradient descent. The same seed gives the same run.
    * One **iteration** is one parameter update (one batch), so an epoch is
      ``ceil(n_samples / batch_size)`` iterations; ``max_iter`` counts iterations, not epochs.
    * ``converged``: every parameter changed by at most ``tol`` elementwise (``tol=0``: the update
      left it exactly equal, the lecture's ``w_new = w_old``) -- in a mini-batch run, at every
      update of a whole epoch. ``max_iter``: the iteration limit was reached. ``diverged``: see the
      module docstring for the rule.
    * ``history_every``: record every that many iterations; None records every iteration and
      thins the record (halving it) whenever it passes ``HISTORY_ROWS`` rows.
    * ``progress(iteration, max_iter, loss)`` is called at most 20 times per second, and once at
      the end.
    * ``optimizer``: how a gradient becomes an update (:mod:`symgrad.numerics.optim`: ``"gd"``,
      ``"momentum"``, ``"nesterov"``, ``"adagrad"``, ``"rmsprop"``, ``"adam"`` with PyTorch's
      defaults, or a record such as ``Adam(beta1=0.8)``); ``schedule``: the learning rate of each
      update, ``schedule.lr(lr, t)`` for update ``t = 0, 1, ...`` (None: ``lr`` throughout). The
      stopping rules and the divergence rule are the same for every optimizer.
    * ``hessian(params)``: the full-data Hessian of the loss at ``params`` (one parameter, a
      scalar or a vector), which ``optimizer="newton"`` needs (full batch only): each update
      then moves by ``lr H^-1 g``.

    Raises :class:`OptionError` for ``lr <= 0`` or non-finite, ``max_iter < 1``, ``tol < 0``,
    ``batch_size`` outside ``1..n_samples``, a non-finite initial parameter, or a loss that is
    not finite at the initial parameters.

    >>> r = gradient_descent(lambda p, i: ((p["w"] - 3) ** 2, {"w": 2 * (p["w"] - 3)}),
    ...                      {"w": 0.0}, 1, lr=0.1, max_iter=10)
    >>> r.stopped_because, r.iterations, r.history_iterations.tolist()[-1]
    ('max_iter', 10, 10)
    """
    lr, max_iter, tol, batch_size, n, history_every = _check_options(
        lr, max_iter, tol, batch_size, n_samples, history_every
    )
    if not params0:
        raise OptionError("no parameters to train")
    opt = optim.optimizer(optimizer)
    sched = optim.schedule(schedule)
    names = list(params0)
    second = getattr(opt, "second_order", False)
    if second and (hessian is None or len(names) != 1):
        raise OptionError("newton needs the loss's Hessian over one parameter vector: symgrad "
                          "derives it for the catalogue models (fit), not for networks",
                          option="optimizer")
    if second and batch_size is not None and batch_size < n:
        raise OptionError("newton uses the full-data Hessian: it trains full batch only",
                          option="batch_size")
    params: dict[str, Any] = {k: _initial(k, v) for k, v in params0.items()}
    states = {k: opt.init(params[k]) for k in names}
    scalar = [isinstance(params[k], float) for k in names]
    full = batch_size is None or batch_size >= n
    bs = n if full else int(batch_size)  # type: ignore[arg-type]
    per_epoch = 1 if full else -(-n // bs)
    rng = None if full else np.random.default_rng(seed)
    perm = np.arange(n)
    pos = n  # position in the current epoch's permutation; n = start a new epoch

    stride = 1 if history_every is None else history_every
    thin = history_every is None
    rows_t: list[int] = []
    rows_loss: list[float] = []
    rows_params: list[dict[str, Any]] = []
    rows_gnorm: list[float] = []

    stopped = "max_iter"
    diverged_at: int | None = None
    t = 0
    next_progress = time.perf_counter() if progress is not None else 0.0

    # Overflow and invalid operations are exactly what the divergence checks detect, here and in
    # the caller's loss; they must not also surface as NumPy warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        loss0, grads0 = loss_and_grad(params, None)
        _check_grads(params, grads0)
        loss0 = float(loss0)
        if not math.isfinite(loss0):
            raise OptionError(
                f"the loss at the initial parameters is {loss0}; check the data and the initial "
                "parameter values"
            )
        rows_t.append(0)
        rows_loss.append(loss0)
        rows_params.append(dict(params))
        rows_gnorm.append(_grad_norm(grads0))
        limit = loss0 + DIVERGENCE_FACTOR * max(abs(loss0), 1e-12)
        best_loss, best_t = loss0, 0
        prev_loss, rises = loss0, 0
        small_run = 0
        loss, grads = loss0, grads0

        while True:
            # params are the parameters after t updates; get the loss and gradient there
            if t > 0 or not full:
                if full:
                    idx = None
                else:
                    if pos >= n:
                        perm = rng.permutation(n)  # type: ignore[union-attr]
                        pos = 0
                    idx = perm[pos : pos + bs]
                    pos += bs
                loss, grads = loss_and_grad(params, idx)
                loss = float(loss)
                if not math.isfinite(loss) or loss > limit:
                    stopped = "diverged"
                    break
                if full:
                    rises = rises + 1 if loss > prev_loss else 0
                    prev_loss = loss
                    if rises >= GROWTH_RUN and loss > loss0:
                        stopped = "diverged"
                        break
                if loss <= best_loss:
                    best_loss, best_t = loss, t
                if t > 0 and t % stride == 0:
                    rows_t.append(t)
                    rows_loss.append(loss)
                    rows_params.append(params)
                    rows_gnorm.append(_grad_norm(grads))
                    if thin and len(rows_t) > HISTORY_ROWS:
                        del rows_t[1::2], rows_loss[1::2], rows_params[1::2], rows_gnorm[1::2]
                        stride *= 2

            if progress is not None:
                now = time.perf_counter()
                if now >= next_progress:
                    progress(t, max_iter, loss)
                    next_progress = now + PROGRESS_INTERVAL

            # one update
            new: dict[str, Any] = {}
            new_states: dict[str, Any] = {}
            small = True
            finite = True
            lr_t = sched.lr(lr, t)
            if second:  # Newton: the direction H^-1 g in place of the gradient
                grads = {names[0]: optim.newton_direction(hessian(params),  # type: ignore[misc]
                                                          grads[names[0]])}
            for k, is_scalar in zip(names, scalar, strict=True):
                old = params[k]
                if is_scalar:
                    v, new_states[k] = opt.step(old, float(grads[k]), states[k], lr_t, t + 1)
                    v = float(v)
                    d = abs(v - old)
                else:
                    g = np.asarray(grads[k], dtype=np.float64)
                    v, new_states[k] = opt.step(old, g, states[k], lr_t, t + 1)
                    d = float(np.abs(v - old).max())
                if not d <= tol:
                    small = False
                    if not math.isfinite(d) and not np.all(np.isfinite(v)):
                        finite = False
                new[k] = v
            if not finite:
                stopped = "diverged"
                break
            params, states = new, new_states
            t += 1
            small_run = small_run + 1 if small else 0
            if small_run >= per_epoch:
                stopped = "converged"
                break
            if t >= max_iter:
                break

        # the last row: full-data loss and gradient at the returned parameters
        if stopped == "diverged":
            diverged_at = best_t + 1
        if not (full and stopped == "diverged"):  # else loss, grads are already at params
            loss, grads = loss_and_grad(params, None)
            loss = float(loss)
        if rows_t[-1] == t:
            rows_t.pop(), rows_loss.pop(), rows_params.pop(), rows_gnorm.pop()
        rows_t.append(t)
        rows_loss.append(loss)
        rows_params.append(params)
        rows_gnorm.append(_grad_norm(grads))

        if progress is not None:
            progress(t, max_iter, loss)

    return TrainResult(
        params=dict(params),
        iterations=t,
        stopped_because=stopped,
        diverged_at=diverged_at,
        hint=HINT.format(lr10=lr / 10) if stopped == "diverged" else None,
        loss_history=np.array(rows_loss, dtype=np.float64),
        param_history=rows_params,
        grad_norm_history=np.array(rows_gnorm, dtype=np.float64),
        history_iterations=np.array(rows_t, dtype=np.int64),
        optimizer=optim.describe(opt),
        schedule=optim.describe(sched),
    )


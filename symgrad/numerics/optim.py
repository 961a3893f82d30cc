"""Optimizers and learning-rate schedules: one small record each (pure NumPy, no SymPy).

An optimizer is a frozen record with two methods: ``init(p)`` (the state it keeps for a parameter
``p``) and ``step(p, g, state, lr, t)`` (the ``t``-th update, ``t = 1, 2, ...``, of ``p`` with
gradient ``g`` at learning rate ``lr``; returns the new parameter and state). The updates follow
the algorithms as PyTorch's ``torch.optim`` documents them (weight decay, ``maximize`` and
``amsgrad`` left out), with the same names and defaults:

* ``SGD(momentum=0, dampening=0, nesterov=False)``: ``b = momentum b + (1 - dampening) g``
  (``b = g`` at the first step), then ``p -= lr b`` (Nesterov: ``p -= lr (g + momentum b)``);
  ``gd`` is plain gradient descent, ``momentum`` the heavy ball and ``nesterov`` Nesterov's
  variant, both with ``momentum = 0.9`` (PyTorch's SGD has no momentum by default);
* ``Adagrad(eps=1e-10)``: ``s += g^2``, ``p -= lr g / (sqrt(s) + eps)``;
* ``RMSprop(alpha=0.99, eps=1e-8, momentum=0, centered=False)``: ``v = alpha v + (1 - alpha) g^2``,
  ``p -= lr g / (sqrt(v) + eps)`` (centered: ``sqrt(v - gbar^2)`` with ``gbar`` the average of g);
* ``Adam(beta1=0.9, beta2=0.999, eps=1e-8)``: ``m = beta1 m + (1 - beta1) g``,
  ``v = beta2 v + (1 - beta2) g^2``, ``p -= lr m_hat / (sqrt(v_hat) + eps)`` with the bias
  corrections ``m_hat = m / (1 - beta1^t)`` and ``v_hat = v / (1 - beta2^t)``.

``Newton()`` is the second-order step ``p -= lr H^-1 g`` (``lr = 1``: Newton's method; for
logistic regression with BCE it is IRLS, iteratively reweighted least squares): the training
loop solves ``H d = g`` with the Hessian and hands ``d`` to ``step`` in place of ``g``.

A schedule is a record with ``lr(lr0, t)``: the learning rate of update ``t = 0, 1, ...`` (one
update per iteration, whatever the batch size), as ``torch.optim.lr_scheduler`` computes it when
stepped once per update: ``StepLR``, ``ExponentialLR``, ``CosineAnnealingLR`` (its closed form) and
``InverseTime`` (``lr0 / (1 + decay t)``, as ``LambdaLR`` with that factor).

>>> opt = optimizer("adam")
>>> p, state = 1.0, opt.init(1.0)
>>> p, state = opt.step(p, 2.0, state, 0.1, 1)  # Adam's first step moves by lr, whatever g is
>>> round(float(p), 8)
0.9
>>> schedule("step", step_size=2).lr(1.0, 5)  # lr0 * 0.1 ** (5 // 2)
0.010000000000000002
"""

from __future__ import annotations

import math
import numbers
from dataclasses import MISSING, dataclass, fields
from typing import Any

import numpy as np

from symgrad.core.errors import OptionError
from symgrad.core.names import OPTIMIZERS, SCHEDULES

__all__ = [
    "SGD", "Adagrad", "RMSprop", "Adam", "Newton", "newton_direction", "Optimizer", "optimizer",
    "Constant", "StepLR", "ExponentialLR", "CosineAnnealingLR", "InverseTime", "Schedule",
    "schedule", "describe", "hyper_parameters", "schedule_parameters", "stable_lr",
]

State = Any


def _real(owner: str, name: str, value: Any, lo: float, hi: float, lo_in: bool, hi_in: bool
          ) -> None:
    """Raise an OptionError unless ``value`` is a real number in the interval (one line)."""
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Real)
          and math.isfinite(float(value)))
    if ok:
        v = float(value)
        ok = (v >= lo if lo_in else v > lo) and (v <= hi if hi_in else v < hi)
    if not ok:
        interval = f"{'[' if lo_in else '('}{lo:g}, {'inf' if hi == math.inf else f'{hi:g}'}" \
                   f"{']' if hi_in else ')'}"
        raise OptionError(f"{owner}: {name} must be in {interval}, got {value!r}", option=name)


def _whole(owner: str, name: str, value: Any) -> None:
    """Raise an OptionError unless ``value`` is a whole number >= 1 (a count of updates)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise OptionError(f"{owner}: {name} must be a whole number >= 1, got {value!r}",
                          option=name)


def _unit(owner: str, name: str, value: Any) -> None:
    """``value`` in [0, 1): a decay rate (momentum, a beta, alpha, dampening)."""
    _real(owner, name, value, 0.0, 1.0, True, False)


def _eps(owner: str, value: Any) -> None:
    _real(owner, "eps", value, 0.0, math.inf, True, False)


# -------------------------------------------------------------------------------------------------
# optimizers


@dataclass(frozen=True)
class SGD:
    """Gradient descent, with (heavy-ball or Nesterov) momentum when ``momentum > 0``.

    >>> opt = SGD(momentum=0.5)
    >>> p, b = opt.step(0.0, 1.0, opt.init(0.0), 0.1, 1)  # b = g at the first step
    >>> p, b = opt.step(p, 1.0, b, 0.1, 2)                # b = 0.5 * 1 + 1
    >>> round(p, 12), b
    (-0.25, 1.5)
    """

    momentum: float = 0.0
    dampening: float = 0.0
    nesterov: bool = False

    def __post_init__(self) -> None:
        _unit("SGD", "momentum", self.momentum)
        _unit("SGD", "dampening", self.dampening)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise OptionError("Nesterov momentum needs momentum > 0 and dampening = 0",
                              option="momentum")

    @property
    def name(self) -> str:
        return "nesterov" if self.nesterov else ("momentum" if self.momentum else "gd")

    def init(self, p: Any) -> State:
        return None  # the momentum buffer, created from the first gradient

    def step(self, p: Any, g: Any, b: State, lr: float, t: int) -> tuple[Any, State]:
        if self.momentum == 0:
            return p - lr * g, None
        b = g if b is None else self.momentum * b + (1 - self.dampening) * g
        d = g + self.momentum * b if self.nesterov else b
        return p - lr * d, b


@dataclass(frozen=True)
class Adagrad:
    """AdaGrad: each coordinate's step is divided by the root of its summed squared gradients.

    >>> opt = Adagrad()
    >>> p, s = opt.step(1.0, 2.0, opt.init(1.0), 0.5, 1)  # s = 4, p = 1 - 0.5 * 2 / 2
    >>> round(float(p), 9), s
    (0.5, 4.0)
    """

    eps: float = 1e-10
    name = "adagrad"

    def __post_init__(self) -> None:
        _eps("Adagrad", self.eps)

    def init(self, p: Any) -> State:
        return np.zeros_like(p, dtype=np.float64) if np.ndim(p) else 0.0

    def step(self, p: Any, g: Any, s: State, lr: float, t: int) -> tuple[Any, State]:
        s = s + g * g
        return p - lr * g / (np.sqrt(s) + self.eps), s


@dataclass(frozen=True)
class RMSprop:
    """RMSProp: the step is divided by the root of a running average of squared gradients.

    >>> opt = RMSprop()
    >>> p, (v, gbar, buf) = opt.step(1.0, 2.0, opt.init(1.0), 0.01, 1)
    >>> round(v, 12), round(float(p), 8)  # v = 0.01 * 4; p = 1 - 0.01 * 2 / 0.2
    (0.04, 0.9)
    """

    alpha: float = 0.99
    eps: float = 1e-8
    momentum: float = 0.0
    centered: bool = False
    name = "rmsprop"

    def __post_init__(self) -> None:
        _unit("RMSprop", "alpha", self.alpha)
        _eps("RMSprop", self.eps)
        _unit("RMSprop", "momentum", self.momentum)

    def init(self, p: Any) -> State:
        zero = np.zeros_like(p, dtype=np.float64) if np.ndim(p) else 0.0
        return zero, zero, zero  # the averages of g^2 and g, the momentum buffer

    def step(self, p: Any, g: Any, state: State, lr: float, t: int) -> tuple[Any, State]:
        v, gbar, buf = state
        v = self.alpha * v + (1 - self.alpha) * g * g
        if self.centered:
            gbar = self.alpha * gbar + (1 - self.alpha) * g
            avg = np.sqrt(v - gbar * gbar) + self.eps
        else:
            avg = np.sqrt(v) + self.eps
        if self.momentum > 0:
            buf = self.momentum * buf + g / avg
            return p - lr * buf, (v, gbar, buf)
        return p - lr * g / avg, (v, gbar, buf)


@dataclass(frozen=True)
class Adam:
    """Adam: momentum on the gradient (``m``) and on its square (``v``), bias-corrected.

    >>> opt = Adam()
    >>> p, (m, v) = opt.step(0.0, 3.0, opt.init(0.0), 0.001, 1)
    >>> round(m, 12), round(v, 12), round(float(p), 8)  # m_hat = 3, v_hat = 9: p = -0.001 * 3 / 3
    (0.3, 0.009, -0.001)
    """

    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    name = "adam"

    def __post_init__(self) -> None:
        _unit("Adam", "beta1", self.beta1)
        _unit("Adam", "beta2", self.beta2)
        _eps("Adam", self.eps)

    def init(self, p: Any) -> State:
        zero = np.zeros_like(p, dtype=np.float64) if np.ndim(p) else 0.0
        return zero, zero

    def step(self, p: Any, g: Any, state: State, lr: float, t: int) -> tuple[Any, State]:
        m, v = state
        m = self.beta1 * m + (1 - self.beta1) * g
        v = self.beta2 * v + (1 - self.beta2) * g * g
        # PyTorch's order: lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
        step_size = lr / (1 - self.beta1**t)
        denom = np.sqrt(v) / math.sqrt(1 - self.beta2**t) + self.eps
        return p - step_size * (m / denom), (m, v)


@dataclass(frozen=True)
class Newton:
    """Newton's method: a gradient step on the Newton direction ``d = H^-1 g``.

    The training loop computes ``d`` (:func:`newton_direction`) and passes it as ``g``; with
    ``lr = 1`` a quadratic loss (MSE with a linear model) is minimized in one step.

    >>> H, g = np.array([[2.0, 0.0], [0.0, 8.0]]), np.array([2.0, 8.0])
    >>> Newton().step(np.array([1.0, 1.0]), newton_direction(H, g), None, 1.0, 1)[0].tolist()
    [0.0, 0.0]
    """

    name = "newton"
    second_order = True

    def init(self, p: Any) -> State:
        return None

    def step(self, p: Any, d: Any, state: State, lr: float, t: int) -> tuple[Any, State]:
        return p - lr * d, None


def newton_direction(H: Any, g: Any) -> Any:
    """``H^-1 g`` (least squares, the minimum-norm solution, when ``H`` is singular).

    >>> d = newton_direction(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([2.0, 2.0]))
    >>> np.round(d, 12).tolist()
    [1.0, 1.0]
    """
    H = np.atleast_2d(np.asarray(H, dtype=np.float64))
    g = np.asarray(g, dtype=np.float64)
    try:
        if np.linalg.cond(H) < 1e12:
            return np.linalg.solve(H, np.ravel(g)).reshape(np.shape(g))
    except np.linalg.LinAlgError:
        pass
    return np.linalg.lstsq(H, np.ravel(g), rcond=None)[0].reshape(np.shape(g))


Optimizer = SGD | Adagrad | RMSprop | Adam | Newton

#: ``--optimizer`` name -> (record, the hyper-parameters it fixes).
_OPTIMIZERS: dict[str, tuple[type, dict[str, Any]]] = {
    "gd": (SGD, {}),
    "momentum": (SGD, {"momentum": 0.9}),
    "nesterov": (SGD, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (Adagrad, {}),
    "rmsprop": (RMSprop, {}),
    "adam": (Adam, {}),
    "newton": (Newton, {}),
}
assert tuple(_OPTIMIZERS) == OPTIMIZERS


def hyper_parameters(name: str) -> tuple[str, ...]:
    """The hyper-parameters the optimizer ``name`` takes (besides the learning rate).

    >>> hyper_parameters("adam"), hyper_parameters("gd")
    (('beta1', 'beta2', 'eps'), ())
    """
    cls, fixed = _lookup(name)
    if name == "gd":
        return ()
    return tuple(f.name for f in fields(cls) if f.name != "nesterov")


def _lookup(name: Any) -> tuple[type, dict[str, Any]]:
    if not isinstance(name, str) or name not in _OPTIMIZERS:
        raise OptionError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}",
                          option="optimizer")
    return _OPTIMIZERS[name]


def optimizer(name: str | Optimizer = "gd", **hyper: Any) -> Optimizer:
    """The optimizer called ``name`` with PyTorch's defaults, overridden by ``hyper``.

    ``hyper`` values of None are left at their defaults; a hyper-parameter the optimizer does
    not take is an OptionError (one line, naming the ones it takes).

    >>> optimizer("nesterov", momentum=0.5)
    SGD(momentum=0.5, dampening=0.0, nesterov=True)
    >>> optimizer("adam", momentum=0.5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symgrad.core.errors.OptionError: adam takes no momentum; its hyper-parameters are beta1, ...
    """
    given = {k: v for k, v in hyper.items() if v is not None}
    if isinstance(name, SGD | Adagrad | RMSprop | Adam | Newton):
        if given:
            raise OptionError("give hyper-parameters by name with an optimizer's name, or pass a "
                              "ready optimizer record, not both", option="optimizer")
        return name
    cls, fixed = _lookup(name)  # an unknown name (or not a name) is an OptionError
    allowed = hyper_parameters(name)
    for key in given:
        if key not in allowed:
            takes = (f"its hyper-parameters are {', '.join(allowed)}" if allowed
                     else "it takes only the learning rate")
            raise OptionError(f"{name} takes no {key}; {takes}", option=key)
    return cls(**{**fixed, **given})


# -------------------------------------------------------------------------------------------------
# learning-rate schedules


@dataclass(frozen=True)
class Constant:
    """The same learning rate at every update."""

    name = "constant"

    def lr(self, lr0: float, t: int) -> float:
        return lr0


@dataclass(frozen=True)
class StepLR:
    """``lr0 * gamma ** (t // step_size)``: divided by ``1/gamma`` every ``step_size`` updates.

    >>> [StepLR(2, 0.5).lr(1.0, t) for t in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    step_size: int
    gamma: float = 0.1
    name = "step"

    def __post_init__(self) -> None:
        _whole("StepLR", "step_size", self.step_size)
        _real("StepLR", "gamma", self.gamma, 0.0, 1.0, False, True)

    def lr(self, lr0: float, t: int) -> float:
        return lr0 * self.gamma ** (t // self.step_size)


@dataclass(frozen=True)
class ExponentialLR:
    """``lr0 * gamma ** t``.

    >>> ExponentialLR(0.5).lr(1.0, 3)
    0.125
    """

    gamma: float
    name = "exponential"

    def __post_init__(self) -> None:
        _real("ExponentialLR", "gamma", self.gamma, 0.0, 1.0, False, True)

    def lr(self, lr0: float, t: int) -> float:
        return lr0 * self.gamma**t


@dataclass(frozen=True)
class CosineAnnealingLR:
    """``eta_min + (lr0 - eta_min) (1 + cos(pi t / t_max)) / 2``: from lr0 down to eta_min.

    >>> s = CosineAnnealingLR(4)
    >>> [round(s.lr(1.0, t), 6) for t in range(5)]
    [1.0, 0.853553, 0.5, 0.146447, 0.0]
    """

    t_max: int
    eta_min: float = 0.0
    name = "cosine"

    def __post_init__(self) -> None:
        _whole("CosineAnnealingLR", "t_max", self.t_max)
        _real("CosineAnnealingLR", "eta_min", self.eta_min, 0.0, math.inf, True, False)

    def lr(self, lr0: float, t: int) -> float:
        return self.eta_min + (lr0 - self.eta_min) * (1 + math.cos(math.pi * t / self.t_max)) / 2


@dataclass(frozen=True)
class InverseTime:
    """``lr0 / (1 + decay t)``: the step shrinks like 1/t, as stochastic approximation asks.

    >>> InverseTime(0.5).lr(1.0, 2)
    0.5
    """

    decay: float
    name = "inverse"

    def __post_init__(self) -> None:
        _real("InverseTime", "decay", self.decay, 0.0, math.inf, False, False)

    def lr(self, lr0: float, t: int) -> float:
        return lr0 / (1 + self.decay * t)


Schedule = Constant | StepLR | ExponentialLR | CosineAnnealingLR | InverseTime

_SCHEDULES: dict[str, type] = {
    "constant": Constant, "step": StepLR, "exponential": ExponentialLR,
    "cosine": CosineAnnealingLR, "inverse": InverseTime,
}
assert tuple(_SCHEDULES) == SCHEDULES


def schedule_parameters(name: str, required: bool = False) -> tuple[str, ...]:
    """The parameters of the schedule ``name`` (``required``: only those without a default).

    >>> schedule_parameters("step"), schedule_parameters("step", required=True)
    (('step_size', 'gamma'), ('step_size',))
    """
    return tuple(f.name for f in fields(_SCHEDULES[name])
                 if not required or f.default is MISSING)


def schedule(name: str | Schedule | None = None, **params: Any) -> Schedule:
    """The schedule called ``name`` (None: constant) with ``params`` (None values: defaults).

    >>> schedule("cosine", t_max=10).lr(0.1, 10)
    0.0
    >>> schedule("exponential")
    Traceback (most recent call last):
    ...
    symgrad.core.errors.OptionError: the exponential schedule needs gamma
    """
    given = {k: v for k, v in params.items() if v is not None}
    if name is None:
        name = "constant"
    if isinstance(name, Constant | StepLR | ExponentialLR | CosineAnnealingLR | InverseTime):
        return name
    if not isinstance(name, str) or name not in _SCHEDULES:
        raise OptionError(f"unknown schedule {name!r}; choose one of: {', '.join(SCHEDULES)}",
                          option="schedule")
    cls = _SCHEDULES[name]
    takes = schedule_parameters(name)
    for key in given:
        if key not in takes:
            what = f"its parameters are {', '.join(takes)}" if takes else "it has no parameters"
            raise OptionError(f"the {name} schedule takes no {key}; {what}", option=key)
    missing = [k for k in schedule_parameters(name, required=True) if k not in given]
    if missing:
        raise OptionError(f"the {name} schedule needs {' and '.join(missing)}", option=missing[0])
    return cls(**given)


def describe(record: Optimizer | Schedule) -> dict[str, Any]:
    """An optimizer or schedule as plain data: its name and its hyper-parameters.

    >>> describe(optimizer("momentum")), describe(schedule())
    ({'name': 'momentum', 'momentum': 0.9, 'dampening': 0.0}, {'name': 'constant'})
    """
    out: dict[str, Any] = {"name": record.name}
    keep = hyper_parameters(record.name) if record.name in _OPTIMIZERS else None
    for f in fields(record):
        if keep is None or f.name in keep:
            out[f.name] = getattr(record, f.name)
    return out


def stable_lr(opt: dict[str, Any], curvature: float) -> float:
    """The largest stable learning rate on a quadratic whose largest curvature is ``curvature``.

    Gradient descent: ``2 / lambda_max``; heavy-ball momentum ``mu``: ``2 (1 + mu) / lambda_max``;
    Nesterov: ``2 (1 + mu) / ((1 + 2 mu) lambda_max)`` (with dampening ``d`` the gradient is
    scaled by ``1 - d``); Newton's method: 2 (its step is scaled by ``H^-1``, whatever the
    curvature). The adaptive optimizers have no such bound: nan. ``opt`` is
    :func:`describe`'s record.

    >>> stable_lr({"name": "gd"}, 4.0), stable_lr({"name": "momentum", "momentum": 0.5}, 4.0)
    (0.5, 0.75)
    """
    name = opt["name"]
    if name == "gd":
        return 2.0 / curvature
    if name == "newton":
        return 2.0
    if name not in ("momentum", "nesterov"):
        return math.nan
    mu = float(opt["momentum"])
    scale = 1.0 - float(opt.get("dampening", 0.0)) if name == "momentum" else 1.0
    bound = 2.0 * (1 + mu) / curvature
    return bound / scale if name == "momentum" else bound / (1 + 2 * mu)

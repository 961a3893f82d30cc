r"""``network``: forward and backward through a small layered network for one sample, by hand.

The lecture's network (L7) is ``z1 = W1 x + b1, a1 = ReLU(z1), z2 = W2 a1 + b2, y_hat = sigma(z2)``
with binary cross-entropy. The exercise gives the weights, one sample ``x`` and its label ``y``,
and asks for (a) the forward pass (every z, a, y_hat and the loss, a fill-in table) and (b) the
backward pass (dZ, dW, db of every layer and dA of every hidden layer, a fill-in table), with the
layer-level equations of :mod:`symgrad.models.network_layers` as the method when asked. The
solution prints the layer-level derivation (``net.derive()``), both tables with the arithmetic,
and with ``expanded = true`` the neuron-by-neuron derivation (``net.derive(expanded=True)``).

Fields: ``layers`` (the sizes [n0, ..., nL]: 2 to 4 sizes of 1 to 4 units, at most 30
parameters), ``activations`` (one per layer after the input: sigmoid, tanh, relu, leaky_relu,
identity, softmax on the last), ``loss`` (bce, mse, cross_entropy; a ``choice`` is allowed),
``weights`` (see below), ``x`` (n0 numbers or draws; default integers in [-2, 2]), ``y`` (bce: 0
or 1; mse: one number per output; cross_entropy: the class 1..K), ``expanded`` (false: the
neuron-by-neuron derivation in the solution too), ``show_method`` (false: the layer-level backward
equations in the prompt, which give half the answer away).

``weights`` is one number or draw for every entry of every W and b, or a table with a key per
parameter (``W1``, ``b2``, ...) or per kind (``W``, ``b``: every weight matrix / bias vector); each
value is a number or a draw (for every entry) or, under a parameter's own key, a fixed list of its
shape (``W1 = [[1, -0.5], [0, 2]]``, ``b1 = [0, 0.5]``, entries may be draws). The default is
``{ W = { range = [-2, 2], step = 0.5 }, b = { range = [-1, 1], step = 0.5 } }``.

The values are exact (rationals where they are, SymPy expressions in ``sigma`` and ``log``
otherwise) and cross-checked against :meth:`symgrad.models.network.Network.loss` and
:meth:`~symgrad.models.network.Network.gradients`. Rejected draws: a ReLU (or leaky ReLU)
pre-activation
exactly 0 (the derivative's convention would decide the answer), a sigmoid or tanh unit saturated
(``|z| > 5``), and a layer whose gradients are all zero.

>>> import random
>>> from fractions import Fraction
>>> from symgrad.teaching.worksheets.spec import ExerciseSpec
>>> fields = {"layers": [2, 2, 1], "activations": ["relu", "sigmoid"], "loss": "bce",
...           "weights": {"W1": [[1, -1], [0.5, 1]], "b1": [0, -0.5], "W2": [[1, -1]],
...                       "b2": [0.5]}, "x": [2, 1], "y": 1}
>>> es = ExerciseSpec(1, "network", Fraction(8), "", fields, "demo")
>>> KINDS["network"].validate(es)
>>> ex = KINDS["network"].generate(es, random.Random(0))
>>> {a.id: round(a.value, 4) for a in ex.answers if a.id[2:] in ("z1_2", "yhat", "loss", "dW1_2_1")}
{'1.z1_2': 1.5, '1.yhat': 0.5, '1.loss': 0.6931, '1.dW1_2_1': 1.0}
"""

from __future__ import annotations

import functools
import math
import random
import re
from dataclasses import replace
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from symgrad.core.errors import OptionError
from symgrad.core.functions import FUNCTIONS
from symgrad.core.names import display_name
from symgrad.core.steps import Kind as StepKind
from symgrad.models.backprop import backprop
from symgrad.models.network import (
    A_SYM,
    NETWORK_ACTIVATIONS,
    NETWORK_LOSSES,
    Z_SYM,
    Network,
    network,
)
from symgrad.models.network_expand import estimated_seconds
from symgrad.render.latex import expr_latex
from symgrad.render.text import _SUB
from symgrad.teaching.worksheets.kinds import KINDS, Degenerate, Field, Kind, register
from symgrad.teaching.worksheets.kinds._common import num, num_text, pick, tolerance
from symgrad.teaching.worksheets.model import Answer, Exercise, Math, Steps, Table, Text
from symgrad.teaching.worksheets.spec import ExerciseSpec, SpecError, check_draw, draw, exact

__all__ = ["NetworkKind", "KINDS", "forward_backward_exact"]

#: Limits that keep the numbers doable by hand (and the expanded derivation quick).
MAX_LAYERS, MAX_UNITS, MAX_PARAMS, MAX_EXPANDED_SECONDS = 4, 4, 30, 10.0
#: A sigmoid or tanh unit with |z| above this is saturated: its gradient all but vanishes.
SATURATED = 5
DEFAULT_WEIGHTS: dict[str, Any] = {"W": {"range": [-2, 2], "step": 0.5},
                                   "b": {"range": [-1, 1], "step": 0.5}}
DEFAULT_X: dict[str, Any] = {"range": [-2, 2]}


Value = sp.Expr


# --- exact forward and backward ------------------------------------------------------------------


def _apply(act: str, net: Network, ell: int, Z: sp.Matrix) -> sp.Matrix:
    if act == "softmax":
        exps = [sp.exp(z) for z in Z]
        total = sp.Add(*exps)
        return sp.Matrix([e / total for e in exps])
    expr = net._acts[ell - 1].expr
    return Z.applyfunc(lambda z: expr.xreplace({Z_SYM: z}))


def _slope(net: Network, ell: int, z: sp.Expr, a: sp.Expr) -> sp.Expr:
    """g_l'(z) written by the engine (in z and a = g(z)), at this unit."""
    return sp.sympify(net._acts[ell - 1].derivative).xreplace({Z_SYM: z, A_SYM: a})


def forward_backward_exact(net: Network, params: dict[str, sp.Matrix], x: sp.Matrix,
                           y: sp.Matrix) -> dict[str, Any]:
    """Every Z, A, the loss and every dA, dZ, dW, db for one sample (m = 1), exactly: the one
    backprop pass (:func:`symgrad.models.backprop.backprop`) over exact SymPy numbers.

    The layer-level equations (samples as columns): dZ^[L] = A^[L] - Y for sigmoid + bce and
    softmax + cross-entropy, dA^[L] = 2 (A^[L] - Y) for mse; dW^[l] = dZ^[l] A^[l-1]^T,
    db^[l] = dZ^[l], dA^[l-1] = W^[l]^T dZ^[l], dZ^[l-1] = dA^[l-1] * g'(Z^[l-1]).

    >>> net = network([1, 1, 1], ["relu", "identity"], "mse")
    >>> P = {"W1": sp.Matrix([[2]]), "b1": sp.Matrix([1]), "W2": sp.Matrix([[3]]),
    ...      "b2": sp.Matrix([0])}
    >>> v = forward_backward_exact(net, P, sp.Matrix([1]), sp.Matrix([5]))
    >>> v["A2"], v["loss"], v["dW1"], v["db2"]
    (Matrix([[9]]), 16, Matrix([[24]]), Matrix([[8]]))
    """
    res = backprop(_ExactOps(net), params, x, y, keep=True)
    out: dict[str, Any] = {"A0": x, "Y": y, "params": params, "loss": res.loss}
    for ell in range(1, net.depth + 1):
        out[f"Z{ell}"], out[f"A{ell}"] = res.Z[ell], res.A[ell]
    for name, by in (("dZ", res.dZ), ("dW", res.dW), ("db", res.db), ("dA", res.dA)):
        out.update({f"{name}{ell}": v for ell, v in by.items()})
    return out


class _ExactOps:
    """Exact SymPy arithmetic for :func:`~symgrad.models.backprop.backprop`, one sample (m = 1)."""

    def __init__(self, net: Network) -> None:
        self.net = net

    def linear(self, W: sp.Matrix, A: sp.Matrix, b: sp.Matrix) -> sp.Matrix:
        return W * A + b

    def activate(self, ell: int, Z: sp.Matrix, last: bool) -> sp.Matrix:
        return _apply(self.net.activations[ell - 1], self.net, ell, Z)

    def head(self, Z: sp.Matrix, A: sp.Matrix, y: sp.Matrix) -> tuple[sp.Expr, sp.Matrix, bool]:
        if self.net.loss_name == "bce":
            a, t = A[0], y[0]
            return -(t * sp.log(a) + (1 - t) * sp.log(1 - a)), A - y, True
        if self.net.loss_name == "cross_entropy":
            loss = -sp.Add(*[t * sp.log(a) for a, t in zip(A, y, strict=True) if t != 0])
            return loss, A - y, True
        return sp.Add(*[(a - t) ** 2 for a, t in zip(A, y, strict=True)]), 2 * (A - y), False

    def slope(self, ell: int, dA: sp.Matrix, Z: sp.Matrix, A: sp.Matrix) -> sp.Matrix:
        return _times_slope(self.net, ell, dA, Z, A)

    def weight_grad(self, dZ: sp.Matrix, A_prev: sp.Matrix) -> sp.Matrix:
        return dZ * A_prev.T

    def bias_grad(self, dZ: sp.Matrix) -> sp.Matrix:
        return dZ

    def back(self, W: sp.Matrix, dZ: sp.Matrix) -> sp.Matrix:
        return W.T * dZ


def _times_slope(net: Network, ell: int, dA: sp.Matrix, Z: sp.Matrix, A: sp.Matrix) -> sp.Matrix:
    return sp.Matrix([d * _slope(net, ell, z, a) for d, z, a in zip(dA, Z, A, strict=True)])


def _float(v: sp.Expr) -> float:
    return float(sp.N(v, 30))


def _plain(v: sp.Expr) -> Fraction | sp.Expr:
    """A rational as a Fraction (``num`` shows it exactly), anything else as it is."""
    v = sp.sympify(v)
    return Fraction(int(v.p), int(v.q)) if v.is_Rational else v


@functools.lru_cache(maxsize=32)
def _network(sizes: tuple[int, ...], acts: tuple[str, ...], loss: str) -> Network:
    """One Network per spec, so its derivations are derived once for all variants."""
    return network(sizes, acts, loss)


# --- the spec ------------------------------------------------------------------------------------


def _sizes(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(isinstance(n, int) and not isinstance(n, bool)
                                              for n in value):
        raise SpecError(f"{where}: expected a list of whole numbers such as [2, 2, 1], "
                        f"got {value!r}")
    if not 2 <= len(value) <= MAX_LAYERS:
        raise SpecError(f"{where}: expected 2 to {MAX_LAYERS} layer sizes (input, hidden..., "
                        f"output), got {len(value)}")
    for ell, n in enumerate(value):
        if not 1 <= n <= MAX_UNITS:
            raise SpecError(f"{where}: layer {ell} has {n} units; a worksheet network has 1 to "
                            f"{MAX_UNITS} per layer")
    return tuple(value)


def _params_of(sizes: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    out: dict[str, tuple[int, ...]] = {}
    for ell in range(1, len(sizes)):
        out[f"W{ell}"] = (sizes[ell], sizes[ell - 1])
        out[f"b{ell}"] = (sizes[ell],)
    return out


def _is_single(value: Any) -> bool:
    """A number, or a draw of one number (no ``count``)."""
    return not isinstance(value, list) and not (isinstance(value, dict) and "count" in value)


def _check_single(value: Any, where: str) -> None:
    if isinstance(value, dict) and "count" in value:
        raise SpecError(f"{where}: a draw here is for one entry at a time; leave out 'count'")
    check_draw(value, where)


def _check_fixed(value: Any, shape: tuple[int, ...], where: str) -> None:
    """A list of the parameter's shape whose entries are numbers or draws of one."""
    want = "[[...], ...] with " + f"{shape[0]} rows of {shape[1]}" if len(shape) == 2 else \
        f"[...] with {shape[0]} entries"
    if not isinstance(value, list) or len(value) != shape[0]:
        raise SpecError(f"{where}: expected a number, a draw, or a list {want} "
                        f"(shape {shape}), got {value!r}")
    for j, row in enumerate(value):
        if len(shape) == 2:
            if not isinstance(row, list) or len(row) != shape[1]:
                raise SpecError(f"{where}[{j}]: expected a row of {shape[1]} entries (shape "
                                f"{shape}), got {row!r}")
            for k, v in enumerate(row):
                _check_single(v, f"{where}[{j}][{k}]")
        else:
            _check_single(row, f"{where}[{j}]")


def _weight_sources(weights: Any, shapes: dict[str, tuple[int, ...]], where: str
                    ) -> dict[str, Any]:
    """Which spec value gives each parameter (checked): ``{"W1": value, ...}``."""
    if not isinstance(weights, list | dict) or (isinstance(weights, dict) and (
            "range" in weights or "choice" in weights)):
        _check_single(weights, where)
        return {name: weights for name in shapes}
    if isinstance(weights, list) or not weights:
        raise SpecError(f"{where}: expected a number, a draw, or a table such as "
                        "{ W = { range = [-2, 2], step = 0.5 }, b = 0 }")
    allowed = ["W", "b", *shapes]
    unknown = [k for k in weights if k not in allowed]
    if unknown:
        raise SpecError(f"{where}: unknown parameter {unknown[0]!r}; this network has "
                        f"{', '.join(allowed)}")
    out: dict[str, Any] = {}
    for name, shape in shapes.items():
        if name in weights:
            value = weights[name]
            if _is_single(value):
                _check_single(value, f"{where}.{name}")
            else:
                _check_fixed(value, shape, f"{where}.{name}")
            out[name] = value
        elif name[0] in weights:
            _check_single(weights[name[0]], f"{where}.{name[0]}")
            out[name] = weights[name[0]]
        else:
            every = "weight matrix" if name[0] == "W" else "bias"
            raise SpecError(f"{where}: no value for {name} (give {name} = ... or "
                            f"{name[0]} = ... for every {every})")
    return out


def _draw_param(value: Any, shape: tuple[int, ...], rng: random.Random, where: str) -> sp.Matrix:
    rows, cols = shape if len(shape) == 2 else (shape[0], 1)
    entries: list[list[Fraction]] = []
    for j in range(rows):
        row = []
        for k in range(cols):
            if _is_single(value):
                v, at = value, where
            elif len(shape) == 2:
                v, at = value[j][k], f"{where}[{j}][{k}]"
            else:
                v, at = value[j], f"{where}[{j}]"
            row.append(draw(v, rng, at))
        entries.append(row)
    return sp.Matrix([[sp.Rational(v.numerator, v.denominator) for v in row] for row in entries])


def _values_of(value: Any) -> list[Any]:
    """The numbers a fixed value or draw can give (for label checks)."""
    if isinstance(value, list):
        return [v for item in value for v in _values_of(item)]
    if isinstance(value, dict):
        if "choice" in value:
            return list(value["choice"])
        lo, hi = (exact(v, "") for v in value["range"])
        step = exact(value.get("step", 1), "")
        exclude = {exact(v, "") for v in value.get("exclude", [])}
        return [lo + k * step for k in range(int((hi - lo) / step) + 1)
                if lo + k * step not in exclude]
    return [value]


def _count(value: Any) -> int | None:
    if isinstance(value, list):
        return len(value)
    if isinstance(value, dict) and "count" in value:
        return value["count"]
    return None


@register
class NetworkKind(Kind):
    name = "network"
    summary = "forward and backward through a small network for one sample, layer by layer"
    fields = {
        "layers": Field("values", required=True, help="layer sizes such as [2, 2, 1]"),
        "activations": Field("names", required=True, help='one per layer, e.g. ["relu", '
                             '"sigmoid"]'),
        "loss": Field("name", required=True, choices=NETWORK_LOSSES,
                      help="bce, mse or cross_entropy"),
        "weights": Field("point", help="a number or draw for every entry, or a table with W1, "
                         "b1, ... (or W, b)"),
        "x": Field("values", help="one sample: n0 numbers or draws"),
        "y": Field("values", help="its label"),
        "expanded": Field("bool", default=False),
        "show_method": Field("bool", default=False),
        "tolerance": Field("number"),
    }

    # -- validation --
    def validate(self, es: ExerciseSpec) -> None:
        """The generic checks for every field but ``weights``, whose form depends on ``layers``
        (checked in :meth:`check`)."""
        if "weights" in es.fields:
            rest = {k: v for k, v in es.fields.items() if k != "weights"}
            super().validate(replace(es, fields=rest))
            self._check_weights(es, _sizes(es.fields["layers"], es.at("layers")))
        else:
            super().validate(es)

    def _check_weights(self, es: ExerciseSpec, sizes: tuple[int, ...]) -> None:
        _weight_sources(es.fields["weights"], _params_of(sizes), es.at("weights"))

    def check(self, es: ExerciseSpec) -> None:
        sizes = _sizes(es.fields["layers"], es.at("layers"))
        acts = es.fields["activations"]
        where = es.at("activations")
        if len(acts) != len(sizes) - 1:
            raise SpecError(f"{where}: {len(sizes)} layer sizes {list(sizes)} need "
                            f"{len(sizes) - 1} activation(s), one per layer after the input; "
                            f"got {len(acts)}")
        for ell, a in enumerate(acts, start=1):
            if a not in NETWORK_ACTIVATIONS:
                raise SpecError(f"{where}: unknown activation {a!r} for layer {ell}; choose one "
                                f"of: {', '.join(NETWORK_ACTIVATIONS)}")
            if a == "softmax" and ell != len(acts):
                raise SpecError(f"{where}: softmax is only allowed on the last layer (layer "
                                f"{len(acts)}), got it on layer {ell}")
        n_params = sum(math.prod(s) for s in _params_of(sizes).values())
        if n_params > MAX_PARAMS:
            raise SpecError(f"{es.at('layers')}: {list(sizes)} has {n_params} parameters; a "
                            f"worksheet network has at most {MAX_PARAMS} (by hand)")
        losses = es.fields["loss"]
        for loss in losses["choice"] if isinstance(losses, dict) else [losses]:
            try:
                net = network(sizes, acts, loss)
            except OptionError as err:
                raise SpecError(f"{es.at('loss')}: {err}") from None
            self._check_label(es, net)
        for key in ("x", "y"):
            if isinstance(es.fields.get(key), list):
                for k, item in enumerate(es.fields[key]):
                    _check_single(item, f"{es.at(key)}[{k}]")
        if "x" in es.fields:
            n = _count(es.fields["x"])
            if n is not None and n != sizes[0]:
                raise SpecError(f"{es.at('x')}: the input layer has {sizes[0]} unit(s), so x "
                                f"needs {sizes[0]} value(s); got {n}")
        if self.get(es, "expanded"):
            first = losses["choice"][0] if isinstance(losses, dict) else losses
            seconds = estimated_seconds(network(sizes, acts, first))
            if seconds > MAX_EXPANDED_SECONDS:
                raise SpecError(f"{es.at('expanded')}: the expanded derivation of "
                                f"{'-'.join(map(str, sizes))} would take about {seconds:.0f} s; "
                                "use a smaller network or expanded = false")

    def _check_label(self, es: ExerciseSpec, net: Network) -> None:
        if "y" not in es.fields:
            return
        y, where, nL = es.fields["y"], es.at("y"), net.sizes[-1]
        n = _count(y)
        if net.loss_name == "mse":
            if (n or 1) != nL:
                raise SpecError(f"{where}: the output layer has {nL} unit(s), so y needs {nL} "
                                f"value(s); got {n or 1}")
            return
        if n is not None:
            raise SpecError(f"{where}: expected one label for {net.loss_name} (bce: 0 or 1; "
                            "cross_entropy: the class 1..K), not a list")
        allowed = {Fraction(0), Fraction(1)} if net.loss_name == "bce" else \
            {Fraction(k) for k in range(1, nL + 1)}
        for v in _values_of(y):
            if isinstance(v, str) or exact(v, where) not in allowed:
                what = "0 or 1" if net.loss_name == "bce" else f"a class 1..{nL}"
                raise SpecError(f"{where}: {net.loss_name} needs y = {what}, got {v!r}")

    # -- generation --
    def generate(self, es: ExerciseSpec, rng: random.Random) -> Exercise:
        sizes = _sizes(es.fields["layers"], es.at("layers"))
        acts = tuple(es.fields["activations"])
        loss = pick(es.fields["loss"], rng, es.at("loss"))
        net = _network(sizes, acts, loss)
        L = net.depth
        shapes = _params_of(sizes)
        sources = _weight_sources(es.fields.get("weights", DEFAULT_WEIGHTS), shapes,
                                  es.at("weights"))
        params = {name: _draw_param(sources[name], shape, rng, f"{es.at('weights')}.{name}")
                  for name, shape in shapes.items()}
        xs = es.fields.get("x", DEFAULT_X)
        x = _draw_param(xs if _is_single(xs) else
                        (xs if isinstance(xs, list) else draw(xs, rng, es.at("x"))),
                        (sizes[0],), rng, es.at("x"))
        y = self._draw_label(es, net, rng)
        v = forward_backward_exact(net, params, x, y)
        self._reject(net, v)
        self._cross_check(net, params, x, y, v)

        def fmt(e: sp.Expr) -> str:
            return num(_plain(e))

        given = {
            "expr": _expr_text(net),
            "layers": list(sizes), "activations": list(acts), "loss": loss,
            "point": {k: (np.array(p.tolist(), dtype=float).tolist() if k[0] == "W"
                          else [float(e) for e in p]) for k, p in params.items()},
            "data": {"x": [float(e) for e in x], "y": [float(e) for e in y]},
        }
        forward_rows, backward_rows = _rows(net, v, fmt)
        answers: list[Answer] = []
        for rows in (forward_rows, backward_rows):
            for r in rows:
                value = _float(r.value)
                extra: dict[str, Any] = {"quantity": r.quantity, "index": list(r.index)}
                if r.quantity[:2] in ("dW", "db"):
                    extra["wrt"] = r.quantity[1:]
                answers.append(Answer(
                    f"{es.number}.{r.id}", self.name, rf"\({r.symbol}\) ({r.what})",
                    {**given, **extra}, rf"{r.symbol} = {r.working} {_approx(r.value)}",
                    f"{_text(r.symbol)} = {num_text(_plain(r.value))}", value,
                    tolerance(value, es)))

        header = ("quantity", "value")
        full_header = ("quantity", "working", "value")
        blank_fwd = tuple((rf"\({r.symbol}\)", "") for r in forward_rows)
        blank_bwd = tuple((rf"\({r.symbol}\)", "") for r in backward_rows)
        full_fwd = tuple((rf"\({r.symbol}\)", rf"\({r.working}\)", fmt(r.value))
                         for r in forward_rows)
        full_bwd = tuple((rf"\({r.symbol}\)", rf"\({r.working}\)", fmt(r.value))
                         for r in backward_rows)
        layer_d = net.derive()
        prompt = [
            Text(f"A {'-'.join(map(str, sizes))} network "
                 f"({', '.join(display_name(a) for a in acts)}; {display_name(loss)}) and one "
                 "sample (m = 1):"),
            Math(_forward_equations(net)),
            Text("with"),
            Math(_given_rows(net, params, x, y)),
            Text("(a) Forward pass: fill in the table."),
            Table(header, blank_fwd),
            *self._backward_prompt(es, layer_d, L),
            Table(header, blank_bwd),
        ]
        solution: list[Any] = [
            Steps(layer_d),
            Text("(a) The forward pass:"),
            Table(full_header, full_fwd),
            Text("(b) The backward pass with these numbers (the working uses the rounded values "
                 "above):"),
            Table(full_header, full_bwd),
        ]
        if self.get(es, "expanded"):
            solution += [Text(r"The same gradients neuron by neuron: every weight "
                              r"\(w^{[l]}_{jk}\) is its own symbol, \(x_{ik}\) is entry k of "
                              "sample i, and N = m = 1 here."),
                         Steps(net.derive(expanded=True))]
        title = es.title or (f"Forward and backward through a {'-'.join(map(str, sizes))} "
                             "network")
        return Exercise(es.number, self.name, title, float(es.points), prompt, solution, answers)

    def _backward_prompt(self, es: ExerciseSpec, layer_d: Any, L: int) -> list[Any]:
        """Part (b)'s text, with the layer-level equations only when the spec asks for them
        (``show_method = true``): they are half of the answer."""
        names = (r"Fill in the table; \(\mathrm{d}W^{[l]}\) stands for "
                 r"\(\partial L/\partial W^{[l]}\), and likewise for b, z and a.")
        if not self.get(es, "show_method"):
            return [Text(r"(b) Backward pass: apply the chain rule layer by layer, from the loss "
                         r"back to \(W^{[1]}\), for this one sample. " + names)]
        return [Text(r"(b) Backward pass with the layer-level equations below (one sample: "
                     rf"\(m = 1\), \(A^{{[0]}} = x\), \(Z^{{[l]}} = z^{{[l]}}\), "
                     rf"\(A^{{[{L}]}} = \hat{{y}}\), \(Y = y\), and the sums over samples "
                     r"have one term). " + names),
                Math(_method(layer_d))]

    def _draw_label(self, es: ExerciseSpec, net: Network, rng: random.Random) -> sp.Matrix:
        nL, where = net.sizes[-1], es.at("y")
        if net.loss_name == "mse":
            spec = es.fields.get("y", {"range": [-1, 1], "step": 0.5})
            if not _is_single(spec) and not isinstance(spec, list):
                spec = draw(spec, rng, where)
            return _draw_param(spec, (nL,), rng, where)
        if net.loss_name == "bce":
            t = draw(es.fields.get("y", {"choice": [0, 1]}), rng, where)
            return sp.Matrix([sp.Rational(exact(t, where))])
        k = int(draw(es.fields.get("y", {"choice": list(range(1, nL + 1))}), rng, where))
        return sp.Matrix([1 if j == k else 0 for j in range(1, nL + 1)])

    @staticmethod
    def _reject(net: Network, v: dict[str, Any]) -> None:
        for ell, act in enumerate(net.activations, start=1):
            for j, z in enumerate(v[f"Z{ell}"], start=1):
                unit = FUNCTIONS[act].activation
                if unit.kink is not None and float(z) == unit.kink:
                    raise Degenerate(f"z^[{ell}]_{j} = {z} at the kink of {act}")
                if unit.saturates and abs(z) > SATURATED:
                    raise Degenerate(f"z^[{ell}]_{j} = {z}: {act} saturates")
        for ell in range(1, net.depth + 1):
            if all(e == 0 for e in v[f"dW{ell}"]) and all(e == 0 for e in v[f"db{ell}"]):
                raise Degenerate(f"every gradient of layer {ell} is zero")

    @staticmethod
    def _cross_check(net: Network, params: dict[str, sp.Matrix], x: sp.Matrix, y: sp.Matrix,
                     v: dict[str, Any]) -> None:
        """The exact values against the network's NumPy backprop (a mismatch is a bug)."""
        P = {k: np.array(p.tolist(), dtype=float).reshape(net.shapes()[k]) for k, p in
             params.items()}
        X = np.array([[float(e) for e in x]])
        Y = np.array([[float(e) for e in y]])
        loss, grads = net.loss_and_gradients(P, X, Y)
        pairs = [(_float(v["loss"]), loss, "loss")]
        for k, g in grads.items():
            exact_g = np.array([[_float(e) for e in row] for row in v["d" + k].tolist()])
            pairs += [(a, b, k) for a, b in zip(exact_g.ravel(), g.ravel(), strict=True)]
        for a, b, k in pairs:
            if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
                raise AssertionError(f"exact and NumPy values differ for {k}: {a} vs {b}")



# --- display -------------------------------------------------------------------------------------

class _Row:
    """One scalar of the tables: its id, symbol, working, exact value and what it is."""

    __slots__ = ("id", "quantity", "index", "symbol", "working", "value", "what")

    def __init__(self, id: str, quantity: str, index: tuple[int, ...], symbol: str, working: str,
                 value: sp.Expr, what: str) -> None:
        self.id, self.quantity, self.index = id, quantity, index
        self.symbol, self.working, self.value, self.what = symbol, working, value, what


def _approx(v: sp.Expr) -> str:
    p = _plain(v)
    if isinstance(p, Fraction) and Fraction(num(p)) == p:
        return "= " + num(p)
    return r"\approx " + num(p)


def _text(symbol: str) -> str:
    r"""A table symbol as plain text: ``\mathrm{d}W^{[2]}_{12}`` -> ``dW₁₂^[2]``.

    >>> _text(r"\mathrm{d}W^{[2]}_{12}"), _text(r"\hat{y}_{2}"), _text("L")
    ('dW₁₂^[2]', 'ŷ₂', 'L')
    """
    m = re.fullmatch(r"(\\mathrm\{d\})?(\\hat\{y\}|[A-Za-z])(?:\^\{\[(\d+)\]\})?(?:_\{(\d+)\})?",
                     symbol)
    if m is None:  # pragma: no cover - symbols are ours
        return symbol
    d, base, layer, sub = m.groups()
    base = "ŷ" if base.startswith("\\") else base
    tail = f"^[{layer}]" if layer else ""
    return ("d" if d else "") + base + (sub or "").translate(_SUB) + tail


def _paren(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def _yhat(nL: int, j: int) -> str:
    return r"\hat{y}" if nL == 1 else rf"\hat{{y}}_{{{j}}}"


def _unit(base: str, ell: int, *idx: int) -> str:
    sub = "".join(map(str, idx))
    return f"{base}^{{[{ell}]}}_{{{sub}}}"


def _act_latex(name: str, arg: str) -> str:
    if FUNCTIONS[name].latex is None:  # identity
        return arg
    return rf"{FUNCTIONS[name].latex}\left({arg}\right)"


def _expr_text(net: Network) -> str:
    """The forward pass and the loss as plain text (``given.expr``)."""
    L, parts, prev = net.depth, [], "x"
    for ell, act in enumerate(net.activations, start=1):
        a = "yhat" if ell == L else f"a{ell}"
        parts += [f"z{ell} = W{ell} {prev} + b{ell}", f"{a} = {act}(z{ell})"]
        prev = a
    parts.append(f"L = {net.loss_name}(yhat, y)")
    return "; ".join(parts)


def _forward_equations(net: Network) -> tuple[str, ...]:
    L, nL, rows, prev = net.depth, net.sizes[-1], [], "x"
    for ell, act in enumerate(net.activations, start=1):
        z = f"z^{{[{ell}]}}"
        a = r"\hat{y}" if ell == L else f"a^{{[{ell}]}}"
        rows.append(f"{z} = W^{{[{ell}]}} {prev} + b^{{[{ell}]}}")
        rows.append(f"{a} = {_act_latex(act, z)}")
        prev = a
    if net.loss_name == "bce":
        rows.append(r"L = -\left[y \log \hat{y} + (1 - y) \log\left(1 - \hat{y}\right)\right]")
    elif net.loss_name == "cross_entropy":
        rows.append(rf"L = -\sum_{{k=1}}^{{{nL}}} y_{{k}} \log \hat{{y}}_{{k}}")
    elif nL == 1:
        rows.append(r"L = \left(\hat{y} - y\right)^{2}")
    else:
        rows.append(rf"L = \sum_{{k=1}}^{{{nL}}} \left(\hat{{y}}_{{k}} - y_{{k}}\right)^{{2}}")
    return tuple(rows)


def _matrix(M: sp.Matrix) -> str:
    body = r" \\ ".join(" & ".join(num(_plain(e)) for e in M.row(j)) for j in range(M.rows))
    return rf"\begin{{pmatrix}} {body} \end{{pmatrix}}"


def _given_rows(net: Network, params: dict[str, sp.Matrix], x: sp.Matrix, y: sp.Matrix
                ) -> tuple[str, ...]:
    rows = []
    for ell in range(1, net.depth + 1):
        rows.append(rf"W^{{[{ell}]}} = {_matrix(params[f'W{ell}'])}, \quad "
                    rf"b^{{[{ell}]}} = {_matrix(params[f'b{ell}'])}")
    yshown = num(_plain(y[0])) if len(y) == 1 else _matrix(y)
    rows.append(rf"x = {_matrix(x)}, \quad y = {yshown}")
    return tuple(rows)


def _method(d: Any) -> tuple[str, ...]:
    """The layer-level backward equations, as the engine's chain steps state them."""
    rows = []
    for s in d.steps:
        if s.kind is not StepKind.CHAIN:
            continue
        lhs = expr_latex(s.lhs)
        if lhs.startswith(r"\frac{\partial L}{\partial "):
            name = lhs.removeprefix(r"\frac{\partial L}{\partial ").removesuffix("}")
            lhs = rf"\mathrm{{d}}{name} = {lhs}"
        rows.append(f"{lhs} = {expr_latex(s.forms[-1])}")
    return tuple(rows)


def _n(e: sp.Expr) -> str:
    """A number inside the working: rounded like the table, negative ones in parentheses."""
    return _paren(num(_plain(e)))


def _slope_working(net: Network, ell: int, z: sp.Expr, a: sp.Expr) -> str:
    act = net.activations[ell - 1]
    if act == "sigmoid":
        return rf"{_n(a)} \left(1 - {_n(a)}\right)"
    if act == "tanh":
        return rf"\left(1 - {_n(a)}^{{2}}\right)"
    if act in ("relu", "leaky_relu"):
        return "1" if z > 0 else ("0" if act == "relu" else "0.01")
    if act == "identity":
        return "1"
    return _n(_slope(net, ell, z, a))  # any other activation: the value of g'(z)


def _rows(net: Network, v: dict[str, Any], fmt: Any) -> tuple[list[_Row], list[_Row]]:
    L, sizes, acts = net.depth, net.sizes, net.activations
    nL = sizes[-1]
    fwd: list[_Row] = []

    def prev_sym(ell: int, k: int) -> str:
        return f"x_{{{k}}}" if ell == 1 else _unit("a", ell - 1, k)

    for ell in range(1, L + 1):
        A_prev = v[f"A{ell - 1}"]
        Z, A = v[f"Z{ell}"], v[f"A{ell}"]
        for j in range(1, sizes[ell] + 1):
            terms = " + ".join(rf"{_n(_w(v, ell, j, k))} \cdot {_n(A_prev[k - 1])}"
                               for k in range(1, sizes[ell - 1] + 1))
            working = f"{terms} + {_n(_bias(v, ell, j))}"
            fwd.append(_Row(f"z{ell}_{j}", f"z{ell}", (j,), _unit("z", ell, j), working,
                            Z[j - 1], f"pre-activation of unit {j} of layer {ell}"))
        for j in range(1, sizes[ell] + 1):
            act = acts[ell - 1]
            if act == "softmax":
                den = " + ".join(f"e^{{{fmt(z)}}}" for z in Z)
                working = rf"\frac{{e^{{{fmt(Z[j - 1])}}}}}{{{den}}}"
            else:
                working = _act_latex(act, fmt(Z[j - 1]))
            if ell == L:
                fwd.append(_Row("yhat" if nL == 1 else f"yhat_{j}", f"a{ell}", (j,),
                                _yhat(nL, j), working, A[j - 1],
                                "the output" + ("" if nL == 1 else f" of unit {j}")))
            else:
                fwd.append(_Row(f"a{ell}_{j}", f"a{ell}", (j,), _unit("a", ell, j), working,
                                A[j - 1], f"activation of unit {j} of layer {ell}"))
    yhat, y = v[f"A{L}"], v["Y"]
    if net.loss_name == "bce":
        working = rf"-\log {_n(yhat[0])}" if y[0] == 1 else rf"-\log\left(1 - {fmt(yhat[0])}\right)"
    elif net.loss_name == "cross_entropy":
        k = list(y).index(1)
        working = rf"-\log {_n(yhat[k])}"
    else:
        working = " + ".join(rf"\left({fmt(a)} - {_n(t)}\right)^{{2}}" for a, t in zip(yhat, y,
                                                                                  strict=True))
    fwd.append(_Row("loss", "loss", (), "L", working, v["loss"], "the loss"))

    bwd: list[_Row] = []
    for ell in range(L, 0, -1):
        dZ, dA_here = v[f"dZ{ell}"], v.get(f"dA{ell}")
        if ell == L and net.loss_name == "mse":
            for j in range(1, nL + 1):
                bwd.append(_Row(f"dA{L}_{j}", f"dA{L}", (j,), r"\mathrm{d}" + _unit("a", L, j),
                                rf"2\left({fmt(yhat[j - 1])} - {_n(y[j - 1])}\right)",
                                dA_here[j - 1], f"dL/da of output unit {j}"))
        for j in range(1, sizes[ell] + 1):
            if ell == L and net.loss_name != "mse":
                working = rf"{fmt(yhat[j - 1])} - {_n(y[j - 1])}"
            else:
                working = (rf"{_n(dA_here[j - 1])} \cdot "
                           f"{_slope_working(net, ell, v[f'Z{ell}'][j - 1], v[f'A{ell}'][j - 1])}")
            bwd.append(_Row(f"dZ{ell}_{j}", f"dZ{ell}", (j,), r"\mathrm{d}" + _unit("z", ell, j),
                            working, dZ[j - 1], f"dL/dz of unit {j} of layer {ell}"))
        A_prev = v[f"A{ell - 1}"]
        for j in range(1, sizes[ell] + 1):
            for k in range(1, sizes[ell - 1] + 1):
                bwd.append(_Row(f"dW{ell}_{j}_{k}", f"dW{ell}", (j, k),
                                rf"\mathrm{{d}}W^{{[{ell}]}}_{{{j}{k}}}",
                                rf"{_n(dZ[j - 1])} \cdot {_n(A_prev[k - 1])}",
                                v[f"dW{ell}"][j - 1, k - 1],
                                f"dL/dw of weight ({j}, {k}) of layer {ell}"))
        for j in range(1, sizes[ell] + 1):
            bwd.append(_Row(f"db{ell}_{j}", f"db{ell}", (j,),
                            rf"\mathrm{{d}}b^{{[{ell}]}}_{{{j}}}", _n(dZ[j - 1]),
                            v[f"db{ell}"][j - 1], f"dL/db of unit {j} of layer {ell}"))
        if ell > 1:
            dA = v[f"dA{ell - 1}"]
            for k in range(1, sizes[ell - 1] + 1):
                working = " + ".join(rf"{_n(_w(v, ell, j, k))} \cdot {_n(dZ[j - 1])}"
                                     for j in range(1, sizes[ell] + 1))
                bwd.append(_Row(f"dA{ell - 1}_{k}", f"dA{ell - 1}", (k,),
                                r"\mathrm{d}" + _unit("a", ell - 1, k), working, dA[k - 1],
                                f"dL/da of unit {k} of layer {ell - 1}"))
    return fwd, bwd


def _w(v: dict[str, Any], ell: int, j: int, k: int) -> sp.Expr:
    return v["params"][f"W{ell}"][j - 1, k - 1]


def _bias(v: dict[str, Any], ell: int, j: int) -> sp.Expr:
    return v["params"][f"b{ell}"][j - 1]

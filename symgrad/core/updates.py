"""An optimizer's update rule written out per parameter, from a derivation's verified gradient.

:func:`with_updates` appends to a :class:`~symgrad.core.steps.Derivation` the recurrences of one
optimizer (``Kind.UPDATE`` steps): first ``g_p(t) = ∂L/∂p`` at the parameters of iteration t (the
gradient the engine derived and verified), then the optimizer's state and the new parameter, with
the hyper-parameters as symbols (their values are in ``meta["optimizer"]``). The recurrences are
those of :mod:`symgrad.numerics.optim` (torch.optim's algorithms), which trains with them; they
are definitions of an algorithm, not claims, so they carry no check.

``optimizer`` is plain data, :func:`symgrad.numerics.optim.describe`'s record (this module is
SymPy only).

>>> from symgrad.core.derive import derive
>>> d = with_updates(derive("mse", "linear"), {"name": "momentum", "momentum": 0.9,
...                                            "dampening": 0.0})
>>> [str(s.lhs) for s in d.steps if s.kind is Kind.UPDATE][:3]
['g_w(t)', 'V_w(t + 1)', 'w(t + 1)']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import sympy as sp

from symgrad.core.steps import Derivation, Kind, Partial, Rule, Step

__all__ = ["with_updates"]

t = sp.Symbol("t", integer=True, nonnegative=True)
lr = sp.Symbol("eta", positive=True)


def _at(name: str, when: sp.Expr) -> sp.Expr:
    return sp.Function(name, real=True)(when)


def _update(name: str, p: str, g: sp.Expr, h: Mapping[str, Any]) -> list[tuple[sp.Expr, sp.Expr,
                                                                               tuple[Rule, ...]]]:
    """``(lhs, rhs, rules)`` of one parameter ``p``'s update, given its gradient ``g`` at t."""
    now, nxt = _at(p, t), _at(p, t + 1)
    if name == "gd":
        return [(nxt, now - lr * g, (Rule.GRADIENT_STEP,))]
    if name in ("momentum", "nesterov"):
        mu, damp = sp.Symbol("mu", positive=True), sp.Symbol("tau", nonnegative=True)
        b = _at(f"V_{p}", t + 1)
        keep = 1 - damp if h.get("dampening", 0) else sp.Integer(1)
        rows = [(b, mu * _at(f"V_{p}", t) + keep * g, (Rule.MOMENTUM,))]
        step = g + mu * b if name == "nesterov" else b
        rule = Rule.NESTEROV if name == "nesterov" else Rule.GRADIENT_STEP
        return [*rows, (nxt, now - lr * step, (rule,))]
    eps = sp.Symbol("epsilon", positive=True)
    if name == "adagrad":
        s = _at(f"s_{p}", t + 1)
        return [(s, _at(f"s_{p}", t) + g**2, (Rule.ADAGRAD,)),
                (nxt, now - lr * g / (sp.sqrt(s) + eps), (Rule.GRADIENT_STEP,))]
    if name == "rmsprop":
        alpha, v = sp.Symbol("alpha", positive=True), _at(f"v_{p}", t + 1)
        rows = [(v, alpha * _at(f"v_{p}", t) + (1 - alpha) * g**2, (Rule.RMSPROP,))]
        spread = v
        if h.get("centered"):
            gbar = _at(f"gbar_{p}", t + 1)
            rows.append((gbar, alpha * _at(f"gbar_{p}", t) + (1 - alpha) * g, (Rule.RMSPROP,)))
            spread = v - gbar**2
        if h.get("momentum"):
            mu, buf = sp.Symbol("mu", positive=True), _at(f"V_{p}", t + 1)
            rows.append((buf, mu * _at(f"V_{p}", t) + g / (sp.sqrt(spread) + eps),
                         (Rule.MOMENTUM,)))
            return [*rows, (nxt, now - lr * buf, (Rule.GRADIENT_STEP,))]
        return [*rows, (nxt, now - lr * g / (sp.sqrt(spread) + eps), (Rule.GRADIENT_STEP,))]
    if name == "adam":
        b1, b2 = sp.Symbol("beta1", positive=True), sp.Symbol("beta2", positive=True)
        m, v = _at(f"m_{p}", t + 1), _at(f"v_{p}", t + 1)
        mhat, vhat = _at(f"mhat_{p}", t + 1), _at(f"vhat_{p}", t + 1)
        return [
            (m, b1 * _at(f"m_{p}", t) + (1 - b1) * g, (Rule.ADAM,)),
            (v, b2 * _at(f"v_{p}", t) + (1 - b2) * g**2, (Rule.ADAM,)),
            (mhat, m / (1 - b1 ** (t + 1)), (Rule.BIAS_CORRECTION,)),
            (vhat, v / (1 - b2 ** (t + 1)), (Rule.BIAS_CORRECTION,)),
            (nxt, now - lr * mhat / (sp.sqrt(vhat) + eps), (Rule.GRADIENT_STEP,)),
        ]
    raise ValueError(f"no update rule for optimizer {name!r}")


def with_updates(d: Derivation, optimizer: Mapping[str, Any]) -> Derivation:
    """``d`` with the optimizer's update steps for every parameter it has a gradient for.

    The states start at 0 (the momentum buffer at ``g_p(0)``), t counts updates from 0.

    >>> from symgrad.core.derive import derive
    >>> d = with_updates(derive("mse", "linear"), {"name": "adam", "beta1": 0.9, "beta2": 0.999,
    ...                                            "eps": 1e-8})
    >>> d.verified, d.meta["optimizer"]["name"], len([s for s in d.steps if s.kind is Kind.UPDATE])
    (True, 'adam', 12)
    """
    name = optimizer["name"]
    steps = []
    for grad in d.gradients.values():
        p = str(grad.wrt)
        g_t = _at(f"g_{p}", t)
        steps.append(Step(Kind.UPDATE, (Rule.GRADIENT_AT_T,), g_t,
                          (Partial(d.graph.result_symbol, grad.wrt), grad.named), None))
        if name != "newton":
            for lhs, rhs, rules in _update(name, p, g_t, optimizer):
                steps.append(Step(Kind.UPDATE, rules, lhs, (rhs,), None))
    if name == "newton":  # one step for the whole vector: theta(t+1) = theta(t) - eta H^-1 g
        theta, g, H = (sp.Function(n, commutative=False) for n in ("theta", "g", "H"))
        ps = ", ".join(d.gradients)
        note = (f"; theta = ({ps}), g = ({', '.join(f'g_{p}' for p in d.gradients)}), H the "
                "Hessian (symgrad derive --hessian) at theta(t)")
        steps.append(Step(Kind.UPDATE, (Rule.NEWTON_STEP,), theta(t + 1),
                          (theta(t) - lr * H(t) ** -1 * g(t),), None, note))
    title = f"{d.title}, trained with {name}" if d.title else f"trained with {name}"
    return dataclasses.replace(d, steps=(*d.steps, *steps), title=title,
                               meta={**d.meta, "optimizer": dict(optimizer)})

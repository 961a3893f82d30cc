"""Optimizers as derivations (symgrad.core.updates): the update steps, in every format, and the
recurrences they print equal the updates symgrad trains with (symgrad.numerics.optim)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sympy.core.function import AppliedUndef

from symgrad.cli import main
from symgrad.core.derive import derive
from symgrad.core.names import DERIVE_FORMATS, OPTIMIZERS
from symgrad.core.steps import Kind
from symgrad.core.updates import with_updates
from symgrad.numerics import optim


def _state_tuple(name, values):
    """The optimizer record's state from the values of the states the steps name."""
    if name in ("momentum", "nesterov"):
        return values["V"]
    if name == "adagrad":
        return values["s"]
    if name == "rmsprop":
        return values["v"], values["gbar"], values["V"]
    if name == "adam":
        return values["m"], values["v"]
    return None


@pytest.mark.parametrize("name, hyper", [
    ("gd", {}), ("momentum", {}), ("momentum", {"dampening": 0.3}), ("nesterov", {}),
    ("adagrad", {}), ("rmsprop", {}), ("rmsprop", {"centered": True, "momentum": 0.5}),
    ("adam", {"beta1": 0.8}),
])
def test_printed_recurrences_are_the_trained_updates(name, hyper):
    """Evaluate the steps for w (state at t, gradient g, hyper-parameters) with SymPy and compare
    with the optimizer record's step from the same state."""
    opt = optim.optimizer(name, **hyper)
    desc = optim.describe(opt)
    d = with_updates(derive("mse", "linear"), desc)
    steps = [s for s in d.steps if s.kind is Kind.UPDATE]
    w_steps = steps[: len(steps) // 2]
    assert str(w_steps[0].lhs) == "g_w(t)" and w_steps[0].forms[-1] == d.gradients["w"].named
    rng = np.random.default_rng(0)
    symbol = {"momentum": "mu", "dampening": "tau", "eps": "epsilon"}
    for t in (0, 1, 4):
        w, g = float(rng.normal()), float(rng.normal())
        state = {k: float(abs(rng.normal())) for k in ("V", "s", "v", "gbar", "m")}
        state["gbar"] = 0.1 * state["gbar"] * math.sqrt(state["v"])  # v > gbar^2, as in a run
        scalars = {symbol.get(k, k): v for k, v in desc.items() if k != "name"}
        scalars.update(eta=0.1, t=t)
        funcs = {("w", t): w, ("g_w", t): g}
        funcs.update({(f"{k}_w", t): v for k, v in state.items()})
        fresh = name in ("momentum", "nesterov") and t == 0
        if fresh:
            start = None  # PyTorch's buffer starts as the first gradient: V_w(1) = g_w(0)
            funcs[("V_w", t)] = 0.0
        else:
            start = _state_tuple(name, state)

        def value(expr, scalars=scalars, funcs=funcs):
            subs = {s: scalars[s.name] for s in expr.free_symbols}
            for f in expr.atoms(AppliedUndef):
                subs[f] = funcs[(f.func.__name__, int(f.args[0].subs(subs)))]
            return float(expr.xreplace(subs).evalf(30))

        for s in w_steps[1:]:
            v = value(s.forms[-1])
            if fresh and s is w_steps[1]:
                v = g
            funcs[(s.lhs.func.__name__, t + 1)] = v
        new_w, _ = opt.step(w, g, start, 0.1, t + 1)
        assert math.isclose(funcs[("w", t + 1)], float(new_w), rel_tol=1e-12, abs_tol=1e-14)


@pytest.mark.parametrize("fmt", DERIVE_FORMATS)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_cli_derive_with_an_optimizer_in_every_format(capsys, fmt, name):
    code = main(["derive", "bce", "--model", "logistic", "--optimizer", name, "--format", fmt])
    out = capsys.readouterr().out
    assert code == 0
    if fmt == "json":
        d = json.loads(out)
        updates = [s for s in d["steps"] if s["kind"] == "update"]
        assert updates and all(s["verified"] for s in updates)
        assert d["optimizer"]["name"] == name
        assert updates[0]["text"].startswith("g_w(t) = ∂L/∂w = ")
    else:
        assert "Update the parameters" in out and "the gradient at the parameters of" in out
        assert ("Nesterov" in out) == (name == "nesterov")
        assert ("bias correction" in out) == (name == "adam")

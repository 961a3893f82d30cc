"""Optimizers and schedules (symgrad.numerics.optim) in the training loop, against independent
implementations of the algorithms as torch.optim documents them.

The reference below is written from PyTorch's documented pseudo-code, one coordinate at a time in
plain Python floats (no NumPy, nothing shared with symgrad's records); a second cross-check runs
torch itself when it is installed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from symgrad.cli import main
from symgrad.core.errors import OptionError
from symgrad.models.fit import fit
from symgrad.models.network import network
from symgrad.numerics import optim
from symgrad.numerics.train import gradient_descent

# -------------------------------------------------------------------------------------------------
# the reference: torch.optim's documented algorithms, coordinate by coordinate

DEFAULTS = {
    "gd": {},
    "momentum": {"momentum": 0.9, "dampening": 0.0},
    "nesterov": {"momentum": 0.9},
    "adagrad": {"eps": 1e-10},
    "rmsprop": {"alpha": 0.99, "eps": 1e-8, "momentum": 0.0, "centered": False},
    "adam": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
}


def reference_lr(sched: str, lr0: float, t: int, **h: float) -> float:
    """lr of update t = 0, 1, ... (torch.optim.lr_scheduler's closed forms, one step per update)."""
    if sched == "constant":
        return lr0
    if sched == "step":
        return lr0 * h.get("gamma", 0.1) ** math.floor(t / h["step_size"])
    if sched == "exponential":
        return lr0 * h["gamma"] ** t
    if sched == "cosine":
        eta = h.get("eta_min", 0.0)
        return eta + (lr0 - eta) * (1 + math.cos(math.pi * t / h["t_max"])) / 2
    if sched == "inverse":
        return lr0 / (1 + h["decay"] * t)
    raise AssertionError(sched)


def reference(name, hyper, grad, theta0, lr_of, steps):
    """The iterates theta_0..theta_steps of optimizer ``name`` (a list of lists of floats)."""
    h = {**DEFAULTS[name], **hyper}
    theta = [float(v) for v in theta0]
    n = len(theta)
    buf = [None] * n          # SGD momentum buffer b_t
    acc = [0.0] * n           # Adagrad state_sum
    sq = [0.0] * n            # RMSprop v_t
    gav = [0.0] * n           # RMSprop centered g_ave
    rbuf = [0.0] * n          # RMSprop momentum buffer
    m = [0.0] * n             # Adam m_t
    v = [0.0] * n             # Adam v_t
    out = [list(theta)]
    for t in range(1, steps + 1):
        g = [float(e) for e in grad(np.array(theta))]
        gamma = lr_of(t - 1)
        for j in range(n):
            gj = g[j]
            if name in ("gd", "momentum", "nesterov"):
                mu = h.get("momentum", 0.0)
                if mu != 0:
                    if t > 1:
                        buf[j] = mu * buf[j] + (1 - h.get("dampening", 0.0)) * gj
                    else:
                        buf[j] = gj
                    gj = gj + mu * buf[j] if name == "nesterov" else buf[j]
                theta[j] = theta[j] - gamma * gj
            elif name == "adagrad":
                acc[j] = acc[j] + gj * gj
                theta[j] = theta[j] - gamma * gj / (math.sqrt(acc[j]) + h["eps"])
            elif name == "rmsprop":
                a = h["alpha"]
                sq[j] = a * sq[j] + (1 - a) * gj * gj
                vt = sq[j]
                if h["centered"]:
                    gav[j] = a * gav[j] + (1 - a) * gj
                    vt = vt - gav[j] ** 2
                if h["momentum"] > 0:
                    rbuf[j] = h["momentum"] * rbuf[j] + gj / (math.sqrt(vt) + h["eps"])
                    theta[j] = theta[j] - gamma * rbuf[j]
                else:
                    theta[j] = theta[j] - gamma * gj / (math.sqrt(vt) + h["eps"])
            elif name == "adam":
                b1, b2 = h["beta1"], h["beta2"]
                m[j] = b1 * m[j] + (1 - b1) * gj
                v[j] = b2 * v[j] + (1 - b2) * gj * gj
                mhat = m[j] / (1 - b1**t)
                vhat = v[j] / (1 - b2**t)
                theta[j] = theta[j] - gamma * mhat / (math.sqrt(vhat) + h["eps"])
        out.append(list(theta))
    return out


# -------------------------------------------------------------------------------------------------
# random problems


def problem(seed: int, kind: str):
    """A random least-squares or logistic-regression loss over a vector theta of 4 entries."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(30, 3))
    A = np.column_stack([X, np.ones(30)])
    if kind == "mse":
        y = A @ rng.normal(size=4) + 0.3 * rng.normal(size=30)

        def loss_grad(theta):
            r = A @ theta - y
            return float(np.mean(r**2)), 2 * A.T @ r / len(y)
    else:
        y = (rng.random(30) < 0.5).astype(float)

        def loss_grad(theta):
            z = A @ theta
            p = 1 / (1 + np.exp(-z))
            loss = np.mean(np.logaddexp(0, z) - y * z)
            return float(loss), A.T @ (p - y) / len(y)

    return loss_grad, rng.normal(size=4)


CASES = [
    ("gd", {}), ("momentum", {}), ("momentum", {"momentum": 0.5, "dampening": 0.3}),
    ("nesterov", {}), ("nesterov", {"momentum": 0.7}), ("adagrad", {}), ("adagrad", {"eps": 0.1}),
    ("rmsprop", {}), ("rmsprop", {"alpha": 0.9, "momentum": 0.5}),
    ("rmsprop", {"centered": True, "eps": 1e-3}), ("adam", {}),
    ("adam", {"beta1": 0.5, "beta2": 0.9, "eps": 1e-6}),
]
SCHEDULES = [
    ("constant", {}), ("step", {"step_size": 7, "gamma": 0.5}), ("exponential", {"gamma": 0.97}),
    ("cosine", {"t_max": 40, "eta_min": 0.001}), ("inverse", {"decay": 0.1}),
]


def _trained(loss_grad, theta0, name, hyper, sched, sp, lr, steps):
    r = gradient_descent(
        lambda p, idx: (lambda lg: (lg[0], {"theta": lg[1]}))(loss_grad(p["theta"])),
        {"theta": theta0}, 30, lr=lr, max_iter=steps, tol=0, history_every=1,
        optimizer=optim.optimizer(name, **hyper), schedule=optim.schedule(sched, **sp),
    )
    assert r.stopped_because == "max_iter" and r.iterations == steps
    return np.array([row["theta"] for row in r.param_history])


@pytest.mark.parametrize("name, hyper", CASES)
@pytest.mark.parametrize("kind", ["mse", "bce"])
def test_iterates_equal_the_documented_algorithm(name, hyper, kind):
    """40 updates from 3 random starts agree to 1e-12. (Near a minimum, sign-like updates such as
    Adam's with beta2 = 0.9 amplify a rounding difference, ~1e-16 per step, by ~10x per step: the
    two orders of operations -- PyTorch's, kept by symgrad, and the documented one here -- then
    drift apart after some 50 updates, as two torch builds would.)"""
    for seed in range(3):
        loss_grad, theta0 = problem(seed, kind)
        lr = 0.05
        got = _trained(loss_grad, theta0, name, hyper, "constant", {}, lr, 40)
        want = np.array(reference(name, hyper, lambda th, lg=loss_grad: lg(th)[1], theta0,
                                  lambda t, lr=lr: lr, 40))
        assert np.max(np.abs(got - want)) <= 1e-12 * max(1.0, np.max(np.abs(want)))


@pytest.mark.parametrize("sched, sp", SCHEDULES)
@pytest.mark.parametrize("name", ["gd", "momentum", "adam"])
def test_schedules_follow_their_formulas(sched, sp, name):
    loss_grad, theta0 = problem(7, "mse")
    lr = 0.03
    got = _trained(loss_grad, theta0, name, {}, sched, sp, lr, 50)
    want = np.array(reference(name, {}, lambda th: loss_grad(th)[1], theta0,
                              lambda t: reference_lr(sched, lr, t, **sp), 50))
    assert np.max(np.abs(got - want)) <= 1e-12 * max(1.0, np.max(np.abs(want)))


def test_schedule_values():
    assert [optim.schedule("step", step_size=3).lr(1.0, t) for t in (0, 2, 3, 6)] == pytest.approx(
        [1.0, 1.0, 0.1, 0.01], rel=1e-15)
    cos = optim.schedule("cosine", t_max=10, eta_min=0.1)
    assert cos.lr(1.0, 0) == 1.0 and cos.lr(1.0, 10) == pytest.approx(0.1, abs=1e-15)
    assert cos.lr(1.0, 5) == pytest.approx(0.55, abs=1e-15)
    assert optim.schedule("inverse", decay=1.0).lr(2.0, 3) == 0.5


def test_scalar_and_array_parameters_mixed():
    """A float parameter stays a float; the state of each parameter is its own."""
    def lg(p, idx):
        w, b = p["w"], p["b"]
        return (w**2 + np.sum((b - 1) ** 2)), {"w": 2 * w, "b": 2 * (b - 1)}

    r = gradient_descent(lg, {"w": 3.0, "b": np.zeros(2)}, 1, lr=0.1, max_iter=5,
                         optimizer="adam", history_every=1)
    assert isinstance(r.params["w"], float) and r.params["b"].shape == (2,)
    ref = reference("adam", {}, lambda th: np.array([2 * th[0], 2 * (th[1] - 1), 2 * (th[2] - 1)]),
                    [3.0, 0.0, 0.0], lambda t: 0.1, 5)
    assert abs(r.params["w"] - ref[-1][0]) < 1e-15 and np.allclose(r.params["b"], ref[-1][1:],
                                                                 rtol=0, atol=1e-15)
    assert r.to_dict()["optimizer"] == {"name": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}


def test_gd_is_unchanged_and_stopping_rules_hold_for_every_optimizer():
    loss_grad, theta0 = problem(1, "mse")

    def lg(p, idx):
        value, g = loss_grad(p["theta"])
        return value, {"theta": g}

    plain = gradient_descent(lg, {"theta": theta0}, 30, lr=0.05, max_iter=200)
    explicit = gradient_descent(lg, {"theta": theta0}, 30, lr=0.05, max_iter=200, optimizer="gd")
    assert np.array_equal(plain.params["theta"], explicit.params["theta"])
    for name, lr in (("momentum", 0.02), ("nesterov", 0.02), ("rmsprop", 0.002), ("adam", 0.02),
                     ("adagrad", 0.5)):
        r = gradient_descent(lg, {"theta": theta0}, 30, lr=lr, max_iter=20000, tol=1e-10,
                             optimizer=name)
        assert r.stopped_because == "converged", name
        assert r.final_loss <= plain.loss_history[0]
        bad = gradient_descent(lg, {"theta": theta0}, 30, lr=1e6, max_iter=200, optimizer=name)
        assert bad.stopped_because == "diverged" and bad.hint, name


@pytest.mark.parametrize("name, mu", [("gd", 0.0), ("momentum", 0.5), ("momentum", 0.9),
                                      ("nesterov", 0.5), ("nesterov", 0.9)])
def test_stable_lr_is_the_edge_of_divergence(name, mu):
    """On a quadratic with curvature lambda, just below stable_lr converges, just above diverges."""
    lam = 3.0
    opt = optim.optimizer(name, **({} if name == "gd" else {"momentum": mu}))
    bound = optim.stable_lr(optim.describe(opt), lam)

    def lg(p, idx):
        return lam * p["w"] ** 2 / 2, {"w": lam * p["w"]}

    below = gradient_descent(lg, {"w": 1.0}, 1, lr=0.98 * bound, max_iter=20000, optimizer=opt)
    above = gradient_descent(lg, {"w": 1.0}, 1, lr=1.02 * bound, max_iter=20000, optimizer=opt)
    assert below.stopped_because == "converged" and abs(below.params["w"]) < 1e-6
    assert above.stopped_because == "diverged"


def test_fit_with_adam_and_a_schedule_follows_the_reference():
    rng = np.random.default_rng(3)
    x = rng.normal(size=40)
    y = 1.5 * x - 0.5 + 0.1 * rng.normal(size=40)
    r = fit("mse", "linear", (x, y), lr=0.05, max_iter=30, tol=0, optimizer="adam",
            schedule=optim.schedule("exponential", gamma=0.95), history_every=1)
    A = np.column_stack([x, np.ones(40)])
    want = reference("adam", {}, lambda th: 2 * A.T @ (A @ th - y) / 40, [0.0, 0.0],
                     lambda t: 0.05 * 0.95**t, 30)
    got = [row["theta"] for row in r.train.param_history]
    assert np.max(np.abs(np.array(got) - np.array(want))) < 1e-12
    d = r.to_dict()
    assert d["optimizer"]["name"] == "adam" and d["schedule"] == {"name": "exponential",
                                                                  "gamma": 0.95}
    assert "adam (beta1 0.9, beta2 0.999, eps 1e-08), exponential (gamma 0.95) schedule" in str(r)


def test_network_fit_with_rmsprop_follows_the_reference():
    net = network([2, 3, 1], ["tanh", "sigmoid"], "bce")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 2))
    Y = (X[:, 0] * X[:, 1] > 0).astype(float)
    p0 = net.init_params(1)
    keys = list(p0)
    shapes = [p0[k].shape for k in keys]
    flat0 = np.concatenate([p0[k].ravel() for k in keys])

    def unflat(v):
        out, i = {}, 0
        for k, s in zip(keys, shapes, strict=True):
            n = int(np.prod(s))
            out[k] = v[i:i + n].reshape(s)
            i += n
        return out

    def grad(v):
        g = net.gradients(unflat(v), X, Y)
        return np.concatenate([g[k].ravel() for k in keys])

    r = net.fit(X, Y, lr=0.01, max_iter=25, tol=0, params=p0, optimizer="rmsprop")
    want = reference("rmsprop", {}, grad, flat0, lambda t: 0.01, 25)[-1]
    got = np.concatenate([r.params[k].ravel() for k in keys])
    assert np.max(np.abs(got - np.array(want))) < 1e-12


def test_diagnosis_names_the_optimizer_and_its_bound():
    r = fit("mse", "linear", lr=0.001, max_iter=50, optimizer="momentum")
    assert r.stopped_because == "diverged"
    assert "momentum is stable only for lr < 1.5e-06" in r.why
    r = fit("mse", "linear", lr=1e-6, max_iter=50, optimizer="adam")
    assert r.stopped_because != "diverged"  # Adam's steps are about lr, whatever the scale


@pytest.mark.parametrize("call, words", [
    (lambda: optim.optimizer("adam", beta1=1.0), "beta1 must be in [0, 1), got 1.0"),
    (lambda: optim.optimizer("adam", beta2=-0.1), "beta2 must be in [0, 1)"),
    (lambda: optim.optimizer("rmsprop", eps=-1e-8), "eps must be in [0, inf)"),
    (lambda: optim.optimizer("rmsprop", alpha=float("nan")), "alpha must be in [0, 1)"),
    (lambda: optim.optimizer("sgd"), "unknown optimizer 'sgd'; choose one of: gd, momentum"),
    (lambda: optim.optimizer("adam", momentum=0.5), "adam takes no momentum"),
    (lambda: optim.optimizer("gd", eps=0.5), "gd takes no eps; it takes only the learning rate"),
    (lambda: optim.schedule("linear"), "unknown schedule 'linear'"),
    (lambda: optim.schedule("step"), "the step schedule needs step_size"),
    (lambda: optim.schedule("step", step_size=0), "step_size must be a whole number >= 1"),
    (lambda: optim.schedule("exponential", gamma=1.5), "gamma must be in (0, 1], got 1.5"),
    (lambda: optim.schedule("inverse", decay=0), "decay must be in (0, inf)"),
    (lambda: optim.schedule("cosine", t_max=5, gamma=0.1), "the cosine schedule takes no gamma"),
])
def test_library_rejects_out_of_range_values(call, words):
    with pytest.raises(OptionError) as e:
        call()
    assert words in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("argv, words", [
    (["--optimizer", "adam", "--beta1", "1"], "--beta1 must be a number in [0, 1), got '1'"),
    (["--optimizer", "adam", "--beta2", "1.5"], "--beta2 must be a number in [0, 1), got '1.5'"),
    (["--optimizer", "adam", "--eps=-1e-8"], "--eps must be a number in [0, inf), got '-1e-8'"),
    (["--optimizer", "rmsprop", "--alpha", "abc"], "--alpha must be a number in [0, 1)"),
    (["--optimizer", "momentum", "--momentum", "-0.1"], "--momentum must be a number in [0, 1)"),
    (["--schedule", "linear"], "invalid choice: 'linear'"),
    (["--optimizer", "sgd"], "invalid choice: 'sgd'"),
    (["--schedule", "step"], "--schedule step needs --step-size"),
    (["--schedule", "exponential", "--gamma", "0"], "--gamma must be a number in (0, 1]"),
    (["--schedule", "inverse", "--decay", "0"], "--decay must be a number in (0, inf)"),
    (["--optimizer", "adam", "--momentum", "0.5"],
     "--momentum does not apply to --optimizer adam (it takes --beta1, --beta2, --eps)"),
    (["--schedule", "cosine", "--gamma", "0.5"], "--gamma does not apply to --schedule cosine"),
    (["--eps", "0.1"], "--eps does not apply to --optimizer gd (it takes no hyper-parameters)"),
])
def test_cli_rejects_out_of_range_values(capsys, argv, words):
    try:
        code = main(["train", *argv])
    except SystemExit as stop:  # argparse's own errors (an unknown choice)
        code = stop.code
    out, err = capsys.readouterr()
    assert code == 2
    assert out == "" and words in err and err.count("\n") == 1


def test_cli_trains_with_an_optimizer_and_schedule(capsys):
    import json

    code = main(["train", "--standardize", "--lr", "0.1", "--optimizer", "nesterov",
                 "--momentum", "0.5", "--schedule", "cosine", "--format", "json"])
    d = json.loads(capsys.readouterr().out)
    assert code == 0 and d["stopped_because"] == "converged"
    assert d["optimizer"] == {"name": "nesterov", "momentum": 0.5, "dampening": 0.0}
    assert d["schedule"] == {"name": "cosine", "t_max": 1000, "eta_min": 0.0}
    assert abs(d["params"]["w"] - d["closed_form"]["w"]) < 1e-6
    code = main(["train", "--model", "mlp", "--layers", "1,3,1", "--activations", "tanh,identity",
                 "--loss", "mse", "--lr", "0.01", "--max-iter", "20", "--optimizer", "adam",
                 "--x", "sat", "--y", "gpa"])
    out = capsys.readouterr().out
    assert code == 0 and "adam (beta1 0.9, beta2 0.999, eps 1e-08): lr 0.01" in out


# -------------------------------------------------------------------------------------------------
# an extra cross-check against torch itself (the reference above does not need it)


TORCH = {
    "gd": ("SGD", {}), "momentum": ("SGD", {"momentum": 0.9}),
    "nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}), "adagrad": ("Adagrad", {}),
    "rmsprop": ("RMSprop", {}), "adam": ("Adam", {}),
}


@pytest.mark.parametrize("name", list(TORCH))
@pytest.mark.parametrize("sched, sp", SCHEDULES)
def test_against_torch(name, sched, sp):
    torch = pytest.importorskip("torch")
    loss_grad, theta0 = problem(11, "bce")
    lr, steps = 0.05, 40
    param = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    cls, kw = TORCH[name]
    opt = getattr(torch.optim, cls)([param], lr=lr, **kw)
    s = torch.optim.lr_scheduler
    scheduler = {
        "constant": lambda: None,
        "step": lambda: s.StepLR(opt, step_size=sp["step_size"], gamma=sp["gamma"]),
        "exponential": lambda: s.ExponentialLR(opt, gamma=sp["gamma"]),
        "cosine": lambda: s.CosineAnnealingLR(opt, T_max=sp["t_max"], eta_min=sp["eta_min"]),
        "inverse": lambda: s.LambdaLR(opt, lambda t: 1 / (1 + sp["decay"] * t)),
    }[sched]()
    want = [theta0.copy()]
    for _ in range(steps):
        opt.zero_grad()
        param.grad = torch.tensor(loss_grad(param.detach().numpy())[1], dtype=torch.float64)
        opt.step()
        if scheduler is not None:
            scheduler.step()
        want.append(param.detach().numpy().copy())
    got = _trained(loss_grad, theta0, name, {}, sched, sp, lr, steps)
    assert np.max(np.abs(got - np.array(want))) <= 1e-12

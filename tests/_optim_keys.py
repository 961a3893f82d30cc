"""The answer keys of the optimizer worksheet kinds, recomputed from the textbook formulas in
plain Python (floats and math: no symgrad optimizer, gradient or Hessian code), from an answer's
``given`` alone. Shared by tests/test_worksheet_optimizers.py and tests/test_worksheets.py."""

from __future__ import annotations

import math


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def grad(loss, w, b, xs, ys):
    """dL/dw, dL/db of the mean mse of w x + b, or the mean bce of sigmoid(w x + b)."""
    n = len(xs)
    if loss == "mse":
        r = [w * x + b - y for x, y in zip(xs, ys, strict=True)]
        return 2 / n * sum(ri * x for ri, x in zip(r, xs, strict=True)), 2 / n * sum(r)
    r = [sigmoid(w * x + b) - y for x, y in zip(xs, ys, strict=True)]
    return sum(ri * x for ri, x in zip(r, xs, strict=True)) / n, sum(r) / n


def optimizer_keys(given):
    """``{answer id without the exercise number: value}`` of an ``optimizer_steps`` exercise."""
    opt, h, lr = given["optimizer"], given["hyper"], given["lr"]
    loss = given["expr"].split()[0]
    xs, ys = given["data"]["x"], given["data"]["y"]
    p = dict(given["point"])
    state = {"w": [0.0, 0.0], "b": [0.0, 0.0]}  # V (momentum) or m, v (Adam)
    keys = {}
    for t in range(1, given["steps"] + 1):
        g = dict(zip("wb", grad(loss, p["w"], p["b"], xs, ys), strict=True))
        new = {}
        for n in "wb":
            keys[f"d{n}{t - 1}"] = g[n]
            if opt == "momentum":  # torch.optim.SGD: buf = g at t = 1, then mu buf + g
                buf = g[n] if t == 1 else h["momentum"] * state[n][0] + g[n]
                state[n][0] = keys[f"V{n}{t}"] = buf
                new[n] = p[n] - lr * buf
            else:  # Kingma & Ba, Algorithm 1
                m = h["beta1"] * state[n][0] + (1 - h["beta1"]) * g[n]
                v = h["beta2"] * state[n][1] + (1 - h["beta2"]) * g[n] ** 2
                state[n] = [m, v]
                keys[f"m{n}{t}"], keys[f"v{n}{t}"] = m, v
                mhat, vhat = m / (1 - h["beta1"] ** t), v / (1 - h["beta2"] ** t)
                new[n] = p[n] - lr * mhat / (math.sqrt(vhat) + h["eps"])
            keys[f"{n}{t}"] = new[n]
        p = new
    return keys


def newton_keys(given):
    """The same for a ``newton_step`` exercise: g, the Hessian and theta_1 = theta_0 - H^-1 g."""
    loss = given["expr"].split()[0]
    xs, ys = given["data"]["x"], given["data"]["y"]
    w, b, n = given["point"]["w"], given["point"]["b"], len(xs)
    gw, gb = grad(loss, w, b, xs, ys)
    # the textbook Hessians: (2/N) X^T X, and (1/N) X^T diag(yhat (1 - yhat)) X, X = [x, 1]
    c = [2 / n] * n if loss == "mse" else [
        sigmoid(w * x + b) * (1 - sigmoid(w * x + b)) / n for x in xs]
    hww = sum(ci * x * x for ci, x in zip(c, xs, strict=True))
    hwb = sum(ci * x for ci, x in zip(c, xs, strict=True))
    hbb = sum(c)
    det = hww * hbb - hwb * hwb
    dw, db = (hbb * gw - hwb * gb) / det, (hww * gb - hwb * gw) / det
    return {"dw": gw, "db": gb, "Hww": hww, "Hwb": hwb, "Hbb": hbb, "w1": w - dw, "b1": b - db}

"""Benchmark: time to a target loss for each optimizer, measured in one run.

1. The bundled SAT->GPA data (MSE, linear model, SAT in thousands and not standardized: a narrow
   valley, condition number about 100), through ``symgrad.fit``; the target is the closed-form
   minimum's loss plus 1e-6.
2. scikit-learn's digits (1797 samples, 64 pixels) with a 64-32-10 network (ReLU, softmax,
   cross-entropy) through ``symgrad.network(...).fit``; the target is a training loss of 0.1.

For each optimizer: the iterations to reach the target (the first recorded iteration at or below
it), then the median wall time of a run of exactly that many iterations, and its ratio to plain
gradient descent measured in the same run (the baseline). Run from the worktree:

    PYTHONPATH=. python benchmarks/bench_optim.py
"""

from __future__ import annotations

import math
import time

import numpy as np

from benchmarks._common import machine
from symgrad.core.names import OPTIMIZERS
from symgrad.models.fit import fit
from symgrad.teaching.plots import valley_problem

VALLEY_LR = {"gd": 0.4, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.5, "rmsprop": 0.02,
             "adam": 0.1, "newton": 1.0}
DIGITS_LR = {"gd": 0.5, "momentum": 0.1, "nesterov": 0.1, "adagrad": 0.05, "rmsprop": 0.002,
             "adam": 0.005}


def _median(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def _first(result, target: float) -> int | None:
    hit = np.nonzero(np.asarray(result.loss_history) <= target)[0]
    return None if len(hit) == 0 else int(result.history_iterations[hit[0]])


def valley() -> list[tuple[str, float, int | None, float]]:
    p = valley_problem()
    data = (p.X, p.y)
    cf = p.closed_form()
    target = p.loss_at(cf) + 1e-6
    rows = []
    for name in OPTIMIZERS:
        lr = VALLEY_LR[name]
        full = fit("mse", "linear", data, lr=lr, max_iter=20000, tol=0.0, optimizer=name,
                   history_every=1)
        k = _first(full.train, target)
        t = math.nan if k is None else _median(
            lambda k=k, lr=lr, name=name: fit("mse", "linear", data, lr=lr, max_iter=max(k, 1),
                                              tol=0.0, optimizer=name), 5)
        rows.append((name, lr, k, t))
    return rows


def digits() -> list[tuple[str, float, int | None, float]]:
    from sklearn.datasets import load_digits

    import symgrad

    d = load_digits()
    X, y = np.ascontiguousarray(d.data / 16.0), d.target.astype(np.int64)
    net = symgrad.network([64, 32, 10], ["relu", "softmax"], "cross_entropy")
    rows = []
    for name, lr in DIGITS_LR.items():
        full = net.fit(X, y, lr=lr, max_iter=3000, tol=0.0, optimizer=name, history_every=1)
        k = _first(full, 0.1)
        t = math.nan if k is None else _median(
            lambda k=k, lr=lr, name=name: net.fit(X, y, lr=lr, max_iter=max(k, 1), tol=0.0,
                                                  optimizer=name), 3)
        rows.append((name, lr, k, t))
    return rows


def table(title: str, rows: list[tuple[str, float, int | None, float]]) -> None:
    base = dict((r[0], r[3]) for r in rows)["gd"]
    print(f"\n## {title}\n")
    print("| optimizer | lr | iterations to target | time to target | vs gd |")
    print("|---|---:|---:|---:|---:|")
    for name, lr, k, t in rows:
        if k is None:
            print(f"| {name} | {lr:g} | not reached | — | — |")
        else:
            print(f"| {name} | {lr:g} | {k} | {t * 1e3:.2f} ms | {t / base:.3g}× |")


def main() -> None:
    print("# Optimizers: time to a target loss\n")
    print("Machine: " + "; ".join(f"{k} {v}" for k, v in machine().items()))
    table("SAT→GPA, MSE + linear, SAT in thousands (target: closed-form loss + 1e-6)", valley())
    table("digits, 64-32-10 ReLU/softmax, cross-entropy (target: training loss 0.1)", digits())


if __name__ == "__main__":
    main()

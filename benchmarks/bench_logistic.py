"""Logistic BCE on sklearn's breast-cancer data (569 x 30, standardized): one gradient.

Run by hand from the repository root (see RESULTS.md for the exact command):

    python benchmarks/bench_logistic.py [--repeats 7]

Measured in the same run: hand NumPy (textbook sigmoid, gradient only, and with the loss), JAX jit,
PyTorch autograd, and symgrad's compiled gradient (gradient only, and with the stable loss).
symgrad and hand NumPy are timed interleaved (round by round, :func:`_common.interleaved_times`):
the ratios are of medians over the same rounds, so that the machine's load hits both alike.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import interleaved_times, machine, median_time, report  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    a = ap.parse_args()
    R = a.repeats
    from sklearn.datasets import load_breast_cancer

    from symgrad import compile_gradient, derive
    from symgrad.numerics.compile import prepare

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    X, y = prepare(X, y.astype(np.float64), 30)
    n, k = X.shape
    theta = np.random.default_rng(0).normal(size=k + 1) * 0.1
    w, b = theta[:k].copy(), float(theta[k])
    results: dict[str, float] = {}

    def hand_grad():
        p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
        r = p - y
        return X.T @ r / n, r.mean()

    def hand_loss_grad():
        p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
        loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
        r = p - y
        return loss, X.T @ r / n, r.mean()

    t = time.perf_counter()
    d = derive("bce", "logistic", features=k)
    t_derive = time.perf_counter() - t
    t = time.perf_counter()
    f = compile_gradient(d)
    t_compile = time.perf_counter() - t
    rounds = interleaved_times({
        "hand NumPy: gradient": hand_grad,
        "symgrad: gradient": lambda: f.gradient(theta, X, y),
        "hand NumPy: loss + gradient": hand_loss_grad,
        "symgrad: loss + gradient (stable BCE)": lambda: f.vector(theta, X, y),
    }, 3 * R)
    results.update({name: statistics.median(ts) for name, ts in rounds.items()})

    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    jX, jy = jnp.asarray(X), jnp.asarray(y)

    def jloss(p):
        z = jX @ p[:k] + p[k]
        return jnp.mean(jax.nn.softplus(z) - jy * z)

    jgrad = jax.jit(jax.grad(jloss))
    jvg = jax.jit(jax.value_and_grad(jloss))
    jt = jnp.asarray(theta)
    results["JAX jit: gradient"] = median_time(lambda: jgrad(jt).block_until_ready(), R)
    results["JAX jit: loss + gradient"] = median_time(lambda: jax.block_until_ready(jvg(jt)), R)

    import torch

    tX, ty = torch.from_numpy(X), torch.from_numpy(y)
    tp = torch.tensor(theta, requires_grad=True)
    bce = torch.nn.functional.binary_cross_entropy_with_logits

    def torch_grad():
        tp.grad = None
        loss = bce(tX @ tp[:k] + tp[k], ty)
        loss.backward()
        return loss, tp.grad

    results["PyTorch autograd: loss + gradient"] = median_time(torch_grad, R)

    g_hand = hand_grad()
    g_sym = f.gradient(theta, X, y)
    err = max(float(np.abs(g_sym[:k] - g_hand[0]).max()), abs(g_sym[k] - g_hand[1]))

    info = machine()
    print(f"# bench_logistic: BCE, breast cancer {n} x {k} | repeats {R}")
    for key, v in info.items():
        print(f"  {key}: {v}")
    print(f"  symgrad derive (one-time): {t_derive:.2f} s, compile: {t_compile:.3f} s")
    report("one gradient (median)", list(results.items()), "us")
    print("\n## ratios (same run)")
    hg, hl = results["hand NumPy: gradient"], results["hand NumPy: loss + gradient"]
    sg, sl = results["symgrad: gradient"], results["symgrad: loss + gradient (stable BCE)"]
    pt = results["PyTorch autograd: loss + gradient"]
    print(f"  symgrad gradient / hand NumPy gradient          = {sg / hg:.3f}  (target <= 1.0)")
    print(f"  symgrad loss+gradient / hand NumPy loss+gradient = {sl / hl:.3f}  (target <= 1.0)")
    print(f"  symgrad loss+gradient / PyTorch                  = {sl / pt:.3f}  (target < 1)")
    print(f"  max |symgrad - hand| gradient difference: {err:.1e}")


if __name__ == "__main__":
    main()

"""Linear MSE at N = 1e6: one gradient, and 1000 gradient-descent steps.

Run by hand from the repository root (see RESULTS.md for the exact command):

    python benchmarks/bench_linear.py [--n 1000000] [--repeats 7]

Baselines measured in the same run: hand NumPy with a dot product (timed interleaved with
symgrad's gradient, round by round, ``ROUNDS * repeats`` rounds: the medians, and each round's
ratio), JAX jit, PyTorch (one gradient); JAX ``lax.fori_loop`` and a hand NumPy loop (1000
steps). symgrad: the compiled gradient (the residual written into the thread's reused work array
by BLAS, ``X.T @ r`` and ``r @ ones`` by BLAS) for one gradient, and
:func:`symgrad.models.fit.fit` with the statistics reduction for 1000 steps (``tol=0`` so that
all 1000 steps run; the time includes computing the statistics once, the whole training loop
with its history, and the closed form).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import interleaved_times, machine, median_time, report  # noqa: E402

from symgrad import compile_gradient, derive  # noqa: E402
from symgrad.models.fit import fit  # noqa: E402
from symgrad.numerics.compile import prepare  # noqa: E402

STEPS = 1000
#: Interleaved rounds of the one-gradient timings per ``--repeats``.
ROUNDS = 9
LR = 0.001


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--json", default=None, help="also write the numbers to this file")
    a = ap.parse_args()
    n, R = a.n, a.repeats
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    y = 2.0 * x + 1.0 + 0.1 * rng.normal(size=n)
    w0, b0 = 0.3, -0.2
    results: dict[str, float] = {}

    # ---- one gradient
    def hand_grad(w: float, b: float) -> tuple[float, float]:
        r = w * x  # temporaries: w*x, +b (in place), -y (in place): one 8 MB array
        r += b
        r -= y
        return 2.0 * (r @ x) / n, 2.0 * r.sum() / n

    f = compile_gradient(derive("mse", "linear"))
    X, Y = prepare(x, y, 1)
    theta = np.array([w0, b0])
    rounds = interleaved_times({  # round by round: the machine's load hits both alike
        "one gradient: hand NumPy (dot product)": lambda: hand_grad(w0, b0),
        "one gradient: symgrad compiled (X.T @ delta)": lambda: f.gradient(theta, X, Y),
        "one gradient + loss: symgrad compiled": lambda: f.vector(theta, X, Y),
    }, ROUNDS * R)
    results.update({name: statistics.median(ts) for name, ts in rounds.items()})
    paired = [s / h for s, h in zip(rounds["one gradient: symgrad compiled (X.T @ delta)"],
                                    rounds["one gradient: hand NumPy (dot product)"], strict=True)]

    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    jx, jy = jnp.asarray(x), jnp.asarray(y)

    def jloss(p):
        return jnp.mean((p[0] * jx + p[1] - jy) ** 2)

    jgrad = jax.jit(jax.grad(jloss))
    jp = jnp.array([w0, b0])
    results["one gradient: JAX jit"] = median_time(lambda: jgrad(jp).block_until_ready(), R)

    import torch

    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    tp = torch.tensor([w0, b0], dtype=torch.float64, requires_grad=True)

    def torch_grad():
        tp.grad = None
        loss = torch.mean((tp[0] * tx + tp[1] - ty) ** 2)
        loss.backward()
        return tp.grad

    results["one gradient: PyTorch autograd"] = median_time(torch_grad, R)

    # ---- 1000 GD steps
    def hand_loop():
        w, b = 0.0, 0.0
        for _ in range(STEPS):
            gw, gb = hand_grad(w, b)
            w, b = w - LR * gw, b - LR * gb
        return w, b

    def body(_, p):
        return p - LR * jax.grad(jloss)(p)

    jloop = jax.jit(lambda p: jax.lax.fori_loop(0, STEPS, body, p))
    jzero = jnp.zeros(2)
    r_loop = max(3, R // 2)
    results["1000 steps: JAX fori_loop"] = median_time(
        lambda: jloop(jzero).block_until_ready(), r_loop
    )
    results["1000 steps: hand NumPy loop"] = median_time(hand_loop, r_loop)

    def symgrad_fit():
        return fit("mse", "linear", (x, y), lr=LR, max_iter=STEPS, tol=0.0)

    res = symgrad_fit()
    assert res.method == "statistics" and res.iterations == STEPS, res.stopped_because
    results["1000 steps: symgrad fit (statistics reduction)"] = median_time(symgrad_fit, r_loop)

    # agreement of the answers
    hw, hb = hand_loop()
    jw, jb = (float(v) for v in jloop(jzero))
    sw, sb = res.params["w"], res.params["b"]
    agree = max(abs(hw - sw), abs(hb - sb), abs(jw - sw), abs(jb - sb))

    info = machine()
    print("# bench_linear: linear MSE, N =", n, "| repeats", R)
    for k, v in info.items():
        print(f"  {k}: {v}")
    report("one gradient (median)", [(k, v) for k, v in results.items() if "one" in k], "ms")
    report("1000 GD steps (median)", [(k, v) for k, v in results.items() if "1000" in k], "s")
    jax_loop = results["1000 steps: JAX fori_loop"]
    sym_loop = results["1000 steps: symgrad fit (statistics reduction)"]
    print("\n## ratios (same run)")
    print(f"  symgrad 1000 steps / JAX fori_loop   = {sym_loop / jax_loop:.4f}  (target <= 0.1)")
    print(
        f"  symgrad 1000 steps / hand NumPy loop = "
        f"{sym_loop / results['1000 steps: hand NumPy loop']:.4f}"
    )
    g_hand = results["one gradient: hand NumPy (dot product)"]
    print(
        f"  symgrad one gradient / hand NumPy    = "
        f"{results['one gradient: symgrad compiled (X.T @ delta)'] / g_hand:.3f}"
    )
    print(
        f"  (paired, round by round: median {statistics.median(paired):.3f}, "
        f"{sum(r > 1 for r in paired)} of {len(paired)} rounds above 1, "
        f"range {min(paired):.3f}-{max(paired):.3f})"
    )
    print(f"  final parameters agree to {agree:.1e} (symgrad vs hand NumPy vs JAX)")
    if a.json:
        Path(a.json).write_text(json.dumps({"machine": info, "seconds": results}, indent=2))


if __name__ == "__main__":
    main()

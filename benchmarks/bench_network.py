"""Benchmark: a 64-32-10 network (ReLU, softmax, cross-entropy) on scikit-learn's digits.

One gradient (loss and all four parameter gradients, 1797 samples, float64) and the time to 95%
training accuracy by full-batch gradient descent, for symgrad's layer-level backprop against
hand-written NumPy backprop, PyTorch (CPU) and JAX (jit), all measured in this run, from the same
initial parameters. Not a unit test; needs scikit-learn, and torch / jax when they are installed.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_network.py --repeats 7
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import machine, median_time  # noqa: E402

import symgrad  # noqa: E402

LR = 1.0


def hand_numpy(params: dict, X: np.ndarray, y: np.ndarray) -> tuple[float, dict]:
    """Backprop as a student writes it from the lecture (samples as rows)."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    m = X.shape[0]
    Z1 = X @ W1.T + b1
    A1 = np.maximum(Z1, 0.0)
    Z2 = A1 @ W2.T + b2
    shifted = Z2 - Z2.max(axis=1, keepdims=True)
    E = np.exp(shifted)
    S = E.sum(axis=1, keepdims=True)
    rows = np.arange(m)
    loss = float(np.mean(np.log(S[:, 0]) - shifted[rows, y]))
    dZ2 = E / S
    dZ2[rows, y] -= 1.0
    dZ2 /= m
    dW2 = dZ2.T @ A1
    db2 = dZ2.sum(axis=0)
    dA1 = dZ2 @ W2
    dZ1 = dA1 * (Z1 > 0)
    dW1 = dZ1.T @ X
    db1 = dZ1.sum(axis=0)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def accuracy(params: dict, X: np.ndarray, y: np.ndarray) -> float:
    A1 = np.maximum(X @ params["W1"].T + params["b1"], 0.0)
    return float(np.mean((A1 @ params["W2"].T + params["b2"]).argmax(axis=1) == y))


def iterations_to_95(net, params: dict, X: np.ndarray, y: np.ndarray) -> int:
    p = {k: v.copy() for k, v in params.items()}
    for t in range(1, 10_000):
        _, g = net._loss_and_grad(p, X, y)
        for k in p:
            p[k] -= LR * g[k]
        if accuracy(p, X, y) >= 0.95:
            return t
    raise RuntimeError("no 95% within 10000 iterations")


def torch_impl(params: dict, X: np.ndarray, y: np.ndarray):
    import torch

    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    P = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}

    def loss_fn(P):
        A1 = torch.relu(Xt @ P["W1"].T + P["b1"])
        return torch.nn.functional.cross_entropy(A1 @ P["W2"].T + P["b2"], yt)

    def grad():
        for v in P.values():
            v.grad = None
        loss = loss_fn(P)
        loss.backward()
        return float(loss.detach()), {k: v.grad for k, v in P.items()}

    def train(n: int) -> dict:
        Q = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
        for _ in range(n):
            for v in Q.values():
                v.grad = None
            loss_fn(Q).backward()
            with torch.no_grad():
                for v in Q.values():
                    v -= LR * v.grad
        return {k: v.detach().numpy() for k, v in Q.items()}

    return grad, train, f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)"


def jax_impl(params: dict, X: np.ndarray, y: np.ndarray):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    Xj, yj = jnp.asarray(X), jnp.asarray(y)

    def loss_fn(P):
        A1 = jax.nn.relu(Xj @ P["W1"].T + P["b1"])
        logp = jax.nn.log_softmax(A1 @ P["W2"].T + P["b2"], axis=1)
        return -jnp.mean(logp[jnp.arange(Xj.shape[0]), yj])

    vg = jax.jit(jax.value_and_grad(loss_fn))

    @jax.jit
    def step(P):
        g = jax.grad(loss_fn)(P)
        return {k: P[k] - LR * g[k] for k in P}

    P0 = {k: jnp.asarray(v) for k, v in params.items()}
    jax.block_until_ready(vg(P0))
    jax.block_until_ready(step(P0))

    def grad():
        return jax.block_until_ready(vg(P0))

    def train(n: int) -> dict:
        P = P0
        for _ in range(n):
            P = step(P)
        return {k: np.asarray(jax.block_until_ready(v)) for k, v in P.items()}

    return grad, train, f"jax {jax.__version__} (jit, x64)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    from sklearn.datasets import load_digits

    digits = load_digits()
    X, y = np.ascontiguousarray(digits.data / 16.0), digits.target.astype(np.int64)
    net = symgrad.network([64, 32, 10], ["relu", "softmax"], "cross_entropy")
    params = net.init_params(seed=0)

    info = machine()
    print("## Machine")
    for k, v in info.items():
        print(f"* {k}: {v}")
    print(f"* command: {' '.join(sys.argv)}")

    # the same gradient everywhere
    ref_loss, ref = hand_numpy(params, X, y)
    loss, got = net.loss_and_gradients(params, X, y)
    err = max(np.max(np.abs(got[k] - ref[k])) / np.max(np.abs(ref[k])) for k in ref)
    assert abs(loss - ref_loss) < 1e-12 and err < 1e-12, err

    impls = {
        "symgrad (net.loss_and_gradients, checks its input)":
            lambda: net.loss_and_gradients(params, X, y),
        "symgrad (the backprop net.fit runs)": lambda: net._loss_and_grad(params, X, y),
        "hand-written NumPy": lambda: hand_numpy(params, X, y),
    }
    trainers = {}
    for name, make in (("PyTorch CPU", torch_impl), ("JAX", jax_impl)):
        try:
            grad, train, version = make(params, X, y)
        except ImportError as e:
            print(f"* {name}: not installed ({e})")
            continue
        impls[f"{name} ({version})"] = grad
        trainers[name] = train

    # one gradient: interleaved repeats, medians
    times: dict[str, list[float]] = {k: [] for k in impls}
    for _ in range(args.repeats):
        for k, fn in impls.items():
            times[k].append(median_time(fn, repeats=1))
    med = {k: statistics.median(v) for k, v in times.items()}
    hand = med["hand-written NumPy"]
    print("\n## One gradient, 64-32-10 on 1797 digits (float64)\n")
    print("| implementation | median | vs hand NumPy |")
    print("| --- | --- | --- |")
    for k, t in med.items():
        print(f"| {k} | {t * 1e3:.3f} ms | {t / hand:.2f}x |")

    # time to 95% training accuracy, full-batch GD, lr 1.0, same init
    n95 = iterations_to_95(net, params, X, y)

    def run_symgrad() -> dict:
        return net.fit(X, y, lr=LR, max_iter=n95, tol=0.0, params=params).params

    def run_hand() -> dict:
        p = {k: v.copy() for k, v in params.items()}
        for _ in range(n95):
            _, g = hand_numpy(p, X, y)
            for k in p:
                p[k] -= LR * g[k]
        return p

    runs = {"symgrad (net.fit, the training loop)": run_symgrad, "hand-written NumPy": run_hand}
    runs.update({k: (lambda tr=tr: tr(n95)) for k, tr in trainers.items()})
    ttimes: dict[str, list[float]] = {k: [] for k in runs}
    accs: dict[str, float] = {}
    for _ in range(3 * args.repeats):  # rounds of one ~25 ms run each: 3 were too few
        for k, fn in runs.items():
            t = time.perf_counter()
            p = fn()
            ttimes[k].append(time.perf_counter() - t)
            accs[k] = accuracy(p, X, y)
    tmed = {k: statistics.median(v) for k, v in ttimes.items()}
    hand_t = tmed["hand-written NumPy"]
    print(f"\n## Time to 95% training accuracy: {n95} full-batch GD steps at lr {LR}\n")
    print("| implementation | median | vs hand NumPy | accuracy reached |")
    print("| --- | --- | --- | --- |")
    for k, t in tmed.items():
        print(f"| {k} | {t * 1e3:.1f} ms | {t / hand_t:.2f}x | {accs[k]:.1%} |")
    if "JAX" in ttimes:
        ours, jax_t = ttimes["symgrad (net.fit, the training loop)"], ttimes["JAX"]
        jax_med = tmed["JAX"]
        paired = [a / b for a, b in zip(ours, jax_t, strict=True)]
        print(f"\nsymgrad / JAX, time to 95 %: {tmed[next(iter(tmed))] / jax_med:.3f} (medians); "
              f"round by round: median {statistics.median(paired):.3f}, "
              f"{sum(r > 1 for r in paired)} of {len(paired)} rounds above 1")


if __name__ == "__main__":
    main()

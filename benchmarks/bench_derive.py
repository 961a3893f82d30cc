"""Derivation times and the training loop's overhead (the speed goals kept out of the unit tests).

Run by hand from the repository root (see RESULTS-derive.md for the exact command):

    python benchmarks/bench_derive.py [--repeats 3]

Each derivation runs in a fresh process (SymPy caches what it has seen), median of the repeats:
the engine's verified step-by-step derivation, against the baseline of plain ``sympy.diff`` of the
fully substituted loss for every parameter (no steps, no checks) in the same run. Targets from the
issues: the expanded 4-8-1 network under 5 s; a layer-level network under 2 s whatever its width.
The loop overhead is the time per iteration of ``symgrad.numerics.train.gradient_descent`` on a
gradient
that costs nothing, against a bare Python loop doing the same parameter update.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

#: name -> (code that builds the thing, code whose time is measured)
CASES = {
    "catalogue mse, linear": (
        "import symgrad",
        "symgrad.derive('mse', 'linear')",
    ),
    "catalogue bce, logistic, 30 features": (
        "import symgrad",
        "symgrad.derive('bce', 'logistic', features=30)",
    ),
    "catalogue cross_entropy, 3 classes, 2 features": (
        "import symgrad",
        "symgrad.derive('cross_entropy', 'linear', features=2, classes=3)",
    ),
    "expanded network 4-8-1 (relu, sigmoid; bce)": (
        "import symgrad; net = symgrad.network([4, 8, 1], ['relu', 'sigmoid'], 'bce')",
        "net.derive(expanded=True)",
    ),
    "layer-level network 784-512-512-256-10": (
        "import symgrad; net = symgrad.network([784, 512, 512, 256, 10], "
        "['relu', 'tanh', 'sigmoid', 'softmax'], 'cross_entropy')",
        "net.derive()",
    ),
    "layer-level network 10000 x 6 + 1": (
        "import symgrad; net = symgrad.network([10000] * 6 + [1], "
        "['leaky_relu'] * 5 + ['sigmoid'], 'bce')",
        "net.derive()",
    ),
}

#: the baseline: sympy.diff of the fully substituted per-sample loss, every parameter
BASELINES = {
    "catalogue bce, logistic, 30 features": (
        "import sympy as sp; from symgrad.core.catalogue import model_graph; "
        "from symgrad.core.functions import elementary; "
        "g = model_graph('bce', 'logistic', features=30); "
        "loss = elementary(g.full(g.output))",
        "[sp.diff(loss, p) for p in g.params]",
    ),
    "expanded network 4-8-1 (relu, sigmoid; bce)": (
        "import sympy as sp, symgrad; from symgrad.models.network_expand import expanded_graph; "
        "from symgrad.core.functions import elementary; "
        "g = expanded_graph(symgrad.network([4, 8, 1], ['relu', 'sigmoid'], 'bce')); "
        "loss = elementary(g.full(g.output))",
        "[sp.diff(loss, p) for p in g.params]",
    ),
}


def cold(setup: str, stmt: str) -> float:
    """Seconds for ``stmt`` after ``setup``, in a fresh Python process."""
    code = f"import time\n{setup}\nt = time.perf_counter()\n{stmt}\nprint(time.perf_counter() - t)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def loop_overhead(iterations: int = 20_000) -> tuple[float, float]:
    """Seconds per iteration: gradient_descent, and a bare loop with the same update."""
    import numpy as np

    from symgrad.numerics.train import gradient_descent

    def free(p, idx):
        return 1.0, {"w": 1.0, "b": np.ones(2)}

    t = time.perf_counter()
    gradient_descent(free, {"w": 1.0, "b": np.ones(2)}, 1, lr=1e-9, max_iter=iterations, tol=0)
    ours = (time.perf_counter() - t) / iterations
    w, b = 1.0, np.ones(2)
    t = time.perf_counter()
    for _ in range(iterations):
        loss, g = free({"w": w, "b": b}, None)
        w, b = w - 1e-9 * g["w"], b - 1e-9 * g["b"]
    bare = (time.perf_counter() - t) / iterations
    return ours, bare


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    repeats = ap.parse_args().repeats
    print("# bench_derive")
    for key, value in machine().items():
        print(f"  {key}: {value}")
    print(f"\n## Derivations (fresh process each, median of {repeats})")
    for name, (setup, stmt) in CASES.items():
        ours = statistics.median(cold(setup, stmt) for _ in range(repeats))
        line = f"  {name:<48} {ours:8.2f} s"
        if name in BASELINES:
            base = statistics.median(cold(*BASELINES[name]) for _ in range(repeats))
            line += f"   sympy.diff alone {base:6.2f} s   ratio {ours / base:5.1f}x"
        print(line)
    ours, bare = loop_overhead()
    print("\n## Gradient-descent loop overhead (per iteration, gradient free)")
    print(
        f"  gradient_descent {ours * 1e6:6.2f} us   bare loop {bare * 1e6:6.2f} us   "
        f"ratio {ours / bare:4.1f}x"
    )


if __name__ == "__main__":
    main()

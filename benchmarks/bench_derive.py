"""Derivation times against plain ``sympy.diff``, the expanded networks against their estimates,
and the training loop's overhead (the speed goals kept out of the unit tests; issue 18).

Run by hand from the repository root (see RESULTS-derive.md for the exact command):

    python benchmarks/bench_derive.py [--repeats 3]

Each derivation runs in a fresh Python process (SymPy caches what it has seen), and so does its
baseline: plain ``sympy.diff`` of the fully substituted per-sample loss for every parameter (no
steps, no checks), measured in the same run, interleaved (derivation, baseline, derivation, ...).
Medians of the repeats, and every run. Twice: in a fresh process (the first derivation pays for
importing SymPy, SymEngine and mpmath and for building the printers lambdify uses; the baseline
imports SymPy before its clock starts), and warm, as in a notebook, the interactive page or a
lecturer typing several derivations: the same fresh process first does one other derivation
(mae with 2 features; the baseline one other sympy.diff, of the same loss), untimed.
Targets (issue 18): every catalogue derivation, with its verification, within 10x of its
baseline; the 30-feature logistic derivation under 0.3 s; typed definitions as fast as the
catalogue (both the definitions as a lecture writes them, z = ..., yhat = sigmoid(z),
L = mean(...), and the same loss as one typed expression, against the catalogue's row, in pairs
and each after its own kind of warm-up); the expanded networks 4-8-1 < 1 s, 8-16-1 < 5 s,
4-8-4-1 < 10 s, 16-32-1 < 60 s, with the size guard's estimate within 2x of the measured time.
The loop overhead is the time per iteration of ``symgrad.numerics.train.gradient_descent`` on a
gradient that costs nothing, against a bare Python loop doing the same parameter update.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

_LOGISTIC_30 = " + ".join(f"w{j}*x{j}" for j in range(1, 31)) + " + b"
#: one typed expression (a node per operation: u, v, ..., j)
TYPED_30 = f"-(y*log(sigmoid({_LOGISTIC_30})) + (1 - y)*log(1 - sigmoid({_LOGISTIC_30})))"
#: typed definitions, as a lecture writes them: the catalogue's loss, over the samples
DEFINITIONS_30 = (f"z = {_LOGISTIC_30}\nyhat = sigmoid(z)\n"
                  "L = mean(-(y*log(yhat) + (1 - y)*log(1 - yhat)))")
WRT_30 = [f"w{j}" for j in range(1, 31)] + ["b"]


#: The untimed first derivation of a warm process, and the baseline's (a loss not timed here).
WARM_UP = "import symgrad; symgrad.derive('mae', 'linear', features=2)"
#: a typed row's warm-up: the same loss, typed (the typed path's first use is paid untimed, as
#: the catalogue row's is)
WARM_UP_TYPED = ("import symgrad; symgrad.derive_expr('mean(abs(w1*x1 + w2*x2 + b - y))', "
                 "wrt=['w1', 'w2', 'b'])")
WARM_UP_BASE = (
    "import sympy as sp; from symgrad.core.catalogue import model_graph; "
    "from symgrad.core.functions import elementary; _g = model_graph('mae', 'linear', features=2); "
    "[sp.diff(elementary(_g.full(_g.output)), p) for p in _g.params]"
)


def _catalogue(args: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """(the derivation, the baseline) of ``symgrad.derive(args)``."""
    baseline = (
        "import sympy as sp; from symgrad.core.catalogue import model_graph; "
        "from symgrad.core.functions import elementary; "
        f"g = model_graph({args}); loss = elementary(g.full(g.output) + g.penalty)",
        "[sp.diff(loss, p) for p in g.params]",
    )
    return ("import symgrad", f"symgrad.derive({args})"), baseline


#: name -> (derivation: setup, timed statement), (baseline: setup, timed statement)
CATALOGUE = {
    "mse, linear": _catalogue("'mse', 'linear'"),
    "mse, linear, 30 features": _catalogue("'mse', 'linear', features=30"),
    "mse, logistic, 30 features": _catalogue("'mse', 'logistic', features=30"),
    "bce, logistic": _catalogue("'bce', 'logistic'"),
    "bce, logistic, 30 features": _catalogue("'bce', 'logistic', features=30"),
    "bce, logistic, 30 features, l2": _catalogue("'bce', 'logistic', features=30, l2=0.1"),
    "cross_entropy, 3 classes, 2 features": _catalogue(
        "'cross_entropy', 'linear', features=2, classes=3"),
    "cross_entropy, 9 classes, 4 features": _catalogue(
        "'cross_entropy', 'linear', features=4, classes=9"),
}

def _typed(text: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """(the derivation, the baseline) of the typed ``text`` (a name in this module) with
    respect to w1, ..., w30, b; the baseline differentiates the per-sample loss."""
    baseline = (
        "import sympy as sp; from symgrad.core.definitions import typed_graph; "
        f"from symgrad.core.functions import elementary; from bench_derive import {text}, WRT_30; "
        f"g = typed_graph({text}, WRT_30); loss = elementary(g.full(g.output) + g.penalty)",
        "[sp.diff(loss, p) for p in g.params]",
    )
    return (f"import symgrad; from bench_derive import {text}, WRT_30",
            f"symgrad.derive_expr({text}, wrt=WRT_30)"), baseline


TYPED = {
    "typed definitions: z, yhat, L = mean(bce)": _typed("DEFINITIONS_30"),
    "one typed expression (bce, 30 features)": _typed("TYPED_30"),
}

#: typed row -> the catalogue row of the same loss it is compared with (in the same run)
TYPED_AGAINST = {name: "bce, logistic, 30 features" for name in TYPED}

#: sizes, activations, loss, target seconds
NETWORKS = [
    ([4, 8, 1], ["relu", "sigmoid"], "bce", 1),
    ([8, 16, 1], ["relu", "sigmoid"], "bce", 5),
    ([4, 8, 4, 1], ["relu", "tanh", "sigmoid"], "bce", 10),
    ([16, 32, 1], ["relu", "sigmoid"], "bce", 60),
    ([4, 4, 4, 1], ["relu", "relu", "sigmoid"], "bce", None),
    ([3, 4, 4], ["tanh", "softmax"], "cross_entropy", None),
    ([3, 4, 8], ["tanh", "softmax"], "cross_entropy", None),
    ([4, 8, 10], ["tanh", "softmax"], "cross_entropy", None),
    ([2, 3, 1], ["relu", "sigmoid"], "bce", None),
]

LAYER_LEVEL = {
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


def cold(setup: str, stmt: str) -> float:
    """Seconds for ``stmt`` after ``setup``, in a fresh Python process."""
    code = f"import time\n{setup}\nt = time.perf_counter()\n{stmt}\nprint(time.perf_counter() - t)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT / "benchmarks", capture_output=True, text=True,
        check=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    return float(out.stdout.strip().splitlines()[-1])


def _runs(xs: list[float]) -> str:
    return ", ".join(f"{x:.3f}" for x in xs)


def compare(name: str, ours_code: tuple[str, str], base_code: tuple[str, str], repeats: int,
            goal: str, warm: bool = False, warm_up: str = WARM_UP) -> float:
    """Print the derivation's and the baseline's medians, their ratio and every run; return the
    derivation's median."""
    if warm:  # the untimed warm-up first, in the same process
        ours_code = (f"{warm_up}; {ours_code[0]}", ours_code[1])
        base_code = (f"{WARM_UP_BASE}; {base_code[0]}", base_code[1])
    ours, base = [], []
    for _ in range(repeats):  # interleaved
        ours.append(cold(*ours_code))
        base.append(cold(*base_code))
    o, b = statistics.median(ours), statistics.median(base)
    print(f"  {name:<44} {o:6.3f} s  sympy.diff alone {b:6.3f} s  ratio {o / b:5.1f}x  {goal}")
    print(f"  {'':<44} runs: {_runs(ours)} | baseline runs: {_runs(base)}", flush=True)
    return o


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
    ap.add_argument("--only", choices=["all", "derivations", "networks"], default="all",
                    help="one part of the run (the expanded networks alone: the size guard)")
    ap.add_argument("--sizes", default="", help="with --only networks: e.g. 3-4-4,3-4-8")
    ap.add_argument("--case", action="append", default=[], help="one derivation row by its "
                    "name (repeatable), e.g. --case 'bce, logistic'")
    ap.add_argument("--warm-only", action="store_true", help="the warm derivations alone")
    a = ap.parse_args()
    repeats = a.repeats
    print("# bench_derive")
    for key, value in machine().items():
        print(f"  {key}: {value}")
    if a.only in ("all", "derivations"):
        derivations(repeats, a.case, a.warm_only)
    if a.only in ("all", "networks"):
        networks(repeats, [s for s in a.sizes.split(",") if s])
    if a.only == "all":
        rest(repeats)


def derivations(repeats: int, cases: Sequence[str] = (), warm_only: bool = False) -> None:
    def chosen(name: str) -> bool:
        return not cases or name in cases

    for warm in (True,) if warm_only else (True, False):
        how = "warm: one other derivation first, untimed" if warm else "fresh process, cold"
        print(f"\n## Catalogue and typed derivations ({how}; median of {repeats})")
        medians = {}
        for name, (ours, base) in CATALOGUE.items():
            goal = "(< 0.3 s, <= 10x)" if name == "bce, logistic, 30 features" else "(<= 10x)"
            if chosen(name):
                medians[name] = compare(name, ours, base, repeats, goal, warm)
        for name, (ours, base) in TYPED.items():
            if chosen(name):
                medians[name] = compare(name, ours, base, repeats, "(as fast as the catalogue)",
                                        warm, WARM_UP_TYPED)
        for typed, catalogue in TYPED_AGAINST.items():
            if typed in medians and catalogue in medians:
                versus(typed, catalogue, repeats, warm)
    if not cases or "typed definitions: z, yhat, L = mean(bce)" in cases:
        stages()


def versus(typed: str, catalogue: str, repeats: int, warm: bool) -> None:
    """The typed row against its catalogue row, in pairs run one after the other (fresh
    processes, each with its own kind of warm-up): every pair's ratio and their median
    (goal: at most 1.0x); and, as the noise to read it against, the catalogue row against
    itself in pairs the same way."""
    (t_setup, t_stmt), (c_setup, c_stmt) = TYPED[typed][0], CATALOGUE[catalogue][0]
    if warm:
        t_setup, c_setup = f"{WARM_UP_TYPED}; {t_setup}", f"{WARM_UP}; {c_setup}"
    ratios, same = [], []
    for _ in range(repeats):
        c = cold(c_setup, c_stmt)
        ratios.append(cold(t_setup, t_stmt) / c)
        same.append(cold(c_setup, c_stmt) / c)
    print(f"  {typed} / {catalogue}, in pairs: {statistics.median(ratios):.2f}x (goal <= 1.0x); "
          f"pairs: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"  {'':<4}noise: the catalogue / itself, in pairs: {statistics.median(same):.2f}x; "
          f"pairs: {', '.join(f'{r:.2f}' for r in same)}", flush=True)


def stages(runs: int = 25) -> None:
    """Where the typed rows' time goes, with less noise than fresh processes give: one process,
    the rows alternated, SymPy's cache cleared before each run (every run builds its expressions
    anew, as a fresh process does; the imports are paid once); the graph (built from the text,
    or from the catalogue's name) and the derivation after it, timed apart."""
    from sympy.core.cache import clear_cache

    import symgrad
    from symgrad.core import catalogue, definitions, derive

    built = {"model_graph": catalogue.model_graph, "typed_graph": definitions.typed_graph}
    spent: dict[str, float] = {}

    def timed(name: str, function):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] = time.perf_counter() - t
        return wrapper

    rows = {  # not the one typed expression: clearing the cache also clears what its longer
        # derivation (9 intermediates) keeps from its warm-up, so this would overstate it
        "bce, logistic, 30 features":
            lambda: symgrad.derive("bce", "logistic", features=30),
        "typed definitions: z, yhat, L = mean(bce)":
            lambda: symgrad.derive_expr(DEFINITIONS_30, wrt=WRT_30),
    }
    symgrad.derive("mae", "linear", features=2)  # the warm-ups of the rows above
    symgrad.derive_expr("mean(abs(w1*x1 + w2*x2 + b - y))", wrt=["w1", "w2", "b"])
    catalogue.model_graph = timed("graph", built["model_graph"])
    definitions.typed_graph = timed("graph", built["typed_graph"])
    derive_graph = derive.derive_graph
    derive.derive_graph = timed("derivation", derive_graph)
    times: dict[str, dict[str, list[float]]] = {name: {} for name in rows}
    try:
        for _ in range(runs):
            for name, run in rows.items():
                clear_cache()
                t = time.perf_counter()
                run()
                spent["total"] = time.perf_counter() - t
                for part, seconds in spent.items():
                    times[name].setdefault(part, []).append(seconds)
    finally:
        catalogue.model_graph, definitions.typed_graph = built.values()
        derive.derive_graph = derive_graph
    print(f"\n## Where the time goes (one process, rows alternated, SymPy's cache cleared before "
          f"each run; median of {runs}, ms)")
    base = statistics.median(times["bce, logistic, 30 features"]["total"]) * 1e3
    for name, parts in times.items():
        graph, rest_, total = (statistics.median(parts[k]) * 1e3 for k in
                               ("graph", "derivation", "total"))
        print(f"  {name:<44} graph {graph:6.2f}  derivation {rest_:7.2f}  total {total:7.2f}  "
              f"/ catalogue {total / base:5.3f}x")


def networks(repeats: int, only: list[str]) -> None:
    print(f"\n## Expanded networks, every step checked (fresh process each, median of {repeats})")
    for sizes, acts, loss, target in NETWORKS:
        if only and "-".join(map(str, sizes)) not in only:
            continue
        spec = f"{sizes}, {acts}, {loss!r}"
        setup = ("import symgrad; from symgrad.models.network_expand import estimated_seconds; "
                 f"net = symgrad.network({spec}); print(estimated_seconds(net))")
        code = f"import time\n{setup}\nt = time.perf_counter()\nnet.derive(expanded=True)\n" \
               "print(time.perf_counter() - t)"
        runs, est = [], 0.0
        for _ in range(repeats):
            out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                                 text=True, check=True, env={"PYTHONPATH": str(ROOT)})
            est_s, t_s = out.stdout.split()[-2:]
            est, runs = float(est_s), [*runs, float(t_s)]
        m = statistics.median(runs)
        name = f"{'-'.join(map(str, sizes))} ({', '.join(acts)}; {loss})"
        goal = f"(< {target} s)" if target else ""
        print(f"  {name:<40} {m:6.2f} s  estimate {est:6.2f} s  estimate/measured "
              f"{est / m:4.2f}  {goal}")
        print(f"  {'':<40} runs: {_runs(runs)} | load {_load()}", flush=True)


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def rest(repeats: int) -> None:
    print(f"\n## Layer-level networks (fresh process each, median of {repeats})")
    for name, (setup, stmt) in LAYER_LEVEL.items():
        ours = [cold(setup, stmt) for _ in range(repeats)]
        print(f"  {name:<44} {statistics.median(ours):6.2f} s  (< 2 s)  runs: {_runs(ours)}")
    ours, bare = loop_overhead()
    print("\n## Gradient-descent loop overhead (per iteration, gradient free)")
    print(
        f"  gradient_descent {ours * 1e6:6.2f} us   bare loop {bare * 1e6:6.2f} us   "
        f"ratio {ours / bare:4.1f}x"
    )


if __name__ == "__main__":
    main()

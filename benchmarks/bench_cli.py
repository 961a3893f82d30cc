"""Start-up time of the command line, side by side with Python's own (issue 11).

Runs each command ``REPEATS`` times, interleaved (one of each per round, so load on the machine hits
all alike), and reports the medians and ratios:

* ``symgrad --help`` against ``python -c pass`` (target: within 2x);
* ``symgrad derive mse --model linear`` against ``python -c "import sympy"`` (target: within 1.5x).

Run from the repository root: ``PYTHONPATH=. python benchmarks/bench_cli.py [REPEATS]``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

PY = sys.executable
COMMANDS = {
    "python -c pass": [PY, "-c", "pass"],
    "symgrad --help": [PY, "-m", "symgrad", "--help"],
    'python -c "import sympy"': [PY, "-c", "import sympy"],
    "symgrad derive mse --model linear": [
        PY, "-m", "symgrad", "derive", "mse", "--model", "linear"
    ],
}
PAIRS = [
    ("symgrad --help", "python -c pass", 2.0),
    ("symgrad derive mse --model linear", 'python -c "import sympy"', 1.5),
]


def seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=os.environ.copy())
    return time.perf_counter() - start


def main(repeats: int = 11) -> None:
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(repeats):
        for name, argv in COMMANDS.items():
            times[name].append(seconds(argv))
    med = {name: statistics.median(ts) for name, ts in times.items()}
    print(f"{'command':<36} {'median s':>9} {'min s':>7} {'max s':>7}  ({repeats} runs)")
    for name, ts in times.items():
        print(f"{name:<36} {med[name]:>9.3f} {min(ts):>7.3f} {max(ts):>7.3f}")
    print()
    for a, b, target in PAIRS:
        ratio = med[a] / med[b]
        verdict = "ok" if ratio <= target else "OVER"
        print(f"{a} / {b}: {ratio:.2f}x (target {target:g}x) {verdict}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 11)

"""Shared helpers for the hand-run benchmarks: timing medians and the machine description."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from importlib import metadata


def median_time(fn: Callable[[], object], repeats: int, number: int = 0) -> float:
    """Median over ``repeats`` of the mean time of ``number`` calls, in seconds (after warm-up).

    ``number=0`` picks it so that one repeat takes about 0.2 s.
    """
    t = time.perf_counter()
    fn()
    once = time.perf_counter() - t
    if number <= 0:
        number = max(1, int(0.2 / max(once, 1e-7)))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t) / number)
    return statistics.median(times)


def interleaved_times(
    fns: dict[str, Callable[[], object]], repeats: int, number: int = 0
) -> dict[str, list[float]]:
    """Mean time of ``number`` calls of each function, in rounds: every round times each
    function once, one after the other, so that a change in the machine's load hits all of them
    alike (a baseline measured minutes before the candidate is not). ``repeats`` rounds.

    ``number=0`` picks it from the slowest function so that one round takes about 0.4 s.
    """
    once = []
    for fn in fns.values():
        t = time.perf_counter()
        fn()
        once.append(time.perf_counter() - t)
    if number <= 0:
        number = max(1, int(0.4 / len(fns) / max(max(once), 1e-7)))
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            for _ in range(number):
                fn()
            times[name].append((time.perf_counter() - t) / number)
    return times


def machine() -> dict[str, str]:
    """Cores, CPU model, BLAS settings and library versions, for the results file."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {
        "cores": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE", "(unset)"),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "(unset)"),
        "load average at start": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }
    for pkg in ("numpy", "sympy", "jax", "jaxlib", "torch"):
        try:
            info[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            info[pkg] = "not installed"
    try:
        from threadpoolctl import threadpool_info

        blas = [
            f"{p['internal_api']} {p.get('version')} {p.get('architecture')} "
            f"threads={p['num_threads']}"
            for p in threadpool_info()
            if p.get("user_api") == "blas"
        ]
        info["blas"] = "; ".join(blas)
    except ImportError:
        info["blas"] = "threadpoolctl not installed"
    return info


def report(title: str, rows: list[tuple[str, float]], unit: str = "ms") -> None:
    scale = {"ms": 1e3, "us": 1e6, "s": 1.0}[unit]
    print(f"\n## {title}")
    for name, t in rows:
        print(f"  {name:<44} {t * scale:10.3f} {unit}")

"""Start-up time of the command line, side by side with Python's own (issue 11).

Runs each command ``REPEATS`` times, interleaved (one of each per round, so load on the machine hits
all alike), and reports the medians and ratios:

* ``symgrad --help`` against ``python -c pass`` (target: within 2x);
* ``symgrad derive mse --model linear`` against ``python -c "import sympy"`` (target: within 1.5x).

``symgrad`` is run the way users run it: the console script pip installs for
``[project.scripts] symgrad = "symgrad.cli:main"`` (the ``symgrad`` on PATH if there is one, else a
temporary file with the same lines as pip's script), with a bytecode cache, as an installed package
has (pip compiles on install; ``PYTHONDONTWRITEBYTECODE`` would make every run recompile symgrad).
The cache lives in a temporary ``PYTHONPYCACHEPREFIX`` for every command alike and is warmed by one
untimed round. Extra rows: ``python -m symgrad --help`` (runpy costs a few ms more) and
``python -c "import argparse"`` (the floor for a help printed by argparse). Besides wall time, the
children's CPU time (user + sys) is reported: it is less sensitive to other load on the machine.

Run from the repository root: ``PYTHONPATH=. python benchmarks/bench_cli.py [REPEATS]``.
"""

from __future__ import annotations

import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable

#: What pip (distlib) writes for ``symgrad = "symgrad.cli:main"``, after the shebang.
CONSOLE_SCRIPT = """\
# -*- coding: utf-8 -*-
import re
import sys
from symgrad.cli import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""


def console_script(tmp: Path) -> list[str]:
    """The argv prefix that runs the ``symgrad`` console script."""
    installed = shutil.which("symgrad", path=str(Path(PY).parent))
    if installed:
        return [installed]
    script = tmp / "symgrad"
    script.write_text(f"#!{PY}\n{CONSOLE_SCRIPT}")
    return [PY, str(script)]


def commands(symgrad: list[str]) -> dict[str, list[str]]:
    return {
        "python -c pass": [PY, "-c", "pass"],
        "symgrad --help": [*symgrad, "--help"],
        "python -m symgrad --help": [PY, "-m", "symgrad", "--help"],
        'python -c "import argparse"': [PY, "-c", "import argparse"],
        'python -c "import sympy"': [PY, "-c", "import sympy"],
        "symgrad derive mse --model linear": [*symgrad, "derive", "mse", "--model", "linear"],
    }


PAIRS = [
    ("symgrad --help", "python -c pass", 2.0),
    ("python -m symgrad --help", "python -c pass", None),
    ('python -c "import argparse"', "python -c pass", None),
    ("symgrad derive mse --model linear", 'python -c "import sympy"', 1.5),
]


def cpu() -> float:
    """CPU seconds (user + sys) of this process's finished children so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def seconds(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``argv``."""
    start, start_cpu = time.perf_counter(), cpu()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start, cpu() - start_cpu


def main(repeats: int = 21) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        cmds = commands(console_script(Path(tmp)))
        for argv in cmds.values():  # warm the bytecode cache
            seconds(argv, env)
        load = os.getloadavg()
        times: dict[str, list[float]] = {name: [] for name in cmds}
        cpus: dict[str, list[float]] = {name: [] for name in cmds}
        for _ in range(repeats):
            for name, argv in cmds.items():
                wall, used = seconds(argv, env)
                times[name].append(wall)
                cpus[name].append(used)
        load_after = os.getloadavg()
    print(f"{platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}")
    print(f"symgrad = {' '.join(cmds['symgrad --help'][:-1])}")
    print("load average (1, 5, 15 min): before "
          + ", ".join(f"{x:.2f}" for x in load) + "; after "
          + ", ".join(f"{x:.2f}" for x in load_after))
    med = {name: statistics.median(ts) for name, ts in times.items()}
    med_cpu = {name: statistics.median(ts) for name, ts in cpus.items()}
    print(f"{'command':<36} {'median s':>9} {'min s':>7} {'max s':>7} {'CPU s':>7}"
          f"  ({repeats} rounds; CPU: median user + sys)")
    for name, ts in times.items():
        print(f"{name:<36} {med[name]:>9.3f} {min(ts):>7.3f} {max(ts):>7.3f} {med_cpu[name]:>7.3f}")
    print()
    for a, b, target in PAIRS:
        ratio = med[a] / med[b]
        verdict = "" if target is None else (
            f" (target {target:g}x) " + ("ok" if ratio <= target else "OVER"))
        print(f"{a} / {b}: {ratio:.2f}x{verdict}; CPU {med_cpu[a] / med_cpu[b]:.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 21)

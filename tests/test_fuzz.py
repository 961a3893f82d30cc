"""Fuzz tests of ``derive`` and ``check`` (not only the parser), each input under a time limit.

Random expressions are built from the parser's whole vocabulary (every known function, powers,
towers, constants such as log(3) and sqrt(2), deep nesting) and fed to ``symgrad derive`` (with and
without a point) and ``symgrad check``. Every input must end within its budget with either a
result (exit 0/1) or one line of error (exit 2): never a traceback, a hang, or ``nan``/``inf``
printed as a value. The inputs reported in issue 12 are included verbatim.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 30.0  # seconds per input: generous for a slow CI machine; a hang is minutes

UNARY = ["exp", "log", "sqrt", "abs", "sin", "cos", "tan", "tanh", "sigmoid", "relu",
         "softplus"]
BINARY = ["max", "min", "leaky_relu"]
LEAVES = ["x", "w", "b", "y", "1", "2", "3", "1/2", "-1", "0", "log(3)", "sqrt(2)",
          "sigmoid(3)", "0.5"]

# the reports of issue 12, as typed
REPORTED = [
    ["derive", "--expr", "log(relu(x))"],
    ["derive", "--expr", "relu(tan(cos(x)))", "--at", "x=1"],
    ["check", "--expr", "x^2", "--wrt", "x", "--answer", "leaky_relu(log(x), -1)"],
    ["derive", "--expr", "max(x^x, 1001)"],
    ["derive", "--expr", "sqrt(sqrt(sqrt((sqrt(y)^-1)*(-1))))"],
    ["derive", "--expr", "tanh(" * 12 + "x" + ")" * 12],
    ["derive", "--expr", "exp(" * 8 + "x" + ")" * 8],
    ["check", "--expr", "x^2", "--wrt", "x", "--answer", "x^x^x^x^x^x^x^x^x^x"],
    ["derive", "--expr", "-(y*log(sigmoid(z)) + (1 - y)*log(1 - sigmoid(z)))", "--at",
     "y=3/10,z=700", "--format", "json"],
    ["derive", "--expr", "exp(z)", "--at", "z=800", "--format", "json"],
    ["derive", "--expr", "w*x", "--at", "w=1e200,x=1e200", "--format", "json"],
    ["derive", "--expr", "log(\n"],
]

# valid input with constant arguments that main refused (issue 12): these must be derived
ACCEPTED = [
    ["derive", "--expr", "x*softplus(log(3))"],
    ["derive", "--expr", "exp(sqrt(2))*x"],
    ["derive", "--expr", "max(sigmoid(3), w)"],
]


def expression(rng: random.Random, depth: int) -> str:
    """A random expression over the parser's vocabulary, at most ``depth`` levels deep."""
    if depth == 0 or rng.random() < 0.2:
        return rng.choice(LEAVES)
    pick = rng.random()
    if pick < 0.35:
        return f"{rng.choice(UNARY)}({expression(rng, depth - 1)})"
    if pick < 0.45:
        return f"{rng.choice(BINARY)}({expression(rng, depth - 1)}, {expression(rng, depth - 1)})"
    if pick < 0.55:
        return f"({expression(rng, depth - 1)})^{rng.choice(['2', '3', '-1', '1/2', 'x', 'w'])}"
    op = rng.choice(["+", "-", "*", "/"])
    return f"({expression(rng, depth - 1)}) {op} ({expression(rng, depth - 1)})"


def jobs(seed: int, count: int) -> list[list[str]]:
    rng = random.Random(seed)
    out: list[list[str]] = []
    for _ in range(count):
        e = expression(rng, rng.choice([2, 3, 4, 6]))
        kind = rng.random()
        if kind < 0.5:
            out.append(["derive", "--expr", e])
        elif kind < 0.75:
            at = ",".join(f"{v}={rng.choice(['1', '-2', '0', '1/3', '700', '-40'])}"
                          for v in ("x", "w", "b", "y"))
            out.append(["derive", "--expr", e, "--at", at, "--format", "json"])
        else:
            out.append(["check", "--expr", "w^2*x + b", "--wrt", "w", "--answer", e])
    return out


class Worker:
    """One ``tests/_fuzz_worker.py`` process; restarted after a job that ran over its budget."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "_fuzz_worker.py")], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def run(self, cmd: list[str]) -> tuple[dict[str, object] | None, float]:
        if self.proc is None:
            self.start()
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        start = time.monotonic()
        self.proc.stdin.write(json.dumps({"cmd": cmd}) + "\n")
        self.proc.stdin.flush()
        line: list[str] = []

        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()))
        reader.daemon = True
        reader.start()
        reader.join(BUDGET)
        elapsed = time.monotonic() - start
        if not line:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            return None, elapsed
        return json.loads(line[0]), elapsed

    def close(self) -> None:
        if self.proc is not None:
            self.proc.stdin.close()  # type: ignore[union-attr]
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()


def problems(cmd: list[str], outcome: dict[str, object] | None, elapsed: float) -> list[str]:
    """What is wrong with one outcome (nothing, for a clean result or a clean refusal)."""
    if outcome is None:
        return [f"ran over its budget of {BUDGET:.0f} s"]
    found = []
    if outcome["crash"]:
        found.append("crashed:\n" + str(outcome["crash"])[-1500:])
    err = str(outcome["stderr"]).strip()
    if "Traceback" in err:
        found.append("printed a traceback")
    if outcome["status"] not in (0, 1, 2):
        found.append(f"exit status {outcome['status']!r}")
    if outcome["status"] == 2:
        lines = err.splitlines()
        if not lines or not lines[0].startswith("symgrad"):
            found.append(f"error output is not a symgrad error line: {err[:300]!r}")
        # one line of error, plus at most the caret line of a ParseError (text + ^)
        if len(lines) > 3:
            found.append(f"error is {len(lines)} lines: {err[:300]!r}")
    out = str(outcome["stdout"])
    if "--format" in cmd and outcome["status"] == 0:
        try:
            json.loads(out, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        except ValueError as e:
            found.append(f"invalid JSON ({e}): {out[:200]!r}")
    return found


@pytest.mark.parametrize("cmd", REPORTED, ids=lambda c: " ".join(c)[:60])
def test_reported_inputs_end_cleanly(worker, cmd):
    outcome, elapsed = worker.run(cmd)
    assert not problems(cmd, outcome, elapsed), (cmd, problems(cmd, outcome, elapsed))


@pytest.mark.parametrize("cmd", ACCEPTED, ids=lambda c: " ".join(c)[:60])
def test_valid_constant_arguments_are_derived(worker, cmd):
    outcome, elapsed = worker.run(cmd)
    assert not problems(cmd, outcome, elapsed), (cmd, problems(cmd, outcome, elapsed))
    assert outcome is not None and outcome["status"] == 0, outcome


def test_random_expressions_end_cleanly(worker):
    failures = []
    for cmd in jobs(seed=12, count=int(os.environ.get("SYMGRAD_FUZZ_COUNT", "120"))):
        outcome, elapsed = worker.run(cmd)
        found = problems(cmd, outcome, elapsed)
        if found:
            failures.append((cmd, found))
    assert not failures, "\n".join(f"{' '.join(c)}: {f}" for c, f in failures[:10])

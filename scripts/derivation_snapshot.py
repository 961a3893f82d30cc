"""Printed text and check records of 49 derivations (catalogue, typed text, networks), to
compare before and after a change to the engine that should not change what is printed.

    PYTHONPATH=. python scripts/derivation_snapshot.py /tmp/before.json   # on the old commit
    PYTHONPATH=. python scripts/derivation_snapshot.py /tmp/after.json    # on the new one
    diff /tmp/before.json /tmp/after.json

A case that raises is recorded with its error, so a crash fixed (or made) shows in the diff.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from symgrad import derive, derive_expr, network

L30 = " + ".join(f"w{j}*x{j}" for j in range(1, 31)) + " + b"
W30 = [f"w{j}" for j in range(1, 31)] + ["b"]
L3 = "w1*x1 + w2*x2 + w3*x3 + b"
W3 = ["w1", "w2", "w3", "b"]
BCE = "-(y*log(yhat) + (1 - y)*log(1 - yhat))"

#: typed text and its parameters (None: every name)
TYPED = {
    "one bce 30": (f"-(y*log(sigmoid({L30})) + (1 - y)*log(1 - sigmoid({L30})))", W30),
    "one bce 3": (f"-(y*log(sigmoid({L3})) + (1 - y)*log(1 - sigmoid({L3})))", W3),
    "defs bce 30 mean": (f"z = {L30}\nyhat = sigmoid(z)\nL = mean({BCE})", W30),
    "defs bce 3": (f"z = {L3}\nyhat = sigmoid(z)\nL = {BCE}", W3),
    "one mse 3 mean": (f"mean(({L3} - y)^2)", W3),
    "one mse 3": (f"({L3} - y)^2", W3),
    "quotient": ("x*y/(x + y)", None),
    "tanh relu": ("tanh(a*x + b)^2 + relu(c*x - d)", None),
    "toy": ("3*(a + b*c)", None),
    "sub": ("a - b*c", None),
    "sigmoid formula": ("1/(1 + exp(-(w*x + b)))", ["w", "b"]),
    "softplus": ("log(1 + exp(w*x + b)) - y*(w*x + b)", ["w", "b"]),
    "exp ratio": ("exp(a*x)/(1 + exp(a*x))", ["a"]),
    "hinge where": ("mean(where(y*(w*x + b) < 1, 1 - y*(w*x + b), 0))", ["w", "b"]),
    "huber typed": ("mean(where(abs(w*x + b - y) <= 1, (w*x + b - y)^2/2, "
                    "abs(w*x + b - y) - 1/2))", ["w", "b"]),
    "log sum": ("log(exp(a) + exp(b)) - a", None),
    "poly": ("(a + b)^3 - a^2*b", None),
    "defs mse l2": ("z = w1*x1 + w2*x2 + b\nL = mean((z - y)^2) + 0.1*(w1^2 + w2^2)",
                    ["w1", "w2", "b"]),
    "defs tanh mlp": (f"h = tanh(w1*x + b1)\nyhat = sigmoid(w2*h + b2)\nL = mean({BCE})",
                      ["w1", "b1", "w2", "b2"]),
    "one 2 sums": ("(w1*x1 + w2*x2 + b - y)^2 + (w1*x1 + w2*x2 + b)^2", ["w1", "w2", "b"]),
    "sqrt": ("sqrt(a^2 + b^2)", None),
}

#: expanded networks: sizes, activations, loss
NETWORKS = {
    "2-3-1": ([2, 3, 1], ["relu", "sigmoid"], "bce"),
    "2-3-1 tanh": ([2, 3, 1], ["tanh", "sigmoid"], "bce"),
    "3-4-3": ([3, 4, 3], ["tanh", "softmax"], "cross_entropy"),
    "4-8-1": ([4, 8, 1], ["relu", "sigmoid"], "bce"),
}


def _expanded(sizes: list[int], activations: list[str], loss: str):
    return network(sizes, activations, loss).derive(expanded=True)


def cases() -> dict[str, Callable]:
    """Name -> a function making the derivation."""
    out: dict[str, Callable] = {}
    for loss in ("mse", "bce", "mae", "huber", "hinge"):
        for model in ("linear", "logistic"):
            for f in (1, 3):
                out[f"{loss},{model},{f}"] = partial(derive, loss, model, features=f)
    out["mse,linear,l2"] = partial(derive, "mse", "linear", features=2, l2=0.1)
    out["bce,logistic,30"] = partial(derive, "bce", "logistic", features=30)
    out["ce,3,2"] = partial(derive, "cross_entropy", "linear", features=2, classes=3)
    out["ce,4,3"] = partial(derive, "cross_entropy", "linear", features=3, classes=4)
    out.update({f"typed {k}": partial(derive_expr, t, w) for k, (t, w) in TYPED.items()})
    out.update({f"net {k}": partial(_expanded, *spec) for k, spec in NETWORKS.items()})
    return out


def main(path: str) -> None:
    out = {}
    start = time.time()
    for name, make in cases().items():
        try:
            d = make()
        except Exception as e:  # noqa: BLE001 - a crash is part of the record
            out[name] = {"error": f"{type(e).__name__}: {e}"}
            continue
        out[name] = {"text": str(d), "checks": [repr(s.check) for s in d.steps]}
    Path(path).write_text(json.dumps(out, indent=0, ensure_ascii=False))
    print(len(out), "derivations", round(time.time() - start, 1), "s")


if __name__ == "__main__":
    main(sys.argv[1])

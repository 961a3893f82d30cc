"""``symgrad gradcheck``: the derived gradient against central differences at a point.

For every parameter p, ``(L(p + h) - L(p - h)) / 2h`` with ``h = 1e-6 * max(1, |p|)`` is compared
with the compiled symbolic gradient; the relative error is ``|g - fd| / max(|g|, |fd|)`` (0 when
both are below 1e-10). Exit status 0 when every relative error is at most ``--tol``, else 1.
"""

from __future__ import annotations

import argparse

from symgrad.cli.options import names, nonnegative, point, positive
from symgrad.core.names import DEFAULT_LOSS, FIT_LOSSES, MODELS, RESULT_FORMATS

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing takes ~2 ms
    from typing import Any

H = 1e-6

EXAMPLES = """examples:
  symgrad gradcheck --at w=0.002,b=0.7                  # the lecture's MSE on SAT -> GPA
  symgrad gradcheck --model logistic --loss bce --data admit.csv --x gre,gpa --y admit \\
      --at w1=0.01,w2=0.5,b=-3
  symgrad gradcheck --at w=0.002,b=0.7 --l2 0.1 --tol 1e-8 --format json
"""


def add_parser(sub: argparse._SubParsersAction, summary: str) -> None:
    p = sub.add_parser(
        "gradcheck",
        help=summary,
        description="Evaluate the symbolic gradient at a point on data and compare it with "
        "central differences of the loss; exit 1 if a relative error exceeds --tol.",
        epilog=EXAMPLES,
    )
    p.add_argument("--model", default="linear", choices=MODELS, help="the model")
    p.add_argument("--loss", default=None, choices=FIT_LOSSES,
                   help="mse (linear) or bce (logistic)")
    p.add_argument("--data", default=None, metavar="FILE", help="data (default: bundled SAT->GPA)")
    p.add_argument("--x", type=names("--x"), default=None, metavar="COL[,COL]",
                   help="feature columns")
    p.add_argument("--y", default=None, metavar="COL", help="target column")
    p.add_argument("--at", type=point("--at"), default=None, metavar="w=0.5,b=-1",
                   help="the point (default zeros)")
    p.add_argument("--l2", type=positive("--l2"), default=None, metavar="LAMBDA",
                   help="l2 penalty")
    p.add_argument("--tol", type=nonnegative("--tol"), default="1e-6",
                   help="largest relative error (1e-6)")
    p.add_argument("--format", default="text", choices=RESULT_FORMATS, help="output format")
    p.set_defaults(run=run)


def check(
    model: str, loss: str | None, data: Any, x: Any, y: Any, at: dict | None, l2: float | None
) -> dict[str, dict[str, float]]:
    """``{name: {"symbolic", "numeric", "relative_error"}}`` at the point ``at``.

    >>> r = check("linear", None, ([1.0, 2.0], [1.0, 3.0]), None, None, {"w": 1.0}, None)
    >>> {k: round(v["symbolic"], 6) for k, v in r.items()}
    {'w': -2.0, 'b': -1.0}
    >>> all(v["relative_error"] < 1e-8 for v in r.values())
    True
    """
    from symgrad.models import fit
    from symgrad.numerics.compile import prepare

    loss = DEFAULT_LOSS[model] if loss is None else loss
    ds = fit.dataset(data, x, y)
    _, compiled, _ = fit.derived(loss, model, ds.n_features, l2)
    theta = fit.initial(compiled.names, at)
    X, Y = prepare(ds.X, ds.y, ds.n_features)
    _, grad = compiled.vector(theta, X, Y)
    out = {}
    for k, name in enumerate(compiled.names):
        h = H * max(1.0, abs(theta[k]))
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        fd = (compiled.vector(up, X, Y)[0] - compiled.vector(down, X, Y)[0]) / (2 * h)
        g = float(grad[k])
        scale = max(abs(g), abs(fd))
        rel = 0.0 if scale < 1e-10 else abs(g - fd) / scale
        out[name] = {"symbolic": g, "numeric": float(fd), "relative_error": float(rel)}
    return out


def run(args: argparse.Namespace) -> int:
    from symgrad.render import json as json_render

    result = check(args.model, args.loss, args.data, args.x, args.y, args.at, args.l2)
    ok = all(v["relative_error"] <= args.tol for v in result.values())
    if args.format == "json":
        print(json_render.dumps({"ok": ok, "tol": args.tol, "gradient": result}))
        return 0 if ok else 1
    print(f"{'parameter':<10} {'symbolic':>14} {'central diff':>14} {'rel. error':>10}")
    for name, v in result.items():
        mark = "" if v["relative_error"] <= args.tol else "  FAIL"
        print(
            f"{name:<10} {v['symbolic']:>14.8g} {v['numeric']:>14.8g} "
            f"{v['relative_error']:>10.2e}{mark}"
        )
    worst = max(v["relative_error"] for v in result.values())
    print(f"{'ok' if ok else 'MISMATCH'}: largest relative error {worst:.2e} (tol {args.tol:g})")
    return 0 if ok else 1

"""``symgrad plot``: the lecture's figures (slopes, learning rates, contours, loss curves, fits,
activations) as PNG, SVG or PDF.

The drawing is :func:`symgrad.teaching.plots.figure`; this module turns options into its keyword
arguments,
checks them first (kind, output format, ranges), and writes the file atomically so that a failure
leaves no partial file.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from symgrad.core.errors import OptionError, choose

# symgrad.teaching.plots (and matplotlib) are imported in run(), so other commands do not pay for
# them;
# a test checks that this copy matches symgrad.teaching.plots.KINDS.
KINDS = ("slope", "lr-comparison", "contour", "loss-curve", "fit", "activations", "graph")

EXAMPLES = """examples:
  symgrad plot slope --out slope.png
  symgrad plot slope --param b --points=2,3,4 --out slope_b.svg
  symgrad plot lr-comparison --lr 0.01,0.25,1.05 --out lr.pdf
  symgrad plot contour --out contour.png
  symgrad plot loss-curve --max-iter 30 --out loss.png
  symgrad plot fit --data my.csv --x hours --y score --out fit.png
  symgrad plot activations --range=-6,6 --out act.png
  symgrad plot graph --out toy.png                      # the lecture's j = 3(a + bc)
  symgrad plot graph --expr "sigmoid(w*x + b)" --at w=1,x=2,b=0 --out g.tex   # TikZ
  symgrad plot --gallery docs/gallery

Without --data the bundled synthetic SAT->GPA set is used, with SAT standardized (mean 0, sd 1)
because on raw SAT scores gradient descent with lr = 0.001 diverges; --raw keeps the raw scale.
Write negative values with '=': --range=-5,5, --points=-1,0,1.
"""

#: figure() option -> the command-line flag that sets it (for error messages).
FLAGS = {
    "loss": "--loss", "model": "--model", "data": "--data", "x": "--x", "y": "--y",
    "standardize": "--raw", "param": "--param", "points": "--points", "range": "--range",
    "fixed": "--fix", "lr": "--lr", "init": "--init", "max_iter": "--max-iter",
    "names": "--activations", "expr": "--expr", "at": "--at",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plot",
        help="draw a lecture figure (slope, lr-comparison, contour, loss-curve, fit, activations)",
        description="Draw one of the gradient-descent lecture's figures from symgrad's verified "
        "gradients, and write it as PNG, SVG or PDF (by the extension of --out).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("kind", nargs="?", metavar="KIND", help="one of: " + ", ".join(KINDS))
    p.add_argument("--out", metavar="FILE", help="output file: .png, .svg, .pdf, ...")
    p.add_argument("--gallery", metavar="DIR", help="write every kind with its defaults to DIR")
    p.add_argument("--loss", help="mse (default) or bce")
    p.add_argument("--model", help="linear (default for mse) or logistic (default for bce)")
    p.add_argument("--data", metavar="FILE", help="CSV/.npz/.npy data (default: bundled SAT->GPA)")
    p.add_argument("--x", metavar="COLUMN", help="the feature column")
    p.add_argument("--y", metavar="COLUMN", help="the target column")
    p.add_argument("--raw", action="store_true", help="do not standardize the feature")
    p.add_argument("--param", help="parameter on the x axis: w (default) or b")
    p.add_argument("--points", metavar="P1,P2,...", help="parameter values for the tangents")
    p.add_argument("--range", dest="range_", metavar="MIN,MAX",
                   help="range of the parameter (or of z for activations)")
    p.add_argument("--lr", metavar="LR[,LR...]", help="learning rate(s); a list for lr-comparison")
    p.add_argument("--init", metavar="w=0,b=0", help="starting values of the parameters")
    p.add_argument("--fix", metavar="b=2.9", help="values of the parameters held fixed")
    p.add_argument("--max-iter", dest="max_iter", metavar="N", help="iteration limit (1000)")
    p.add_argument("--activations", metavar="NAMES",
                   help="activations to draw (default sigmoid,tanh,relu,leaky_relu)")
    p.add_argument("--expr", metavar="TEXT", help='graph: a typed expression (default 3*(a + b*c))')
    p.add_argument("--at", metavar="a=1,b=2", help="graph: the point for values and gradients")
    p.add_argument("--dpi", default="150", help="resolution of PNG output (default 150)")
    p.set_defaults(run=run)


def _numbers(text: str, flag: str) -> list[float]:
    out = []
    for item in text.split(","):
        try:
            v = float(item.strip())
        except ValueError:
            raise OptionError(f"{flag}: {item.strip()!r} is not a number") from None
        if not math.isfinite(v):
            raise OptionError(f"{flag}: {item.strip()!r} is not a finite number")
        out.append(v)
    return out


def _assignments(text: str, flag: str) -> dict[str, float]:
    out = {}
    for item in text.split(","):
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise OptionError(f"{flag}: expected NAME=VALUE, got {item.strip()!r}")
        out[name.strip()] = _numbers(value, flag)[0]
    return out


def _positive_int(text: str, flag: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise OptionError(f"{flag}: not a whole number: {text!r}") from None
    if v < 1:
        raise OptionError(f"{flag}: must be at least 1, got {v}")
    return v


def options_from(args: argparse.Namespace) -> dict[str, Any]:
    """The :func:`symgrad.teaching.plots.figure` options the user gave (and only those)."""
    opts: dict[str, Any] = {}
    for name in ("loss", "model", "data", "x", "y", "param"):
        if getattr(args, name) is not None:
            opts[name] = getattr(args, name)
    if args.raw:
        opts["standardize"] = False
    if args.points is not None:
        opts["points"] = _numbers(args.points, "--points")
    if args.range_ is not None:
        rng = _numbers(args.range_, "--range")
        if len(rng) != 2:
            raise OptionError(f"--range takes MIN,MAX, got {args.range_!r}")
        if rng[0] >= rng[1]:
            raise OptionError(f"--range: MIN must be less than MAX, got {args.range_}")
        opts["range"] = rng
    if args.lr is not None:
        lrs = _numbers(args.lr, "--lr")
        bad = [v for v in lrs if v <= 0]
        if bad:
            raise OptionError(f"--lr: a learning rate must be positive, got {bad[0]:g}")
        opts["lr"] = lrs
    if args.init is not None:
        opts["init"] = _assignments(args.init, "--init")
    if args.fix is not None:
        opts["fixed"] = _assignments(args.fix, "--fix")
    if args.max_iter is not None:
        opts["max_iter"] = _positive_int(args.max_iter, "--max-iter")
    if args.activations is not None:
        opts["names"] = [n.strip() for n in args.activations.split(",")]
    if args.expr is not None:
        opts["expr"] = args.expr
    if args.at is not None:
        opts["at"] = _assignments(args.at, "--at")
    return opts


def run(args: argparse.Namespace) -> int:
    from symgrad.teaching.plots import KIND_OPTIONS, check_output_path, figure, gallery, save_figure

    if args.gallery is not None:
        if args.kind is not None or args.out is not None:
            raise OptionError("--gallery draws every kind; give it without KIND and --out")
        for path in gallery(args.gallery):
            print(path)
        return 0
    if args.kind is None:
        raise OptionError(f"give a plot KIND: one of {', '.join(KINDS)} (or --gallery DIR)")
    choose("plot kind", args.kind, KINDS)
    if args.out is None:
        raise OptionError("--out FILE is required (.png, .svg or .pdf)")
    if args.kind != "graph":  # the graph also writes .tex (TikZ); save_graph checks its path
        check_output_path(args.out)
    dpi = _positive_int(args.dpi, "--dpi")
    opts = options_from(args)
    extra = [FLAGS[k] for k in opts if k not in KIND_OPTIONS[args.kind]]
    if extra:
        raise OptionError(f"{', '.join(extra)} does not apply to plot {args.kind}")
    if args.kind == "graph":  # PNG/SVG/PDF, or TikZ for .tex
        from symgrad.teaching.graphdraw import save_graph
        from symgrad.teaching.plots import graph_and_values

        save_graph(*graph_and_values(opts.get("expr"), opts.get("at")), args.out)
    else:
        save_figure(figure(args.kind, **opts), args.out, dpi=dpi)
    print(args.out)
    return 0

"""``symgrad plot``: the lecture's figures (slopes, learning rates, contours, loss curves, fits,
activations) as PNG, SVG or PDF.

The drawing is :func:`symgrad.teaching.plots.figure`; this module turns options into its keyword
arguments,
checks them first (kind, output format, ranges), and writes the file atomically so that a failure
leaves no partial file.
"""

from __future__ import annotations

import argparse

from symgrad.cli.options import FLAGS, names, numbers, point, whole
from symgrad.core.errors import OptionError, choose
from symgrad.core.names import PLOT_KINDS as KINDS

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing takes ~2 ms
    from typing import Any

# symgrad.teaching.plots (and matplotlib) are imported in run(), so other commands do not pay for
# them.

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

def add_parser(sub: argparse._SubParsersAction, summary: str) -> None:
    p = sub.add_parser(
        "plot",
        help=summary,
        description="Draw one of the gradient-descent lecture's figures from symgrad's verified "
        "gradients, and write it as PNG, SVG or PDF (by the extension of --out).",
        epilog=EXAMPLES,
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
    p.add_argument("--points", type=numbers("--points"), metavar="P1,P2,...",
                   help="parameter values for the tangents")
    p.add_argument("--range", dest="range_", type=numbers("--range", count=2, increasing=True),
                   metavar="MIN,MAX",
                   help="range of the parameter (or of z for activations)")
    p.add_argument("--lr", type=numbers("--lr", positive=True), metavar="LR[,LR...]",
                   help="learning rate(s); a list for lr-comparison")
    p.add_argument("--init", type=point("--init"), metavar="w=0,b=0",
                   help="starting values of the parameters")
    p.add_argument("--fix", type=point("--fix"), metavar="b=2.9",
                   help="values of the parameters held fixed")
    p.add_argument("--max-iter", dest="max_iter", type=whole("--max-iter"), metavar="N",
                   help="iteration limit (1000)")
    p.add_argument("--activations", type=names("--activations"), metavar="NAMES",
                   help="activations to draw (default sigmoid,tanh,relu,leaky_relu)")
    p.add_argument("--expr", metavar="TEXT", help='graph: a typed expression (default 3*(a + b*c))')
    p.add_argument("--at", type=point("--at", exact=True), metavar="a=1,b=2",
                   help="graph: the point for values and gradients")
    p.add_argument("--dpi", type=whole("--dpi"), default="150",
                   help="resolution of PNG output (default 150)")
    p.set_defaults(run=run)


def options_from(args: argparse.Namespace) -> dict[str, Any]:
    """The :func:`symgrad.teaching.plots.figure` options the user gave (and only those)."""
    given = {"loss": args.loss, "model": args.model, "data": args.data, "x": args.x, "y": args.y,
             "param": args.param, "points": args.points, "range": args.range_, "lr": args.lr,
             "init": args.init, "fixed": args.fix, "max_iter": args.max_iter,
             "names": args.activations, "expr": args.expr, "at": args.at}
    opts: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if args.raw:
        opts["standardize"] = False
    return opts


def flag(option: str) -> str:
    """The flag that sets ``option`` of figure() (``standardize=False`` is ``--raw`` here)."""
    return "--raw" if option == "standardize" else FLAGS[option]


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
    opts = options_from(args)
    extra = [flag(k) for k in opts if k not in KIND_OPTIONS[args.kind]]
    if extra:
        raise OptionError(f"{', '.join(extra)} does not apply to plot {args.kind}")
    if args.kind == "graph":  # PNG/SVG/PDF, or TikZ for .tex
        from symgrad.teaching.graphdraw import save_graph
        from symgrad.teaching.plots import graph_and_values

        save_graph(*graph_and_values(opts.get("expr"), opts.get("at")), args.out)
    else:
        save_figure(figure(args.kind, **opts), args.out, dpi=args.dpi)
    print(args.out)
    return 0

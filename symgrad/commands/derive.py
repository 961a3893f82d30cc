"""``symgrad derive``: a gradient step by step, optionally evaluated on data at a point."""

from __future__ import annotations

import argparse

from ..catalogue import LOSSES, MODELS
from ..compile import compile_gradient
from ..data import load_data
from ..derive import derive
from ..parse import parse_assignments
from ..render import json as json_render
from ..render import latex, text
from ._common import FORMATS, comma_list, need, positive_float, positive_int

EXAMPLES = """examples:
  symgrad derive mse --model linear
  symgrad derive bce --model logistic --features 3 --format latex
  symgrad derive mse --model linear --at w=0.5,b=1 --data sat_gpa.csv --format json
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "derive",
        help="derive a gradient step by step with the chain rule",
        description="Derive dL/d(parameter) for a catalogue loss and model, every step named "
        "and checked against sympy.diff.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("loss", choices=LOSSES, help="the loss: %(choices)s")
    p.add_argument("--model", default="linear", choices=MODELS, help="the model (default linear)")
    p.add_argument("--features", type=positive_int, default=1, help="number of features k")
    p.add_argument("--classes", type=positive_int, default=3, help="classes K for cross_entropy")
    p.add_argument(
        "--l2",
        type=positive_float,
        default=None,
        metavar="LAMBDA",
        help="add the penalty LAMBDA * (sum of squared weights)",
    )
    p.add_argument(
        "--wrt",
        type=comma_list,
        default=None,
        metavar="w,b",
        help="parameters to differentiate by (default: all)",
    )
    p.add_argument("--format", default="text", choices=FORMATS, help="output format")
    p.add_argument(
        "--at",
        default=None,
        metavar="w=0.5,b=-1",
        help="evaluate the gradient at this point (needs --data)",
    )
    p.add_argument(
        "--data",
        default=None,
        metavar="FILE",
        help="CSV with a header: columns x (or x1..xk) and y",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    d = derive(
        args.loss,
        args.model,
        features=args.features,
        classes=args.classes,
        l2=args.l2,
        wrt=args.wrt,
    )
    values = loss_value = None
    if args.at is not None or args.data is not None:
        need(args.at, "--at", "with --data")
        need(args.data, "--data", "with --at")
        point = {str(k): float(v) for k, v in parse_assignments(args.at).items()}
        ds = load_data(args.data)
        loss_value, values = compile_gradient(d)(point, ds.X, ds.y)
    if args.format == "json":
        print(json_render.render(d, values, loss_value))
    elif args.format == "latex":
        print(latex.render(d))
    else:
        print(text.render(d))
        if values is not None:
            print(f"\nAt {args.at} on {args.data}: L = {loss_value:.6g}")
            for name, v in values.items():
                print(f"  ∂L/∂{text.symbol_text(name)} = {v:.6g}")
    return 0

"""``symgrad check``: is a student's gradient right? If not, which known mistake, and where.

Exit status 0 when the answer is correct, 1 when it is not, 2 for unusable input (an answer that
does not parse, with its column and a caret; unknown symbols; bad options).
"""

from __future__ import annotations

import argparse

from symgrad.cli.options import one_of_loss_or_expr, positive, say, shapes, whole
from symgrad.core.names import LOSSES, MODELS, RESULT_FORMATS

EXAMPLES = """examples:
  symgrad check mse --model linear --wrt w --answer "(2/N)*sum((w*x + b - y)*x)"
  symgrad check mse --wrt w --answer "2*u*x_i"              # the lecture's slide: exit 1
  symgrad check mse --wrt w --per-sample --answer "2*u*x"   # as the gradient of one sample
  symgrad check bce --model logistic --wrt w --answer "(1/N)*sum((yhat - y)*x)"
  symgrad check mse --wrt b --update --answer "b - lr*(2/N)*sum(yhat - y)"
  symgrad check --expr "(w*x + b - y)^2" --wrt w --answer "2*(w*x + b - y)*x"
  symgrad check --expr "sum((X*w - y)^2)/N" --shapes "X: N x d, w: d, y: N" --wrt w \\
      --answer "2/N * X'*(X*w - y)"                      # matrix calculus: shape, then values

answers: sum(expr) or sum(expr, i) sums over the samples i = 1..N; per-sample names x_i, y_i,
yhat_i (y_hat_i), z_i, u_i may drop the _i; the learning rate of --update is lr (eta, alpha).
"""


def add_parser(sub: argparse._SubParsersAction, summary: str) -> None:
    p = sub.add_parser(
        "check",
        help=summary,
        description="Check an answer for dL/d(parameter) (or d(expr)/d(variable)): equivalence "
        "symbolically and at random points; when wrong, the known mistake it matches and the "
        "correct derivation up to the step where it departs. Exit 0 correct, 1 wrong, 2 bad "
        "input.",
        epilog=EXAMPLES,
    )
    p.add_argument("loss", nargs="?", choices=LOSSES, help="a catalogue loss: %(choices)s")
    p.add_argument("--expr", default=None, metavar="TEXT",
                   help='a typed function instead, e.g. "(w*x + b - y)^2"')
    p.add_argument("--model", default="linear", choices=MODELS, help="the model (default linear)")
    p.add_argument("--features", type=whole("--features"), default=1, help="number of features k")
    p.add_argument("--classes", type=whole("--classes"), default=3,
                   help="classes K for cross_entropy")
    p.add_argument("--l2", type=positive("--l2"), default=None, metavar="LAMBDA",
                   help="add the penalty LAMBDA * (sum of squared weights)")
    p.add_argument("--shapes", type=shapes("--shapes"), default=None, metavar='"X: N x d, w: d"',
                   help="--expr is a matrix expression: the shape of every name; the answer's "
                   "shape is checked first, then its values at random matrices")
    p.add_argument("--wrt", required=True, metavar="w", help="the parameter (or variable)")
    p.add_argument("--answer", required=True, metavar="TEXT",
                   help='the answer to check, e.g. "(2/N)*sum((yhat - y)*x)" or "-2*u*x"')
    form = p.add_mutually_exclusive_group()
    form.add_argument("--per-sample", action="store_true",
                      help="the answer is the gradient of one sample's loss, dl_i/dw")
    form.add_argument("--update", action="store_true",
                      help="the answer is the gradient-descent step w - lr*dL/dw")
    p.add_argument("--format", default="text", choices=RESULT_FORMATS, help="output format")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from symgrad.render import json as json_render
    from symgrad.teaching.check import check_answer

    one_of_loss_or_expr(args.loss, args.expr)
    if args.shapes is not None:
        result = _check_matrix(args)
    else:
        result = check_answer(
            args.answer,
            args.loss,
            args.model,
            expr=args.expr,
            wrt=args.wrt,
            features=args.features,
            classes=args.classes,
            l2=args.l2,
            per_sample=args.per_sample,
            update=args.update,
        )
    if args.format == "json":
        print(say(json_render.dumps(result.to_dict()), "per_sample"))
    else:
        print(say(str(result), "per_sample"))
    return 0 if result.correct else 1


def _check_matrix(args: argparse.Namespace):
    """``--expr`` with ``--shapes``: a matrix answer (symgrad.teaching.check_matrix)."""
    from symgrad.core.errors import OptionError
    from symgrad.core.matrix_derive import derive_matrix
    from symgrad.teaching.check_matrix import check_matrix_answer

    for flag, given in (("--per-sample", args.per_sample), ("--update", args.update),
                        ("--l2", args.l2 is not None)):
        if given:
            raise OptionError(f"{flag} does not apply to a matrix expression (--shapes)")
    d = derive_matrix(args.expr, args.shapes, args.wrt)
    return check_matrix_answer(args.answer, d, args.wrt)

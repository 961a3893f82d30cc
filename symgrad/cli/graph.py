"""``symgrad graph``: draw a typed expression's computational graph, with values and gradients."""

from __future__ import annotations

import argparse

from symgrad.cli.options import point

EXAMPLES = """examples:
  symgrad graph --expr "3*(a + b*c)" --at a=1,b=2,c=3 --out toy.png
  symgrad graph --expr "3*(a + b*c)" --at a=1,b=2,c=3 --out toy.tex     # TikZ for lecture notes
  symgrad graph --expr "sigmoid(w*x + b)" --out graph.svg              # no --at: no values
"""


def add_parser(sub: argparse._SubParsersAction, summary: str) -> None:
    p = sub.add_parser(
        "graph",
        help=summary,
        description="Draw a typed expression's computational graph: one box per operation "
        "(u, v, ...) with its value and gradient at --at, edges labelled with local derivatives. "
        "PNG, SVG or PDF; TikZ when the file ends in .tex.",
        epilog=EXAMPLES,
    )
    p.add_argument("--expr", required=True, metavar="TEXT", help='e.g. "3*(a + b*c)"')
    p.add_argument("--at", type=point("--at", exact=True), default=None, metavar="a=1,b=2",
                   help="the point (values, gradients)")
    p.add_argument("--out", required=True, metavar="FILE", help="FILE.png|svg|pdf|tex")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from symgrad.core.derive import derive_expr
    from symgrad.core.graph import forward_backward
    from symgrad.teaching.graphdraw import save_graph  # matplotlib only when drawing

    graph = derive_expr(args.expr).graph  # the same graph the derivation uses, verified
    values = forward_backward(graph, args.at) if args.at else None
    path = save_graph(graph, values, args.out)
    print(f"wrote {path}")
    return 0

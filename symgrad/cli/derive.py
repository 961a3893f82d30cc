"""``symgrad derive``: a gradient step by step, optionally evaluated at a point.

Either a catalogue loss (``symgrad derive mse --model linear``, evaluated on a data file) or a typed
expression (``symgrad derive --expr "3*(a + b*c)" --at a=1,b=2,c=3``, with its computational graph).
"""

from __future__ import annotations

import argparse

from symgrad.cli.options import (
    columns,
    names,
    need,
    one_of_loss_or_expr,
    point,
    positive,
    shapes,
    whole,
)
from symgrad.core.errors import OptionError
from symgrad.core.names import (
    CODE_FORMATS,
    DERIVE_FORMATS,
    LOSSES,
    MATRIX_FORMATS,
    MODELS,
    NETWORK_MODEL,
    OPTIMIZERS,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing takes ~2 ms
    from typing import Any

#: --format -> the printer module in symgrad.render, imported only when printing.
RENDERERS = {"text": "text", "latex": "latex", "md": "markdown", "html": "html"}

EXAMPLES = """examples:
  symgrad derive mse --model linear
  symgrad derive bce --model logistic --features 3 --format latex
  symgrad derive mse --model linear --at w=0.5,b=1 --data data.csv --format json   # columns x, y
  symgrad derive --expr "3*(a + b*c)" --at a=1,b=2,c=3
  symgrad derive --expr "(w*x + b - y)^2" --wrt w,b --format latex
  symgrad derive --expr "3*(a + b*c)" --at a=1,b=2,c=3 --format html --interactive > page.html
  symgrad derive --expr "z = w*x + b; yhat = sigmoid(z); L = -(y*log(yhat) + (1-y)*log(1-yhat))" \\
      --wrt w,b                       # lecture-style definitions: the names are yours
  symgrad derive --expr-file loss.txt --wrt w,b --at w=0.5,b=1 --data data.csv
      # L = mean(...) or (1/N)*sum(...) over the samples; columns named like the data (x, y)
  symgrad derive --expr-file loss.txt --wrt w,b --at w=0.5,b=1 --data sat.csv --columns x=sat,y=gpa
  symgrad derive bce --model logistic --at w=0.1,b=0 --data admit.csv --columns x=gre,y=admit
  symgrad derive bce --model mlp --layers 2,3,1 --activations relu,sigmoid [--expanded]
  symgrad derive --expr "sum((X*w - y)^2)/N" --shapes "X: N x d, w: d, y: N" --wrt w
      # vectors and matrices: * matrix product, .* ./ elementwise, ' transpose
  symgrad derive --expr "-sum(y .* log(softmax(W*x + b)))" --shapes "W: k x d, x: d, b: k, y: k" \\
      --wrt W,b --format python       # a NumPy function with shape assertions
"""


def add_parser(sub: argparse._SubParsersAction, summary: str) -> None:
    p = sub.add_parser(
        "derive",
        help=summary,
        description="Derive dL/d(parameter) for a catalogue loss and model, every step named "
        "and checked against sympy.diff.",
        epilog=EXAMPLES,
    )
    p.add_argument("loss", nargs="?", choices=LOSSES, help="a catalogue loss: %(choices)s")
    p.add_argument(
        "--expr",
        default=None,
        metavar="TEXT",
        help='a typed expression instead, e.g. "3*(a + b*c)" (^ or ** for powers), or '
        'definitions "z = w*x + b; L = (z - y)^2" (--wrt names the parameters, the rest is data)',
    )
    p.add_argument(
        "--model",
        default="linear",
        choices=(*MODELS, NETWORK_MODEL),
        help="the model (default linear; mlp: a layered network)",
    )
    p.add_argument("--layers", default=None, metavar="2,3,1", help="mlp: layer sizes n0,n1,...,nL")
    p.add_argument(
        "--activations",
        default=None,
        metavar="relu,sigmoid",
        help="mlp: one activation per layer after the input",
    )
    p.add_argument(
        "--expanded",
        action="store_true",
        help="mlp: one weight at a time (small networks) instead of layer by layer",
    )
    p.add_argument("--features", type=whole("--features"), default=1, help="number of features k")
    p.add_argument("--classes", type=whole("--classes"), default=3,
                   help="classes K for cross_entropy")
    p.add_argument(
        "--l2",
        type=positive("--l2"),
        default=None,
        metavar="LAMBDA",
        help="add the penalty LAMBDA * (sum of squared weights)",
    )
    p.add_argument("--delta", type=positive("--delta"), default=None, metavar="DELTA",
                   help="huber: quadratic for |residual| <= DELTA (default 1, as PyTorch)")
    p.add_argument(
        "--wrt",
        type=names("--wrt"),
        default=None,
        metavar="w,b",
        help="parameters (or variables of --expr) to differentiate by (default: all)",
    )
    p.add_argument(
        "--expr-file",
        default=None,
        metavar="FILE",
        help="the typed definitions or expression from a file (one definition per line)",
    )
    p.add_argument(
        "--shapes",
        type=shapes("--shapes"),
        default=None,
        metavar='"X: N x d, w: d"',
        help="--expr is a matrix expression: the shape of every name (N x d a matrix, d a "
        "vector, scalar); --wrt the parameters",
    )
    p.add_argument("--format", default="text", choices=(*DERIVE_FORMATS, *CODE_FORMATS),
                   help="output format (python: --shapes only)")
    p.add_argument("--optimizer", default=None, choices=OPTIMIZERS,
                   help="also write out this optimizer's update rule per parameter")
    p.add_argument("--hessian", action="store_true",
                   help="also differentiate every gradient again: the Hessian, step by step")
    p.add_argument(
        "--standalone",
        action="store_true",
        help="a whole document (latex: compiles with pdflatex; html: a page; md: with a title)",
    )
    p.add_argument(
        "--interactive",
        action="store_true",
        help="html: a page to step through the derivation and the graph (played with --at for "
        "--expr) and to practise the gradients, checked in the page; offline (with --shapes: "
        "type each derivative and its shape)",
    )
    p.add_argument(
        "--at",
        default=None,
        type=point("--at", exact=True),
        metavar="w=0.5,b=-1",
        help="evaluate at this point (a catalogue loss also needs --data)",
    )
    p.add_argument(
        "--data",
        default=None,
        metavar="FILE",
        help="CSV with a header: columns x (or x1..xk) and y",
    )
    p.add_argument(
        "--columns",
        type=columns("--columns"),
        default=None,
        metavar="x=sat,y=gpa",
        help="the --data column of each of the loss's data names (x or x1..xk, y; a typed "
        "loss's own names); default: the column named like it",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from symgrad.core.derive import derive

    if args.expr_file is not None:
        if args.expr is not None:
            raise OptionError("give --expr or --expr-file, not both")
        args.expr = _read_expr_file(args.expr_file)
    one_of_loss_or_expr(args.loss, args.expr)
    if args.interactive and args.format != "html":
        raise OptionError("--interactive is a kind of HTML page: add --format html")
    if args.interactive and args.model == NETWORK_MODEL and args.expr is None:
        raise OptionError("--interactive applies to catalogue losses and --expr, not --model mlp")
    if args.columns is not None and args.data is None:
        raise OptionError("--columns maps the columns of --data to the loss's data names: "
                          "add --data")
    if args.shapes is not None:
        return _run_matrix(args)
    if args.format in CODE_FORMATS:
        raise OptionError(f"--format {args.format} writes the code of a matrix derivation: "
                          "give --expr with --shapes")
    if args.expr is not None:
        return _run_expr(args)
    if args.model == NETWORK_MODEL:
        return _run_mlp(args)
    d = derive(
        args.loss,
        args.model,
        features=args.features,
        classes=args.classes,
        l2=args.l2,
        wrt=args.wrt,
        delta=args.delta,
    )
    if args.hessian:
        from symgrad.core.hessian import with_hessian

        d = with_hessian(d)
    if args.optimizer is not None:
        from symgrad.core.updates import with_updates
        from symgrad.numerics import optim

        d = with_updates(d, optim.describe(optim.optimizer(args.optimizer)))
    values = loss_value = hessian = curv = None
    if args.at is not None or args.data is not None:
        from symgrad.numerics.compile import compile_gradient
        from symgrad.numerics.data import load_classes, load_data

        need(args.at, "--at", "with --data")
        need(args.data, "--data", "with --at")
        at = {k: float(v) for k, v in args.at.items()}
        x, y = _columns(args.columns, [_data_name(s) for s in d.graph.features], "y")
        if d.graph.sum_to_one:  # K classes: a class column y or one-hot columns y1..yK
            ds, Y = load_classes(args.data, args.classes, x=x, y=y)
        else:
            ds = load_data(args.data, x=x, y=y)
            Y = ds.y
        compiled = compile_gradient(d)
        loss_value, values = compiled(at, ds.X, Y)
        if args.hessian:
            from symgrad.numerics.compile import prepare
            from symgrad.numerics.hessian import compile_hessian, curvature

            h = compile_hessian(d)
            Xp, Yp = prepare(ds.X, Y, compiled.n_features, compiled.n_labels)
            theta = compiled.theta(at)
            hessian = h.values(theta, Xp, Yp)
            curv = curvature(h.matrix(theta, Xp, Yp)).to_dict()
    if args.format == "json":
        from symgrad.render import json as json_render

        print(json_render.render(d, values, loss_value, hessian, curv))
        return 0
    _print(d, args)
    if values is not None and args.format == "text":
        from symgrad.render.text import symbol_text

        print(f"\nAt {args.at} on {args.data}: L = {loss_value:.6g}")
        for name, v in values.items():
            print(f"  ∂L/∂{symbol_text(name)} = {v:.6g}")
        for key, v in (hessian or {}).items():
            row, col = map(symbol_text, key.split(","))
            below = f"∂{row}²" if row == col else f"∂{col}∂{row}"
            print(f"  ∂²L/{below} = {v:.6g}")
        if curv is not None:
            print(f"  largest stable lr (gradient descent) 2/λ_max = {curv['stable_lr']:.6g}, "
                  f"condition number λ_max/λ_min = {curv['condition_number']:.6g}")
    return 0


def _data_name(symbol: Any) -> str:
    """The data column a per-sample symbol reads: ``x_i`` -> x, ``x_i2`` -> x2, ``sat_i`` -> sat.

    >>> [_data_name(s) for s in ("x_i", "x_i2", "sat_i")]
    ['x', 'x2', 'sat']
    """
    head, _, tail = str(symbol).rpartition("_i")
    return head + tail if head and (tail == "" or tail.isdigit()) else str(symbol)


def _columns(mapping: dict[str, str] | None, features: list[str], label: str | None
             ) -> tuple[list[str] | None, str | None]:
    """The data file's feature columns and label column for ``--columns`` (None: the defaults);
    a name that is not one of the loss's data names is refused in one line.

    >>> _columns({"x": "sat", "y": "gpa"}, ["x"], "y")
    (['sat'], 'gpa')
    >>> _columns(None, ["x"], "y")
    (None, None)
    """
    if not mapping:
        return None, None
    names = [*features, *([label] if label else [])]
    mapping = {_data_name(k): v for k, v in mapping.items()}
    for name in mapping:
        if name not in names:
            raise OptionError(f"--columns: {name!r} is not a data name of the loss; its data: "
                              + ", ".join(names))
    return [mapping.get(f, f) for f in features], mapping.get(label) if label else None


def _print(d: Any, args: argparse.Namespace, at: Any = None) -> None:
    import importlib

    from symgrad.render import typed_title

    if args.interactive:  # a whole page, the graph played at --at (typed expressions)
        from symgrad.teaching.interactive import render

        print(render(d, at), end="")
        return
    renderer = importlib.import_module(f"symgrad.render.{RENDERERS[args.format]}")
    body = renderer.render(d)
    print(renderer.document(body, *typed_title(d)) if args.standalone else body)


def _run_mlp(args: argparse.Namespace) -> int:
    """``--model mlp``: the network's backprop, layer level or expanded (symgrad.models.network)."""
    from symgrad.models.network import network

    need(args.layers, "--layers", "with --model mlp")
    need(args.activations, "--activations", "with --model mlp")
    net = network(args.layers, args.activations, args.loss)
    if args.expanded:  # seconds to a minute: progress on stderr
        from symgrad.cli.progress import Progress
        from symgrad.models.network_expand import estimated_seconds

        sizes = "-".join(map(str, net.sizes))
        line = Progress(f"deriving the {sizes} network weight by weight",
                        estimate=estimated_seconds(net))
        try:
            d = net.derive(expanded=True, progress=line.stage)
        finally:
            line.close()
    else:
        d = net.derive()
    if args.format == "json":
        from symgrad.render import json as json_render

        print(json_render.render(d))
    else:
        _print(d, args)
    return 0


def _run_matrix(args: argparse.Namespace) -> int:
    """``--expr`` with ``--shapes``: matrix calculus step by step (symgrad.core.matrix_derive)."""
    import importlib

    from symgrad.core.matrix_derive import derive_matrix

    if args.expr is None:
        raise OptionError("--shapes declares the names of a matrix expression: give --expr")
    if args.format not in MATRIX_FORMATS:
        raise OptionError(f"a matrix derivation prints as {', '.join(MATRIX_FORMATS)}, "
                          f"not {args.format}")
    for flag, value in (("--at", args.at), ("--data", args.data), ("--optimizer", args.optimizer),
                        ("--hessian", args.hessian or None)):
        if value is not None:
            raise OptionError(f"{flag} does not apply to a matrix expression (--shapes)")
    d = derive_matrix(args.expr, args.shapes, args.wrt)
    if args.interactive:  # the page: step through with shapes, type derivatives and shapes
        from symgrad.teaching.interactive_matrix import render

        print(render(d), end="")
        return 0
    if args.format in RENDERERS:  # the printed page, --standalone as a whole document
        _print(d, args)
        return 0
    printer = importlib.import_module(f"symgrad.render.{args.format}")
    print(printer.render(d))
    return 0


def _run_expr(args: argparse.Namespace) -> int:
    from symgrad.core.derive import derive_expr
    from symgrad.core.graph import forward_backward

    d = derive_expr(args.expr, wrt=args.wrt)
    if d.graph.mean_over_samples:
        return _run_sample_loss(d, args)
    if args.data is not None:
        raise OptionError("--data applies to losses over samples: mean(...) or sum(...)")
    vals = None if args.at is None else forward_backward(d.graph, args.at)
    if args.format == "json":
        from symgrad.render import json as json_render

        print(json_render.dumps(json_render.to_dict(d, at=vals)))
        return 0
    _print(d, args, args.at)
    if vals is not None and args.format == "text":
        from symgrad.render.text import expr_text

        out_sym = expr_text(d.graph.output)
        print(f"\nAt {args.at}:")
        print(f"  {'node':<6} {'definition':<24} {'value':>10} {'∂' + out_sym + '/∂node':>10}")
        for s in d.graph.params:
            print(
                f"  {expr_text(s):<6} {'(input)':<24} "
                f"{_num(vals.value[s]):>10} {_num(vals.grad[s]):>10}"
            )
        for n in d.graph.nodes:
            print(
                f"  {expr_text(n.symbol):<6} {expr_text(n.expr):<24} "
                f"{_num(vals.value[n.symbol]):>10} {_num(vals.grad[n.symbol]):>10}"
            )
    return 0


#: The longest --expr-file read (each definition is also limited by the parser).
MAX_FILE = 20_000


def _read_expr_file(path: str) -> str:
    """The text of --expr-file, or one OptionError line naming the file and the problem."""
    from pathlib import Path

    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise OptionError(f"--expr-file {path} is not UTF-8 text") from None
    except OSError as e:
        raise OptionError(f"cannot read --expr-file {path}: {e.strerror}") from None
    if len(text) > MAX_FILE:
        raise OptionError(f"--expr-file {path} is longer than {MAX_FILE} characters")
    return text


def _run_sample_loss(d: Any, args: argparse.Namespace) -> int:
    """A typed loss over samples, evaluated with --at on --data (columns named like the data)."""
    values = loss_value = None
    if args.at is not None or args.data is not None:
        from symgrad.numerics.compile import compile_gradient
        from symgrad.numerics.data import load_data

        need(args.at, "--at", "with --data")
        need(args.data, "--data", "with --at")
        g = d.graph
        if len(g.labels) > 1:
            raise OptionError("--data evaluates a typed loss with one label column")
        label = _data_name(g.labels[0]) if g.labels else None
        features = [_data_name(s) for s in g.features]
        x, y = _columns(args.columns, features, label)  # the typed names unless mapped
        ds = load_data(args.data, x=x or features, y=y if y is not None else label)
        at = {k: float(v) for k, v in args.at.items()}
        params = {str(p) for p in g.params}  # the rest of --at: the penalty's constants
        constants = {k: v for k, v in at.items() if k not in params}
        loss_value, values = compile_gradient(d, constants)(at, ds.X, ds.y)
    if args.format == "json":
        from symgrad.render import json as json_render

        print(json_render.render(d, values, loss_value))
        return 0
    _print(d, args)
    if values is not None and args.format == "text":
        from symgrad.render.text import symbol_text

        name = symbol_text(str(d.graph.result_symbol))
        print(f"\nAt {args.at} on {args.data}: {name} = {loss_value:.6g}")
        for p, v in values.items():
            print(f"  ∂{name}/∂{symbol_text(p)} = {v:.6g}")
    return 0


def _num(v: Any) -> str:
    from symgrad.core.numbers import short

    return str(v) if v.is_Rational and len(str(v)) <= 10 else short(v)

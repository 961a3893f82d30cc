"""``symgrad train``: gradient descent with the derived gradients, as in the lecture.

Prints a final table (text) or the JSON contract of :meth:`symgrad.models.fit.FitResult.to_dict`. A
progress bar goes to stderr on runs longer than a second. A diverging run is a negative answer (exit
status 1, as a wrong answer to ``symgrad check``): the table shows the parameters as diverged and
says where it began, why, and what to try; no ``inf`` or ``nan`` is printed as a result, and the
JSON is strict (``null`` with a note, see :mod:`symgrad.render.json`).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, NamedTuple  # NetworkRun is a NamedTuple

from symgrad.cli.options import interval, names, nonnegative, point, positive, say, whole
from symgrad.core.errors import OptionError
from symgrad.core.names import (
    FIT_LOSSES,
    NETWORK_LOSSES,
    NETWORK_MODEL,
    OPTIMIZERS,
    RESULT_FORMATS,
    SCHEDULES,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from symgrad.models.fit import FitResult
    from symgrad.models.network import Network
    from symgrad.numerics.train import TrainResult

EXAMPLES = """examples:
  symgrad train                                   # the lecture: SAT -> GPA, lr 0.001 (diverges)
  symgrad train --standardize --lr 0.1
  symgrad train --model logistic --loss bce --data admit.csv --x gre,gpa --y admit --lr 0.5
  symgrad train --lr 1e-7 --max-iter 200 --format json
  symgrad train --loss huber --delta 0.5 --standardize --lr 0.1
  symgrad train --standardize --optimizer adam --lr 0.1 --beta1 0.8
  symgrad train --standardize --optimizer momentum --lr 0.1 --schedule cosine
  symgrad train --model mlp --layers 2,8,1 --activations tanh,sigmoid --loss bce \\
                --data xor.csv --x x1,x2 --y y --lr 0.5 --max-iter 2000
"""

#: ``--model`` name -> the function that trains it. ``linear`` and ``logistic`` are the
#: catalogue models; networks (``mlp``, issue 5) plug in here with the same signature.
RUNNERS: dict[str, Callable[[argparse.Namespace, Any], Any]] = {}


def add_parser(sub: argparse._SubParsersAction, summary: str) -> None:
    p = sub.add_parser(
        "train",
        help=summary,
        description="Gradient descent on a catalogue model: w_new = w_old - lr * dL/dw until the "
        "parameters stop changing (--tol) or --max-iter. For linear + mse the closed-form "
        "solution is shown beside the result.",
        epilog=EXAMPLES,
    )
    p.add_argument("--model", default="linear", choices=tuple(RUNNERS), help="the model")
    p.add_argument(
        "--loss",
        default=None,
        choices=tuple(dict.fromkeys((*FIT_LOSSES, *NETWORK_LOSSES))),
        help="mse (linear), bce (logistic); for mlp also cross_entropy (softmax output)",
    )
    p.add_argument("--layers", default=None, metavar="2,8,1", help="mlp: layer sizes n0,...,nL")
    p.add_argument(
        "--activations", default=None, metavar="relu,sigmoid", help="mlp: one per layer after n0"
    )
    p.add_argument(
        "--data", default=None, metavar="FILE", help="CSV/.npz/.npy (default: bundled SAT->GPA)"
    )
    p.add_argument("--x", type=names("--x"), default=None, metavar="COL[,COL]", help="features")
    p.add_argument("--y", default=None, metavar="COL", help="target column")
    p.add_argument("--lr", type=positive("--lr"), default="0.001",
                   help="learning rate (default 0.001)")
    p.add_argument("--max-iter", type=whole("--max-iter"), default="1000",
                   help="iteration limit (1000)")
    p.add_argument("--tol", type=nonnegative("--tol"), default="1e-9",
                   help="converged when |new - old| <= tol (1e-9)")
    p.add_argument("--batch-size", type=whole("--batch-size"), default=None, metavar="B",
                   help="mini-batch size")
    p.add_argument("--seed", type=whole("--seed", least=0), default="0", metavar="S",
                   help="shuffling seed (0)")
    p.add_argument("--init", type=point("--init"), default=None, metavar="w=0,b=0",
                   help="initial values (zeros)")
    p.add_argument("--l2", type=positive("--l2"), default=None, metavar="LAMBDA",
                   help="l2 penalty")
    p.add_argument("--delta", type=positive("--delta"), default=None, metavar="DELTA",
                   help="huber: where the loss turns from quadratic to linear (default 1)")
    p.add_argument(
        "--standardize", action="store_true", help="scale features to mean 0, sd 1 first"
    )
    p.add_argument("--format", default="text", choices=RESULT_FORMATS, help="output format")
    _optimizer_options(p)
    p.set_defaults(run=run)


#: hyper-parameter -> (its flag's converter, help); the names and defaults are PyTorch's.
HYPER = {
    "momentum": (interval("--momentum", 0, 1), "momentum, nesterov (0.9), rmsprop (0)"),
    "dampening": (interval("--dampening", 0, 1), "momentum: dampening (0)"),
    "beta1": (interval("--beta1", 0, 1), "adam: decay of the gradient average (0.9)"),
    "beta2": (interval("--beta2", 0, 1), "adam: decay of the squared-gradient average (0.999)"),
    "alpha": (interval("--alpha", 0, 1), "rmsprop: decay of the squared-gradient average (0.99)"),
    "eps": (interval("--eps", 0), "adam, rmsprop (1e-8), adagrad (1e-10): added to the root"),
}

#: schedule parameter -> (converter, help).
SCHEDULE_PARAMS = {
    "step_size": (whole("--step-size"), "step: updates between two cuts of the lr"),
    "gamma": (interval("--gamma", 0, 1, "(]"), "step (0.1), exponential: factor of each cut"),
    "t_max": (whole("--t-max"), "cosine: updates from lr down to --eta-min (--max-iter)"),
    "eta_min": (interval("--eta-min", 0), "cosine: the final lr (0)"),
    "decay": (interval("--decay", 0, closed="()"), "inverse: lr / (1 + decay * t)"),
}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _optimizer_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("optimizer and learning-rate schedule (torch.optim's names)")
    g.add_argument("--optimizer", default="gd", choices=OPTIMIZERS,
                   help="how a gradient becomes an update (gd)")
    for name, (convert, text) in HYPER.items():
        g.add_argument(_flag(name), type=convert, default=None, help=text)
    g.add_argument("--centered", action="store_true", default=None,
                   help="rmsprop: divide by the gradient's standard deviation")
    g.add_argument("--schedule", default=None, choices=SCHEDULES,
                   help="the lr of each update (constant)")
    for name, (convert, text) in SCHEDULE_PARAMS.items():
        g.add_argument(_flag(name), type=convert, default=None, help=text)


def training(args: argparse.Namespace) -> dict[str, Any]:
    """``optimizer`` and ``schedule`` records from the flags; a flag that does not apply to the
    chosen optimizer or schedule is an OptionError naming the flags that do."""
    from symgrad.numerics import optim

    hyper = {k: getattr(args, k) for k in (*HYPER, "centered")}
    takes = optim.hyper_parameters(args.optimizer)
    for k, v in hyper.items():
        if v is not None and k not in takes:
            rest = ", ".join(map(_flag, takes)) if takes else "no hyper-parameters"
            raise OptionError(f"{_flag(k)} does not apply to --optimizer {args.optimizer} "
                              f"(it takes {rest})")
    name = args.schedule or "constant"
    params = {k: getattr(args, k) for k in SCHEDULE_PARAMS}
    if name == "cosine" and params["t_max"] is None:
        params["t_max"] = args.max_iter
    takes = optim.schedule_parameters(name)
    for k, v in params.items():
        if v is not None and k not in takes:
            rest = ", ".join(map(_flag, takes)) if takes else "no parameters"
            raise OptionError(f"{_flag(k)} does not apply to --schedule {name} (it takes {rest})")
    missing = [k for k in optim.schedule_parameters(name, required=True) if params[k] is None]
    if missing:
        raise OptionError(f"--schedule {name} needs {' and '.join(map(_flag, missing))}")
    return {"optimizer": optim.optimizer(args.optimizer, **hyper),
            "schedule": optim.schedule(name, **params)}


def _catalogue(args: argparse.Namespace, progress: Any) -> FitResult:
    """The catalogue models (linear, logistic) through :func:`symgrad.models.fit.fit`."""
    from symgrad.models.fit import fit

    return fit(
        args.loss,
        args.model,
        args.data,
        x=args.x,
        y=args.y,
        lr=args.lr,
        max_iter=args.max_iter,
        tol=args.tol,
        batch_size=args.batch_size,
        seed=args.seed,
        init=args.init,
        standardize=args.standardize,
        l2=args.l2,
        delta=args.delta,
        progress=progress,
        **training(args),
    )


RUNNERS["linear"] = _catalogue
RUNNERS["logistic"] = _catalogue


class NetworkRun(NamedTuple):
    """A trained network: the training loop's result with the data's description and accuracy."""

    net: Network
    source: str
    n_samples: int
    lr: float
    train: TrainResult
    accuracy: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": "mlp",
            "layers": list(self.net.sizes),
            "activations": list(self.net.activations),
            "loss": self.net.loss_name,
            **self.train.to_dict(),
            "training_accuracy": self.accuracy,
        }

    def __str__(self) -> str:
        from symgrad.models.fit import method_text, number_text, source_text

        t = self.train
        arch = "-".join(str(n) for n in self.net.sizes)
        lines = [
            f"mlp {arch} ({', '.join(self.net.activations)}), {self.net.loss_name} loss: "
            f"{self.n_samples} samples from {source_text(self.source)}",
            f"{method_text(t)}: lr {self.lr:g}; {t.iterations} iterations, "
            f"stopped: {t.stopped_because}",
            "final loss: " + ("diverged" if t.stopped_because == "diverged"
                              else number_text(t.final_loss)),
        ]
        if self.accuracy is not None:
            lines.append(f"training accuracy: {100 * self.accuracy:.1f}%")
        if t.stopped_because == "diverged":
            lines.append(f"diverged from iteration {t.diverged_at}; hint: {t.hint}")
        return "\n".join(lines)


def _mlp(args: argparse.Namespace, progress: Any) -> NetworkRun:
    """``--model mlp``: a layered network (issue 5) trained with the same loop."""
    from symgrad.models.network import parse_layers, train_network
    from symgrad.numerics.data import bundled, load_classes, load_data

    if args.layers is None or args.activations is None or args.loss is None:
        raise OptionError("--model mlp needs --layers, --activations and --loss")
    given = [flag for flag, value in (("--l2", args.l2), ("--delta", args.delta),
                                      ("--standardize", args.standardize or None),
                                      ("--init", args.init)) if value is not None]
    if given:  # never silently ignored
        raise OptionError(f"{', '.join(given)}: for the catalogue models (linear, logistic), "
                          "not --model mlp")
    if args.loss == "cross_entropy":  # a class column y (0..K-1) or one-hot columns y1..yK
        classes = parse_layers(args.layers)[-1]
        data, Y = load_classes(args.data or bundled(), classes, x=args.x, y=args.y)
    else:
        data = load_data(args.data or bundled(), x=args.x, y=args.y)
        Y = data.y
    net, result = train_network(
        args.layers,
        args.activations,
        args.loss,
        data.X,
        Y,
        lr=args.lr,
        max_iter=args.max_iter,
        tol=args.tol,
        batch_size=args.batch_size,
        seed=args.seed,
        progress=progress,
        **training(args),
    )
    accuracy = None if args.loss == "mse" else net.accuracy(result.params, data.X, Y)
    return NetworkRun(net, data.source, data.n_samples, args.lr, result, accuracy)


RUNNERS[NETWORK_MODEL] = _mlp


def run(args: argparse.Namespace) -> int:
    from symgrad.cli.progress import Progress
    from symgrad.models.fit import number_text

    line = Progress("training", keep=True)

    def progress(it: int, total: int, loss: float) -> None:
        line.update(it / max(total, 1), f"{it}/{total}, loss {number_text(loss)}")

    try:
        result = RUNNERS[args.model](args, progress if args.format == "text" else None)
    finally:
        line.close()
    data = result.to_dict()
    if args.format == "json":
        from symgrad.render import json as json_render

        print(say(json_render.dumps(data), "standardize"))
    else:
        print(say(str(result), "standardize"))
    return 1 if data["stopped_because"] == "diverged" else 0

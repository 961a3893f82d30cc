r"""The catalogue: models, losses and activations as expression graphs, each with its formula.

Models (``z_i`` is the linear score of sample i)
  * ``linear``: y_hat_i = w x_i + b, or w1 x_i1 + ... + wk x_ik + b with ``features=k``.
  * ``logistic``: z_i = w x_i + b, y_hat_i = sigma(z_i) (also with k features).

Losses (means over the N samples)
  * ``mse``: L = (1/N) sum_i (y_hat_i - y_i)^2, with the helper u_i = y_hat_i - y_i.
  * ``bce``: L = -(1/N) sum_i [y_i log y_hat_i + (1 - y_i) log(1 - y_hat_i)] (logistic model only).
  * ``cross_entropy``: K linear scores z_ik = sum_j w_kj x_ij + b_k, p_ik = softmax(z_i)_k,
    L = -(1/N) sum_i sum_k y_ik log p_ik with one-hot labels (linear model only: the softmax is part
    of the loss).
  * ``mae``: L = (1/N) sum_i |u_i| with u_i = y_hat_i - y_i (linear model). At the kink u_i = 0
    the derivative is sign(0) = 0 (PyTorch's L1Loss): dL/du_i = sign(u_i)/N.
  * ``huber``: L = (1/N) sum_i Huber_delta(u_i), Huber_delta(u) = u^2/2 for |u| <= delta and
    delta (|u| - delta/2) otherwise, ``delta=1`` by default (PyTorch's HuberLoss; linear model).
    Its derivative u for |u| <= delta, delta sign(u) otherwise, is continuous: no convention needed.
  * ``hinge``: L = (1/N) sum_i max(0, m_i) with the margin m_i = 1 - y_i z_i, z_i = w x_i + b and
    labels y_i in {-1, 1} (linear model: z_i is the score). max(0, m) is ReLU(m), whose derivative
    at the kink m_i = 0 is 0 (PyTorch's relu): d/dz_i max(0, 1 - y_i z_i) = -y_i for
    y_i z_i < 1 and 0 otherwise, 0 at y_i z_i = 1.
  * ``l2=lam`` adds the penalty lam * (sum of squared weights) to any loss (biases are not
  penalized).

Activations: those of the function registry (:data:`symgrad.core.functions.FUNCTIONS`), e.g.
``sigmoid``, ``tanh``, ``relu`` (derivative 0 at z = 0, as PyTorch and JAX), ``leaky_relu`` (slope
0.01 for z <= 0), ``identity``; ``softmax`` is in ``cross_entropy``.

>>> g = model_graph("mse", "linear")
>>> [(str(n.symbol), str(n.expr)) for n in g.nodes]
[('yhat_i', 'b + w*x_i'), ('u_i', '-y_i + yhat_i'), ('ell_i', 'u_i**2')]
>>> [str(p) for p in g.params]
['w', 'b']
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from symgrad.core.errors import OptionError, choose
from symgrad.core.functions import FUNCTIONS, activations, huber, relu, sigmoid
from symgrad.core.graph import Graph, Node
from symgrad.core.names import LOSSES, MODELS

#: Activation name -> g(z) as a SymPy expression builder (the registry's activations, defaults
#: filled in: leaky_relu has slope 1/100); softmax, output only, is in ``cross_entropy``.
ACTIVATIONS: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    name: FUNCTIONS[name] for name in activations()
}

LAMBDA = sp.Symbol("lambda", positive=True)


def real(name: str) -> sp.Symbol:
    """The real symbol ``name`` (symgrad's symbols are all real, so abs and max differentiate)."""
    return sp.Symbol(name, real=True)


def _linear_score(features: int, suffix: str = "") -> tuple[sp.Expr, list, list]:
    """w . x_i + b as (expression, feature symbols, parameter symbols)."""
    if features == 1:
        xs, ws = [real("x_i")], [real("w" + suffix)]
    else:
        xs = [real(f"x_i{j}") for j in range(1, features + 1)]
        ws = [real(f"w{suffix}{j}") for j in range(1, features + 1)]
    b = real("b" + suffix)
    return sp.Add(*[w * x for w, x in zip(ws, xs, strict=True)]) + b, xs, [*ws, b]


def model_graph(
    loss: str,
    model: str = "linear",
    features: int = 1,
    classes: int = 3,
    l2: float | None = None,
    delta: float | None = None,
) -> Graph:
    """The per-sample graph of ``loss`` with ``model``, as the engine differentiates it;
    ``delta`` is huber's (1 when None).

    >>> [str(n.expr) for n in model_graph("huber", delta=2).nodes][-1]
    'huber(u_i, 2)'
    >>> [str(n.expr) for n in model_graph("hinge").nodes]
    ['b + w*x_i', '-y_i*z_i + 1', 'relu(m_i)']

    Raises :class:`~symgrad.core.errors.OptionError` for unknown names and invalid combinations.
    """
    choose("loss", loss, LOSSES)
    choose("model", model, MODELS)
    if not 1 <= features <= 30:
        raise OptionError(f"features must be between 1 and 30, got {features}")
    y, yhat, u, ell = real("y_i"), real("yhat_i"), real("u_i"), real("ell_i")

    if loss == "cross_entropy":
        if model != "linear":
            raise OptionError(
                "cross_entropy applies softmax to linear scores: use the linear model",
                option="model",
            )
        if not 2 <= classes <= 9:
            raise OptionError(f"classes must be between 2 and 9, got {classes}")
        return _softmax_graph(features, classes, l2)

    if delta is not None and (loss != "huber" or not delta > 0):
        raise OptionError(f"delta is huber's, and positive; got {delta} for {loss}")
    score, xs, params = _linear_score(features)
    nodes: list[Node] = []
    if loss in ("mae", "huber", "hinge") and model != "linear":
        raise OptionError(f"{loss} is a loss of the linear model's output", option="model")
    if loss == "hinge":
        z, m = real("z_i"), real("m_i")
        nodes += [
            Node(z, score, label="linear score"),
            Node(m, 1 - y * z, keep=False, label="margin"),
            Node(ell, relu(m), label="hinge loss, max(0, m_i)"),
        ]
    elif model == "linear":
        nodes.append(Node(yhat, score, label="prediction"))
    else:
        z = real("z_i")
        nodes += [Node(z, score, label="linear score"), Node(yhat, sigmoid(z), label="prediction")]
    if loss == "mse":
        nodes += [Node(u, yhat - y, keep=False, label="residual"), Node(ell, u**2, label="loss")]
    elif loss in ("mae", "huber"):
        h = sp.Abs(u) if loss == "mae" else huber(u, sp.nsimplify(1 if delta is None else delta))
        nodes += [Node(u, yhat - y, keep=False, label="residual"), Node(ell, h, label="loss")]
    elif loss == "bce":
        if model != "logistic":
            raise OptionError(
                "bce needs predictions in (0, 1): use the logistic model", option="model"
            )
        bce = sp.Add(y * sp.log(yhat), (1 - y) * sp.log(1 - yhat), evaluate=False)
        nodes.append(Node(ell, sp.Mul(-1, bce, evaluate=False), label="loss"))
    penalty = _penalty(params[:-1], l2)
    return Graph(tuple(nodes), tuple(params), tuple(xs), (y,), True, penalty)


def _softmax_graph(features: int, classes: int, l2: float | None) -> Graph:
    xs = [real("x_i")] if features == 1 else [real(f"x_i{j}") for j in range(1, features + 1)]
    zs = [real(f"z_i{k}") for k in range(1, classes + 1)]
    ps = [real(f"p_i{k}") for k in range(1, classes + 1)]
    ys = [real(f"y_i{k}") for k in range(1, classes + 1)]
    weights, biases, nodes = [], [], []
    for k, z in enumerate(zs, start=1):
        ws = [real(f"w{k}{j}") for j in range(1, features + 1)]
        b = real(f"b{k}")
        weights += ws
        biases.append(b)
        nodes.append(Node(z, sp.Add(*[w * x for w, x in zip(ws, xs, strict=True)]) + b))
    total = sp.Add(*[sp.exp(z) for z in zs])
    nodes += [Node(p, sp.exp(z) / total, label="softmax") for p, z in zip(ps, zs, strict=True)]
    ell = real("ell_i")
    nodes.append(Node(ell, -sp.Add(*[y * sp.log(p) for y, p in zip(ys, ps, strict=True)])))
    return Graph(
        tuple(nodes),
        tuple(weights + biases),
        tuple(xs),
        tuple(ys),
        True,
        _penalty(weights, l2),
        sum_to_one=(tuple(ys),),
    )


def _penalty(weights: list[sp.Symbol], l2: float | None) -> sp.Expr:
    if l2 is None:
        return sp.S.Zero
    if not l2 > 0:
        raise OptionError(f"l2 must be positive, got {l2}")
    return LAMBDA * sp.Add(*[w**2 for w in weights])


def activation_graph(name: str) -> Graph:
    """a = g(z) for one activation, to derive g'(z).

    >>> from symgrad.core.derive import derive_graph
    >>> derive_graph(activation_graph("sigmoid")).gradients["z"].named
    a*(1 - a)
    """
    g = ACTIVATIONS[choose("activation", name, tuple(ACTIVATIONS))]
    z, a = real("z"), real("a")
    return Graph((Node(a, g(z)),), (z,))

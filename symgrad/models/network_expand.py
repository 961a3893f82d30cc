r"""The scalar-expanded derivation of a small network: every weight w_jk^[l] its own symbol.

One sample's network is a :class:`~symgrad.core.graph.Graph` of scalar nodes

    z_j^[l] = Σ_k w_jk^[l] a_k^[l-1] + b_j^[l],    a_j^[l] = g_l(z_j^[l]),    ℓ = loss(a^[L], y)

(a^[0] = the features x_i1..x_in0), and :func:`symgrad.core.derive.derive_graph` runs the chain rule
per weight, summing over paths and over the N samples (N is the layer-level form's m), with every
step checked against ``sympy.diff``.
Its time grows about linearly with the number of weights (every step checked: about 1 s for
4-8-1, 25 s for 16-32-1 on two busy cores; benchmarks/RESULTS-derive.md), and
:func:`derive_expanded` refuses networks whose estimated time is too long, pointing to the
layer-level form.

>>> from symgrad.models.network import network
>>> d = network([1, 2, 1], ["tanh", "sigmoid"], "bce").derive(expanded=True)
>>> from symgrad.render.text import expr_text
>>> expr_text(d.gradients["w[2]_1_1"].named)
'(1/N)·Σᵢ a₁^[1]·(a₁^[2] − yᵢ)'
"""

from __future__ import annotations

import math

import sympy as sp

from symgrad.core.catalogue import ACTIVATIONS
from symgrad.core.derive import Derivation, Progress, derive_graph
from symgrad.core.errors import OptionError
from symgrad.core.functions import FUNCTIONS
from symgrad.core.graph import Graph, Node
from symgrad.core.names import display_name
from symgrad.models.network_names import UNIT_NAME, Unit
from symgrad.models.network_spec import NetworkSpec

#: Refuse expanded derivations estimated to take longer than this many seconds.
MAX_SECONDS = 60.0
#: Seconds any expanded derivation takes, and seconds per parameter (see
#: :func:`estimated_seconds`; refitted in session 5 after the engine got faster).
START, COST = 0.05, 0.017
#: A softmax output of K units fed by H units costs K² H / SOFTMAX times as much per parameter.
SOFTMAX = 90.0


def parameter_index(name: str) -> tuple[str, int, tuple[int, ...]]:
    """``"w[2]_1_3"`` -> ``("W2", ...)``: the API array and the 0-based index of one scalar.

    >>> parameter_index("w[2]_1_3"), parameter_index("b[1]_4")
    (('W2', 2, (0, 2)), ('b1', 1, (3,)))
    """
    match = UNIT_NAME.fullmatch(name)
    if match is None:
        raise KeyError(name)
    base, layer, j, k = match.groups()
    idx = (int(j) - 1,) + ((int(k) - 1,) if k else ())
    return f"{base.upper() if base == 'w' else base}{layer}", int(layer), idx


def estimated_seconds(net: NetworkSpec) -> float:
    """The expanded derivation's time, from the parameter count P, the depth L and the
    activations: ``START + COST · P · (1 + (L - 2)/2) · (1 + P/1000)``, times 1 + n/2 for each
    kinked layer fed by a kinked layer of n units (relu of a relu: conditions on conditions;
    fitted to 4-4-4-1, 4-4-4-4-1 and 3-3-3-3-3-1, all relu), times K² H / 90 (at
    least 1) for a softmax output of K units fed by H units (its Jacobian has K² entries per
    sample, each through the H units below): fitted to 3-4-4, 3-4-8 and 4-8-10.

    Each claim keeps the node names and the checks compute each node once per point, so the
    work grows about linearly with P; fitted to measurements with every step checked
    (benchmarks/RESULTS-derive.md: within 2x of the measured time from 2-3-1 to 16-32-1).

    >>> from symgrad.models.network import network
    >>> round(estimated_seconds(network([4, 8, 1], ["relu", "sigmoid"], "bce")), 1)
    0.9
    """
    p = net.n_params
    return START + COST * p * (1 + p / 1000) * _factor(net)


def _factor(net: NetworkSpec) -> float:
    factor = 1.0 + 0.5 * (net.depth - 2)  # each hidden layer after the first
    kinked = [_kinked(a) for a in net.activations]
    for k, (a, b) in enumerate(zip(kinked, kinked[1:], strict=False)):
        if a and b:  # conditions on conditions: each unit of the kinked layer below adds some
            factor *= 1 + net.sizes[k + 1] / 2
    if net.activations[-1] == "softmax":
        factor *= max(1.0, net.sizes[-1] ** 2 * net.sizes[-2] / SOFTMAX)
    return factor


def _smaller(net: NetworkSpec, max_seconds: float) -> str:
    """What would fit: fewer parameters at this depth, or no kinked layer fed by a kinked one."""
    most = _max_params((max_seconds - START) / _factor(net))
    if most < 1:
        return "a layer fed by this many kinked units (ReLU, ...) is too costly to expand"
    return f"expand at most about {most} parameters at this depth (4-8-1 has 49)"


def _kinked(activation: str) -> bool:
    """Whether ``activation`` has a kink (a Piecewise: relu, leaky_relu, elu)."""
    record = FUNCTIONS.get(activation)
    return bool(record and record.activation and record.activation.kink is not None)


def expanded_graph(net: NetworkSpec) -> Graph:
    """The per-sample scalar graph of ``net`` (weights w[l]_j_k, biases b[l]_j, data x_ik, y_i)."""
    n0 = net.sizes[0]
    xs = [sp.Symbol("x_i" if n0 == 1 else f"x_i{k}", real=True) for k in range(1, n0 + 1)]
    prev: list[sp.Expr] = list(xs)
    nodes: list[Node] = []
    params: list[sp.Symbol] = []
    for ell, name in enumerate(net.activations, start=1):
        zs, cur = [], []
        for j in range(1, net.sizes[ell] + 1):
            ws = [Unit(f"w[{ell}]_{j}_{k}") for k in range(1, len(prev) + 1)]
            b = Unit(f"b[{ell}]_{j}")
            params += [*ws, b]
            z = Unit(f"z[{ell}]_{j}")
            nodes.append(Node(z, sp.Add(*[w * a for w, a in zip(ws, prev, strict=True)]) + b,
                              label=f"unit {j} of layer {ell}"))
            zs.append(z)
        if name == "softmax":
            total = sp.Add(*[sp.exp(z) for z in zs])
            for j, z in enumerate(zs, start=1):
                a = Unit(f"a[{ell}]_{j}")
                nodes.append(Node(a, sp.exp(z) / total, label="softmax"))
                cur.append(a)
        else:
            g = ACTIVATIONS[name]
            for j, z in enumerate(zs, start=1):
                a = Unit(f"a[{ell}]_{j}")
                nodes.append(Node(a, g(z), label=name))
                cur.append(a)
        prev = cur
    nL = net.sizes[-1]
    ys = [sp.Symbol("y_i" if nL == 1 else f"y_i{k}", real=True) for k in range(1, nL + 1)]
    ell_sym = sp.Symbol("ell_i", real=True)
    if net.loss_name == "bce":
        a, y = prev[0], ys[0]
        bce = sp.Add(y * sp.log(a), (1 - y) * sp.log(1 - a), evaluate=False)
        nodes.append(Node(ell_sym, sp.Mul(-1, bce, evaluate=False), label="loss"))
    elif net.loss_name == "cross_entropy":
        nodes.append(Node(ell_sym, -sp.Add(*[y * sp.log(a) for y, a in zip(ys, prev, strict=True)]),
                          label="loss"))
    else:
        nodes.append(Node(ell_sym, sp.Add(*[(a - y) ** 2 for a, y in zip(prev, ys, strict=True)]),
                          label="loss"))
    sum_to_one = (tuple(ys),) if net.loss_name == "cross_entropy" else ()
    return Graph(tuple(nodes), tuple(params), tuple(xs), tuple(ys), True,
                 sum_to_one=sum_to_one)


def derive_expanded(
    net: NetworkSpec, max_seconds: float = MAX_SECONDS, progress: Progress | None = None
) -> Derivation:
    """The expanded derivation of ``net``; OptionError when it would take too long.

    The message names the size, the estimated time, the largest size that fits, and the
    layer-level form (tested in tests/test_network.py). ``progress`` is passed on to
    :func:`~symgrad.core.derive.derive_graph`.

    >>> from symgrad.models.network import network
    >>> network([32, 64, 1], ["relu", "sigmoid"], "bce").derive(expanded=True)
    Traceback (most recent call last):
    ...
    symgrad.core.errors.OptionError: the expanded derivation of the 32-64-1 network ...
    """
    est = estimated_seconds(net)
    if est > max_seconds:
        raise OptionError(
            f"the expanded derivation of the {'-'.join(map(str, net.sizes))} network "
            f"({net.n_params} parameters) would take about {_duration(est)}; "
            f"{_smaller(net, max_seconds)}, "
            "or use the layer-level form "
            "(expanded=False), which works for any size",
            option="expanded",
        )
    graph = expanded_graph(net)
    acts = ", ".join(map(display_name, net.activations))
    title = (f"Backpropagation for the {'-'.join(map(str, net.sizes))} network "
             f"({acts}; {display_name(net.loss_name)}), one weight at a time")
    meta = {"model": "mlp", "loss": net.loss_name, "layers": ",".join(map(str, net.sizes)),
            "activations": ",".join(net.activations), "form": "expanded"}
    return derive_graph(graph, title=title, progress=progress, **meta)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:.0f} hours"


def _max_params(seconds: float) -> int:
    """The most parameters P with COST · P · (1 + P/1000) within ``seconds``, to tens."""
    p = 500 * (math.sqrt(1 + 4 * max(seconds, 0.0) / (1000 * COST)) - 1)
    return int(p // 10 * 10)

r"""The layer-level backprop derivation: the engine's scalar rules lifted to matrices, any size.

SymPy's ``MatrixSymbol`` differentiation cannot carry a network (see the design notes), so the
matrix chain rule is symgrad's own: the per-sample, per-unit derivatives come from the engine
(:func:`symgrad.core.derive.derive_graph`: g' for each activation, dℓ/dz for the output and its
cancellation), and the matrix steps assemble them with samples as columns. Nothing here depends on
the widths, so a 784-512-512-10 network takes as long as a 2-3-1 one.

Every matrix step is checked numerically, not by trust: the backprop is evaluated on a random
instance of the same depth, activations and loss (widths capped at 3, 4 samples) and each dZ^[l],
dA^[l], dW^[l], db^[l] is compared with central differences of the loss (relative error < 1e-6).

The expressions are display objects (:mod:`symgrad.models.network_names`), which the printers print
in text and LaTeX; the numbers come from the network's own NumPy backprop.

>>> from symgrad.models.network import network
>>> d = network([2, 3, 1], ["relu", "sigmoid"], "bce").derive()
>>> from symgrad.render.text import step_text
>>> from symgrad.core.steps import Kind
>>> chain = [s for s in d.steps if s.kind is Kind.CHAIN][0]
>>> print(step_text(chain))  # doctest: +NORMALIZE_WHITESPACE
dZ^[2] = A^[2] − Y    [chain rule, cancellation (sigmoid + binary cross-entropy),
for every unit and sample; (1, m)]
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import sympy as sp

from symgrad.core.derive import derive_graph
from symgrad.core.errors import VerificationError
from symgrad.core.graph import Graph, Node, i
from symgrad.core.names import display_name
from symgrad.core.steps import Derivation, Gradient, Kind, Partial, Rule, Step
from symgrad.core.verify import Check, Method
from symgrad.models.network_names import Elementwise, Hadamard, Mat, MatMul
from symgrad.models.network_spec import LayeredNetwork, NetworkSpec

m = sp.Symbol("m", integer=True, positive=True)
LOSS = sp.Symbol("L", real=True)

def _elementwise(expr: sp.Expr) -> sp.Expr:
    """A scalar g'(z) in a = g(z) written for matrices: products become ⊙, powers repeated ⊙."""
    if isinstance(expr, sp.Add):
        return sp.Add(*[_elementwise(t) for t in expr.args], evaluate=False)
    if isinstance(expr, sp.Mul):
        coeff, rest = expr.as_coeff_Mul()
        factors = sorted((_elementwise(f) for f in sp.Mul.make_args(rest)),
                         key=lambda f: isinstance(f, sp.Add))
        body = Hadamard(*factors) if len(factors) > 1 else factors[0]
        return body if coeff == 1 else sp.Mul(coeff, body, evaluate=False)
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer and expr.exp > 1:
        return Hadamard(*[expr.base] * int(expr.exp))
    return expr


def _shape(rows: int | str, cols: int | str) -> str:
    """A shape as NumPy prints it (ASCII, so it also sits in LaTeX's \\text{})."""
    return f"({rows}, {cols})"


# --- the per-sample, per-unit output derivations from the engine ---------------------------------


def _real(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


def output_graph(net: NetworkSpec) -> Graph:
    """ℓ for one sample as a function of the output scores z (at most 3 shown for softmax)."""
    ell = _real("ell")
    if net.loss_name == "cross_entropy":
        K = min(net.sizes[-1], 3)
        zs = [_real(f"z{k}") for k in range(1, K + 1)]
        As = [_real(f"a{k}") for k in range(1, K + 1)]
        ys = [_real(f"y{k}") for k in range(1, K + 1)]
        total = sp.Add(*[sp.exp(z) for z in zs])
        nodes = [Node(a, sp.exp(z) / total, label="softmax") for a, z in zip(As, zs, strict=True)]
        nodes.append(Node(ell, -sp.Add(*[y * sp.log(a) for y, a in zip(ys, As, strict=True)])))
        return Graph(tuple(nodes), tuple(zs), labels=tuple(ys), sum_to_one=(tuple(ys),))
    z, a, y = _real("z"), _real("a"), _real("y")
    from symgrad.core.catalogue import ACTIVATIONS

    nodes = [Node(a, ACTIVATIONS[net.activations[-1]](z))]
    if net.loss_name == "bce":
        bce = sp.Add(y * sp.log(a), (1 - y) * sp.log(1 - a), evaluate=False)
        nodes.append(Node(ell, sp.Mul(-1, bce, evaluate=False)))
    else:
        nodes.append(Node(ell, (a - y) ** 2))
    return Graph(tuple(nodes), (z,), labels=(y,))


# --- the derivation ------------------------------------------------------------------------------


def derive_layers(net: LayeredNetwork) -> Derivation:
    """The layer-level derivation of ``net`` (see the module docstring)."""
    L, sizes, acts = net.depth, net.sizes, net.activations
    n = [str(s) for s in sizes]
    ok = _verify_numerically(net)
    A = [Mat(f"A[{ell}]") for ell in range(L + 1)]
    Z = [None] + [Mat(f"Z[{ell}]") for ell in range(1, L + 1)]
    W = [None] + [Mat(f"W[{ell}]") for ell in range(1, L + 1)]
    b = [None] + [Mat(f"b[{ell}]") for ell in range(1, L + 1)]
    dZ = [None] + [Mat(f"dZ[{ell}]") for ell in range(1, L + 1)]
    dA = [None] + [Mat(f"dA[{ell}]") for ell in range(1, L + 1)]
    X, Y = Mat("X"), Mat("Y")
    steps: list[Step] = []

    # 1. define: the layout, the forward pass, the loss, the notation
    steps.append(_define(f"input, samples as columns; {_shape(n[0], 'm')}", A[0], Mat("XT")))
    nodes = []
    for ell in range(1, L + 1):
        zdef = sp.Add(MatMul(W[ell], A[ell - 1]), b[ell], evaluate=False)
        rule = (f"linear layer; {_shape(n[ell], n[ell - 1])} {_shape(n[ell - 1], 'm')} + "
                f"{_shape(n[ell], 1)} broadcast over the m columns = {_shape(n[ell], 'm')}")
        steps.append(_define(rule, Z[ell], zdef))
        g = sp.Function("softmax")(Z[ell]) if acts[ell - 1] == "softmax" else \
            net._acts[ell - 1].expr.xreplace({sp.Symbol("z", real=True): Z[ell]})
        what = "softmax of each column" if acts[ell - 1] == "softmax" else \
            f"{display_name(acts[ell - 1])}, elementwise"
        steps.append(_define(f"{what}; {_shape(n[ell], 'm')}", A[ell], g))
        nodes += [Node(Z[ell], zdef), Node(A[ell], g)]
    head = output_graph(net)
    head_d = derive_graph(head)
    ell_sym = head.output
    steps.append(_define("loss of one sample (a, y: one column of A and Y)", ell_sym,
                         head.nodes[-1].expr))
    steps.append(_define("mean over the m samples (N in the expanded form)", LOSS,
                         sp.Mul(1 / m, sp.Sum(_real("ell_i"), (i, 1, m)), evaluate=False)))
    steps.append(_define("notation: column i is the gradient of the loss of sample i", dZ[L],
                         sp.Mul(m, Partial(LOSS, Z[L]), evaluate=False)))

    # 2. local derivatives: g' of each activation and the output's dℓ/dz, by the engine
    done: set[str] = set()
    for name, act in zip(acts, net._acts, strict=True):
        if name in done or name == "softmax":
            continue
        done.add(name)
        for s in act.derivation.steps:  # type: ignore[union-attr]
            if s.kind is Kind.LOCAL:
                steps.append(replace(s, note=f", g = {display_name(name)}"))
    for s in head_d.steps:
        if s.kind is Kind.CHAIN and s.lhs.wrt == head.params[0]:
            shown = (" (shown for 3 classes, the same for every k)"
                     if len(head.params) < net.sizes[-1] else "")
            steps.append(replace(s, kind=Kind.LOCAL, note=", per output unit" + shown))
        elif s.kind is Kind.LOCAL:
            steps.append(replace(s, note=" (loss of one sample)"))

    # 3. multiply along the chain, layer by layer, from the loss back
    loss_name = net.loss_name
    if loss_name in ("bce", "cross_entropy"):
        pair = f"{'sigmoid' if loss_name == 'bce' else 'softmax'} + {display_name(loss_name)}"
        steps.append(Step(Kind.CHAIN, (Rule.CHAIN, Rule.CANCELLATION), dZ[L],
                          (sp.Add(A[L], -Y, evaluate=False),), ok["dZ"][L],
                          f" ({pair}), for every unit and sample; {_shape(n[L], 'm')}"))
    else:
        steps.append(Step(Kind.CHAIN, (Rule.CHAIN,), dA[L],
                          (sp.Mul(2, sp.Add(A[L], -Y, evaluate=False), evaluate=False),),
                          ok["dZ"][L], f" (mse), for every unit and sample; {_shape(n[L], 'm')}"))
        steps.append(_dz_step(net, L, dA[L], Z[L], A[L], dZ[L], n, ok["dZ"][L]))
    gradients: dict[str, Gradient] = {}
    for ell in range(L, 0, -1):
        dw = MatMul(1 / m, dZ[ell], Mat(f"A[{ell - 1}]T"))
        per_sample = MatMul(Mat(f"dz[{ell}]_i"), Mat(f"a[{ell - 1}]T_i"))
        note = (f"; (1/m) {_shape(n[ell], 'm')} "
                f"{_shape('m', n[ell - 1])} = {_shape(n[ell], n[ell - 1])}")
        steps.append(Step(Kind.CHAIN, (Rule.CHAIN, Rule.SUM_OVER_SAMPLES), Partial(LOSS, W[ell]),
                          (sp.Mul(1 / m, sp.Sum(per_sample, (i, 1, m)), evaluate=False), dw),
                          ok["W"][ell], note))
        db = sp.Mul(1 / m, sp.Sum(Mat(f"dz[{ell}]_i"), (i, 1, m)), evaluate=False)
        steps.append(Step(Kind.CHAIN, (Rule.CHAIN, Rule.SUM_OVER_SAMPLES), Partial(LOSS, b[ell]),
                          (db,), ok["b"][ell],
                          f" (the columns of dZ[{ell}]); {_shape(n[ell], 1)}"))
        gradients[f"W{ell}"] = Gradient(W[ell], dw, dw, 1 / m, MatMul(dZ[ell], A[ell - 1]),
                                        sp.S.Zero)
        gradients[f"b{ell}"] = Gradient(b[ell], db, db, 1 / m, Mat(f"dz[{ell}]_i"), sp.S.Zero)
        if ell > 1:
            note = (f" (sum over the units of layer {ell}); "
                    f"{_shape(n[ell - 1], n[ell])} {_shape(n[ell], 'm')} = "
                    f"{_shape(n[ell - 1], 'm')}")
            steps.append(Step(Kind.CHAIN, (Rule.CHAIN,), dA[ell - 1],
                              (MatMul(Mat(f"W[{ell}]T"), dZ[ell]),), ok["dA"][ell - 1], note))
            steps.append(_dz_step(net, ell - 1, dA[ell - 1], Z[ell - 1], A[ell - 1], dZ[ell - 1],
                                  n, ok["dZ"][ell - 1]))
    order = [f"{k}{ell}" for ell in range(1, L + 1) for k in "Wb"]
    graph = Graph(tuple(nodes), tuple(p for ell in range(1, L + 1) for p in (W[ell], b[ell])),
                  (X,), (Y,), output_symbol=LOSS)
    title = (f"Backpropagation for the {'-'.join(map(str, sizes))} network "
             f"({', '.join(map(display_name, acts))}; {display_name(loss_name)}), "
             "samples as columns")
    meta = {"model": "mlp", "loss": loss_name, "layers": ",".join(map(str, sizes)),
            "activations": ",".join(acts), "layout": "samples as columns", "form": "layer",
            "checked_against": "sympy.diff (scalar steps) and central differences (matrix steps)"}
    return Derivation(graph, tuple(steps), {k: gradients[k] for k in order}, title, meta)


def _dz_step(net: LayeredNetwork, ell: int, dA: Mat, Z: Mat, A: Mat, dZ: Mat, n: list[str],
             ok: Check) -> Step:
    """dZ^[l] = dA^[l] ⊙ g_l'(Z^[l]) = dA^[l] ⊙ (g' written with A^[l] and Z^[l])."""
    act = net._acts[ell - 1]
    gp = act.derivative.xreplace({sp.Symbol("z", real=True): Z, sp.Symbol("a", real=True): A})
    symbolic = Hadamard(dA, Elementwise(Z, ell))
    gp_m = _elementwise(gp)
    value = dA if gp == 1 else Hadamard(dA, *(gp_m.args if isinstance(gp_m, Hadamard) else [gp_m]))
    note = (f", elementwise (the derivative of {display_name(act.name)} "
            f"from the engine); {_shape(n[ell], 'm')}")
    return Step(Kind.CHAIN, (Rule.CHAIN,), dZ, (symbolic, value), ok, note)


def _define(note: str, lhs: sp.Expr, rhs: sp.Expr) -> Step:
    """A definition of the layer-level form, described by ``note`` (no rule, nothing to check)."""
    return Step(Kind.DEFINITION, (), lhs, (rhs,), None, note)


# --- numerical verification of the matrix steps --------------------------------------------------


def _verify_numerically(net: LayeredNetwork, tol: float = 1e-6) -> dict[str, dict[int, Check]]:
    """Check every matrix step of ``net``'s backprop against central differences.

    Uses a copy of the network with widths capped at 3 (the layer rule does not depend on the
    width), 4 random samples, and random parameters; raises VerificationError on a mismatch.
    """
    from symgrad.models.backprop import NumPyOps, backprop, forward

    sizes = [min(s, 3) for s in net.sizes]
    if net.activations[-1] == "softmax":
        sizes[-1] = max(sizes[-1], 2)
    small = replace(net, sizes=tuple(sizes))  # type: ignore[type-var]
    rng = np.random.default_rng(12345)
    params = small.init_params(seed=7)
    for k in params:
        params[k] = params[k] + rng.normal(0.0, 0.3, size=params[k].shape)
    mm = 4
    X = rng.normal(size=(mm, sizes[0]))
    if net.loss_name == "cross_entropy":
        Y: np.ndarray = rng.integers(0, sizes[-1], size=mm)
    elif net.loss_name == "bce":
        Y = rng.random((mm, 1))
    else:
        Y = rng.normal(size=(mm, sizes[-1]))
    X, Y = small.check_data(X, Y)
    L = small.depth
    ops = NumPyOps(small)
    res = backprop(ops, params, X.T, Y, keep=True)
    Zs, As, loss0 = res.Z[1:], res.A, res.loss
    dZs, dAs, dWs, dbs = res.dZ, res.dA, res.dW, res.db

    def tail(start: int, A_prev: np.ndarray) -> float:
        """The loss from layer ``start`` on, given A^[start-1] (samples as columns)."""
        rest = {f"{k}{ell - start + 1}": params[f"{k}{ell}"]
                for ell in range(start, L + 1) for k in "Wb"}
        Zt, At = forward(_From(ops, start - 1), rest, A_prev)
        return ops.head(Zt[-1], At[-1], Y)[0]

    def fd(f: Any, x: np.ndarray) -> np.ndarray:
        out = np.zeros_like(x)
        h = 1e-6
        for idx in np.ndindex(x.shape):
            old = x[idx]
            x[idx] = old + h
            up = f()
            x[idx] = old - h
            down = f()
            x[idx] = old
            out[idx] = (up - down) / (2 * h)
        return out

    def close(a: np.ndarray, b: np.ndarray) -> Check:
        passed = bool(np.max(np.abs(a - b)) <= tol * max(1.0, float(np.max(np.abs(b)))))
        return Check(Method.CENTRAL_DIFFERENCES, passed, mm, 15, tol,
                     "central differences of the loss (float64, widths capped at 3)")

    ok: dict[str, dict[int, Check]] = {"dZ": {}, "dA": {}, "W": {}, "b": {}}
    for ell in range(1, L + 1):
        Zl = Zs[ell - 1].copy()
        def f_z(Zl: np.ndarray = Zl, ell: int = ell) -> float:
            A = ops.activate(ell, Zl, ell == L)
            return ops.head(Zl, A, Y)[0] if ell == L else tail(ell + 1, A)
        ok["dZ"][ell] = close(dZs[ell] / mm, fd(f_z, Zl))
        if ell < L:
            Al = As[ell].copy()
            ok["dA"][ell] = close(dAs[ell] / mm, fd(lambda Al=Al, ell=ell: tail(ell + 1, Al), Al))
        W = params[f"W{ell}"]
        ok["W"][ell] = close(dWs[ell], fd(lambda: tail(1, X.T), W))
        bvec = params[f"b{ell}"]
        ok["b"][ell] = close(dbs[ell], fd(lambda: tail(1, X.T), bvec))
    bad = [f"{k}{ell}" for k, v in ok.items() for ell, good in v.items() if not good.passed]
    if bad:
        raise VerificationError(f"layer steps {', '.join(bad)} do not match central differences: "
                                "symgrad has a bug")
    assert abs(loss0 - tail(1, X.T)) < 1e-12 * max(1.0, abs(loss0))
    return ok


class _From:
    """Ops whose layer 1 is layer ``offset + 1`` of the network (the tail of the forward pass)."""

    def __init__(self, ops: Any, offset: int) -> None:
        self.ops, self.offset = ops, offset

    def linear(self, W: np.ndarray, A: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self.ops.linear(W, A, b)

    def activate(self, ell: int, Z: np.ndarray, last: bool) -> Any:
        return self.ops.activate(ell + self.offset, Z, last)


__all__ = ["derive_layers", "output_graph"]

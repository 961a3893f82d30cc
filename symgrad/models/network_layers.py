r"""The layer-level backprop derivation: the engine's scalar rules lifted to matrices, any size.

SymPy's ``MatrixSymbol`` differentiation cannot carry a network (see the design notes), so the
matrix chain rule is symgrad's own: the per-sample, per-unit derivatives come from the engine
(:func:`symgrad.core.derive.derive_graph`: g' for each activation, dℓ/dz for the output and its
cancellation), and the matrix steps assemble them with samples as columns. Nothing here depends on
the widths, so a 784-512-512-10 network takes as long as a 2-3-1 one.

Every matrix step is checked numerically, not by trust: the backprop is evaluated on a random
instance of the same depth, activations and loss (widths capped at 3, 4 samples) and each dZ^[l],
dA^[l], dW^[l], db^[l] is compared with central differences of the loss (relative error < 1e-6).

The expressions are display objects (:class:`Mat`, :class:`MatMul`, :class:`Hadamard`) that print
themselves in text and LaTeX; the numbers come from :mod:`symgrad.models.network`.

>>> from symgrad.models.network import network
>>> d = network([2, 3, 1], ["relu", "sigmoid"], "bce").derive()
>>> from symgrad.render.text import step_text
>>> print(step_text([s for s in d.steps if s.kind == "chain"][0]))
dZ^[2] = A^[2] − Y    [chain rule, cancellation (sigmoid + bce), for every unit and sample; (1, m)]
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from symgrad.core.derive import Derivation, Gradient, Partial, Step, derive_graph
from symgrad.core.errors import VerificationError
from symgrad.core.graph import Graph, Node, i

if TYPE_CHECKING:
    from symgrad.models.network import Network

m = sp.Symbol("m", integer=True, positive=True)
LOSS = sp.Symbol("L", real=True)

_NAME = re.compile(r"(d?)([A-Za-z]+?)(?:\[(\w+)\])?(T?)(?:_(\w+))?")


class Mat(sp.Symbol):
    """A named matrix or vector of the network: ``Mat("dZ[2]")`` prints dZ^[2], ``"A[1]T"`` A^[1]ᵀ.

    The name is ``[d]BASE[[layer]][T][_sub]``. It is a real SymPy symbol, so conditions such as
    Z^[1] > 0 can be written; products of matrices are :class:`MatMul`, never ``*``.
    """

    def __new__(cls, name: str) -> Mat:
        return super().__new__(cls, name, real=True)

    def _parts(self) -> tuple[str, str, str, bool, str]:
        match = _NAME.fullmatch(self.name)
        if match is None:  # pragma: no cover - names are ours
            return "", self.name, "", False, ""
        d, base, layer, t, sub = match.groups()
        return d, base, layer or "", bool(t), sub or ""

    def _sympystr(self, printer: Any) -> str:
        from symgrad.render.text import _SUB

        d, base, layer, t, sub = self._parts()
        sub_text = sub.translate(_SUB) if sub else ""
        return f"{d}{base}{sub_text}" + (f"^[{layer}]" if layer else "") + ("ᵀ" if t else "")

    def _latex(self, printer: Any) -> str:
        d, base, layer, t, sub = self._parts()
        d = r"\mathrm{d}" if d else ""
        sup = ",".join(filter(None, [f"[{layer}]" if layer else "", r"\top" if t else ""]))
        return d + base + (f"^{{{sup}}}" if sup else "") + (f"_{{{sub}}}" if sub else "")


def _wrap(printer: Any, e: sp.Expr, latex: bool) -> str:
    s = printer._print(e)
    if isinstance(e, sp.Add | Hadamard) or (isinstance(e, sp.Mul) and e.could_extract_minus_sign()):
        return rf"\left({s}\right)" if latex else f"({s})"
    return s


class MatMul(sp.Expr):
    """A matrix product in the order written; a leading 1/m prints as a scalar factor."""

    def _sympystr(self, printer: Any) -> str:
        parts = []
        for f in self.args:
            parts.append(f"({printer._print(f)})" if f.is_number or isinstance(f, sp.Pow)
                         else _wrap(printer, f, False))
        return "·".join(parts)

    def _latex(self, printer: Any) -> str:
        return " ".join(_wrap(printer, f, True) for f in self.args)


class Hadamard(sp.Expr):
    """The elementwise product of same-shaped matrices: a ⊙ b."""

    def _sympystr(self, printer: Any) -> str:
        return " ⊙ ".join(_wrap(printer, f, False) for f in self.args)

    def _latex(self, printer: Any) -> str:
        return r" \odot ".join(_wrap(printer, f, True) for f in self.args)


class Elementwise(sp.Function):
    """g'(Z^[l]) as a name, printed g₁'(Z^[1])."""

    def _sympystr(self, printer: Any) -> str:
        return f"g{str(self.args[1]).translate(_sub_table())}'({printer._print(self.args[0])})"

    def _latex(self, printer: Any) -> str:
        return rf"g_{{{self.args[1]}}}'\left({printer._print(self.args[0])}\right)"


def _sub_table() -> dict:
    from symgrad.render.text import _SUB

    return _SUB


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


def output_graph(net: Network) -> Graph:
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


def derive_layers(net: Network) -> Derivation:
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
    steps.append(Step("definition", f"input, samples as columns; {_shape(n[0], 'm')}", A[0],
                      (Mat("XT"),), True))
    nodes = []
    for ell in range(1, L + 1):
        zdef = sp.Add(MatMul(W[ell], A[ell - 1]), b[ell], evaluate=False)
        rule = (f"linear layer; {_shape(n[ell], n[ell - 1])} {_shape(n[ell - 1], 'm')} + "
                f"{_shape(n[ell], 1)} broadcast over the m columns = {_shape(n[ell], 'm')}")
        steps.append(Step("definition", rule, Z[ell], (zdef,), True))
        g = sp.Function("softmax")(Z[ell]) if acts[ell - 1] == "softmax" else \
            net._acts[ell - 1].expr.xreplace({sp.Symbol("z", real=True): Z[ell]})
        what = "softmax of each column" if acts[ell - 1] == "softmax" else \
            f"{acts[ell - 1].replace('_', ' ')}, elementwise"
        steps.append(Step("definition", f"{what}; {_shape(n[ell], 'm')}", A[ell], (g,), True))
        nodes += [Node(Z[ell], zdef), Node(A[ell], g)]
    head = output_graph(net)
    head_d = derive_graph(head)
    ell_sym = head.output
    steps.append(Step("definition", "loss of one sample (a, y: one column of A and Y)", ell_sym,
                      (head.nodes[-1].expr,), True))
    steps.append(Step("definition", "mean over the m samples (N in the expanded form)", LOSS,
                      (sp.Mul(1 / m, sp.Sum(_real("ell_i"), (i, 1, m)), evaluate=False),), True))
    steps.append(Step("definition", "notation: column i is the gradient of the loss of sample i",
                      dZ[L],
                      (sp.Mul(m, Partial(LOSS, Z[L]), evaluate=False),), True))

    # 2. local derivatives: g' of each activation and the output's dℓ/dz, by the engine
    done: set[str] = set()
    for name, act in zip(acts, net._acts, strict=True):
        if name in done or name == "softmax":
            continue
        done.add(name)
        for s in act.derivation.steps:  # type: ignore[union-attr]
            if s.kind == "local":
                steps.append(Step("local", f"{s.rule}, g = {name.replace('_', ' ')}", s.lhs,
                                  s.forms, s.verified))
    for s in head_d.steps:
        if s.kind in ("local", "chain") and not (s.kind == "chain" and s.lhs.wrt in head.params
                                                 and s.lhs.wrt != head.params[0]):
            if s.kind == "chain" and s.lhs.wrt in head.params:
                shown = (" (shown for 3 classes, the same for every k)"
                         if len(head.params) < net.sizes[-1] else "")
                steps.append(Step("local", s.rule + ", per output unit" + shown, s.lhs, s.forms,
                                  s.verified))
            elif s.kind == "local":
                steps.append(Step("local", s.rule + " (loss of one sample)", s.lhs, s.forms,
                                  s.verified))

    # 3. multiply along the chain, layer by layer, from the loss back
    loss_name = net.loss_name
    if loss_name in ("bce", "cross_entropy"):
        pair = "sigmoid + bce" if loss_name == "bce" else "softmax + cross-entropy"
        steps.append(Step("chain", f"chain rule, cancellation ({pair}), for every unit and "
                          f"sample; {_shape(n[L], 'm')}", dZ[L],
                          (sp.Add(A[L], -Y, evaluate=False),), ok["dZ"][L]))
    else:
        steps.append(Step("chain", f"chain rule (mse), for every unit and sample; "
                          f"{_shape(n[L], 'm')}", dA[L],
                          (sp.Mul(2, sp.Add(A[L], -Y, evaluate=False), evaluate=False),),
                          ok["dZ"][L]))
        steps.append(_dz_step(net, L, dA[L], Z[L], A[L], dZ[L], n, ok["dZ"][L]))
    gradients: dict[str, Gradient] = {}
    for ell in range(L, 0, -1):
        dw = MatMul(1 / m, dZ[ell], Mat(f"A[{ell - 1}]T"))
        per_sample = MatMul(Mat(f"dz[{ell}]_i"), Mat(f"a[{ell - 1}]T_i"))
        rule = (f"chain rule, sum over samples; (1/m) {_shape(n[ell], 'm')} "
                f"{_shape('m', n[ell - 1])} = {_shape(n[ell], n[ell - 1])}")
        steps.append(Step("chain", rule, Partial(LOSS, W[ell]),
                          (sp.Mul(1 / m, sp.Sum(per_sample, (i, 1, m)), evaluate=False), dw),
                          ok["W"][ell]))
        db = sp.Mul(1 / m, sp.Sum(Mat(f"dz[{ell}]_i"), (i, 1, m)), evaluate=False)
        steps.append(Step("chain", f"chain rule, sum over samples (the columns of dZ[{ell}]); "
                          f"{_shape(n[ell], 1)}", Partial(LOSS, b[ell]), (db,), ok["b"][ell]))
        gradients[f"W{ell}"] = Gradient(W[ell], dw, dw, 1 / m, MatMul(dZ[ell], A[ell - 1]),
                                        sp.S.Zero)
        gradients[f"b{ell}"] = Gradient(b[ell], db, db, 1 / m, Mat(f"dz[{ell}]_i"), sp.S.Zero)
        if ell > 1:
            rule = (f"chain rule (sum over the units of layer {ell}); "
                    f"{_shape(n[ell - 1], n[ell])} {_shape(n[ell], 'm')} = "
                    f"{_shape(n[ell - 1], 'm')}")
            steps.append(Step("chain", rule, dA[ell - 1],
                              (MatMul(Mat(f"W[{ell}]T"), dZ[ell]),), ok["dA"][ell - 1]))
            steps.append(_dz_step(net, ell - 1, dA[ell - 1], Z[ell - 1], A[ell - 1], dZ[ell - 1],
                                  n, ok["dZ"][ell - 1]))
    order = [f"{k}{ell}" for ell in range(1, L + 1) for k in "Wb"]
    graph = Graph(tuple(nodes), tuple(p for ell in range(1, L + 1) for p in (W[ell], b[ell])),
                  (X,), (Y,), output_symbol=LOSS)
    title = (f"Backpropagation for the {'-'.join(map(str, sizes))} network "
             f"({', '.join(acts)}; {loss_name}), samples as columns")
    meta = {"model": "mlp", "loss": loss_name, "layers": ",".join(map(str, sizes)),
            "activations": ",".join(acts), "layout": "samples as columns", "form": "layer",
            "checked_against": "sympy.diff (scalar steps) and central differences (matrix steps)"}
    return Derivation(graph, tuple(steps), {k: gradients[k] for k in order}, title, meta)


def _dz_step(net: Network, ell: int, dA: Mat, Z: Mat, A: Mat, dZ: Mat, n: list[str],
             ok: bool) -> Step:
    """dZ^[l] = dA^[l] ⊙ g_l'(Z^[l]) = dA^[l] ⊙ (g' written with A^[l] and Z^[l])."""
    act = net._acts[ell - 1]
    gp = act.derivative.xreplace({sp.Symbol("z", real=True): Z, sp.Symbol("a", real=True): A})
    symbolic = Hadamard(dA, Elementwise(Z, ell))
    gp_m = _elementwise(gp)
    value = dA if gp == 1 else Hadamard(dA, *(gp_m.args if isinstance(gp_m, Hadamard) else [gp_m]))
    rule = (f"chain rule, elementwise (the derivative of {act.name.replace('_', ' ')} "
            f"from the engine); {_shape(n[ell], 'm')}")
    return Step("chain", rule, dZ, (symbolic, value), ok)


# --- numerical verification of the matrix steps --------------------------------------------------


def _verify_numerically(net: Network, tol: float = 1e-6) -> dict[str, dict[int, bool]]:
    """Check every matrix step of ``net``'s backprop against central differences.

    Uses a copy of the network with widths capped at 3 (the layer rule does not depend on the
    width), 4 random samples, and random parameters; raises VerificationError on a mismatch.
    """
    from symgrad.models.backprop import NumPyOps, backprop, forward
    from symgrad.models.network import Network

    sizes = [min(s, 3) for s in net.sizes]
    if net.activations[-1] == "softmax":
        sizes[-1] = max(sizes[-1], 2)
    small = Network(tuple(sizes), net.activations, net.loss_name)
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

    def close(a: np.ndarray, b: np.ndarray) -> bool:
        return bool(np.max(np.abs(a - b)) <= tol * max(1.0, float(np.max(np.abs(b)))))

    ok: dict[str, dict[int, bool]] = {"dZ": {}, "dA": {}, "W": {}, "b": {}}
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
    bad = [f"{k}{ell}" for k, v in ok.items() for ell, good in v.items() if not good]
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


__all__ = ["Mat", "MatMul", "Hadamard", "derive_layers", "output_graph"]

"""The JSON contract other tools and tests rely on.

``{"loss", "model", "definitions": [{"symbol", "latex", "text"}], "steps": [{"kind", "rule",
"latex", "text", "verified", "check"}], "gradient": {name: {"latex", "text", "value"?}},
"loss_value"?}``; ``check`` is how the step was checked (``{"method", "passed", "points",
"digits", "tolerance", "against"}``, null for a definition); ``value`` and ``loss_value`` appear
only when the derivation was evaluated at a point. A typed expression has ``"expr"`` instead of
loss and model, and, at a point, ``"graph": {"nodes": [{"id", "label", "expr", "value", "grad"}],
"edges": [{"from", "to", "local_derivative"}]}``.

The JSON is strict (RFC 8259): a number that is not a finite float64 (an overflow, inf, nan) is
``null``, and the object holding it gets a ``"note"`` saying which and why (:func:`strict`); never
``Infinity`` or ``NaN``.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import sympy as sp

from symgrad.core.graph import Graph, Values, constants
from symgrad.core.matrix import shape_list
from symgrad.core.numbers import to_float
from symgrad.core.steps import Derivation, Kind, Step
from symgrad.render import python, rule_text
from symgrad.render.latex import expr_latex, step_latex
from symgrad.render.text import expr_text, matrix_text, step_text


def to_dict(
    d: Derivation,
    values: dict[str, float] | None = None,
    loss_value: float | None = None,
    at: Values | None = None,
    hessian: dict[str, float] | None = None,
    curvature: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The derivation as plain JSON-ready types; ``values`` and ``loss_value`` come from
    evaluating it at a point (:func:`symgrad.numerics.compile.compile_gradient`), or ``at`` is
    its graph evaluated exactly at a point (:func:`symgrad.core.graph.forward_backward`), which
    also adds the graph with its values. A derivation with its Hessian
    (:func:`symgrad.core.hessian.with_hessian`) gains ``"hessian": {"row,col": {"latex",
    "text", "value"?}}``, with ``hessian`` the entries' values at the point and ``curvature``
    (:meth:`symgrad.numerics.hessian.Curvature.to_dict`) what they say about gradient descent.

    >>> from symgrad.core.derive import derive
    >>> out = to_dict(derive("mse", "linear", wrt=["b"]))
    >>> sorted(out)
    ['definitions', 'gradient', 'loss', 'model', 'steps']
    >>> out["gradient"]["b"]["text"], out["steps"][-1]["check"]["against"]
    ('(2/N)·Σᵢ (ŷᵢ − yᵢ)', 'sympy.diff of the fully substituted expression')
    """
    if not isinstance(d, Derivation):
        return matrix_dict(d)
    late = frozenset(d.graph.features)
    out: dict[str, Any] = {k: v for k, v in d.meta.items() if isinstance(v, str | int | float)}
    out["definitions"] = [
        {"symbol": str(s.lhs), "latex": step_latex(s, late), "text": step_text(s, late)}
        for s in d.steps
        if s.kind is Kind.DEFINITION
    ]
    out["steps"] = [
        {
            "kind": s.kind.value,
            "rule": rule_text(s),
            "latex": step_latex(s, late),
            "text": step_text(s, late),
            "verified": s.verified,
            "check": check_dict(s),
        }
        for s in d.steps
    ]
    if "optimizer" in d.meta:  # symgrad.core.updates: the update steps' hyper-parameter values
        out["optimizer"] = dict(d.meta["optimizer"])
    if "hessian" in d.meta:  # symgrad.core.hessian: the entries ∂²L/∂col∂row, row <= col
        out["hessian"] = {}
        for e in d.meta["hessian"]:
            key = f"{e.row},{e.col}"
            out["hessian"][key] = {"latex": expr_latex(e.named, late),
                                   "text": expr_text(e.named, late)}
            if hessian is not None:
                out["hessian"][key]["value"] = hessian[key]
        if curvature is not None:
            out["curvature"] = dict(curvature)
    out["gradient"] = {}
    for name, g in d.gradients.items():
        entry: dict[str, Any] = {
            "latex": expr_latex(g.named, late),
            "text": expr_text(g.named, late),
        }
        if values is not None:
            entry["value"] = values[name]
        out["gradient"][name] = entry
    if at is not None:
        for name, entry in out["gradient"].items():
            entry["value"] = number(at.grad[d.gradients[name].wrt])
        loss_value = number(at.value[d.graph.output])
    if loss_value is not None:
        out["loss_value"] = loss_value
    if at is not None:
        out["graph"] = graph_dict(d.graph, at)
    return out


def check_dict(s: Step) -> dict[str, Any] | None:
    """How a step was checked, as JSON-ready types (None for a definition)."""
    return _check(s.check)


def _check(c: Any) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"method": c.method.value, "passed": c.passed, "points": c.points,
            "digits": c.digits, "tolerance": c.tolerance, "against": c.against}


def render(
    d: Derivation, values: dict[str, float] | None = None, loss_value: float | None = None,
    hessian: dict[str, float] | None = None, curvature: dict[str, Any] | None = None,
) -> str:
    """:func:`to_dict` as indented JSON text (what ``symgrad derive --format json`` prints).

    >>> import json
    >>> import numpy as np
    >>> from symgrad.numerics.compile import compile_gradient
    >>> from symgrad.core.derive import derive
    >>> d = derive("mse", "linear")
    >>> loss, grads = compile_gradient(d)({"w": 1.0, "b": 0.0}, np.array([[1.0], [2.0]]),
    ...                                   np.array([2.0, 3.0]))
    >>> data = json.loads(render(d, grads, loss))
    >>> data["loss_value"], {k: v["value"] for k, v in data["gradient"].items()}
    (1.0, {'w': -3.0, 'b': -2.0})
    """
    if not isinstance(d, Derivation):
        return dumps(matrix_dict(d))
    return dumps(to_dict(d, values, loss_value, hessian=hessian, curvature=curvature))


def matrix_dict(d: Any) -> dict[str, Any]:
    """A matrix derivation (:class:`symgrad.core.matrix_derive.MatrixDerivation`) as JSON-ready
    types: ``{"kind": "matrix", "expr", "layout", "shapes": {name: [sizes]}, "parameters",
    "data", "assumptions", "steps": [{"kind", "lhs", "forms", "text", "shape", "rules",
    "verified", "check", "exact"}], "gradients": {name: {"shape", "named", "text", "check",
    "exact"}}, "numpy"}``; ``numpy`` is the NumPy code (:func:`symgrad.render.python.render`);
    a shape is a list of strings: ``[]`` a scalar, ``["d"]`` a column vector, ``["N", "d"]``.

    >>> from symgrad.core.matrix_derive import derive_matrix
    >>> out = matrix_dict(derive_matrix("sum((X*w - y)^2)/N", "X: N x d, w: d, y: N", "w"))
    >>> out["shapes"], out["gradients"]["w"]["text"]
    ({'X': ['N', 'd'], 'w': ['d'], 'y': ['N']}, '(2/N)·Xᵀ(Xw − y)')
    """
    steps = [{
        "kind": s.kind.value,
        "lhs": matrix_text(s.lhs),
        "forms": [matrix_text(f) for f in s.forms],
        "text": f"{matrix_text(s.lhs)} = " + " = ".join(matrix_text(f) for f in s.forms),
        "shape": shape_list(s.shape),
        "rules": [r.text for r in s.rules],
        "verified": s.verified,
        "check": _check(s.check),
        "exact": _check(s.exact),
    } for s in d.steps]
    gradients = {name: {
        "shape": g.shape_list,
        "named": matrix_text(g.named),
        "text": matrix_text(g.expanded),
        "check": _check(g.check),
        "exact": _check(g.exact),
    } for name, g in d.gradients.items()}
    return {
        "kind": "matrix",
        "expr": d.text,
        "layout": d.layout,
        "shapes": {name: shape_list(shape) for name, shape in d.shapes.items()},
        "parameters": list(d.params),
        "data": list(d.data),
        "assumptions": list(d.assumptions),
        "steps": steps,
        "gradients": gradients,
        "numpy": python.render(d),
    }


def dumps(data: Any) -> str:
    """Strict, indented JSON text (:func:`strict`), Unicode kept readable.

    >>> print(dumps({"text": "∂L/∂b = 1", "loss": float("inf")}))
    {
      "text": "∂L/∂b = 1",
      "loss": null,
      "note": "loss: inf is not a finite float64 (overflow)"
    }
    """
    return json.dumps(strict(data), indent=2, ensure_ascii=False, allow_nan=False)


def strict(data: Any) -> Any:
    """A copy of ``data`` with every number that is not a finite float64 replaced by None; each
    object holding one gets a ``"note"`` naming the key and why.

    >>> strict({"grad": [1.0, float("nan")], "value": number(sp.exp(800))})
    {'grad': [1.0, None], 'value': None, 'note': 'grad[1]: nan is not a number; value: \
exp(800) = 2.72637E+347 is not a finite float64 (overflow)'}
    """
    if isinstance(data, list | tuple):
        return [strict(v) for v in data]
    if not isinstance(data, dict):
        return _finite(data, "value", [])
    notes: list[str] = []
    out = {k: _finite(v, str(k), notes) for k, v in data.items()}
    if notes:
        out["note"] = "; ".join([out["note"], *notes] if out.get("note") else notes)
    return out


def _finite(v: Any, key: str, notes: list[str]) -> Any:
    if isinstance(v, dict):
        return strict(v)
    if isinstance(v, list | tuple):
        return [_finite(e, f"{key}[{k}]", notes) for k, e in enumerate(v)]
    if isinstance(v, float) and not math.isfinite(v):
        if isinstance(v, Overflow):
            notes.append(f"{key}: {v.exact} is not a finite float64 (overflow)")
        else:
            notes.append(f"{key}: nan is not a number" if v != v else
                         f"{key}: {v} is not a finite float64 (overflow)")
        return None
    return v


class Overflow(float):
    """A SymPy number too large for a float64: ``±inf`` as a float, its exact value kept for the
    note :func:`strict` writes."""

    exact: str

    def __new__(cls, v: sp.Expr) -> Overflow:
        out = super().__new__(cls, math.inf if v > 0 else -math.inf)
        out.exact = f"{v} = {sp.N(v, 6)}" if not v.is_Number else str(sp.N(v, 6))
        return out


def number(v: sp.Expr) -> int | float:
    """A SymPy number as a JSON number: integers stay integers; one beyond float64 is an
    :class:`Overflow` (``null`` with a note in :func:`dumps`).

    >>> number(sp.Integer(21)), number(sp.Rational(1, 2)), number(sp.Integer(10) ** 400)
    (21, 0.5, inf)
    """
    if v.is_Integer and abs(v) <= sys.float_info.max:
        return int(v)
    f = to_float(v)  # every digit right, whatever cancellation hides inside v
    return Overflow(v) if math.isinf(f) and v.is_finite else f


def graph_dict(graph: Graph, values: Values) -> dict[str, Any]:
    """Nodes (inputs, operations, then constants) with value and gradient, and edges with local
    derivatives. A constant's id is ``NODE.INDEX`` (its place among the operation's arguments).

    >>> from symgrad.core.derive import derive_expr
    >>> from symgrad.core.graph import forward_backward
    >>> from symgrad.core.parse import parse_assignments
    >>> d = derive_expr("3*(a + b*c)")
    >>> g = graph_dict(d.graph, forward_backward(d.graph, parse_assignments("a=1,b=2,c=3")))
    >>> g["nodes"][-2]
    {'id': 'j', 'label': 'j', 'expr': '3·v', 'value': 21, 'grad': 1}
    >>> g["nodes"][-1]
    {'id': 'j.0', 'label': '3', 'expr': None, 'value': 3, 'grad': 7}
    >>> g["edges"][-1]
    {'from': 'j.0', 'to': 'j', 'local_derivative': 'v'}
    >>> g["edges"][0]
    {'from': 'b', 'to': 'u', 'local_derivative': 'c'}
    """
    nodes = [
        {
            "id": str(s),
            "label": expr_text(s),
            "expr": None,
            "value": number(values.value[s]),
            "grad": number(values.grad[s]),
        }
        for s in graph.params
    ]
    nodes += [
        {
            "id": str(n.symbol),
            "label": expr_text(n.symbol),
            "expr": expr_text(n.expr),
            "value": number(values.value[n.symbol]),
            "grad": number(values.grad[n.symbol]),
        }
        for n in graph.nodes
    ]
    edges = [
        {"from": str(s), "to": str(n.symbol), "local_derivative": expr_text(n.local(s))}
        for n in graph.nodes
        for s in graph.inputs(n)
    ]
    for k in constants(graph):  # the constant nodes: the 3 in j = 3 v, with dj/d3 = v
        cid = f"{k.node}.{k.index}"
        nodes.append(
            {
                "id": cid,
                "label": expr_text(k.value),
                "expr": None,
                "value": number(k.value),
                "grad": number(values.grad[k.node] * k.local.xreplace(values.value)),
            }
        )
        edges.append({"from": cid, "to": str(k.node), "local_derivative": expr_text(k.local)})
    return {"nodes": nodes, "edges": edges}

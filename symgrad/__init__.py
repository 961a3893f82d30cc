"""symgrad: derive, check and teach the gradients of machine learning, step by step.

>>> import symgrad
>>> d = symgrad.derive("bce", "logistic")
>>> symgrad.render.text.expr_text(d.gradients["w"].named, frozenset(d.graph.features))
'(1/N)·Σᵢ (ŷᵢ − yᵢ)·xᵢ'
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import render  # noqa: E402
from .catalogue import ACTIVATIONS, LOSSES, MODELS, model_graph  # noqa: E402
from .check import CheckResult, check_answer  # noqa: E402
from .compile import compile_gradient  # noqa: E402
from .derive import Derivation, Gradient, Step, derive, derive_expr, derive_graph  # noqa: E402
from .errors import SymgradError  # noqa: E402
from .fit import FitResult, fit  # noqa: E402
from .graph import Graph, Node, Values, expression_graph, forward_backward  # noqa: E402
from .network import Network, network  # noqa: E402
from .render import html as _html  # noqa: E402,F401
from .render import json as _json  # noqa: E402,F401
from .render import latex as _latex  # noqa: E402,F401
from .render import markdown as _markdown  # noqa: E402,F401
from .render import text as _text  # noqa: E402,F401

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "MODELS",
    "Derivation",
    "FitResult",
    "Gradient",
    "Graph",
    "Network",
    "Node",
    "CheckResult",
    "Step",
    "SymgradError",
    "check_answer",
    "compile_gradient",
    "Values",
    "derive",
    "derive_expr",
    "derive_graph",
    "expression_graph",
    "forward_backward",
    "fit",
    "model_graph",
    "network",
    "plots",
    "render",
]


def __getattr__(name: str) -> object:
    """``symgrad.plots`` is imported on first use (it loads matplotlib)."""
    if name == "plots":
        import importlib

        return importlib.import_module(".plots", __name__)
    raise AttributeError(f"module 'symgrad' has no attribute {name!r}")

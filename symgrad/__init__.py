"""symgrad: derive, check and teach the gradients of machine learning, step by step.

The public names load on first use (PEP 562), so ``import symgrad`` and ``symgrad --help`` stay
fast: SymPy, NumPy and matplotlib are imported by the layer that needs them, when it is needed.

>>> import symgrad
>>> d = symgrad.derive("bce", "logistic")
>>> symgrad.render.text.expr_text(d.gradients["w"].named, frozenset(d.graph.features))
'(1/N)·Σᵢ (ŷᵢ − yᵢ)·xᵢ'

The package is layered in the order data flows (``docs/architecture.md``): ``core`` (SymPy: the
function registry, graphs, the chain-rule engine, verification, the parser, the catalogue),
``numerics`` (NumPy: compiled gradients, training), ``models`` (fit, networks), ``render`` (one
printer per format), ``teaching`` (check, plots, worksheets) and ``cli``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing takes ~2 ms
    from typing import Any

__version__ = "0.1.0"

_PUBLIC = {  # name -> the module that defines it
    "ACTIVATIONS": "symgrad.core.catalogue",
    "LOSSES": "symgrad.core.catalogue",
    "MODELS": "symgrad.core.catalogue",
    "model_graph": "symgrad.core.catalogue",
    "Derivation": "symgrad.core.derive",
    "Gradient": "symgrad.core.derive",
    "Step": "symgrad.core.derive",
    "derive": "symgrad.core.derive",
    "derive_expr": "symgrad.core.derive",
    "derive_graph": "symgrad.core.derive",
    "SymgradError": "symgrad.core.errors",
    "MatrixDerivation": "symgrad.core.matrix_steps",
    "derive_matrix": "symgrad.core.matrix_derive",
    "Graph": "symgrad.core.graph",
    "Node": "symgrad.core.graph",
    "Values": "symgrad.core.graph",
    "expression_graph": "symgrad.core.graph",
    "forward_backward": "symgrad.core.graph",
    "compile_gradient": "symgrad.numerics.compile",
    "FitResult": "symgrad.models.fit",
    "fit": "symgrad.models.fit",
    "Network": "symgrad.models.network",
    "network": "symgrad.models.network",
    "CheckResult": "symgrad.teaching.check",
    "check_answer": "symgrad.teaching.check",
}
_SUBMODULES = {"render": "symgrad.render", "plots": "symgrad.teaching.plots"}

__all__ = sorted([*_PUBLIC, *_SUBMODULES])


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use."""
    import importlib

    if name in _SUBMODULES:
        module = importlib.import_module(_SUBMODULES[name])
        if name == "render":  # the printers, so that symgrad.render.text etc. resolve
            for fmt in ("text", "latex", "markdown", "html", "json", "python"):
                importlib.import_module(f"symgrad.render.{fmt}")
        return module
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'symgrad' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

"""The records of a matrix derivation: nodes, steps with shapes, gradients, the derivation.

They mirror :mod:`symgrad.core.steps` (``Step``, ``Gradient``, ``Derivation``: ``kind``,
``rules``, ``check``, ``verified``, ``to_dict()``, the display hooks); the engine
(:mod:`symgrad.core.matrix_derive`) builds them, :mod:`symgrad.core.matrix_check` fills in their
checks and the printers print them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from symgrad.core.matrix import M, Shape, shape_list
from symgrad.core.steps import AnyRule, Kind, display
from symgrad.core.verify import Check

LAYOUT = "denominator layout: ∂L/∂v has the shape of v"


@dataclass(frozen=True)
class MatrixNode:
    """A named intermediate ``name = expr`` of shape ``shape`` (the last node is the loss)."""

    name: str
    expr: M
    shape: Shape


@dataclass(frozen=True)
class MatrixStep:
    """One line ``lhs = forms[0] = ...`` with the shape of both sides, like
    :class:`symgrad.core.steps.Step` (``kind``, ``rules``, ``check``, ``note``); every form is
    checked: ``check`` against central differences at several sizes, ``exact`` entry by entry
    against ``sympy.diff`` at small sizes (None for a definition)."""

    kind: Kind
    rules: tuple[AnyRule, ...]
    lhs: M
    forms: tuple[M, ...]
    shape: Shape
    check: Check | None
    note: str = ""
    exact: Check | None = None

    @property
    def result(self) -> M:
        return self.forms[-1]

    @property
    def verified(self) -> bool:
        if self.check is None:
            return self.kind is Kind.DEFINITION
        return self.check.passed and (self.exact is None or self.exact.passed)


@dataclass(frozen=True)
class MatrixGradient:
    """∂L/∂wrt: ``named`` in the intermediates, ``expanded`` in the inputs only (the textbook
    form); ``check`` the central differences, ``exact`` the entry-by-entry sympy.diff check."""

    wrt: str
    shape: Shape
    named: M
    expanded: M
    check: Check
    exact: Check

    @property
    def shape_list(self) -> list[str]:
        return shape_list(self.shape)


@dataclass(frozen=True)
class MatrixDerivation:
    """The nodes, steps and gradients of a matrix expression; the same API as
    :class:`symgrad.core.steps.Derivation` (``steps``, ``gradients``, ``verified``, ``to_dict``,
    ``print``, Jupyter), plus ``to_numpy()`` (:mod:`symgrad.render.python`); ``simplex`` names
    the labels assumed one-hot, ``symmetric`` the matrices declared symmetric (Dᵀ = D)."""

    text: str
    shapes: dict[str, Shape]
    nodes: tuple[MatrixNode, ...]
    params: tuple[str, ...]
    steps: tuple[MatrixStep, ...]
    gradients: dict[str, MatrixGradient]
    title: str = ""
    assumptions: tuple[str, ...] = ()
    simplex: tuple[str, ...] = ()
    symmetric: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    layout = LAYOUT

    @property
    def loss(self) -> str:
        return self.nodes[-1].name

    @property
    def data(self) -> tuple[str, ...]:
        return tuple(n for n in self.shapes if n not in self.params)

    @property
    def verified(self) -> bool:
        return all(s.verified for s in self.steps) and all(
            g.check.passed and g.exact.passed for g in self.gradients.values())

    def checks_text(self) -> str:
        """How the steps were checked, in words."""
        checked = [s.check for s in self.steps if s.check is not None]
        sizes = self.meta.get("sizes", "")
        exact = sum(1 for s in self.steps if s.exact is not None and s.exact.passed)
        results = sum(1 for g in self.gradients.values() if g.exact.passed)
        return (f"{_count(len(checked), 'step')} against central differences at {sizes} with "
                f"{checked[0].digits if checked else 0} digits; {_count(exact, 'step')} and "
                f"{_count(results, 'result')} exactly against sympy.diff entry by entry at "
                f"{self.meta.get('exact sizes', '')}")

    def __str__(self) -> str:
        return display(self, "text")

    def _repr_html_(self) -> str:
        return display(self, "html", "notebook")

    def _repr_latex_(self) -> str:
        return display(self, "latex", "notebook")

    def to_dict(self) -> dict[str, Any]:
        """Strict JSON data (every shape a list of strings: [] a scalar, ["d"], ["N", "d"]).

        >>> from symgrad.core.matrix_derive import derive_matrix
        >>> d = derive_matrix("norm(A*x - b)^2", shapes="A: m x n, x: n, b: m", wrt="x")
        >>> d.to_dict()["gradients"]["x"]["shape"], d.to_dict()["gradients"]["x"]["text"]
        (['n'], '2·Aᵀ(Ax − b)')
        """
        return display(self, "json", "to_dict")

    def practice(self, **options: Any) -> Any:
        """The interactive page (step through with shapes, type each derivative and its shape),
        shown inline in Jupyter: :func:`symgrad.teaching.interactive_matrix.practice`."""
        return display(self, "interactive_matrix", "practice", **options)

    def to_numpy(self) -> Callable[..., Any]:
        """A NumPy function ``f(**arrays) -> (loss, {name: gradient})`` with shape assertions,
        built from :func:`symgrad.render.python.render`'s source."""
        return display(self, "python", "function")


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")

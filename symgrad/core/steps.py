"""The records a derivation is made of: small typed values, built by the engine, read by printers.

A :class:`Step` is one line ``lhs = forms[0] = forms[1] = ...`` of a :class:`Kind`, justified by
its :class:`Rule`\\ s and carrying the :class:`~symgrad.core.verify.Check` that decided it (None
for a definition, which needs none). A :class:`Derivation` is the graph, its steps and the
:class:`Gradient`\\ s by parameter name. Nothing here computes or prints: the engine
(:mod:`symgrad.core.derive`) builds these records and the printers (:mod:`symgrad.render`) print
them.

>>> Rule.CHAIN.text, Rule.function("sigmoid identity").text
('chain rule', 'sigmoid identity')
>>> as_rules("power rule, chain rule, sum rule")
(<Rule.POWER: 'power rule'>, <Rule.CHAIN: 'chain rule'>, <Rule.SUM: 'sum rule'>)
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import sympy as sp

from symgrad.core.graph import Graph
from symgrad.core.verify import Check


class Kind(Enum):
    """What a step does; the printers group steps into sections by kind."""

    DEFINITION = "definition"
    LOCAL = "local"
    CHAIN = "chain"
    SUBSTITUTION = "substitution"
    REDUCTION = "reduction"
    UPDATE = "update"
    HESSIAN = "hessian"


class Rule(Enum):
    """A rule of differentiation or a move of the derivation; the value is its display name."""

    DEFINITION = "definition"
    MEAN_OVER_SAMPLES = "mean over samples"
    MEAN_PLUS_PENALTY = "mean over samples + penalty"
    SUM_PLUS_PENALTY = "sum over samples + penalty"
    IDENTITY = "identity"
    DERIVATIVE = "derivative"
    SUM = "sum rule"
    CONSTANT_MULTIPLE = "constant multiple rule"
    PRODUCT = "product rule"
    QUOTIENT = "quotient rule"
    POWER = "power rule"
    EXP = "exp rule"
    CHAIN = "chain rule"
    MULTIVARIABLE_CHAIN = "multivariable chain rule (sum over paths)"
    CANCELLATION = "cancellation"
    ONE_HOT_CANCELLATION = "cancellation (one-hot labels sum to 1)"
    SUM_OVER_SAMPLES = "sum over samples"
    PENALTY = "penalty term"
    SUBSTITUTE_BACK = "substitute back"
    SUBSTITUTE_FULLY = "substitute fully"
    EXPAND_SUMS = "expand the sum over samples"
    NORMAL_EQUATIONS = "set the gradient to zero and solve (normal equations)"
    GRADIENT_AT_T = "the gradient at the parameters of iteration t"
    GRADIENT_STEP = "step against the gradient"
    MOMENTUM = "momentum (heavy ball)"
    NESTEROV = "Nesterov momentum"
    ADAGRAD = "AdaGrad: sum of squared gradients"
    RMSPROP = "RMSProp: running average of squared gradients"
    ADAM = "Adam: running averages of the gradient and its square"
    BIAS_CORRECTION = "bias correction"
    SECOND_DERIVATIVE = "differentiate the gradient again"
    NEWTON_STEP = "Newton step: the gradient divided by the curvature"
    LINEAR_MAP = "linear map: the adjoint through the transpose"
    TRANSPOSE = "transpose"
    QUADRATIC_FORM = "quadratic form: ∂‖v‖² = 2v"
    HADAMARD = "elementwise: a Hadamard product (diag)"
    ONES_VECTOR = "sum as a ones vector 1ᵀ"
    MEAN_ONES = "mean as a ones vector (1/n)·1ᵀ"
    NORM = "norm: ∂‖v‖ = v/‖v‖"
    TRACE = "trace identity: ∂tr(A) = I"
    SOFTMAX_JACOBIAN = "softmax Jacobian diag(s) − s sᵀ"

    @property
    def text(self) -> str:
        """The display name."""
        return self.value

    @staticmethod
    def function(name: str) -> FunctionRule:
        """The rule of one function (``"sigmoid identity"``), named by the function's record."""
        return FunctionRule(name)


@dataclass(frozen=True)
class FunctionRule:
    """The derivative rule of one function, e.g. ``sigmoid identity``, by its display name."""

    text: str


AnyRule = Rule | FunctionRule

_BY_TEXT = {r.value: r for r in Rule}


def as_rules(names: str) -> tuple[AnyRule, ...]:
    """Typed rules from :func:`symgrad.core.derive.rule_name`'s comma-separated display names:
    the general rules are :class:`Rule` members, the others rules of a function."""
    return tuple(_BY_TEXT.get(n) or Rule.function(n) for n in names.split(", "))


class Partial(sp.Expr):
    """The symbol dF/dx in a step, printed as a fraction of partials; it has no value of its own.

    ``Partial(L, w, b)`` is the second derivative d/db (dL/dw), printed d^2 L / (db dw).
    """

    def __new__(cls, of: sp.Symbol, wrt: sp.Symbol, *then: sp.Symbol) -> Partial:
        return sp.Expr.__new__(cls, of, wrt, *then)

    @property
    def wrts(self) -> tuple[sp.Symbol, ...]:
        """The variables in the order of differentiation (one for a first derivative)."""
        return tuple(self.args[1:])

    @property
    def of(self) -> sp.Symbol:
        return self.args[0]

    @property
    def wrt(self) -> sp.Symbol:
        return self.args[1]


@dataclass(frozen=True)
class Step:
    """One line of a derivation: ``lhs = forms[0] = forms[1] = ...``, justified by ``rules``.

    ``check`` records how the step was checked (None for a definition: nothing to check).
    ``note`` is free text printed right after the rules, starting with its own separator
    (``", g = relu"``), for steps that say more than a rule (shapes of the layer-level form).
    """

    kind: Kind
    rules: tuple[AnyRule, ...]
    lhs: sp.Expr
    forms: tuple[sp.Expr, ...]
    check: Check | None
    note: str = ""

    @property
    def result(self) -> sp.Expr:
        """The last (simplest) right-hand side."""
        return self.forms[-1]

    @property
    def verified(self) -> bool:
        """True for a definition (of an intermediate, or an optimizer's update), otherwise when
        the step has a check and it passed."""
        if self.check is None:
            return self.kind in (Kind.DEFINITION, Kind.UPDATE)
        return self.check.passed


@dataclass(frozen=True)
class Gradient:
    """dL/d(param) in three forms.

    ``named`` is the lecture's form (kept intermediates such as y_hat_i), ``expanded`` is in
    parameters and data only; both are display expressions (sums over samples as ``sympy.Sum``).
    Numerically the gradient is ``scale * sum_i term + extra``, with ``term`` in parameters and
    per-sample data (no sum when the graph is not a loss over samples: then scale is 1).
    """

    wrt: sp.Symbol
    named: sp.Expr
    expanded: sp.Expr
    scale: sp.Expr
    term: sp.Expr
    extra: sp.Expr


@dataclass(frozen=True)
class Derivation:
    """The graph, its steps in order, and the gradients by parameter name."""

    graph: Graph
    steps: tuple[Step, ...]
    gradients: dict[str, Gradient]
    title: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        """True when every step that is not a definition has a check, and every check passed."""
        return all(s.verified for s in self.steps)

    def _repr_latex_(self) -> str:
        return display(self, "latex", "notebook")

    def _repr_html_(self) -> str:
        return display(self, "html", "notebook")

    def __str__(self) -> str:
        return display(self, "text")

    def to_dict(self) -> dict[str, Any]:
        """The derivation as plain JSON-ready data (the ``--format json`` output).

        >>> from symgrad.core.derive import derive
        >>> sorted(derive("mse", "linear", wrt=["b"]).to_dict())
        ['definitions', 'gradient', 'loss', 'model', 'steps']
        """
        return display(self, "json", "to_dict")

    def practice(self, at: dict[str, Any] | None = None, **options: Any) -> Any:
        """The interactive page (step through, play the graph at ``at``, practise the gradients),
        shown inline in Jupyter: :func:`symgrad.teaching.interactive.practice`."""
        return display(self, "interactive", "practice", at=at, **options)


#: Printers that are not in symgrad.render: the interactive page (it draws the graph's layout and
#: the known mistakes, which live in symgrad.teaching).
_MODULES = {"interactive": "symgrad.teaching.interactive",
            "interactive_matrix": "symgrad.teaching.interactive_matrix"}


def display(d: Derivation, fmt: str, function: str = "render", **options: Any) -> Any:
    """``symgrad.render.<fmt>.<function>(d)``: the one lazy hook from the core up to the printers.

    Jupyter, ``print``, :meth:`Derivation.to_dict` and :meth:`Derivation.practice` call it; the
    printer module is imported by name at call time, so the core does not depend on the printers
    (see docs/architecture.md, "The one lazy hook").
    ``fmt = "interactive"`` is the page of :mod:`symgrad.teaching.interactive`.
    """
    module = importlib.import_module(_MODULES.get(fmt, f"symgrad.render.{fmt}"))
    return getattr(module, function)(d, **options)

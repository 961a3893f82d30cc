"""Renderers: one module per output format, each dispatching on the step kind and node type.

``text`` (Unicode), ``latex`` (an ``align*`` block or a standalone document), ``json`` (the
documented contract). Renderers never compute: they print what the engine derived, including how
each step was checked (:func:`checks_text`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import groupby
from typing import TYPE_CHECKING

from symgrad.core.steps import Kind
from symgrad.core.verify import Method

if TYPE_CHECKING:
    from symgrad.core.steps import Derivation, Step

SECTIONS = {
    Kind.DEFINITION: "Define the intermediates",
    Kind.LOCAL: "Differentiate each step locally",
    Kind.CHAIN: "Multiply along the chain (from the loss back)",
    Kind.SUBSTITUTION: "Substitute back",
    Kind.REDUCTION: "Expand the sums over samples (the data enter through statistics)",
    Kind.UPDATE: "Update the parameters (the optimizer, iteration t to t + 1)",
    Kind.HESSIAN: "Differentiate the gradient again (the Hessian)",
}


def sections(steps: Iterable[Step]) -> Iterator[tuple[str, list[Step]]]:
    """The steps grouped into runs of one kind: ``(heading, [step, ...])`` in order.

    >>> from symgrad.core.derive import derive
    >>> [(h.split()[0], len(s)) for h, s in sections(derive("mse", "linear").steps)][:2]
    [('Define', 4), ('Differentiate', 4)]
    """
    for kind, run in groupby(steps, key=lambda step: step.kind):
        yield SECTIONS[kind], list(run)


def rule_text(step: Step) -> str:
    """The step's rules by their display names, then its note.

    >>> from symgrad.core.derive import derive
    >>> rule_text(derive("bce", "logistic").steps[-5])
    'chain rule, cancellation'
    """
    return ", ".join(r.text for r in step.rules) + step.note


def checks_text(d: Derivation) -> str:
    """What the steps' checks did, counted by method: symbolic identities, and the fewest random
    points and digits any numeric check used.

    >>> from symgrad.core.derive import derive
    >>> checks_text(derive("mse", "linear"))
    'every step checked against sympy.diff: 13 as symbolic identities'
    >>> checks_text(derive("bce", "logistic")).split(": ")[1]
    '3 as symbolic identities, 8 at 4 random points with ≥ 120 digits'
    """
    checks = [s.check for s in d.steps if s.check is not None]
    counts = Counter(c.method for c in checks)
    parts = []
    if counts[Method.SYMBOLIC]:
        parts.append(f"{counts[Method.SYMBOLIC]} as symbolic identities")
    how = {Method.RANDOM_POINTS: "at {} random points", Method.CENTRAL_DIFFERENCES:
           "by central differences on {} samples"}
    for method, where in how.items():
        numeric = [c for c in checks if c.method is method]
        if numeric:
            points, digits = min(c.points for c in numeric), min(c.digits for c in numeric)
            parts.append(f"{len(numeric)} {where.format(points)} with ≥ {digits} digits")
    against = d.meta.get("checked_against", "sympy.diff")
    return f"every step checked against {against}: " + ", ".join(parts)


def typed_title(d: object) -> tuple[str, str]:
    """A derivation's title as its words and the text the user typed (``""`` when none), so that
    each printer sets the typed text as code: ``3*x^2`` is neither prose nor Markdown emphasis.

    >>> from symgrad.core.derive import derive, derive_expr
    >>> typed_title(derive_expr("3*x^2 + a*b*c"))
    ('Gradient of', '3*x^2 + a*b*c')
    >>> typed_title(derive("mse", "linear"))
    ('Gradient of the mean squared error with the linear model', '')
    """
    title = getattr(d, "title", "") or ""
    meta = getattr(d, "meta", None) or {}
    text = meta.get("expr") or getattr(d, "text", "")
    lead = "Gradient of "
    if text and title == lead + text:
        return lead.rstrip(), text
    return title, ""


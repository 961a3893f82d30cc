"""Renderers: one module per output format, each dispatching on the step kind and node type.

``text`` (Unicode), ``latex`` (an ``align*`` block or a standalone document), ``json`` (the
documented
contract). Renderers never compute: they print what the engine derived.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import groupby
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from symgrad.core.derive import Step

SECTIONS = {
    "definition": "Define the intermediates",
    "local": "Differentiate each step locally",
    "chain": "Multiply along the chain (from the loss back)",
    "substitution": "Substitute back",
    "reduction": "Expand the sums over samples (the data enter through statistics)",
}


def sections(steps: Iterable[Step]) -> Iterator[tuple[str, list[Step]]]:
    """The steps grouped into runs of one kind: ``(heading, [step, ...])`` in order.

    >>> from symgrad.core.derive import derive
    >>> [(h.split()[0], len(s)) for h, s in sections(derive("mse", "linear").steps)][:2]
    [('Define', 4), ('Differentiate', 4)]
    """
    for kind, run in groupby(steps, key=lambda step: step.kind):
        yield SECTIONS[kind], list(run)

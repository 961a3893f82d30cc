"""Renderers: one module per output format, each dispatching on the step kind and node type.

``text`` (Unicode), ``latex`` (an ``align*`` block or a standalone document), ``json`` (the
documented
contract). Renderers never compute: they print what the engine derived.
"""

from __future__ import annotations

SECTIONS = {
    "definition": "Define the intermediates",
    "local": "Differentiate each step locally",
    "chain": "Multiply along the chain (from the loss back)",
    "substitution": "Substitute back",
    "reduction": "Expand the sums over samples (the data enter through statistics)",
}

"""The names a network's derivations are written in: matrices (dZ^[2]), their products, and the
scalars of single units (w₂₁^[1]). Display objects only: they hold a name or their factors; the
printers (:mod:`symgrad.render.text`, :mod:`symgrad.render.latex`) print them.

>>> Mat("dZ[2]").parts(), Unit("w[1]_2_1").parts()
(('d', 'Z', '2', False, ''), ('w', '1', ['2', '1']))
"""

from __future__ import annotations

import re

import sympy as sp

_MAT = re.compile(r"(d?)([A-Za-z]+?)(?:\[(\w+)\])?(T?)(?:_(\w+))?")
#: ``w[2]_1_3``: base, layer, unit (and input unit) of one scalar of the expanded network.
UNIT_NAME = re.compile(r"([a-z]+)\[(\d+)\]_(\d+)(?:_(\d+))?")


class Mat(sp.Symbol):
    """A named matrix or vector of the network: ``Mat("dZ[2]")`` prints dZ^[2], ``"A[1]T"`` A^[1]ᵀ.

    The name is ``[d]BASE[[layer]][T][_sub]``. It is a real SymPy symbol, so conditions such as
    Z^[1] > 0 can be written; products of matrices are :class:`MatMul`, never ``*``.
    """

    def __new__(cls, name: str) -> Mat:
        return super().__new__(cls, name, real=True)

    def parts(self) -> tuple[str, str, str, bool, str]:
        """``(d, base, layer, transposed, sub)`` of the name."""
        match = _MAT.fullmatch(self.name)
        if match is None:  # pragma: no cover - names are ours
            return "", self.name, "", False, ""
        d, base, layer, t, sub = match.groups()
        return d, base, layer or "", bool(t), sub or ""


class MatMul(sp.Expr):
    """A matrix product in the order written; a leading 1/m prints as a scalar factor."""


class Hadamard(sp.Expr):
    """The elementwise product of same-shaped matrices: a ⊙ b."""


class Elementwise(sp.Function):
    """g'(Z^[l]) as a name, printed g₁'(Z^[1]): the arguments are Z^[l] and the layer l."""


class Unit(sp.Symbol):
    """A scalar of one unit: ``w[1]_2_1`` prints w₂₁^[1] (LaTeX w^{[1]}_{21}), ``a[1]_2`` a₂^[1].

    ``str()`` keeps the plain name, which is the key in ``Derivation.gradients``."""

    def __new__(cls, name: str) -> Unit:
        return super().__new__(cls, name, real=True)

    def parts(self) -> tuple[str, str, list[str]]:
        """``(base, layer, [unit, input unit])`` of the name."""
        match = UNIT_NAME.fullmatch(self.name)
        assert match is not None, self.name
        base, layer, j, k = match.groups()
        return base, layer, [j] + ([k] if k else [])

    def index(self) -> str:
        """The unit's subscript: ``21``, or ``10,2`` when a number has two digits."""
        idx = self.parts()[2]
        return ("," if any(len(s) > 1 for s in idx) else "").join(idx)


def bracketed(factor: sp.Expr) -> bool:
    """Whether a factor of a matrix product is printed in brackets: a sum, an elementwise product,
    or a negated product."""
    return isinstance(factor, sp.Add | Hadamard) or (
        isinstance(factor, sp.Mul) and factor.could_extract_minus_sign()
    )

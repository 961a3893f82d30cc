"""What the network derivations read from a network: its spec, its activations as the engine
derived them, and its NumPy backprop (to check the layer-level steps numerically).

:class:`symgrad.models.network.Network` provides it; the derivations
(:mod:`~symgrad.models.network_layers`, :mod:`~symgrad.models.network_expand`) take any such
object, so they need not import the module that calls them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np


class NetworkSpec(Protocol):
    """Sizes [n0, ..., nL], an activation name per layer, a loss name (and ``replace``-able
    as a dataclass on those three fields)."""

    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    loss_name: str

    @property
    def depth(self) -> int: ...

    @property
    def n_params(self) -> int: ...


class LayeredNetwork(NetworkSpec, Protocol):
    """A spec with its activations (``expr``, ``derivative``, ``derivation``, ``g``, ``dg``), what
    :mod:`symgrad.models.backprop` runs the samples-as-columns pass of (the pass the layer-level
    derivation is checked against)."""

    _acts: Sequence[Any]

    @property
    def _softmax(self) -> bool: ...

    def init_params(self, seed: int | None = 0) -> dict[str, np.ndarray]: ...

    def check_data(self, X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]: ...

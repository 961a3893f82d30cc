"""Random data for the catalogue losses, shared by the gradient tests (no symgrad involved)."""

from __future__ import annotations

import numpy as np


def catalogue_data(loss: str, features: int, n: int, seed: int = 0, classes: int = 3):
    """``(X, y)``: N(0, 1) features; labels N(0, 1) for mse, 0/1 for bce, one-hot otherwise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features))
    if loss == "mse":
        y = rng.normal(size=n)
    elif loss == "bce":
        y = rng.integers(0, 2, size=n).astype(float)
    else:
        y = np.eye(classes)[rng.integers(0, classes, size=n)]
    return X, y

"""The matrix examples of issue 17 and the autograd comparison, shared by the matrix tests."""

from __future__ import annotations

import autograd
import numpy as np
import sympy as sp

from symgrad.core.matrix import SCALAR, is_symmetric

#: The issue's examples: (text, shapes, wrt) by name.
EXAMPLES = {
    "mse": ("sum((X*w - y)^2)/N", "X: N x d, w: d, y: N", "w"),
    "logistic pm1": ("mean(log(1 + exp(-y .* (X*w))))", "X: N x d, w: d, y: N", "w"),
    "bce definitions": ("z = X*w; p = sigmoid(z); L = mean(-y .* log(p) - (1 - y) .* log(1 - p))",
                        "X: N x d, w: d, y: N", "w"),
    "norm + lam": ("norm(A*x - b)^2 + lam*norm(x)^2", "A: m x n, x: n, b: m, lam: scalar", "x"),
    "softmax ce": ("-sum(y .* log(softmax(W*x + b)))", "W: k x d, x: d, b: k, y: k", "W,b"),
}


def arrays(d, sizes: dict[str, int], rng: np.random.Generator) -> dict[str, object]:
    """Random inputs of a matrix derivation's declared shapes at ``sizes``: N(0, 1) entries, a
    scalar in [0.2, 1], one-hot rows for labels the derivation assumes one-hot."""
    out = {}
    for name, (rows, cols) in d.shapes.items():
        dims = [int(sp.sympify(s).subs({sp.Symbol(k, positive=True, integer=True): v
                                        for k, v in sizes.items()})) for s in (rows, cols)]
        if (rows, cols) == SCALAR:
            out[name] = float(rng.uniform(0.2, 1.0))
        elif cols == 1:
            out[name] = rng.normal(size=dims[0])
        else:
            out[name] = rng.normal(size=tuple(dims))
            if is_symmetric(d.shapes[name]):
                out[name] = (out[name] + out[name].T) / 2
        if name in d.simplex:
            out[name] = np.eye(dims[0])[rng.integers(dims[0])]
    return out


def assert_matches_autograd(d, reference, sizes, seed: int) -> None:
    """The derivation's exported NumPy loss and gradients equal ``reference`` and autograd's
    gradients of it, at random inputs of every size set in ``sizes``."""
    f = d.to_numpy()
    rng = np.random.default_rng(seed)
    for at in sizes:
        inputs = arrays(d, at, rng)
        values = list(inputs.values())
        loss, grads = f(*values)
        assert np.isclose(loss, reference(*values), rtol=1e-10, atol=1e-12)
        assert set(grads) == set(d.gradients)
        for name, g in grads.items():
            expected = autograd.grad(reference, list(inputs).index(name))(*values)
            assert np.shape(g) == np.shape(expected), name
            np.testing.assert_allclose(g, expected, rtol=1e-9, atol=1e-11, err_msg=name)

"""The statistics path of MSE keeps its digits when the data sit far from zero (issue 12)."""

from fractions import Fraction

import numpy as np
import pytest

from symgrad.core.derive import derive
from symgrad.models.fit import fit
from symgrad.numerics.reduce import reduce_derivation


def _exact(theta: tuple[float, float], x: np.ndarray, y: np.ndarray) -> tuple[float, list[float]]:
    """Loss and gradient of mean((w x + b - y)^2) in exact rational arithmetic."""
    w, b = map(Fraction, theta)
    res = [w * Fraction(a) + b - Fraction(t) for a, t in zip(x, y, strict=True)]
    n = len(res)
    loss = sum(r * r for r in res) / n
    gw = 2 * sum(r * Fraction(a) for r, a in zip(res, x, strict=True)) / n
    gb = 2 * sum(res) / n
    return float(loss), [float(gw), float(gb)]


@pytest.mark.parametrize("offset", [1e8, 1e10, 1e12])
def test_loss_gradient_and_closed_form_survive_large_offsets(offset: float) -> None:
    r = reduce_derivation(derive("mse", "linear"))
    rng = np.random.default_rng(3)
    x = rng.normal(2.0, 1.0, size=300)
    y = 3 * x + offset + rng.normal(scale=0.1, size=300)
    stats = r.statistics(x[:, None], y)
    for theta in [(3.0, offset), (2.5, offset + 0.5), (3.0, offset - 2.0)]:
        loss, grad = r.evaluate(np.array(theta), stats)
        true_loss, true_grad = _exact(theta, x, y)
        assert loss >= 0
        assert abs(loss - true_loss) <= 1e-6 * true_loss
        assert np.allclose(grad, true_grad, rtol=1e-6, atol=1e-6 * abs(true_grad[0]))
    cf = r.closed_form(stats)
    xc, yc = x - x.mean(), y - y.mean()
    w = float(np.linalg.lstsq(xc[:, None], yc, rcond=None)[0][0])
    b = float(y.mean() - w * x.mean())
    assert cf is not None
    assert abs(cf["w"] - w) <= 1e-9 * abs(w)
    assert abs(cf["b"] - b) <= 1e-15 * abs(b) + 1e-9  # a few units in the last place


def test_fit_reports_a_positive_loss_at_offset_1e10() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=100)
    y = 3 * x + 1e10 + rng.normal(scale=0.1, size=100)
    res = fit("mse", "linear", (x, y), lr=0.1, max_iter=2000,
              init={"w": 3.0, "b": 1e10})
    assert res.method == "statistics"
    cf = res.closed_form
    true_loss = _exact((cf["w"], cf["b"]), x, y)[0]
    assert true_loss > 0
    assert abs(_exact((res.params["w"], res.params["b"]), x, y)[0] - res.train.final_loss) \
        <= 1e-6 * true_loss

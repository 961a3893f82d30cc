"""Tests of symgrad.numerics.kernels: finite and silent at extreme logits, exact where naive ones
hold."""

from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from symgrad.numerics import kernels as K

EXTREME = np.array([-1e300, -1e4, -800.0, -40.0, -1.0, 0.0, 1.0, 40.0, 800.0, 1e4, 1e300])
MODERATE = np.linspace(-30.0, 30.0, 241)


@pytest.fixture(autouse=True)
def strict() -> None:
    """Every NumPy floating-point event raises, and every warning is an error."""
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize(
    "fn",
    [K.sigmoid, K.log_sigmoid, K.softplus, K.relu, K.relu_grad, K.leaky_relu, K.leaky_relu_grad],
)
def test_elementwise_finite_at_extremes(fn) -> None:
    out = fn(EXTREME)
    assert out.shape == EXTREME.shape
    assert np.all(np.isfinite(out))


def test_extreme_values() -> None:
    assert K.sigmoid(-1e4) == 0.0 and K.sigmoid(1e4) == 1.0
    assert K.log_sigmoid(-1e4) == -1e4 and K.log_sigmoid(1e4) == 0.0
    assert K.softplus(1e4) == 1e4 and K.softplus(-1e4) == 0.0
    assert K.bce_from_logits(np.array([1e4]), np.array([0.0])) == 1e4
    assert K.bce_from_logits(np.array([-1e4]), np.array([1.0])) == 1e4
    assert K.bce_from_logits(np.array([1e4, -1e4]), np.array([1.0, 0.0])) == 0.0
    for z in (1e4, 1e300):
        assert np.all(np.isfinite(K.softmax([z, 0.0, -z])))
        assert np.all(np.isfinite(K.log_softmax([z, 0.0, -z])))
    assert K.softmax([1e300, -1e300]).tolist() == [1.0, 0.0]
    assert K.log_softmax([1e300, -1e300])[0] == 0.0


def test_scalars_give_floats() -> None:
    for fn in (K.sigmoid, K.log_sigmoid, K.softplus, K.relu, K.relu_grad):
        assert type(fn(0.5)) is float
    assert type(K.bce_from_logits(0.5, 1.0)) is float


def test_agree_with_naive_formulas_where_they_do_not_overflow() -> None:
    z = MODERATE
    np.testing.assert_allclose(K.sigmoid(z), 1 / (1 + np.exp(-z)), rtol=1e-14)
    np.testing.assert_allclose(K.softplus(z), np.log(1 + np.exp(z)), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(
        K.log_sigmoid(z), np.log(1 / (1 + np.exp(-z))), rtol=1e-14, atol=1e-15
    )
    np.testing.assert_allclose(K.relu(z), np.where(z > 0, z, 0.0))
    np.testing.assert_allclose(K.leaky_relu(z, 0.2), np.where(z > 0, z, 0.2 * z))


def test_bce_agrees_with_naive_formula() -> None:
    rng = np.random.default_rng(0)
    z = rng.uniform(-15, 15, size=200)
    y = rng.integers(0, 2, size=200).astype(float)
    p = 1 / (1 + np.exp(-z))
    naive = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    # the naive log(p) near p = 1 is off by about 1e-16 absolute; the kernel is the accurate one
    np.testing.assert_allclose(
        K.bce_from_logits(z, y, reduction="none"), naive, rtol=1e-10, atol=1e-15
    )
    assert K.bce_from_logits(z, y) == pytest.approx(naive.mean(), rel=1e-12)
    assert K.bce_from_logits(z, y, reduction="sum") == pytest.approx(naive.sum(), rel=1e-12)
    # soft labels: still softplus(z) - y z
    ys = rng.uniform(0, 1, size=200)
    np.testing.assert_allclose(
        K.bce_from_logits(z, ys, reduction="none"), np.log1p(np.exp(z)) - ys * z, rtol=1e-9
    )


def test_bce_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="shape"):
        K.bce_from_logits(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(ValueError, match="reduction"):
        K.bce_from_logits(0.0, 1.0, reduction="max")


mpmath.mp.dps = 50


def mp_sigmoid(z: float) -> mpmath.mpf:
    return 1 / (1 + mpmath.exp(-mpmath.mpf(z)))


@pytest.mark.parametrize("z", [-745.0, -700.0, -40.0, -1e-8, 0.0, 0.5, 3.0, 40.0, 700.0])
def test_sigmoid_family_matches_mpmath(z: float) -> None:
    s = mp_sigmoid(z)
    softplus = mpmath.log(1 + mpmath.exp(mpmath.mpf(z)))
    assert K.sigmoid(z) == pytest.approx(float(s), rel=1e-15, abs=1e-320)
    assert K.log_sigmoid(z) == pytest.approx(float(mpmath.log(s)), rel=1e-15, abs=1e-300)
    assert K.softplus(z) == pytest.approx(float(softplus), rel=1e-15, abs=1e-300)


@pytest.mark.parametrize(
    ("z", "y"), [(40.0, 1.0), (-40.0, 0.0), (40.0, 0.0), (-3.5, 1.0), (1e-9, 1)]
)
def test_bce_matches_mpmath(z: float, y: float) -> None:
    s = mp_sigmoid(z)
    exact = -(y * mpmath.log(s) + (1 - y) * mpmath.log(1 - s))
    # (40, 1): exact is about 4.2e-18; computing softplus(z) - y z naively would give 0
    assert K.bce_from_logits(np.array([z]), np.array([y])) == pytest.approx(float(exact), rel=1e-14)


def test_softmax_matches_mpmath() -> None:
    z = [1000.0, 999.0, 990.0, -1000.0]
    exps = [mpmath.exp(mpmath.mpf(v)) for v in z]
    total = mpmath.fsum(exps)
    exact = [float(e / total) for e in exps]
    exact_log = [float(mpmath.log(e / total)) for e in exps]
    np.testing.assert_allclose(K.softmax(z), exact, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(K.log_softmax(z), exact_log, rtol=1e-14)


def test_softmax_along_an_axis() -> None:
    rng = np.random.default_rng(2)
    z = rng.normal(scale=5, size=(4, 6))
    for axis in (0, 1, -1):
        p = K.softmax(z, axis=axis)
        naive = np.exp(z) / np.exp(z).sum(axis=axis, keepdims=True)
        np.testing.assert_allclose(p, naive, rtol=1e-13)
        np.testing.assert_allclose(p.sum(axis=axis), 1.0, rtol=1e-14)
        np.testing.assert_allclose(K.log_softmax(z, axis=axis), np.log(naive), rtol=1e-12)


def test_relu_derivative_conventions() -> None:
    assert K.relu_grad(0.0) == 0.0
    assert K.leaky_relu_grad(0.0, 0.1) == 0.1
    assert K.leaky_relu_grad(0.0) == 0.01
    z = np.array([-2.0, -0.5, 0.3, 4.0])
    h = 1e-6
    np.testing.assert_allclose(K.relu_grad(z), (K.relu(z + h) - K.relu(z - h)) / (2 * h), rtol=1e-8)
    np.testing.assert_allclose(
        K.leaky_relu_grad(z, 0.1),
        (K.leaky_relu(z + h, 0.1) - K.leaky_relu(z - h, 0.1)) / (2 * h),
        rtol=1e-8,
    )


def test_relu_conventions_match_the_symbolic_functions() -> None:
    import sympy as sp

    from symgrad.core.functions import leaky_relu, relu

    z = sp.Symbol("z", real=True)
    for v in (-1.5, 0.0, 2.0):
        assert float(sp.diff(relu(z), z).subs(z, v)) == K.relu_grad(v)
        assert float(sp.diff(leaky_relu(z, sp.Rational(1, 10)), z).subs(z, v)) == pytest.approx(
            K.leaky_relu_grad(v, 0.1)
        )


@given(st.floats(min_value=-1e308, max_value=1e308, allow_nan=False))
def test_sigmoid_symmetry_and_range(z: float) -> None:
    with np.errstate(all="raise"):
        s, t = K.sigmoid(z), K.sigmoid(-z)
        assert 0.0 <= s <= 1.0
        assert s + t == pytest.approx(1.0, abs=1e-15)
        assert K.log_sigmoid(z) <= 0.0
        assert K.softplus(z) >= max(z, 0.0)


@pytest.mark.parametrize(("shape", "axis"), [((5, 3), 1), ((3, 5), 0), ((3, 4, 2), 0),
                                             ((4, 3, 2), 1), ((4, 2, 3), -1)])
def test_cross_entropy_integer_classes_equal_one_hot_along_any_axis(shape, axis) -> None:
    """Integer classes pick the entries (class y, sample) directly: the same loss and gradient as
    the one-hot labels, whatever the axis of the classes and the number of sample axes."""
    rng = np.random.default_rng(3)
    Z = rng.normal(size=shape) * 5
    K_ = shape[axis]
    classes = rng.integers(0, K_, size=np.delete(np.array(shape), axis % len(shape)))
    one_hot = np.moveaxis(np.eye(K_)[classes], -1, axis)
    loss, delta = K.cross_entropy_loss_grad(Z, classes, axis=axis)
    loss_oh, delta_oh = K.cross_entropy_loss_grad(Z, one_hot, axis=axis)
    assert loss == pytest.approx(loss_oh, rel=1e-14)
    np.testing.assert_allclose(delta, delta_oh, rtol=1e-14, atol=1e-16)
    Z_in = Z.copy()
    K.cross_entropy_loss_grad(Z_in, classes, axis=axis)
    assert np.array_equal(Z_in, Z)  # the logits are not written to


@pytest.mark.parametrize("shape", [(5,), (64, 65), (3, 40, 50), (10000,)])
def test_relu_equals_maximum_with_zero_for_any_size(shape) -> None:
    """relu works against an array of zeros on large inputs (a faster loop): the same numbers as
    maximum(z, 0), including NaN, infinities and -0.0, and the zeros it borrows stay zeros."""
    rng = np.random.default_rng(5)
    z = rng.normal(size=shape)
    flat = z.reshape(-1)
    flat[: min(4, flat.size)] = [np.nan, -np.inf, np.inf, -0.0][: min(4, flat.size)]
    got = K.relu(z)
    want = np.maximum(z, 0.0)
    assert got.shape == want.shape and np.array_equal(got, want, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(want))
    assert not np.shares_memory(got, z)
    assert K.relu(-np.ones(shape)).max() == 0.0  # the shared zeros were not written to

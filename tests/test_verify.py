"""symgrad.core.verify: the one equality decision (proofs, test points, tolerances, domains)."""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp

from symgrad.core.errors import VerificationError
from symgrad.core.functions import sigmoid
from symgrad.core.verify import SIZES, close, equivalent, same_all, value

w, x, y, z, b = sp.symbols("w x y z b", real=True)
i = sp.Symbol("i", integer=True, positive=True)
N = sp.Symbol("N", integer=True, positive=True)
xi = sp.Symbol("x_i", real=True)


def test_tolerance_is_stated_and_catches_1e_13_on_order_1():
    assert close(mpmath.mpf(1), mpmath.mpf(1) + mpmath.mpf("1e-22"))  # within TOLERANCE = 1e-20
    assert not close(mpmath.mpf(1), mpmath.mpf(1) + mpmath.mpf("1e-13"))
    assert not close(mpmath.mpf(100), mpmath.mpf(100) + mpmath.mpf("1e-12"))
    assert not close(mpmath.mpf(0), mpmath.mpf("1e-14"))  # absolute near zero
    with mpmath.workdps(60):  # settled values carry 60+ digits
        assert not close(mpmath.mpf(10) ** 6, mpmath.mpf(10) ** 6 + mpmath.mpf("1e-12"))


def test_points_outside_a_domain_are_skipped_not_counted_as_disagreement():
    d = equivalent(sp.log(w**2), 2 * sp.log(w))  # equal where log(w) is real: w > 0
    assert d.equal and d.method == "random points" and d.points >= 24
    assert not equivalent(sp.log(w**2), 3 * sp.log(w))
    with pytest.raises(VerificationError, match="undefined"):
        equivalent(sp.log(-1 - w**2), w)


def test_a_big_expansion_is_left_to_the_numbers_not_expanded():
    """(w + x + y + z + 1)^40 would expand to 135751 terms: over the budget, no hang, any thread."""
    big = (w + x + y + z + 1) ** 40
    d = equivalent(big * (w - 1), big * w - big)
    assert d.equal and d.method == "random points"
    assert not equivalent(big * (w - 1), big * w - big + sp.Rational(1, 10**12) * big)


def test_kinks_far_away_and_close_by_are_crossed():
    for c in (sp.Rational(1, 1000), 3, 47, 500):
        assert not equivalent(w * x + sp.Max(0, w - c), w * x), c
        assert not equivalent(w * x + sp.Abs(w + c) - (w + c), w * x), c
        moved = c + sp.Rational(1, 100)
        assert not equivalent(
            sp.Piecewise((w, w > c), (0, True)), sp.Piecewise((w, w > moved), (0, True))
        ), c


def test_sums_are_proved_with_n_symbolic_and_tried_at_many_sizes():
    s = sp.Sum(w * xi**2 - xi, (i, 1, N))
    split = w * sp.Sum(xi**2, (i, 1, N)) - sp.Sum(xi, (i, 1, N))
    assert equivalent(s / N, split / N, size=N, per_sample=[xi]).method == "symbolic"
    wrong = equivalent(s * (N**2 - 7 * N + 13), s, size=N, per_sample=[xi])
    assert not wrong and wrong.method == "random points"
    sum_i = sp.Sum(i, (i, 1, N))  # no proof (a sum of the index), right at every size
    d = equivalent(sum_i, N * (N + 1) / 2, size=N)
    assert d.equal and d.method == "random points" and set(SIZES) <= set(d.sizes)
    assert not equivalent(sum_i, N * (N + 1) / 2 + (N - 1) * (N - 2) * (N - 3) * (N - 4), size=N)


def test_value_sums_over_rows_and_says_none_outside_the_domain():
    got = value(w * sp.Sum(xi, (i, 1, N)) + xi, {w: 2}, [{xi: 1}, {xi: 2}, {xi: 3}])
    assert got == 13  # 2·(1 + 2 + 3) + the first row's x
    assert value(sp.log(w), {w: -1}) is None
    assert value(sp.sqrt(w) - 3, {w: 9}) == 0


def test_same_all_uses_the_same_tolerance():
    checks = same_all([(w**2, w * w), (w**2, w**2 + sp.Rational(1, 10**13))])
    assert [c.passed for c in checks] == [True, False]


def test_digits_lost_alike_at_two_precisions_do_not_fail_a_true_claim():
    """d/dx softplus(exp(x) + 1/2) at x = 640 (one of the drawn points): SymEngine writes the
    reference's exp(x) exp(exp(x) + 1/2) as exp(x + exp(x) + 1/2), where x is lost below 278
    digits, so 60 and 120 digits agree on a wrong value; a disagreement is confirmed at more
    digits before it fails the claim. A wrong claim still fails."""
    x = sp.Symbol("x", real=True)
    reference = sp.diff(sp.log(1 + sp.exp(sp.exp(x) + sp.Rational(1, 2))), x)
    right = sp.exp(x) * sigmoid(sp.exp(x) + sp.Rational(1, 2))
    wrong = sp.exp(x) * sigmoid(sp.exp(x))
    assert [c.passed for c in same_all([(right, reference), (wrong, reference)])] == [True, False]

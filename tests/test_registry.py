"""The function registry: every record is consistent, and every consumer reads it.

Each record's derivative is checked against ``sympy.diff`` of its elementary rewrite (or of SymPy's
own function), its kernel against 400-digit mpmath evaluation and for finiteness at |z| = 1e4, and
its names against the parser and both printers. Adding a record is enough: every consumer list
contains every record that belongs there.
"""

from __future__ import annotations

import random
import warnings

import latex2mathml.converter
import numpy as np
import pytest
import sympy as sp

from symgrad.core.catalogue import ACTIVATIONS
from symgrad.core.derive import _FUNCTION_RULES, rule_name
from symgrad.core.functions import FUNCTIONS, by_class, elementary
from symgrad.core.parse import KNOWN_FUNCTIONS, parse
from symgrad.core.verify import same
from symgrad.models.network import NETWORK_ACTIVATIONS
from symgrad.numerics.compile import NUMPY_FUNCTIONS
from symgrad.render.latex import _Printer, expr_latex
from symgrad.render.text import TextPrinter, expr_text
from symgrad.teaching.check import MISTAKES
from symgrad.teaching.worksheets.kinds.activation import NAMES as WORKSHEET_ACTIVATIONS

z = sp.Symbol("z", real=True)
RECORDS = list(FUNCTIONS.values())
DIFFERENTIABLE = [r for r in RECORDS if r.sympy is not None and r.derivative is not None]
KERNELS = [r for r in RECORDS if r.kernel is not None]
CUSTOM = [r for r in RECORDS if r.custom]


def _args(record) -> tuple[sp.Expr, ...]:
    """z and the record's default parameters (a plain call as the parser builds it)."""
    return (z, *record.defaults)


@pytest.mark.parametrize("record", DIFFERENTIABLE, ids=lambda r: r.name)
def test_derivative_is_diff_of_the_elementary_rewrite(record) -> None:
    args = _args(record)
    expr = record(*args)
    reference = sp.diff(record.elementary(*args) if record.elementary else expr, z)
    assert same(sp.diff(expr, z), reference)
    assert same(record.derivative(*args), reference)
    assert same(sp.diff(elementary(expr), z), reference)


@pytest.mark.parametrize("record", DIFFERENTIABLE, ids=lambda r: r.name)
def test_rule_name_is_the_records(record) -> None:
    if isinstance(record.sympy, type):
        assert rule_name(record(*_args(record)), z).startswith(record.rule)


def _mp(record, x: float) -> float:
    """The function at x, at 400 digits (1 + erf(z/√2) cancels to 1e-185 at z = -29), from its
    elementary form (or SymPy's own function)."""
    args = _args(record)
    form = record.elementary(*args) if record.elementary else record(*args)
    return float(form.subs(z, sp.Float(x, 400)).evalf(400))


@pytest.mark.parametrize("record", KERNELS, ids=lambda r: r.name)
def test_kernel_matches_high_precision(record) -> None:
    rng = random.Random(0)
    xs = [rng.uniform(-30, 30) for _ in range(40)] + [-1.0, -1e-3, 0.0, 1e-3, 1.0]
    got = record.kernel(np.array(xs), *map(float, record.defaults))
    want = [_mp(record, x) for x in xs]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)
    assert type(record.kernel(0.5)) is float


@pytest.mark.parametrize("record", KERNELS, ids=lambda r: r.name)
def test_kernel_finite_and_silent_at_1e4(record) -> None:
    xs = np.array([-1e4, -800.0, -40.0, 0.0, 40.0, 800.0, 1e4])
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        out = record.kernel(xs)
    assert np.all(np.isfinite(out))
    for x, v in zip(xs, out, strict=True):
        assert v == pytest.approx(_mp(record, float(x)), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("record", [r for r in RECORDS if r.parse], ids=lambda r: r.name)
def test_the_parser_accepts_the_name(record) -> None:
    least = record.arity[0]
    typed = ", ".join(["x"] + ["y"] * (least - 1))
    if record.condition:  # where(condition, a, b)
        typed = "x > 0, x, y"
    for name in (record.name, *record.aliases):
        assert name in KNOWN_FUNCTIONS
        e = parse(f"{name}({typed})")
        assert e.free_symbols >= {sp.Symbol("x", real=True)}
    if isinstance(record.sympy, type) and least == 1:
        assert isinstance(parse(f"{record.name}(x)"), record.sympy)


@pytest.mark.parametrize("record", CUSTOM, ids=lambda r: r.name)
def test_the_printers_print_the_names_and_render(record) -> None:
    expr = record(*_args(record))
    assert hasattr(TextPrinter, f"_print_{record.sympy.__name__}")
    assert hasattr(_Printer, f"_print_{record.sympy.__name__}")
    assert expr_text(expr).startswith(record.text)
    latex = expr_latex(expr)
    assert latex.startswith(record.latex)
    assert latex2mathml.converter.convert(latex).startswith("<math")
    squared = expr_latex(expr**2 * sp.Symbol("w"))
    assert record.latex in squared and "^{2}" in squared
    # the derivative (in identity form) renders as well (the step has none: 0 away from 0)
    if record.derivative is not None:
        assert latex2mathml.converter.convert(expr_latex(record.derivative(*_args(record))))


def test_every_consumer_reads_the_registry() -> None:
    activations = [r.name for r in RECORDS if r.activation and not r.activation.output_only]
    assert list(ACTIVATIONS) == activations
    assert set(NETWORK_ACTIVATIONS) == {r.name for r in RECORDS if r.activation}
    assert set(WORKSHEET_ACTIVATIONS) == {n for n in activations if FUNCTIONS[n].latex}
    assert set(KNOWN_FUNCTIONS) == {n for r in RECORDS if r.parse for n in (r.name, *r.aliases)}
    assert {cls: r.rule for cls, r in by_class().items()} == _FUNCTION_RULES
    assert {r.name: r.kernel for r in KERNELS}.items() <= NUMPY_FUNCTIONS.items()
    assert {m.name for r in RECORDS for m in r.mistakes} <= set(MISTAKES)



def test_adding_a_record_is_enough_for_the_new_activations() -> None:
    for name in ("elu", "silu", "gelu"):
        assert name in FUNCTIONS
        record = FUNCTIONS[name]
        assert name in ACTIVATIONS and name in NETWORK_ACTIVATIONS
        assert name in WORKSHEET_ACTIVATIONS and name in KNOWN_FUNCTIONS
        assert name in NUMPY_FUNCTIONS and record.sympy in _FUNCTION_RULES
        assert record.mistakes and all(m.name in MISTAKES for m in record.mistakes)

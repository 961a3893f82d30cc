"""Independent checks: is a claimed expression equal to what ``sympy.diff`` gives?

This module is the one place that decides whether two expressions are equal. Both sides are
rewritten into elementary functions (:func:`symgrad.core.functions.elementary`) so the check never
relies on symgrad's own derivative rules. Equality is decided symbolically when ``expand`` proves
it within a fixed budget of terms (a bound on the work, not a clock: it holds in any thread),
otherwise at test points (:func:`_point`: both signs, magnitudes 1e-3 to 1e3, and beside every
kink), in arithmetic of 60 digits or more, raised until the values settle, skipping points outside
the functions' domains.

**Tolerances.** Two settled values a, b agree when |a − b| ≤ 1e-20·max(1, |a|, |b|): relative
1e-20 for large values, absolute 1e-20 for small ones. Settled values are exact to about 25
digits (two precisions agree to 1e-25), so an answer written differently but equal passes, while
a constant offset of 1e-13 on a value of order 1 (or of 1e-12 on one of order 1e6) fails; typed
numbers are exact rationals (1e-13 is 1/10¹³), so no rounding of the input hides an offset.

The references are differentiated by SymEngine (:class:`Differentiator`: exact symbolic
differentiation, with the symbols renamed on the way and the numbers kept exact), which also finds
the subexpressions a batch shares (:func:`_shared`); SymPy does what SymEngine does not hold.

Two entry points share those pieces. :func:`same_all` decides many claims of the derivation
engine in one batch (one mpmath function with their common subexpressions shared, a few points),
which keeps the check of a scalar-expanded network in seconds. :func:`equivalent` decides one
claim thoroughly, for student answers: sums over the samples are kept (N symbolic) in the proof,
and the numbers are tried at sample counts N = 1, 2, 3, 4, 5, 7, 10, 50, 1000 and two random ones.

>>> import sympy as sp
>>> from symgrad.core.functions import sigmoid
>>> z = sp.Symbol("z", real=True)
>>> same(sp.diff(1 / (1 + sp.exp(-z)), z), sigmoid(z) * (1 - sigmoid(z)))
True
>>> same(sp.diff(1 / (1 + sp.exp(-z)), z), sigmoid(z))
False
>>> [c.passed for c in same_all([(sp.diff(z**3, z), 3 * z**2), (sp.diff(sp.log(z), z), z)])]
[True, False]

Each claim's :class:`Check` says how it was decided: symbolically, or at how many random points
with how many digits.

>>> same_all([(z**2 - 1, (z - 1) * (z + 1))])[0].method
<Method.SYMBOLIC: 'symbolic identity'>
>>> c = same_all([(sp.diff(sp.log(1 + sp.exp(z)), z), sigmoid(z))], points=5)[0]
>>> c.method, c.passed, c.points, c.digits >= 60
(<Method.RANDOM_POINTS: 'random points'>, True, 5, True)
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

import mpmath
import symengine as se
import sympy as sp
from symengine.lib.symengine_wrapper import Boolean as _SE_BOOLEAN
from sympy.functions.elementary.piecewise import ExprCondPair

from symgrad.core import budget
from symgrad.core.errors import DomainError, VerificationError
from symgrad.core.functions import elementary

#: Two settled values a, b are equal when |a - b| <= TOLERANCE * max(1, |a|, |b|).
TOLERANCE = mpmath.mpf("1e-20")
#: Digits of the arithmetic, raised until two precisions agree (see :func:`_settled`).
_DIGITS = (60, 120, 240, 480)
#: Digits a disagreement is confirmed at: two precisions can agree on a value that both lost
#: (x + exp(x) at x = 640 drops x below 278 digits, and exp of it is then wrong at both).
_CONFIRM = (960, 1920)
#: SymPy's complex infinity (log(relu(x)) or 1/relu(x) on the branch x <= 0) as nan: undefined
#: there, a point the checks skip (and lambdify's printers have no name for zoo).
_UNDEFINED = {sp.zoo: sp.nan}
#: How closely two precisions must agree for a value to count as settled.
_AGREE = mpmath.mpf("1e-25")
#: Sample counts an answer with sums over the samples is tried at (and two random ones).
SIZES = (1, 2, 3, 4, 5, 7, 10, 50, 1000)
#: Most terms ``expand`` may produce in a symbolic proof (estimated before expanding).
_EXPAND_BUDGET = 2000


def _small(expr: sp.Expr, limit: int = 400) -> bool:
    """Whether ``expr`` has at most ``limit`` nodes (stops counting early, unlike count_ops)."""
    return all(k <= limit for k, _ in enumerate(sp.preorder_traversal(expr)))


def expanded_terms(expr: sp.Expr, limit: int = _EXPAND_BUDGET) -> int:
    """An upper estimate of the number of terms ``expand(expr)`` makes (capped above ``limit``).

    Sums add, products multiply, a positive integer power of k terms makes C(n + k - 1, n); the
    arguments of functions are expanded too, each within the same budget.
    """
    if expr.is_Add:
        return min(limit + 1, sum(expanded_terms(a, limit) for a in expr.args))
    if expr.is_Mul:
        out = 1
        for a in expr.args:
            out = min(limit + 1, out * expanded_terms(a, limit))
        return out
    if expr.is_Pow and expr.exp.is_Integer and expr.exp > 0:
        k = expanded_terms(expr.base, limit)
        return min(limit + 1, math.comb(int(expr.exp) + k - 1, k - 1)) if k > 1 else 1
    if any(expanded_terms(a, limit) > limit for a in expr.args if isinstance(a, sp.Expr)):
        return limit + 1
    return 1


def _symbolically_equal(a: sp.Expr, b: sp.Expr, **hints: bool) -> bool:
    """A proof that a = b: ``expand(a - b, **hints)`` is 0, tried only when it is small and
    cheap."""
    diff = a - b
    if diff == 0:
        return True
    if _small(diff) and not diff.has(sp.Piecewise) and expanded_terms(diff) <= _EXPAND_BUDGET:
        # expand makes no log where there is none: its log walk would change nothing
        hints = {"log": diff.has(sp.log), **hints}
        try:
            return sp.expand(diff, **hints) == 0
        except (TypeError, ValueError):  # pragma: no cover - expand on exotic input
            return False
    return False


def _real(v: object) -> mpmath.mpf | None:
    """A finite real mpmath number, or None (complex, infinite, nan: outside the domain)."""
    if isinstance(v, mpmath.mpc):
        if abs(v.imag) > mpmath.mpf("1e-40"):
            return None
        v = v.real
    try:
        v = mpmath.mpf(v)
    except (TypeError, ValueError):
        return None
    return v if mpmath.isfinite(v) else None


def _settled(
    f: Callable[..., Sequence], args: Sequence, wanted: Iterable[int],
    precisions: Sequence[int] = _DIGITS,
) -> dict[int, tuple[mpmath.mpf, int]]:
    """The outputs ``wanted`` of ``f(*args)``, each once two precisions agree on it, with the
    digits of the arithmetic that settled it.

    Adaptive precision, as ``evalf`` does it: ``f`` runs at 60, 120, 240 and 480 digits until
    every wanted output is the same at two of them (a loss like log(1 - sigmoid(z)) at a large z
    loses most of its digits to cancellation). Outputs outside the domain are left out.
    """
    wanted = list(wanted)
    settled: dict[int, tuple[mpmath.mpf, int]] = {}
    previous: Sequence | None = None
    for digits in precisions:
        with mpmath.workdps(digits):
            try:
                out = f(*args)
            except (TypeError, ValueError, ZeroDivisionError, ArithmeticError):
                previous = None  # a division by a cancelled zero, say: try more digits
                continue
            for i in wanted:
                if i in settled or previous is None:
                    continue
                v, p = _real(out[i]), _real(previous[i])
                if v is not None and p is not None and abs(v - p) <= _AGREE * max(1, abs(v)):
                    settled[i] = (v, digits)
        if all(i in settled for i in wanted):
            break
        previous = out
    return settled


class Method(Enum):
    """How a claim was decided."""

    SYMBOLIC = "symbolic identity"
    RANDOM_POINTS = "random points"
    CENTRAL_DIFFERENCES = "central differences"


@dataclass(frozen=True)
class Check:
    """What was checked and how: the record of one decided claim.

    ``points`` is the number of points where both sides were compared (0 for a symbolic identity),
    ``digits`` the highest precision of the arithmetic used there, ``tolerance`` the relative
    tolerance, ``against`` the independent reference the claim was compared with.
    """

    method: Method
    passed: bool
    points: int = 0
    digits: int = 0
    tolerance: float = 0.0
    against: str = ""


def combined(checks: Sequence[Check]) -> Check:
    """One check standing for several claims of one step: passed when all passed, at the fewest
    points and digits any of the numeric ones used.

    >>> one = Check(Method.RANDOM_POINTS, True, 4, 120, 1e-12)
    >>> combined([Check(Method.SYMBOLIC, True), one]) == one
    True
    """
    numeric = [c for c in checks if c.method is not Method.SYMBOLIC]
    if not numeric:
        return checks[0]
    return Check(
        numeric[0].method,
        all(c.passed for c in checks),
        min(c.points for c in numeric),
        min(c.digits for c in numeric),
        max(c.tolerance for c in numeric),
        numeric[0].against,
    )


def close(a: mpmath.mpf, b: mpmath.mpf) -> bool:
    """Whether two settled values are equal within :data:`TOLERANCE` (see the module docstring).

    >>> close(mpmath.mpf(2), mpmath.mpf(2) + mpmath.mpf("1e-20")), close(1, 1 + 1e-13)
    (True, False)
    """
    with mpmath.workdps(_DIGITS[0]):
        a, b = mpmath.mpf(a), mpmath.mpf(b)
        return abs(a - b) <= TOLERANCE * max(1, abs(a), abs(b))


# --- test points ------------------------------------------------------------------------------

#: How many kinds of point :func:`_coordinate` draws from (see there).
_KINDS = 6


def _coordinate(rng: random.Random, kind: int, scale: float, positive: bool) -> float:
    """One coordinate of a test point of the given kind.

    Kinds 0-2 are near 1, where claims settle fastest: (0.1, 0.9), (-2, 2), (1.1, 3). The others
    are wide, with both signs: 3 magnitudes 10^u for u uniform in (-3, 3); 4 one magnitude
    ``scale`` (1e-3 ... 1e3) for the whole point; 5 uniform in (-1000, 1000), which crosses a
    kink moved far from 0 (relu(w - 40)). Symbols assumed positive get positive values.
    """
    if kind == 0:
        v = rng.uniform(0.1, 0.9)
    elif kind == 1:
        v = rng.uniform(-2.0, 2.0)
    elif kind == 2:
        v = rng.uniform(1.1, 3.0)
    elif kind == 3:
        v = rng.choice((-1, 1)) * 10 ** rng.uniform(-3, 3)
    elif kind == 4:
        v = rng.choice((-1, 1)) * scale * rng.uniform(0.5, 2.0)
    else:
        v = rng.uniform(-1000.0, 1000.0)
    return abs(v) if positive else v


def _point(
    rng: random.Random,
    kind: int,
    symbols: Sequence[sp.Symbol],
    groups: Sequence[tuple[sp.Symbol, ...]] = (),
) -> dict[sp.Symbol, float]:
    """Values for ``symbols`` (a point of the given kind) and for the free members of each group
    of ``groups`` (drawn from the probability simplex; the last member is one minus the rest)."""
    scale = 10.0 ** rng.randint(-3, 3)
    out = {s: _coordinate(rng, kind, scale, bool(s.is_positive)) for s in symbols}
    for g in groups:
        weights = [rng.uniform(0.1, 1.0) for _ in g]
        out.update({s: w / sum(weights) for s, w in zip(g[:-1], weights, strict=False)})
    return out


def kinks(exprs: Iterable[sp.Expr]) -> list[sp.Expr]:
    """Expressions whose zeros are kinks: Piecewise conditions, Abs, Heaviside, sign, Max, Min.
    The checks of answers put points on both sides of each (and the practice page too).

    >>> z = sp.Symbol("z", real=True)
    >>> kinks([sp.Abs(z - 1) + sp.Piecewise((z, z > 0), (0, True))])
    [z, z - 1]
    """
    found: set[sp.Expr] = set()
    for e in (n for x in exprs for n in sp.preorder_traversal(x)):
        if isinstance(e, sp.Piecewise):
            for _, cond in e.args:
                rels = [cond] if isinstance(cond, sp.core.relational.Relational) else []
                rels += list(cond.atoms(sp.core.relational.Relational))
                found.update(r.lhs - r.rhs for r in rels)
        elif isinstance(e, (sp.Abs, sp.Heaviside, sp.sign)):
            found.add(e.args[0])
        elif isinstance(e, (sp.Max, sp.Min)):
            found.update(e.args[0] - a for a in e.args[1:])
    return sorted((k for k in found if k.free_symbols), key=sp.default_sort_key)


def _beside_kink(
    kink: sp.Expr, at: dict[sp.Symbol, float], rng: random.Random
) -> Iterator[dict[sp.Symbol, float]]:
    """Points beside the kink ``kink = 0``: ``at`` with one of its symbols moved just left and
    right of the kink (by 1e-9 and 1e-3 of its size) and far beyond it on both sides. Kinks that
    are not linear in any symbol of ``at`` give none."""
    for v in sorted(kink.free_symbols & set(at), key=str):
        rest = kink.xreplace({s: sp.Float(x, 30) for s, x in at.items() if s != v})
        slope = sp.diff(rest, v)
        if slope.free_symbols or slope == 0 or rest.free_symbols - {v}:
            continue
        root = float(-rest.xreplace({v: 0}) / slope)
        size = max(1.0, abs(root))
        for step in (
            -1e-9,
            1e-9,
            -1e-3,
            1e-3,
            -10.0 * rng.uniform(1, 10),
            10.0 * rng.uniform(1, 10),
        ):
            yield {**at, v: root + step * size}
        return


# --- SymEngine: exact differentiation and shared subexpressions, fast ---------------------------

def _plain(expr: sp.Basic) -> bool:
    """Whether ``expr`` is built of sums, products, powers, SymPy's own elementary functions,
    conditions and atoms only (then :func:`elementary` has nothing to rewrite); each shared
    node is visited once, unlike ``has``, which walks the expression as a tree."""
    seen: set[int] = set()
    stack = [expr]
    while stack:
        e = stack.pop()
        if id(e) in seen or not e.args:
            continue
        seen.add(id(e))
        if type(e) not in _TO_ENGINE and not isinstance(e, sp.Piecewise | ExprCondPair):
            return False
        stack.extend(e.args)
    return True


class _Engine:
    """Expressions moved to SymEngine and back, node by node (each shared node once), with their
    symbols renamed ``s0, s1, ...`` on the way (SymEngine keeps no assumptions, names symbols
    by their text only, and names its common subexpressions x0, x1, ...). ``ok`` is False when
    an expression has something SymEngine does not hold exactly here (then SymPy does it all).
    """

    def __init__(self, exprs: Iterable[sp.Expr]) -> None:
        self.symbol: dict[sp.Symbol, se.Symbol] = {}
        self.back: dict[sp.Symbol, sp.Basic] = {}
        self._to: dict[int, tuple[sp.Basic, se.Basic]] = {}
        self._from: dict[se.Basic, sp.Basic] = {}
        try:
            self.converted = [self.to(e) for e in exprs]
            self.ok = True
        except _Unsupported:
            self.converted, self.ok = [], False

    def to(self, expr: sp.Basic) -> se.Basic:
        """``expr`` in SymEngine (raises _Unsupported for what it does not hold exactly)."""
        seen = self._to.get(id(expr))
        if seen is not None:
            return seen[1]
        if isinstance(expr, sp.Symbol):
            out = self.symbol.get(expr)  # equal symbols need not be one object
            if out is None:
                k = len(self.symbol)
                out = self.symbol[expr] = se.Symbol(f"s{k}")
                self.back[sp.Symbol(f"s{k}")] = expr
        elif expr.is_Float:
            raise _Unsupported("Float")
        elif not expr.args:
            out = se.sympify(expr)  # an integer, a rational, pi, E, true, false
        else:
            kind = type(expr)
            if isinstance(expr, sp.Piecewise):
                out = se.Piecewise(*[(self.to(v), self.to(c)) for v, c in expr.args])
            elif isinstance(expr, sp.ITE):  # a condition on a Piecewise (relu of a relu)
                c, a, b = (self.to(x) for x in expr.args)
                out = se.Or(se.And(c, a), se.And(se.Not(c), b))
            elif kind in _TO_ENGINE:
                out = _TO_ENGINE[kind](*[self.to(a) for a in expr.args])
            else:
                raise _Unsupported(kind.__name__)
        self._to[id(expr)] = (expr, out)
        return out

    def from_(self, expr: se.Basic) -> sp.Expr:
        """``expr`` in SymPy, node by node without evaluating again (SymEngine's result is
        already in canonical form; evaluating it again with real symbols costs seconds), its
        numbers exact (1/100 as Rational(1, 100), never a floating-point 1 / 100)."""
        memo = self._from

        def walk(e: se.Basic) -> sp.Basic:
            if e in memo:
                return memo[e]
            name = type(e).__name__
            if name == "Symbol":
                out = self.back[sp.Symbol(str(e))]
            elif not e.args:
                out = e._sympy_()  # a number, a constant (E, pi), true or false
                if not isinstance(out, sp.Number | sp.NumberSymbol | sp.logic.boolalg.BooleanAtom):
                    raise _Unsupported(name)
            elif name == "Piecewise":  # built as it is: SymPy would rewrite a condition on a
                a = [walk(x) for x in e.args]  # Piecewise into every combination of cases
                pairs = zip(a[::2], a[1::2], strict=True)
                pairs = [sp.Basic.__new__(ExprCondPair, v, c) for v, c in pairs]
                out = sp.Basic.__new__(sp.Piecewise, *pairs)
            elif name == "Pow" and e.args[0] == se.E:
                out = sp.exp(walk(e.args[1]), evaluate=False)
            elif name in _FROM_ENGINE:
                out = _FROM_ENGINE[name](*[walk(x) for x in e.args], evaluate=False)
            else:
                raise _Unsupported(name)
            memo[e] = out
            return out

        return walk(expr)


class _Unsupported(Exception):
    """A SymEngine node with no exact SymPy counterpart here."""


#: SymPy classes -> the SymEngine functions that build them (exactly) from their arguments.
_TO_ENGINE = {
    sp.Add: se.Add, sp.Mul: se.Mul, sp.Pow: se.Pow, sp.exp: se.exp, sp.log: se.log,
    sp.tanh: se.tanh, sp.erf: se.erf, sp.sin: se.sin, sp.cos: se.cos, sp.sinh: se.sinh,
    sp.cosh: se.cosh, sp.atan: se.atan, sp.StrictLessThan: se.Lt, sp.StrictGreaterThan: se.Gt,
    sp.LessThan: se.Le, sp.GreaterThan: se.Ge, sp.Eq: se.Eq, sp.Ne: se.Ne, sp.And: se.And,
    sp.Or: se.Or, sp.Not: se.Not,
}

#: SymEngine node names -> the SymPy classes rebuilt (unevaluated) from their arguments.
_FROM_ENGINE = {
    "Add": sp.Add, "Mul": sp.Mul, "Pow": sp.Pow, "log": sp.log, "tanh": sp.tanh, "erf": sp.erf,
    "sin": sp.sin, "cos": sp.cos, "sinh": sp.sinh, "cosh": sp.cosh, "atan": sp.atan,
    "StrictLessThan": sp.StrictLessThan, "LessThan": sp.LessThan, "Equality": sp.Eq,
    "Unequality": sp.Ne, "And": sp.And, "Or": sp.Or, "Not": sp.Not,
}


class Differentiator:
    """d(expr)/d(var) for one expression and many variables: SymEngine's exact symbolic
    differentiation (10-100 times faster than ``sympy.diff``) where it holds the expression's
    functions, ``sympy.diff`` otherwise; the result is in SymPy, with the original symbols.

    ``definitions`` are named intermediates ``(symbol, expr)`` in order, each in terms of the
    ones before, substituted into ``expr`` first (the derivative is of the whole composition).
    In SymEngine the composition shares every intermediate instead of copying it, and a
    condition on a Piecewise (relu of a relu) stays one condition; a composition small as a
    tree (100 nodes) is built and differentiated by SymPy, in ``sympy.diff``'s own form, which
    a proof compares with term by term.

    >>> a, b, u = sp.symbols("a b u", real=True)
    >>> f = sp.log(1 + sp.exp(u))
    >>> d = Differentiator(f, [(u, a * b)])
    >>> d(a)
    b*exp(a*b)/(exp(a*b) + 1)
    >>> big = Differentiator(sp.Add(*[f * k for k in sp.symbols("k:200")]), [(u, a * b)])
    >>> big.converted is not None, sp.expand(big(a) - sp.diff(big.full, a))
    (True, 0)
    """

    def __init__(
        self,
        expr: sp.Expr,
        definitions: Sequence[tuple[sp.Symbol, sp.Expr]] = (),
        diff: Callable[[sp.Expr, sp.Symbol], sp.Expr] = sp.diff,
    ) -> None:
        self.diff = diff  # SymPy's (sympy.diff, or one that remembers what it computed)
        self.engine = _Engine([])
        self.converted: se.Basic | None = None
        self._expr, self._definitions = expr, tuple(definitions)
        self._full: sp.Expr | None = None
        if _Inliner(self._definitions, limit=100).fits(expr):
            return  # small: SymPy's form
        try:
            sub: dict[se.Basic, se.Basic] = {}
            for v, e in self._definitions:
                sub[self.engine.to(v)] = self.engine.to(_elementary_value(e)).xreplace(sub)
            self.converted = self.engine.to(_elementary_value(expr)).xreplace(sub)
        except _Unsupported:
            self.converted = None

    @property
    def full(self) -> sp.Expr:
        """The composition in SymPy (evaluated, in elementary functions): each definition
        rewritten once (remembered, see :func:`_elementary_value`), then composed from the
        first up, so that each node's full form is built once (composed from the last down,
        everything above a node was built again with each node below it)."""
        if self._full is None:
            full: dict[sp.Symbol, sp.Expr] = {}
            for v, e in self._definitions:
                full[v] = _elementary_value(e).xreplace(full)
            self._full = _elementary_value(self._expr).xreplace(full)
        return self._full

    def __call__(self, var: sp.Symbol) -> sp.Expr:
        if self.converted is None or var not in self.engine.symbol:
            return self.diff(self.full, var)
        try:
            return self.engine.from_(self.converted.diff(self.engine.symbol[var]))
        except _Unsupported:  # a Derivative or Subs SymEngine left: SymPy's own
            return self.diff(self.full, var)


def _shared(
    exprs: Sequence[sp.Expr], rename: Mapping[sp.Symbol, sp.Symbol] | None = None
) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
    """Common subexpressions of ``exprs`` (``sympy.cse``'s result), found by SymEngine when it
    holds the expressions, for ``lambdify(cse=...)``.

    SymEngine also names shared conditions (x1 = 0 < x0, then Piecewise((a, x1 == True), ...)),
    which SymPy would read as a symbol equal to True: conditions are put back in place.
    ``rename`` renames free symbols in the result (to names ``lambdify`` takes as they are).

    >>> x, y = sp.symbols("x y", real=True)
    >>> relu = sp.Piecewise((x + y, x + y > 0), (0, True))
    >>> names, (e,) = _shared([relu * (x + y)])
    >>> len(names), e.has(sp.Eq), sp.lambdify([x, y], [relu * (x + y)], "mpmath", cse=_shared)(1, 2)
    (1, False, [9])
    """
    rename = dict(rename or {})
    engine = _Engine(exprs)
    if not engine.ok:
        return _sympy_cse(exprs, rename)
    engine.back = {k: rename.get(v, v) for k, v in engine.back.items()}
    replacements, reduced = se.cse(engine.converted)
    conditions: dict[se.Basic, se.Basic] = {}
    kept = []
    for v, e in replacements:
        e = e.xreplace(conditions)
        if isinstance(e, _SE_BOOLEAN):
            conditions.update({se.Eq(v, se.true): e, v: e})
        else:
            kept.append((v, e))
    engine.back.update({sp.Symbol(str(v)): sp.Dummy(str(v)) for v, _ in kept})
    try:
        out = (
            [(engine.from_(v), engine.from_(e)) for v, e in kept],
            [engine.from_(e.xreplace(conditions)) for e in reduced],
        )
    except _Unsupported:
        return _sympy_cse(exprs, rename)
    if any(e.has(sp.Eq, sp.Ne) for e in out[1] + [e for _, e in out[0]]):
        return _sympy_cse(exprs, rename)  # a condition SymEngine named some other way
    return out


def _sympy_cse(
    exprs: Sequence[sp.Expr], rename: Mapping[sp.Symbol, sp.Symbol]
) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
    replacements, reduced = sp.cse([e.xreplace(rename) for e in exprs], list=False)
    return replacements, reduced


# --- many claims at once (the derivation engine) ------------------------------------------------


def same(
    a: sp.Expr,
    b: sp.Expr,
    *,
    simplex: Iterable[tuple[sp.Symbol, ...]] = (),
    points: int = 4,
    seed: int = 0,
) -> bool:
    """True when ``a`` and ``b`` are equal as functions of their free symbols.

    ``simplex`` lists groups of symbols constrained to sum to one (one-hot labels): their last
    member is replaced by one minus the others and the others are drawn from the probability
    simplex.
    """
    return same_all([(a, b)], simplex=simplex, points=points, seed=seed)[0].passed


def same_all(
    pairs: Sequence[tuple[sp.Expr, sp.Expr]],
    *,
    simplex: Iterable[tuple[sp.Symbol, ...]] = (),
    definitions: Sequence[tuple[sp.Symbol, sp.Expr]] = (),
    points: int = 4,
    seed: int = 0,
    domain: Sequence[sp.Expr] = (),
    progress: Callable[[float], None] | None = None,
) -> list[Check]:
    """:func:`same` for many pairs at once, sharing one function and one set of random points;
    a :class:`Check` per pair says how it was decided.

    ``definitions`` are named intermediates ``(symbol, expr)`` in order, each in terms of the
    ones before: the pairs may use their symbols, which stand for their definitions (a pair is
    decided as if they were substituted; the numbers compute each one once per point instead of
    once per occurrence, which keeps a network's checks linear in its size). A pair small enough
    once they are substituted is first tried as a symbolic identity that way.

    ``domain`` are expressions that must all be real at a point for it to count (the nodes
    of a graph: log(b) at b < 0 leaves the domain even where SymPy has simplified
    exp(log(b)) to b); they may use the symbols of ``definitions``.
    A pair that finds no point in its domain among the shared ones is retried on its own; one
    that finds none at all raises :class:`~symgrad.core.errors.DomainError`.
    ``progress(fraction)`` is called as the work goes, if given.

    >>> x, u = sp.symbols("x u", real=True)
    >>> [c.method.value for c in same_all([(u**2, x**2 + 2*x + 1)], definitions=[(u, x + 1)])]
    ['symbolic identity']

    >>> b = sp.Symbol("b", real=True)
    >>> [c.passed for c in same_all([(sp.exp(sp.log(b)), b)], domain=[sp.log(b)])]
    [True]
    """
    report = progress or (lambda fraction: None)
    simplex = tuple(simplex)
    substitution = {g[-1]: 1 - sp.Add(*g[:-1]) for g in simplex}

    def prepare(e: sp.Expr) -> sp.Expr:
        return _evaluable(e, substitution)

    defs = [(v, prepare(e)) for v, e in definitions]
    prepared = [(prepare(a), prepare(b)) for a, b in pairs]
    inline = _Inliner(defs)
    guards = [g for g in (prepare(e) for e in domain) if not g.is_number]
    symbolic = Check(Method.SYMBOLIC, True)
    result: list[Check | None] = []
    for a, b in prepared:
        fa, fb = inline(a), inline(b)
        # exp(a + b) kept whole (power_exp): splitting it proved no claim of the engine's across
        # the catalogue and networks, and cost three quarters of the proofs' time
        proved = fa is not None and fb is not None and _symbolically_equal(fa, fb, power_exp=False)
        result.append(symbolic if proved else None)
    pending = [k for k, r in enumerate(result) if r is None]
    report(_SHARE[0])
    if not pending:
        report(1.0)
        return [r for r in result if r is not None]
    grouped = [s for g in simplex for s in g[:-1]]
    exprs = [e for k in pending for e in prepared[k]]
    leaves = set().union(*[e.free_symbols for e in exprs], *[e.free_symbols for _, e in defs])
    free = sorted(leaves - {v for v, _ in defs} - set(grouped), key=str)
    known = set(free) | set(grouped) | {v for v, _ in defs}
    guards = [g for g in guards if g.free_symbols <= known]
    # every symbol renamed to a Python identifier (w[1]_2_3 is not one; a Dummy argument makes
    # lambdify rename all), so that lambdify takes the function as it is, without a second walk
    rename = {s: sp.Symbol(f"a{k}") for k, s in enumerate(free + grouped)}
    rename.update({v: sp.Dummy(f"n{k}") for k, (v, _) in enumerate(defs)})
    steps = [(rename[v], e.xreplace(rename)) for v, e in defs]
    guarded = list(range(len(exprs), len(exprs) + len(guards)))
    replacements, reduced = _shared(exprs + guards, rename)  # before lambdify walks it
    replacements = [(v, e.xreplace(_UNDEFINED)) for v, e in replacements]
    reduced = [e.xreplace(_UNDEFINED) for e in reduced]
    report(_SHARE[1])
    values = sp.lambdify(
        [rename[s] for s in free + grouped], reduced, modules="mpmath",
        cse=lambda e: ([*steps, *replacements], e),
    )
    report(_SHARE[2])
    found = dict.fromkeys(pending, 0)
    digits = dict.fromkeys(pending, 0)
    rng = random.Random(seed)
    for attempt in range(40 * points):
        budget.check()
        open_ = [j for j, k in enumerate(pending) if result[k] is None and found[k] < points]
        if not open_:
            break
        at = _point(rng, attempt % _KINDS, free, simplex)
        args = [mpmath.mpf(at[s]) for s in free + grouped]
        out = _settled(values, args, [i for j in open_ for i in (2 * j, 2 * j + 1)] + guarded)
        if any(i not in out for i in guarded):  # a node is undefined here: outside the domain
            continue
        for j in open_:
            if 2 * j not in out or 2 * j + 1 not in out:
                continue
            k = pending[j]
            (va, da), (vb, db) = out[2 * j], out[2 * j + 1]
            if not close(va, vb):  # a real difference, or digits lost alike at both precisions
                again = _settled(values, args, (2 * j, 2 * j + 1), _CONFIRM)
                if len(again) < 2:
                    continue  # not settled even there: the point does not count
                (va, da), (vb, db) = again[2 * j], again[2 * j + 1]
            found[k] += 1
            digits[k] = max(digits[k], da, db)
            if not close(va, vb):
                result[k] = _numeric(False, found[k], digits[k])
        least = min(min(found[k], points) for k in pending)
        report(_SHARE[2] + (1 - _SHARE[2]) * least / points)
    report(1.0)
    for k in pending:
        if result[k] is None and found[k] >= points:
            result[k] = _numeric(True, found[k], digits[k])
        elif result[k] is None and len(pending) > 1:  # no common points: alone, with its own
            result[k] = same_all(
                [pairs[k]], simplex=simplex, definitions=definitions, points=points,
                seed=seed, domain=domain,
            )[0]
        elif result[k] is None:  # nowhere real: the input's fault, not a failed check
            raise DomainError(
                f"the expression is not real at any of {40 * points} random points (a root or "
                "a log of a negative number?): there is no real derivative to check"
            )
    return [r for r in result if r is not None]


def _evaluable(e: sp.Expr, substitution: dict[sp.Symbol, sp.Expr]) -> sp.Expr:
    """``e`` in elementary functions, ready for lambdify: the simplex's last member substituted,
    SymPy's complex infinity (a branch like 1/relu(x) at x <= 0) as nan, outside the domain, and
    DiracDelta (the derivative of a sign, in the Hessian of |u|) as 0, its value off its kink."""
    e = sp.sympify(e)
    if not _plain(e):  # each function value rewritten once, however many claims share it
        e = e.xreplace({f: _elementary_value(f) for f in e.atoms(sp.Function)})
    e = e.xreplace({**substitution, **_UNDEFINED})
    if e.has(sp.DiracDelta):
        e = e.replace(lambda x: isinstance(x, sp.DiracDelta), lambda x: sp.S.Zero)
    return e


@functools.lru_cache(maxsize=4096)
def _elementary_value(f: sp.Expr) -> sp.Expr:
    """:func:`elementary` of one function value (relu(z) as a Piecewise) or node definition,
    remembered: a network's claims and references share each unit's, and building its
    conditions again costs."""
    return elementary(f)


class _Inliner:
    """An expression with the definitions substituted, when that stays small (at most
    ``limit`` nodes, counted beforehand from each definition's size), else None."""

    def __init__(self, defs: Sequence[tuple[sp.Symbol, sp.Expr]], limit: int = 400) -> None:
        self.limit = limit
        self.defs = dict(defs)
        self.size: dict[sp.Symbol, int] = {}
        for v, e in defs:
            self.size[v] = self._size(e)
        self._full: dict[sp.Symbol, sp.Expr] = {}

    def _size(self, e: sp.Expr) -> int:
        return sum(self.size.get(n, 1) for n in sp.preorder_traversal(e))

    def fits(self, e: sp.Expr) -> bool:
        """Whether ``e`` with the definitions substituted has at most ``limit`` nodes."""
        return not self.size or (_small(e, self.limit) and self._size(e) <= self.limit)

    def __call__(self, e: sp.Expr) -> sp.Expr | None:
        if not self.size:
            return e
        if not self.fits(e):
            return None
        return e.xreplace(self._fulls(e))

    def _fulls(self, e: sp.Expr) -> dict[sp.Symbol, sp.Expr]:
        """The full forms of the defined symbols in ``e``, each built once, when first needed
        (the output's, a log of long sums, is built only if a claim holds the output)."""
        out = {}
        for v in e.free_symbols & self.defs.keys():
            if v not in self._full:
                self._full[v] = self.defs[v].xreplace(self._fulls(self.defs[v]))
            out[v] = self._full[v]
        return out


#: Where :func:`same_all` is (fraction of its work, measured on networks) after the proofs, the
#: shared subexpressions and the function; the points take the rest.
_SHARE = (0.15, 0.4, 0.55)


def _numeric(passed: bool, points: int, digits: int) -> Check:
    return Check(Method.RANDOM_POINTS, passed, points, digits, float(TOLERANCE))


# --- one claim, thoroughly (student answers) ----------------------------------------------------


class _Evaluator:
    """Expressions with sums over the samples, as one mpmath function of a point.

    Called with the values of the shared symbols and one row of per-sample values for each
    sample: every sum runs over the rows (its index is the row number, from 1), and per-sample
    symbols outside a sum take the first row's values.
    """

    def __init__(
        self,
        exprs: tuple[sp.Expr, ...],
        shared: tuple[sp.Symbol, ...],
        per_sample: tuple[sp.Symbol, ...],
    ) -> None:
        exprs = tuple(e.xreplace(_UNDEFINED) for e in exprs)
        sums = sorted({s for e in exprs for s in e.atoms(sp.Sum)}, key=sp.default_sort_key)
        if any(s.function.has(sp.Sum) or len(s.limits) != 1 for s in sums):
            raise VerificationError("a sum inside a sum (or over two indices) cannot be checked")
        holders = [sp.Dummy(f"S{k}") for k in range(len(sums))]
        self.indices = sorted({s.limits[0][0] for s in sums}, key=str)
        args = [*shared, *per_sample]
        outer = [e.xreplace(dict(zip(sums, holders, strict=True))) for e in exprs]
        self.outer = sp.lambdify(args + holders, outer, modules="mpmath", cse=True)
        self.bodies = (
            sp.lambdify(args + self.indices, [s.function for s in sums], "mpmath", cse=True)
            if sums
            else None
        )

    def __call__(self, shared: list, rows: list[list]) -> list:
        totals: list = []
        if self.bodies is not None:
            each = [
                self.bodies(*shared, *row, *[mpmath.mpf(k)] * len(self.indices))
                for k, row in enumerate(rows, 1)
            ]
            totals = [mpmath.fsum(column) for column in zip(*each, strict=True)]
        return self.outer(*shared, *rows[0], *totals)


@functools.lru_cache(maxsize=256)
def _evaluator(
    exprs: tuple[sp.Expr, ...], shared: tuple[sp.Symbol, ...], per_sample: tuple[sp.Symbol, ...]
) -> _Evaluator:
    return _Evaluator(exprs, shared, per_sample)


def _mpf(x: object) -> mpmath.mpf:
    """A number (Python or SymPy) as an mpmath number, without rounding it to 15 digits."""
    with mpmath.workdps(80):  # mpf() rounds to the working precision (15 digits by default)
        return mpmath.mpf(sp.Float(x, 80)._mpf_) if isinstance(x, sp.Basic) else mpmath.mpf(x)


def value(
    expr: sp.Expr,
    at: Mapping[sp.Symbol, object],
    rows: Sequence[Mapping[sp.Symbol, object]] = (),
) -> mpmath.mpf | None:
    """The value of ``expr`` at the point ``at``, settled (see :func:`_settled`); None outside
    its domain. Each sum over the samples runs over ``rows`` (one mapping of per-sample values
    per sample; the sum's upper limit, N, is their number unless ``at`` gives it); per-sample
    symbols outside a sum take the first row's values.

    >>> x, w, i = sp.symbols("x w i")
    >>> value(w * sp.Sum(x, (i, 1, 3)) + x, {w: 2}, rows=[{x: 1}, {x: 2}, {x: 3}])
    mpf('13.0')
    >>> value(sp.log(w), {w: -1}) is None
    True
    """
    expr = elementary(sp.sympify(expr))
    per = tuple(sorted(rows[0], key=str)) if rows else ()
    shared = tuple(sorted(expr.free_symbols - set(per), key=str))
    at = {**{s.limits[0][-1]: len(rows) for s in expr.atoms(sp.Sum)}, **at}
    f = _evaluator((expr,), shared, per)
    args = [_mpf(at[s]) for s in shared]
    table = [[_mpf(r[s]) for s in per] for r in rows] or [[]]
    settled = _settled(f, (args, table), [0])
    return settled[0][0] if 0 in settled else None


@dataclass(frozen=True)
class Decision:
    """How :func:`equivalent` decided: ``equal``, the ``method`` (``symbolic``: a proof, or
    ``random points``), the number of points compared, and the sample counts N tried."""

    equal: bool
    method: str
    points: int = 0
    sizes: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return self.equal


#: The index of a sum, renamed so that sums over i and over j are the same sum.
_INDEX = sp.Dummy("k", integer=True, positive=True)


class _NoProof(Exception):
    pass


def _proved(a: sp.Expr, b: sp.Expr, per_sample: set[sp.Symbol]) -> bool:
    """A proof that a = b for every sample count N and every data.

    Each sum over the samples is expanded and written as Σ (factors free of the sample) ·
    S[summand], one new symbol S per distinct summand (a sum of a summand free of the sample is
    N times it). A difference that expands to 0 with the S as free symbols is 0 whatever values
    the sums take, so whatever N is; a difference that does not is left to the numbers.
    """
    holders: dict[sp.Expr, sp.Symbol] = {}

    def linear(s: sp.Sum) -> sp.Expr:
        index, _, size = s.limits[0]
        body = s.function
        if body.has(sp.Piecewise) or not _small(body) or expanded_terms(body) > _EXPAND_BUDGET:
            raise _NoProof
        out = []
        for term in sp.Add.make_args(sp.expand(body)):
            factors = sp.Mul.make_args(term)
            inner = [f for f in factors if f.free_symbols & (per_sample | {index})]
            outer = [f for f in factors if not f.free_symbols & (per_sample | {index})]
            key = sp.Mul(*inner).xreplace({index: _INDEX})
            out.append(sp.Mul(*outer) * (size if key == 1 else holders.setdefault(key, sp.Dummy())))
        return sp.Add(*out)

    def is_sum(e: sp.Basic) -> bool:
        return isinstance(e, sp.Sum)

    try:
        return _symbolically_equal(a.replace(is_sum, linear), b.replace(is_sum, linear))
    except _NoProof:
        return False


def equivalent(
    a: sp.Expr,
    b: sp.Expr,
    *,
    size: sp.Symbol | None = None,
    per_sample: Iterable[sp.Symbol] = (),
    simplex: Iterable[tuple[sp.Symbol, ...]] = (),
    points: int = 24,
    seed: int = 0,
) -> Decision:
    """Whether ``a`` = ``b`` for all values of their symbols, decided thoroughly.

    ``size`` is the sample count N of sums ``Sum(body, (i, 1, N))``; ``per_sample`` are the
    symbols with one value per sample (outside a sum they mean the first sample); ``simplex``
    as for :func:`same`. First a proof (:func:`_proved`, N kept symbolic); otherwise ``points``
    points in both domains must agree (:func:`close`), drawn at N = 1, 2, 3, 4, 5, 7, 10, 50,
    1000 and two random counts, at every kind of point (:func:`_coordinate`), and beside every
    kink of either side (:func:`_beside_kink`). Points where either side is undefined are
    skipped; too few left raises :class:`~symgrad.core.errors.VerificationError`.

    >>> w, x = sp.symbols("w x", real=True)
    >>> equivalent(2 * w * x + 2 * x, 2 * x * (w + 1))
    Decision(equal=True, method='symbolic', points=0, sizes=())
    >>> bool(equivalent(2 * w * x + sp.Max(0, w - 40), 2 * w * x))  # a kink far away
    False
    >>> bool(equivalent(2 * w * x + sp.Rational(1, 10**13), 2 * w * x))  # a tiny offset
    False
    """
    simplex = tuple(simplex)
    substitution = {g[-1]: 1 - sp.Add(*g[:-1]) for g in simplex}
    a, b = (elementary(sp.sympify(e)).xreplace(substitution) for e in (a, b))
    per = set(per_sample)
    for s in a.atoms(sp.Sum) | b.atoms(sp.Sum):
        if len(s.limits) != 1 or s.limits[0][1:] != (1, size):
            raise VerificationError(f"only sums over the samples, from 1 to {size}, are checked")
    if _proved(a, b, per):
        return Decision(True, "symbolic")
    free = a.free_symbols | b.free_symbols
    counted = size is not None and size in free
    grouped = {s for g in simplex for s in g[:-1]}
    row_groups = [g for g in simplex if set(g) & per]
    shared_groups = [g for g in simplex if not set(g) & per]
    row_free = sorted((free & per) - grouped, key=str)
    shared_free = sorted(free - per - grouped - {size}, key=str)
    per_list = tuple(row_free + [s for g in row_groups for s in g[:-1]])
    shared_list = tuple(
        shared_free + [s for g in shared_groups for s in g[:-1]] + ([size] if counted else [])
    )
    f = _evaluator((a, b), shared_list, per_list)
    rng = random.Random(seed)
    sizes = [*SIZES, rng.randint(11, 49), rng.randint(51, 999)] if counted else [1]
    small = [n for n in sizes if n <= 10]
    head = [
        (n, k % _KINDS, _point(rng, k % _KINDS, shared_free, shared_groups))
        for k, n in enumerate(sizes)
    ]
    for kink in kinks([a, b]):
        if kink.free_symbols <= set(shared_free):
            base = _point(rng, 1, shared_free, shared_groups)
            head += [(rng.choice(small), 1, at) for at in _beside_kink(kink, base, rng)]

    def plan() -> Iterator[tuple[int, int, dict[sp.Symbol, float]]]:
        yield from head
        for k in range(10**9):
            yield (
                small[k % len(small)],
                k % _KINDS,
                _point(rng, k % _KINDS, shared_free, shared_groups),
            )

    valid, tried = 0, set()
    for attempt, (n, kind, at) in zip(range(len(head) + 10 * points), plan(), strict=False):
        if attempt >= len(head) and valid >= points:
            break
        budget.check()
        if counted:
            at[size] = n
        rows = [_point(rng, kind, row_free, row_groups) for _ in range(n)]
        args = [mpmath.mpf(at[s]) for s in shared_list]
        table = [[mpmath.mpf(r[s]) for s in per_list] for r in rows]
        out = _settled(f, (args, table), (0, 1))
        if len(out) < 2:
            continue
        valid += 1
        tried.add(n)
        if not close(out[0][0], out[1][0]):
            return Decision(False, "random points", valid, tuple(sorted(tried)) if counted else ())
    if valid < points:
        raise VerificationError(
            f"undefined at too many test points ({valid} usable, {points} needed): "
            "a log of a negative number, a division by zero?"
        )
    return Decision(True, "random points", valid, tuple(sorted(tried)) if counted else ())

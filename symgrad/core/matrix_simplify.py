"""Tidy a matrix expression into its textbook form: scalars in front, elementwise parts cancelled.

The elementwise parts of an expression are written as one SymPy scalar expression (every vector
an entry symbol, every matrix product, transpose or reduction an opaque atom), cancelled there
(``sympy.cancel``, then common factors pulled out; exp(a)/(1 + exp(a)) becomes σ(a) when that is
shorter) and written back. Scalars move to the front of matrix products. Nothing here is trusted:
the engine verifies every result (:mod:`symgrad.core.matrix_check`).

>>> from symgrad.core.matrix import parse_matrix, parse_shapes
>>> s = parse_shapes("X: N x d, z: N, y: N")
>>> str(tidy(parse_matrix("X' * ((1/N) * 2 .* (z - y))", s)))
'(2/N)·Xᵀ(z − y)'
"""

from __future__ import annotations

import sympy as sp

from symgrad.core.functions import FUNCTIONS, by_class, sigmoid
from symgrad.core.matrix import (
    SCALAR,
    M,
    Shape,
    add,
    const,
    div,
    dot,
    fn,
    is_scalar,
    matmul,
    mul,
    neg,
    ones,
    power,
    reduce,
    sub,
    transpose,
)

_ELEMENTWISE = ("const", "var", "ones", "add", "sub", "neg", "mul", "div", "pow", "fn")
_BY_CLASS = {**{r.sympy: r.name for r in FUNCTIONS.values() if isinstance(r.sympy, type)},
             **{cls: r.name for cls, r in by_class().items()}}


class _Template:
    """One expression's elementwise part as SymPy, with its atoms (symbol -> record)."""

    def __init__(self, given: dict[M, M]) -> None:
        self.atoms: dict[sp.Symbol, M] = {}
        self.given = given

    def atom(self, m: M) -> sp.Symbol:
        for symbol, known in self.atoms.items():
            if known == m:
                return symbol
        symbol = sp.Symbol(m.name if m.op == "var" else f"_atom{len(self.atoms)}", real=True)
        self.atoms[symbol] = m
        return symbol

    def to(self, m: M) -> sp.Expr:
        op, a = m.op, m.args
        if op == "const":
            return m.value
        if op == "ones":
            return sp.S.One
        if op == "var":
            return self.atom(m)
        if op == "add":
            return self.to(a[0]) + self.to(a[1])
        if op == "sub":
            return self.to(a[0]) - self.to(a[1])
        if op == "neg":
            return -self.to(a[0])
        if op == "mul":
            return self.to(a[0]) * self.to(a[1])
        if op == "div":
            return self.to(a[0]) / self.to(a[1])
        if op == "pow":
            return self.to(a[0]) ** m.value
        if op == "fn":
            return FUNCTIONS[m.name](self.to(a[0]))
        inner = _structural(m, self.given)
        if inner in self.given:
            return self.to(self.given[inner])
        if inner.op in _ELEMENTWISE:
            return self.to(inner)
        return self.atom(inner)

    def back(self, e: sp.Expr, shape: Shape) -> M:
        out = self._back(e)
        return out if out.shape == shape or not is_scalar(out.shape) else mul(out, ones(shape))

    def _back(self, e: sp.Expr) -> M:
        if e.is_Number or not (e.free_symbols & set(self.atoms)):
            return const(e)
        if e.is_Symbol:
            return self.atoms[e]
        if e.is_Add:
            terms = sorted(e.as_ordered_terms(), key=lambda t: t.could_extract_minus_sign())
            out = self._back(terms[0])
            for t in terms[1:]:
                out = sub(out, self._back(-t)) if t.could_extract_minus_sign() else add(
                    out, self._back(t))
            return out
        if e.is_Mul:
            return self._product(e)
        if e.is_Pow:
            if e.exp.is_negative:
                return div(const(1), self._back(e.base ** -e.exp))
            return power(self._back(e.base), e.exp)
        if type(e) in _BY_CLASS:
            return fn(_BY_CLASS[type(e)], self._back(e.args[0]))
        if isinstance(e, sp.Piecewise):
            return self._back(_steps(e))
        raise ValueError(f"cannot write {e} as a matrix expression")  # pragma: no cover

    def _product(self, e: sp.Expr) -> M:
        coefficient, factors = e.as_coeff_mul()
        sign, factors = _lecture_signs(list(factors), set(self.atoms))
        coefficient *= sign
        if coefficient.is_negative:
            return neg(self._unsigned(-coefficient, factors))
        return self._unsigned(coefficient, factors)

    def _unsigned(self, coefficient: sp.Expr, factors: list[sp.Expr]) -> M:
        scalars, top, bottom = [coefficient], [], []
        for f in factors:
            base, exponent = f.as_base_exp() if f.is_Pow else (f, sp.S.One)
            if not (f.free_symbols & set(self.atoms)):
                scalars.append(f)
            elif exponent.is_negative:
                bottom.append(base ** -exponent)
            else:
                top.append(f)
        scale = sp.Mul(*scalars)
        named = [f for f in top if f.is_Symbol and is_scalar(self.atoms[f].shape)]
        top = [f for f in top if f not in named]
        # data and intermediates before products: y ⊙ Xw, as a lecturer writes it
        top.sort(key=lambda f: not (f.is_Symbol and self.atoms[f].op == "var"))
        if named and top:  # 2λ·x: the scalar names join the number in front
            front: M = const(scale) if scale != 1 else self.atoms[named[0]]
            for f in named[1 if scale == 1 else 0:]:
                front = mul(front, self.atoms[f])
            return mul(front, self._unsigned(sp.S.One, [*top, *(b**-1 for b in bottom)]))
        top = named + top
        out: M | None = None
        for f in top:
            part = self._back(f)
            out = part if out is None else mul(out, part)
        if bottom:
            den = self._back(sp.Mul(*bottom))
            out = div(out or const(1), den)
        if out is None:
            return const(scale)
        return out if scale == 1 else mul(const(scale), out)


def _lecture_signs(factors: list[sp.Expr], atoms: set[sp.Symbol]) -> tuple[int, list[sp.Expr]]:
    """The signs of a quotient as a lecture writes them: a denominator 1 − p, not p − 1, its
    sign moved to a sum in the numerator (y − p becomes p − y) or else out in front.

    Returns the sign (±1) left over and the factors; their product times the sign is unchanged.
    """
    sign = 1
    out = []
    for f in factors:
        base, exponent = f.as_base_exp()
        if (exponent.is_negative and exponent.is_odd and base.is_Add
                and base.as_coeff_Add()[0].is_negative and base.free_symbols & atoms):
            out.append(sp.Pow(-base, exponent))
            sign = -sign
        else:
            out.append(f)
    if sign == -1:
        for k, f in enumerate(out):
            if f.is_Add and f.free_symbols & atoms:
                out[k] = -f
                return 1, out
    return sign, out


def _steps(e: sp.Piecewise) -> sp.Expr:
    """(a if z > 0 else b) as a·H(z) + b·(1 − H(z)), H the step (H(0) = 0: the PyTorch
    convention of relu'(0) = 0); other conditions are not matrix expressions."""
    (a, condition), (b, otherwise) = e.args if len(e.args) == 2 else (e.args[0], (None, None))
    if otherwise is not sp.true or not isinstance(condition, sp.StrictGreaterThan) or (
            condition.rhs != 0):
        raise ValueError(f"cannot write {e} as a matrix expression")
    step = FUNCTIONS["Heaviside"](condition.lhs)
    return a * step + b * (1 - step)


def _shorter_with_sigmoid(e: sp.Expr) -> sp.Expr:
    """exp(a)/(1 + exp(a)) written as σ(a) (and the like), when that makes ``e`` shorter."""
    exps = [x for x in e.atoms(sp.exp)]
    if not exps:
        return e
    s = sp.Dummy("s")
    best = e
    for x in exps:
        arg = x.args[0]
        # exp(a) = σ(a)/(1 − σ(a)) = (1 − σ(−a))/σ(−a)
        for written, sig in (((1 - s) / s, sigmoid(-arg)), (s / (1 - s), sigmoid(arg))):
            trial = sp.cancel(e.subs(x, written))
            if trial.has(x):
                continue
            trial = sp.factor_terms(trial).subs(s, sig)
            if _cost(trial) < _cost(best):
                best = trial
    return best


def _cost(e: sp.Expr) -> int:
    """Operations, sums and exponentials count: σ(−a)·y is shorter than (σ(a) − 1)·y."""
    return sp.count_ops(e) + 2 * (len(e.atoms(sp.Add)) + len(e.atoms(sp.exp)))


def _cancel(e: sp.Expr, atoms: dict[sp.Symbol, M] | None = None) -> sp.Expr:
    atoms = atoms or {}
    if e.has(sp.Piecewise):
        return e
    try:
        tidy_e = sp.factor_terms(sp.cancel(e))
    except (sp.PolynomialError, TypeError, ValueError):  # pragma: no cover - exotic input
        return e
    best = tidy_e if sp.count_ops(tidy_e) <= sp.count_ops(e) else e
    return _distributed(_shorter_with_sigmoid(best), atoms)


def _distributed(e: sp.Expr, atoms: dict[sp.Symbol, M]) -> sp.Expr:
    """c·(Aᵀr + λx) written c·Aᵀr + c·λx: a number is not pulled out of matrix products."""
    products = {s for s, m in atoms.items() if m.op != "var"}
    c, rest = e.as_coeff_Mul()
    if c != 1 and rest.is_Add and any(t.free_symbols & products for t in rest.args):
        return sp.Add(*(c * t for t in rest.args))
    return e


def _scale_of(m: M) -> tuple[sp.Expr, M]:
    """m = c · rest with c a constant scalar pulled out of a scaling."""
    if m.op == "mul" and m.args[0].op == "const" and not is_scalar(m.args[1].shape):
        return m.args[0].value, m.args[1]
    if m.op == "neg":
        c, rest = _scale_of(m.args[0])
        return -c, rest
    return sp.S.One, m


def _scaled(c: sp.Expr, m: M) -> M:
    if c == 1:
        return m
    if c == -1:
        return neg(m)
    if c.could_extract_minus_sign():
        return neg(mul(const(-c), m))
    return mul(const(c), m)


def _structural(m: M, given: dict[M, M]) -> M:
    """The non-elementwise operations, their arguments tidied and scalars pulled to the front."""
    op, a = m.op, [tidy(x, given) for x in m.args]
    if op == "matmul":
        (c1, left), (c2, right) = _scale_of(a[0]), _scale_of(a[1])
        if left.op == "eye" or right.op == "eye":  # IB = B
            return _scaled(c1 * c2, right if left.op == "eye" else left)
        return _scaled(c1 * c2, matmul(left, right))
    if op == "T":
        c, inner = _scale_of(a[0])
        if inner.op == "matmul" and "T" in (inner.args[0].op, inner.args[1].op):
            # (rᵀD)ᵀ = Dᵀr: a transpose of a transpose cancels
            return _scaled(c, matmul(transpose(inner.args[1]), transpose(inner.args[0])))
        if inner.op == "mul" and is_scalar(inner.args[0].shape):
            # (λwᵀ)ᵀ = λw: a scalar factor comes out of the transpose
            return _scaled(c, tidy(mul(inner.args[0], transpose(inner.args[1])), given))
        return _scaled(c, transpose(inner))
    if op in ("sum", "mean", "sqnorm", "norm", "trace"):
        c, inner = _scale_of(a[0])
        if inner.op == "ones" and op in ("sum", "mean"):
            rows, cols = inner.shape
            return const(c * (rows * cols if op == "sum" else 1))
        factor = {"sqnorm": c**2, "norm": abs(c)}.get(op, c)
        return _scaled(factor, M(op, (inner,), SCALAR))
    if op == "dot":
        template = _Template(given)
        product = template.to(mul(a[0], a[1]))
        short = _cancel(product, template.atoms)
        apart = sp.count_ops(template.to(a[0])) + sp.count_ops(template.to(a[1])) + 1
        if sp.count_ops(short) < apart:
            return tidy(reduce("sum", template.back(short, a[0].shape)), given)
        return dot(a[0], a[1])
    return M(op, tuple(a), m.shape, m.name, m.value)


def tidy(m: M, given: dict[M, M] | None = None) -> M:
    """The textbook form of ``m`` (see the module docstring); ``given`` replaces known
    sub-expressions (``sum(y)`` → 1 for one-hot labels) before cancelling."""
    given = given or {}
    if m in given:
        return given[m]
    if m.op not in _ELEMENTWISE or m.op in ("var", "const", "ones"):
        return _structural(m, given) if m.args else m
    template = _Template(given)
    return _collected(template.back(_cancel(template.to(m), template.atoms), m.shape), given)


def pushed_transposes(m: M) -> M:
    """``m`` with every transpose of a product pushed inside, as a lecturer writes it:
    (AB)ᵀ = BᵀAᵀ, (cA)ᵀ = cAᵀ, (−A)ᵀ = −Aᵀ (the chain form of wᵀDw's gradient, (wᵀD)ᵀ, is Dᵀw).

    >>> from symgrad.core.matrix import parse_matrix, parse_shapes
    >>> s = parse_shapes("X: N x d, D: N x N, r: N")
    >>> str(pushed_transposes(parse_matrix("X'*(r'*D')' + X'*(2*(r'*D))'", s)))
    'XᵀDr + Xᵀ(2·Dᵀr)'
    """
    if not m.args:
        return m
    if m.op == "T":
        inner = m.args[0]
        if inner.op == "matmul":
            a, b = inner.args
            return matmul(pushed_transposes(transpose(b)), pushed_transposes(transpose(a)))
        if inner.op == "mul" and is_scalar(inner.args[0].shape):
            scale, rest = inner.args
            return mul(pushed_transposes(scale), pushed_transposes(transpose(rest)))
        if inner.op == "neg":
            return neg(pushed_transposes(transpose(inner.args[0])))
    return M(m.op, tuple(pushed_transposes(a) for a in m.args), m.shape, m.name, m.value)


def _terms(m: M) -> list[tuple[sp.Expr, M]]:
    """The terms of a sum, each as (its constant coefficient, the rest)."""
    if m.op == "add":
        return _terms(m.args[0]) + _terms(m.args[1])
    if m.op == "sub":
        return _terms(m.args[0]) + [(-c, t) for c, t in _terms(m.args[1])]
    return [_scale_of(m)]


def _factors(m: M) -> list[M]:
    """A matrix product's factors from left to right (one factor if ``m`` is no product)."""
    if m.op == "matmul":
        return _factors(m.args[0]) + _factors(m.args[1])
    return [m]


def _chain(factors: list[M]) -> M:
    out = factors[0]
    for f in factors[1:]:
        out = matmul(out, f)
    return out


def _common(a: list[M], b: list[M]) -> tuple[int, int]:
    """How many factors two products share on the left and on the right, each leaving at
    least one factor of its own in the middle."""
    left = 0
    while left < min(len(a), len(b)) - 1 and a[left] == b[left]:
        left += 1
    right = 0
    while right < min(len(a), len(b)) - left - 1 and a[-1 - right] == b[-1 - right]:
        right += 1
    return left, right


def _merged(x: tuple[sp.Expr, M], y: tuple[sp.Expr, M], left: int, right: int,
            given: dict[M, M]) -> tuple[sp.Expr, M]:
    """c·A·B·v + c·A·C·v as c·A(B + C)v (and c·A(B − C)v for opposite coefficients)."""
    (c1, t1), (c2, t2) = x, y
    f1, f2 = _factors(t1), _factors(t2)
    m1, m2 = _chain(f1[left:len(f1) - right]), _chain(f2[left:len(f2) - right])
    if c2 == c1:
        c, middle = c1, add(m1, m2)
    elif c2 == -c1:
        c, middle = c1, sub(m1, m2)
    else:
        c, middle = sp.S.One, add(_scaled(c1, m1), _scaled(c2, m2))
    return c, _chain([*f1[:left], tidy(middle, given), *f1[len(f1) - right:]])


def _collected(m: M, given: dict[M, M]) -> M:
    """Common factors of matrix products collected, as a lecturer writes them:
    A·B·v + A·C·v is A(B + C)v; a sum without products sharing a factor is left as it is.

    >>> from symgrad.core.matrix import parse_matrix, parse_shapes
    >>> s = parse_shapes("X: N x d, D: N x N, r: N")
    >>> str(tidy(parse_matrix("X'*D*r + X'*D'*r", s)))
    'Xᵀ(D + Dᵀ)r'
    """
    terms = _terms(m)
    if len(terms) < 2:
        return m
    best: tuple[int, int, int, int] | None = None  # (shared factors, i, j, left)
    for i, (_, a) in enumerate(terms):
        for j in range(i + 1, len(terms)):
            b = terms[j][1]
            if a.shape != b.shape:
                continue
            left, right = _common(_factors(a), _factors(b))
            if left + right and (best is None or left + right > best[0]):
                best = (left + right, i, j, left)
    if best is None:
        return m
    shared, i, j, left = best
    merged = _merged(terms[i], terms[j], left, shared - left, given)
    rest = [t for k, t in enumerate(terms) if k not in (i, j)]
    terms = [*rest[:i], merged, *rest[i:]]
    out = _scaled(*terms[0])
    for c, t in terms[1:]:
        out = sub(out, _scaled(-c, t)) if c.could_extract_minus_sign() else add(out, _scaled(c, t))
    return _collected(out, given)


def tidy_keeping_dots(m: M) -> M:
    """:func:`tidy`, each dot product kept with its sign and numbers pulled out: the middle of
    the softmax step, pᵀ(y ⊘ p), before it becomes 1ᵀy.

    >>> from symgrad.core.matrix import parse_matrix, parse_shapes
    >>> s = parse_shapes("p: k, y: k")
    >>> str(tidy_keeping_dots(parse_matrix("p .* (-y ./ p) - dot(p, -y ./ p) * p", s)))
    'pᵀ(y ⊘ p)·p − y'
    """
    hidden: dict[M, M] = {}

    def hide(x: M) -> M:
        if x.op == "dot":
            (c1, a), (c2, b) = (_scale_of(tidy(t)) for t in x.args)
            key = M("var", (), SCALAR, f"_dot{len(hidden)}")
            hidden[key] = dot(a, b)
            return _scaled(c1 * c2, key)
        return M(x.op, tuple(hide(a) for a in x.args), x.shape, x.name, x.value) if x.args else x

    def show(x: M) -> M:
        if x in hidden:
            return hidden[x]
        return M(x.op, tuple(show(a) for a in x.args), x.shape, x.name, x.value) if x.args else x

    return show(tidy(hide(m)))

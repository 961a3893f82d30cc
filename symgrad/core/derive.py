"""The chain-rule engine: a graph in, a verified step-by-step derivation out.

Four stages, as a lecturer works:

1. **define** the intermediates (z_i = w x_i + b, y_hat_i = sigma(z_i), u_i = y_hat_i - y_i, ...);
2. **differentiate locally**: each node with respect to each of its inputs, naming the rule;
3. **multiply along the chain**, from the loss back to every node, summing over paths where a
   quantity feeds several nodes, and over the samples where a parameter feeds every sample;
4. **substitute back** helper names (u_i) to reach the lecture's form, and fully, to parameters
   and data.

Every step is checked against ``sympy.diff`` of the fully substituted expression
(:func:`symgrad.core.verify.same`); a failed check raises
:class:`~symgrad.core.errors.VerificationError`.

>>> import sympy as sp
>>> from symgrad.core.graph import Graph, Node
>>> a, b, c, u, v, j = sp.symbols("a b c u v j", real=True)
>>> d = derive_graph(Graph((Node(u, b * c), Node(v, a + u), Node(j, 3 * v)), params=(a, b, c)))
>>> {name: g.named for name, g in d.gradients.items()}
{'a': 3, 'b': 3*c, 'c': 3*b}
>>> [s.check.method.value for s in d.steps if s.kind is Kind.LOCAL][:2]
['symbolic identity', 'symbolic identity']
>>> d.verified
True
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import sympy as sp

from symgrad.core import budget
from symgrad.core.errors import OptionError, VerificationError
from symgrad.core.functions import by_class, elementary
from symgrad.core.graph import Graph, N, as_written, i
from symgrad.core.names import display_name
from symgrad.core.steps import Derivation, Gradient, Kind, Partial, Rule, Step, as_rules
from symgrad.core.verify import Check, Differentiator, combined, expanded_terms, same_all

if TYPE_CHECKING:
    from symgrad.core.matrix_steps import MatrixDerivation

__all__ = [
    "Derivation", "Gradient", "Partial", "Progress", "Step", "derive", "derive_expr",
    "derive_graph", "rule_name", "tidy",
]

#: What every claim of the engine is compared with.
AGAINST = "sympy.diff of the fully substituted expression"


# --- stage 2: local derivatives and the names of their rules

#: The rule of each SymPy function class, from the function registry.
_FUNCTION_RULES = {cls: record.rule for cls, record in by_class().items()}


def rule_name(expr: sp.Expr, var: sp.Symbol) -> str:
    """The differentiation rules d(expr)/d(var) uses, outermost first, as lower-case words.

    >>> x, y = sp.symbols("x y", real=True)
    >>> rule_name((x - y) ** 2, x)
    'power rule, chain rule, sum rule'
    >>> from symgrad.core.functions import sigmoid
    >>> rule_name(sigmoid(x), x)
    'sigmoid identity'
    >>> rule_name(3 * x, x)
    'constant multiple rule'
    >>> rule_name(sp.Piecewise((x**2, x > 0), (0, True)), x)
    'piecewise rule, power rule'
    """
    rules: list[str] = []

    def add(rule: str) -> None:
        if rule not in rules:
            rules.append(rule)

    def walk(e: sp.Expr) -> None:
        if e == var or not e.has(var):
            return
        if isinstance(e, sp.Add):
            add("sum rule")
            for a in e.args:
                walk(a)
        elif isinstance(e, sp.Mul):
            dependent = [f for f in e.args if f.has(var)]
            if len(dependent) < len(e.args):
                add("constant multiple rule")
            if len(dependent) > 1:
                divides = any(isinstance(f, sp.Pow) and f.exp.is_negative for f in dependent)
                add("quotient rule" if divides else "product rule")
            for f in dependent:
                walk(f)
        elif isinstance(e, sp.Pow):
            if e.exp.has(var):
                add("exp rule")
                walk(e.exp)
            else:
                add("power rule")
                if e.base != var:
                    add("chain rule")
                walk(e.base)
        elif isinstance(e, sp.Piecewise):  # where(cond, a, b): each case, its condition fixed
            add("piecewise rule")
            for piece in e.args:
                walk(piece.expr)
        elif isinstance(e, sp.Function):
            add(_FUNCTION_RULES.get(type(e), f"{type(e).__name__} rule"))
            inner = [a for a in e.args if a.has(var)]
            if any(a != var for a in inner):
                add("chain rule")
            for a in inner:
                walk(a)
        else:
            add("derivative")

    walk(expr)
    return ", ".join(rules) or "identity"


def in_named_terms(expr: sp.Expr, graph: Graph) -> sp.Expr:
    """Rewrite ``expr`` using node names: sigma(z_i) becomes y_hat_i, exp(z_1)/S becomes p_1.

    A node defined as a ratio n = a / s also lets ``a`` be written as n s, which turns the softmax
    Jacobian into p_k (delta_kj - p_j).
    """
    for n in reversed(graph.nodes):
        if n.expr.is_Atom:
            continue
        expr = expr.xreplace(_named_forms(n.expr, n.symbol))
        num, den = sp.fraction(n.expr)
        if den != 1 and not num.is_Atom and expr.has(num):
            hold = sp.Dummy()
            expr = expr.xreplace({den: hold}).subs(num, n.symbol * hold).xreplace({hold: den})
    return expr


@functools.lru_cache(maxsize=4096)
def _named_forms(written: sp.Expr, name: sp.Symbol) -> dict[sp.Expr, sp.Symbol]:
    """A node's expression as typed and as SymPy evaluates it (sigmoid(3*a + c) is
    sigmoid(c + 3*a) in a derivative), both to be written as the node's name; not a value that
    is a number or a name (u = w − w is 0: every 0 would read u).

    >>> w, u = sp.symbols("w u", real=True)
    >>> _named_forms(sp.Add(w, -w, evaluate=False), u)
    {-w + w: u}
    """
    value = _evaluated(written)
    return {written: name} if value.is_Atom else {written: name, value: name}


#: Most terms ``tidy`` lets ``cancel``/``factor`` expand a product into (estimated beforehand).
TIDY_BUDGET = 256
#: Most symbols and function values ``tidy`` lets ``cancel``/``factor`` work in (a form written
#: out fully in more of them was never shortened by them across the catalogue and networks).
TIDY_GENERATORS = 8


@functools.lru_cache(maxsize=4096)
def _long(expr: sp.Expr, limit: int = 40) -> bool:
    """Whether ``expr`` has more than ``limit`` nodes (stops counting there)."""
    return any(k > limit for k, _ in enumerate(sp.preorder_traversal(expr)))


def _generators(expr: sp.Expr) -> int:
    """The number of distinct symbols outside function values and function values in ``expr``:
    the variables ``cancel`` and ``factor`` work in (they split exp(a + b) into exp(a) exp(b)).

    >>> x, y, a = sp.symbols("x y a")
    >>> _generators(x * (sp.exp(a * x + y) - y)), _generators(x * (sp.tanh(a * x + y) - y))
    (4, 3)
    """
    found: set[sp.Basic] = set()
    stack = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, sp.exp) and isinstance(e.args[0], sp.Add):
            found.update(sp.exp(t, evaluate=False) for t in e.args[0].args)
        elif e.is_Symbol or isinstance(e, sp.Function):
            found.add(e)
        else:
            stack.extend(e.args)
    return len(found)


def tidy(expr: sp.Expr, graph: Graph) -> sp.Expr:
    """A short form of ``expr`` by targeted rewriting (never ``sympy.simplify``, which can take
    minutes).

    Cancels common factors (the sigmoid + BCE cancellation) and, for one-hot labels that sum to one,
    collects them (the softmax + cross-entropy cancellation).
    """
    if _monomial(expr) or (not graph.sum_to_one and _irreducible(expr)):
        return expr  # nothing to cancel, collect or factor: already its shortest form
    if not graph.sum_to_one and _lowest_terms(expr):
        return orient(expr, {n.symbol for n in graph.nodes})  # as the full path would leave it
    if expr.has(sp.Piecewise):
        return sp.piecewise_fold(expr) if sp.count_ops(expr) < 50 else expr
    nodes = [n.symbol for n in graph.nodes]
    if _generators(expr) > TIDY_GENERATORS or expanded_terms(expr, TIDY_BUDGET) > TIDY_BUDGET:
        # cancel() expands: a product of many sums (tanh(tanh(...)) chains) would blow up
        # exponentially, and a product with nothing to cancel gains nothing from it; factor()
        # in many generators (a 9-class softmax written out: 50) takes seconds per form
        return orient(expr, set(nodes))
    # a function value of a long argument with nothing to take out of it (a network's unit
    # written out) is one variable to cancel/factor, held as a symbol: they would otherwise walk
    # and print its argument again and again (0.6 s per form in a 4-8-4-1 network)
    hold = _held(expr.atoms(sp.Function))
    work = expr.xreplace(hold)
    candidates = [_factored(work), work]
    # the same with each exp of a sum held whole: factor writes exp(w x + b) as exp(b) exp(w x)
    whole = {f: sp.Dummy(f"e{k}") for k, f in enumerate(
        sorted((f for f in work.atoms(sp.exp) if isinstance(f.args[0], sp.Add)), key=_shape))}
    if whole:
        candidates.insert(1, _factored(work.xreplace(whole)).xreplace(
            {v: f for f, v in whole.items()}))
    for group in graph.sum_to_one:
        num, den = sp.fraction(sp.cancel(work))
        collected = sp.collect(sp.expand(num), nodes).subs(sp.Add(*group), 1)
        candidates.append(collected / den)
    candidates = [orient(c, set(nodes)) for c in candidates]
    best = _shortest(candidates)
    return best.xreplace({v: f for f, v in hold.items()}) if hold else best


def _factored(work: sp.Expr) -> sp.Expr:
    """``work`` over one denominator with common factors cancelled, both parts factored.

    ``factor`` does it alone (it puts the form over one denominator and factors both parts, so
    common factors cancel): what ``factor(cancel(...))`` gave on the 1960 forms of the
    catalogue, typed and network derivations tried (printed alike; 2 differ inside a typed sum's
    order), in a third of the time (cancel expanded first, and factor undid it); the tests
    compare the two.

    >>> v, y = sp.symbols("v y")
    >>> _factored(v * (1 - v) * ((1 - y) / (1 - v) - y / v))
    v - y
    """
    return sp.factor(work)


def _shortest(candidates: Sequence[sp.Expr]) -> sp.Expr:
    """The first of the forms with the fewest operations, then the shortest text (printed only
    to break a tie).

    >>> x, y = sp.symbols("x y")
    >>> _shortest([x * (x + y), x**2 + x * y, x * y + x**2])
    x*(x + y)
    """
    ops = [sp.count_ops(c) for c in candidates]
    tied = [c for c, n in zip(candidates, ops, strict=True) if n == min(ops)]
    return tied[0] if len(tied) == 1 else min(tied, key=lambda e: len(str(e)))


def _monomial(expr: sp.Expr) -> bool:
    """Whether ``expr`` is a number times integer powers of symbols (2 u_i x_i / N).

    >>> x, u = sp.symbols("x u")
    >>> _monomial(2 * u * x / N), _monomial(x * (u - 1))
    (True, False)
    """
    return all(
        f.is_Number or f.is_Symbol or (f.is_Pow and f.base.is_Symbol and f.exp.is_Integer)
        for f in sp.Mul.make_args(expr)
    )


@functools.lru_cache(maxsize=4096)
def _irreducible(expr: sp.Expr) -> bool:
    """Whether ``expr`` is a product of numbers, symbols, function values and positive integer
    powers of sums that each have a term that is a lone symbol or function value (times +-1)
    found in no other term, the arguments of every function alike: no denominator to cancel,
    no common factor to take out, and every such sum is irreducible (of degree one in that
    term, with a constant coefficient), so ``factor(cancel(...))`` has nothing to do.

    >>> x, y, a = sp.symbols("x y a")
    >>> from symgrad.core.functions import sigmoid
    >>> _irreducible(x * (sigmoid(a * x + y) - y)), _irreducible(x * (a * x + a * y))
    (True, False)
    >>> _irreducible((x - y) / (x * (1 - x))), _irreducible(sp.exp(2 * x + 2 * y) * (x - y))
    (False, False)
    """
    def lone(term: sp.Expr) -> sp.Expr | None:
        term = -term if term.could_extract_minus_sign() else term
        return term if term.is_Symbol or isinstance(term, sp.Function) else None

    def ok(e: sp.Expr) -> bool:
        if e.is_Number or e.is_Symbol:
            return True
        if isinstance(e, sp.Piecewise) or not isinstance(e, sp.Function | sp.Add):
            return False
        if isinstance(e, sp.Function):
            return all(ok(a) for a in e.args)
        singles = [t for t in map(lone, e.args) if t is not None]
        if not any(all(t is g or not t.has(g) for t in e.args if lone(t) is not g)
                   for g in singles):
            return False
        return all(ok(f) for t in e.args for f in sp.Mul.make_args(t))

    for f in sp.Mul.make_args(expr):
        base, power = f.as_base_exp()
        if not (f.is_Number or (power.is_Integer and power > 0 and ok(base))):
            return False
    return True


def _lowest_terms(expr: sp.Expr) -> bool:
    """Whether ``expr`` is a fraction in lowest terms that factoring (:func:`_factored`) leaves
    as it is: a product of integer powers (of either sign) of numbers, symbols, function values and
    sums that :func:`_irreducible` accepts, no factor of the denominator equal to one of the
    numerator up to its sign (irreducible factors share no divisor unless they are such a
    pair), and no ``exp`` (factoring reads exp(2 a) as exp(a)^2, which can factor).

    >>> x, y, u, n = sp.symbols("x y u n")
    >>> _lowest_terms(x * (u - y) / n), _lowest_terms((u - y) / (n * u * (1 - u)))
    (True, True)
    >>> _lowest_terms((u - y) / (y - u)), _lowest_terms((x**2 - 1) / (x - 1))
    (False, False)
    """
    if expr.has(sp.exp):
        return False
    above: list[sp.Expr] = []
    below: list[sp.Expr] = []
    for f in sp.Mul.make_args(expr):
        if f.is_Number:
            continue
        base, power = f.as_base_exp()
        if not (power.is_Integer and _irreducible(base)) or base.is_Number:
            return False
        (above if power > 0 else below).append(base)
    return not any(b == a or b == -a for b in below for a in above)


def _wants_flip(add: sp.Add, preferred: set[sp.Symbol]) -> bool:
    """Whether ``add`` reads better negated: 1 - y_hat over y_hat - 1, y_hat - y over y - y_hat."""
    const = [t for t in add.args if t.is_number]
    if const:
        return bool(const[0].is_negative)
    signs = [t.could_extract_minus_sign() for t in add.args if t.free_symbols & preferred]
    return bool(signs) and sum(signs) * 2 > len(signs)


def orient(expr: sp.Expr, preferred: set[sp.Symbol]) -> sp.Expr:
    """Flip the signs of sums inside a product the way a lecturer writes them; the value is
    unchanged.

    >>> y, yhat, N = sp.symbols("y yhat N", real=True)
    >>> orient(-(y - yhat) / N, {yhat})
    (-y + yhat)/N
    >>> orient((y - yhat) / (yhat * (yhat - 1)), {yhat})
    (-y + yhat)/(yhat*(1 - yhat))
    """
    if not isinstance(expr, sp.Mul):
        return expr
    sign, factors = 1, []
    for f in expr.args:
        base, power = f.as_base_exp()
        if isinstance(base, sp.Add) and power.is_Integer and _wants_flip(base, preferred):
            factors.append(sp.Add(*[-t for t in base.args]) ** power)
            sign *= sp.Integer(-1) ** int(power)
        else:
            factors.append(f)
    return sp.Mul(sign, *factors)


# --- display helpers


def sample_sum(expr: sp.Expr, per_sample: set[sp.Symbol]) -> sp.Expr:
    """``sum_i expr`` for display, with the factors that do not depend on the sample pulled out.

    >>> x, w = sp.symbols("x_i w", real=True)
    >>> sample_sum(2 * w * x / N, {x})
    (2*w/N)*Sum(x_i, (i, 1, N))
    """
    if not expr.free_symbols & per_sample:
        return sp.Mul(N, expr)
    outside, inside = expr.as_independent(*per_sample, as_Add=False)
    if outside.could_extract_minus_sign() and isinstance(inside, sp.Mul | sp.Add):
        flipped = orient(-inside, set(per_sample))
        if not flipped.could_extract_minus_sign():
            outside, inside = -outside, flipped
    total = sp.Sum(inside, (i, 1, N))
    return total if outside == 1 else sp.Mul(outside, total, evaluate=False)


def _substitute_helpers(expr: sp.Expr, graph: Graph) -> sp.Expr:
    """Replace the names a lecturer does not keep (u_i) by their definitions."""
    return graph.substitute(expr, {n.symbol: n.expr for n in graph.nodes if not n.keep})


# --- parameters that are renamings of one another (w_j is w_1 with x_1 -> x_j)

Renaming = dict[sp.Symbol, sp.Symbol]


def _swap(
    graph: Graph,
    p0: sp.Symbol,
    p: sp.Symbol,
    local: Mapping[tuple[sp.Symbol, sp.Symbol], sp.Expr] | None = None,
) -> Renaming | None:
    """The renaming that swaps ``p0`` with ``p`` and the data symbol each one multiplies (x_1 with
    x_j), when it leaves every node, the penalty and the one-hot groups unchanged, else None.

    Then the loss is unchanged by the renaming, so its derivative with respect to ``p`` is the
    one with respect to ``p0``, renamed: an exact statement, checked here structurally.
    ``local`` are the local derivatives already known ((node, input) -> expression).

    >>> from symgrad.core.catalogue import model_graph
    >>> g = model_graph("bce", "logistic", features=3)
    >>> w1, w3, b = g.params[0], g.params[2], g.params[3]
    >>> sorted(f"{k}->{v}" for k, v in _swap(g, w1, w3).items())
    ['w1->w3', 'w3->w1', 'x_i1->x_i3', 'x_i3->x_i1']
    >>> _swap(g, w1, b) is None
    True
    """
    nodes = {n.symbol for n in graph.nodes}
    swap: Renaming = {p0: p, p: p0}
    for n in graph.consumers(p0):
        if p not in n.expr.free_symbols:
            return None
        d = [local[(n.symbol, q)] if local else n.local(q) for q in (p0, p)]
        a, c = (e.free_symbols - nodes - set(graph.params) for e in d)
        if len(a) != len(c) or len(a) > 1:
            return None
        for x, y in zip(a, c, strict=True):
            if swap.setdefault(x, y) != y or swap.setdefault(y, x) != x:
                return None
    moved = set(swap)
    if any(moved & set(g) for g in graph.sum_to_one):
        return None
    touched = [n.expr for n in graph.nodes if n.expr.free_symbols & moved] + [graph.penalty]
    # literally unchanged, up to the order of terms (a typed sum keeps the order typed)
    return swap if all(_shape(e, swap) == _shape(e) for e in touched) else None


def _renamings(
    graph: Graph, wrt: Sequence[sp.Symbol], local: Mapping[tuple[sp.Symbol, sp.Symbol], sp.Expr]
) -> dict[sp.Symbol, tuple[sp.Symbol, Renaming]]:
    """For each parameter whose derivation is an earlier one's renamed (see :func:`_swap`), that
    earlier parameter and the renaming; tried against the first parameter with the same
    consumers only, so a network's hundreds of distinct weights cost one failed try each.
    ``local`` holds the local derivatives (node, input) -> expression."""
    first: dict[tuple[sp.Symbol, ...], sp.Symbol] = {}
    out: dict[sp.Symbol, tuple[sp.Symbol, Renaming]] = {}
    for p in wrt:
        key = tuple(n.symbol for n in graph.consumers(p))
        p0 = first.setdefault(key, p)
        if p0 != p and p0 not in out:
            swap = _swap(graph, p0, p, local)
            if swap is not None:
                out[p] = (p0, swap)
    return out


class _Tidier:
    """:func:`tidy` (and :func:`_compact`), remembered: an expression that is a remembered one
    renamed (the same gradient for w_j as for w_1, with x_j for x_1) gets the remembered form,
    renamed (equal, since a renaming keeps an identity; and the claims check every form)."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.memo: dict[tuple[str, sp.Expr], Any] = {}
        self._walks: tuple[Renaming | None, _Walked] = (None, {})

    def walked(self, swap: Renaming) -> _Walked:
        """What :func:`_shape` found under the renaming ``swap``: one parameter's forms share
        their parts (sigma of the 31-term sum), walked once."""
        if self._walks[0] is not swap:
            self._walks = (swap, {})
        return self._walks[1]

    def remembered(self, kind: str, expr: sp.Expr, swap: Renaming | None, make: Callable) -> Any:
        """``make(expr)``, or a remembered result for ``expr`` renamed by ``swap``, renamed."""
        key = (kind, _shape(expr))
        if swap:
            known = self.memo.get((kind, _shape(expr, swap, self.walked(swap))))
            if known is not None:
                return _rename_result(known, swap)
        if key not in self.memo:
            self.memo[key] = make(expr)
        return self.memo[key]

    def __call__(self, expr: sp.Expr, swap: Renaming | None = None) -> sp.Expr:
        return self.remembered("tidy", expr, swap, lambda e: tidy(e, self.graph))

    def substituted(self, expr: sp.Expr, swap: Renaming | None = None) -> sp.Expr:
        """:func:`_substitute_helpers` remembered (the renaming leaves every node's definition
        unchanged, so substituting commutes with it)."""
        return self.remembered(
            "substituted", expr, swap, lambda e: _substitute_helpers(e, self.graph))

    def compact(
        self, expr: sp.Expr, rule: Rule, what: str, swap: Renaming | None
    ) -> tuple[tuple[Rule, ...], tuple[Claim, ...], sp.Expr]:
        """:func:`_compact` remembered; the claim (if any) is made for ``expr`` itself."""
        rules, claims, form = self.remembered(
            "compact", expr, swap, lambda e: _compact(e, self.graph, rule, what, self))
        return rules, tuple((what, form, expr) for _ in claims), form


#: A walk's results under one renaming, by the id of the subtree (kept, so the id stays its own).
_Walked = dict[int, tuple[sp.Basic, Any]]


def _shape(e: sp.Basic, swap: Renaming | None = None, memo: _Walked | None = None) -> str:
    """The tree of ``e`` (renamed by ``swap``) as text, the arguments of sums and products in a
    fixed order: equal texts mean literally the same expression up to the order of terms and
    factors (a typed sum is kept in the order typed). Nothing is built or evaluated again; a
    subtree the renaming does not touch keeps its remembered text (:func:`_plain_shape`).
    ``memo`` holds what earlier walks under the same ``swap`` found.

    >>> x, y = sp.symbols("x y")
    >>> _shape(sp.Add(x, 2 * y, evaluate=False)) == _shape(sp.Add(2 * y, x, evaluate=False))
    True
    >>> _shape(x - y, {x: y, y: x}) == _shape(y - x), _shape(x - y) == _shape(y - x)
    (True, False)
    """
    if not swap:
        return _plain_shape(e)[0]
    moved = frozenset(swap)
    memo = {} if memo is None else memo

    def walk(x: sp.Basic) -> str:
        known = memo.get(id(x))
        if known is not None:
            return known[1]
        text, leaves = _plain_shape(x)
        if not leaves & moved:
            out = text
        elif not x.args:
            out = _leaf(swap[x])
        else:
            out = _node_text(x, [walk(a) for a in x.args])
        memo[id(x)] = (x, out)
        return out

    return walk(e)


@functools.lru_cache(maxsize=1 << 16)
def _plain_shape(x: sp.Basic) -> tuple[str, frozenset[sp.Basic]]:
    """:func:`_shape` of ``x`` without a renaming, and the atoms it holds; remembered, so the
    shared parts of a derivation's forms (sigma of a 31-term sum in every gradient) are walked
    once."""
    if not x.args:
        return _leaf(x), frozenset((x,))
    parts = [_plain_shape(a) for a in x.args]
    return _node_text(x, [t for t, _ in parts]), frozenset().union(*(a for _, a in parts))


def _node_text(x: sp.Basic, args: list[str]) -> str:
    """One node of :func:`_shape`: its class and its arguments' texts (sorted in a sum or a
    product)."""
    if isinstance(x, sp.Add | sp.Mul):
        args = sorted(args)
    return f"{type(x).__name__}#{id(type(x))}({','.join(args)})"


@functools.lru_cache(maxsize=4096)
def _leaf(x: sp.Basic) -> str:
    """A symbol or number as text, with its assumptions (a Dummy with its index)."""
    return sp.srepr(x)


def _rename_result(known: Any, swap: Renaming) -> Any:
    """A remembered tidy form, or _compact's (rules, claims, form), renamed by ``swap``."""
    if isinstance(known, tuple):
        rules, claims, form = known
        return rules, claims, _rename(form, swap)
    return _rename(known, swap)


def _rename(expr: sp.Expr, swap: Renaming) -> sp.Expr:
    """``expr.xreplace(swap)``, without rebuilding what the renaming leaves unchanged: a sum or
    product whose terms are only permuted by it is the same object (so sigma(b + w1 x1 + w2 x2)
    is not built and evaluated again when w1, x1 and w2, x2 swap).

    >>> x1, x2, w1, w2 = sp.symbols("x1 x2 w1 w2")
    >>> z = sp.exp(w1 * x1 + w2 * x2)
    >>> swap = {w1: w2, w2: w1, x1: x2, x2: x1}
    >>> _rename(x1 * z, swap) == (x1 * z).xreplace(swap), _rename(z, swap) is z
    (True, True)
    """
    memo: _Walked = {}

    def walk(x: sp.Expr) -> sp.Expr:
        if not x.args:
            return swap.get(x, x)
        known = memo.get(id(x))
        if known is not None:
            return known[1]
        args = [walk(a) for a in x.args]
        if all(a is b for a, b in zip(args, x.args, strict=True)) or (
            isinstance(x, sp.Add | sp.Mul) and Counter(args) == Counter(x.args)
        ):
            out = x
        else:
            out = x.func(*args)
        memo[id(x)] = (x, out)
        return out

    return walk(expr)


# --- the engine


Claim = tuple[str, sp.Expr, sp.Expr]
"""(what, claimed, reference): one independent check, run with the others at the end."""


class _Checker:
    """The independent checks of one graph, against ``sympy.diff`` of fully substituted
    expressions. Each method returns claims; :meth:`run` decides them all in one batch.

    The claims keep the node names (u, y_hat_i, ...): :func:`~symgrad.core.verify.same_all` gets
    the node definitions and decides each claim as if they were substituted (symbolically when
    that stays small, else at points where every node takes its defined value), so a network's
    claims stay small instead of growing with the network.
    """

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._fulls: dict[sp.Symbol, sp.Expr] = {}
        self._shown: dict[sp.Symbol, sp.Expr] = {}
        for n in graph.nodes:  # each node down to parameters and data, once (topological order)
            self._fulls[n.symbol] = n.expr.xreplace(self._fulls)
        # the definitions the references differentiate, with the typed arithmetic evaluated: an
        # unevaluated 1 - 1*0 (typed 1 - y at y = 0) can make SymPy's assumptions, asked in a
        # random order, raise InconsistentAssumptions inside sympy.diff
        # (a definition of names alone, a typed w1 x1 + ... + b, is taken as it is: only the
        # order of its terms would change)
        self._definitions = [(n.symbol, _evaluated(n.expr) if n.expr.atoms(sp.Number) else n.expr)
                             for n in graph.nodes]
        self._one_sample: Differentiator | None = None
        self._named: dict[sp.Expr, sp.Symbol] = {}
        self._derivatives: dict[tuple[sp.Expr, sp.Symbol], sp.Expr] = {}

    def diff(self, expr: sp.Expr, var: sp.Symbol) -> sp.Expr:
        """``sympy.diff(expr, var)``, computed once per derivation: the engine's local
        derivative of a node without symgrad's functions, its check's reference and an adjoint's
        reference can be the very same derivative (the claims compare the engine's tidied,
        renamed form with it)."""
        key = (expr, var)
        if key not in self._derivatives:
            self._derivatives[key] = sp.diff(expr, var)
        return self._derivatives[key]

    def full(self, expr: sp.Expr) -> sp.Expr:
        """``graph.full(expr)`` with the node definitions substituted once, not per call."""
        return expr.xreplace(self._fulls)

    def named(self, claims: Sequence[Claim]) -> tuple[Claim, ...]:
        """``claims`` with each node's fully substituted form written as the node (sigma of the
        31-term sum as v): :func:`~symgrad.core.verify.same_all` computes the node from its
        definition, the same value, without rewriting the long form into elementary functions
        again in every claim."""
        if not self._named:
            self._named = {e: v for v, e in self._fulls.items() if not e.is_Atom}
        return tuple((w, a.xreplace(self._named), b.xreplace(self._named)) for w, a, b in claims)

    def shown_full(self, expr: sp.Expr) -> sp.Expr:
        """``graph.full(expr)`` unevaluated (2 (w x + b - y) stays as written)."""
        if not self._shown:
            for n in self.graph.nodes:
                self._shown[n.symbol] = as_written(n.expr, self._shown)
        return as_written(expr, self._shown)

    def local(self, node_expr: sp.Expr, var: sp.Symbol, claimed: sp.Expr, what: str) -> Claim:
        """The local derivative against sympy.diff of the node's evaluated definition in
        elementary functions (for a node without symgrad's functions, the derivative the engine
        started from: the claim checks what it made of it)."""
        return (what, claimed, self.diff(elementary(node_expr.doit()), var))

    def adjoint(self, var: sp.Symbol, claimed: sp.Expr, what: str) -> Claim:
        """dL/d(var) holding var's own inputs fixed: expand only the nodes downstream of var."""
        g = self.graph
        downstream, below = [], {var}
        for symbol, expr in self._definitions:
            if symbol != var and expr.free_symbols & below:
                downstream.append((symbol, expr))
                below.add(symbol)
        reference = Differentiator(g.output, downstream, self.diff)(var)
        return (what, claimed, reference * (g.weight if g.mean_over_samples else 1))

    def gradient(
        self,
        var: sp.Symbol,
        grad: Gradient,
        what: str,
        named: sp.Expr | None = None,
        references: Sequence[sp.Expr] | None = None,
    ) -> list[Claim]:
        """The gradient against sympy.diff of the whole loss.

        For a loss over samples, L = (1/N) sum_i ell_i + penalty, so the claim
        ``scale * sum_i term_i + extra`` holds for every N and every data set exactly when
        ``scale * term_i = (1/N) d(ell_i)/d(var)`` for one generic sample i with N free and
        ``extra = d(penalty)/d(var)``: checked that way (the fully substituted ell_i is built
        once, and differentiated by SymEngine, exactly). ``named`` is ``term`` before the node
        definitions were substituted into it (``term = full(named)``), which the check reads.
        ``references`` are :meth:`references` when already known (another parameter's, renamed).
        """
        g = self.graph
        named = grad.term if named is None else named
        ref = self.references(var) if references is None else references
        if not g.mean_over_samples:
            return [(what, named + grad.extra, ref[0])]
        return [(what + " (penalty term)", grad.extra, ref[0]), (what, grad.scale * named, ref[1])]

    def references(self, var: sp.Symbol) -> list[sp.Expr]:
        """The references of :meth:`gradient`'s claims, in their order."""
        g = self.graph
        if self._one_sample is None:
            self._one_sample = Differentiator(g.output, self._definitions, self.diff)
        if not g.mean_over_samples:
            return [self._one_sample(var)]
        return [sp.diff(elementary(g.penalty), var), self._one_sample(var) * g.weight]

    def run(
        self,
        claims: list[Claim],
        progress: Callable[[float], None] | None = None,
        copies: dict[int, tuple[int, str]] | None = None,
    ) -> list[Check]:
        """Decide every claim (one batch of random points); raise on the first that fails.

        ``copies`` maps a claim to an earlier one it is literally equal to up to a renaming of
        symbols that leaves the loss unchanged, and the text saying which: it gets that claim's
        check, its ``against`` saying so."""
        copies = copies or {}
        own = [k for k in range(len(claims)) if k not in copies]
        results = same_all(
            [(claims[k][1], claims[k][2]) for k in own],
            simplex=self.graph.sum_to_one,
            definitions=[(n.symbol, n.expr) for n in self.graph.nodes],
            progress=progress,
            domain=[n.symbol for n in self.graph.nodes],  # count points where every node is real
        )
        for k, c in zip(own, results, strict=True):
            _check(c.passed, claims[k][0])
        decided = {k: replace(c, against=AGAINST) for k, c in zip(own, results, strict=True)}
        for k, (m, text) in copies.items():
            decided[k] = replace(decided[m], against=AGAINST + text)
        return [decided[k] for k in range(len(claims))]


def _plus(gradient: sp.Expr, penalty: sp.Expr) -> sp.Expr:
    """The data's part of a gradient plus the penalty's, as written: the penalty alone when the
    parameter feeds no sample (not 0 + lambda w)."""
    return penalty if gradient == 0 else sp.Add(gradient, penalty, evaluate=False)


def _check(ok: bool, what: str) -> bool:
    """``ok``, or a VerificationError naming the step ``what`` that failed its check."""
    if not ok:
        raise VerificationError(f"step {what} does not match sympy.diff: symgrad has a bug")
    return ok


#: What a long derivation reports as it goes: ``progress(stage, fraction of the work done)``.
Progress = Callable[[str, float], None]


def derive_graph(
    graph: Graph,
    wrt: Sequence[str | sp.Symbol] | None = None,
    *,
    progress: Progress | None = None,
    **meta: Any,
) -> Derivation:
    """Derive d(result)/d(param) for each parameter in ``wrt`` (default: all), step by step.

    ``wrt`` holds parameter names (or their Symbols). Returns a :class:`Derivation` whose every
    step was verified (see the module example). ``progress``, when given, is called as the work
    goes (``progress("chain rule", 0.3)``, ..., ``progress("checks", 1.0)``); drawing it is the
    caller's business (the command line draws it on stderr).
    """
    report = progress or _silent
    by_name = {str(s): s for s in graph.params}
    wrt = tuple(graph.params if wrt is None else (by_name.get(str(p), p) for p in wrt))
    for p in wrt:
        if p not in graph.params:
            names = ", ".join(str(s) for s in graph.params)
            raise OptionError(f"unknown parameter {str(p)!r}; choose from: {names}")
    check = _Checker(graph)
    tidier = _Tidier(graph)
    result_sym = graph.result_symbol
    mean = graph.mean_over_samples
    per_sample = graph.per_sample()
    steps: list[Step] = []  # checks filled in once the claims are decided
    claims: list[Claim] = []  # decided together at the end, in one batch of random points
    checked_by: dict[int, list[int]] = {}  # step index -> the indices of its claims
    copies: dict[int, tuple[int, str]] = {}  # claim index -> an earlier claim it is, renamed
    claims_of: dict[sp.Symbol, list[int]] = {}  # parameter -> the indices of its claims

    def add(kind: Kind, rules: tuple, lhs: sp.Expr, forms: tuple, *by: Claim) -> list[int]:
        """Append a step checked by the new claims ``by``; the indices of its claims."""
        checked_by[len(steps)] = list(range(len(claims), len(claims) + len(by)))
        claims.extend(by)
        steps.append(Step(kind, rules, lhs, forms, None))
        return checked_by[len(steps) - 1]

    # 1. define (first the functions recognised in typed text: 1/(1 + exp(-z)) is sigma(z))
    # over samples the data carry the index there too: sigma(w x_i + b), not sigma(w x + b)
    indexed = {s.name.removesuffix("_i"): s for s in (*graph.features, *graph.labels)} \
        if mean else {}
    for r in graph.recognized:
        per = {s: indexed[s.name] for s in r.typed.free_symbols if s.name in indexed}
        with sp.evaluate(False):  # the typed form stays as typed
            found, typed = r.found.xreplace(per), r.typed.xreplace(per)
        claim = (f"{r.name} recognised", elementary(found), typed.doit())
        add(Kind.DEFINITION, (Rule.function(f"recognised: {r.name}"),), found, (typed,), claim)
    for n in graph.nodes:
        add(Kind.DEFINITION, (Rule.DEFINITION,), n.symbol, (n.expr,))
    if mean:
        total = sp.Sum(graph.output, (i, 1, N))
        loss = total if graph.summed else sp.Mul(1 / N, total, evaluate=False)
        rule = Rule.SUM if graph.summed else Rule.MEAN_OVER_SAMPLES
        if graph.penalty != 0:  # the penalty is not part of the mean: the tag says what it is
            loss = sp.Add(loss, graph.penalty, evaluate=False)
            rule = Rule.SUM_PLUS_PENALTY if graph.summed else Rule.MEAN_PLUS_PENALTY
        add(Kind.DEFINITION, (rule,), result_sym, (loss,))
        if "l2" in meta:  # the penalty's kind and strength, as the lecture states them
            steps[-1] = replace(steps[-1], note=f" (L2, λ = {meta['l2']:g})")

    # 2. differentiate locally
    local: dict[tuple[sp.Symbol, sp.Symbol], sp.Expr] = {}
    for k, n in enumerate(graph.nodes):
        report("local derivatives", _SHARE[0] * k / len(graph.nodes))
        budget.check()
        for s in graph.inputs(n):
            d = tidy(in_named_terms(n.local(s, check.diff), graph), graph)
            claim = check.local(n.expr, s, d, f"d{n.symbol}/d{s}")
            add(Kind.LOCAL, as_rules(rule_name(n.expr, s)), Partial(n.symbol, s), (d,), claim)
            steps[-1] = replace(steps[-1], note=_convention(n.expr))
            local[(n.symbol, s)] = d

    renamed = _renamings(graph, wrt, local)

    # 3. multiply along the chain, from the output back
    adjoint: dict[sp.Symbol, sp.Expr] = {graph.output: graph.weight if mean else sp.S.One}
    if mean:
        claim = check.adjoint(graph.output, graph.weight, f"dL/d{graph.output}")
        rules = (Rule.SUM,) if graph.summed else (Rule.CONSTANT_MULTIPLE, Rule.SUM)
        add(Kind.CHAIN, rules, Partial(result_sym, graph.output), (graph.weight,), claim)

    def paths(users: list, var: sp.Symbol) -> list:
        """The users of ``var`` the chain goes through: not one whose local derivative is 0
        (var only in a where()'s condition), unless none is left."""
        return [c for c in users if local[(c.symbol, var)] != 0] or users

    def chain_terms(users: list, var: sp.Symbol) -> tuple[sp.Expr, list[sp.Expr]]:
        """sum_c dL/dc dc/dvar over :func:`paths`, symbolically and with values (dropping a
        factor dj/dj = 1)."""
        symbolic, values = [], []
        for c in paths(users, var):
            if c.symbol == result_sym:
                symbolic.append(Partial(c.symbol, var))
                values.append(local[(c.symbol, var)])
                continue
            symbolic.append(
                sp.Mul(Partial(result_sym, c.symbol), Partial(c.symbol, var), evaluate=False)
            )
            factor = local[(c.symbol, var)]
            product = sp.Mul(adjoint[c.symbol], factor, evaluate=False)
            values.append(adjoint[c.symbol] if factor == 1 else product)
        return sp.Add(*symbolic, evaluate=False), values

    for k, n in enumerate(reversed(graph.nodes[:-1])):
        report("chain rule", _SHARE[0] + _SHARE[1] * k / len(graph.nodes))
        budget.check()
        users = graph.consumers(n.symbol)
        symbolic, values = chain_terms(users, n.symbol)
        product = sp.Add(*values, evaluate=False)
        result = tidier(sp.Add(*[adjoint[c.symbol] * local[(c.symbol, n.symbol)] for c in users]))
        claim = check.adjoint(n.symbol, result, f"d{result_sym}/d{n.symbol}")
        rules = (_chain_rule(paths(users, n.symbol)),)
        lhs = Partial(result_sym, n.symbol)
        if _cancels(values, result, graph):  # show the product, then what cancels out of it
            one_hot = graph.sum_to_one and len(users) > 1
            rules += (Rule.ONE_HOT_CANCELLATION if one_hot else Rule.CANCELLATION,)
            forms = (*_distinct((symbolic,), lhs), product, result)
        else:
            forms = _distinct((symbolic, product, result), lhs)
        add(Kind.CHAIN, rules, lhs, forms, claim)
        adjoint[n.symbol] = result

    # 3b. parameters (summed over samples when they feed every sample), then 4. substitute back
    gradients: dict[str, Gradient] = {}
    for k, p in enumerate(wrt):
        report("gradients", sum(_SHARE[:2]) + _SHARE[2] * k / max(1, len(wrt)))
        users = graph.consumers(p)
        per_term = sp.Add(*[adjoint[c.symbol] * local[(c.symbol, p)] for c in users])
        extra = sp.diff(graph.penalty, p)
        symbolic, value_terms = chain_terms(users, p)
        values = sp.Add(*value_terms, evaluate=False)
        p0, swap = renamed.get(p, (None, None))
        per_term = tidier(per_term, swap)
        if mean:
            scale, term_named = per_term.as_independent(*per_sample, as_Add=False)
            if term_named.has(N):
                # tidy() can leave the 1/N inside a sum or a Piecewise (a ReLU unit), where
                # as_independent does not reach it; every chain term is (1/N) * (dell_i/dparam),
                # so the per-sample term is the N = 1 value (the gradient check confirms it)
                scale, term_named = scale / N, term_named.xreplace({N: sp.S.One})
            if not users:  # feeds no sample (penalty only); mean(a) feeds each sample alike
                scale, term_named = sp.S.Zero, sp.S.Zero
            shown = [sp.Sum(symbolic, (i, 1, N)), sp.Sum(values, (i, 1, N))]
            named = sample_sum(per_term, per_sample)
            rules: tuple[Rule, ...] = (Rule.CHAIN, Rule.SUM_OVER_SAMPLES)
        else:
            scale, term_named = sp.S.One, per_term
            shown, named = [symbolic, values], per_term
            rules = (_chain_rule(paths(users, p)),)
        if extra != 0:
            named = _plus(named, extra)
            by_penalty = sp.Derivative(graph.penalty, p)
            if users:
                shown = [sp.Add(f, by_penalty, evaluate=False) for f in shown]
                rules += (Rule.PENALTY,)
            else:  # in the penalty alone: no chain through the samples to show
                shown, rules = [by_penalty], (Rule.PENALTY,)
        term = check.full(term_named)
        # factors may cancel only once names are substituted (sigma(z)(1 - sigma(z)) / (1 - v))
        grad_named_sub = tidier.substituted(term_named, swap)
        sub_rules, sub_claims, grad_named_sub = tidier.compact(
            grad_named_sub, Rule.SUBSTITUTE_BACK, f"d{result_sym}/d{p} (substituted)", swap)
        display_sub = sample_sum(scale * grad_named_sub, per_sample) if mean else grad_named_sub
        full_rules, full_claims, compact = tidier.compact(
            term, Rule.SUBSTITUTE_FULLY, f"d{result_sym}/d{p} (substituted fully)", swap)
        # the shorter form when one was found, else as written: 2 (w x + b - y), not
        # 2 w x + 2 b - 2 y (built only then: an unevaluated copy of a long form costs)
        shown_full = compact if full_claims else check.shown_full(term_named)
        display_full = sample_sum(scale * shown_full, per_sample) if mean else shown_full
        if extra != 0:
            display_sub, display_full = _plus(display_sub, extra), _plus(display_full, extra)
        grad = Gradient(p, display_sub, display_full, scale, term, extra)
        # the gradient's claims check the value every form of it displays (the substitutions
        # rewrite the checked term by node definitions): its steps share them
        lhs = Partial(result_sym, p)
        first = len(claims)
        references = None if p0 is None else [_Later(claims[m][2], swap) for m in claims_of[p0]]
        by = check.gradient(p, grad, f"d{result_sym}/d{p}", term_named, references)
        ids = add(Kind.CHAIN, rules, lhs, _distinct((*shown, named), lhs), *by)
        if display_sub != named:
            more = add(Kind.SUBSTITUTION, sub_rules, lhs, (display_sub,), *check.named(sub_claims))
            checked_by[len(steps) - 1] = ids + more
        if display_full != display_sub:
            more = add(Kind.SUBSTITUTION, full_rules, lhs, (display_full,),
                       *check.named(full_claims))
            checked_by[len(steps) - 1] = ids + more
        gradients[str(p)] = grad
        claims_of[p] = list(range(first, len(claims)))
        if p0 is not None:
            found = _copies(claims, claims_of[p0], claims_of[p], swap, p0,
                            tidier.walked(swap))
            copies.update(found)
            for k in set(claims_of[p]) - set(found):  # decided on their own: the reference
                what, claimed, reference = claims[k]
                if isinstance(reference, _Later):
                    claims[k] = (what, claimed, reference.value())
    done = sum(_SHARE[:3])
    checks = check.run(claims, lambda f: report("checks", done + (1 - done) * f), copies)
    checked = [
        replace(s, check=combined([checks[k] for k in checked_by[n]])) if checked_by[n] else s
        for n, s in enumerate(steps)
    ]
    return Derivation(graph, tuple(checked), gradients, meta.pop("title", ""), meta)


@dataclass(frozen=True)
class _Later:
    """The reference ``of`` renamed by ``swap``, made only if a claim needs it (a claim that is
    a copy of another is decided with it and never evaluates its reference)."""

    of: sp.Expr
    swap: Renaming = field(hash=False)

    def value(self) -> sp.Expr:
        """Renamed as it is (not evaluated again: a reference from SymEngine is in canonical
        form already, and evaluating it again costs more than differentiating)."""
        with sp.evaluate(False):
            return self.of.xreplace(self.swap)


def _copies(
    claims: Sequence[Claim],
    before: list[int],
    now: list[int],
    swap: Renaming,
    p0: sp.Symbol,
    shapes: _Walked | None = None,
) -> dict[int, tuple[int, str]]:
    """The claims ``now`` that are the claims ``before`` (of ``p0``) renamed by ``swap``, both
    sides literally, with the text their checks carry (see :meth:`_Checker.run`); ``shapes``
    holds what earlier walks under ``swap`` found (see :func:`_shape`)."""
    if len(before) != len(now):
        return {}
    pairs = sorted({tuple(sorted((str(a), str(b)))) for a, b in swap.items()})
    text = (f" (as the step for {p0}, renamed {', '.join(f'{a} ↔ {b}' for a, b in pairs)}: "
            "the loss is unchanged by the renaming)")
    out = {}
    for m, k in zip(before, now, strict=True):
        _, a, b = claims[m]
        claimed, reference = claims[k][1:]
        made = isinstance(reference, _Later) and reference.of is b and reference.swap == swap
        if _shape(claimed) == _shape(a, swap, shapes) and (
                made or _shape(reference) == _shape(b, swap, shapes)):
            out[k] = (m, text)
    return out


def _compact(
    expr: sp.Expr,
    graph: Graph,
    rule: Rule,
    what: str,
    tidy_: Callable[[sp.Expr], sp.Expr] | None = None,
) -> tuple[tuple[Rule, ...], tuple[Claim, ...], sp.Expr]:
    """A substitution step's rules, claims and form: ``expr``, or its :func:`tidy` form when
    that is shorter (a claim checks it; "cancellation" when a factor of the denominator went).
    ``tidy_`` is the tidy to use (a remembering one), :func:`tidy` by default."""
    tidied = tidy(expr, graph) if tidy_ is None else tidy_(expr)
    compact = orient(tidied, {n.symbol for n in graph.nodes} | set(graph.params))
    if compact == expr or _ops(compact) >= _ops(expr):
        return (rule,), (), expr
    rules = (rule, Rule.CANCELLATION) if _really_cancels(expr, compact) else (rule,)
    return rules, ((what, compact, expr),), compact


def _ops(expr: sp.Expr) -> int:
    """``sympy.count_ops(expr)``, each long function value (sigma of a 31-term sum, held as in
    :func:`tidy`) counted once and remembered: count_ops counts a function value alike wherever
    it stands (one operation plus its argument's) and a symbol as none, so this is the count
    of the form with the values held, plus each value's count times its occurrences (``exp``
    excepted: count_ops reads exp(-a) as a division).

    >>> x, y = sp.symbols("x y")
    >>> from symgrad.core.functions import sigmoid
    >>> v = sigmoid(sp.Add(*sp.symbols("a:30")) + x)
    >>> e = x * (1 - v) * v * (-y / v + (1 - y) / (1 - v))
    >>> _ops(e) == sp.count_ops(e)
    True
    """
    hold = {f: h for f, h in _held(expr.atoms(sp.Function)).items() if not isinstance(f, sp.exp)}
    if not hold:
        return sp.count_ops(expr)
    work = expr.xreplace(hold)
    seen = Counter(s for s in sp.preorder_traversal(work) if s in hold.values())
    return sp.count_ops(work) + sum(seen[h] * _value_ops(f) for f, h in hold.items())


@functools.lru_cache(maxsize=1024)
def _value_ops(f: sp.Expr) -> int:
    """``sympy.count_ops`` of one held function value, remembered."""
    return sp.count_ops(f)


def _convention(expr: sp.Expr) -> str:
    """The kink conventions of the functions in ``expr``, as a step's note ('' when none)."""
    from symgrad.core.recognize import CONVENTIONS

    found = [text for cls, text in CONVENTIONS.items() if expr.has(cls)]
    return "".join(f"; {text}" for text in found)


def _really_cancels(before: sp.Expr, after: sp.Expr) -> bool:
    """True when a factor of a denominator in ``before`` is in no denominator of ``after``.

    >>> v, q, y = sp.symbols("v q y", real=True)
    >>> _really_cancels(sp.Mul((v - y) / (v * (1 - v)), v * (1 - v), evaluate=False), v - y)
    True
    >>> _really_cancels(v * (1 - v) * ((1 - y) / q - y / v), v * (1 - v) * ((1 - y) / q - y / v))
    False
    """
    if not _below(after):  # no fraction left: whatever denominator ``before`` had cancelled
        return _below(before)
    # a function value of a long argument holding no power (see tidy) is one generator to
    # factor, held as a symbol: factor would otherwise walk and print its argument each time
    hold = _held(before.atoms(sp.Function) | after.atoms(sp.Function))
    back = {v: f for f, v in hold.items()}

    def factors(e: sp.Expr) -> set[sp.Expr]:
        out: set[sp.Expr] = set()
        for p in sp.preorder_traversal(e.xreplace(hold)):
            if isinstance(p, sp.Pow) and p.exp.is_negative:
                out |= {f for f in sp.Mul.make_args(sp.factor(p.base)) if not f.is_number}
        return {sp.expand(f.xreplace(back)) for f in out}

    return bool(factors(before) - factors(after))


def _below(expr: sp.Expr) -> bool:
    """Whether ``expr`` divides by something that is not a number (then that divisor has a
    factor that is not a number).

    >>> v, y = sp.symbols("v y")
    >>> _below(v / (1 - y)), _below((v - y) / 2), _below(v * sp.exp(-y))
    (True, False, False)
    """
    return any(isinstance(p, sp.Pow) and p.exp.is_negative and not p.base.is_number
               for p in sp.preorder_traversal(expr))


def _held(functions: set[sp.Expr]) -> dict[sp.Expr, sp.Dummy]:
    """A symbol for each of ``functions`` whose argument is long and irreducible (a unit's
    weighted sum): ``cancel`` and ``factor`` see such a value as one generator anyway."""
    held = sorted((f for f in functions if _long(f) and _irreducible(f)), key=_shape)
    return {f: sp.Dummy(f"f{k}") for k, f in enumerate(held)}


#: The shares of the work (measured on networks) of the local derivatives, the chain rule and the
#: gradients; the checks take the rest.
_SHARE = (0.05, 0.06, 0.62)  # 8-16-1 and 4-8-4-1, session 4: 0.2, 0.2, 2.3 of 3.7 s


def _silent(stage: str, fraction: float) -> None:
    """No progress shown."""


def _chain_rule(users: Sequence) -> Rule:
    """The chain rule, or its multivariable form when a quantity feeds several nodes."""
    return Rule.CHAIN if len(users) == 1 else Rule.MULTIVARIABLE_CHAIN


def _cancels(factors: Sequence[sp.Expr], result: sp.Expr, graph: Graph) -> bool:
    """True when a factor of a denominator of the factors is gone from the result: it cancelled
    (not when the result merely looks different)."""
    return _really_cancels(sp.Mul(*factors, evaluate=False), result)


def _evaluated(e: sp.Expr) -> sp.Expr:
    """``e`` with its unevaluated products and sums evaluated (a sum over samples stays a sum)."""
    if e.is_Atom or isinstance(e, Partial):
        return e
    if isinstance(e, sp.Sum):
        return sp.Sum(_evaluated(e.function), *e.limits)
    return e.func(*[_evaluated(a) for a in e.args])


def _distinct(forms: Sequence[sp.Expr], lhs: sp.Expr) -> tuple[sp.Expr, ...]:
    """Drop right-hand sides equal, once evaluated, to the one before (or to the left-hand side)."""
    out: list[sp.Expr] = []
    for f in forms:
        if not out:
            if _evaluated(f) != _evaluated(lhs):
                out.append(f)
        elif _evaluated(f) == _evaluated(out[-1]):
            out[-1] = f  # keep the later, tidier form
        else:
            out.append(f)
    return tuple(out)


def derive(
    loss: str,
    model: str = "linear",
    *,
    features: int = 1,
    classes: int = 3,
    l2: float | None = None,
    wrt: Sequence[str | sp.Symbol] | None = None,
    delta: float | None = None,
) -> Derivation:
    """Derive the gradient of a catalogue loss step by step (see :mod:`symgrad.core.catalogue`);
    ``delta`` is huber's (1 when None).

    >>> d = derive("mse", "linear")
    >>> print(d.gradients["w"].named)
    (2/N)*Sum(x_i*(-y_i + yhat_i), (i, 1, N))
    >>> from symgrad.render.text import expr_text
    >>> expr_text(d.gradients["b"].named)
    '(2/N)·Σᵢ (ŷᵢ − yᵢ)'
    """
    from symgrad.core.catalogue import model_graph

    graph = model_graph(loss, model, features=features, classes=classes, l2=l2, delta=delta)
    names = {str(p): p for p in graph.params}
    wrt = None if wrt is None else [str(n) for n in wrt]
    if wrt is not None:
        for name in wrt:
            if name not in names:
                raise OptionError(f"unknown parameter {name!r}; choose from: {', '.join(names)}")
    chosen = None if wrt is None else [names[n] for n in wrt]
    meta: dict[str, Any] = {"loss": loss, "model": model}
    if features != 1:
        meta["features"] = features
    if loss == "cross_entropy":
        meta["classes"] = classes
    if l2 is not None:
        meta["l2"] = l2
    if delta is not None:
        meta["delta"] = delta
    title = f"Gradient of the {display_name(loss)} with the {model} model"
    if l2 is not None:
        title += f" and an L2 penalty (λ = {l2:g})"
    return derive_graph(graph, chosen, title=title, **meta)


def derive_expr(
    expr: str | sp.Expr,
    wrt: Sequence[str | sp.Symbol] | None = None,
    *,
    shapes: str | dict | None = None,
) -> Derivation | MatrixDerivation:
    """Derive a typed expression step by step through its computational graph (u, v, ..., j).

    The text goes through the safe parser (:func:`symgrad.core.parse.parse`), never ``eval``.
    With ``shapes`` (``"X: N x d, w: d, y: N"``) the text is a vector and matrix expression,
    derived by :func:`symgrad.core.matrix_derive.derive_matrix`.

    >>> d = derive_expr("3*(a + b*c)")
    >>> [str(s.lhs) + " = " + str(s.result) for s in d.steps if s.kind is Kind.DEFINITION]
    ['u = b*c', 'v = a + u', 'j = 3*v']
    >>> {name: g.named for name, g in d.gradients.items()}
    {'a': 3, 'b': 3*c, 'c': 3*b}
    >>> print(derive_expr("sum((X*w - y)^2)/N", "w", shapes="X: N x d, w: d, y: N")
    ...       .gradients["w"].expanded)
    (2/N)·Xᵀ(Xw − y)
    """
    if shapes is not None:  # a matrix expression with declared shapes
        from symgrad.core.matrix_derive import derive_matrix

        return derive_matrix(str(expr), shapes, wrt)
    from symgrad.core.definitions import typed_graph

    text = expr if isinstance(expr, str) else str(expr)
    if isinstance(expr, str):
        graph = typed_graph(expr, wrt)
    else:
        from symgrad.core.graph import expression_graph

        graph = expression_graph(expr)
    names = {str(p): p for p in graph.params}
    if not names:
        raise OptionError(f"{text!r} has no variables to differentiate by")
    if graph.mean_over_samples and wrt is None:
        raise OptionError("a loss over samples needs wrt: the parameters (the other names are "
                          "data)", option="wrt")
    wrt = None if wrt is None else [str(n) for n in wrt]
    for name in wrt or ():
        if name not in names:
            raise OptionError(f"unknown variable {name!r}; choose from: {', '.join(names)}")
    chosen = None if wrt is None else [names[n] for n in wrt]
    title = f"Gradient of {text}" if "\n" not in text else "Gradient of the typed definitions"
    return derive_graph(graph, chosen, title=title, expr=text)

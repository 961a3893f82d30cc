r"""Check a student's answer: equivalent or not, the named mistake, and where it departs.

A *problem* is a catalogue gradient (``mse`` with ``linear``, ``bce`` with ``logistic``, ...) or
a typed function (``--expr``), and one parameter ``wrt``. The *answer* is typed text, parsed by
the safe parser (:func:`symgrad.core.parse.parse`, never ``eval``), in one of three forms:

* the gradient dL/dw (default). For a loss over samples, write the sum over samples as
  ``sum(expr)`` or ``sum(expr, i)`` (index ``i`` from 1 to ``N``, the sample count). Per-sample
  names may be written ``x_i``, ``y_i``, ``yhat_i`` (``y_hat_i``), ``z_i``, ``u_i`` or plainly
  ``x``, ``y``, ``yhat``, ``z``, ``u``; with k features ``x_i1`` or ``x1``. Outside a sum they
  mean one sample i, which is how a formula without the sum is recognised (``missing_sum``);
* ``per_sample=True`` (``--per-sample``): the gradient of one sample's loss, ∂ℓᵢ/∂w, so that
  dL/dw = (1/N) Σᵢ answer (+ the derivative of an L2 penalty, which the answer leaves out);
* ``update=True`` (``--update``): the gradient-descent step, the new value of w, e.g.
  ``w - lr*(2/N)*sum((w*x + b - y)*x)``; the learning rate is ``lr`` (or ``eta``, ``alpha``,
  ``learning_rate``), and ``w`` or ``w_old`` is the current value.

**Decision.** :func:`symgrad.core.verify.equivalent` decides, with every node written out down
to the parameters and data: ``symbolic`` when it proves the two equal for every sample count N
(sums kept symbolic), otherwise ``random points``: equal at 24 or more points in both domains,
over N = 1, 2, 3, 4, 5, 7, 10, 50, 1000 and random counts, values of both signs and magnitudes
1e-3 to 1e3, beside every kink, compared at 60+ digits within 1e-20 (so a constant offset of
1e-13 is caught).

**Diagnosis.** When the answer is wrong, it is compared with variants of the correct derivation,
each *built by a transformation* of the chain rule (a local derivative replaced, the 1/N or the
sum dropped, the result negated, ...), never typed in; combinations of up to one transformation
per kind are tried, fewest mistakes first. The names, in :data:`MISTAKES`:

``missing_1_over_N``
    the mean's 1/N is dropped (Σᵢ instead of (1/N) Σᵢ)
``missing_sum``
    the sum over samples is dropped: a formula for one sample i. Together with
    ``missing_1_over_N`` this is the lecture's dL/dw = 2u·xᵢ (the gradient of one sample's loss)
``missing_chain_factor``
    an inner local derivative of the chain rule is dropped (xᵢ, σ'(z), ...)
``sign``
    the whole gradient has the wrong sign (yᵢ − ŷᵢ for ŷᵢ − yᵢ, ...)
``factor_2``
    off by a factor 2: halved (the power rule's 2 dropped) or doubled
``sigma_prime_as_sigma``, ``tanh_prime_as_tanh``, ``relu_prime_as_relu``, ...
    a function's derivative written wrongly: each function's record in the function registry
    (:data:`symgrad.core.functions.FUNCTIONS`) lists its known wrong derivatives, listed at the
    end of this docstring
``bce_derivative_as_sigma_prime``
    the derivative of the BCE loss written as ŷ(1 − ŷ): as ∂ℓ/∂ŷ, or as ∂ℓ/∂z
``sigma_prime_twice``
    σ'(z) = ŷ(1 − ŷ) multiplied in again after the cancellation ∂ℓ/∂z = ŷ − y
``missing_y``
    the residual written without its label (ŷᵢ for ŷᵢ − yᵢ): the lecture's garbled dL/db
``wrong_variable``
    the gradient with respect to another variable (∂L/∂b, ∂L/∂xᵢ for ∂L/∂w)
``missing_penalty``
    the L2 penalty's 2λw is left out
``update_sign``
    the update adds the gradient: w + η ∂L/∂w (``update=True``)
``missing_learning_rate``
    the update subtracts the bare gradient: w − ∂L/∂w (the lecture's first slide)

The result names the first step of the correct derivation where the answer departs (the step
the matched transformation changes) and keeps the steps up to it.

>>> r = check_answer("2*u*x_i", "mse", "linear", wrt="w")  # the lecture's dL/dw
>>> r.correct, r.mistakes
(False, ('missing_1_over_N', 'missing_sum'))
>>> r.expected_text
'∂L/∂w = (2/N)·Σᵢ (ŷᵢ − yᵢ)·xᵢ'
>>> check_answer("(2/N)*sum((w*x + b - y)*x)", "mse", wrt="w").correct
True
>>> check_answer("2*u*x", "mse", wrt="w", per_sample=True).correct
True
>>> check_answer("(w*x + b - y)*x", expr="(w*x + b - y)^2", wrt="w").mistakes
('factor_2',)
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import mpmath
import sympy as sp

from symgrad.core import budget
from symgrad.core.definitions import split_definitions, typed_graph
from symgrad.core.derive import (
    Derivation,
    Partial,
    Step,
    derive,
    derive_graph,
    in_named_terms,
    tidy,
)
from symgrad.core.errors import OptionError, SymgradError, VerificationError
from symgrad.core.functions import FUNCTIONS, by_class, elementary, sigmoid
from symgrad.core.graph import Graph, N, as_written, i
from symgrad.core.notebook import preformatted
from symgrad.core.parse import parse
from symgrad.core.steps import Kind
from symgrad.core.verify import Decision, close, equivalent, value
from symgrad.render import rule_text
from symgrad.render.latex import expr_latex
from symgrad.render.text import expr_text

#: The learning rate of an update answer (typed lr, eta, alpha or learning_rate; printed η).
LR = sp.Symbol("eta", positive=True)
_LR_NAMES = ("lr", "eta", "alpha", "learning_rate")

#: Every mistake name, with the feedback sentence that explains it.
MISTAKES: dict[str, str] = {
    "missing_1_over_N": "L is the mean (1/N)·Σᵢ ℓᵢ, so ∂L/∂ℓᵢ = 1/N: the 1/N stays in front.",
    "missing_sum": "The parameter is shared by all N samples, so ∂L/∂{p} adds up (Σᵢ) the "
    "contribution of every sample; a formula in one sample's xᵢ, yᵢ is the gradient of that "
    "sample's loss ℓᵢ alone.",
    "missing_chain_factor": "A factor of the chain rule is missing: {detail}.",
    "sign": "The sign is wrong: check ŷᵢ − yᵢ against yᵢ − ŷᵢ and any minus in front of the loss.",
    "factor_2": "{detail}",
    # the wrong derivatives of functions, from the function registry
    **{m.name: m.hint for record in FUNCTIONS.values() for m in record.mistakes},
    "bce_derivative_as_sigma_prime": "The product ŷ·(1 − ŷ) is the derivative of the sigmoid, "
    "not of the BCE loss: ∂ℓ/∂ŷ = (ŷ − y)/(ŷ·(1 − ŷ)), and the two multiply to ∂ℓ/∂z = ŷ − y.",
    "sigma_prime_twice": "The factor σ'(z) = ŷ·(1 − ŷ) is already inside the cancellation "
    "∂ℓ/∂z = ŷ − y: it is multiplied in twice.",
    "missing_y": "The residual is ŷᵢ − yᵢ: the − yᵢ is missing.",
    "wrong_variable": "{detail}",
    "missing_penalty": "The L2 penalty λ·Σ w² adds its own derivative ({detail}) to the gradient.",
    "update_sign": "Gradient descent steps against the gradient: {p}_new = {p} − η·∂L/∂{p}.",
    "missing_learning_rate": "The step is scaled by the learning rate: {p} − η·∂L/∂{p}, not "
    "{p} − ∂L/∂{p}.",
}


class AnswerError(SymgradError):
    """An answer that parses but cannot be checked (unknown symbols, a sum where none belongs)."""


@dataclass(frozen=True)
class Problem:
    """What is differentiated: the graph, the parameter, and the form the answer takes."""

    derivation: Derivation
    wrt: sp.Symbol
    per_sample: bool = False
    update: bool = False

    @property
    def graph(self) -> Graph:
        return self.derivation.graph


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one answer.

    ``mistakes`` are names from :data:`MISTAKES` (empty when correct or not recognised);
    ``steps`` are the correct derivation's steps up to and including ``departs_at`` (the index
    of the first step the answer departs from, None when correct or not located); ``method`` says
    how equality was decided (``symbolic`` or ``random points``).
    """

    correct: bool
    mistakes: tuple[str, ...]
    answer: sp.Expr
    expected: sp.Expr
    expected_text: str
    expected_latex: str
    feedback: str
    problem: Problem
    steps: tuple[Step, ...] = ()
    departs_at: int | None = None
    method: str = ""
    details: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract: ``correct``, ``mistakes``, ``expected`` {latex, text}, ``feedback``,
        plus ``answer`` {latex, text}, ``method``, ``departs_at`` and ``steps`` [{kind, rule,
        latex, text}] (the derivation up to the departing step)."""
        from symgrad.render.latex import step_latex
        from symgrad.render.text import step_text

        late = frozenset(self.problem.graph.features)
        return {
            "correct": self.correct,
            "mistakes": list(self.mistakes),
            "expected": {"latex": self.expected_latex, "text": self.expected_text},
            "feedback": self.feedback,
            "answer": {
                "latex": expr_latex(self.answer, late),
                "text": expr_text(self.answer, late),
            },
            "method": self.method,
            "departs_at": self.departs_at,
            "steps": [
                {
                    "kind": s.kind.value,
                    "rule": rule_text(s),
                    "latex": step_latex(s, late),
                    "text": step_text(s, late),
                }
                for s in self.steps
            ],
        }

    def _repr_html_(self) -> str:
        """Jupyter shows the command line's report under a title with the verdict.

        >>> r = check_answer("-(2/N)*sum((yhat - y)*x)", "mse", wrt="w")
        >>> "<strong>Check of your answer: not correct</strong>" in r._repr_html_()
        True
        """
        verdict = "correct" if self.correct else "not correct"
        return preformatted(f"Check of your answer: {verdict}", str(self))

    def __str__(self) -> str:
        from symgrad.render import SECTIONS
        from symgrad.render.text import step_text

        late = frozenset(self.problem.graph.features)
        answer = expr_text(self.answer, late)
        if self.correct:
            how = "symbolically" if self.method == "symbolic" else "at random points"
            return f"Correct: {self.expected_text}  (checked {how})"
        lines = [f"Not correct: {answer}"]
        if self.mistakes:
            lines.append("Mistakes: " + ", ".join(self.mistakes))
        lines += ["", self.feedback, "", f"Expected: {self.expected_text}"]
        if self.steps:
            if self.departs_at is not None:
                where = "up to the step where your answer departs"
            elif self.mistakes:
                where = "(your gradient is right: the answer departs in the update after it)"
            else:
                where = "(the answer departs from it somewhere: compare step by step)"
            lines += ["", f"The correct derivation {where}:"]
            kind = None
            for k, s in enumerate(self.steps):
                if s.kind != kind:
                    kind = s.kind
                    lines.append(f"  {SECTIONS[kind]}:")
                mark = "   <-- your answer departs here" if k == self.departs_at else ""
                lines.append("    " + step_text(s, late) + mark)
        return "\n".join(lines)


# --- the problem ------------------------------------------------------------------------------


def problem(
    loss: str | None = None,
    model: str = "linear",
    *,
    expr: str | None = None,
    wrt: str,
    features: int = 1,
    classes: int = 3,
    l2: float | None = None,
    per_sample: bool = False,
    update: bool = False,
) -> Problem:
    """The derivation to check against: a catalogue loss or a typed expression (not both)."""
    if (loss is None) == (expr is None):
        raise OptionError("give a catalogue loss (mse, bce, cross_entropy) or an expression")
    if expr is not None:
        graph = typed_graph(expr)  # one expression, or the user's own definitions
        names = {str(p): p for p in graph.params}
        if wrt not in names:
            raise OptionError(f"unknown variable {wrt!r}; choose from: {', '.join(names)}")
        if per_sample:
            raise OptionError(
                "per_sample=True applies to catalogue losses over samples, not to expr",
                option="per_sample",
            )
        named = len(split_definitions(expr)) > 1 or "=" in expr
        d = derive_graph(graph, [names[wrt]], title=f"Gradient of {expr}", expr=expr, named=named)
    else:
        d = derive(loss, model, features=features, classes=classes, l2=l2, wrt=[wrt])
    return Problem(d, d.gradients[wrt].wrt, per_sample, update)


# --- reading the answer -------------------------------------------------------------------------


def answer_names(p: Problem) -> dict[str, sp.Symbol]:
    """Typed name -> the problem's symbol (per-sample names also without ``_i``).

    >>> sorted(answer_names(problem("mse", wrt="w")))[:6]
    ['N', 'b', 'b_old', 'ell', 'ell_i', 'n']
    """
    g = p.graph
    out: dict[str, sp.Symbol] = {}
    # the nodes' names: a catalogue's, or the user's own definitions (not u, v of --expr)
    named = g.mean_over_samples or p.derivation.meta.get("named")
    nodes = [n.symbol for n in g.nodes] if named else []
    for s in (*g.params, *g.data, *nodes, *g.penalty.free_symbols):
        name = str(s)
        out.setdefault(name, s)
        m = re.fullmatch(r"([A-Za-z]+)_i(\d*)", name)
        if m and g.mean_over_samples:
            out.setdefault(m.group(1) + m.group(2), s)
    for s in g.params:
        out.setdefault(f"{s}_old", s)
    if g.mean_over_samples:
        out.setdefault("N", N)
        out.setdefault("n", N)  # (1/n) sum(...), as some slides write it
    if p.update:
        for name in _LR_NAMES:
            out.setdefault(name, LR)
    return out


def read_answer(text: str, p: Problem, *, evaluate: bool = True) -> sp.Expr:
    """The answer in the problem's symbols; AnswerError names unknown symbols.

    ``evaluate=False`` keeps the structure as typed, for showing the answer back.

    >>> p = problem("mse", wrt="w")
    >>> read_answer("2*(y_hat - y)*x", p)
    x_i*(-2*y_i + 2*yhat_i)
    >>> try:
    ...     read_answer("2*(v - y)*x", p)
    ... except AnswerError as e:
    ...     print(e)  # doctest: +ELLIPSIS
    unknown symbol in the answer: v; use b, u_i (or u), w, x_i (or x), ...
    """
    expr = parse(text, sums=True, evaluate=evaluate)
    if expr.has(sp.Sum) and not p.graph.mean_over_samples:
        raise AnswerError("sum(...) is for losses over samples; this problem has none")
    names = answer_names(p)
    free = expr.free_symbols
    unknown = sorted({str(s) for s in free if str(s) not in names and s not in (N, i)}, key=str)
    if N in free and "N" not in names:
        unknown.append("N")
    if unknown:
        shown = []
        for name, s in names.items():
            base = str(s)
            if name == base and s not in (N,) and not str(s).startswith("ell"):
                short = [k for k, v in names.items() if v == s and k != base and "_old" not in k]
                shown.append(f"{base} (or {short[0]})" if short else base)
        plural = "s" if len(unknown) > 1 else ""
        raise AnswerError(
            f"unknown symbol{plural} in the answer: {', '.join(unknown)}; use "
            f"{', '.join(sorted(shown)[:8])}{', ...' if len(shown) > 8 else ''}"
        )
    if expr.has(sp.Sum) and p.per_sample:
        raise AnswerError("with per_sample=True give the term of one sample i, without sum(...)",
                          option="per_sample")
    mapping = {s: names[str(s)] for s in expr.free_symbols if str(s) in names}
    return expr.xreplace(mapping) if evaluate else as_written(expr, mapping)


# --- candidates: the correct gradient and its transformations --------------------------------


@dataclass(frozen=True)
class _Term:
    """A per-sample term (dℓᵢ/dp in full), the mistakes that made it, and where they depart."""

    value: sp.Expr
    mistakes: tuple[str, ...] = ()
    departs: int | None = None
    detail: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Candidate:
    term: _Term
    mean: bool = True  # the 1/N
    summed: bool = True  # the sum over samples
    scale: sp.Rational = sp.S.One
    penalty: bool = True
    update: str = ""  # "", "sign", "lr", "sign+lr"

    @property
    def mistakes(self) -> tuple[str, ...]:
        names = list(self.term.mistakes)
        names += [] if self.mean else ["missing_1_over_N"]
        names += [] if self.summed else ["missing_sum"]
        names += ["sign"] if self.scale < 0 else []
        names += ["factor_2"] if abs(self.scale) != 1 else []
        names += [] if self.penalty else ["missing_penalty"]
        names += ["update_sign"] if "sign" in self.update else []
        names += ["missing_learning_rate"] if "lr" in self.update else []
        return tuple(names)


def _backprop(
    g: Graph,
    local: dict[tuple[sp.Symbol, sp.Symbol], sp.Expr] | None = None,
    adjoint: dict[sp.Symbol, sp.Expr] | None = None,
) -> dict[sp.Symbol, sp.Expr]:
    """d(output)/d(every symbol) for one sample, in node names, with some local derivatives or
    adjoints replaced (the transformations that make a mistake)."""
    local, adjoint = local or {}, adjoint or {}
    adj: dict[sp.Symbol, sp.Expr] = {g.output: sp.S.One}
    for n in reversed(g.nodes):
        a = adjoint.get(n.symbol, adj.get(n.symbol, sp.S.Zero))
        if a == 0:
            continue
        for s in sorted(n.expr.free_symbols, key=str):
            d = local.get((n.symbol, s))
            d = sp.diff(n.expr, s) if d is None else d
            adj[s] = adj.get(s, sp.S.Zero) + a * d
    return adj


_BY_CLASS = by_class()


def _activation_mistakes(n_expr: sp.Expr) -> list[tuple[str, Callable[..., sp.Expr]]]:
    """(name, wrong derivative of the function at its arguments) for a function node, from the
    function registry."""
    record = _BY_CLASS.get(type(n_expr))
    return [(m.name, m.wrong) for m in record.mistakes] if record else []


def _terms(p: Problem) -> list[_Term]:
    """The correct per-sample term first, then each transformation of the chain rule."""
    g, d, wrt = p.graph, p.derivation, p.wrt
    steps = d.steps

    def index(kind: Kind, lhs: sp.Expr) -> int | None:
        return next((k for k, s in enumerate(steps) if s.kind == kind and s.lhs == lhs), None)

    final = index(Kind.CHAIN, Partial(g.result_symbol, wrt))

    def term(adj: dict[sp.Symbol, sp.Expr], sym: sp.Symbol = wrt) -> sp.Expr:
        return g.full(adj.get(sym, sp.S.Zero))

    correct = term(_backprop(g))
    out = [_Term(correct)]
    # a local derivative of the chain dropped (inner ones: not the loss's own derivative)
    for n in g.nodes:
        for s in g.inputs(n):
            local = sp.diff(n.expr, s)
            if local.is_number and abs(local) == 1:
                continue
            if n.symbol == g.output and not local.is_number:
                continue  # the loss's own derivative is not an inner factor (a constant 3 is)
            shown = tidy(in_named_terms(local, g), g)
            detail = f"∂{expr_text(n.symbol)}/∂{expr_text(s)} = {expr_text(shown)}"
            at = index(Kind.LOCAL, Partial(n.symbol, s))
            value = term(_backprop(g, local={(n.symbol, s): sp.S.One}))
            why = {"missing_chain_factor": detail}
            out.append(_Term(value, ("missing_chain_factor",), at, why))
        # an activation's derivative written wrongly
        for name, wrong in _activation_mistakes(n.expr):
            arg = n.expr.args[0]
            changed = {(n.symbol, s): wrong(*n.expr.args) * sp.diff(arg, s) for s in g.inputs(n)}
            at = min((index(Kind.LOCAL, Partial(n.symbol, s)) or 0 for s in g.inputs(n)), default=0)
            out.append(_Term(term(_backprop(g, local=changed)), (name,), at))
    # BCE's derivative written as the sigmoid's: dℓ/dŷ = ŷ(1 − ŷ), or dℓ/dz = ŷ(1 − ŷ); and
    # σ'(z) used twice (after the cancellation dℓ/dz = ŷ − y, multiplied by ŷ(1 − ŷ) again)
    full_out = g.full(g.output)
    right = _backprop(g)
    for n in g.nodes:
        if not isinstance(n.expr, sigmoid):
            continue
        into = next(
            (k for k, s in enumerate(steps) if s.kind is Kind.LOCAL and s.lhs.args[1] == n.symbol),
            None,
        )
        twice = {n.symbol: right.get(n.symbol, sp.S.Zero) * n.symbol * (1 - n.symbol)}
        out.append(_Term(term(_backprop(g, adjoint=twice)), ("sigma_prime_twice",), into))
        if any(
            isinstance(e, sp.log) and e.has(g.full(n.symbol))
            for e in sp.preorder_traversal(full_out)
        ):
            for value in (n.symbol * (1 - n.symbol), sp.S.One):
                wrong = term(_backprop(g, adjoint={n.symbol: value}))
                out.append(_Term(wrong, ("bce_derivative_as_sigma_prime",), into))
    # the residual without its label
    if g.labels:
        labels = {y: sp.S.Zero for y in g.labels}
        first = next(
            (k for k, s in enumerate(steps) if s.result.free_symbols & set(g.labels)), final
        )
        out.append(_Term(correct.xreplace(labels), ("missing_y",), first))
    # the gradient with respect to another variable
    adj = _backprop(g)
    others = [s for s in (*g.params, *g.data) if s != wrt]
    for q in others:
        detail = (
            f"This is ∂{expr_text(g.result_symbol)}/∂{expr_text(q)}, not ∂"
            f"{expr_text(g.result_symbol)}/∂{expr_text(wrt)}"
        )
        out.append(_Term(term(adj, q), ("wrong_variable",), final, {"wrong_variable": detail}))
    return out


def _candidates(p: Problem, terms: list[_Term]) -> Iterator[_Candidate]:
    """Every combination, fewest mistakes first (the correct answer is the first)."""
    g = p.graph
    sample = g.mean_over_samples and not p.per_sample
    aggregations = (
        [(True, True), (False, True), (True, False), (False, False)] if sample else [(True, True)]
    )
    scales = [sp.S.One, -sp.S.One, sp.S.Half, sp.Integer(2), -sp.S.Half, -sp.Integer(2)]
    penalties = [True, False] if sp.diff(g.penalty, p.wrt) != 0 and not p.per_sample else [True]
    updates = ["", "sign", "lr", "sign+lr"] if p.update else [""]
    everything = [
        _Candidate(t, mean, summed, c, pen, u)
        for t in terms
        for mean, summed in aggregations
        for c in scales
        for pen in penalties
        for u in updates
    ]
    everything.sort(key=lambda c: len(c.mistakes))  # stable: terms keep their order
    yield from everything


# --- numbers: both sides written out for a few samples ---------------------------------------


@dataclass(frozen=True)
class _Point:
    n: int
    shared: dict[sp.Symbol, sp.Float]  # parameters, N, the learning rate, lambda
    samples: list[dict[sp.Symbol, sp.Float]]  # per-sample data and node values, sample by sample


def _draw(p: Problem, rng: random.Random, attempt: int) -> _Point:
    g = p.graph
    n = 3 + attempt % 2
    lo, hi = ((-1.5, 1.5), (0.1, 0.9), (1.1, 2.5))[attempt % 3]
    shared: dict[sp.Symbol, sp.Float] = {s: sp.Float(rng.uniform(lo, hi), 30) for s in g.params}
    for s in g.penalty.free_symbols - set(g.params):
        shared[s] = sp.Float(rng.uniform(0.1, 1.0), 30)
    shared[LR] = sp.Float(rng.uniform(0.01, 0.5), 30)
    if g.mean_over_samples:
        shared[N] = sp.Integer(n)
    samples = []
    grouped = {s for grp in g.sum_to_one for s in grp}
    for _ in range(n if g.mean_over_samples else 1):
        values = {x: sp.Float(rng.uniform(-2.0, 2.0), 30) for x in g.features}
        for y in g.labels:
            if y not in grouped:
                values[y] = sp.Float(rng.uniform(0.1, 0.9), 30)
        for grp in g.sum_to_one:
            weights = [rng.uniform(0.1, 1.0) for _ in grp]
            total = sum(weights)
            first = {
                y: sp.Float(w / total, 30) for y, w in zip(grp[:-1], weights[:-1], strict=True)
            }
            # the last label makes the sum 1 to 30 digits (the cancellation identities need it)
            values.update(first)
            values[grp[-1]] = sp.Float(1, 30) - sp.Add(*first.values())
        samples.append(values)
    return _Point(n, shared, samples)


def _full(p: Problem, e: sp.Expr) -> sp.Expr:
    """``e`` down to parameters and data (inside its sums too), in elementary functions."""
    return elementary(p.graph.full(e))


def _evaluate_answer(p: Problem, answer: sp.Expr, pt: _Point) -> Any:
    """The answer's value on the point's data: sums over its samples, free names = sample 1."""
    if p.per_sample:  # dL/dw = (1/N) Σ answer: every sample's term
        e = _full(p, answer)
        values = [value(e, {**pt.shared, **v}) for v in pt.samples]
        if None in values:
            return None
        with mpmath.workdps(60):  # the default 15 digits would round below verify's tolerance
            return mpmath.fsum(values) / pt.n
    return value(_full(p, answer), pt.shared, pt.samples)


class _Values:
    """Each term's per-sample values and the penalty's derivative at one point (cached)."""

    def __init__(self, p: Problem, pt: _Point) -> None:
        self.p, self.pt = p, pt
        self.extra = value(sp.diff(p.graph.penalty, p.wrt), pt.shared)
        self.cache: dict[int, list[Any]] = {}

    def per_sample(self, t: _Term) -> list[Any]:
        key = id(t)
        if key not in self.cache:
            self.cache[key] = [value(t.value, {**self.pt.shared, **v}) for v in self.pt.samples]
        return self.cache[key]

    def value(self, c: _Candidate) -> Any:
        """The candidate's value (mpmath, 60 digits), or None outside its domain."""
        per = self.per_sample(c.term)
        if any(v is None for v in per) or self.extra is None:
            return None
        with mpmath.workdps(60):
            data = sum(per) if c.summed else per[0]
            if self.p.graph.mean_over_samples and c.mean:
                data /= self.pt.n
            grad = int(c.scale.p) * data / int(c.scale.q)
            grad += self.extra if c.penalty and not self.p.per_sample else 0
            if not self.p.update:
                return grad
            w, lr = (mpmath.mpf(self.pt.shared[s]) for s in (self.p.wrt, LR))
            step = grad if "lr" in c.update else lr * grad
            return w + step if "sign" in c.update else w - step


# --- the decision -------------------------------------------------------------------------------


def _decide(p: Problem, answer: sp.Expr, reference: sp.Expr) -> Decision:
    """answer = reference? Both written out in parameters and data, decided by
    :func:`symgrad.core.verify.equivalent` (sums over the samples kept, N symbolic)."""
    g = p.graph
    try:
        return equivalent(
            _full(p, answer),
            _full(p, reference),
            size=N if g.mean_over_samples else None,
            per_sample=g.per_sample(),
            simplex=g.sum_to_one,
            seed=1,
        )
    except VerificationError as e:
        raise AnswerError(f"the answer cannot be checked: {e}") from None


# --- the check ----------------------------------------------------------------------------------


def _reference(p: Problem) -> sp.Expr:
    """The correct answer as a display expression (what the student should have written)."""
    grad = p.derivation.gradients[str(p.wrt)]
    expected = grad.named if p.graph.mean_over_samples else grad.expanded
    if p.per_sample:
        named = expected
        if grad.extra != 0 and isinstance(named, sp.Add):
            named = sp.Add(*[a for a in named.args if a != grad.extra])
        expected = (named * N).replace(lambda x: isinstance(x, sp.Sum), lambda s: s.function)
        expected = tidy(sp.expand(expected) if expected.has(N) else expected, p.graph)
    if p.update:
        expected = sp.Add(p.wrt, sp.Mul(-1, LR, expected, evaluate=False), evaluate=False)
    return expected


def _lhs_text(p: Problem) -> tuple[str, str]:
    g, w = p.graph, p.wrt
    if p.update:
        return f"{expr_text(w)}_new", rf"{expr_latex(w)}_{{\text{{new}}}}"
    of = sp.Symbol("ell_i", real=True) if p.per_sample else g.result_symbol
    return (
        f"∂{expr_text(of)}/∂{expr_text(w)}",
        rf"\frac{{\partial {expr_latex(of)}}}{{\partial {expr_latex(w)}}}",
    )


def check_answer(
    answer: str,
    loss: str | None = None,
    model: str = "linear",
    *,
    expr: str | None = None,
    wrt: str,
    features: int = 1,
    classes: int = 3,
    l2: float | None = None,
    per_sample: bool = False,
    update: bool = False,
) -> CheckResult:
    """Check ``answer`` for d(loss)/d(wrt) (or d(expr)/d(wrt)); see the module docstring.

    Raises :class:`~symgrad.core.errors.ParseError` (with a column) for an answer that does not
    parse,
    :class:`AnswerError` for unknown symbols, :class:`~symgrad.core.errors.OptionError` for a bad
    problem.

    >>> r = check_answer("-(2/N)*sum((yhat - y)*x)", "mse", wrt="w")
    >>> r.correct, r.mistakes, r.departs_at is not None
    (False, ('sign',), True)
    >>> check_answer("w + lr*(1/N)*sum((yhat - y)*x)", "bce", "logistic", wrt="w",
    ...              update=True).mistakes
    ('update_sign',)
    """
    p = problem(
        loss,
        model,
        expr=expr,
        wrt=wrt,
        features=features,
        classes=classes,
        l2=l2,
        per_sample=per_sample,
        update=update,
    )
    return check_problem(answer, p)


def check_problem(answer: str, p: Problem) -> CheckResult:
    """:func:`check_answer` for a :class:`Problem` already built (worksheets reuse one)."""
    typed = read_answer(answer, p)
    late = frozenset(p.graph.features)
    expected = _reference(p)
    lhs_text, lhs_latex = _lhs_text(p)
    expected_text = f"{lhs_text} = {expr_text(expected, late)}"
    expected_latex = f"{lhs_latex} = {expr_latex(expected, late)}"
    common: dict[str, Any] = dict(
        answer=read_answer(answer, p, evaluate=False),
        expected=expected,
        expected_text=expected_text,
        expected_latex=expected_latex,
        problem=p,
    )
    decision = _decide(p, _as_answer(p, typed), _as_answer(p, expected))
    if decision:
        return CheckResult(True, (), feedback="Correct.", method=decision.method, **common)
    match = _diagnose(p, typed)
    steps = p.derivation.steps
    if match is None:
        feedback = (
            "Not equivalent to the expected answer, and not one of the known mistakes: "
            "compare it with the derivation step by step."
        )
        return CheckResult(
            False, (), feedback=feedback, steps=steps, method="random points", **common
        )
    departs = _departs(p, match)
    shown = steps if departs is None else steps[: departs + 1]
    return CheckResult(
        False,
        match.mistakes,
        feedback=_feedback(p, match),
        steps=shown,
        departs_at=departs,
        method="random points",
        details=dict(match.term.detail),
        **common,
    )


def _feedback(p: Problem, c: _Candidate) -> str:
    """The sentences that explain a matched candidate's mistakes."""
    feedback = " ".join(_sentence(p, m, c) for m in c.mistakes)
    if set(c.mistakes) >= {"missing_1_over_N", "missing_sum"}:
        feedback += (
            f" Your formula is ∂ℓᵢ/∂{expr_text(p.wrt)}, the gradient of one sample's "
            "loss (the lecture slide writes dL/dw = 2u·xᵢ this way); check it with "
            "per_sample=True."
        )
    return feedback


@dataclass(frozen=True)
class KnownAnswer:
    """The correct gradient (no ``mistakes``) or one of its known-mistake variants.

    ``expr`` is in parameters and data, with the sum over samples as ``sympy.Sum`` over ``i``
    from 1 to ``N``; ``feedback`` explains the mistakes (empty for the correct one).
    """

    mistakes: tuple[str, ...]
    feedback: str
    expr: sp.Expr


def known_answers(p: Problem, most: int = 2) -> list[KnownAnswer]:
    """The correct dL/dw, then every variant with at most ``most`` of the known mistakes,
    fewest first and without duplicates: what a page checking answers offline compares with.

    >>> answers = known_answers(problem("mse", wrt="w"))
    >>> answers[0].mistakes, answers[0].expr
    ((), Sum(2*x_i*(b + w*x_i - y_i), (i, 1, N))/N)
    >>> lecture = next(a for a in answers if set(a.mistakes) == {"missing_1_over_N", "missing_sum"})
    >>> lecture.expr, len(answers)
    (2*x_i*(b + w*x_i - y_i), 39)
    """
    if p.per_sample or p.update:
        raise OptionError("known answers are of the gradient itself (not per_sample or update)")
    g = p.graph
    extra = sp.diff(g.penalty, p.wrt)
    out: list[KnownAnswer] = []
    seen: set[sp.Expr] = set()
    for c in _candidates(p, _terms(p)):
        if len(c.mistakes) > most:
            continue
        data = c.term.value
        if g.mean_over_samples:
            data = (sp.Sum(data, (i, 1, N)) if c.summed else data) / (N if c.mean else 1)
        e = c.scale * data + (extra if c.penalty else 0)
        if e not in seen:
            seen.add(e)
            out.append(KnownAnswer(c.mistakes, _feedback(p, c) if c.mistakes else "", e))
    return out


def _diagnose(p: Problem, typed: sp.Expr) -> _Candidate | None:
    """The first candidate with mistakes (fewest first) equal to a wrong answer at four points of
    N = 3 or 4 samples, or None."""
    terms = _terms(p)
    rng = random.Random(20240)
    points: list[tuple[_Values, Any]] = []
    for attempt in range(60):
        pt = _draw(p, rng, attempt)
        got = _evaluate_answer(p, typed, pt)
        values = _Values(p, pt)
        if got is None or values.value(_Candidate(terms[0])) is None:
            continue
        points.append((values, got))
        if len(points) == 4:
            break
    for c in _candidates(p, terms):
        budget.check()
        vals = [v.value(c) for v, _ in points]
        if points and all(
            v is not None and close(v, got) for v, (_, got) in zip(vals, points, strict=True)
        ):
            return c if c.mistakes else None  # equal to the correct one here, but not everywhere
    return None


def _as_answer(p: Problem, e: sp.Expr) -> sp.Expr:
    """A per-sample answer as the whole gradient (1/N) Σ answer, to compare written out."""
    if not p.per_sample:
        return e
    return sp.Sum(e, (i, 1, N)) / N


def _departs(p: Problem, c: _Candidate) -> int | None:
    """The first step of the correct derivation that the matched mistakes change."""
    g, steps = p.graph, p.derivation.steps

    def index(kind: Kind, lhs: sp.Expr) -> int | None:
        return next((k for k, s in enumerate(steps) if s.kind == kind and s.lhs == lhs), None)

    final = index(Kind.CHAIN, Partial(g.result_symbol, p.wrt))
    found: list[int] = []
    if c.term.mistakes and c.term.departs is not None:
        found.append(c.term.departs)
    if not c.mean:
        k = index(Kind.CHAIN, Partial(g.result_symbol, g.output))
        found.append(final if k is None else k)
    if not c.summed and final is not None:
        found.append(final)
    if c.scale != 1:
        halved = abs(c.scale) == sp.S.Half
        twos = [
            k
            for k, s in enumerate(steps)
            if s.kind is Kind.LOCAL
            and halved
            and any(f.is_Number and abs(f) == 2 for f in sp.Mul.make_args(s.result))
        ]
        found.append(twos[0] if twos else final)
    if not c.penalty and final is not None:
        found.append(final)
    if found:
        return min(k for k in found if k is not None) if any(k is not None for k in found) else None
    return None  # only the update is wrong: the whole derivation is right


def _sentence(p: Problem, name: str, c: _Candidate) -> str:
    w = expr_text(p.wrt)
    detail = c.term.detail.get(name, "")
    if name == "factor_2":
        detail = (
            "It is off by a factor of 2: the power rule d(u²)/du = 2u keeps its 2."
            if abs(c.scale) == sp.S.Half
            else "It is off by a factor of 2: one 2 too many."
        )
    if name == "missing_penalty":
        detail = expr_text(sp.diff(p.graph.penalty, p.wrt))
    return MISTAKES[name].format(p=w, detail=detail)


__doc__ += "\nThe wrong derivatives of functions (from the function registry):\n\n" + "\n".join(
    f"``{m.name}``\n    {m.hint}" for record in FUNCTIONS.values() for m in record.mistakes
)


def mistake_names() -> tuple[str, ...]:
    """Every documented mistake name.

    >>> "missing_1_over_N" in mistake_names() and "update_sign" in mistake_names()
    True
    """
    return tuple(MISTAKES)


__all__ = [
    "MISTAKES",
    "AnswerError",
    "CheckResult",
    "KnownAnswer",
    "Problem",
    "check_answer",
    "check_problem",
    "answer_names",
    "known_answers",
    "mistake_names",
    "problem",
    "read_answer",
]

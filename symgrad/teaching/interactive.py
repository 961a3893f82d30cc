r"""A derivation as an interactive page: step through it, play the graph, practise the answers.

One self-contained HTML file (no network, no external script, style sheet or font; a
Content-Security-Policy that forbids every request and admits only the page's own script, by its
SHA-256 hash):

* the derivation, revealed one step at a time (next, previous, reveal all), each with its rule;
  math as MathML (:func:`symgrad.render.html.mathml`);
* the computational graph as SVG, from the figure's layout
  (:func:`symgrad.teaching.graphdraw.layout`);
  with a point ``at``, the forward pass node by node, then the backward pass, each adjoint shown
  as upstream × local derivative on its edge (the exact values of
  :func:`symgrad.core.graph.forward_backward`);
* practice: before a step is revealed the student types its value or expression; for every
  gradient the student types dL/dw and the page says whether it is right or which known mistake
  it is (:func:`symgrad.teaching.check.known_answers`). The expected expressions are compiled
  from SymPy to JavaScript by SymPy's JavaScript code printer and compared with the student's at
  random points in the page; the student's text is read by a whitelist parser written in the page
  (tokenizer, recursive descent, tree walker: never ``eval`` or ``Function``). Progress is kept in
  ``localStorage`` and can be reset.

:func:`render` returns the page, :func:`practice` a :class:`Page` that Jupyter shows inline (the
same page, in a sandboxed ``iframe``), :func:`page` wraps any body (worksheets use it).

>>> from symgrad.core.derive import derive_expr
>>> html = render(derive_expr("3*(a + b*c)"), at={"a": 1, "b": 2, "c": 3})
>>> "connect-src 'none'" in html, "<svg" in html, html.count('class="step"')
(True, True, 13)
>>> "eval(" in html or "new Function" in html
False
"""

from __future__ import annotations

import base64
import hashlib
import html as htmlmod
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sympy as sp
from sympy.printing.jscode import JavascriptCodePrinter

from symgrad.core import verify
from symgrad.core.derive import Derivation
from symgrad.core.errors import OptionError
from symgrad.core.functions import FUNCTIONS, elementary
from symgrad.core.graph import N, Values, forward_backward
from symgrad.core.parse import MAX_LENGTH
from symgrad.core.steps import Kind, Partial
from symgrad.render import rule_text, typed_title
from symgrad.render.html import mathml
from symgrad.render.latex import expr_latex
from symgrad.render.text import expr_text
from symgrad.teaching import graphdraw
from symgrad.teaching.check import Problem, answer_names, known_answers

__all__ = ["CSP", "REVEAL", "SAMPLES", "Page", "check_reveal", "kinks", "page", "page_heading",
           "practice", "render", "to_js"]

_HERE = Path(__file__).parent
#: How many samples the page draws for a loss over samples (the sums run over them, N = SAMPLES).
SAMPLES = 3
#: The policy of every page: nothing is fetched, only the page's own (hashed) script runs.
CSP = ("default-src 'none'; script-src {script}; style-src 'unsafe-inline'; img-src data:; "
       "connect-src 'none'; font-src 'none'; form-action 'none'; base-uri 'none'")


# --- SymPy -> JavaScript ----------------------------------------------------------------------


class _Printer(JavascriptCodePrinter):
    """SymPy's JavaScript printer with symbols read from the page's point ``E``: shared values
    ``E.s``, per-sample values ``E.k[sample]``, the sample count ``E.n``; a sum over the samples
    is written out over the page's samples."""

    def __init__(self, per_sample: set[sp.Symbol], sample: int | str = 0) -> None:
        super().__init__({"user_functions": {"erf": "erf"}, "strict": True})
        self.per_sample, self.sample = per_sample, sample

    def _print_Symbol(self, s: sp.Symbol) -> str:
        if s == N:
            return "E.n"
        where = f"E.k[{self.sample}]" if s in self.per_sample else "E.s"
        return f"{where}.get({json.dumps(str(s))})"

    def _print_Sum(self, e: sp.Sum) -> str:
        outer, parts = self.sample, []
        for k in range(SAMPLES):
            self.sample = k
            parts.append(f"({self._print(e.function)})")
        self.sample = outer
        return "(" + " + ".join(parts) + ")"

    def _print_ComplexInfinity(self, e: sp.Expr) -> str:  # undefined (log 0): never equal
        return "NaN"

    _print_NaN = _print_ComplexInfinity

    def _print_Piecewise(self, e: sp.Piecewise) -> str:  # one line, no trailing default test
        out = self._print(e.args[-1].expr)
        for expr, cond in reversed(e.args[:-1]):
            out = f"(({self._print(cond)}) ? ({self._print(expr)}) : ({out}))"
        return out


def to_js(expr: sp.Expr, per_sample: set[sp.Symbol] = frozenset(), sample: int | str = 0) -> str:
    """``expr`` as a JavaScript expression over the point ``E`` (symgrad's functions written out).

    >>> a, x = sp.Symbol("a", real=True), sp.Symbol("x_i", real=True)
    >>> to_js(3 * a**2)
    '3*Math.pow(E.s.get("a"), 2)'
    >>> from symgrad.core.graph import i
    >>> to_js(sp.Sum(a * x, (i, 1, N)) / N, {x})  # doctest: +NORMALIZE_WHITESPACE
    '((E.s.get("a")*E.k[0].get("x_i")) + (E.s.get("a")*E.k[1].get("x_i"))
      + (E.s.get("a")*E.k[2].get("x_i")))/E.n'
    """
    return _Printer(set(per_sample), sample).doprint(elementary(expr))


def _functions_js() -> str:
    """The functions a student may type, each a JavaScript function made from its registry record
    (its elementary form printed by SymPy's JavaScript printer), with its arity and defaults."""
    entries = []
    for record in FUNCTIONS.values():
        if not record.parse:
            continue
        lo, hi = record.arity
        xs = sp.symbols(f"x0:{max(lo, 2 if hi is None else hi)}", real=True)
        given = xs[: lo if hi is None else hi]
        body = _Printer(set()).doprint(elementary(record.sympy(*given)))
        for x in given:
            body = body.replace(f"E.s.get({json.dumps(str(x))})", str(x))
        args = ", ".join(str(x) for x in given)
        defaults = json.dumps([float(v) for v in record.defaults])
        for name in (record.name, *record.aliases):
            entries.append(
                f'  [{json.dumps(name)}, {{lo: {lo}, hi: {json.dumps(hi)}, d: {defaults}, '
                f"f: function ({args}) {{ return {body}; }}}}]"
            )
    return "const FN = new Map([\n" + ",\n".join(entries) + "\n]);\n"


# --- the page ---------------------------------------------------------------------------------


def _asset(name: str) -> str:
    return (_HERE / name).read_text(encoding="utf-8")


def page(body: str, title: str, data: Mapping[str, Any], compiled: list[str] = (),
         scripts: tuple[str, ...] = ("interactive.js",), typed: str = "") -> str:
    """The whole page around ``body``: CSP, style, the page's data and its one script; the user's
    ``typed`` text after the title as code (:func:`symgrad.render.typed_title`).

    ``data`` is read by the script (``JSON.parse``; never run); ``compiled`` are JavaScript
    expressions over a point ``E`` (from :func:`to_js`), the script's ``F[k]``; ``scripts`` are
    the page's programs (``interactive_matrix.js`` for matrix questions), after ``F``, the
    functions ``FN``, ``erf``, the whitelist tokenizer ``readTokens`` (interactive_read.js) and
    ``showVerdict``/``reveals`` (interactive_verdict.js).

    >>> p = page("<p>hi</p>", "T", {"questions": []})
    >>> p.count("<script"), "sha256-" in p, "unsafe-inline'; img" in p, "script-src 'unsafe" in p
    (2, True, True, False)
    >>> "<h1>Gradient of <code>a*b*c</code></h1>" in page("", "Gradient of", {}, typed="a*b*c")
    True
    """
    functions = ",\n".join(f"  function (E, K) {{ return {js}; }}" for js in compiled)
    script = (f"const F = [\n{functions}\n];\n" + _functions_js() + _asset("interactive_erf.js")
              + _asset("interactive_read.js") + _asset("interactive_verdict.js")
              + "".join(_asset(name) for name in scripts))
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    blob = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace("&", "\\u0026")
    esc = htmlmod.escape
    policy = CSP.format(script=f"'sha256-{digest}'")
    code = f" <code>{esc(typed)}</code>" if typed else ""
    plain = f"{title} {typed}".strip()
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(plain or 'symgrad')}</title>\n<style>{_asset('interactive.css')}</style>\n"
        f"</head>\n<body>\n<main>\n<h1>{esc(title)}{code}</h1>\n{body}\n</main>\n"
        f'<script type="application/json" id="symgrad-data">{blob}</script>\n'
        f"<script>{script}</script>\n</body>\n</html>\n"
    )


class _Compiler:
    """Collects the page's JavaScript functions (``F[k]``), one per distinct expression, and the
    kinks of the expressions it compiled (``kinks``: the ``F[k]`` of each ``g`` whose zero is a
    kink, ``g`` per sample: ``F[k](E, j)`` at sample ``j``), for the page's choice of points."""

    def __init__(self, per_sample: set[sp.Symbol]) -> None:
        self.per_sample, self.code, self.index = per_sample, [], {}
        self.kinks: list[int] = []

    def __call__(self, expr: sp.Expr, sample: int | str = 0) -> int:
        for g in kinks(expr):
            k = self._add(to_js(g, self.per_sample, "K"))
            if k not in self.kinks:
                self.kinks.append(k)
        return self._add(to_js(expr, self.per_sample, sample))

    def _add(self, js: str) -> int:
        if js not in self.index:
            self.index[js] = len(self.code)
            self.code.append(js)
        return self.index[js]


def kinks(expr: sp.Expr) -> list[sp.Expr]:
    """Where ``expr`` (written out, as the page computes it) changes branch: each ``g`` whose zero
    is a kink (a condition ``a > b`` gives ``a - b``; Abs, sign, Heaviside, Max, Min their
    arguments), found by :mod:`symgrad.core.verify`'s rule; inside a sum over the samples, per
    sample. The page's points keep off them and lie on both sides of each.

    >>> z = sp.Symbol("z", real=True)
    >>> kinks(sp.Piecewise((1, z > 0), (0, True)) + abs(z - 2))
    [z, z - 2]
    """
    return verify.kinks([elementary(expr)])


def _names(d: Derivation, p: Problem | None) -> dict[str, str]:
    """Typed name -> the page's variable: the answer names of ``check`` and every node."""
    g = d.graph
    out = {name: str(s) for name, s in answer_names(p).items()} if p else {}
    for s in (*g.params, *g.data, *(n.symbol for n in g.nodes), *g.penalty.free_symbols):
        out.setdefault(str(s), str(s))
        if str(s).endswith("hat"):
            out.setdefault(str(s)[:-3] + "_hat", str(s))
    out.setdefault("lam", "lambda") if "lambda" in out else None
    return out


def _point(d: Derivation, compile_: _Compiler) -> dict[str, Any]:
    """How the page draws a random point: the variables and the nodes computed from them."""
    g = d.graph
    per = g.per_sample()
    groups = {s: k for k, grp in enumerate(g.sum_to_one) for s in grp}
    variables = [{"name": str(s), "kind": "param"} for s in g.params]
    variables += [{"name": str(s), "kind": "positive"}
                  for s in sorted(g.penalty.free_symbols - set(g.params), key=str)]
    variables += [{"name": str(s), "kind": "feature"} for s in g.features]
    variables += [{"name": str(s), "kind": "label", "group": groups.get(s)} for s in g.labels]
    nodes = [{"name": str(n.symbol), "sample": n.symbol in per,
              "f": compile_(n.expr, "K" if n.symbol in per else 0)} for n in g.nodes]
    return {"samples": SAMPLES if g.mean_over_samples else 1, "variables": variables,
            "nodes": nodes, "per_sample": sorted(str(s) for s in per)}


def _steps_html(d: Derivation, compile_: _Compiler, questions: list[dict[str, Any]]) -> str:
    late = frozenset(d.graph.features)
    items = []
    for k, s in enumerate(d.steps):
        rhs = " = ".join(expr_latex(f, late) for f in s.forms)
        lhs = expr_latex(s.lhs, late)
        qid = ""
        if s.kind is not Kind.DEFINITION and isinstance(s.lhs, Partial):
            qid = f"step-{k}"
            questions.append({"id": qid, "answers": [{"f": compile_(s.result), "mistakes": [],
                                                       "feedback": ""}]})
        items.append(
            f'<li class="step" id="s{k}" data-q="{qid}" '
            f'data-lhs="{htmlmod.escape(expr_text(s.lhs))}">'
            f'<span class="eq">{mathml(lhs + " = " + rhs)}</span> '
            f'<span class="rule">{htmlmod.escape(rule_text(s))}</span>'
            f'<template class="lhs">{mathml(lhs)}</template></li>'
        )
    return (
        '<section aria-labelledby="h-steps"><h2 id="h-steps">The derivation, step by step</h2>\n'
        '<div class="try" id="step-try" hidden><label for="step-answer">Before the next step, '
        'your answer for <span id="step-lhs"></span> =</label> '
        '<input id="step-answer" autocomplete="off" spellcheck="false"> '
        '<button type="button" id="step-check">Check</button>'
        '<p class="verdict" id="step-verdict" role="status" aria-live="polite"></p></div>\n'
        '<div class="controls" role="group" aria-label="Steps">'
        '<button type="button" id="step-prev">Previous</button> '
        '<button type="button" id="step-next">Next step</button> '
        '<button type="button" id="step-all">Reveal all</button> '
        '<span id="step-status" role="status" aria-live="polite"></span></div>\n'
        '<ol class="steps" id="steps">\n' + "\n".join(items) + "\n</ol></section>"
    )


# --- the graph ----------------------------------------------------------------------------------

_GAP, _ROW, _H, _PAD = 80, 96, 62, 24


def _graph_html(d: Derivation, vals: Values | None) -> tuple[str, list[dict[str, Any]]]:
    """The graph as SVG at the figure's layout; the play's events (forward, backward) as data."""
    g = d.graph
    pos = graphdraw.layout(g)
    leaves = set(graphdraw.inputs(g))
    labels = {s: expr_text(s) if s in leaves else f"{expr_text(s)} = {expr_text(g.node(s).expr)}"
              for s in pos}
    box = {s: max(128, 8 * len(labels[s]) + 24) for s in pos}
    columns = sorted({x for x, _ in pos.values()})
    widest = {c: max(box[s] for s, (x, _) in pos.items() if x == c) for c in columns}
    edges = graphdraw.edges(g)
    local = {e: f"∂{expr_text(e.target)}/∂{expr_text(e.source)} = {expr_text(e.local)}"
             for e in edges}
    gap = {c: max([_GAP] + [7 * len(local[e]) + 12 for e in edges
                            if pos[e.source][0] == c and pos[e.target][0] == c + 1])
           for c in columns}  # room for the labels of the edges to the next column
    left = {c: _PAD + sum(widest[k] + gap[k] for k in columns if k < c) for c in columns}
    top = max(y for _, y in pos.values())
    xy = {s: (left[x] + (widest[x] - box[s]) / 2, _PAD + (top - y) * _ROW)
          for s, (x, y) in pos.items()}
    width = max(xy[s][0] + box[s] for s in xy) + _PAD
    height = _PAD * 2 + max(y for _, y in xy.values()) + _H
    out_sym = expr_text(g.output)
    ids = {s: f"n{k}" for k, s in enumerate(xy)}
    parts = [
        f'<svg id="graph" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" role="img" aria-labelledby="graph-title">'
        f'<title id="graph-title">Computational graph of {htmlmod.escape(out_sym)}</title>'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#555"/></marker></defs>'
    ]
    esc = htmlmod.escape
    for k, e in enumerate(edges):
        (x1, y1), (x2, y2) = xy[e.source], xy[e.target]
        x1, y1, x2, y2 = x1 + box[e.source], y1 + _H / 2, x2, y2 + _H / 2
        mx, my = x1 + 0.45 * (x2 - x1), y1 + 0.45 * (y2 - y1) - 5
        parts.append(
            f'<g class="edge" id="e{k}"><line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" '
            f'y2="{y2:.0f}" marker-end="url(#arrow)"/>'
            f'<text class="local" x="{mx:.0f}" y="{my:.0f}">{esc(local[e])}</text>'
            f'<text class="adjoint" x="{mx:.0f}" y="{my + 15:.0f}"></text></g>'
        )
    first = 18 if vals is not None else _H / 2 + 5
    for s, (x, y) in xy.items():
        kind = "input" if s in leaves else "output" if s == g.output else "op"
        middle = x + box[s] / 2
        parts.append(
            f'<g class="node {kind}" id="{ids[s]}" data-node="{esc(str(s))}" '
            f'aria-label="{esc(labels[s])}">'
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{box[s]}" height="{_H}" rx="6"/>'
            f'<text x="{middle:.0f}" y="{y + first:.0f}">{esc(labels[s])}</text>'
            f'<text class="value" x="{middle:.0f}" y="{y + 37:.0f}"></text>'
            f'<text class="grad" x="{middle:.0f}" y="{y + 55:.0f}"></text></g>'
        )
    parts.append("</svg>")
    play = ""
    if vals is not None:
        play = (
            '<div class="controls" role="group" aria-label="Forward and backward pass">'
            '<button type="button" id="play-prev">Back</button> '
            '<button type="button" id="play-next">Next</button> '
            '<button type="button" id="play-all">Play all</button> '
            '<span id="play-status" role="status" aria-live="polite"></span></div>'
            '<div class="try" id="play-try"><label for="play-answer">Your value for '
            '<span id="play-what"></span>:</label> <input id="play-answer" autocomplete="off" '
            'spellcheck="false"> <button type="button" id="play-check">Check</button>'
            '<p class="verdict" id="play-verdict" role="status" aria-live="polite"></p></div>'
        )
    return (
        '<section aria-labelledby="h-graph"><h2 id="h-graph">The computational graph</h2>\n'
        + play + '<div class="graph">' + "".join(parts) + "</div>"
        + ('<table class="log" id="play-log" aria-label="Values so far"><thead><tr><th>pass</th>'
           "<th>value</th></tr></thead><tbody></tbody></table>" if vals is not None else "")
        + "</section>"
    ), _play(g, vals, ids)


def _play(g: Any, vals: Values | None, ids: dict[sp.Symbol, str]) -> list[dict[str, Any]]:
    """The forward pass node by node (inputs first), then the backward pass from the output."""
    if vals is None:
        return []
    num = graphdraw.format_number
    edges = graphdraw.edges(g)
    out = expr_text(g.output)
    events: list[dict[str, Any]] = []
    leaves = graphdraw.inputs(g)
    for s in [*leaves, *(n.symbol for n in g.nodes)]:
        v = num(vals.value[s])
        how = "" if s in leaves else f" = {expr_text(g.node(s).expr)}"
        events.append({"pass": "forward", "node": ids[s], "name": expr_text(s), "var": str(s),
                       "value": float(vals.value[s]), "shown": f"= {v}",
                       "text": f"{expr_text(s)}{how} = {v}"})
    for s in [*(n.symbol for n in reversed(g.nodes)), *leaves]:
        terms = []
        for k, e in enumerate(edges):
            if e.source == s:
                up, local = vals.grad[e.target], e.local.xreplace(vals.value)
                terms.append({"edge": f"e{k}", "text": f"{num(up)} × {num(local)}"})
        name, v = f"∂{out}/∂{expr_text(s)}", num(vals.grad[s])
        how = " + ".join(t["text"] for t in terms) + f" = {v}" if terms else "1 (the output)"
        events.append({"pass": "backward", "node": ids[s], "name": name,
                       "value": float(vals.grad[s]), "edges": terms, "shown": f"{name} = {v}",
                       "text": f"{name} = {how}"})
    return events


# --- practice on the gradients ------------------------------------------------------------------


def _gradients_html(d: Derivation, compile_: _Compiler, questions: list[dict[str, Any]],
                    reveal: str) -> str:
    items = []
    late = frozenset(d.graph.features)
    result = expr_latex(d.graph.result_symbol)
    for name, grad in d.gradients.items():
        p = Problem(d, grad.wrt)
        answers = known_answers(p)
        qid = f"grad-{name}"
        questions.append({
            "id": qid, "reveal": reveal,
            "answers": [{"f": compile_(a.expr), "mistakes": list(a.mistakes),
                         "feedback": a.feedback} for a in answers],
        })
        lhs = rf"\frac{{\partial {result}}}{{\partial {expr_latex(grad.wrt)}}}"
        shown = grad.named if d.graph.mean_over_samples else grad.expanded
        items.append(
            f'<div class="question" data-q="{qid}"><label for="{qid}-in">{mathml(lhs)} =</label> '
            f'<input id="{qid}-in" class="answer" autocomplete="off" spellcheck="false" '
            f'aria-describedby="{qid}-verdict"> <button type="button" class="check">Check</button>'
            f'<p class="verdict" id="{qid}-verdict" role="status" aria-live="polite"></p>'
            '<div class="solution" hidden><p>Solution: '
            f'{mathml(lhs + " = " + expr_latex(shown, late))}</p></div></div>'
        )
    how = ("Write sums over the samples as <code>sum(...)</code>; per-sample names as "
           "<code>x_i</code> or <code>x</code>, <code>yhat_i</code>, ...; N is the sample count."
           if d.graph.mean_over_samples else "Use the variables' names; ^ or ** for powers.")
    if any(kinks(g.expanded) for g in d.gradients.values()):
        how += (" A piecewise value: <code>where(z &gt; 0, a, b)</code> is a when z &gt; 0 and "
                "b otherwise (one comparison: &lt;, &lt;=, &gt; or &gt;=).")
    return (
        '<section aria-labelledby="h-practice"><h2 id="h-practice">Practice: the gradients</h2>'
        f"<p class=\"hint\">{how} Answers are checked in this page at random points.</p>\n"
        + "\n".join(items) + "</section>"
    )


#: When a gradient's solution shows.
REVEAL = ("after_attempt", "after_correct", "never", "always")


def check_reveal(reveal: str) -> str:
    """``reveal`` if it is one of :data:`REVEAL`, else an OptionError naming them.

    >>> check_reveal("never")
    'never'
    """
    if reveal not in REVEAL:
        raise OptionError(f"unknown reveal {reveal!r}; choose from: {', '.join(REVEAL)}",
                          option="reveal")
    return reveal


def page_heading(d: Any, title: str | None, fallback: str) -> tuple[str, str]:
    """A page's heading: ``title`` as given, else the derivation's title with the typed text
    apart (set as code, :func:`symgrad.render.typed_title`), else ``fallback``.

    >>> from symgrad.core.derive import derive_expr
    >>> page_heading(derive_expr("a*b"), None, "Derivation"), page_heading(None, "T", "Derivation")
    (('Gradient of', 'a*b'), ('T', ''))
    """
    if title:
        return title, ""
    words, typed = typed_title(d)
    return words or fallback, typed


def render(d: Derivation, at: Mapping[str | sp.Symbol, Any] | None = None, *,
           title: str | None = None, reveal: str = "after_attempt") -> str:
    """The interactive page of ``d`` (a whole HTML document); ``at`` plays the graph's forward and
    backward pass at that point (typed expressions). ``reveal`` says when a gradient's solution
    shows: ``after_attempt`` (default), ``after_correct``, ``never`` or ``always``.

    >>> from symgrad.core.derive import derive
    >>> html = render(derive("mse", "linear", wrt=["w"]))
    >>> 'data-q="grad-w"' in html, "missing_1_over_N" in html
    (True, True)
    """
    check_reveal(reveal)
    g = d.graph
    if at is not None and g.mean_over_samples:
        raise OptionError("a point applies to typed expressions, not to a loss over samples",
                          option="at")
    vals = None if at is None else forward_backward(g, at)
    compile_ = _Compiler(g.per_sample())
    questions: list[dict[str, Any]] = []
    point = _point(d, compile_)
    steps = _steps_html(d, compile_, questions)
    graph, events = _graph_html(d, vals)
    grads = _gradients_html(d, compile_, questions, reveal)
    point["kinks"] = compile_.kinks  # of every expression compiled, the questions' included
    title, typed = page_heading(d, title, "Derivation")
    data = {
        "key": "symgrad:" + hashlib.sha256(steps.encode()).hexdigest()[:16],
        "point": point, "names": _names(d, Problem(d, g.params[0]) if g.params else None),
        "functions": sorted(n for r in FUNCTIONS.values() if r.parse for n in (r.name, *r.aliases)),
        "questions": questions, "events": events, "max_length": MAX_LENGTH,
    }
    intro = ('<p class="hint">Keyboard: Tab to a control, Enter to press it. Progress is kept in '
             'this browser. <button type="button" id="reset">Reset progress</button></p>')
    return page(intro + "\n" + graph + "\n" + steps + "\n" + grads, title, data, compile_.code,
                typed=typed)


@dataclass(frozen=True)
class Page:
    """An interactive page; Jupyter shows it inline (a sandboxed ``iframe`` of the same page).

    >>> from symgrad.core.derive import derive_expr
    >>> p = practice(derive_expr("a*b"), at={"a": 2, "b": 3})
    >>> p._repr_html_().startswith("<iframe"), "sandbox=\\"allow-scripts\\"" in p._repr_html_()
    (True, True)
    """

    html: str
    height: int = 900

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{htmlmod.escape(self.html)}" sandbox="allow-scripts" '
                f'style="width:100%;height:{self.height}px;border:1px solid #ccc" '
                'title="symgrad interactive derivation"></iframe>')

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` (atomically) and return the path."""
        from symgrad.teaching._io import atomic_write_text

        return atomic_write_text(Path(path), self.html)


def practice(d: Derivation, at: Mapping[str | sp.Symbol, Any] | None = None,
             **options: Any) -> Page:
    """:func:`render` as a :class:`Page`, for Jupyter (``d.practice()``)."""
    return Page(render(d, at, **options))

"""Drawing computational graphs: layout, matplotlib artists, TikZ (run through pdflatex), files."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import sympy as sp
from matplotlib.figure import Figure
from matplotlib.offsetbox import AnnotationBbox
from matplotlib.text import Annotation

from symgrad.core.errors import OptionError
from symgrad.core.functions import relu
from symgrad.core.graph import expression_graph, forward_backward
from symgrad.teaching.graphdraw import (
    draw_graph,
    edges,
    format_number,
    layers,
    layout,
    mathtext_ok,
    node_lines,
    save_graph,
    tikz_document,
    to_tikz,
)

a, b, c, x = sp.symbols("a b c x", real=True)
S = {name: sp.Symbol(name, real=True) for name in ("u", "v", "j")}


@pytest.fixture
def toy():
    g = expression_graph(sp.Mul(3, a + b * c, evaluate=False))
    return g, forward_backward(g, {a: 1, b: 2, c: 3})


def _edge_set(g):
    return {(str(e.source), str(e.target)) for e in edges(g)}


def _arrows(ax):
    return [t for t in ax.texts if isinstance(t, Annotation) and t.get_gid().startswith("edge:")]


def _labels(ax):
    return {t.get_gid().removeprefix("label:"): t.get_text() for t in ax.texts
            if (t.get_gid() or "").startswith("label:")}


# --- structure and layout ------------------------------------------------------------------------


def test_toy_layers_and_edges(toy):
    g, _ = toy
    assert {str(s): k for s, k in layers(g).items()} == {"a": 0, "b": 0, "c": 0, "u": 1, "v": 2,
                                                         "j": 3}
    assert _edge_set(g) == {("b", "u"), ("c", "u"), ("u", "v"), ("a", "v"), ("v", "j")}
    assert {(str(e.source), str(e.target)): e.local for e in edges(g)} == {
        ("b", "u"): c, ("c", "u"): b, ("u", "v"): 1, ("a", "v"): 1, ("v", "j"): 3,
    }


def test_layout_is_layered_deterministic_and_separated(toy):
    g, _ = toy
    pos = layout(g)
    assert {str(s): xy[0] for s, xy in pos.items()} == {"a": 0, "b": 0, "c": 0, "u": 1, "v": 2,
                                                        "j": 3}
    assert [str(s) for s in sorted((s for s in pos if pos[s][0] == 0), key=lambda s: -pos[s][1])] \
        == ["a", "b", "c"]  # the lecture's order, top to bottom
    rebuilt = expression_graph(sp.Mul(3, a + b * c, evaluate=False))
    assert layout(rebuilt) == pos
    # the output is rightmost; nodes sharing a column are at least a row apart
    assert pos[g.output][0] == max(x for x, _ in pos.values())
    for col in {x for x, _ in pos.values()}:
        ys = sorted(y for x, y in pos.values() if x == col)
        assert all(q - p >= 1 - 1e-9 for p, q in zip(ys, ys[1:], strict=False))


def _crossings(g):
    """Pairs of edges between the same two neighbouring columns whose ends are in opposite order."""
    pos = layout(g)
    spans = [(pos[e.source], pos[e.target]) for e in edges(g)]
    n = 0
    for i, (p0, p1) in enumerate(spans):
        for q0, q1 in spans[i + 1:]:
            if p0[0] == q0[0] and p1[0] == q1[0] and (p0[1] - q0[1]) * (p1[1] - q1[1]) < 0:
                n += 1
    return n


def test_trees_are_drawn_without_crossings():
    w1, w2, x1, x2, bb = sp.symbols("w1 w2 x1 x2 b", real=True)
    z = sp.Add(sp.Mul(w1, x1, evaluate=False), sp.Mul(w2, x2, evaluate=False), bb, evaluate=False)
    for expr in (sp.Mul(3, a + b * c, evaluate=False), sp.Pow(z, 2, evaluate=False),
                 sp.Mul(sp.exp(a * b), sp.log(b + c), evaluate=False)):
        assert _crossings(expression_graph(expr)) == 0


def test_reused_node_has_one_edge_per_use_and_the_chain_rule_sums_over_them():
    # x feeds u = x x and j directly: edges x->u (local 2x, x used twice by u) and x->j
    g = expression_graph(sp.Add(sp.Mul(x, x, evaluate=False), x, evaluate=False))
    assert sorted(_edge_set(g)) == [("u", "j"), ("x", "j"), ("x", "u")]
    # b = a + a; j = b b: one edge a->u (local 2) and one u->j (local 2u)
    twice = sp.Add(a, a, evaluate=False)
    g2 = expression_graph(sp.Mul(twice, twice, evaluate=False))
    assert [(str(e.source), str(e.target), e.local) for e in edges(g2)] == [
        ("a", "u", 2), ("u", "j", 2 * S["u"])]
    for graph in (g, g2):
        vals = forward_backward(graph, {s: sp.Rational(3, 2) for s in graph.params})
        for s in vals.value:
            if s == graph.output:
                continue
            total = sum(vals.grad[e.target] * e.local.xreplace(vals.value)
                        for e in edges(graph) if e.source == s)
            assert sp.simplify(total - vals.grad[s]) == 0
        ax = draw_graph(graph, vals)
        assert len(_arrows(ax)) == len(edges(graph))


# --- matplotlib ----------------------------------------------------------------------------------


def test_toy_drawing_artists_mathtext(toy):
    g, vals = toy
    ax = draw_graph(g, vals)
    lines = node_lines(ax)
    assert set(lines) == {"a", "b", "c", "u", "v", "j"}
    assert lines["u"] == ["$u = b c$", "$= 6$", r"$\partial j/\partial u = 3$"]
    assert lines["v"] == ["$v = a + u$", "$= 7$", r"$\partial j/\partial v = 3$"]
    assert lines["j"] == ["$j = 3 v$", "$= 21$", r"$\partial j/\partial j = 1$"]
    assert lines["b"] == ["$b = 2$", r"$\partial j/\partial b = 9$"]
    assert lines["a"][1] == r"$\partial j/\partial a = 3$"
    assert lines["c"][1] == r"$\partial j/\partial c = 6$"
    arrows = _arrows(ax)
    assert len(arrows) == 5
    assert {t.get_gid() for t in arrows} == {f"edge:{s}->{t}" for s, t in _edge_set(g)}
    assert all(t.arrow_patch is not None for t in arrows)
    assert _labels(ax) == {
        "b->u": r"$\partial u/\partial b = c$",
        "c->u": r"$\partial u/\partial c = b$",
        "a->v": r"$\partial v/\partial a = 1$",
        "u->v": r"$\partial v/\partial u = 1$",
        "v->j": r"$\partial j/\partial v = 3$",
    }
    boxes = [art for art in ax.artists if isinstance(art, AnnotationBbox)]
    assert len(boxes) == 6
    assert ax.figure.get_size_inches()[0] > ax.figure.get_size_inches()[1]  # left to right


def test_toy_drawing_unicode_fallback(toy):
    g, vals = toy
    ax = draw_graph(g, vals, math=False)
    texts = [t for lines in node_lines(ax).values() for t in lines]
    assert "= 21" in texts and "∂j/∂b = 9" in texts and "u = b·c" in texts
    assert _labels(ax)["b->u"] == "∂u/∂b = c"
    assert not any("$" in t for t in texts + list(_labels(ax).values()))


def test_labels_fall_back_to_unicode_where_mathtext_cannot_render():
    # relu's derivative is a Piecewise: LaTeX \begin{cases}, which mathtext does not know
    g = expression_graph(sp.Add(relu(x), x, evaluate=False))
    assert not mathtext_ok(r"\begin{cases} 1 & x > 0 \\ 0 & \text{otherwise} \end{cases}")
    labels = _labels(draw_graph(g, forward_backward(g, {x: 2})))
    assert labels["x->u"] == "∂u/∂x = {1 if x > 0; 0 otherwise}"
    assert labels["u->j"] == r"$\partial j/\partial u = 1$"  # the others stay mathtext


def test_drawing_renders_on_given_axes_and_without_values(toy, tmp_path):
    g, _ = toy
    fig = Figure(figsize=(10, 4))
    ax = fig.add_subplot()
    assert draw_graph(g, ax=ax) is ax
    assert node_lines(ax)["u"] == ["$u = b c$"] and node_lines(ax)["a"] == ["$a$"]
    fig.savefig(tmp_path / "given.png")  # every mathtext string renders
    assert (tmp_path / "given.png").stat().st_size > 0


def test_numbers():
    assert format_number(sp.Integer(21)) == "21"
    assert format_number(sp.Integer(-3)) == "−3"
    assert format_number(sp.Rational(1, 3)) == "1/3"
    assert format_number(sp.Rational(1, 3), latex=True) == r"\frac{1}{3}"
    assert format_number(sp.Rational(123456, 7)) == "1.764×10⁴"
    assert format_number(sp.sqrt(2)) == "1.414"
    assert format_number(0.1 + 0.2) == "0.3"
    assert format_number(3.0) == "3"
    assert format_number(-0.0) == "0"
    assert format_number(sp.Integer(10) ** 12) == "1×10¹²"
    g = expression_graph(sp.Mul(a, b, evaluate=False))
    lines = node_lines(draw_graph(g, forward_backward(g, {a: sp.Rational(1, 2), b: 0.3})))
    assert lines["j"][1] == "$= 0.15$"
    assert lines["a"] == ["$a = 1/2$", r"$\partial j/\partial a = 0.3$"]


# --- TikZ ----------------------------------------------------------------------------------------


def test_tikz_has_every_node_and_edge(toy):
    g, vals = toy
    tikz = to_tikz(g, vals)
    assert tikz.count(r"\node[") == 6
    for name in "abcuvj":
        assert f"({name}) at" in tikz
    for s, t in _edge_set(g):
        assert f"({s}) -- node" in tikz and tikz.count(f"({s}) --") >= 1
        assert [line for line in tikz.splitlines() if f"({s}) --" in line and f"({t});" in line]
    assert tikz.count(r"\draw[edge]") == 5
    assert r"{$\partial u/\partial b = c$}" in tikz
    assert r"\partial j/\partial b = 9" in tikz and "$= 21$" in tikz


def _pdflatex(tex: str, folder: Path) -> Path:
    exe = shutil.which("pdflatex")
    assert exe, "pdflatex is required (TeX Live with pgf/TikZ; scripts/test.sh installs it)"
    (folder / "graph.tex").write_text(tex, encoding="utf-8")
    run = subprocess.run(
        [exe, "-interaction=nonstopmode", "-halt-on-error", "graph.tex"],
        cwd=folder, capture_output=True, text=True, timeout=120,
        env={**os.environ, "TEXMFOUTPUT": str(folder)},
    )
    assert run.returncode == 0, run.stdout[-3000:]
    pdf = folder / "graph.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    return pdf


def test_tikz_document_compiles_with_pdflatex(toy, tmp_path):
    g, vals = toy
    _pdflatex(tikz_document(g, vals), tmp_path)


def test_tikz_compiles_for_functions_fractions_and_reuse(tmp_path):
    w, yhat_i = sp.symbols("w yhat_i", real=True)
    expr = sp.Add(sp.Mul(x, x, evaluate=False), relu(w * x), sp.log(sp.Add(1, -yhat_i,
                                                                             evaluate=False)),
                  x, evaluate=False)
    g = expression_graph(expr)
    vals = forward_backward(g, {x: sp.Rational(1, 3), w: 2, yhat_i: sp.Rational(1, 4)})
    tikz = to_tikz(g, vals)
    assert r"\begin{cases}" in tikz and r"\frac{1}{3}" in tikz and r"\hat{y}_{i}" in tikz
    _pdflatex(tikz_document(g, vals), tmp_path)


# --- files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("ext, magic", [("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF"),
                                        ("tex", b"\\documentclass")])
def test_save_graph_formats(toy, tmp_path, ext, magic):
    g, vals = toy
    out = save_graph(g, vals, tmp_path / f"graph.{ext}")
    assert out.read_bytes().startswith(magic)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"graph.{ext}"]  # no temporary left


def test_save_graph_refuses_unknown_extensions_and_missing_folders(toy, tmp_path):
    g, vals = toy
    for name in ("graph.docx", "graph", "graph.jpg"):
        with pytest.raises(OptionError) as err:
            save_graph(g, vals, tmp_path / name)
        assert "\n" not in str(err.value) and ".tex" in str(err.value)
    with pytest.raises(OptionError, match="does not exist"):
        save_graph(g, vals, tmp_path / "missing" / "graph.tex")
    assert list(tmp_path.iterdir()) == []


def test_save_graph_tex_is_atomic(toy, tmp_path, monkeypatch):
    g, vals = toy
    target = tmp_path / "graph.tex"
    target.write_text("old")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        save_graph(g, vals, target)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.tex"]

"""Typed expressions: the lecture's toy graph exactly, random expressions against autodiff and
central differences, the JSON graph contract, and hostile input refused at the command line."""

from __future__ import annotations

import json
import math

import autograd.numpy as anp
import numpy as np
import pytest
import sympy as sp
from autograd import grad
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from symgrad import derive_expr
from symgrad.cli import main
from symgrad.core.errors import DomainError, OptionError, ParseError
from symgrad.core.graph import forward_backward
from symgrad.core.parse import parse, parse_assignments
from symgrad.core.steps import Kind

a, b, c = sp.symbols("a b c", real=True)


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def test_lecture_toy_graph_exactly():
    d = derive_expr("3*(a + b*c)")
    names = {str(n.symbol): n.expr for n in d.graph.nodes}
    assert names == {
        "u": b * c,
        "v": a + sp.Symbol("u", real=True),
        "j": 3 * sp.Symbol("v", real=True),
    }
    vals = forward_backward(d.graph, {a: 1, b: 2, c: 3})
    by_name = {str(s): (vals.value[s], vals.grad[s]) for s in vals.value}
    # forward u = 6, v = 7, j = 21; backward dj/dv = 3, dj/da = 3, dj/du = 3, dj/db = 9, dj/dc = 6
    assert by_name == {
        "a": (1, 3),
        "b": (2, 9),
        "c": (3, 6),
        "u": (6, 3),
        "v": (7, 3),
        "j": (21, 1),
    }
    assert all(isinstance(v, sp.Integer) for pair in by_name.values() for v in pair)  # exact


def test_toy_graph_json_contract(capsys):
    code, out, err = run(
        capsys,
        "derive",
        "--expr",
        "3*(a + b*c)",
        "--wrt",
        "a,b,c",
        "--at",
        "a=1,b=2,c=3",
        "--format",
        "json",
    )
    assert code == 0, err
    d = json.loads(out)
    assert {k: v["value"] for k, v in d["gradient"].items()} == {"a": 3, "b": 9, "c": 6}
    assert d["loss_value"] == 21
    checks = [s["check"] for s in d["steps"] if s["kind"] != "definition"]
    assert checks and all(c["passed"] and c["against"].startswith("sympy.diff") for c in checks)
    assert all(s["check"] is None for s in d["steps"] if s["kind"] == "definition")
    assert "chain rule" in {s["rule"] for s in d["steps"]}
    nodes = {n["id"]: n for n in d["graph"]["nodes"]}
    assert set(nodes) == {"a", "b", "c", "u", "v", "j", "j.0"}  # j.0: the constant 3 in j = 3 v
    assert all(set(n) == {"id", "label", "expr", "value", "grad"} for n in nodes.values())
    assert (nodes["u"]["value"], nodes["v"]["value"], nodes["u"]["grad"]) == (6, 7, 3)
    # the constant: value 3, and dj/d3 = v = 7 (as sympy.diff of 3 v with the 3 a variable)
    assert (nodes["j.0"]["label"], nodes["j.0"]["value"], nodes["j.0"]["grad"]) == ("3", 3, 7)
    edges = {(e["from"], e["to"]): e["local_derivative"] for e in d["graph"]["edges"]}
    assert edges == {
        ("b", "u"): "c",
        ("c", "u"): "b",
        ("a", "v"): "1",
        ("u", "v"): "1",
        ("v", "j"): "3",
        ("j.0", "j"): "v",
    }


def test_text_table_and_latex(capsys):
    code, out, _ = run(capsys, "derive", "--expr", "3*(a + b*c)", "--at", "a=1,b=2,c=3")
    assert code == 0
    assert "∂j/∂b = ∂j/∂u·∂u/∂b = 3·c" in out
    rows = {line.split()[0]: line.split()[-2:] for line in out.splitlines()[-6:]}
    assert rows == {
        "a": ["1", "3"],
        "b": ["2", "9"],
        "c": ["3", "6"],
        "u": ["6", "3"],
        "v": ["7", "3"],
        "j": ["21", "1"],
    }
    code, out, _ = run(capsys, "derive", "--expr", "3*(a + b*c)", "--format", "latex")
    assert r"\frac{\partial j}{\partial b}" in out and r"\footnotesize chain rule}}" in out


def test_a_reused_node_sums_over_paths():
    # b = a + a; j = b * b: two paths from a, and b used twice
    d = derive_expr("(a + a)*(a + a)")
    assert len(d.graph.nodes) == 2  # one node for a + a, used twice
    vals = forward_backward(d.graph, {a: 3})
    assert vals.grad[a] == sp.diff(4 * a**2, a).subs(a, 3) == 24
    assert d.gradients["a"].term.subs(a, 3) == 24


def test_same_names_and_engine_as_the_catalogue():
    d = derive_expr("(w*x + b - y)^2", wrt=["w", "b"])
    # with the parameters named, w x is one leaf and the data y no node of its own
    w, x, y = sp.symbols("w x y", real=True)
    u, j = sp.symbols("u j", real=True)
    defs = [(s.lhs, s.result.doit()) for s in d.steps if s.kind.value == "definition"]
    assert defs == [(u, w * x + b - y), (j, u**2)]
    assert sp.expand(d.gradients["w"].term - sp.diff((w * x + b - y) ** 2, w)) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--expr", "3*(a + b*c)", "--at", "a=1,b=2"], "no value given for c"),
        (["--expr", "log(a)", "--at", "a=-1"], "node j = log(a) is undefined where a = -1"),
        (["--expr", "3*(a + b*c)", "--wrt", "d"], "unknown variable 'd'; choose from: a, b, c"),
        (["--expr", "foo(a)"], "unknown function 'foo'"),
        (["--expr", "2*x + y)"], "column 8"),
    ],
)
def test_bad_expressions_exit_2_naming_the_problem(capsys, argv, message):
    code, out, err = run(capsys, "derive", *argv)
    assert code == 2 and out == ""
    assert message in err
    assert "Traceback" not in err


def test_syntax_error_shows_a_caret(capsys):
    code, _, err = run(capsys, "derive", "--expr", "2*x + y)")
    lines = err.splitlines()
    assert code == 2 and lines[-2].strip() == "2*x + y)" and lines[-1].index("^") == 2 + 7


HOSTILE = [
    "__import__('os').system('touch CANARY')",
    "open('CANARY', 'w')",
    "().__class__.__bases__[0].__subclasses__()",
    "lambda: open('CANARY','w')",
    "[open('CANARY','w') for _ in a]",
    "exp(x, base=open('CANARY','w'))",
    "9**9**9**9",
    "(" * 10000 + "a" + ")" * 10000,
]


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("command", ["derive", "graph"])
def test_hostile_input_refused_nothing_run(capsys, tmp_path, monkeypatch, text, command):
    monkeypatch.chdir(tmp_path)
    extra = ["--out", str(tmp_path / "g.png")] if command == "graph" else []
    code, out, err = run(capsys, command, "--expr", text, *extra)
    assert code == 2 and out == ""
    assert err.startswith("symgrad: error:")
    assert list(tmp_path.iterdir()) == []  # no canary, no half-written figure


def test_graph_command_writes_the_figure(capsys, tmp_path):
    out_png, out_tex = tmp_path / "toy.png", tmp_path / "toy.tex"
    assert (
        run(capsys, "graph", "--expr", "3*(a + b*c)", "--at", "a=1,b=2,c=3", "--out", str(out_png))[
            0
        ]
        == 0
    )
    assert out_png.read_bytes()[:4] == b"\x89PNG"
    assert (
        run(capsys, "graph", "--expr", "3*(a + b*c)", "--at", "a=1,b=2,c=3", "--out", str(out_tex))[
            0
        ]
        == 0
    )
    assert r"\begin{tikzpicture}" in out_tex.read_text()
    code, _, err = run(capsys, "graph", "--expr", "a*b", "--out", str(tmp_path / "g.docx"))
    assert code == 2 and "cannot write '.docx'" in err and not (tmp_path / "g.docx").exists()


def test_missing_variable_is_named():
    d = derive_expr("a*b")
    with pytest.raises(OptionError, match="b"):
        forward_backward(d.graph, parse_assignments("a=1"))


def test_domain_error_names_the_node():
    d = derive_expr("sqrt(a - 2) + b")
    with pytest.raises(DomainError, match=r"node v = sqrt\(u\) is undefined where u = -1"):
        forward_backward(d.graph, {a: 1, b: 0})


# --- random expressions against autograd and central differences ----------------------------------

VARS = ("a", "b", "c")
UNARY = {
    "sigmoid": lambda t: 1 / (1 + anp.exp(-t)),
    "tanh": anp.tanh,
    "sin": anp.sin,
    "cos": anp.cos,
    "exp": lambda t: anp.exp(anp.tanh(t)),  # typed as exp(tanh(...)) to stay bounded
    "softplus": lambda t: anp.log1p(anp.exp(t)),
}
TEXT = {"exp": "exp(tanh({}))"}


def _expressions():
    leaves = st.sampled_from(VARS).map(lambda v: (v, lambda env, v=v: env[v])) | st.integers(
        1, 4
    ).map(lambda k: (str(k), lambda env, k=k: float(k)))

    def extend(children):
        binary = st.tuples(st.sampled_from("+-*"), children, children).map(
            lambda t: (
                f"({t[1][0]} {t[0]} {t[2][0]})",
                {
                    "+": lambda env, f=t[1][1], g=t[2][1]: f(env) + g(env),
                    "-": lambda env, f=t[1][1], g=t[2][1]: f(env) - g(env),
                    "*": lambda env, f=t[1][1], g=t[2][1]: f(env) * g(env),
                }[t[0]],
            )
        )
        unary = st.tuples(st.sampled_from(sorted(UNARY)), children).map(
            lambda t: (
                TEXT.get(t[0], t[0] + "({})").format(t[1][0]),
                lambda env, f=t[1][1], name=t[0]: UNARY[name](f(env)),
            )
        )
        square = children.map(lambda t: (f"({t[0]})^2", lambda env, f=t[1]: f(env) ** 2))
        return binary | unary | square

    return st.recursive(leaves, extend, max_leaves=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_expressions(), st.lists(st.floats(-2, 2), min_size=3, max_size=3))
def test_random_expression_gradients_match_autodiff_and_differences(expr, point):
    text, f = expr
    try:
        assume(parse(text).free_symbols)  # a constant has nothing to differentiate
    except ParseError:  # e.g. cos(cos(1)): constant arguments must be plain numbers
        assume(False)
    d = derive_expr(text)
    params = d.graph.params
    at = {
        s: sp.Rational(str(round(v, 3)))
        for s, v in zip(sorted(params, key=str), point, strict=False)
    }
    vals = forward_backward(d.graph, at)
    env0 = {str(s): float(v) for s, v in at.items()}
    names = [str(s) for s in params]

    def fn(theta):
        return f({**env0, **dict(zip(names, theta, strict=True))})

    theta = anp.array([env0[n] for n in names])
    auto = grad(fn)(theta)
    for k, s in enumerate(params):
        ours = float(vals.grad[s])
        assert math.isclose(ours, auto[k], rel_tol=1e-9, abs_tol=1e-9), (text, s)
        h = 1e-6
        e = np.zeros(len(names))
        e[k] = h
        fd = (fn(theta + e) - fn(theta - e)) / (2 * h)
        assert math.isclose(ours, fd, rel_tol=1e-5, abs_tol=1e-5), (text, s)
        # and the symbolic gradient the derivation prints, at the same point
        assert math.isclose(
            float(d.gradients[str(s)].term.subs(at)), ours, rel_tol=1e-12, abs_tol=1e-12
        )


def test_constant_nodes_have_gradients_like_variables(capsys):
    # j = 2 a b + 5: treating 2 and 5 as variables k, m: dj/dk = a b = 12, dj/dm = 1 at a=3, b=4
    code, out, _ = run(
        capsys, "derive", "--expr", "2*a*b + 5", "--at", "a=3,b=4", "--format", "json"
    )
    graph = json.loads(out)["graph"]
    consts = {
        n["label"]: n["grad"]
        for n in graph["nodes"]
        if n["expr"] is None and n["id"] not in ("a", "b")
    }
    k, m, a_, b_ = sp.symbols("k m a b")
    j = k * a_ * b_ + m
    at = {a_: 3, b_: 4, k: 2, m: 5}
    assert code == 0
    assert consts == {"2": sp.diff(j, k).subs(at), "5": sp.diff(j, m).subs(at)}


def test_a_subtracted_term_stays_in_its_sum():
    """1 - u is one node, as a lecturer writes it, not r = -u and then q = 1 + r."""
    d = derive_expr("a - b*c")
    defined = [f"{s.lhs} = {s.result}" for s in d.steps if s.kind is Kind.DEFINITION]
    assert defined == ["u = b*c", "j = a - u"]
    assert {name: g.named for name, g in d.gradients.items()} == {
        "a": 1, "b": -sp.Symbol("c", real=True), "c": -sp.Symbol("b", real=True)}
    typed = derive_expr("-(y*log(sigmoid(w*x)) + (1 - y)*log(1 - sigmoid(w*x)))", wrt=["w"])
    nodes = [str(s.result) for s in typed.steps if s.kind is Kind.DEFINITION]
    assert nodes[:4] == ["sigmoid(w*x)", "log(u)", "v*y", "1 - u"] and "-u" not in nodes


def test_a_label_keeps_its_place_in_a_product():
    """y is a label, not a feature: s = y·log(v) is printed y·t, as typed (features such as x go
    last: w·x)."""
    d = derive_expr("-(y*log(sigmoid(w*x + b)) + (1 - y)*log(1 - sigmoid(w*x + b)))", ["w", "b"])
    lines = [line.strip() for line in str(d).splitlines()]
    assert "s = y·t    [definition]" in lines and "u = w·x + b    [definition]" in lines

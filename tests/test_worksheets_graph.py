"""The ``graph`` kind (backprop through a typed expression): the lecture's j = 3(a + b c) and drawn
variants, re-derived with sympy.diff. Until symgrad.parse (issue 3) is on main, a stand-in parser
(SymPy's, unevaluated) lets the kind register; with the real one it is used as is."""

from __future__ import annotations

import json
import math

import _standin_parse  # noqa: F401 - symgrad.parse until issue 3 lands
import pytest
import sympy as sp

from symgrad.worksheets import KINDS, build, load_spec, register  # noqa: E402
from symgrad.worksheets.kinds.graph import GraphKind  # noqa: E402

if "graph" not in KINDS:  # imported before the stand-in parser was there
    register(GraphKind)

#: The bundled worksheet for the computational graph, to go to worksheets/ once issue 3 lands.
COMPUTATIONAL_GRAPH = """\
title = "Backpropagation through a computational graph"
course = "Deep Learning, L7"
instructions = "Go forward to fill in the values, then backward with the chain rule."
seed = 1
variants = 2

[[exercise]]
kind = "graph"
title = "The lecture's graph j = 3(a + bc)"
expr = "3*(a + b*c)"
at = { a = 1, b = 2, c = 3 }
points = 4

[[exercise]]
kind = "graph"
title = "The same graph at another point"
expr = "3*(a + b*c)"
points = 4

[exercise.at]
a = { range = [-3, 3] }
b = { range = [-3, 3], exclude = [0] }
c = { range = [-3, 3], exclude = [0] }

[[exercise]]
kind = "graph"
title = "A variant of the graph"
expr = { choice = ["2*(a*b + c)", "(a + b)*c", "a*(b + c)"] }
at = { a = { range = [1, 4] }, b = { range = [1, 4] }, c = { range = [1, 4] } }
points = 4
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    src = tmp_path_factory.mktemp("spec") / "computational_graph.toml"
    src.write_text(COMPUTATIONAL_GRAPH)
    return build(src, tmp_path_factory.mktemp("out"), formats=["tex", "pdf", "html", "md",
                                                               "moodle"])


def test_the_graph_kind_is_registered():
    assert "graph" in KINDS


def test_the_lecture_numbers(built):
    answers = json.loads((built / "seed-1" / "answers.json").read_text())
    first = {a["id"]: a["answer"]["value"] for a in answers if a["id"].startswith("1.")}
    assert first == {"1.j": 21.0, "1.da": 3.0, "1.db": 9.0, "1.dc": 6.0}


def test_answers_rederived_with_sympy(built):
    for folder in built.glob("seed-*"):
        for a in json.loads((folder / "answers.json").read_text()):
            g = a["given"]
            expr = sp.sympify(g["expr"])
            at = {sp.Symbol(k): sp.nsimplify(v) for k, v in g["point"].items()}
            target = expr if "wrt" not in g else sp.diff(expr, sp.Symbol(g["wrt"]))
            assert math.isclose(a["answer"]["value"], float(target.subs(at)), abs_tol=1e-12)
            assert a["answer"]["value"] != 0 or "wrt" not in g
        assert (folder / "solutions.pdf").read_bytes().startswith(b"%PDF")


def test_a_spec_naming_an_unset_symbol_is_an_error(tmp_path):
    p = tmp_path / "g.toml"
    p.write_text('title = "G"\n[[exercise]]\nkind = "graph"\nexpr = "a*b"\nat = { a = 1 }\n'
                 "points = 1\n")
    with pytest.raises(Exception, match=r"exercise 1 \(graph\), field 'at': no value for 'b'"):
        load_spec(p)

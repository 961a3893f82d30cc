"""The ``graph`` kind (backprop through a typed expression): the bundled worksheet with the
lecture's j = 3(a + b c) and drawn variants, re-derived with sympy.diff."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import sympy as sp

from symgrad.teaching.worksheets import KINDS, build, load_spec

SPEC = Path(__file__).resolve().parent.parent / "worksheets" / "computational_graph.toml"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(
        SPEC, tmp_path_factory.mktemp("out"), formats=["tex", "pdf", "html", "md", "moodle"]
    )


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
    p.write_text(
        'title = "G"\n[[exercise]]\nkind = "graph"\nexpr = "a*b"\nat = { a = 1 }\npoints = 1\n'
    )
    with pytest.raises(Exception, match=r"exercise 1 \(graph\), field 'at': no value for 'b'"):
        load_spec(p)

"""The interactive page without a browser: its policy, its script, the CLI flag, the spec field."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

from symgrad.core.derive import derive, derive_expr
from symgrad.core.errors import OptionError
from symgrad.teaching.interactive import render, to_js
from symgrad.teaching.worksheets.load import load_spec
from symgrad.teaching.worksheets.spec import SpecError

ROOT = Path(__file__).parent.parent


def _data(page: str) -> dict:
    return json.loads(re.search(r'id="symgrad-data">(.*?)</script>', page, re.S).group(1))


def _script(page: str) -> str:
    return re.findall(r"<script>(.*?)</script>", page, re.S)[0]


def test_csp_admits_only_the_page_script_by_its_hash() -> None:
    page = render(derive_expr("3*(a + b*c)"), at={"a": 1, "b": 2, "c": 3})
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    digest = base64.b64encode(hashlib.sha256(_script(page).encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp
    assert not re.search(r"\s(src|href)=", page)  # nothing loaded from anywhere
    assert not re.search(r"<[^>]*\son[a-z]+=", page)  # no inline handlers (the CSP forbids them)


def test_script_never_evaluates_text() -> None:
    script = _script(render(derive("bce", "logistic")))
    for bad in ("eval(", "new Function", "Function(", "setTimeout(", "setInterval(", "innerHTML",
                "document.write"):
        assert bad not in script


def test_data_cannot_close_its_script_tag() -> None:
    page = render(derive_expr("a*b"), title="</script><script>alert(1)</script>")
    assert "<script>alert(1)" not in page


def test_to_js_matches_sympy() -> None:
    """The compiled expression, with its JavaScript Math names mapped to Python's math, gives
    the value SymPy gives (an independent evaluation of the same expression)."""
    import math

    from symgrad.core.functions import sigmoid

    a, b = sp.symbols("a b", real=True)
    expr = sigmoid(a * b) * sp.log(1 + a**2) - sp.Max(a, 0) / b
    js = to_js(expr)
    py = (js.replace("Math.", "math.").replace('E.s.get("a")', "A").replace('E.s.get("b")', "B")
          .replace("math.max", "max"))
    for A, B in ((0.7, -1.3), (-2.0, 0.4)):
        want = float(expr.subs({a: A, b: B}).rewrite(sp.exp))
        assert eval(py, {"math": math, "max": max, "A": A, "B": B}) == pytest.approx(want)


def test_point_only_for_typed_expressions_and_reveal_checked() -> None:
    with pytest.raises(OptionError, match="typed expressions"):
        render(derive("mse", "linear"), at={"w": 1})
    with pytest.raises(OptionError, match="unknown reveal"):
        render(derive_expr("a*b"), reveal="sometimes")


def test_cli_interactive_needs_html() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "symgrad", "derive", "mse", "--interactive"],
        capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip().endswith("--interactive is a kind of HTML page: add --format html")


def test_spec_reveal(tmp_path: Path) -> None:
    spec = tmp_path / "s.toml"
    body = '[[exercise]]\nkind = "activation"\nactivation = "relu"\nz = 1\npoints = 1\n'
    spec.write_text('title = "T"\nreveal = "after_correct"\n' + body)
    assert load_spec(spec).reveal == "after_correct"
    spec.write_text('title = "T"\nreveal = "soon"\n' + body)
    with pytest.raises(SpecError, match="field 'reveal'"):
        load_spec(spec)


def test_typed_text_in_the_page_title_is_code_not_prose():
    """The page's heading sets what the user typed as code, as the other printers' titles do."""
    html = render(derive_expr("3*x^2 + a*b*c"))
    assert "<h1>Gradient of <code>3*x^2 + a*b*c</code></h1>" in html
    assert "<title>Gradient of 3*x^2 + a*b*c</title>" in html
    assert "<h1>Gradient of the mean squared error" in render(derive("mse", "linear"))


def test_kinks_of_piecewise_answers() -> None:
    """The kinks the page keeps its points off and on both sides of: every Piecewise condition,
    abs, sign, step, max (as verify finds them), per sample inside a sum, compiled into F."""
    from symgrad.core.functions import relu
    from symgrad.teaching.interactive import kinks

    w, x, b, z = sp.symbols("w x b z", real=True)
    assert kinks(relu(w * x + b)) == [b + w * x]
    assert kinks(sp.Heaviside(z - 1) + sp.sign(z) + sp.Max(z, 2)) == [z, 2 - z, z - 1]
    assert kinks(w * x + b) == []
    page = render(derive_expr("relu(w*x + b)"))
    data = _data(page)
    code = re.findall(r"function \(E, K\) \{ return (.*?); \}", _script(page))
    gaps = {code[k] for k in data["point"]["kinks"]}
    assert 'E.s.get("v")' in gaps  # relu(v)'s kink, v = w x + b
    assert 'E.s.get("b") + E.s.get("w")*E.s.get("x")' in gaps  # the gradient written out
    assert "where(z &gt; 0, a, b)" in page  # the hint, as the page has piecewise answers
    assert "where(z &gt; 0" not in render(derive_expr("a*b"))
    hinge = render(derive("hinge", "linear"))
    code = re.findall(r"function \(E, K\) \{ return (.*?); \}", _script(hinge))
    per_sample = [code[k] for k in _data(hinge)["point"]["kinks"]]
    assert per_sample and all("E.k[K]" in g for g in per_sample)  # per sample: F[g](E, j)


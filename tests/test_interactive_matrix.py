"""The matrix derivation's interactive page without a browser: its policy and script, the values
it embeds (against central differences of a NumPy loss), the CLI flag and ``practice()``."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from symgrad.core.errors import OptionError
from symgrad.core.matrix_derive import derive_matrix
from symgrad.teaching.interactive_matrix import render

ROOT = Path(__file__).parent.parent
MSE = ("sum((X*w - y)^2)/N", "X: N x d, w: d, y: N")


def _script(page: str) -> str:
    return re.findall(r"<script>(.*?)</script>", page, re.S)[0]


def _data(page: str) -> dict:
    blob = re.search(r'<script type="application/json" id="symgrad-data">(.*?)</script>', page,
                     re.S).group(1)
    return json.loads(blob)


def test_csp_by_hash_and_no_evaluation_of_text() -> None:
    page = render(derive_matrix(*MSE, wrt="w"))
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    digest = base64.b64encode(hashlib.sha256(_script(page).encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp and "connect-src 'none'" in csp
    assert not re.search(r"\s(src|href)=", page) and not re.search(r"<[^>]*\son[a-z]+=", page)
    for bad in ("eval(", "new Function", "Function(", "setTimeout(", "innerHTML",
                "document.write"):
        assert bad not in _script(page)


def _numpy_loss(text: str):
    """The losses below written again in NumPy (independent of the engine)."""
    return {
        MSE[0]: lambda v: np.sum((v["X"] @ v["w"] - v["y"]) ** 2) / len(v["y"]),
        "norm(A*x - b)^2 + lam*norm(x)^2":
            lambda v: np.sum((v["A"] @ v["x"] - v["b"]) ** 2) + v["lambda"] * np.sum(v["x"] ** 2),
        "mean(log(1 + exp(-y .* (X*w))))":
            lambda v: np.mean(np.log(1 + np.exp(-v["y"] * (v["X"] @ v["w"])))),
    }[text]


@pytest.mark.parametrize("text, shapes, wrt", [
    (*MSE, "w"),
    ("norm(A*x - b)^2 + lam*norm(x)^2", "A: m x n, x: n, b: m, lam: scalar", "x"),
    ("mean(log(1 + exp(-y .* (X*w))))", "X: N x d, w: d, y: N", "w"),
])
def test_embedded_values_against_central_differences(text, shapes, wrt) -> None:
    """What the page compares a student's answer with: the gradient's values at the embedded
    matrices equal central differences of the loss written in NumPy at those matrices; the
    named mistakes' values are the gradient transformed (sign, factor 2)."""
    d = derive_matrix(text, shapes, wrt=wrt)
    data = _data(render(d))
    q = next(q for q in data["questions"] if q["id"] == f"grad-{wrt}")
    loss = _numpy_loss(text)
    assert len(data["points"]) == 2 and {p["sizes"]["N" if "N" in p["sizes"] else "m"]
                                         for p in data["points"]} != {1}
    for point, expected in zip(data["points"], q["expected"], strict=True):
        v = {k: np.array(m, dtype=float) for k, m in point["values"].items() if k in d.shapes}
        v = {k: (m[0, 0] if m.shape == (1, 1) else m) for k, m in v.items()}
        want = np.zeros_like(v[wrt])
        h = 1e-6
        for idx in np.ndindex(*v[wrt].shape):
            up, down = dict(v), dict(v)
            up[wrt], down[wrt] = v[wrt].copy(), v[wrt].copy()
            up[wrt][idx] += h
            down[wrt][idx] -= h
            want[idx] = (loss(up) - loss(down)) / (2 * h)
        assert np.allclose(np.array(expected), want, rtol=1e-6, atol=1e-8)
    mistakes = {m["name"]: m["values"] for m in q["mistakes"]}
    for k, expected in enumerate(q["expected"]):
        assert np.allclose(mistakes["sign"][0][k], -np.array(expected))
        assert np.allclose(mistakes["factor_2"][0][k], 2 * np.array(expected))
    assert q["shape"] == d.gradients[wrt].shape_list[0] and "(" + q["shape"] + ",)" in q["accepts"]


def test_every_derivative_step_is_a_question_with_its_shape() -> None:
    d = derive_matrix("mean(log(1 + exp(-y .* (X*w))))", "X: N x d, w: d, y: N", wrt="w")
    page = render(d)
    data = _data(page)
    asked = [q for q in data["questions"] if q["id"].startswith("step-")]
    derivatives = [s for s in d.steps if s.kind.value != "definition"]
    assert [q["lhs"] for q in asked] == [str(s.lhs) for s in derivatives]
    assert [q["shape"] for q in asked] == ["N", "N", "d"]
    assert page.count('class="step"') == len(d.steps) and "∈" not in data["names"]
    assert data["square"]["sizes"] == {"N": 2, "d": 2}  # a dropped transpose conforms there


def test_reveal_checked_and_practice() -> None:
    d = derive_matrix(*MSE, wrt="w")
    with pytest.raises(OptionError, match="unknown reveal"):
        render(d, reveal="sometimes")
    assert d.practice()._repr_html_().startswith("<iframe")


def test_cli_interactive_matrix_page() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "symgrad", "derive", "--expr", MSE[0], "--shapes", MSE[1],
         "--wrt", "w", "--format", "html", "--interactive"],
        capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("<!DOCTYPE html>") and 'data-q="grad-w"' in run.stdout
    run = subprocess.run(
        [sys.executable, "-m", "symgrad", "derive", "--expr", MSE[0], "--shapes", MSE[1],
         "--wrt", "w", "--interactive"],
        capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip().endswith("--interactive is a kind of HTML page: add --format html")


def test_the_heading_sets_the_typed_expression_as_code() -> None:
    """Like the scalar page and the other printers: the words, then what was typed, as code."""
    d = derive_matrix("sum((X*w - y)^2)/N", "X: N x d, w: d, y: N", wrt=["w"])
    html = render(d)
    assert "<h1>Gradient of <code>sum((X*w - y)^2)/N</code></h1>" in html
    assert "<h1>Least squares</h1>" in render(d, title="Least squares")

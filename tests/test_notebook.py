"""Every result object in a real Jupyter kernel: a notebook executed with nbclient.

The notebook creates a Derivation, a FitResult, a CheckResult, a Network, a TrainResult and a
figure. Each result's output must carry text/html with its title in a left-aligned block at
body-text size; a Derivation's text/latex must be MathJax-ready (one ``$$…$$`` block, no
``\\intertext``, ``\\parbox`` or ``align*``); the figure must come out as image/png. The outputs'
HTML is opened in Chromium and kept as a screenshot under tests/artifacts/ (ignored by git).
The kernel is the test's own Python (a kernelspec written for ``sys.executable``).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).parent.parent
ARTIFACTS = Path(__file__).parent / "artifacts"

CELLS = {  # name -> (code, the title its HTML must show)
    "derivation": ('import symgrad\nsymgrad.derive("bce", "logistic")',
                   "Gradient of the binary cross-entropy with the logistic model"),
    "matrix": ('symgrad.derive_matrix("sum((X*w - y)^2)/N", "X: N x d, w: d, y: N", "w")',
               "Gradient of sum((X*w - y)^2)/N"),
    "fit": ('symgrad.fit("mse", "linear", lr=0.1, standardize=True)',
            "Fit of the linear model to the mean squared error"),
    "check": ('symgrad.check_answer("-(2/N)*sum((yhat - y)*x)", "mse", wrt="w")',
              "Check of your answer: not correct"),
    "network": ('symgrad.network("2,3,1", "relu,sigmoid", "bce")',
                "Network 2-3-1: ReLU, sigmoid; binary cross-entropy"),
    "train": ("from symgrad.numerics.train import gradient_descent\n"
              'gradient_descent(lambda p, i: (p["w"] ** 2, {"w": 2 * p["w"]}), {"w": 1.0}, 1, '
              "lr=0.25)", "Gradient descent"),
    "figure": ("plots = symgrad.plots\n"
               "plots.plot_loss_curve(problem=plots.make_problem(), max_iter=20).figure", ""),
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, dict]:
    """The notebook executed in a kernel running this Python; each cell's result data by name."""
    home = tmp_path_factory.mktemp("jupyter")
    spec = home / "kernels" / "symgrad-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "symgrad test", "language": "python",
        "env": {"PYTHONPATH": str(ROOT), "MPLBACKEND": "module://matplotlib_inline.backend_inline"},
    }))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code) for code, _ in CELLS.values()]
    mp = pytest.MonkeyPatch()
    mp.setenv("JUPYTER_PATH", str(home))
    mp.setenv("JUPYTER_RUNTIME_DIR", str(home / "runtime"))
    try:
        nbclient.NotebookClient(nb, kernel_name="symgrad-test", timeout=600,
                                resources={"metadata": {"path": str(home)}}).execute()
    finally:
        mp.undo()
    out = {}
    for name, cell in zip(CELLS, nb.cells, strict=True):
        results = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert len(results) == 1, (name, cell.outputs)
        out[name] = results[0].data
    return out


@pytest.mark.parametrize("name", [n for n, (_, title) in CELLS.items() if title])
def test_each_result_shows_left_aligned_with_its_title(outputs, name: str) -> None:
    shown = outputs[name]["text/html"]
    assert f"<strong>{CELLS[name][1]}" in shown
    first = re.match(r'<div class="symgrad" style="([^"]*)"', shown)
    assert first, shown[:200]  # the whole output is one styled block
    assert "text-align:left" in first.group(1) and "font-size:1em" in first.group(1)
    assert not shown.startswith("<pre")


@pytest.mark.parametrize("name", ["derivation", "matrix"])
def test_derivation_latex_is_mathjax_ready(outputs, name: str) -> None:
    tex = outputs[name]["text/latex"]
    assert tex.startswith("$$\\begin{aligned}") and tex.endswith("\\end{aligned}$$")
    assert tex.count("$$") == 2
    for unsupported in ("\\intertext", "\\parbox", "align*", "\\splitfrac"):
        assert unsupported not in tex


def test_figure_displays_inline(outputs) -> None:
    png = outputs["figure"]["image/png"]
    assert isinstance(png, str) and len(png) > 5000  # base64 of a drawn figure


def test_outputs_in_a_browser(outputs, browser, tmp_path: Path) -> None:
    """The outputs' HTML in Chromium: each title's block starts at the left edge, at body size."""
    blocks = "\n".join(outputs[n]["text/html"] for n, (_, t) in CELLS.items() if t)
    png = outputs["figure"]["image/png"]
    page_html = (f'<!DOCTYPE html><html><body style="font-size:16px;text-align:center">{blocks}'
                 f'<img src="data:image/png;base64,{png}"></body></html>')
    path = tmp_path / "outputs.html"
    path.write_text(page_html, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1024, "height": 800})
    page.goto(path.as_uri())
    found = page.evaluate("""() => [...document.querySelectorAll("div.symgrad")].map(d => {
        const s = d.querySelector("strong"), r = s.getBoundingClientRect();
        return [s.textContent, r.left, parseFloat(getComputedStyle(d).fontSize)];
    })""")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "notebook-outputs.png"), full_page=True)
    page.close()
    assert [t for t, _, _ in found] == [t for _, t in CELLS.values() if t]
    for title, left, size in found:  # the page centres text; the blocks stay left-aligned
        assert left < 20 and size == 16, (title, left, size)

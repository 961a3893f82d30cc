"""No math block wider than its column: every HTML page symgrad builds, measured in a real browser.

Debian's Chromium, driven by Playwright, opens at a 1024 px wide window every bundled sheet's HTML
edition (exercises and solutions, two seeds) and ``derive --format html --standalone`` for every
catalogue loss and model (features, classes, an L2 penalty), networks (layer level, expanded 2-2-1
and 2-3-1) and typed expressions. A page fails when a ``math`` element is wider than the block that
contains it, runs past the right edge of the page's text column, or scrolls inside itself, or when
a table is wider than the column. Screenshots go to tests/artifacts/pages/ (ignored by git).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _matrix_examples import EXAMPLES

from symgrad.core.derive import derive, derive_expr
from symgrad.core.matrix_derive import derive_matrix
from symgrad.models.network import network
from symgrad.render import html
from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
from symgrad.teaching.worksheets.export import EDITIONS, to_html

playwright = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(__file__).parent / "artifacts" / "pages"
SEEDS = (1, 2)

#: Every offence on the page as one line: math wider than its containing block or past the
#: column's right edge, math scrolling inside itself, a table wider than the column.
MEASURE = """() => {
  const body = document.body, cs = getComputedStyle(body), box = body.getBoundingClientRect();
  const right = box.right - parseFloat(cs.paddingRight) + 1;
  const column = box.width - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) + 1;
  const block = el => {
    let p = el.parentElement;
    while (p && getComputedStyle(p).display.startsWith("inline")) p = p.parentElement;
    return p;
  };
  const out = [];
  for (const m of document.querySelectorAll("math")) {
    const r = m.getBoundingClientRect(), b = block(m), text = m.textContent.slice(0, 60);
    if (r.width > b.clientWidth + 1)
      out.push(`math ${r.width.toFixed(0)} px in a ${b.clientWidth} px block: ${text}`);
    if (r.right > right) out.push(`math ends ${(r.right - right).toFixed(0)} px past: ${text}`);
    if (m.scrollWidth > m.clientWidth + 1) out.push(`math scrolls: ${text}`);
  }
  for (const t of document.querySelectorAll("table")) {
    const w = t.getBoundingClientRect().width;
    if (w > column) out.push(`table ${w.toFixed(0)} px in a ${column.toFixed(0)} px column`);
  }
  if (document.documentElement.scrollWidth > window.innerWidth)
    out.push(`page scrolls sideways: ${document.documentElement.scrollWidth} px`);
  return out;
}"""


MATRIX = EXAMPLES  # the examples (issue 17)


def _worksheets() -> dict[str, str]:
    pages = {}
    for path in sorted(bundled_dir().glob("*.toml")):
        spec = load_spec(path)
        for seed in SEEDS:
            v = generate(spec, seed)
            for ed in EDITIONS:
                pages[f"{path.stem}-{seed}-{ed}"] = to_html(v, ed)
    return pages


def _derivations() -> dict[str, str]:
    ds = {
        "mse-linear": derive("mse", "linear"),
        "mse-linear-3-features-l2": derive("mse", "linear", features=3, l2=0.1),
        "mse-logistic": derive("mse", "logistic"),
        "bce-logistic-3-features": derive("bce", "logistic", features=3),
        "bce-logistic-l2": derive("bce", "logistic", l2=0.5),
        "cross_entropy-3-classes": derive("cross_entropy", "linear", classes=3),
        "cross_entropy-2-features-4-classes": derive("cross_entropy", "linear", features=2,
                                                     classes=4),
        "expr-typed-bce": derive_expr(
            "z = w*x + b; yhat = sigmoid(z); L = mean(-(y*log(yhat) + (1-y)*log(1-yhat)))",
            wrt=("w", "b")),
        "expr-x_1-w_1": derive_expr("x_1*w_1 + b_0"),
        "expr-nested": derive_expr(
            "log(1 + exp(-(w_1*x_1 + w_2*x_2 + b)))^2 * sigmoid(a*b*c)"),
        "mlp-2,3,1-layers": network("2,3,1", "relu,sigmoid", "bce").derive(),
        "mlp-2,4,3-layers": network("2,4,3", "tanh,softmax", "cross_entropy").derive(),
        "mlp-2,2,1-expanded": network("2,2,1", "tanh,sigmoid", "bce").derive(expanded=True),
        "mlp-2,3,1-expanded": network("2,3,1", "relu,sigmoid", "bce").derive(expanded=True),
        "mlp-2,2,1-leaky_relu-mse": network("2,2,1", "leaky_relu,identity", "mse").derive(
            expanded=True),
        **{f"matrix-{name.replace(' ', '-')}": derive_matrix(*case)
           for name, case in MATRIX.items()},
    }
    return {name: html.document(html.render(d), d.title) for name, d in ds.items()}


PAGES = {**_derivations(), **_worksheets()}



@pytest.mark.parametrize("name", sorted(PAGES))
def test_no_math_wider_than_its_column(browser, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.html"
    path.write_text(PAGES[name], encoding="utf-8")
    context = browser.new_context(viewport={"width": 1024, "height": 800})
    page = context.new_page()
    page.goto(path.as_uri())
    offences = page.evaluate(MEASURE)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()
    assert offences == [], f"{name}: " + "; ".join(offences)


def test_the_measure_can_fail(browser, tmp_path: Path) -> None:
    """A formula far wider than the column is caught (the test above can fail)."""
    wide = " + ".join(f"w_{{{k}}} x_{{{k}}}" for k in range(80))
    path = tmp_path / "wide.html"
    path.write_text(html.document(f"<p>{html.mathml(wide, True)}</p>"), encoding="utf-8")
    context = browser.new_context(viewport={"width": 1024, "height": 800})
    page = context.new_page()
    page.goto(path.as_uri())
    offences = page.evaluate(MEASURE)
    context.close()
    assert any(o.startswith("math ") for o in offences), offences

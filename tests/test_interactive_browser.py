"""The interactive page in a real browser: Debian's Chromium driven by Playwright, offline.

Steps the forward and backward pass of j = 3(a + bc) at a = 1, b = 2, c = 3 and reads the values
from the page; types a right and a wrong dL/dw of the MSE; refuses hostile text; asserts that no
request left the file; keeps screenshots under tests/artifacts/ (ignored by git).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

from symgrad.core.derive import derive, derive_expr
from symgrad.core.functions import relu
from symgrad.teaching.interactive import render, to_js

playwright = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(__file__).parent / "artifacts"
ROOT = Path(__file__).parent.parent



def _open(browser, path: Path):
    """A fresh page on ``path``, recording every request and every script error."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    seen: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri())
    page.wait_for_selector("html[data-ready]", state="attached", timeout=10_000)
    return page, seen, errors


def _offline(path: Path, page, seen: list[str], errors: list[str]) -> None:
    assert seen and set(seen) == {path.as_uri()}, seen  # nothing but the file itself
    csp = page.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content")
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert errors == []  # the CSP admitted the script (its hash) and it ran without an error


def test_graph_forward_and_backward(browser, tmp_path: Path) -> None:
    path = tmp_path / "j.html"
    path.write_text(render(derive_expr("3*(a + b*c)"), at={"a": 1, "b": 2, "c": 3}))
    page, seen, errors = _open(browser, path)
    value = lambda s: page.text_content(f'[data-node="{s}"] .value')  # noqa: E731
    grad = lambda s: page.text_content(f'[data-node="{s}"] .grad')  # noqa: E731
    assert value("j") == "" and grad("a") == ""
    for _ in range(5):  # a, b, c, u, v
        page.click("#play-next")
    assert [value(s) for s in "abcuv"] == ["= 1", "= 2", "= 3", "= 6", "= 7"]
    assert value("j") == ""  # node by node: j not yet
    page.fill("#play-answer", "3*v")  # the student predicts j from the values so far
    page.keyboard.press("Enter")
    assert page.text_content("#play-verdict") == "Correct."
    page.click("#play-next")
    assert value("j") == "= 21"
    assert "Forward pass: 6 of 6" in page.text_content("#play-status")
    page.fill("#play-answer", "2")  # the output's own gradient is 1
    page.click("#play-check")
    assert page.text_content("#play-verdict").startswith("Not correct")
    for _ in range(6):  # j, v, u, then the inputs a, b, c
        page.click("#play-next")
    assert [grad(s) for s in "abc"] == ["∂j/∂a = 3", "∂j/∂b = 9", "∂j/∂c = 6"]
    edge = page.text_content('#graph .edge:has(text.local:text("∂u/∂b")) .adjoint')
    assert edge == "3 × 3"  # upstream ∂j/∂u = 3 times the local ∂u/∂b = c = 3
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "interactive-graph.png"), full_page=True)
    # progress is kept: a reload shows the same state; reset clears it
    page.reload()
    page.wait_for_selector("html[data-ready]", state="attached")
    assert grad("b") == "∂j/∂b = 9"
    page.click("#reset")
    assert grad("b") == "" and value("a") == ""
    _offline(path, page, seen, errors)


def test_steps_one_at_a_time(browser, tmp_path: Path) -> None:
    path = tmp_path / "steps.html"
    path.write_text(render(derive_expr("3*(a + b*c)")))
    page, seen, errors = _open(browser, path)
    steps = page.locator("li.step")
    visible = lambda: sum(steps.nth(k).is_visible() for k in range(steps.count()))  # noqa: E731
    assert visible() == 0
    page.focus("#step-next")  # keyboard only
    for _ in range(3):
        page.keyboard.press("Enter")
    assert visible() == 3 and "3 of 13" in page.text_content("#step-status")
    assert page.get_attribute("#step-answer", "aria-label") == "Your answer for ∂u/∂b"
    page.fill("#step-answer", "c")
    page.keyboard.press("Enter")
    assert page.text_content("#step-verdict") == "Correct."
    page.click("#step-next")
    assert "constant multiple rule" in steps.nth(3).inner_text()
    page.fill("#step-answer", "c")  # ∂u/∂c is b
    page.click("#step-check")
    assert page.text_content("#step-verdict").startswith("Not correct")
    page.click("#step-prev")
    assert visible() == 3
    page.click("#step-all")
    assert visible() == 13
    _offline(path, page, seen, errors)


def test_mse_answers_and_hostile_text(browser, tmp_path: Path) -> None:
    path = tmp_path / "mse.html"
    path.write_text(render(derive("mse", "linear"), title="MSE with a line"))
    page, seen, errors = _open(browser, path)
    verdict = "#grad-w-verdict"
    solution = '[data-q="grad-w"] .solution'
    assert not page.is_visible(solution)  # revealed only after an attempt

    def answer(text: str) -> str:
        page.fill("#grad-w-in", text)
        page.click('[data-q="grad-w"] button.check')
        return page.text_content(verdict)

    assert answer("(2/N)*sum((w*x_i + b - y_i)*x_i)") == "Correct."
    assert answer("2/N * sum(u*x)") == "Correct."  # the lecture's names
    said = answer("2*u*x_i")  # the lecture's slide: the gradient of one sample's loss
    assert said.startswith("Not correct. Known mistake: missing_1_over_N, missing_sum.")
    assert page.get_attribute(verdict, "data-mistakes") == "missing_1_over_N,missing_sum"
    assert "the 1/N stays in front" in said
    assert page.is_visible(solution)
    assert "sign" in answer("-(2/N)*sum((yhat - y)*x)")
    assert answer("x + 1").startswith("Not correct, and not one of the known mistakes")
    hostile = {
        "<script>alert(1)</script>": "unexpected '<' at column 1",
        "alert(1)": "unknown function 'alert'",
        "w = 1": "'=' is not allowed (column 3)",
        "constructor": "unknown name 'constructor'",
        "__proto__": "a name starts with a letter, not '_'",
        "w.constructor": "'.' is not allowed",
        "x" * 10_000: "too long: at most 2000 characters",
        "(" * 150 + "w" + ")" * 150: "nested too deeply",
        "sigmoid": "'sigmoid' is a function",
    }
    for text, message in hostile.items():
        said = answer(text)
        assert said.startswith("Not read:") and message in said, (text[:20], said)
    assert page.evaluate("typeof window.alert") == "function"  # nothing ran
    # b: the other question of the page
    page.fill("#grad-b-in", "(2/N)*sum(yhat - y)")
    page.keyboard.press("Enter")
    assert page.text_content("#grad-b-verdict") == "Correct."
    page.set_viewport_size({"width": 900, "height": 900})
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "interactive-mse.png"), full_page=True)
    _offline(path, page, seen, errors)


def test_cli_page_opens(browser, tmp_path: Path) -> None:
    """``symgrad derive --expr ... --format html --interactive`` writes the same kind of page."""
    out = subprocess.run(
        [sys.executable, "-m", "symgrad", "derive", "--expr", "sigmoid(w*x + b)", "--at",
         "w=1/2,x=2,b=-1", "--format", "html", "--interactive"],
        capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)}, check=True,
    ).stdout
    path = tmp_path / "cli.html"
    path.write_text(out)
    page, seen, errors = _open(browser, path)
    page.click("#play-all")
    assert page.text_content('[data-node="j"] .value') == "= 1/2"  # σ(0)
    page.fill("#grad-w-in", "sigmoid(w*x+b)*(1-sigmoid(w*x+b))*x")
    page.keyboard.press("Enter")
    assert page.text_content("#grad-w-verdict") == "Correct."
    page.fill("#grad-w-in", "sigmoid(w*x+b)*x")
    page.keyboard.press("Enter")
    assert "sigma_prime_as_sigma" in page.text_content("#grad-w-verdict")
    _offline(path, page, seen, errors)


def test_worksheet_page(browser, tmp_path: Path) -> None:
    """The ``interactive`` worksheet format: answers checked in the page within their tolerance,
    the solution shown after an attempt (the spec's default ``reveal``)."""
    from symgrad.teaching.worksheets import build

    out = build(ROOT / "worksheets" / "computational_graph.toml", tmp_path, variants=1,
                formats=["interactive"])
    path = next(Path(out).rglob("interactive.html"))
    page, seen, errors = _open(browser, path)
    first = page.locator(".question").first
    question = first.get_attribute("data-q")
    data = page.evaluate("JSON.parse(document.getElementById('symgrad-data').textContent)")
    value = next(q["value"] for q in data["questions"] if q["id"] == question)
    assert not page.is_visible("#solution-1")
    first.locator("input").fill(str(value + 1))
    first.locator("button").click()
    assert first.locator(".verdict").text_content().startswith("Not correct")
    assert page.is_visible("#solution-1")  # after an attempt
    first.locator("input").fill(repr(value))
    first.locator("input").press("Enter")
    assert first.locator(".verdict").text_content() == "Correct."
    assert not page.is_visible("#solution-2")
    _offline(path, page, seen, errors)


def _answers(page, q: str):
    def answer(text: str) -> str:
        page.fill(f"#grad-{q}-in", text)
        page.click(f'[data-q="grad-{q}"] button.check')
        return page.text_content(f"#grad-{q}-verdict")
    return answer


def test_where_answers_relu(browser, tmp_path: Path) -> None:
    """where(condition, a, b), read as core/parse.py reads it: relu(w*x + b)'s derivative written
    piecewise is right, without its kink wrong; malformed and hostile text refused in one line."""
    out = subprocess.run(
        [sys.executable, "-m", "symgrad", "derive", "--expr", "relu(w*x + b)", "--format", "html",
         "--interactive"],
        capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)}, check=True,
    ).stdout
    path = tmp_path / "relu.html"
    path.write_text(out)
    page, seen, errors = _open(browser, path)
    answer = _answers(page, "w")
    for right in ("where(w*x + b > 0, x, 0)", "where(b > -w*x, x, 0)", "where((w*x+b >= 0), x, 0)",
                  "x*step(w*x + b)", "where(w*x + b <= 0, 0, x)"):
        assert answer(right) == "Correct.", right
    for wrong in ("x", "where(w*x + b < 0, x, 0)", "where(x > 0, x, 0)",
                  "where(w*x + b > 0, 1, 0)"):
        assert answer(wrong).startswith("Not correct"), wrong
    assert answer("where(w*x + b > 0, w, 0)").startswith("Not correct")  # dL/db's, not dL/dw's
    refused = {
        "where(x, 1)": "where() takes 3 arguments, got 2 (column 1)",
        "where(x, 1, 0)": "the first argument of where() must be a comparison like z > 0",
        "where(x == 0, 1, 0)": "where() compares two terms with one of <, <=, >, >= (column 7)",
        "where(0 < x < 1, 1, 0)": "where() compares two terms with one of <, <=, >, >=",
        "x*(w*x + b > 0)": "a comparison (<, ==, ...) outside where(condition, a, b) is not "
                           "allowed (column 4)",
        "where(x > 0, x > 1, 0)": "outside where(condition, a, b) is not allowed (column 14)",
        "w*x + b > 0": "outside where(condition, a, b)",
        "where(x > 0, x, 0": "expected ')' at the end",
        "where": "'where' is a function; call it like where(z > 0, 1, 0)",
        "where(x >= 0; 1, 0)": "';' is not allowed (column 13)",
        "where(x > 0, constructor, 0)": "unknown name 'constructor'",
        "where(x => 0, 1, 0)": "'=' is not allowed (column 9)",
        # the sides of this condition differ only by rounding (0.1*3 is 0.30000000000000004):
        # no branch is decided by it
        "where(0.1*3 - 0.3 > 0, x, 0)": "equal up to rounding at the check points",
    }
    for text, message in refused.items():
        said = answer(text)
        assert said.startswith("Not read:") and message in said, (text, said)
        assert "\n" not in said
    # the local derivative of relu, before its step is shown: 1 everywhere is not it
    page.click("#step-all")
    page.click("#step-prev")
    while page.get_attribute("#step-answer", "aria-label") != "Your answer for ∂j/∂v":
        page.click("#step-prev")
    page.fill("#step-answer", "1")
    page.keyboard.press("Enter")
    assert page.text_content("#step-verdict").startswith("Not correct")
    page.fill("#step-answer", "where(v > 0, 1, 0)")
    page.keyboard.press("Enter")
    assert page.text_content("#step-verdict") == "Correct."
    page.fill("#grad-w-in", "where(w*x + b > 0, x, 0)")
    page.keyboard.press("Enter")
    page.fill("#grad-b-in", "where(w*x + b > 0, 1)")
    page.keyboard.press("Enter")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("section[aria-labelledby=h-practice]").screenshot(
        path=str(ARTIFACTS / "interactive-where.png"))
    _offline(path, page, seen, errors)


def test_where_both_sides_of_a_far_kink(browser, tmp_path: Path) -> None:
    """relu(x + 3): the page's usual points (|x| < 2.5) are all right of the kink at x = -3; it
    draws wider ones until a point lies on each side, so 1 is not taken for the derivative."""
    path = tmp_path / "far.html"
    path.write_text(render(derive_expr("relu(x + 3)")))
    page, seen, errors = _open(browser, path)
    answer = _answers(page, "x")
    assert answer("where(x + 3 > 0, 1, 0)") == "Correct."
    assert answer("where(x > -3, 1, 0)") == "Correct."
    assert answer("1").startswith("Not correct")
    assert answer("where(x > 0, 1, 0)").startswith("Not correct")
    _offline(path, page, seen, errors)


@pytest.mark.parametrize("loss, right, ignored", [
    ("hinge", "-(1/N)*sum(where(y*(w*x + b) < 1, y*x, 0))", "-(1/N)*sum(y*x)"),
    ("mae", "(1/N)*sum(where(w*x + b > y, x, -x))", "(1/N)*sum(x)"),
    ("huber", "(1/N)*sum(where(abs(w*x + b - y) <= 1, (w*x + b - y)*x, sign(w*x + b - y)*x))",
     "(1/N)*sum((w*x + b - y)*x)"),
])
def test_where_catalogue_losses(browser, tmp_path: Path, loss: str, right: str,
                                ignored: str) -> None:
    """A catalogue loss whose derivative is piecewise, answered with where(...) over the samples:
    right; the same without its kink (one branch everywhere) wrong; the sign flipped named."""
    path = tmp_path / f"{loss}.html"
    path.write_text(render(derive(loss, "linear")))
    page, seen, errors = _open(browser, path)
    answer = _answers(page, "w")
    assert answer(right) == "Correct."
    assert answer(ignored).startswith("Not correct")
    assert "Known mistake: sign" in answer(f"-({right})")
    _offline(path, page, seen, errors)


def test_piecewise_compiled_for_the_page_agrees_with_sympy(browser) -> None:
    """to_js of the engine's piecewise answers (where, sign, abs, step, relu) run by Chromium,
    against SymPy's own values on both sides of each kink (close to it too)."""
    z = sp.Symbol("z", real=True)
    exprs = [sp.Piecewise((2 * z, z > 1), (0, True)), sp.sign(z - 1) * z, sp.Abs(z - 1),
             sp.Heaviside(z - 1), relu(z - 1) ** 2, -sp.Piecewise((1, z >= 1), (0, True)) / 2]
    points = [-2.5, 0.5, 0.999999, 1.000001, 3.0]
    body = ",".join(f"(E) => {to_js(e)}" for e in exprs)
    program = (f"(() => {{ const F = [{body}]; return {json.dumps(points)}.map((v) => "
               "F.map((f) => f({s: new Map([['z', v]])}))); })()")
    page = browser.new_page()
    got = page.evaluate(program)
    page.close()
    for row, v in zip(got, points, strict=True):
        want = [float(e.subs(z, v)) for e in exprs]
        assert row == pytest.approx(want, rel=1e-12), v


def test_the_page_reads_symgrads_minus_sign(browser, tmp_path: Path) -> None:
    """An answer with the minus sign symgrad prints (−, U+2212), copied from its text, reads as
    '-': right when right, and the sign mistake when the sign is wrong."""
    path = tmp_path / "mse-minus.html"
    path.write_text(render(derive("mse", "linear")))
    page, seen, errors = _open(browser, path)
    answer = _answers(page, "w")
    assert answer("(2/N)*sum((w*x_i + b \u2212 y_i)*x_i)") == "Correct."
    assert "sign" in answer("\u2212(2/N)*sum((w*x_i + b - y_i)*x_i)")
    assert answer("(2/N)*sum((w*x_i + b \u2013 y_i)*x_i)").startswith("Not read:")  # en dash
    _offline(path, page, seen, errors)

"""The matrix derivation's interactive page in a real browser (Debian's Chromium, Playwright,
offline): steps through (2/N)·Xᵀ(Xw − y) and a logistic loss; types right answers (and an
equivalent form) with their shapes, a missing transpose, a wrong shape, a sign, a missing 1/N,
hostile text; asserts that no request left the file; keeps screenshots under tests/artifacts/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from symgrad.core.matrix_derive import derive_matrix
from symgrad.teaching.interactive_matrix import render
from tests.test_interactive_browser import ARTIFACTS, _offline, _open

playwright = pytest.importorskip("playwright.sync_api")

MSE = ("sum((X*w - y)^2)/N", "X: N x d, w: d, y: N")


def _answer(page, qid: str):
    def answer(text: str, shape: str = "d") -> str:
        page.fill(f"#{qid}-in", text)
        page.fill(f"#{qid}-shape", shape)
        page.click(f'[data-q="{qid}"] button.check')
        return page.text_content(f"#{qid}-verdict")
    return answer


def test_gradient_answers_shapes_and_mistakes(browser, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "m.html"
    path.write_text(render(derive_matrix(*MSE, wrt="w")))
    page, seen, errors = _open(browser, path)
    answer = _answer(page, "grad-w")
    mistakes = lambda: page.get_attribute("#grad-w-verdict", "data-mistakes")  # noqa: E731
    assert not page.is_visible('[data-q="grad-w"] .solution')
    assert answer("2/N * X'*(X*w - y)") == "Correct: the derivative and its shape."
    assert page.is_visible('[data-q="grad-w"] .solution')
    for equivalent in ("(2/N)*X.T*X*w - 2/N*transpose(X)*y", "2*X'*(z - y)/N",
                       "2./N .* (X'*X*w - X'*y)", "2/N*((X*w - y)'*X)'"):
        assert answer(equivalent).startswith("Correct"), equivalent
    for shape in ("d", " d ", "(d,)", "d x 1"):
        assert answer("2/N * X'*(X*w - y)", shape).startswith("Correct"), shape
    said = answer("2/N * X*(X*w - y)")
    assert said.startswith("Not correct, the shape is wrong: 2/N * X*(X*w - y) at column 1: "
                           "2/N * X is N×d and (X*w - y) is N; a matrix product needs d = N")
    assert "a missing transpose" in said and mistakes() == "wrong_shape,missing_transpose"
    said = answer("2/N * (X*w - y)")
    assert said == "Not correct, the shape is wrong: yours is N, ∂L/∂w is d."
    assert mistakes() == "wrong_shape"
    assert answer("-2/N * X'*(X*w - y)") == "Not correct: the sign is flipped."
    assert answer("2 * X'*(X*w - y)") == "Not correct: missing 1 over N."
    assert answer("1/N * X'*(X*w - y)") == "Not correct: a factor 2 dropped or added."
    assert answer("X'*(X*w)").startswith("Not correct, and not one of the known mistakes")
    assert answer("2/N * X'*(X*w - y)", "N").startswith("The derivative is right, but N is not")
    assert answer("2/N * X'*(X*w - y)", "").startswith("The derivative is right; now give")
    hostile = {
        "<script>alert(1)</script>": "'<' is not allowed",
        "constructor": "unknown name 'constructor'",
        "__proto__": "'_' is not allowed",
        "w.constructor": "'.' is not allowed",
        "x" * 10_000: "too long: at most 2000 characters",
        "(" * 150 + "w" + ")" * 150: "nested too deeply",
        "sigmoid": "'sigmoid' is a function",
        "w^w": "an exponent must be a number",
        "alert(1)": "unknown function 'alert'",
    }
    for text, message in hostile.items():
        said = answer(text)
        assert said.startswith("Not read:") and message in said, (text[:20], said)
    assert page.evaluate("typeof window.alert") == "function"  # nothing ran
    page.set_viewport_size({"width": 1024, "height": 900})
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "interactive-matrix.png"), full_page=True)
    _offline(path, page, seen, errors)


def test_steps_with_shapes_from_the_loss_back(browser, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "logistic.html"
    d = derive_matrix("mean(log(1 + exp(-y .* (X*w))))", "X: N x d, w: d, y: N", wrt="w")
    path.write_text(render(d))
    page, seen, errors = _open(browser, path)
    steps = page.locator("li.step")
    assert page.text_content("#step-status") == f"0 of {steps.count()} steps shown"
    k = 0
    while page.is_hidden("#step-try"):  # the definitions, each with its shape
        page.click("#step-next")
        assert "∈" in steps.nth(k).text_content() or "ℝ" in steps.nth(k).text_content()
        k += 1
    asked = d.steps[k]
    assert asked.kind.value != "definition" and page.is_hidden(f"#s{k}")
    page.fill("#step-in", "1")
    page.fill("#step-shape", "scalar")
    page.click("#step-try button.check")
    assert page.text_content("#step-verdict").startswith("Not correct")
    page.click("#step-all")
    assert page.is_hidden("#step-try") and page.is_visible(f"#s{steps.count() - 1}")
    answer = _answer(page, "grad-w")
    assert answer("X'*(sigmoid(-y .* (X*w)) .* y)/N", "d").startswith("Not correct: the sign")
    assert answer("-X'*(sigmoid(-y .* (X*w)) .* y)/N", "d").startswith("Correct")
    page.set_viewport_size({"width": 1024, "height": 900})
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "interactive-matrix-steps.png"), full_page=True)
    _offline(path, page, seen, errors)


@pytest.mark.parametrize("text, shapes, wrt, answer, shape", [
    ("norm(A*x - b)^2 + lam*norm(x)^2", "A: m x n, x: n, b: m, lam: scalar", "x",
     "2*A'*(A*x - b) + 2*lam*x", "n"),
    ("-sum(y .* log(softmax(W*x + b)))", "W: k x d, x: d, b: k, y: k", "W",
     "(softmax(W*x + b) - y)*x'", "k x d"),
    ("trace(A'*X*B)", "A: m x n, X: m x p, B: p x n", "X", "A*B'", "(m, p)"),
])
def test_course_expressions(browser, tmp_path: Path, text, shapes, wrt, answer,  # noqa: F811
                            shape) -> None:
    path = tmp_path / "c.html"
    path.write_text(render(derive_matrix(text, shapes, wrt=wrt)))
    page, seen, errors = _open(browser, path)
    assert _answer(page, f"grad-{wrt}")(answer, shape).startswith("Correct"), answer
    _offline(path, page, seen, errors)


def test_worksheet_page_checks_matrix_formulas_and_shape_spellings(browser,  # noqa: F811
                                                                   tmp_path: Path) -> None:
    """The matrix worksheet's interactive page: the formula is checked at random matrices (a
    missing transpose named), the shape box takes Moodle's spellings."""
    from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
    from symgrad.teaching.worksheets.export import to_interactive

    v = generate(load_spec(bundled_dir() / "matrix_calculus.toml"), seed=1)
    path = tmp_path / "ws.html"
    path.write_text(to_interactive(v))
    page, seen, errors = _open(browser, path)
    ex = v.exercises[0]
    formula, shape = ex.answers[0], ex.answers[1]
    n = shape.value  # the size name this variant drew (d, p or k)
    wrt = formula.given["wrt"]
    rows = next(k for k, s in formula.given["shapes"].items() if "×" in s)
    answer = f"2*{rows}'*({rows}*{wrt} - y)"
    size = formula.given["shapes"]["y"]
    scale = f"/{size}"  # both choices are a mean over the samples

    def check(qid: str, text: str) -> str:  # ids hold dots: attribute selectors
        page.fill(f'[id="{qid}-in"]', text)
        page.click(f'[data-q="{qid}"] button.check')
        return page.text_content(f'[id="{qid}-verdict"]')

    assert check(f"q-{formula.id}", answer + scale) == "Correct."
    said = check(f"q-{formula.id}", f"2*{rows}*({rows}*{wrt} - y){scale}")
    assert said.startswith("Not correct, the shape is wrong") and "a missing transpose" in said
    assert page.is_visible(f"#solution-{ex.number}")
    for spelling in (n, f"({n},)", f"{n} x 1", f" {n} "):
        assert check(f"q-{shape.id}", spelling) == "Correct.", spelling
    assert check(f"q-{shape.id}", f"{size}") == "Not correct."
    w = next(a for e in v.exercises for a in e.answers if a.id == "4.W.shape")
    r, c = w.value.split("×")
    for spelling in (w.value, f"{r} x {c}", f"{r}x{c}", f"({r}, {c})"):
        assert check(f"q-{w.id}", spelling) == "Correct.", spelling
    page.set_viewport_size({"width": 1024, "height": 900})
    page.screenshot(path=str(ARTIFACTS / "interactive-matrix-worksheet.png"), full_page=True)
    _offline(path, page, seen, errors)

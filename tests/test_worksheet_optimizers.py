"""The optimizer worksheet kinds (issue 16, item 5): ``optimizer_steps`` (momentum, Adam) and
``newton_step`` (mse: the closed form; bce: one IRLS step). Every answer key is recomputed here
from the textbook formulas in plain Python (floats and math, no symgrad optimizer, gradient or
Hessian code), for several seeds; the bundled sheet builds in md, tex and pdf (its pages are also
in tests/test_pages.py's overfull-box check, and in tests/test_worksheet_rules.py)."""

from __future__ import annotations

import math
import shutil

import pytest

from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
from symgrad.teaching.worksheets.spec import SpecError

SEEDS = range(1, 13)
SHEET = bundled_dir() / "optimizers.toml"


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def grad(loss, w, b, xs, ys):
    """dL/dw, dL/db of the mean mse of w x + b, or the mean bce of sigmoid(w x + b)."""
    n = len(xs)
    if loss == "mse":
        r = [w * x + b - y for x, y in zip(xs, ys, strict=False)]
        return 2 / n * sum(ri * x for ri, x in zip(r, xs, strict=False)), 2 / n * sum(r)
    r = [sigmoid(w * x + b) - y for x, y in zip(xs, ys, strict=False)]
    return sum(ri * x for ri, x in zip(r, xs, strict=False)) / n, sum(r) / n


def keyed(ex):
    return {a.id.split(".", 1)[1]: a.value for a in ex.answers}


def close(got, want):
    assert got == pytest.approx(want, rel=1e-9, abs=1e-12)


@pytest.fixture(scope="module")
def variants():
    spec = load_spec(SHEET)
    return [generate(spec, s) for s in SEEDS]


def by_kind(variants, kind, **given):
    out = [ex for v in variants for ex in v.exercises if ex.kind == kind
           and all(ex.answers[0].given.get(k) == w for k, w in given.items())]
    assert len(out) == len(SEEDS)
    return out


@pytest.mark.parametrize("opt", ["momentum", "adam"])
def test_optimizer_steps_answer_keys(variants, opt):
    for ex in by_kind(variants, "optimizer_steps", optimizer=opt):
        given, key = ex.answers[0].given, keyed(ex)
        xs, ys = given["data"]["x"], given["data"]["y"]
        w, b, lr, h = given["point"]["w"], given["point"]["b"], given["lr"], given["hyper"]
        state = {"w": [0.0, 0.0], "b": [0.0, 0.0]}  # V (momentum) or m, v (Adam)
        for t in range(1, given["steps"] + 1):
            gw, gb = grad("mse", w, b, xs, ys)
            close(key[f"dw{t - 1}"], gw)
            close(key[f"db{t - 1}"], gb)
            new = {}
            for p, value, g in (("w", w, gw), ("b", b, gb)):
                if opt == "momentum":  # torch.optim.SGD: buf = g at t = 1, then mu buf + g
                    buf = g if t == 1 else h["momentum"] * state[p][0] + g
                    state[p][0] = buf
                    new[p] = value - lr * buf
                    close(key[f"V{p}{t}"], buf)
                else:  # Kingma & Ba, Algorithm 1
                    m = h["beta1"] * state[p][0] + (1 - h["beta1"]) * g
                    v = h["beta2"] * state[p][1] + (1 - h["beta2"]) * g * g
                    state[p] = [m, v]
                    mhat, vhat = m / (1 - h["beta1"] ** t), v / (1 - h["beta2"] ** t)
                    new[p] = value - lr * mhat / (math.sqrt(vhat) + h["eps"])
                    close(key[f"m{p}{t}"], m)
                    close(key[f"v{p}{t}"], v)
                    if t == 1:  # Adam's first step moves by lr, whatever the gradient
                        assert abs(new[p] - value) == pytest.approx(lr, rel=1e-6)
                close(key[f"{p}{t}"], new[p])
            w, b = new["w"], new["b"]


def solve2(h11, h12, h22, g1, g2):
    det = h11 * h22 - h12 * h12
    return (h22 * g1 - h12 * g2) / det, (h11 * g2 - h12 * g1) / det


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_newton_step_answer_keys(variants, loss):
    expr = f"{loss} loss with the {'linear' if loss == 'mse' else 'logistic'} model"
    for ex in by_kind(variants, "newton_step", expr=expr):
        given, key = ex.answers[0].given, keyed(ex)
        xs, ys = given["data"]["x"], given["data"]["y"]
        w, b, n = given["point"]["w"], given["point"]["b"], len(xs)
        gw, gb = grad(loss, w, b, xs, ys)
        # the textbook Hessians: (2/N) X^T X, and (1/N) X^T diag(yhat (1 - yhat)) X
        c = [2 / n] * n if loss == "mse" else [
            sigmoid(w * x + b) * (1 - sigmoid(w * x + b)) / n for x in xs]
        hww = sum(ci * x * x for ci, x in zip(c, xs, strict=False))
        hwb = sum(ci * x for ci, x in zip(c, xs, strict=False))
        hbb = sum(c)
        for k, want in (("dw", gw), ("db", gb), ("Hww", hww), ("Hwb", hwb), ("Hbb", hbb)):
            close(key[k], want)
        dw, db = solve2(hww, hwb, hbb, gw, gb)
        close(key["w1"], w - dw)
        close(key["b1"], b - db)
        if loss == "mse":  # one step lands on the least-squares line (normal equations)
            sx, sy = sum(xs), sum(ys)
            sxx, sxy = sum(x * x for x in xs), sum(x * y for x, y in zip(xs, ys, strict=False))
            w_star = (n * sxy - sx * sy) / (n * sxx - sx * sx)
            close(key["w1"], w_star)
            close(key["b1"], (sy - w_star * sx) / n)


def test_both_newton_losses_and_both_optimizers_are_in_the_sheet(variants):
    kinds = {(ex.kind, ex.answers[0].given.get("optimizer"), ex.answers[0].given["expr"][:3])
             for ex in variants[0].exercises}
    assert kinds == {("optimizer_steps", "momentum", "mse"), ("optimizer_steps", "adam", "mse"),
                     ("newton_step", "newton", "mse"), ("newton_step", "newton", "bce")}


def test_momentum_is_worked_in_exact_fractions(variants):
    ex = by_kind(variants, "optimizer_steps", optimizer="momentum")[0]
    assert any(r"\frac{" in row and r"\approx" in row for b in ex.solution
               if hasattr(b, "rows") and isinstance(b.rows[0], str) for row in b.rows)


def test_exercise_sheets_leave_the_answers_blank(variants):
    for ex in [e for v in variants for e in v.exercises if e.kind == "optimizer_steps"]:
        tables = [b for b in ex.prompt if hasattr(b, "header")][1:]
        assert len(tables) == 2
        for table in tables:
            assert all(cell == "" for row in table.rows[1:] for cell in row[1:])
            assert table.rows[0][2] == ""  # the first gradient is part of the answer


@pytest.mark.parametrize("bad, says", [
    ('optimizer = "adam"\nbeta1 = 1', "beta1 must be in [0, 1)"),
    ('optimizer = "adam"\neps = -1', "eps must be in"),
    ('optimizer = "momentum"\nbeta2 = 0.9', "not a hyper-parameter"),
    ('optimizer = "sgd"', "unknown value 'sgd'"),
])
def test_bad_hyper_parameters_name_the_value_and_range(bad, says, tmp_path):
    text = ('title = "x"\n[[exercise]]\nkind = "optimizer_steps"\npoints = 1\nlr = 0.1\n'
            f'{bad}\nstart = {{ w = 0, b = 0 }}\ndata = {{ x = [1, 2], y = [1, 3] }}\n')
    (tmp_path / "x.toml").write_text(text)
    with pytest.raises(SpecError) as e:
        load_spec(tmp_path / "x.toml")
    assert says in str(e.value) and "exercise 1" in str(e.value)


def test_the_sheet_builds_in_md_tex_and_pdf(tmp_path):
    if shutil.which("pdflatex") is None:
        pytest.fail("pdflatex is needed (scripts/test.sh installs TeX Live)")
    from symgrad.teaching.worksheets.build import build

    build(SHEET, tmp_path, formats=("md", "tex", "pdf"), variants=1)
    out = tmp_path / "optimizers" / "seed-1"
    for ed in ("exercises", "solutions"):
        for fmt in ("md", "tex", "pdf"):
            assert (out / f"{ed}.{fmt}").stat().st_size > 1000
    md = (out / "solutions.md").read_text()
    assert "Momentum by hand" in md and "Adam by hand" in md and "IRLS" in md

"""The optimizer worksheet kinds (issue 16, item 5): ``optimizer_steps`` (momentum, Adam) and
``newton_step`` (mse: the closed form; bce: one IRLS step). Every answer key is recomputed here
from the textbook formulas in plain Python (floats and math, no symgrad optimizer, gradient or
Hessian code), for several seeds; the bundled sheet builds in md, tex and pdf (its pages are also
in tests/test_pages.py's overfull-box check, and in tests/test_worksheet_rules.py)."""

from __future__ import annotations

import shutil

import pytest
from _optim_keys import newton_keys, optimizer_keys

from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
from symgrad.teaching.worksheets.model import NOT_ASKED
from symgrad.teaching.worksheets.spec import SpecError

SEEDS = range(1, 13)
SHEET = bundled_dir() / "optimizers.toml"


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
        want = optimizer_keys(given)
        assert set(key) == set(want) and len(want) == given["steps"] * (8 if opt == "adam" else 6)
        for k, v in want.items():
            close(key[k], v)
        if opt == "adam":  # Adam's first step moves every parameter by lr, whatever g is
            for n in "wb":
                assert abs(key[f"{n}1"] - given["point"][n]) == pytest.approx(given["lr"], 1e-6)


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_newton_step_answer_keys(variants, loss):
    expr = f"{loss} loss with the {'linear' if loss == 'mse' else 'logistic'} model"
    for ex in by_kind(variants, "newton_step", expr=expr):
        given, key = ex.answers[0].given, keyed(ex)
        want = newton_keys(given)
        assert set(key) == set(want)
        for k, v in want.items():
            close(key[k], v)
        if loss == "mse":  # one step lands on the least-squares line (normal equations)
            xs, ys, n = given["data"]["x"], given["data"]["y"], len(given["data"]["x"])
            sx, sy = sum(xs), sum(ys)
            sxx, sxy = sum(x * x for x in xs), sum(x * y for x, y in zip(xs, ys, strict=True))
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
        for table in tables:  # blanks; the last row's gradient is not asked (no step starts
            # there), and says so
            asked = [cell for row in table.rows[1:] for cell in row[1:]]
            assert table.rows[-1][2] == NOT_ASKED and asked.count(NOT_ASKED) == 1
            assert all(cell in ("", NOT_ASKED) for cell in asked)
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

"""Worksheets: a derive exercise from typed definitions (issue 13) instead of a catalogue loss.

Its answers are checked against the catalogue's BCE on the same point and against NumPy written
here; the sheet is built in every format and its LaTeX compiles with no overfull box.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from test_pages import _compile

from symgrad.teaching.worksheets import build, generate, load_spec
from symgrad.teaching.worksheets.build import FORMATS
from symgrad.teaching.worksheets.export import EDITIONS, to_tex
from symgrad.teaching.worksheets.kinds._common import derived, gradient_at
from symgrad.teaching.worksheets.spec import SpecError

TYPED = '''
[[exercise]]
kind = "derive"
points = 4
definitions = """
z = w*x + b
yhat = sigmoid(z)
L = mean(-(y*log(yhat) + (1-y)*log(1-yhat)))"""
wrt = ["w", "b"]
at = { w = { range = [-1, 1], step = 0.5 }, b = { choice = [-1, 1] } }
data = { x = [1, 2, -1], y = [0, 1, 1] }

[[exercise]]
kind = "derive"
points = 4
loss = "bce"
model = "logistic"
at = { w = { range = [-1, 1], step = 0.5 }, b = { choice = [-1, 1] } }
data = { x = [1, 2, -1], y = [0, 1, 1] }

[[exercise]]
kind = "derive"
points = 2
definitions = "z = w*x + b; yhat = sigmoid(z); L = -(y*log(yhat) + (1-y)*log(1-yhat))"
wrt = ["w", "b"]
'''


def _spec(tmp_path, body: str, name: str = "typed"):
    path = tmp_path / f"{name}.toml"
    path.write_text(f'title = "Typed definitions"\nseed = 1\n{body}', encoding="utf-8")
    return load_spec(path)


def _bce_grad(w: float, b: float, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The mean BCE's gradient for p = 1 / (1 + exp(-(w x + b))), by hand in NumPy."""
    p = 1.0 / (1.0 + np.exp(-(w * x + b)))
    return float(np.mean((p - y) * x)), float(np.mean(p - y))


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_typed_answers_equal_the_catalogue_bce_on_the_same_point(tmp_path, seed):
    v = generate(_spec(tmp_path, TYPED), seed)
    typed, _, symbolic = v.exercises
    point = typed.drawn["point"]
    values = {a.id.split(".")[1]: a.value for a in typed.answers}
    catalogue = gradient_at(derived("bce", "logistic"), point, *typed.drawn["data"])
    assert values == {k: float(c) for k, c in catalogue.items()}
    x, y = np.array([1.0, 2.0, -1.0]), np.array([0.0, 1.0, 1.0])
    gw, gb = _bce_grad(float(point["w"]), float(point["b"]), x, y)
    assert values == pytest.approx({"w": gw, "b": gb}, rel=1e-9)
    assert [a.text.split(" = ")[1] for a in typed.answers] == ["(1/N)·Σᵢ (ŷᵢ − yᵢ)·xᵢ",
                                                               "(1/N)·Σᵢ (ŷᵢ − yᵢ)"]
    # one sample, no data: the lecture's compact result with the user's names
    assert [a.text for a in symbolic.answers] == ["∂L/∂w = (ŷ − y)·x", "∂L/∂b = ŷ − y"]
    assert all(a.value is None for a in symbolic.answers)


def test_typed_sheet_in_every_format(tmp_path):
    if shutil.which("pdflatex") is None:
        pytest.fail("pdflatex is needed (scripts/test.sh installs TeX Live)")
    spec = _spec(tmp_path, TYPED)
    folder = build(spec, tmp_path / "out", variants=1, seed=1, formats=FORMATS)
    seed = folder / "seed-1"
    md = (seed / "solutions.md").read_text(encoding="utf-8")
    assert r"\hat{y}_{i} = \sigma\left(z_{i}\right)" in md
    assert r"L = \frac{1}{N} \sum_{i=1}^{N} \ell_{i}" in md
    assert "Gradient of a loss defined step by step" in md
    tex = (seed / "exercises.tex").read_text(encoding="utf-8")
    assert r"\hat{y}_{i} = \sigma\left(z_{i}\right)" in tex
    for name in ("exercises.pdf", "solutions.pdf", "exercises.html", "solutions.html"):
        assert (seed / name).stat().st_size > 0
    answers = json.loads((seed / "answers.json").read_text(encoding="utf-8"))
    assert answers[0]["given"]["definitions"].splitlines()[1] == "yhat = sigmoid(z)"
    moodle = (folder / "moodle.xml").read_text(encoding="utf-8")
    assert moodle.count("NUMERICAL") >= 4  # the typed and the catalogue exercise's numbers
    v = generate(spec, 2)
    results = [_compile((ed, (to_tex(v, ed), {}))) for ed in EDITIONS]
    assert [code for _, code, _ in results] == [0] * len(EDITIONS)
    assert not [w for _, _, ws in results for w in ws if w > 1.0]


@pytest.mark.parametrize("body, message", [
    ('definitions = """\nz = w*x + b\nL = mean((yhat - y)^2)\nyhat = z"""\nwrt = ["w", "b"]',
     "field 'definitions': line 2, column 11: 'yhat' is used before it is defined (on line 3)"),
    ('definitions = "z = w*x + b; L = mean((z - y)^2)"\nwrt = ["v"]',
     "field 'definitions': unknown variable 'v'"),
    ('definitions = "z = w*x + b; L = mean((z - y)^2)"',
     "missing field 'wrt' (the parameters of the definitions"),
    ('definitions = "z = w*x + b; L = mean((z - y)^2)"\nloss = "mse"\nwrt = ["w"]',
     "give field 'loss' (a catalogue loss: "),
    ('loss = { choice = [] }\ndefinitions = "L = (w - y)^2"\nwrt = ["w"]',
     "choice must be a non-empty list"),
    ('definitions = "z = w*x + b; L = mean((z - y)^2)"\nmodel = "linear"\nwrt = ["w"]',
     "field 'model': applies to a catalogue loss, not to definitions"),
    ('definitions = "z = w*x + b; L = (z - y)^2"\nwrt = ["w", "b"]\nat = { w = 1, b = 0 }\n'
     'data = { x = [1, 2], y = [0, 1] }',
     "evaluating on 'data' needs a loss over the samples, L = mean(...), with one feature x and "
     "one label y and no penalty; this one is not a loss over the samples"),
    # each failed condition named: the message did not say that the penalty was the problem
    ('definitions = "z = w*x + b; L = mean((z - y)^2) + 0.1*w^2"\nwrt = ["w", "b"]\n'
     'at = { w = 1, b = 0 }\ndata = { x = [1, 2], y = [0, 1] }',
     "no penalty; this one has a penalty outside the mean"),
    ('definitions = "L = mean((w*x1 + v*x2 - y)^2)"\nwrt = ["w", "v"]\n'
     'at = { w = 1, v = 0 }\ndata = { x = [1, 2], y = [0, 1] }',
     "no penalty; this one has 2 features"),
    ('definitions = "z = w*x + b; L = mean((z - y)^2) # <script>"\nwrt = ["w"]',
     "field 'definitions': the character '#' is not allowed here"),
    ('definitions = "z = w*x + b; L = mean((z - y)^2)"\nwrt = ["w"]\nspace = "\\n"',
     "field 'space': the character '\\n' is not allowed here"),
])
def test_bad_definitions_are_one_line_naming_the_exercise(tmp_path, body, message):
    text = f'[[exercise]]\nkind = "derive"\npoints = 1\n{body}\n'
    with pytest.raises(SpecError) as err:
        _spec(tmp_path, text)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert "exercise 1 (derive)" in str(err.value)


HINGE = '''
[[exercise]]
kind = "derive"
points = 4
definitions = """
s = y*(w*x + b)
L = mean(where(s < 1, 1 - s, 0))"""
wrt = ["w", "b"]
at = { w = { range = [-1, 1], step = 0.5 }, b = { choice = [-0.5, 0.5] } }
data = { x = [1, 2, -1], y = [-1, 1, 1] }
'''


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_hinge_loss_with_where_is_a_worksheet_exercise(tmp_path, seed):
    """The comparison of where() was refused by the spec's character check ('<' is not allowed
    here), so no exercise could use it. The values against the hinge's gradient in NumPy."""
    ex, = generate(_spec(tmp_path, HINGE), seed).exercises
    w, b = (float(ex.drawn["point"][n]) for n in ("w", "b"))
    x, y = np.array([1.0, 2.0, -1.0]), np.array([-1.0, 1.0, 1.0])
    active = y * (w * x + b) < 1
    values = {a.id.split(".")[1]: a.value for a in ex.answers}
    assert values == pytest.approx({"w": np.mean(np.where(active, -y * x, 0)),
                                    "b": np.mean(np.where(active, -y, 0))}, rel=1e-12)


def test_markup_in_definitions_is_still_refused(tmp_path):
    body = 'definitions = "L = mean(<script>)"\nwrt = ["w"]'
    with pytest.raises(SpecError) as err:
        _spec(tmp_path, f'[[exercise]]\nkind = "derive"\npoints = 1\n{body}\n')
    assert "field 'definitions'" in str(err.value) and "\n" not in str(err.value)

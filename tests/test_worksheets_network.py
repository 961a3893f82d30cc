"""The ``network`` kind (forward and backward through a small network for one sample): answers
against autograd (not symgrad's backprop), reproducible seeds, rejected draws, and bad specs that
exit 2 naming the file, the exercise and the field."""

from __future__ import annotations

import json
import math
import random
import textwrap
from fractions import Fraction
from pathlib import Path

import autograd.numpy as anp
import pytest
from autograd import grad

from symgrad.cli import main
from symgrad.teaching.worksheets import KINDS, build, load_spec
from symgrad.teaching.worksheets.build import generate
from symgrad.teaching.worksheets.kinds import Degenerate
from symgrad.teaching.worksheets.spec import ExerciseSpec

SPEC = Path(__file__).resolve().parent.parent / "worksheets" / "l7_network.toml"

ACT = {
    "sigmoid": lambda z: 1 / (1 + anp.exp(-z)),
    "tanh": anp.tanh,
    "relu": lambda z: anp.where(z > 0, z, 0.0),
    "leaky_relu": lambda z: anp.where(z > 0, z, 0.01 * z),
    "identity": lambda z: z,
    "softmax": lambda z: anp.exp(z) / anp.sum(anp.exp(z)),
}


def loss_of(g, params, x):
    """The loss of one sample, written from the forward equations; autograd differentiates it."""
    a = x
    for k, name in enumerate(g["activations"], start=1):
        a = ACT[name](anp.dot(params[f"W{k}"], a) + params[f"b{k}"])
    y = anp.array(g["data"]["y"])
    if g["loss"] == "bce":
        return -anp.sum(y * anp.log(a) + (1 - y) * anp.log(1 - a))
    if g["loss"] == "cross_entropy":
        return -anp.sum(y * anp.log(a))
    return anp.sum((a - y) ** 2)


def forward(g, params, x):
    a, out = x, {}
    for k, name in enumerate(g["activations"], start=1):
        z = anp.dot(params[f"W{k}"], a) + params[f"b{k}"]
        a = ACT[name](z)
        out[f"z{k}"], out[f"a{k}"] = z, a
    return out


def reference(g):
    """Every quantity the table asks for: forward values, and d(loss)/d(everything) by autograd."""
    params = {k: anp.array(v, dtype=float) for k, v in g["point"].items()}
    x = anp.array(g["data"]["x"], dtype=float)
    out = forward(g, params, x)
    out["loss"] = loss_of(g, params, x)
    for name, d in grad(lambda p: loss_of(g, p, x))(params).items():
        out["d" + name] = d
    n = len(g["activations"])
    # dZ^[l] and dA^[l]: the loss as a function of z^[l] (or a^[l]) with the later layers fixed
    for k in range(1, n + 1):
        def tail(v, k=k, start_at_a=False):
            a = v if start_at_a else ACT[g["activations"][k - 1]](v)
            for j in range(k + 1, n + 1):
                a = ACT[g["activations"][j - 1]](anp.dot(params[f"W{j}"], a) + params[f"b{j}"])
            return loss_of({**g, "activations": []}, {}, a)

        out[f"dZ{k}"] = grad(tail)(out[f"z{k}"])
        out[f"dA{k}"] = grad(lambda a, k=k: tail(a, k, True))(out[f"a{k}"])
    return out


def check_answers(answers):
    assert answers
    for a in answers:
        g = a["given"]
        want = reference(g)[g["quantity"]]
        if g["index"]:
            want = want[tuple(k - 1 for k in g["index"])]
        got = a["answer"]["value"]
        assert math.isclose(got, float(want), rel_tol=1e-9, abs_tol=1e-12), a["id"]
        assert a["tolerance"] > 0 and a["answer"]["latex"] and a["answer"]["text"]


def answers_of(exercise):
    return [json.loads(json.dumps(a.to_dict())) for a in exercise.answers]


def es(number=1, **fields):
    return ExerciseSpec(number, "network", Fraction(8), "", fields, "demo")


# --- answers --------------------------------------------------------------------------------------


def test_the_kind_is_registered():
    assert "network" in KINDS


def test_bundled_answers_equal_autograd(tmp_path):
    out = build(SPEC, tmp_path, variants=3, seed=5, formats=["md"])
    for f in sorted(out.glob("seed-*/answers.json")):
        answers = json.loads(f.read_text())
        check_answers(answers)
        ids = {a["id"] for a in answers}
        assert {"1.z1_1", "1.a1_2", "1.yhat", "1.loss", "1.dZ2_1", "1.dW2_1_2", "1.db2_1",
                "1.dA1_2", "1.dZ1_1", "1.dW1_2_1", "1.db1_2", "2.dW1_3_2"} <= ids
        assert len(ids) == 21 + 29


@pytest.mark.parametrize("fields", [
    {"layers": [2, 2, 2], "activations": ["tanh", "identity"], "loss": "mse"},
    {"layers": [2, 3, 3], "activations": ["relu", "softmax"], "loss": "cross_entropy"},
    {"layers": [1, 2, 2, 1], "activations": ["leaky_relu", "sigmoid", "sigmoid"],
     "loss": "bce"},
    {"layers": [2, 2, 1], "activations": ["sigmoid", "relu"], "loss": "mse", "y": 1.5},
])
def test_other_networks_equal_autograd(fields):
    kind = KINDS["network"]
    spec = es(**fields)
    kind.validate(spec)
    for seed in range(8):
        rng = random.Random(seed)
        while True:
            try:
                ex = kind.generate(spec, rng)
                break
            except Degenerate:
                continue
        check_answers(answers_of(ex))


def test_the_doctest_numbers_are_exact():
    fields = {"layers": [2, 2, 1], "activations": ["relu", "sigmoid"], "loss": "bce",
              "weights": {"W1": [[1, -1], [0.5, 1]], "b1": [0, -0.5], "W2": [[1, -1]],
                          "b2": [0.5]}, "x": [2, 1], "y": 1}
    ex = KINDS["network"].generate(es(**fields), random.Random(0))
    values = {a.id: a.value for a in ex.answers}
    assert values["1.yhat"] == 0.5 and values["1.dZ2_1"] == -0.5
    assert [values[f"1.dW1_{j}_{k}"] for j in (1, 2) for k in (1, 2)] == [-1, -0.5, 1, 0.5]


def test_expanded_adds_the_neuron_by_neuron_derivation():
    base = {"layers": [2, 2, 1], "activations": ["relu", "sigmoid"], "loss": "bce",
            "weights": {"W1": [[1, -1], [0.5, 1]], "b1": [0, -0.5], "W2": [[1, -1]],
                        "b2": [0.5]}, "x": [2, 1], "y": 1}
    forms = []
    for expanded in (False, True):
        ex = KINDS["network"].generate(es(**base, expanded=expanded), random.Random(0))
        forms.append([b.derivation.meta["form"] for b in ex.solution if hasattr(b, "derivation")])
    assert forms == [["layer"], ["layer", "expanded"]]


# --- reproducibility ------------------------------------------------------------------------------


def test_same_seed_identical_different_seed_differs(tmp_path):
    a = build(SPEC, tmp_path / "a", variants=1, seed=3, formats=["tex", "md", "html"])
    b = build(SPEC, tmp_path / "b", variants=1, seed=3, formats=["tex", "md", "html"])
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files and all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    other = build(SPEC, tmp_path / "c", variants=1, seed=4, formats=["md"])
    assert (other / "seed-4" / "answers.json").read_text() != \
        (a / "seed-3" / "answers.json").read_text()


# --- rejected draws -------------------------------------------------------------------------------


def test_a_relu_pre_activation_at_zero_is_rejected():
    # z1_1 = 1*1 + (-1)*1 + 0 = 0: the kink of ReLU, where the derivative's convention decides
    fields = {"layers": [2, 2, 1], "activations": ["relu", "sigmoid"], "loss": "bce",
              "weights": {"W1": [[1, -1], [1, 1]], "b1": [0, 0], "W2": [[1, 1]], "b2": [0]},
              "x": [1, 1], "y": 1}
    with pytest.raises(Degenerate, match="kink"):
        KINDS["network"].generate(es(**fields), random.Random(0))


def test_a_dead_layer_is_rejected():
    fields = {"layers": [2, 2, 1], "activations": ["relu", "sigmoid"], "loss": "bce",
              "weights": {"W1": [[1, 1], [1, 1]], "b1": [-5, -5], "W2": [[1, 1]], "b2": [0]},
              "x": [1, 1], "y": 1}
    with pytest.raises(Degenerate, match="layer 1 is zero"):
        KINDS["network"].generate(es(**fields), random.Random(0))


def test_draws_that_often_hit_the_kink_never_get_through(tmp_path):
    p = tmp_path / "kink.toml"
    p.write_text(textwrap.dedent("""\
        title = "K"
        [[exercise]]
        kind = "network"
        layers = [2, 2, 1]
        activations = ["relu", "sigmoid"]
        loss = "bce"
        points = 1
        weights = { range = [-1, 1] }
        x = { range = [-1, 1], count = 2 }
        """))
    spec = load_spec(p)
    for seed in range(30):
        answers = generate(spec, seed).answers
        assert all(a.value != 0 for a in answers if a.given["quantity"] == "z1")
    # fixed numbers at the kink: every attempt is degenerate, a one-line spec error
    text = p.read_text().replace("weights = { range = [-1, 1] }", "weights = { W = 1, b = 0 }")
    p.write_text(text.replace("x = { range = [-1, 1], count = 2 }", "x = [1, -1]"))
    with pytest.raises(Exception, match="no usable draw"):
        generate(load_spec(p), 0)


# --- bad specs ------------------------------------------------------------------------------------

GOOD = {"layers": "[2, 2, 1]", "activations": '["relu", "sigmoid"]', "loss": '"bce"'}

BAD = [
    ({"activations": '["relu"]'}, "activations", "3 layer sizes [2, 2, 1] need 2 activation"),
    ({"layers": "[2, 2, 2]", "activations": '["softmax", "relu"]', "loss": '"mse"'},
     "activations", "softmax is only allowed on the last layer"),
    ({"activations": '["relu", "swish"]'}, "activations", "unknown activation 'swish'"),
    ({"loss": '"hinge"'}, "loss", "unknown value 'hinge'"),
    ({"activations": '["relu", "relu"]'}, "loss", "bce needs a sigmoid output"),
    ({"layers": "[2, 5, 1]"}, "layers", "layer 1 has 5 units"),
    ({"layers": "[2]", "activations": '["relu"]'}, "layers", "expected 2 to 4 layer sizes"),
    ({"x": "[1, 2, 3]"}, "x", "needs 2 value(s); got 3"),
    ({"y": "2"}, "y", "bce needs y = 0 or 1"),
    ({"weights": "{ W1 = [[1, 2]], W = 1, b = 0 }"}, "weights", ".W1: expected a number, a draw"),
    ({"weights": "{ W3 = 1 }"}, "weights", "unknown parameter 'W3'"),
    ({"weights": "{ W = 1 }"}, "weights", "no value for b1"),
    ({"weights": "{ range = [1, -1] }"}, "weights", "inverted"),
    ({"layers": "[4, 4, 4, 1]", "activations": '["relu", "relu", "sigmoid"]'}, "layers",
     "at most 30"),
]


#: Too slow to expand for a worksheet: every network within the worksheet limits expands in a
#: few seconds since issue 18, so the limit is lowered here to see the message.
SLOW = ({"layers": "[3, 2, 2, 4]", "activations": '["relu", "relu", "softmax"]',
         "loss": '"cross_entropy"', "expanded": "true"}, "expanded", "would take about")


@pytest.mark.parametrize(("change", "field", "message"), [*BAD, SLOW])
def test_a_bad_field_exits_2_naming_file_exercise_and_field(tmp_path, capsys, change, field,
                                                            message, monkeypatch):
    from symgrad.teaching.worksheets.kinds import network as kind

    monkeypatch.setattr(kind, "MAX_EXPANDED_SECONDS", 1.0)
    fields = {**GOOD, **change}
    body = "\n".join(f"{k} = {v}" for k, v in fields.items())
    p = tmp_path / "bad.toml"
    p.write_text(f'title = "T"\n[[exercise]]\nkind = "activation"\nactivation = "tanh"\nz = 1\n'
                 f'points = 1\n[[exercise]]\nkind = "network"\npoints = 2\n{body}\n')
    code = main(["worksheet", str(p), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1, err
    assert f"{p}: exercise 2 (network), field '{field}'" in err, err
    assert message in err, err
    assert not (tmp_path / "out" / "bad").exists()

"""Typed derivations as good as the catalogue: definitions, losses over samples, recognition,
compact results; every gradient against autograd (an independent autodiff library)."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest
import sympy as sp
from autograd import grad

from symgrad.cli import main
from symgrad.core.derive import derive, derive_expr
from symgrad.core.errors import OptionError
from symgrad.core.functions import sigmoid
from symgrad.core.steps import Kind, Partial, Rule
from symgrad.numerics.compile import compile_gradient
from symgrad.render.text import expr_text
from symgrad.teaching.check import check_answer

w, b, x, y, z = sp.symbols("w b x y z", real=True)
RNG = np.random.default_rng(13)


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def _ag_sigmoid(t):
    return 1 / (1 + anp.exp(-t))


BCE = "-(y*log(yhat) + (1-y)*log(1-yhat))"
SPELLINGS = [
    f"z = w*x + b; yhat = sigmoid(z); L = {BCE}",
    f"z = w*x + b\nyhat = 1/(1 + exp(-z))\nL = {BCE}",
    "-(y*log(sigmoid(w*x+b)) + (1-y)*log(1-sigmoid(w*x+b)))",
    "-(y*log(1/(1+exp(-(w*x+b)))) + (1-y)*log(1-1/(1+exp(-(w*x+b)))))",
]


@pytest.mark.parametrize("text", SPELLINGS)
def test_typed_bce_reaches_the_compact_form_with_the_cancellation_shown(text):
    d = derive_expr(text, wrt=["w", "b"])
    for name, factor in (("w", x), ("b", 1)):
        target = (sigmoid(w * x + b) - y) * factor
        last = [s for s in d.steps if s.lhs == Partial(d.graph.result_symbol, sp.Symbol(
            name, real=True))][-1]
        assert sp.expand(last.result.doit() - target) == 0
        assert last.result.doit() == target  # as a lecturer writes it, not expanded
        shown = [s for s in d.steps if Rule.CANCELLATION in s.rules]
        assert shown and d.verified
    # against autograd at random points
    def bce(wv, bv, xv, yv):
        p = _ag_sigmoid(wv * xv + bv)
        return -(yv * anp.log(p) + (1 - yv) * anp.log(1 - p))

    for _ in range(5):
        wv, bv, xv, yv = RNG.normal(size=4)
        at = {w: wv, b: bv, x: xv, y: yv}
        for k, name in ((0, "w"), (1, "b")):
            expected = grad(bce, k)(wv, bv, xv, yv)
            got = float(d.gradients[name].term.subs(at))
            assert got == pytest.approx(expected, rel=1e-10)


def test_the_definitions_are_the_derivations_names_and_data_is_never_differentiated():
    d = derive_expr(SPELLINGS[0], wrt=["w", "b"])
    defined = [str(s.lhs) for s in d.steps if s.kind is Kind.DEFINITION]
    assert defined == ["z", "yhat", "L"]
    assert d.gradients["w"].named == (sp.Symbol("yhat", real=True) - y) * x
    data = set(d.graph.data)
    assert data == {x, y}
    for s in d.steps:
        for p in sp.preorder_traversal(s.lhs):
            assert not (isinstance(p, Partial) and p.wrt in data)
    # a typed expression with --wrt: no node for 1 - y, no d/dy anywhere
    e = derive_expr(SPELLINGS[2], wrt=["w", "b"])
    assert all(n.expr.free_symbols & {w, b} or any(m.symbol in n.expr.free_symbols
               for m in e.graph.nodes) for n in e.graph.nodes)
    assert not any(isinstance(p, Partial) and p.wrt in {x, y}
                   for s in e.steps for p in sp.preorder_traversal(s.lhs))


def test_cancellation_is_named_only_where_a_factor_cancels():
    d = derive_expr(SPELLINGS[2], wrt=["w", "b"])
    for s in d.steps:
        if Rule.CANCELLATION in s.rules:
            before, after = s.forms[-2] if len(s.forms) > 1 else None, s.forms[-1]
            assert sp.denom(sp.together(after.doit())) == 1 or before is not None
    chain = [s for s in d.steps if s.kind is Kind.CHAIN and Rule.CANCELLATION in s.rules]
    assert chain == []  # in u, v, ... names nothing cancels: only once sigma is substituted


@pytest.mark.parametrize(
    ("typed", "name", "function"),
    [
        ("1/(1 + exp(-z))", "sigmoid", lambda t: _ag_sigmoid(t)),
        ("log(1 + exp(z))", "softplus", lambda t: anp.log(1 + anp.exp(t))),
        ("(exp(z) - exp(-z))/(exp(z) + exp(-z))", "tanh", lambda t: anp.tanh(t)),
        ("max(0, z)", "relu", lambda t: anp.maximum(0.0, t)),
    ],
)
def test_known_functions_are_recognised_with_a_checked_step(typed, name, function):
    d = derive_expr(typed)
    rec = [s for s in d.steps if any(r.text == f"recognised: {name}" for r in s.rules)]
    assert len(rec) == 1 and rec[0].check is not None and rec[0].check.passed
    assert len(d.graph.nodes) == 1  # one node, the function itself
    for zv in (-1.3, 0.4, 2.2):
        got = float(d.gradients["z"].term.subs(z, zv))
        assert got == pytest.approx(float(grad(function)(zv)), rel=1e-12)


def test_recognition_over_samples_shows_the_sample_index():
    d = derive_expr("L = mean(-(y*log(1/(1 + exp(-(w*x + b)))) "
                    "+ (1 - y)*log(1 - 1/(1 + exp(-(w*x + b))))))", wrt=["w", "b"])
    rec = [s for s in d.steps if any(r.text == "recognised: sigmoid" for r in s.rules)]
    assert len(rec) == 1 and rec[0].check is not None and rec[0].check.passed
    late = frozenset(d.graph.features)
    assert expr_text(rec[0].lhs, late) == "σ(w·xᵢ + b)"
    assert {str(s) for s in rec[0].forms[0].free_symbols} == {"w", "b", "x_i"}


def test_max_and_relu_take_the_same_convention_at_the_kink_and_say_so(capsys):
    terms = [derive_expr(t).gradients["z"].term for t in ("max(0, z)", "relu(z)", "max(z, 0)")]
    assert [t.subs(z, 0) for t in terms] == [0, 0, 0]
    assert [t.subs(z, 1) for t in terms] == [1, 1, 1]
    code, out, _ = run(capsys, "derive", "--expr", "max(0, z)")
    assert code == 0 and "ReLU'(0) = 0" in out and "recognised: relu" in out


def _samples(n=7, labels="binary"):
    X = RNG.normal(size=n)
    if labels == "binary":
        Y = (RNG.random(n) < 0.5).astype(float)
    elif labels == "signs":
        Y = np.where(RNG.random(n) < 0.5, -1.0, 1.0)
    else:
        Y = RNG.normal(size=n)
    return X, Y


LOSSES = [
    ("L = mean((w*x + b - y)^2)", "real", lambda r, yv, s: r**2, anp.mean),
    ("(1/N)*sum((w*x + b - y)^2)", "real", lambda r, yv, s: r**2, anp.mean),
    ("sum((w*x + b - y)^2)", "real", lambda r, yv, s: r**2, anp.sum),
    (f"z = w*x + b; yhat = sigmoid(z); L = mean({BCE})", "binary",
     lambda r, yv, s: -(yv * anp.log(_ag_sigmoid(s)) + (1 - yv) * anp.log(1 - _ag_sigmoid(s))),
     anp.mean),
    # the three losses new to typed text: hinge, MAE and Huber (delta = 1), away from kinks
    ("(1/n)*sum(max(0, 1 - y*(w*x + b)))", "signs",
     lambda r, yv, s: anp.maximum(0.0, 1 - yv * s), anp.mean),
    ("z = w*x + b; L = mean(abs(z - y))", "real", lambda r, yv, s: anp.abs(r), anp.mean),
    ("r = w*x + b - y; m = min(abs(r), 1); L = mean(m^2/2 + (abs(r) - m))", "real",
     lambda r, yv, s: anp.where(anp.abs(r) <= 1, r**2 / 2, anp.abs(r) - 0.5), anp.mean),
    # the same two written with where(cond, a, b), as the practice page reads them (<= is a
    # comparison, not a definition's =)
    ("mean(where(y*(w*x + b) < 1, 1 - y*(w*x + b), 0))", "signs",
     lambda r, yv, s: anp.maximum(0.0, 1 - yv * s), anp.mean),
    ("r = w*x + b - y; L = mean(where(abs(r) <= 1, r^2/2, abs(r) - 1/2))", "real",
     lambda r, yv, s: anp.where(anp.abs(r) <= 1, r**2 / 2, anp.abs(r) - 0.5), anp.mean),
]


@pytest.mark.parametrize(("text", "labels", "per_sample", "reduce"), LOSSES)
def test_typed_losses_over_samples_against_autograd_on_random_data(text, labels, per_sample,
                                                                  reduce):
    d = derive_expr(text, wrt=["w", "b"])
    assert d.graph.mean_over_samples and d.verified
    f = compile_gradient(d)

    def loss(params, X, Y):
        s = params[0] * X + params[1]
        return reduce(per_sample(s - Y, Y, s))

    for _ in range(4):
        X, Y = _samples(labels=labels)
        theta = RNG.normal(size=2)
        kinks = np.concatenate([1 - Y * (theta[0] * X + theta[1]), theta[0] * X + theta[1] - Y])
        if np.min(np.abs(np.concatenate([kinks, np.abs(kinks) - 1]))) < 1e-6:
            continue  # away from the kinks
        value, g = f({"w": theta[0], "b": theta[1]}, X, Y)
        assert value == pytest.approx(float(loss(theta, X, Y)), rel=1e-9)
        expected = grad(loss)(theta, X, Y)
        assert [g["w"], g["b"]] == pytest.approx(list(expected), rel=1e-9, abs=1e-12)


def test_a_typed_loss_over_samples_has_the_catalogues_shape():
    d = derive_expr("z = w*x + b; yhat = sigmoid(z); L = -mean(y*log(yhat) + (1-y)*log(1-yhat))",
                    wrt=["w", "b"])
    defined = [str(s.lhs) for s in d.steps if s.kind is Kind.DEFINITION]
    assert defined == ["z_i", "yhat_i", "ell_i", "L"]
    catalogue = derive("bce", "logistic")
    for name in ("w", "b"):
        assert expr_text(d.gradients[name].named) == expr_text(catalogue.gradients[name].named)
    late = frozenset(d.graph.features)
    assert expr_text(d.gradients["w"].named, late) == "(1/N)·Σᵢ (ŷᵢ − yᵢ)·xᵢ"


def test_derive_evaluates_a_typed_loss_on_a_data_file(capsys, tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,0\n2,1\n-1,0\n0.5,1\n")
    spec = tmp_path / "loss.txt"
    spec.write_text(f"# the slide\nz = w*x + b\nyhat = sigmoid(z)\nL = mean({BCE})\n")
    typed = run(capsys, "derive", "--expr-file", str(spec), "--wrt", "w,b", "--at", "w=0.5,b=-1",
                "--data", str(data))
    cat = run(capsys, "derive", "bce", "--model", "logistic", "--at", "w=0.5,b=-1",
              "--data", str(data))
    assert typed[0] == cat[0] == 0
    assert typed[1].splitlines()[-3:] == cat[1].splitlines()[-3:]


def test_columns_map_the_data_names_of_a_typed_loss(capsys, tmp_path):
    data = tmp_path / "sat.csv"
    data.write_text("id,sat,gpa\n1,1.2,2\n2,1.5,3\n3,1.9,3.5\n4,1.1,2.5\n")
    spec = tmp_path / "loss.txt"
    spec.write_text("yhat = w*x + b\nL = mean((yhat - y)^2)\n")
    code, out, err = run(capsys, "derive", "--expr-file", str(spec), "--wrt", "w,b", "--at",
                         "w=0.5,b=-1", "--data", str(data), "--columns", "x=sat, y=gpa")
    assert code == 0 and err == ""
    xs, ys = np.array([1.2, 1.5, 1.9, 1.1]), np.array([2, 3, 3.5, 2.5])
    r = 0.5 * xs - 1 - ys  # by hand: the mean squared error's gradient
    assert out.splitlines()[-2:] == [f"  ∂L/∂w = {np.mean(2 * r * xs):.6g}",
                                     f"  ∂L/∂b = {np.mean(2 * r):.6g}"]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ("x=sat,y=gpb", "no column 'gpb'; the columns are: 'id', 'sat', 'gpa'"),
        ("x=sat,t=gpa", "--columns: 't' is not a data name of the loss; its data: x, y"),
        ("x=sat,x=gpa", "--columns: 'x' is given twice"),
        ("x", "--columns: expected NAME=COLUMN, got 'x'"),
        (None, "no column 'x'; the columns are: 'id', 'sat', 'gpa'"),
    ],
)
def test_bad_columns_are_one_line(capsys, tmp_path, columns, message):
    data = tmp_path / "sat.csv"
    data.write_text("id,sat,gpa\n1,1.2,2\n2,1.5,3\n")
    argv = ["derive", "--expr", "L = mean((w*x + b - y)^2)", "--wrt", "w,b", "--at", "w=1,b=0",
            "--data", str(data), *(["--columns", columns] if columns else [])]
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and message in err, err


def test_columns_need_data(capsys):
    code, _, err = run(capsys, "derive", "mse", "--columns", "x=sat")
    assert code == 2 and "--columns maps the columns of --data" in err and "add --data" in err


def test_columns_map_the_data_of_a_catalogue_loss(capsys, tmp_path):
    """The catalogue's data names (x or x1..xk, y) read other columns with --columns; checked
    against the gradient written by hand, and a name the loss does not have is refused."""
    data = tmp_path / "adm.csv"
    data.write_text("gre,gpa,admit\n0.2,1.5,1\n-0.4,0.3,0\n1.1,-0.2,1\n0.0,0.8,0\n")
    X = np.array([[0.2, 1.5], [-0.4, 0.3], [1.1, -0.2], [0.0, 0.8]])
    y = np.array([1.0, 0.0, 1.0, 0.0])
    code, out, err = run(capsys, "derive", "bce", "--model", "logistic", "--features", "2",
                         "--at", "w1=0.5,w2=-1,b=0.25", "--data", str(data),
                         "--columns", "x1=gre,x2=gpa,y=admit")
    assert code == 0 and err == ""
    r = 1 / (1 + np.exp(-(X @ np.array([0.5, -1.0]) + 0.25))) - y  # sigma(z) - y, by hand
    assert out.splitlines()[-3:] == [f"  ∂L/∂w₁ = {np.mean(r * X[:, 0]):.6g}",
                                     f"  ∂L/∂w₂ = {np.mean(r * X[:, 1]):.6g}",
                                     f"  ∂L/∂b = {np.mean(r):.6g}"]
    code, out, err = run(capsys, "derive", "mse", "--at", "w=1,b=0", "--data", str(data),
                         "--columns", "x=gre,t=admit")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "--columns: 't' is not a data name of the loss; its data: x, y" in err


@pytest.mark.parametrize(
    ("text", "wrt", "message"),
    [
        ("z = w*x + b\nL = (yhat - y)^2\nyhat = z", "w,b",
         "line 2, column 6: 'yhat' is used before it is defined (on line 3)"),
        ("z = w*x + b; z2 = z2*w; L = z2^2", "w,b", "line 1, column 19: 'z2' refers to itself"),
        ("w = 2\nL = w*x", "w", "line 1, column 1: 'w' is a parameter (wrt) and cannot be defined"),
        ("z = w*x; z = 2*w; L = z^2", "w", "line 1, column 10: 'z' is defined twice"),
        ("z = w*x\nq = 3*x\nL = z^2", "w", "line 2, column 1: 'q' is defined but never used"),
        ("z = w*x; L = z^2", "w,q", "unknown variable 'q'; choose from: w, x"),
        ("z = w*x +; L = z^2", "w", "line 1, column 10: invalid syntax"),
        # a loss over samples: the names are read with the sample index (x as x_i), and every
        # message still names them as typed
        ("z = w*x + b; L = mean((z - y)^2) + y", "w,b", "line 1, column 18: the penalty outside "
         "the sum may use only parameters and constants, not y"),
        ("z = w*yhat\nyhat = w*x\nL = mean((z - y)^2)", "w",
         "line 1, column 7: 'yhat' is used before it is defined (on line 2)"),
        ("z = z*w\nL = mean(z^2)", "w", "line 1, column 5: 'z' refers to itself"),
        ("w = 2\nL = mean(w*x)", "w",
         "line 1, column 1: 'w' is a parameter (wrt) and cannot be defined"),
        ("z = w*x; z = 2*w; L = mean(z^2)", "w", "line 1, column 10: 'z' is defined twice"),
        ("z = w*x\nq = 3*x\nL = mean(z^2)", "w", "line 2, column 1: 'q' is defined but never used"),
        ("L = mean((w*x - y)^2)", "w,q", "unknown variable 'q'; choose from: w, x, y"),
    ],
)
def test_bad_definitions_exit_2_with_one_line_naming_line_and_column(capsys, text, wrt, message):
    code, out, err = run(capsys, "derive", "--expr", text, "--wrt", wrt)
    assert code == 2 and out == ""
    first = err.splitlines()[0]
    assert first.startswith("symgrad: error: ") and message in first, err


@pytest.mark.parametrize(
    "answer",
    [
        "(1/N)·Σᵢ (ŷᵢ − yᵢ)·xᵢ",
        "mean((y_hat_i - y_i)*x_i)",
        "(1/n)*sum((yhat - y)*x)",
        "(1/N)*Σ((ŷ - y)*x)",
    ],
)
def test_check_reads_what_symgrad_prints(answer):
    assert check_answer(answer, "bce", "logistic", wrt="w").correct


def test_check_reads_the_users_definition_names():
    r = check_answer("(yhat - y)*x", expr=SPELLINGS[0], wrt="w")
    assert r.correct
    assert not check_answer("yhat*(1 - yhat)*x", expr=SPELLINGS[0], wrt="w").correct


@pytest.mark.parametrize("typed", ["1/(1 + exp(-z))", "p = 1/(1 + exp(-z)); L = -log(p)"])
def test_a_recognised_quotient_prints_as_typed_with_no_factor_one(typed):
    # LaTeX printed the recognised sigmoid as "1 \frac{1}{1 + e^{- z}}"
    from symgrad.render import latex

    d = derive_expr(typed)
    rec = next(s for s in d.steps if any(r.text == "recognised: sigmoid" for r in s.rules))
    assert latex.expr_latex(rec.forms[0]) == r"\frac{1}{1 + e^{- z}}"
    assert expr_text(rec.forms[0]) == "1/(1 + e^(−z))"


def test_a_typed_loss_over_samples_keeps_the_definitions_as_typed():
    """Giving the data the sample index renames them; it does not reorder the sum (w10 after w9,
    not after w1) or distribute the minus of -(y log(yhat) + ...)."""
    z = " + ".join(f"w{j}*x{j}" for j in range(1, 12)) + " + b"
    text = f"z = {z}\nyhat = sigmoid(z)\nL = mean(-(y*log(yhat) + (1 - y)*log(1 - yhat)))"
    d = derive_expr(text, wrt=[f"w{j}" for j in range(1, 12)] + ["b"])
    defined = {str(s.lhs): expr_text(s.result) for s in d.steps if s.kind is Kind.DEFINITION}
    low = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
    order = [f"w{j}·x{j}ᵢ".translate(low) for j in range(1, 12)]
    assert defined["z_i"] == " + ".join(order) + " + b"
    assert defined["ell_i"] == "−(yᵢ·log(ŷᵢ) + (1 − yᵢ)·log(1 − ŷᵢ))"


@pytest.mark.parametrize(("text", "function"), [
    ("where(w*x > 1, w*x, 0)", lambda w, x: np.where(w * x > 1, w * x, 0.0)),
    ("where(w*x >= 1, (w*x)^2, 1 - w*x)",
     lambda w, x: np.where(w * x >= 1, (w * x) ** 2, 1 - w * x)),
    ("z = w*x; L = where(z <= 0, 0, z)", lambda w, x: np.where(w * x <= 0, 0.0, w * x)),
])
def test_where_in_typed_text_derives_with_its_condition_fixed(capsys, text, function):
    """where(cond, a, b) is a node of the graph, each case differentiated (a traceback before);
    the gradient against central differences of the same function in NumPy, on both sides of
    each kink."""
    assert main(["derive", "--expr", text, "--wrt", "w"]) == 0
    out = capsys.readouterr().out
    assert "piecewise rule" in out and "every step checked" in out
    for line in out.splitlines():  # a path through a condition only (0) is not a chain term:
        lhs, _, rhs = line.strip().partition(" = ")  # dj/du never on its own right-hand side
        assert not rhs or lhs not in rhs
    d = derive_expr(text, wrt=["w"])
    w_, x_ = sp.symbols("w x", real=True)
    gradient = d.gradients["w"].expanded
    for w, x in [(0.7, 2.0), (-0.3, 1.5), (0.4, -2.0), (2.0, 0.75), (0.2, 1.0)]:
        h = 1e-6
        expected = (function(w + h, x) - function(w - h, x)) / (2 * h)
        assert float(gradient.subs({w_: w, x_: x})) == pytest.approx(expected, rel=1e-6, abs=1e-8)


def test_a_parameter_without_data_inside_a_mean_feeds_every_sample_alike():
    """mean(a) is a, so dL/da = 1: the engine took a per-sample term without data for a penalty
    and claimed 0 (its check caught it: a VerificationError). Against central differences of
    the compiled loss on data."""
    assert derive_expr("mean(a)", ["a"]).gradients["a"].expanded == 1
    d = derive_expr("mean(sigmoid(a)*(w*x - y)^2 + a^2)", ["w", "a"])
    f = compile_gradient(d)
    X, Y = _samples()
    theta, h = {"w": 0.3, "a": -0.4}, 1e-6
    _, g = f(theta, X, Y)
    for name in theta:
        up, down = dict(theta), dict(theta)
        up[name] += h
        down[name] -= h
        expected = (f(up, X, Y)[0] - f(down, X, Y)[0]) / (2 * h)
        assert g[name] == pytest.approx(expected, rel=1e-6)


def test_a_parameter_only_in_the_penalty_shows_the_penalty_alone():
    d = derive_expr("L = mean((w*x - y)^2) + 0.5*a^2", ["w", "a"])
    assert d.gradients["a"].expanded == sp.Symbol("a", real=True)
    lines = [line for line in str(d).splitlines() if line.strip().startswith("∂L/∂a =")]
    assert lines and all("Σ" not in line and "0 +" not in line for line in lines)


def test_where_inside_a_function_derives():
    """relu(y + a + where(1 >= b, 0.5, w*x)): writing the full form under SymPy's
    evaluate(False) made its Piecewise recurse without end (a RecursionError). Against central
    differences of the same function in NumPy."""
    d = derive_expr("relu(y + a + where(1 >= b, 0.5, w*x))", ["w", "b", "a"])

    def f(w, b, a, x, y):
        return max(y + a + (0.5 if b <= 1 else w * x), 0.0)

    names = sp.symbols("w b a x y", real=True)
    points = [(0.3, 2.0, 0.4, 1.5, -0.2), (0.3, 0.5, 0.4, 1.5, -0.2), (-1.2, 3.0, 0.1, 2.0, 0.5)]
    for point in points:
        at = dict(zip(names, point, strict=True))
        for k, name in enumerate("wba"):
            h = 1e-6
            up, down = list(point), list(point)
            up[k] += h
            down[k] -= h
            expected = (f(*up) - f(*down)) / (2 * h)
            assert float(d.gradients[name].expanded.subs(at)) == pytest.approx(expected, abs=1e-6)


def test_an_exponential_of_a_sum_stays_whole():
    """Cancelling wrote exp(w2 x + b2) as exp(b2)·exp(w2 x) (factor splits it); it stays as
    typed. The gradient against central differences of the compiled loss."""
    text = ("z1 = w1*x + b1; z2 = w2*x + b2; p1 = exp(z1)/(exp(z1) + exp(z2)); "
            "L = mean(-(y*log(p1) + (1 - y)*log(1 - p1)))")
    d = derive_expr(text, ["w1", "b1", "w2", "b2"])
    out = str(d)
    assert "e^(w₂·xᵢ + b₂)" in out and "e^(b₁)" not in out and "e^(b₂)" not in out
    f = compile_gradient(d)
    X, Y = _samples()
    theta, h = {"w1": 0.3, "b1": -0.2, "w2": -0.5, "b2": 0.4}, 1e-6
    _, g = f(theta, X, Y)
    for name in theta:
        up, down = dict(theta), dict(theta)
        up[name] += h
        down[name] -= h
        assert g[name] == pytest.approx((f(up, X, Y)[0] - f(down, X, Y)[0]) / (2 * h), rel=1e-6)


L2_BCE = f"z = w*x + b; yhat = sigmoid(z); L = mean({BCE}) + lam*w^2"


def test_a_named_constant_of_the_penalty_is_one_number_not_a_data_column():
    """lam outside the mean was read with the sample index: the page showed L = (1/N)·Σᵢ ℓᵢ +
    λᵢ·w² (an index outside its sum) and compile_gradient failed with a TypeError. The
    gradient with lam given, against central differences of the loss written out in NumPy."""
    d = derive_expr(L2_BCE, ["w", "b"])
    lam = sp.Symbol("lambda", real=True)
    assert d.graph.penalty.free_symbols == {lam, w}
    assert "λᵢ" not in str(d) and "L = (1/N)·Σᵢ ℓᵢ + λ·w²" in str(d)
    X, Y = _samples()

    def loss(wv, bv, lv=0.3):
        p = 1 / (1 + np.exp(-(wv * X + bv)))
        return np.mean(-(Y * np.log(p) + (1 - Y) * np.log(1 - p))) + lv * wv**2

    value, grads = compile_gradient(d, {"lam": 0.3})({"w": 0.7, "b": -0.2}, X, Y)
    h = 1e-6
    assert value == pytest.approx(loss(0.7, -0.2), rel=1e-12)
    assert grads["w"] == pytest.approx((loss(0.7 + h, -0.2) - loss(0.7 - h, -0.2)) / (2 * h),
                                       rel=1e-6)
    assert grads["b"] == pytest.approx((loss(0.7, -0.2 + h) - loss(0.7, -0.2 - h)) / (2 * h),
                                       rel=1e-6)
    with pytest.raises(OptionError, match=r"^no value given for lambda in the penalty \(give it "
                                          r"in constants=\)$"):
        compile_gradient(d)


def test_the_number_of_samples_in_the_penalty_stays_the_number_of_samples():
    """w²/(2N) outside the mean: its N is the N of the mean (the number of samples), not a
    constant of its own; the compiled gradient against central differences in NumPy."""
    from symgrad.core.graph import N

    d = derive_expr("L = mean((w*x + b - y)^2) + w^2/(2*N)", ["w", "b"])
    assert d.graph.penalty.free_symbols == {N, w}
    X, Y = _samples()

    def loss(wv, bv):
        return np.mean((wv * X + bv - Y) ** 2) + wv**2 / (2 * len(X))

    value, grads = compile_gradient(d)({"w": 0.7, "b": -0.2}, X, Y)
    h = 1e-6
    assert value == pytest.approx(loss(0.7, -0.2), rel=1e-12)
    assert grads["w"] == pytest.approx((loss(0.7 + h, -0.2) - loss(0.7 - h, -0.2)) / (2 * h),
                                       rel=1e-6)


def test_derive_evaluates_a_typed_loss_with_a_penalty_on_a_data_file(capsys, tmp_path):
    """--data refused every typed loss with a penalty; the penalty's constant comes from --at.
    The numbers against a hand-written NumPy loss and central differences."""
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,0\n2,1\n-1,0\n0.5,1\n")
    code, out, err = run(capsys, "derive", "--expr", L2_BCE, "--wrt", "w,b", "--at",
                         "w=0.5,b=0.1,lam=0.2", "--data", str(data))
    assert code == 0 and err == ""
    X, Y = np.array([1, 2, -1, 0.5]), np.array([0, 1, 0, 1.0])

    def loss(wv, bv):
        p = 1 / (1 + np.exp(-(wv * X + bv)))
        return np.mean(-(Y * np.log(p) + (1 - Y) * np.log(1 - p))) + 0.2 * wv**2

    h = 1e-6
    dw = (loss(0.5 + h, 0.1) - loss(0.5 - h, 0.1)) / (2 * h)
    db = (loss(0.5, 0.1 + h) - loss(0.5, 0.1 - h)) / (2 * h)
    assert out.splitlines()[-3:] == [
        f"At w=0.5,b=0.1,lam=0.2 on {data}: L = {loss(0.5, 0.1):.6g}",
        f"  ∂L/∂w = {dw:.6g}", f"  ∂L/∂b = {db:.6g}"]
    code, out, err = run(capsys, "derive", "--expr", L2_BCE, "--wrt", "w,b", "--at",
                         "w=0.5,b=0.1", "--data", str(data))
    assert (code, out) == (2, "")
    assert err == "symgrad: error: no value given for lambda in the penalty (give it in --at)\n"


def test_a_node_of_a_function_of_a_typed_sum_is_named_in_its_derivative():
    """yhat = sigmoid(3*a + c): SymPy's derivative holds sigmoid(c + 3*a) (its own order), which
    did not match the node as typed, so dŷ/da was 3·σ(c + 3·a)·(1 − σ(c + 3·a)) and the BCE
    never cancelled. Now 3·ŷ·(1 − ŷ), dL/da cancels to 3(ŷ − y); the gradients against
    autograd."""
    text = ("z = w*x + b; a = tanh(z); yhat = sigmoid(3*a + c); "
            "L = -(y*log(yhat) + (1-y)*log(1-yhat))")
    d = derive_expr(text, ["w", "b", "c"])
    out = str(d)
    assert "∂ŷ/∂a = 3·ŷ·(1 − ŷ)" in out and "∂ŷ/∂c = ŷ·(1 − ŷ)" in out
    assert "σ(c + 3·a)" not in out
    yhat = sp.Symbol("yhat", real=True)
    assert sp.expand(d.gradients["c"].named - (yhat - y)) == 0

    def loss(p, xv, yv):
        t = _ag_sigmoid(3 * anp.tanh(p[0] * xv + p[1]) + p[2])
        return -(yv * anp.log(t) + (1 - yv) * anp.log(1 - t))

    symbols = sp.symbols("w b c x y", real=True)
    for point in [(0.3, -0.2, 0.5, 1.5, 1.0), (-1.1, 0.4, -0.3, -0.7, 0.0)]:
        ref = grad(loss)(anp.array(point[:3]), point[3], point[4])
        at = dict(zip(symbols, point, strict=True))
        for k, name in enumerate("wbc"):
            assert float(d.gradients[name].expanded.subs(at)) == pytest.approx(ref[k], rel=1e-9)


def test_a_node_whose_value_is_a_number_names_no_number():
    """u = w − w is 0: naming the node's evaluated value (0) wrote every 0 of the derivation as u
    (∂u/∂w = u, ∂j/∂w = u·(...)), true in value only because u is 0. Sympy's own derivative of
    the loss written out is 0."""
    d = derive_expr("(w - w)*sqrt(w - w)")
    du = next(s for s in d.steps if s.kind is Kind.LOCAL and s.lhs.of == sp.Symbol("u", real=True))
    assert du.result == 0
    assert d.gradients["w"].named == 0 == sp.diff((w - w) * sp.sqrt(w - w), w)


def test_invalid_syntax_is_said_once(capsys):
    """The line's column replaces the parser's, and "invalid syntax: invalid syntax" read twice."""
    code, out, err = run(capsys, "derive", "--expr", "L = w*x +", "--wrt", "w")
    assert code == 2 and out == ""
    assert err.splitlines()[0] == "symgrad: error: line 1, column 10: invalid syntax"

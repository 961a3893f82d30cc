"""The lecture figures: drawn artists checked against independent NumPy formulas, and the CLI."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from symgrad import plots  # noqa: E402
from symgrad.cli import main as cli_main
from symgrad.cli import plot as plot_command
from symgrad.core.errors import OptionError  # noqa: E402
from symgrad.numerics.data import bundled, load_data  # noqa: E402


def run_cli(argv: list[str]) -> int:
    return cli_main(argv)


# -------------------------------------------------------------------------------------------------
# independent references (textbook formulas, plain NumPy)


def sat_gpa_standardized() -> tuple[np.ndarray, np.ndarray]:
    ds = load_data(bundled("sat_gpa"), x=["sat"], y="gpa")
    x = ds.X[:, 0]
    return (x - x.mean()) / x.std(), ds.y


def mse(w: float, b: float, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((w * x + b - y) ** 2))


def dmse_dw(w: float, b: float, x: np.ndarray, y: np.ndarray) -> float:
    return float(2 / len(x) * np.sum((w * x + b - y) * x))


def dmse_db(w: float, b: float, x: np.ndarray, y: np.ndarray) -> float:
    return float(2 / len(x) * np.sum(w * x + b - y))


def lstsq(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    A = np.column_stack([x, np.ones_like(x)])
    return np.linalg.lstsq(A, y, rcond=None)[0]


def lines(ax, gid: str) -> list:
    return [ln for ln in ax.get_lines() if ln.get_gid() == gid]


def texts(ax, gid: str) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_gid() == gid]


# -------------------------------------------------------------------------------------------------
# slope


def test_slope_tangents_have_the_textbook_gradient():
    x, y = sat_gpa_standardized()
    w_star, b_star = lstsq(x, y)
    points = [-0.5, 0.1, w_star, 1.2]
    ax = plots.plot_slope(plots.make_problem(), points=points)
    assert len(ax.get_lines()) == 1 + len(points)
    assert [ln.get_gid() for ln in ax.get_lines()] == ["curve"] + ["tangent"] * len(points)
    for line, w0 in zip(lines(ax, "tangent"), points, strict=True):
        (t0, l0), (t1, l1) = line.get_xydata()
        slope = (l1 - l0) / (t1 - t0)
        ref = dmse_dw(w0, b_star, x, y)
        assert slope == pytest.approx(ref, rel=1e-9, abs=1e-12)
        # the tangent touches the curve at w0
        assert np.interp(w0, [t0, t1], [l0, l1]) == pytest.approx(mse(w0, b_star, x, y))
    labels = [ln.get_label() for ln in lines(ax, "tangent")]
    assert labels[2].startswith("slope = 0 at w")  # zero at the minimum, not -5e-16
    assert labels[0].startswith("slope = −")
    assert ax.get_xlabel() == "w" and ax.get_ylabel() == "MSE"
    assert "standardized" in ax.get_title()


def test_slope_curve_is_the_mse_with_b_fixed():
    x, y = sat_gpa_standardized()
    ax = plots.plot_slope(points=[0.0], fixed={"b": 2.0}, range=(-1.0, 2.0))
    curve = lines(ax, "curve")[0]
    ws, ls = curve.get_xdata(), curve.get_ydata()
    assert ws[0] == -1.0 and ws[-1] == 2.0
    np.testing.assert_allclose(ls, [mse(w, 2.0, x, y) for w in ws], rtol=1e-12)
    (t0, l0), (t1, l1) = lines(ax, "tangent")[0].get_xydata()
    assert (l1 - l0) / (t1 - t0) == pytest.approx(dmse_dw(0.0, 2.0, x, y), rel=1e-9)


def test_slope_in_b_on_raw_data():
    ds = load_data(bundled("sat_gpa"), x=["sat"], y="gpa")
    x, y = ds.X[:, 0], ds.y
    w_star, _ = lstsq(x, y)
    ax = plots.plot_slope(plots.make_problem(standardize=False), param="b", points=[0.0, 1.5])
    assert ax.get_xlabel() == "b"
    for line, b0 in zip(lines(ax, "tangent"), [0.0, 1.5], strict=True):
        (t0, l0), (t1, l1) = line.get_xydata()
        assert (l1 - l0) / (t1 - t0) == pytest.approx(dmse_db(w_star, b0, x, y), rel=1e-7)


# -------------------------------------------------------------------------------------------------
# gradient descent on the curve, learning rates


def test_lr_comparison_small_ideal_large():
    x, y = sat_gpa_standardized()
    w_star, b_star = lstsq(x, y)
    fig = plots.plot_lr_comparison(plots.make_problem())
    axes = fig.axes
    assert len(axes) == 3
    assert [ax.get_title() for ax in axes] == [
        "lr = 0.05 (small)", "lr = 0.25 (ideal)", "lr = 1.05 (large)"]
    stops = [texts(ax, "stop-reason")[0] for ax in axes]
    assert stops[0].startswith("converged") and stops[1].startswith("converged")
    assert stops[2].startswith("diverged")
    for ax, lr in zip(axes, [0.05, 0.25, 1.05], strict=True):
        assert len(ax.get_lines()) == 2  # the curve and the iterates
        ws, ls = lines(ax, "iterates")[0].get_data()
        # every iterate is w_old - lr * dL/dw (textbook formula) and lies on the curve
        for k in range(len(ws) - 1):
            assert ws[k + 1] == pytest.approx(ws[k] - lr * dmse_dw(ws[k], b_star, x, y),
                                              rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(ls, [mse(w, b_star, x, y) for w in ws], rtol=1e-9)
        # the axis range holds every iterate drawn
        lo, hi = ax.get_xlim()
        assert lo <= ws.min() and ws.max() <= hi
    # the large rate jumps over the minimum: iterates alternate sides
    ws = lines(axes[2], "iterates")[0].get_xdata()
    sides = np.sign(ws - w_star)
    assert np.all(sides[1:] == -sides[:-1])
    # the diverging run is drawn on a log loss axis, with a note
    assert axes[2].get_yscale() == "log"
    assert "log-scaled" in texts(axes[2], "note")[0]
    assert np.all(np.isfinite(axes[2].get_ylim()))


def test_lr_comparison_raw_sat_lecture_rate_diverges():
    fig = plots.figure("lr-comparison", standardize=False, lr=[0.001])
    ax = fig.axes[0]
    assert texts(ax, "stop-reason")[0].startswith("diverged")
    assert "raw units" in fig.get_suptitle()
    assert all(np.isfinite(ax.get_xlim())) and all(np.isfinite(ax.get_ylim()))


def test_gd_path_iterates_are_capped():
    ax = plots.plot_gd_path(lr=0.01, max_iter=200)
    ws = lines(ax, "iterates")[0].get_xdata()
    assert len(ws) == plots.SHOW_ITERATES
    assert "first 30 of 201" in lines(ax, "iterates")[0].get_label()
    assert texts(ax, "stop-reason")[0] == "stopped at the iteration limit"


# -------------------------------------------------------------------------------------------------
# contour


def test_contour_marks_the_lstsq_minimum_and_the_gd_path():
    x, y = sat_gpa_standardized()
    ax = plots.plot_contour(plots.make_problem(), lr=0.1)
    star = lines(ax, "closed-form")[0]
    np.testing.assert_allclose(star.get_xydata()[0], lstsq(x, y), rtol=1e-10)
    assert star.get_marker() == "*"
    path = lines(ax, "trajectory")[0].get_xydata()
    np.testing.assert_array_equal(path[0], [0.0, 0.0])
    w0, b0 = path[0]
    assert path[1] == pytest.approx([w0 - 0.1 * dmse_dw(w0, b0, x, y),
                                     b0 - 0.1 * dmse_db(w0, b0, x, y)])
    np.testing.assert_allclose(path[-1], lstsq(x, y), atol=1e-6)
    assert ax.get_xlabel() == "w" and ax.get_ylabel() == "b"
    assert "converged" in lines(ax, "trajectory")[0].get_label()
    assert len(ax.collections) >= 2  # filled and line contours


# -------------------------------------------------------------------------------------------------
# loss curve


def test_loss_curve_converged_annotation_and_values():
    x, y = sat_gpa_standardized()
    ax = plots.plot_loss_curve(problem=plots.make_problem(), lr=0.1)
    loss = lines(ax, "loss")[0]
    it, ls = loss.get_data()
    assert it[0] == 0 and ls[0] == pytest.approx(mse(0.0, 0.0, x, y))
    assert ls[-1] == pytest.approx(mse(*lstsq(x, y), x, y), rel=1e-9)
    twin = ax.get_figure().axes[1]
    gnorm = [ln for ln in twin.get_lines() if ln.get_gid() == "grad-norm"][0]
    g0 = np.hypot(dmse_dw(0, 0, x, y), dmse_db(0, 0, x, y))
    assert gnorm.get_ydata()[0] == pytest.approx(g0)
    assert twin.get_yscale() == "log"
    (reason,) = texts(ax, "stop-reason")
    assert reason.startswith(f"stopped: converged after {int(it[-1])} iterations")
    assert ax.get_xlabel() == "iteration" and ax.get_ylabel() == "MSE"


def test_loss_curve_max_iter_and_diverged():
    ax = plots.plot_loss_curve(problem=plots.make_problem(), max_iter=15)
    assert texts(ax, "stop-reason") == ["stopped: at the iteration limit (15 iterations)"]
    ax = plots.plot_loss_curve(problem=plots.make_problem(), lr=1.5)
    (reason,) = texts(ax, "stop-reason")
    assert reason.startswith("stopped: diverged at iteration")
    assert "lower the learning rate" in reason


# -------------------------------------------------------------------------------------------------
# fit


def test_fit_lines_match_lstsq_in_sat_units():
    ds = load_data(bundled("sat_gpa"), x=["sat"], y="gpa")
    w_raw, b_raw = lstsq(ds.X[:, 0], ds.y)
    ax = plots.plot_fit()
    assert [ln.get_gid() for ln in ax.get_lines()] == ["gd-fit", "closed-form-fit"]
    for line in ax.get_lines():
        xs, ys = line.get_data()
        np.testing.assert_allclose(ys, w_raw * xs + b_raw, rtol=1e-6)
    np.testing.assert_array_equal(ax.collections[0].get_offsets()[:, 0], ds.X[:, 0])
    assert ax.get_xlabel() == "sat" and ax.get_ylabel() == "gpa"
    assert "gpa = 0.00209·sat + 0.68" in lines(ax, "closed-form-fit")[0].get_label()


def test_bce_fit_draws_a_sigmoid_and_no_closed_form(tmp_path: Path):
    rng = np.random.default_rng(0)
    xv = rng.normal(size=60)
    yv = (xv + 0.5 * rng.normal(size=60) > 0).astype(float)
    f = tmp_path / "cls.csv"
    f.write_text("x,y\n" + "".join(f"{a},{b}\n" for a, b in zip(xv, yv, strict=True)))
    ax = plots.figure("fit", loss="bce", data=str(f)).axes[0]
    assert [ln.get_gid() for ln in ax.get_lines()] == ["gd-fit"]
    ys = ax.get_lines()[0].get_ydata()
    assert np.all((ys > 0) & (ys < 1)) and np.all(np.diff(ys) > 0)
    ax = plots.figure("contour", loss="bce", data=str(f)).axes[0]
    assert lines(ax, "closed-form") == [] and "no closed form" in texts(ax, "note")[0]


# -------------------------------------------------------------------------------------------------
# activations


def test_activation_derivatives_equal_independent_formulas():
    fig = plots.plot_activations()
    assert [ax.get_title() for ax in fig.axes] == ["sigmoid", "tanh", "relu", "leaky_relu"]
    reference = {
        "sigmoid": (lambda z: 1 / (1 + np.exp(-z)),
                    lambda z: (1 / (1 + np.exp(-z))) * (1 - 1 / (1 + np.exp(-z)))),
        "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
        "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
        "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z),
                       lambda z: np.where(z > 0, 1.0, 0.01)),
    }
    for ax in fig.axes:
        g, dg = reference[ax.get_title()]
        (act,) = lines(ax, "activation")
        (der,) = lines(ax, "derivative")
        z = act.get_xdata()
        np.testing.assert_allclose(act.get_ydata(), g(z), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(der.get_ydata(), dg(der.get_xdata()), rtol=1e-12, atol=1e-15)
        assert der.get_linestyle() == "--"
        assert len(ax.get_lines()) == 4  # g, g', and the two zero axes
    sig_label = lines(fig.axes[0], "derivative")[0].get_label()
    assert "a·(1 − a)" in sig_label  # the engine's named form, with a = sigmoid(z)


def test_activation_range_and_subset():
    fig = plots.figure("activations", names=["tanh"], range=(-2, 3))
    assert len(fig.axes) == 1
    assert fig.axes[0].get_xlim() == (-2, 3)


# -------------------------------------------------------------------------------------------------
# figure() options and errors


@pytest.mark.parametrize("kind", plots.KINDS)
def test_figure_every_kind_with_defaults(kind):
    fig = plots.figure(kind)
    assert fig.axes and all(ax.get_lines() for ax in fig.axes if ax.get_ylabel() != "")


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("pie", {}, "unknown plot kind 'pie'"),
        ("graph", {"expr": "a*b", "at": {"a": 1}}, "no value given for b"),
        ("contour", {"points": [1.0]}, "do not apply to plot kind 'contour'"),
        ("slope", {"range": (2.0, 1.0)}, "MIN must be less than MAX"),
        ("slope", {"range": (1.0, 1.0)}, "MIN must be less than MAX"),
        ("activations", {"names": ["swish"]}, "unknown activation 'swish'"),
        ("slope", {"param": "v"}, "unknown parameter 'v'"),
        ("fit", {"lr": [0.1, 0.2]}, "takes one learning rate"),
        ("slope", {"loss": "cross_entropy"}, "unknown loss for plots"),
        ("fit", {"loss": "bce"}, "bce needs 0/1 labels"),
    ],
)
def test_figure_bad_options(kind, options, message):
    with pytest.raises(OptionError, match=message):
        plots.figure(kind, **options)


def test_cli_kinds_match_the_module():
    assert plot_command.KINDS == plots.KINDS
    assert set(plot_command.FLAGS) >= {o for opts in plots.KIND_OPTIONS.values() for o in opts}


# -------------------------------------------------------------------------------------------------
# saving and the command line


@pytest.mark.parametrize(("ext", "magic"), [("png", b"\x89PNG"), ("svg", b"<?xml"),
                                            ("pdf", b"%PDF")])
def test_cli_writes_each_format(tmp_path: Path, ext: str, magic: bytes, capsys):
    out = tmp_path / f"slope.{ext}"
    assert run_cli(["plot", "slope", "--out", str(out)]) == 0
    assert out.read_bytes().startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left
    assert out.stat().st_mode & 0o644 == 0o644  # readable like any file, not mkstemp's 0600


@pytest.mark.parametrize("kind", plots.KINDS)
def test_cli_every_kind_alone(tmp_path: Path, kind: str, capsys):
    out = tmp_path / f"{kind}.png"
    assert run_cli(["plot", kind, "--out", str(out)]) == 0
    assert out.stat().st_size > 1000


def test_cli_options(tmp_path: Path, capsys):
    out = tmp_path / "a.png"
    argv = ["plot", "lr-comparison", "--lr", "0.01,0.5", "--param", "b", "--init", "b=0",
            "--max-iter", "50", "--out", str(out)]
    assert run_cli(argv) == 0 and out.exists()
    argv = ["plot", "slope", "--points=-1,0,1", "--range=-2,2", "--fix", "b=3", "--out", str(out)]
    assert run_cli(argv) == 0
    argv = ["plot", "activations", "--activations", "relu,sigmoid", "--range=-3,3",
            "--out", str(out)]
    assert run_cli(argv) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plot", "pie", "--out", "{d}/x.png"], "unknown plot kind 'pie'"),
        (["plot", "graph", "--expr", "a*b", "--at", "a=1", "--out", "{d}/x.png"], "for b"),
        (["plot", "graph", "--out", "{d}/x.docx"], "cannot write '.docx'"),
        (["plot", "slope", "--out", "{d}/x.docx"], "cannot write '.docx' figures"),
        (["plot", "slope", "--out", "{d}/x"], "cannot write files without an extension"),
        (["plot", "slope", "--range", "2,1", "--out", "{d}/x.png"], "MIN must be less than MAX"),
        (["plot", "slope", "--range", "1,1", "--out", "{d}/x.png"], "MIN must be less than MAX"),
        (["plot", "slope", "--range", "1", "--out", "{d}/x.png"], "--range takes MIN,MAX"),
        (["plot", "slope", "--points", "a", "--out", "{d}/x.png"], "'a' is not a number"),
        (["plot", "contour", "--points", "1", "--out", "{d}/x.png"], "--points does not apply"),
        (["plot", "fit", "--lr", "0", "--out", "{d}/x.png"], "must be positive"),
        (["plot", "slope", "--out", "{d}/missing/x.png"], "does not exist"),
        (["plot", "slope"], "--out FILE is required"),
        (["plot", "--out", "{d}/x.png"], "give a plot KIND"),
        (["plot", "fit", "--data", "{d}/nope.csv", "--out", "{d}/x.png"], "no such file"),
    ],
)
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path: Path, capsys, argv, message):
    argv = [a.replace("{d}", str(tmp_path)) for a in argv]
    assert run_cli(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1  # one line
    assert list(tmp_path.iterdir()) == []


def test_save_failure_leaves_no_partial_file(tmp_path: Path, monkeypatch):
    fig = plots.figure("activations", names=["relu"])
    out = tmp_path / "x.png"
    out.write_bytes(b"old")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", boom)
    with pytest.raises(RuntimeError):
        plots.save_figure(fig, out)
    assert out.read_bytes() == b"old"  # the previous file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]


def test_gallery(tmp_path: Path):
    paths = plots.gallery(tmp_path / "g")
    assert sorted(p.name for p in paths) == sorted(f"{k}.png" for k in plots.KINDS)
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)


def test_graph_kind_draws_the_lecture_graph_by_default(tmp_path):
    from symgrad.teaching.graphdraw import node_lines

    lines = node_lines(plots.figure("graph").axes[0])
    assert any("21" in t for t in lines["j"])  # j = 21 at a = 1, b = 2, c = 3
    assert any("9" in t for t in lines["b"])  # dj/db = 9
    assert run_cli(["plot", "graph", "--out", str(tmp_path / "toy.png")]) == 0
    assert (tmp_path / "toy.png").read_bytes()[:4] == b"\x89PNG"
    argv = ["plot", "graph", "--expr", "sigmoid(w*x + b)", "--at", "w=1,x=2,b=0",
            "--out", str(tmp_path / "g.tex")]
    assert run_cli(argv) == 0
    assert r"\begin{tikzpicture}" in (tmp_path / "g.tex").read_text()

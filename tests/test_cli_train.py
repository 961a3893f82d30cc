"""``symgrad train`` and ``symgrad gradcheck`` on the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from symgrad.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_contract(capsys):
    code, out, _ = _run(capsys, "train", "--lr", "1e-7", "--max-iter", "5", "--format", "json")
    assert code == 0
    d = json.loads(out)
    for key in (
        "params",
        "iterations",
        "stopped_because",
        "diverged_at",
        "loss_history",
        "closed_form",
    ):
        assert key in d
    assert set(d["params"]) == {"w", "b"} and set(d["closed_form"]) == {"w", "b"}
    assert d["iterations"] == 5 and d["stopped_because"] == "max_iter" and d["diverged_at"] is None
    assert len(d["loss_history"]) == 6


def test_lecture_run_diverges_with_hint(capsys):
    code, out, err = _run(capsys, "train", "--lr", "0.001")
    assert code == 1  # a diverged run is a negative answer
    assert "stopped: diverged" in out and "diverged: the loss grew without bound" in out
    assert "'sat' is on the scale" in out and "--standardize" in out
    w_row = next(line for line in out.splitlines() if line.startswith("w "))
    assert "diverged" in w_row and "nan" not in out.lower()
    code, out, _ = _run(capsys, "train", "--lr", "0.001", "--format", "json")
    d = json.loads(out)
    assert d["stopped_because"] == "diverged" and d["diverged_at"] == 1 and d["hint"]


def test_standardize_reports_original_units(capsys):
    code, out, _ = _run(capsys, "train", "--standardize", "--lr", "0.1", "--format", "json")
    d = json.loads(out)
    assert code == 0 and d["stopped_because"] == "converged"
    assert d["params_original"]["w"] == pytest.approx(d["closed_form_original"]["w"], rel=1e-6)
    code, out, _ = _run(capsys, "train", "--standardize", "--lr", "0.1")
    assert "original units" in out


def test_logistic_csv_and_init(tmp_path, capsys):
    p = tmp_path / "d.csv"
    p.write_text("a,b,label\n0.1,1,0\n0.9,2,1\n0.4,0,0\n0.8,3,1\n")
    code, out, _ = _run(
        capsys,
        "train",
        "--model",
        "logistic",
        "--data",
        str(p),
        "--x",
        "a,b",
        "--y",
        "label",
        "--lr",
        "0.5",
        "--init",
        "w1=0.1,w2=0,b=0",
        "--format",
        "json",
    )
    assert code == 0 and set(json.loads(out)["params"]) == {"w1", "w2", "b"}


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--lr", "0"], "'0'"),
        (["--lr", "fast"], "'fast'"),
        (["--max-iter", "0"], "'0'"),
        (["--tol", "-1"], "'-1'"),
        (["--batch-size", "101"], "101"),
        (["--batch-size", "0"], "'0'"),
        (["--init", "v=1"], "'v'"),
    ],
)
def test_bad_options_exit_2_with_one_line(capsys, argv, needle):
    code, out, err = _run(capsys, "train", *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err


@pytest.mark.parametrize(
    "text,needle",
    [
        ("x,y\n1,2\n2,nan\n", ":3:"),
        ("x,y\n1,2\n2,abc\n", ":3:"),
        ("x,y\n1,2\n2\n", ":3:"),
        ("x,y\n1,2\n1,3\n", "constant"),
    ],
)
def test_bad_data_exit_2_naming_file_and_line(tmp_path, capsys, text, needle):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    code, _, err = _run(capsys, "train", "--data", str(p), "--standardize")
    assert code == 2 and len(err.strip().splitlines()) == 1 and needle in err


def test_bce_labels_outside_01(capsys):
    code, _, err = _run(capsys, "train", "--model", "logistic", "--loss", "bce")
    assert code == 2 and "sat_gpa.csv:2" in err and "not 0 or 1" in err


def test_gradcheck(capsys):
    code, out, _ = _run(capsys, "gradcheck", "--at", "w=0.001,b=1")
    assert code == 0 and "ok: largest relative error" in out
    code, out, _ = _run(capsys, "gradcheck", "--at", "w=0.001,b=1", "--format", "json")
    d = json.loads(out)
    assert d["ok"] and d["gradient"]["w"]["relative_error"] < 1e-6


def test_gradcheck_exits_1_on_a_wrong_gradient(capsys, monkeypatch):
    import symgrad.models.fit as fit_module

    real = fit_module.derived

    def one_percent_off(*args, **kwargs):
        d, compiled, rest = real(*args, **kwargs)

        class Off:  # the symbolic gradient 1% off, the loss (and so the differences) untouched
            names = compiled.names

            def vector(self, theta, X, Y):
                loss, grad = compiled.vector(theta, X, Y)
                return loss, grad * 1.01

        return d, Off(), rest

    monkeypatch.setattr(fit_module, "derived", one_percent_off)
    code, out, _ = _run(capsys, "gradcheck", "--at", "w=0.001,b=1")
    assert code == 1 and "MISMATCH" in out and out.count("FAIL") == 2


XOR = "x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n"


@pytest.fixture
def xor_csv(tmp_path):
    data = tmp_path / "xor.csv"
    data.write_text(XOR)
    return data


def _mlp_args(data, layers):
    """``symgrad train`` of a tanh/sigmoid network with BCE on ``data`` (columns x1, x2 -> y)."""
    return ["train", "--model", "mlp", "--layers", layers, "--activations", "tanh,sigmoid",
            "--loss", "bce", "--data", str(data), "--x", "x1,x2", "--y", "y"]


def test_mlp_trains_xor_and_reports_accuracy(xor_csv, capsys):
    common = [*_mlp_args(xor_csv, "2,4,1"), "--lr", "1", "--max-iter", "2000"]
    code, out, err = _run(capsys, *common, "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    assert d["layers"] == [2, 4, 1] and d["training_accuracy"] == 1.0
    assert d["loss_history"][-1] < d["loss_history"][0]
    assert len(d["params"]["W1"]) == 4 and len(d["params"]["W1"][0]) == 2  # W1 is (n1, n0)
    code, out, _ = _run(capsys, *common)
    assert code == 0 and "training accuracy: 100.0%" in out


def test_mlp_needs_its_options_and_matching_data(xor_csv, capsys):
    code, _, err = _run(capsys, "train", "--model", "mlp", "--data", str(xor_csv))
    assert code == 2 and "--model mlp needs --layers, --activations and --loss" in err
    code, _, err = _run(capsys, *_mlp_args(xor_csv, "3,4,1"))
    assert code == 2 and "expected (m, 3)" in err and len(err.strip().splitlines()) == 1


def _huber_gd(x, y, delta, lr, steps):
    """Plain gradient descent on PyTorch's HuberLoss(delta) of w x + b, written from its
    definition (r^2/2 inside delta, delta (|r| - delta/2) outside): the independent reference."""
    w = b = 0.0
    for _ in range(steps):
        r = w * x + b - y
        g = np.clip(r, -delta, delta)
        w, b = w - lr * float(np.mean(g * x)), b - lr * float(np.mean(g))
    return w, b


def test_train_huber_delta_is_the_threshold_and_is_reported(capsys, tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=40)
    y = 1.5 * x - 0.5 + rng.standard_t(2, size=40)
    data = tmp_path / "d.csv"
    rows = "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(x, y, strict=True))
    data.write_text("x,y\n" + rows)
    runs = {}
    for delta in ("0.5", "2"):
        code, out, _ = _run(capsys, "train", "--loss", "huber", "--delta", delta, "--data",
                            str(data), "--lr", "0.1", "--max-iter", "60", "--tol", "0",
                            "--format", "json")
        assert code == 0
        runs[delta] = json.loads(out)
        assert runs[delta]["delta"] == float(delta) and runs[delta]["loss"] == "huber"
        want = _huber_gd(x, y, float(delta), 0.1, 60)
        got = runs[delta]["params"]
        assert (got["w"], got["b"]) == pytest.approx(want, rel=1e-12, abs=1e-14)
    assert runs["0.5"]["params"]["w"] != pytest.approx(runs["2"]["params"]["w"], rel=1e-3)
    code, out, _ = _run(capsys, "train", "--loss", "huber", "--delta", "0.5", "--data", str(data),
                        "--lr", "0.1", "--max-iter", "5")
    assert code == 0 and out.startswith("linear model, huber loss (delta 0.5): 40 samples")


@pytest.mark.parametrize("extra", [["--delta", "2"], ["--l2", "0.1"], ["--standardize"],
                                   ["--init", "w=1"]])
def test_train_mlp_refuses_catalogue_options_instead_of_ignoring_them(capsys, extra):
    code, out, err = _run(capsys, "train", "--model", "mlp", "--layers", "1,2,1", "--activations",
                          "tanh,sigmoid", "--loss", "bce", *extra)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and extra[0] in err and "not --model mlp" in err


def test_train_delta_is_huber_only(capsys):
    code, out, err = _run(capsys, "train", "--loss", "mse", "--delta", "0.5")
    assert code == 2 and out == "" and "delta" in err and err.count("\n") == 1

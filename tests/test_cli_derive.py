"""``symgrad derive`` from the command line: formats, the JSON contract, evaluation, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from symgrad.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_text_output_has_the_lecture_result(capsys):
    code, out, err = run(capsys, "derive", "mse", "--model", "linear")
    assert code == 0 and err == ""
    assert "∂L/∂w = (2/N)·Σᵢ (ŷᵢ − yᵢ)·xᵢ" in out
    assert "[power rule]" in out


def test_latex_output_is_an_align_block_with_rules_in_text(capsys):
    code, out, _ = run(capsys, "derive", "bce", "--model", "logistic", "--format", "latex")
    assert code == 0
    assert out.strip().startswith(r"\begin{align*}") and out.strip().endswith(r"\end{align*}")
    assert r"\text{\parbox[t]{4.5cm}{\raggedright\footnotesize sigmoid identity}}" in out
    assert r"\frac{1}{N} \sum_{i=1}^{N} \left(\hat{y}_{i} - y_{i}\right) x_{i}" in out


def test_json_contract(capsys):
    code, out, _ = run(capsys, "derive", "mse", "--model", "linear", "--format", "json")
    d = json.loads(out)
    assert code == 0
    assert d["loss"] == "mse" and d["model"] == "linear"
    assert {"symbol", "latex", "text"} <= set(d["definitions"][0])
    assert all({"rule", "latex", "text", "verified", "check"} <= set(s) for s in d["steps"])
    for s in d["steps"]:  # a definition needs no check; every other step records its own
        if s["kind"] == "definition":
            assert s["check"] is None and s["verified"] is True
        else:
            assert s["check"]["passed"] is s["verified"] is True
            assert s["check"]["against"] == "sympy.diff of the fully substituted expression"
            assert s["check"]["method"] in ("symbolic identity", "random points")
    assert "chain rule" in {s["rule"] for s in d["steps"]}
    assert set(d["gradient"]) == {"w", "b"}
    assert "value" not in d["gradient"]["w"] and "loss_value" not in d


@pytest.fixture
def data_csv(tmp_path):
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-2, 2, 40), rng.uniform(-1, 1, 40)
    path = tmp_path / "d.csv"
    path.write_text(
        "x,y\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(x, y, strict=True))
    )
    return path, x, y


def test_json_values_equal_hand_numpy(capsys, data_csv):
    path, x, y = data_csv
    code, out, _ = run(
        capsys,
        "derive",
        "mse",
        "--model",
        "linear",
        "--at",
        "w=0.5,b=1",
        "--data",
        str(path),
        "--format",
        "json",
    )
    d = json.loads(out)
    r = 0.5 * x + 1 - y
    assert code == 0
    assert d["gradient"]["w"]["value"] == pytest.approx(2 * (r @ x) / len(x), rel=1e-12)
    assert d["gradient"]["b"]["value"] == pytest.approx(2 * r.sum() / len(x), rel=1e-12)
    assert d["loss_value"] == pytest.approx(np.mean(r**2), rel=1e-12)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["derive", "svm"], "invalid choice: 'svm'"),
        (["derive", "mse", "--model", "svm"], "invalid choice: 'svm'"),
        (["derive", "mse", "--format", "pdf"], "invalid choice: 'pdf'"),
        (["derive", "mse", "--wrt", "v"], "unknown parameter 'v'; choose from: w, b"),
        (["derive", "bce", "--model", "linear"], "bce needs"),
        (["derive", "mse", "--at", "w=1,b=0"], "--data is required"),
    ],
)
def test_bad_options_exit_2_with_one_line(capsys, argv, message):
    code, out, err = run_exit(capsys, argv)
    assert code == 2 and out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1


def run_exit(capsys, argv):
    try:
        code = main(argv)
    except SystemExit as e:  # argparse exits itself
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("", "empty"),
        ("x,z\n1,2\n", "y"),
        ("x,y\n1,2\n3,abc\n", "bad.csv:3"),
    ],
)
def test_bad_data_files_name_the_problem(capsys, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_text(content)
    code, out, err = run_exit(capsys, ["derive", "mse", "--at", "w=1,b=0", "--data", str(path)])
    assert code == 2 and out == ""
    assert "bad.csv" in err and message in err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", ["derive", "check"])
def test_a_loss_or_an_expression_exactly_one(capsys, command):
    extra = ["--wrt", "w", "--answer", "w"] if command == "check" else []
    code, _, err = run_exit(capsys, [command, *extra])
    losses = "mse, bce, cross_entropy, mae, huber, hinge"
    assert code == 2 and f"give a catalogue loss ({losses}) or --expr TEXT" in err
    code, _, err = run_exit(capsys, [command, "mse", "--expr", "w*x", *extra])
    assert code == 2 and "give a catalogue loss (mse) or --expr, not both" in err


def test_standalone_latex_compiles_with_pdflatex(capsys, tmp_path):
    import shutil
    import subprocess

    code, out, _ = run(
        capsys, "derive", "bce", "--model", "logistic", "--format", "latex", "--standalone"
    )
    assert code == 0 and out.startswith(r"\documentclass") and r"\begin{align*}" in out
    (tmp_path / "notes.tex").write_text(out, encoding="utf-8")
    assert shutil.which("pdflatex"), "pdflatex is required (scripts/test.sh installs it)"
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "notes.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "notes.pdf").read_bytes()[:5] == b"%PDF-"


@pytest.mark.parametrize(("fmt", "start"), [("html", "<!DOCTYPE html>"), ("md", "# Gradient")])
def test_standalone_html_and_markdown(capsys, fmt, start):
    code, out, _ = run(capsys, "derive", "mse", "--format", fmt, "--standalone")
    assert code == 0 and out.startswith(start)

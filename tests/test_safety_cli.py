"""Strict outputs (issue 12): JSON is RFC 8259 (no Infinity or NaN), train prints no inf or nan
as a result and a diverged run exits 1, and an error is one line whatever the input holds."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from symgrad.cli import main
from symgrad.core.errors import VerificationError

ROOT = Path(__file__).resolve().parent.parent
NON_FINITE = re.compile(r"\b(inf|nan|infinity)\b", re.I)


def run(capsys, *argv) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exited:  # argparse's usage errors
        code = exited.code
    out, err = capsys.readouterr()
    return code, out, err


def strict_json(text: str):
    """json.loads that refuses Infinity and NaN (Python's json would accept them)."""
    def refuse(token):
        raise AssertionError(f"non-standard JSON constant {token}")
    return json.loads(text, parse_constant=refuse)


def test_overflow_at_a_point_is_null_with_a_note(capsys):
    code, out, _ = run(capsys, "derive", "--expr", "exp(z)", "--at", "z=800", "--format", "json")
    assert code == 0
    d = strict_json(out)
    assert d["gradient"]["z"]["value"] is None and "overflow" in d["gradient"]["z"]["note"]
    assert "exp(800)" in d["gradient"]["z"]["note"]
    assert d["loss_value"] is None and "loss_value" in d["note"]
    z = next(n for n in d["graph"]["nodes"] if n["id"] == "z")
    assert z["value"] == 800 and z["grad"] is None and "grad" in z["note"]
    # a value within float64 stays a number, exactly as before
    code, out, _ = run(capsys, "derive", "--expr", "exp(z)", "--at", "z=1", "--format", "json")
    assert strict_json(out)["loss_value"] == pytest.approx(math.e) and "note" not in out


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_huge_weights_on_data_give_strict_json(capsys, tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,2\n2,3\n")
    code, out, _ = run(capsys, "derive", "mse", "--at", "w=1e200,b=0", "--data", data,
                       "--format", "json")
    d = strict_json(out)
    assert code == 0 and d["loss_value"] is None and "overflow" in d["note"]
    assert d["gradient"]["w"]["value"] == pytest.approx(5e200)  # finite: kept
    code, out, _ = run(capsys, "derive", "--expr", "w*x", "--at", "w=1e200,x=1e200",
                       "--format", "json")
    d = strict_json(out)  # 1e400 is no float64: null with a note, not a 401-digit integer
    assert d["loss_value"] is None and "1.00000e+400" in d["note"].lower()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("argv", [
    ["--lr", "1e300"],
    ["--lr", "1e150"],
    ["--lr", "1e300", "--standardize"],
    ["--lr", "1e150", "--batch-size", "10"],
    ["--lr", "1e300", "--l2", "0.1"],
])
def test_a_diverged_run_prints_no_inf_or_nan_and_exits_1(capsys, argv):
    code, out, _ = run(capsys, "train", *argv, "--max-iter", "30")
    assert code == 1 and "diverged" in out and "why:" in out
    assert not NON_FINITE.search(out), out
    code, out, _ = run(capsys, "train", *argv, "--max-iter", "30", "--format", "json")
    d = strict_json(out)
    assert code == 1 and d["stopped_because"] == "diverged" and d["diverged_at"] == 1


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_diverged_network_exits_1_without_a_final_loss(capsys, tmp_path):
    data = tmp_path / "xor.csv"
    data.write_text("x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    argv = ["train", "--model", "mlp", "--layers", "2,8,1", "--activations", "tanh,sigmoid",
            "--loss", "bce", "--data", data, "--x", "x1,x2", "--y", "y", "--lr", "1e300",
            "--max-iter", "20"]
    code, out, _ = run(capsys, *argv)
    assert code == 1 and "final loss: diverged" in out and "diverged from iteration" in out
    code, out, _ = run(capsys, *argv, "--format", "json")
    assert code == 1 and strict_json(out)["stopped_because"] == "diverged"


def test_a_converged_run_still_exits_0(capsys):
    code, out, _ = run(capsys, "train", "--standardize", "--lr", "0.1")
    assert code == 0 and "converged" in out


@pytest.mark.parametrize("argv", [
    ["derive", "--expr", "log(\n"],
    ["derive", "--expr", "log(x\x1b[31m)"],
    ["derive", "--expr", "a\u2028+ b"],
    ["derive", "mse", "--wrt", "w\nq"],
    ["derive", "ms\ne"],
    ["derive", "mse", "--bogus\nline"],
    ["worksheet", "no\nsuch.toml", "--out", "o"],
])
def test_an_error_is_one_line_whatever_the_input_holds(capsys, argv):
    code, _, err = run(capsys, *argv)
    lines = err.splitlines()
    assert code == 2 and lines[0].startswith("symgrad") and "Traceback" not in err
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]", err)
    if "--expr" in argv and len(lines) > 1:  # the caret line: the input, then ^ under it
        assert len(lines) == 3 and lines[2].strip() == "^"
    else:
        assert len(lines) == 1


def test_the_caret_points_at_the_escaped_character(capsys):
    code, _, err = run(capsys, "derive", "--expr", "log(\x1b")
    first, text, caret = err.splitlines()
    assert text == "  log(\\x1b" and caret.index("^") == text.index("\\x1b")
    # a line break separates definitions (z = w*x; L = z^2 on two lines): the error names line 1
    code, _, err = run(capsys, "derive", "--expr", "log(\n")
    first, text, caret = err.splitlines()
    assert code == 2 and "line 1, column 4" in first and text == "  log("


def test_no_traceback_from_a_subprocess():
    proc = subprocess.run([sys.executable, "-m", "symgrad", "derive", "--expr", "exp(z)", "--at",
                           "z=800", "--format", "json"], capture_output=True, text=True,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0 and "Infinity" not in proc.stdout and not proc.stderr
    strict_json(proc.stdout)


@pytest.mark.parametrize("error", [
    VerificationError("step dL/dw does not match sympy.diff: symgrad has a bug"),
    RecursionError("maximum recursion depth exceeded"),
    ValueError("The argument 'zoo' is not comparable."),
])
def test_an_internal_error_is_one_line_and_exit_3(capsys, monkeypatch, error):
    """symgrad's own bug (a failed check) or SymPy's, met on typed input: one line saying it is
    symgrad's, status 3, nothing on stdout; the traceback on request."""
    import symgrad.core.derive

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(symgrad.core.derive, "derive_expr", broken)
    assert main(["derive", "--expr", "w*x", "--wrt", "w"]) == 3
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith("symgrad: internal error: ") and "report" in err
    monkeypatch.setenv("SYMGRAD_TRACEBACK", "1")
    with pytest.raises(type(error)):
        main(["derive", "--expr", "w*x", "--wrt", "w"])

"""``symgrad worksheet`` on the command line: the main job, bad specs (exit 2, one line naming the
file, the exercise and the field), atomic output, TeX errors, the progress bar, and the bundled
worksheets after a non-editable install."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from symgrad.cli import main  # noqa: E402
from symgrad.cli.progress import Progress  # noqa: E402
from symgrad.teaching.worksheets import bundled_specs  # noqa: E402
from symgrad.teaching.worksheets.export import LatexError, compile_pdf  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

GOOD = """\
title = "Tiny"
course = "Test"
instructions = "Go."

[[exercise]]
kind = "activation"
activation = "sigmoid"
z = { range = [-2, 2], step = 0.5 }
points = 2
"""


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, text: str, name: str = "sheet.toml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_main_job_builds_every_bundled_worksheet(capsys, tmp_path):
    code, out, err = run(capsys, "worksheet", "--all", "--out", tmp_path, "--formats", "md,moodle")
    assert code == 0, err
    names = {p.stem for p in bundled_specs()}
    assert {Path(line).name for line in out.split()} == names
    for n in names:
        assert (tmp_path / n / "moodle.xml").exists()
        assert list((tmp_path / n).glob("seed-*/solutions.md"))


def test_one_spec_with_variants_and_seed(capsys, tmp_path):
    spec = write(tmp_path, GOOD)
    code, out, _ = run(capsys, "worksheet", spec, "--out", tmp_path / "o", "--variants", "3",
                       "--seed", "40", "--formats", "html")
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "o" / "sheet").iterdir()) == \
        ["seed-40", "seed-41", "seed-42"]
    assert (tmp_path / "o" / "sheet" / "seed-41" / "exercises.html").exists()
    assert not (tmp_path / "o" / "sheet" / "seed-41" / "exercises.md").exists()


BAD = [
    ('title = "T"\n[[exercise]]\nkind = "nope"\npoints = 1\n', ["exercise 1", "kind", "nope"]),
    ('title = "T"\n[[exercise]]\nkind = "activation"\nz = 1\npoints = 1\n',
     ["exercise 1", "activation", "missing field 'activation'"]),
    ('title = "T"\n[[exercise]]\nkind = "activation"\nactivation = "tanh"\nz = 1\n',
     ["exercise 1", "missing field 'points'"]),
    ('title = "T"\n[[exercise]]\nkind = "activation"\nactivation = "tanh"\npoints = 1\n'
     'z = { range = [2, -2] }\n', ["exercise 1", "field 'z'", "inverted"]),
    ('title = "T"\n[[exercise]]\nkind = "activation"\nactivation = "tanh"\npoints = 1\n'
     'z = { range = [1, 1] }\n', ["exercise 1", "field 'z'", "empty"]),
    ('title = "T"\n[[exercise]]\nkind = "gd_steps"\npoints = 1\nlr = 0.1\nstart = {w = 0, b = 0}\n'
     'data = { x = { range = [0, 3], count = 3 }, y = [1, 2] }\n',
     ["exercise 1", "gd_steps", "field 'data'", "x has 3 values but y has 2"]),
    ('title = "T"\n[[exercise]]\nkind = "derive"\nloss = "mse"\npoints = 2\n'
     'at = { w = 1, b = 0 }\n',
     ["exercise 1", "missing field 'data'"]),
    ('title = "T"\n\n[[exercise]]\nkind = "derive"\nloss = \n', ["line 5", "TOML syntax error"]),
    ('[[exercise]]\nkind = "derive"\nloss = "mse"\npoints = 1\n', ["missing field 'title'"]),
]


@pytest.mark.parametrize(("text", "words"), BAD)
def test_bad_specs_exit_2_naming_file_exercise_and_field(capsys, tmp_path, text, words):
    spec = write(tmp_path, text, "bad.toml")
    code, out, err = run(capsys, "worksheet", spec, "--out", tmp_path / "o", "--formats", "md")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("symgrad: error: ")
    assert str(spec) in err
    for w in words:
        assert w in err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_unknown_format_and_missing_spec(capsys, tmp_path):
    code, _, err = run(capsys, "worksheet", "--all", "--out", tmp_path, "--formats", "docx")
    assert code == 2 and "docx" in err
    code, _, err = run(capsys, "worksheet", tmp_path / "none.toml", "--out", tmp_path)
    assert code == 2 and "none.toml" in err
    code, _, err = run(capsys, "worksheet", "--out", tmp_path)
    assert code == 2 and "--all" in err


def test_failed_build_keeps_the_previous_good_one(capsys, tmp_path):
    spec = write(tmp_path, GOOD)
    out = tmp_path / "o"
    assert run(capsys, "worksheet", spec, "--out", out, "--formats", "md")[0] == 0
    before = {p.name: p.read_bytes() for p in (out / "sheet").rglob("*") if p.is_file()}
    # every draw at the kink of relu is degenerate: the build fails after it started writing
    spec.write_text(GOOD.replace('"sigmoid"', '"relu"').replace(
        "{ range = [-2, 2], step = 0.5 }", "0"))
    code, _, err = run(capsys, "worksheet", spec, "--out", out, "--formats", "md")
    assert code == 2 and "exercise 1" in err and "no usable draw" in err
    after = {p.name: p.read_bytes() for p in (out / "sheet").rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in out.iterdir()] == ["sheet"]  # no temporary folder left


def test_a_latex_failure_shows_only_the_error_lines():
    tex = "\\documentclass{article}\n\\begin{document}\nfine\n\\undefinedmacro\n\\end{document}\n"
    with pytest.raises(LatexError) as info:
        compile_pdf(tex, "broken")
    msg = str(info.value)
    assert "Undefined control sequence" in msg and "l.4" in msg
    assert len(msg.splitlines()) < 10 and "This is pdfTeX" not in msg


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar():
    """On a terminal: redrawn in place, the final line kept; quick work shows nothing."""
    stream = _Terminal()
    line = Progress("sheet", keep=True, stream=stream, after=0.0)
    line.count(1, 2)
    line.count(2, 2)
    line.close()
    first, last = stream.getvalue().split("\r")[1:]
    assert first.startswith("sheet [############............] 1/2")
    assert last.endswith("\n") and last.rstrip() == "sheet [########################] 2/2"
    held = _Terminal()  # the last state is drawn at the close, even when held back
    line = Progress("sheet", keep=True, stream=held, after=0.0)
    line.count(1, 3)
    line.count(2, 3)  # within EVERY of the first: not drawn yet
    line.close()
    assert held.getvalue().split("\r")[-1].rstrip() == "sheet [################........] 2/3"
    quiet = _Terminal()
    line = Progress("sheet", keep=True, stream=quiet)
    line.count(1, 2)
    line.close()
    assert quiet.getvalue() == ""


def test_bundled_worksheets_after_a_non_editable_install(tmp_path):
    """Build a wheel, install it into a folder, and build every bundled worksheet from there."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", "build", "*.egg-info", ".venv*",
                                                  "__pycache__", "out", ".pytest_cache"))
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps",
                    "--no-build-isolation", "-q", "-w", str(wheels)], check=True,
                   capture_output=True)
    wheel = next(wheels.glob("symgrad-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(n.rsplit("/", 1)[1] for n in names
                     if n.startswith("symgrad/teaching/worksheets/bundled/"))
    assert shipped == sorted(p.name for p in (ROOT / "worksheets").glob("*.toml"))
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(site), str(wheel)], check=True, capture_output=True)
    code = ("import sys, symgrad.teaching.worksheets as w; assert w.__file__.startswith("
            f"{str(site)!r}), w.__file__\n"
            "import symgrad\n"
            "for p in w.bundled_specs(): print(w.build(p, sys.argv[1], formats=['md']))")
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out")], cwd=tmp_path,
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.split()) == len(shipped)


def test_progress_bar_in_a_log_is_one_final_line(monkeypatch):
    """Not a terminal and slow: the log gets the last state once, without carriage returns."""
    import symgrad.cli.progress as progress

    clock = iter([100.0, 101.0, 102.0, 103.0, 104.0])
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    log = io.StringIO()
    line = Progress("sheet", keep=True, stream=log)
    for done in (1, 2, 3):
        line.count(done, 3)
    line.close()
    assert log.getvalue() == "sheet [########################] 3/3\n"

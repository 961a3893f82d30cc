"""Nothing lost, nothing half-written (issue 12): output names, --out, other seeds' output, the
temporary folders of killed builds, and the spec limits. Every refusal is one line, exit 2."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from symgrad.cli import main
from symgrad.teaching.worksheets.spec import LIMITS

ROOT = Path(__file__).resolve().parent.parent

GOOD = """\
title = "Tiny"
course = "Test"

[[exercise]]
kind = "activation"
activation = "sigmoid"
z = { range = [-2, 2], step = 0.5 }
points = 2
"""


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def refused(code: int, err: str) -> bool:
    """Exit 2 with exactly one line on stderr, no traceback."""
    return code == 2 and err.count("\n") == 1 and err.startswith("symgrad") and \
        "Traceback" not in err


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture
def out(tmp_path) -> Path:
    """An output folder that already holds someone's files."""
    folder = tmp_path / "out"
    (folder / "notes").mkdir(parents=True)
    (folder / "notes" / "lecture.txt").write_text("keep me\n")
    (folder / "grades.csv").write_text("name,grade\nA,1\n")
    return folder


@pytest.mark.parametrize("name", ["..toml", "...toml", ".toml", "a b.toml", "-x.toml"])
def test_a_spec_name_that_cannot_name_a_folder_is_refused(capsys, tmp_path, out, name):
    spec = tmp_path / name
    spec.write_text(GOOD)
    before = snapshot(out)
    code, _, err = run(capsys, "worksheet", spec, "--out", out, "--formats", "md")
    assert refused(code, err) and "cannot name an output folder" in err
    assert snapshot(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["grades.csv", "notes"]


def test_out_that_is_a_file_is_refused(capsys, tmp_path):
    spec = tmp_path / "sheet.toml"
    spec.write_text(GOOD)
    target = tmp_path / "out.txt"
    target.write_text("precious\n")
    code, _, err = run(capsys, "worksheet", spec, "--out", target, "--formats", "md")
    assert refused(code, err) and "is a file, not a folder" in err
    assert target.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt", "sheet.toml"]
    # a file where the worksheet's own folder goes is refused too, and kept
    folder = tmp_path / "o"
    folder.mkdir()
    (folder / "sheet").write_text("mine\n")
    code, _, err = run(capsys, "worksheet", spec, "--out", folder, "--formats", "md")
    assert refused(code, err) and (folder / "sheet").read_text() == "mine\n"


def test_a_build_keeps_everything_else_in_out(capsys, tmp_path, out):
    spec = tmp_path / "sheet.toml"
    spec.write_text(GOOD)
    before = snapshot(out)
    code, stdout, _ = run(capsys, "worksheet", spec, "--out", out, "--formats", "md")
    assert code == 0 and stdout.strip() == str(out / "sheet")
    after = snapshot(out)
    assert {k: v for k, v in after.items() if not k.startswith("sheet")} == before
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary left


def test_another_seed_keeps_the_earlier_output_and_says_so(capsys, tmp_path):
    spec = tmp_path / "sheet.toml"
    spec.write_text(GOOD)
    out = tmp_path / "out"
    code, _, _ = run(capsys, "worksheet", spec, "--out", out, "--formats", "md", "--variants", "2")
    assert code == 0
    seed1 = snapshot(out / "sheet" / "seed-1")
    code, _, err = run(capsys, "worksheet", spec, "--out", out, "--formats", "md,moodle",
                       "--seed", "100")
    assert code == 0
    assert sorted(p.name for p in (out / "sheet").iterdir()) == \
        ["moodle.xml", "seed-1", "seed-100", "seed-2"]
    assert snapshot(out / "sheet" / "seed-1") == seed1
    note = [line for line in err.splitlines() if "note" in line]
    assert len(note) == 1 and "seed-1, seed-2" in note[0] and "kept" in note[0]
    # rebuilding the same seed replaces it (same bytes: reproducible) and says nothing
    code, _, err = run(capsys, "worksheet", spec, "--out", out, "--formats", "md", "--seed", "1",
                       "--variants", "2")
    assert code == 0 and snapshot(out / "sheet" / "seed-1") == seed1
    assert "seed-100" in err and "seed-1," not in err


def test_stale_temporary_folders_are_removed_at_the_next_run(capsys, tmp_path):
    spec = tmp_path / "sheet.toml"
    spec.write_text(GOOD)
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = [out / f".sheet.tmp-{dead.stdout.strip()}-abc", out / ".sheet.tmp-k3j2x_9q",
             out / f".sheet.old-{dead.stdout.strip()}-seed-1"]
    live = out / f".sheet.tmp-{os.getpid()}-live"  # a build still running (this process)
    other = out / ".other.tmp-1-x"  # another worksheet's: not this build's business
    for folder in [*stale, live, other]:
        (folder / "seed-1").mkdir(parents=True)
        (folder / "seed-1" / "exercises.md").write_text("half-writ")
    assert run(capsys, "worksheet", spec, "--out", out, "--formats", "md")[0] == 0
    assert not any(p.exists() for p in stale)
    assert live.exists() and other.exists()


def test_a_killed_build_leaves_nothing_after_the_next_run(capsys, tmp_path):
    spec = tmp_path / "sheet.toml"
    spec.write_text(GOOD)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "symgrad", "worksheet", str(spec), "--out",
                             str(out), "--formats", "md", "--variants", str(LIMITS["variants"])],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            temps = list(out.glob(".sheet.tmp-*/seed-*/*.md")) if out.exists() else []
            if temps:
                break
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert temps, "the build never started writing"
    assert list(out.glob(".sheet.tmp-*")) and not (out / "sheet").exists()  # killed midway
    assert run(capsys, "worksheet", spec, "--out", out, "--formats", "md")[0] == 0
    assert [p.name for p in out.iterdir()] == ["sheet"]


def test_toml_nested_400_deep_is_refused(capsys, tmp_path):
    spec = tmp_path / "deep.toml"
    spec.write_text(GOOD + "\n[[exercise]]\nkind = \"activation\"\npoints = 1\nz = "
                    + "[" * 400 + "]" * 400 + "\n")
    code, _, err = run(capsys, "worksheet", spec, "--out", tmp_path / "o", "--formats", "md")
    assert refused(code, err) and "nest too deeply" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("variants", ["1000000000", str(LIMITS["variants"] + 1)])
def test_variants_beyond_the_limit_are_refused_before_any_work(capsys, tmp_path, variants):
    spec = tmp_path / "many.toml"
    spec.write_text(f"variants = {variants}\n" + GOOD)
    start = time.monotonic()
    code, _, err = run(capsys, "worksheet", spec, "--out", tmp_path / "o", "--formats", "md")
    assert refused(code, err) and f"from 1 to {LIMITS['variants']}" in err
    spec.write_text(GOOD)  # and --variants on the command line
    code, _, err = run(capsys, "worksheet", spec, "--out", tmp_path / "o", "--formats", "md",
                       "--variants", variants)
    assert refused(code, err) and f"from 1 to {LIMITS['variants']}" in err
    assert time.monotonic() - start < 30 and not (tmp_path / "o").exists()


@pytest.mark.parametrize("line, message", [
    ('title = "' + "x" * (LIMITS["title"] + 1) + '"', "too long"),
    ('title = "a\\u0007b"', "control character"),
    ('title = "two\\nlines"', "one line"),
    ('instructions = "' + "y" * (LIMITS["instructions"] + 1) + '"', "too long"),
    ('seed = 100000000000000000', "seed"),
])
def test_spec_strings_and_numbers_have_stated_maxima(capsys, tmp_path, line, message):
    spec = tmp_path / "sheet.toml"
    spec.write_text(line + "\n" + GOOD.replace('title = "Tiny"\n', "" if "title" in line
                                               else 'title = "Tiny"\n'))
    code, _, err = run(capsys, "worksheet", spec, "--out", tmp_path / "o", "--formats", "md")
    assert refused(code, err) and message in err

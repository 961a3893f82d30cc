"""Nothing leaked (issue 12): a spec's strings are printed literally in LaTeX, PDF, Markdown and
HTML; math in a spec's prose passes a whitelist; pdflatex cannot read files outside its folder."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from symgrad.cli import main
from symgrad.teaching.worksheets import generate, load_spec
from symgrad.teaching.worksheets.export import LatexError, compile_pdf, to_html, to_md, to_tex

EXERCISE = """
[[exercise]]
kind = "activation"
activation = "sigmoid"
z = 1
points = 1
"""

needs_tex = pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("pdftotext") is
                               None, reason="pdflatex and pdftotext (poppler-utils) needed")


def toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def spec(tmp_path: Path, title: str, instructions: str = "Go.", exercise_title: str = "") -> Path:
    p = tmp_path / "sheet.toml"
    ex = EXERCISE + (f"title = {toml_string(exercise_title)}\n" if exercise_title else "")
    p.write_text(f"title = {toml_string(title)}\ninstructions = {toml_string(instructions)}\n"
                 f"course = {toml_string(title)}\n{ex}")
    return p


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def secret(tmp_path) -> Path:
    """A file a spec must not be able to copy into the PDF."""
    p = tmp_path / "secret.tex"
    p.write_text("Zebrafish42Secret\n")
    return p


@needs_tex
@pytest.mark.parametrize("target", ["/etc/hostname", "SECRET"])
def test_a_title_with_input_prints_literally_in_the_pdf(capsys, tmp_path, secret, target):
    path = str(secret) if target == "SECRET" else target
    hostile = f"\\input{{{path}}} \\write18{{touch pwned}} \\openout5=x <b>"
    sheet = spec(tmp_path, hostile, instructions=hostile, exercise_title=hostile)
    code, _, err = run(capsys, "worksheet", sheet, "--out", tmp_path / "o", "--formats", "pdf,tex")
    assert code == 0, err
    folder = tmp_path / "o" / "sheet" / "seed-1"
    text = subprocess.run(["pdftotext", "-layout", str(folder / "exercises.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "Zebrafish42Secret" not in text
    if target == "/etc/hostname" and Path(target).is_file():
        host = Path(target).read_text().strip()
        lines = [line for line in text.splitlines() if "input" in line]
        assert lines and all(line.count(host) <= line.count(path) for line in lines)
    shown = f"\\input{{{path}}}" if target != "SECRET" else "\\input{/"  # (long paths wrap)
    assert text.count(shown) >= 3  # title, course, instructions, exercise title: as typed
    assert "\\write18{touch pwned}" in text and "<b>" in text  # not ¡b¿ (OT1's < and >)
    assert not (folder / "pwned").exists() and not list(tmp_path.rglob("pwned"))


def test_math_in_spec_prose_is_whitelisted(capsys, tmp_path):
    for bad in [r"\(\input{/etc/hostname}\)", r"\[\write18{ls}\]", r"\(x^^5cinput\)",
                r"\(\csname input\endcsname\)", r"\(}\input{x}{\)", r"\(\text{\openout}\)",
                r"\(a \% b\)"]:
        for field in ("title", "instructions", "exercise_title"):
            kwargs = {"title": "T", field: bad}
            sheet = spec(tmp_path, **kwargs)
            code, _, err = run(capsys, "worksheet", sheet, "--out", tmp_path / "o", "--formats",
                               "html")
            assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, (bad, err)
            assert not (tmp_path / "o").exists()
    good = spec(tmp_path, r"Slope \(\frac{\partial L}{\partial w}\) and \(\sigma(z) < 1\)")
    v = generate(load_spec(good), 1)
    assert r"\(\frac{\partial L}{\partial w}\)" in to_tex(v, "exercises")
    assert "<mfrac>" in to_html(v, "exercises")


def test_markdown_and_html_escape_raw_html(tmp_path):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)> *b* [l](javascript:x) $y$'
    v = generate(load_spec(spec(tmp_path, hostile, hostile, hostile)), 1)
    for edition in ("exercises", "solutions"):
        md, page = to_md(v, edition), to_html(v, edition)
        for text in (md, page):
            assert "<script" not in text and "<img" not in text
        assert md.count("&lt;script&gt;") == 4  # title, course, instructions, exercise title
        assert "\\*b\\*" in md and "\\[l\\]" in md and "\\$y\\$" in md
        assert page.count("&lt;script&gt;") >= 4


def test_other_spec_strings_are_plain(capsys, tmp_path):
    """A name or expression field reaches LaTeX as a SymPy symbol: plain characters only."""
    p = tmp_path / "g.toml"
    p.write_text('title = "T"\n[[exercise]]\nkind = "graph"\nexpr = "3*(a + b*c)"\n'
                 'at = { a = 1, b = 2, c = 3 }\noutput = "\\\\input{/etc/hostname}"\npoints = 1\n')
    code, _, err = run(capsys, "worksheet", p, "--out", tmp_path / "o", "--formats", "tex")
    assert code == 2 and err.count("\n") == 1 and "output" in err and "'\\\\'" in err


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex needed")
def test_pdflatex_cannot_read_files_outside_its_folder(secret):
    tex = ("\\documentclass{article}\\begin{document}A\\input{" + str(secret.with_suffix(""))
           + "}\\end{document}\n")
    with pytest.raises(LatexError) as info:
        compile_pdf(tex, "probe")
    assert "\n" not in str(info.value) and "Zebrafish42Secret" not in str(info.value)

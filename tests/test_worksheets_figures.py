"""Figures in worksheets: the files are real (PNG, PDF compiled into the sheet), HTML and Moodle
embed them, the graph figure has values only in the solutions, the kind's defaults follow the
drawn variant, bad ``figure`` fields exit 2 naming file/exercise/field, and builds are
reproducible."""

from __future__ import annotations

import base64
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from lxml import etree
from lxml import html as lxml_html

from symgrad.cli import main
from symgrad.teaching.graphdraw import node_lines
from symgrad.teaching.worksheets import build, bundled_dir, generate, load_spec
from symgrad.teaching.worksheets.build import FORMATS
from symgrad.teaching.worksheets.model import Figure

PNG = b"\x89PNG\r\n\x1a\n"
SEED = 3

SPEC = """\
title = "Figures"
course = "Test"

[[exercise]]
kind = "graph"
expr = "3*(a + b*c)"
at = { a = 1, b = 2, c = 3 }
points = 4
figure = { kind = "graph" }

[[exercise]]
kind = "activation"
activation = "tanh"
z = [1, -1]
points = 2
figure = { kind = "activations" }
figure_in = "exercises"

[[exercise]]
kind = "gd_steps"
points = 4
steps = 1
lr = 0.1
figure = { kind = "lr-comparison" }
figure_in = "solutions"
start = { w = 0, b = 0 }
data = { x = [0, 1, 2], y = [1, 2, 4] }
"""


def write(tmp_path: Path, text: str, name: str = "figs.toml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("figs")
    return build(write(tmp, SPEC), tmp / "out", variants=1, seed=SEED, formats=FORMATS)


def folder(built: Path) -> Path:
    return built / f"seed-{SEED}"


def test_the_figure_files_are_real(built):
    f = folder(built)
    names = sorted(p.name for p in f.glob("figure-*"))
    assert names == ["figure-1-solution.pdf", "figure-1-solution.png", "figure-1.pdf",
                     "figure-1.png", "figure-2.pdf", "figure-2.png", "figure-3.pdf",
                     "figure-3.png"]
    for p in f.glob("figure-*.png"):
        assert p.read_bytes().startswith(PNG) and p.stat().st_size > 5000
    for p in f.glob("figure-*.pdf"):
        assert p.read_bytes().startswith(b"%PDF")


def test_latex_includes_the_figures_and_the_pdf_compiles_with_them(built, tmp_path):
    f = folder(built)
    ex, sol = (f / "exercises.tex").read_text(), (f / "solutions.tex").read_text()
    assert r"\usepackage{graphicx}" in ex
    assert r"\includegraphics" in ex and "{figure-1.pdf}" in ex and "{figure-2.pdf}" in ex
    assert "figure-1-solution.pdf" not in ex and "figure-3.pdf" not in ex
    # the solutions: the bare graph (prompt), the graph with values and the lr-comparison;
    # the activation figure is for the exercise sheet only
    assert "{figure-1.pdf}" in sol and "{figure-1-solution.pdf}" in sol
    assert "{figure-3.pdf}" in sol and "{figure-2.pdf}" not in sol
    # the .tex compiles by itself next to its figure files, and the PDFs carry the images
    work = tmp_path / "tex"
    shutil.copytree(f, work)
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                           "exercises.tex"], cwd=work, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]
    log = (work / "exercises.log").read_text(errors="replace")
    assert "<figure-1.pdf" in log and "<figure-2.pdf" in log
    for edition, n in (("exercises", 2), ("solutions", 3)):
        pdf = (f / f"{edition}.pdf").read_bytes()
        assert pdf.count(b"/Subtype /Form") >= n or pdf.count(b"/Subtype/Form") >= n
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "40", "-png", str(f / "exercises.pdf"),
                        str(tmp_path / "page")], check=True, timeout=60)
        assert list(tmp_path.glob("page*.png"))


def test_markdown_links_the_png(built):
    md = (folder(built) / "exercises.md").read_text()
    assert "](figure-1.png)" in md and "](figure-2.png)" in md
    assert "](figure-3.png)" not in md
    assert "](figure-3.png)" in (folder(built) / "solutions.md").read_text()


def test_html_embeds_the_png_and_renders_offline_in_chromium(built, tmp_path):
    page = folder(built) / "solutions.html"
    doc = lxml_html.fromstring(page.read_text())
    imgs = doc.xpath("//figure/img")
    assert len(imgs) == 3
    for img in imgs:
        src = img.get("src")
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG)
        assert img.get("alt")
    assert "figure-" not in "".join(img.get("src") for img in imgs)  # no external file
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("chromium is required by the test suite (scripts/test.sh installs it)")
    # the page alone (no figure files next to it), with a probe that records the decoded sizes
    probe = tmp_path / "page.html"
    probe.write_text(page.read_text().replace(
        "</body>", "<script>window.addEventListener('load', () => { document.body.dataset.sizes ="
                   " [...document.images].map(i => i.naturalWidth).join(','); });</script></body>"))
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run",
           "--virtual-time-budget=5000", f"--user-data-dir={tmp_path / 'profile'}",
           "--dump-dom", probe.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, timeout=120, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rendered = lxml_html.fromstring(proc.stdout)
    sizes = [int(s) for s in rendered.xpath("//body/@data-sizes")[0].split(",")]
    assert len(sizes) == 3 and all(s > 100 for s in sizes)
    assert rendered.xpath("//*[local-name()='math']")  # the math still renders


def test_moodle_embeds_the_png_as_a_base64_file(built):
    root = etree.parse(str(built / "moodle.xml")).getroot()
    graph_qs = [q for q in root.iter("question")
                if q.get("type") == "cloze" and " ex 1 " in q.findtext("name/text")]
    assert graph_qs
    for q in graph_qs:
        qt = q.find("questiontext")
        files = qt.findall("file")
        assert [f.get("name") for f in files] == ["figure-1.png"]
        assert files[0].get("encoding") == "base64" and files[0].get("path") == "/"
        assert base64.b64decode(files[0].text).startswith(PNG)
        assert 'src="@@PLUGINFILE@@/figure-1.png"' in qt.findtext("text")
    # a solutions-only figure is not in the questions
    gd_qs = [q for q in root.iter("question")
             if q.get("type") == "cloze" and " ex 3 " in q.findtext("name/text")]
    assert gd_qs and all(not q.find("questiontext").findall("file") for q in gd_qs)


def test_graph_figure_has_values_only_in_the_solution(tmp_path):
    v = generate(load_spec(write(tmp_path, SPEC)), SEED)
    ex = v.exercises[0]
    bare = [b for b in ex.prompt if isinstance(b, Figure)]
    full = [b for b in ex.solution if isinstance(b, Figure)]
    assert len(bare) == len(full) == 1
    bare_lines = node_lines(bare[0].draw().axes[0])
    full_lines = node_lines(full[0].draw().axes[0])
    assert bare_lines["u"] == ["$u = b c$"] and bare_lines["b"] == ["$b$"]
    assert full_lines["u"] == ["$u = b c$", "$= 6$", "$\\partial j/\\partial u = 3$"]
    assert full_lines["b"][-1] == "$\\partial j/\\partial b = 9$"
    assert not any("=" in line for lines in bare_lines.values() for line in lines[1:])


def test_kind_defaults_follow_the_drawn_variant(tmp_path):
    v = generate(load_spec(write(tmp_path, SPEC)), SEED)
    act = v.exercises[1].figures[0].draw()
    assert [ax.get_title() for ax in act.axes] == ["tanh"]
    lr = v.exercises[2].figures[0].draw()
    # data x = 0, 1, 2: on w alone the curvature is 10/3, the story's rates 0.002/0.2/0.7 or the
    # plot's own; either way small / ideal / large end as the story says
    stops = [[t.get_text() for t in ax.texts if t.get_gid() == "stop-reason"][0]
             for ax in lr.axes]
    assert stops[1].startswith("converged") and stops[2].startswith("diverged")
    assert "raw units" in lr.get_suptitle()


def test_the_bundled_worksheets_ask_for_figures():
    kinds = {}
    for name in ("gradient_descent", "activations", "computational_graph", "mse_sat_gpa"):
        spec = load_spec(bundled_dir() / f"{name}.toml")
        kinds[name] = {es.fields["figure"]["kind"] for es in spec.exercises
                       if "figure" in es.fields}
    assert kinds == {"gradient_descent": {"lr-comparison", "slope"},
                     "activations": {"activations"}, "computational_graph": {"graph"},
                     "mse_sat_gpa": {"contour"}}


def test_same_seed_same_bytes(built, tmp_path):
    again = build(write(tmp_path, SPEC), tmp_path / "again", variants=1, seed=SEED,
                  formats=FORMATS)

    def tree(d: Path) -> dict[str, bytes]:
        return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*"))
                if p.is_file()}

    assert tree(again) == tree(built)


BASE = 'title = "T"\n[[exercise]]\nkind = "activation"\nactivation = "relu"\nz = [1]\npoints = 1\n'
GRAPH = 'title = "T"\n[[exercise]]\nkind = "graph"\nexpr = "a*b"\nat = {a = 1, b = 2}\npoints = 1\n'
BAD = [
    (BASE + 'figure = { kind = "pie" }\n', ["unknown figure kind 'pie'", "slope"]),
    (BASE + 'figure = { kind = "slope", colour = "red" }\n',
     ["unknown option 'colour'", "plot kind 'slope'"]),
    (BASE + 'figure = { kind = "slope", range = [2, 1] }\n', ["range [2, 1]", "less than max"]),
    (BASE + 'figure = { kind = "activations", names = ["swish"] }\n', ["'swish'"]),
    (BASE + 'figure = { kind = "fit", data = "nowhere.csv" }\n', ["'nowhere.csv' not found"]),
    (BASE + 'figure = { kind = "lr-comparison", lr = [0.1, -1] }\n', ["lr must be positive"]),
    (BASE + 'figure = "slope"\n', ["expected a table"]),
    (BASE + 'figure = { kind = "graph" }\n', ["'graph' figure needs", "not activation"]),
    (GRAPH + 'figure = { kind = "graph", values = true }\n', ["unknown option 'values'"]),
    (BASE + 'figure = { kind = "activations" }\nfigure_in = "appendix"\n', ["field 'figure_in'",
                                                                           "appendix"]),
    (BASE + 'figure_in = "both"\n', ["field 'figure_in'", "no 'figure'"]),
]


@pytest.mark.parametrize(("text", "words"), BAD)
def test_bad_figure_fields_exit_2_naming_file_exercise_and_field(capsys, tmp_path, text, words):
    spec = write(tmp_path, text, "bad.toml")
    code = main(["worksheet", str(spec), "--out", str(tmp_path / "o"), "--formats", "md"])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("symgrad: error: ")
    assert str(spec) in err and "exercise 1" in err and "field 'figure" in err
    for w in words:
        assert w in err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_a_figure_that_fails_to_draw_is_a_one_line_error(capsys, tmp_path):
    # bce on the bundled SAT-GPA data (not 0/1 labels): only the plot can tell, when drawing
    spec = write(tmp_path, BASE + 'figure = { kind = "contour", loss = "bce" }\n', "late.toml")
    code = main(["worksheet", str(spec), "--out", str(tmp_path / "o"), "--formats", "md"])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1
    assert str(spec) in err and "exercise 1" in err and "field 'figure'" in err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())

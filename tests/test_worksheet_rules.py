"""The rules a worksheet is held to before it goes in front of a class (issue 14, item 4), checked
over 50 variants of every bundled sheet, generated in-process (no PDF compiled but one).

* Exercise editions give nothing away: bare graph edges unless ``show_local``, no backward
  equations unless ``show_method``, the classmate's answer after the student's own parts, the
  command to type as a copyable monospace line.
* No degenerate variants: at most a quarter of an exercise's numerical answers are 0; the
  evaluation points of neighbouring seeds differ; rows of a data set keep its trend.
* Solutions show the working: per-sample tables before a sum (and the sum is the answer), exact
  fractions next to rounded decimals, the one-parameter figure labelled, steps done by computer
  say so; ``answers.json`` text has no subscript digits in its numbers.
* Moodle: one Cloze question per exercise and variant, decimals stated once (where a box asks
  for a number).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from fractions import Fraction

import numpy as np
import pytest
from lxml import etree

from symgrad.numerics.data import bundled
from symgrad.teaching.worksheets import bundled_dir, bundled_specs, generate, load_spec
from symgrad.teaching.worksheets.export import compile_pdf, to_answers, to_moodle, to_tex
from symgrad.teaching.worksheets.kinds import KINDS, ZERO_SHARE
from symgrad.teaching.worksheets.model import Code, Figure, Math, Space, Table, Text
from symgrad.teaching.worksheets.spec import pool_of

SEEDS = range(1, 51)
NAMES = [p.stem for p in bundled_specs()]


@pytest.fixture(scope="module")
def variants():
    """50 variants of every bundled sheet."""
    return {name: [generate(load_spec(bundled_dir() / f"{name}.toml"), s) for s in SEEDS]
            for name in NAMES}


def exercises(variants, kind):
    return [(v, ex) for vs in variants.values() for v in vs for ex in v.exercises
            if ex.kind == kind]


def texts(blocks):
    return " ".join(b.text for b in blocks if isinstance(b, Text))


# --- no degenerate variants ----------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_zeros_make_at_most_a_quarter_of_an_exercise_s_answers(variants, name):
    for v in variants[name]:
        for ex in v.exercises:
            values = [a.value for a in ex.answers if isinstance(a.value, float)]
            zeros = sum(abs(x) < 1e-12 for x in values)
            if KINDS[ex.kind].zeros_teach(ex):  # ReLU's flat side is the lesson: both sides
                assert ex.kind == "activation"
                zs = [a.given["point"]["z"] for a in ex.answers if a.id.split(".")[1][0] == "a"]
                assert len(zs) < 2 or min(zs) < 0 < max(zs), (v.seed, ex.number, zs)
                continue
            assert zeros <= ZERO_SHARE * len(values), (name, v.seed, ex.number, zeros)


def test_the_l7_network_has_few_zero_backward_answers(variants):
    for v in variants["l7_network"]:
        for ex in v.exercises:
            back = [a.value for a in ex.answers if a.given["quantity"][0] == "d"]
            assert sum(x == 0 for x in back) <= len(back) / 4, (v.seed, ex.number)


def drawn_points(spec_name):
    """(exercise number, how many points its grid has) for every exercise with a drawn point."""
    spec = load_spec(bundled_dir() / f"{spec_name}.toml")
    out = []
    for es in spec.exercises:
        at = es.fields.get("at")
        if isinstance(at, dict):
            pools = [pool_of(v, "at") for v in at.values()]
            size = math.prod(len(p) for p in pools)
            if size > 1:
                out.append((es.number, size))
    return out


@pytest.mark.parametrize("name", ["logistic_bce", "mse_sat_gpa", "check_your_gradient",
                                  "computational_graph"])
def test_evaluation_points_differ_across_neighbouring_seeds(variants, name):
    found = drawn_points(name)
    assert found
    for number, size in found:
        points = [tuple(sorted(v.exercises[number - 1].answers[0].given["point"].items()))
                  for v in variants[name]]
        window = min(size, len(points))
        for k in range(len(points) - window + 1):
            assert len(set(points[k:k + window])) == window, (name, number, k + SEEDS[0])


def test_seeds_8_and_9_evaluate_at_different_points(variants):
    for name in ("logistic_bce", "mse_sat_gpa", "check_your_gradient"):
        for number, _ in drawn_points(name):
            eight, nine = (variants[name][s - SEEDS[0]].exercises[number - 1].answers[0]
                           .given["point"] for s in (8, 9))
            assert eight != nine, name


def test_rows_of_a_data_set_keep_its_trend(variants):
    sat = np.loadtxt(bundled("sat_gpa"), delimiter=",", skiprows=1)
    whole = np.polyfit(sat[:, 0], sat[:, 1], 1)[0]
    assert whole > 0  # GPA grows with SAT
    for v in variants["mse_sat_gpa"]:
        data = v.exercises[0].answers[0].given["data"]
        slope = np.polyfit(data["x"], data["y"], 1)[0]  # w* of the drawn rows
        assert slope > 0, (v.seed, slope)


def test_drawn_data_has_two_x_values_at_least(variants):
    """x = 2, 2, 2 (logistic_bce, seed 1) made the exercise's ∂L/∂w twice its ∂L/∂b: a data set
    drawn for an exercise has at least two different x values."""
    seen = 0
    for vs in variants.values():
        for v in vs:
            for ex in v.exercises:
                data = ex.drawn.get("data")
                if data is not None:
                    xs = data[0]
                    assert len(set(map(str, xs))) >= 2, (v.name, v.seed, ex.number, xs)
                    seen += 1
    assert seen > 100


# --- exercise editions give nothing away ---------------------------------------------------------


def edge_labels(fig):
    return [t for t in fig.draw().axes[0].texts if (t.get_gid() or "").startswith("label:")]


def test_graph_figures_have_bare_edges_unless_the_spec_asks(variants, tmp_path):
    for v in variants["computational_graph"][:3]:
        for ex in v.exercises:
            for fig in (b for b in ex.prompt if isinstance(b, Figure)):
                assert not edge_labels(fig) and "local" not in fig.caption
            for fig in (b for b in ex.solution if isinstance(b, Figure)):
                assert edge_labels(fig)  # the solution shows them
    spec = tmp_path / "local.toml"
    spec.write_text('title = "T"\n[[exercise]]\nkind = "graph"\nexpr = "a*b + c"\n'
                    'at = { a = 1, b = 2, c = 3 }\npoints = 1\n'
                    'figure = { kind = "graph", show_local = true }\n')
    ex = generate(load_spec(spec), 1).exercises[0]
    fig = next(b for b in ex.prompt if isinstance(b, Figure))
    assert sorted(t.get_text() for t in edge_labels(fig))[0].startswith("$\\partial")


def test_network_backward_equations_only_when_asked(variants, tmp_path):
    for _v, ex in exercises(variants, "network"):
        maths = " ".join(r for b in ex.prompt if isinstance(b, Math) for r in b.rows)
        assert r"\frac{\partial L}" not in maths and r"\mathrm{d}" not in maths
    text = (bundled_dir() / "l7_network.toml").read_text()
    spec = tmp_path / "l7.toml"
    spec.write_text(text.replace("expanded = true", "show_method = true"))
    ex = generate(load_spec(spec), 1).exercises[0]
    maths = " ".join(r for b in ex.prompt if isinstance(b, Math) for r in b.rows)
    assert r"\mathrm{d}W^{[1]}" in maths


def test_the_classmate_s_answer_comes_after_the_student_s_own_parts(variants):
    for _v, ex in exercises(variants, "check"):
        kinds = [type(b).__name__ for b in ex.prompt]
        classmate = next(k for k, b in enumerate(ex.prompt)
                         if isinstance(b, Text) and "classmate wrote" in b.text)
        own = [k for k, b in enumerate(ex.prompt)
               if isinstance(b, Text) and re.match(r"\(([abc])\)", b.text)
               and "classmate" not in b.text]
        assert own and max(own) < classmate, kinds
        assert isinstance(ex.prompt[classmate - 1], Space)  # room for the own work first
        assert not any(isinstance(b, Math) and "classmate" in str(b) for b in ex.prompt[:classmate])
        math_before = [b for b in ex.prompt[:classmate] if isinstance(b, Math)]
        assert len(math_before) == 1  # only the definitions


def test_commands_are_copyable_monospace_lines(variants):
    for _v, ex in exercises(variants, "check"):
        codes = [b.text for b in ex.prompt if isinstance(b, Code)]
        assert len(codes) == 2
        for c in codes:
            assert c.startswith("symgrad check ") and " --model " in c and " --wrt " in c
            assert re.search(r'--answer "[^"]+"$', c)
            assert not set(c) & set("\u2013\u2014\u201c\u201d\u2018\u2019")
        assert "--" not in texts(ex.prompt)  # no command hidden in the prose


@pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("pdftotext") is None,
                    reason="needs pdflatex and pdftotext (scripts/test.sh installs them)")
def test_the_command_copies_out_of_the_pdf_as_typed(variants, tmp_path):
    v = variants["check_your_gradient"][0]
    pdf = tmp_path / "exercises.pdf"
    pdf.write_bytes(compile_pdf(to_tex(v, "exercises"), "exercises"))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    for c in (b.text for b in v.exercises[0].prompt if isinstance(b, Code)):
        assert c in text


# --- solutions show the working ------------------------------------------------------------------


def test_sums_are_worked_sample_by_sample(variants):
    seen = 0
    for _v, ex in exercises(variants, "derive") + exercises(variants, "check"):
        numbered = [a for a in ex.answers if isinstance(a.value, float)]
        if not numbered:
            continue
        n = len(numbered[0].given["data"]["x"])
        k = next(k for k, b in enumerate(ex.solution)
                 if isinstance(b, Text) and "sample by sample" in b.text)
        table, sums = ex.solution[k + 1], ex.solution[k + 2]
        assert isinstance(table, Table) and len(table.rows) == n
        assert isinstance(sums, Math) and len(sums.rows) == len(numbered)
        for a, row in zip(numbered, sums.rows, strict=True):
            # the worked sum: scale (t1 + ... + tN) evaluates to the answer (to the rounding)
            m = re.search(r"= (?:\\frac\{(\d+)\}\{(\d+)\}|(\d+)) \\left\((.*)\\right\)", row)
            scale = Fraction(int(m[1]), int(m[2])) if m[1] else Fraction(int(m[3]))
            terms = [float(t.strip(" ()")) for t in m[4].split(" + ")]
            assert len(terms) == n
            assert math.isclose(float(scale) * sum(terms), a.value, rel_tol=1e-3,
                                abs_tol=1e-3 * n), (row, a.value)
            seen += 1
    assert seen > 100


def test_exact_fractions_beside_rounded_decimals(variants):
    found = 0
    for _v, ex in exercises(variants, "gd_steps"):
        for row in (r for b in ex.solution if isinstance(b, Math) for r in b.rows):
            for sign, p, q, shown in re.findall(
                    r"= (-?)\\frac\{(\d+)\}\{(\d+)\} \\approx (-?[\d.]+)", row):
                exact = Fraction(int(p), int(q)) * (-1 if sign else 1)
                assert abs(float(exact) - float(shown)) <= 5e-5
                found += 1
    assert found > 50


def test_the_one_parameter_figure_says_so_and_computer_steps_say_so(variants):
    for v in variants["gradient_descent"]:
        gd, closed = v.exercises
        fig = next(b for b in gd.solution if isinstance(b, Figure))
        assert "alone" in fig.caption and "not those of a run on both" in fig.caption
        assert "By computer" in texts(gd.solution) and "By computer" in texts(closed.solution)


def test_answers_json_text_keeps_digits_as_digits(variants):
    rows = [r for name in ("gradient_descent", "logistic_bce") for v in variants[name][:10]
            for r in json.loads(to_answers(v))]
    steps = [r for r in rows if re.fullmatch(r"\d+\.[wb]\d+", r["id"])]
    assert steps
    for r in steps:
        assert re.fullmatch(r"[wb][₀-₉]+ = −?\d+(\.\d+)?(e−?\d+)?", r["answer"]["text"]), r
        assert float(r["answer"]["text"].split(" = ")[1].replace("−", "-")) == pytest.approx(
            r["answer"]["value"], abs=1e-4)


def test_every_blank_the_student_fills_is_filled_in_the_key(variants):
    """A blank cell of a table on the exercise sheet has its value in the solution's table with
    the same rows and columns (the key may add a column, such as the working): the key answers
    everything the sheet asks; a cell nobody fills is marked — on both."""
    tables = 0
    for vs in variants.values():
        for v in vs:
            for ex in v.exercises:
                keys = [b for b in ex.solution if isinstance(b, Table)]
                for asked in (b for b in ex.prompt if isinstance(b, Table)):
                    if not any("" in row for row in asked.rows):
                        continue
                    where = f"{v.name} seed {v.seed} exercise {ex.number}"
                    key = next((k for k in keys if set(asked.header) <= set(k.header)
                                and [r[0] for r in k.rows] == [r[0] for r in asked.rows]), None)
                    assert key is not None, f"{where}: no table in the key for {asked.header}"
                    column = [key.header.index(h) for h in asked.header]
                    for row, solved in zip(asked.rows, key.rows, strict=True):
                        for cell, c in zip(row, column, strict=True):
                            assert cell or solved[c], f"{where}: left blank in the key: {row}"
                    tables += 1
    assert tables > 100


# --- Moodle --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_moodle_one_cloze_question_per_exercise_and_variant(variants, name):
    vs = variants[name][:3]
    spec = load_spec(bundled_dir() / f"{name}.toml")
    root = etree.fromstring(to_moodle(vs, spec.course, spec.title).encode())
    questions = [q for q in root.findall("question") if q.get("type") != "category"]
    assert {q.get("type") for q in questions} == {"cloze"}
    graded = [ex for ex in vs[0].exercises
              if any(isinstance(a.value, float | str) for a in ex.answers)]
    assert len(questions) == len(graded) * len(vs)
    for ex_k, ex in enumerate(graded):
        for v_k, var in enumerate(vs):
            q = questions[ex_k * len(vs) + v_k]
            assert f"seed {var.seed}" in q.findtext("name/text")
            text = q.findtext("questiontext/text")
            boxes = re.findall(r"\{1:NUMERICAL:=([^:}]+):([^}]+)\}", text)
            # once, as the sheets say, where a box asks for a number (not on a shape alone)
            assert re.findall(r"(\d+) decimal places", text) == (["4"] if boxes else [])
            want = [a for a in var.exercises[ex.number - 1].answers if isinstance(a.value, float)]
            assert [float(b[0]) for b in boxes] == [a.value for a in want]
            assert all(float(b[1]) > 0 for b in boxes)
            words = [a for a in var.exercises[ex.number - 1].answers if isinstance(a.value, str)]
            assert text.count(":MULTICHOICE:=") + text.count(":SHORTANSWER:=") == len(words)

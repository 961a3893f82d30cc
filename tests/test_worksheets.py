"""Worksheets: every bundled worksheet in every format, answers re-derived independently (sympy.diff
and NumPy formulas written here, not symgrad's engine), Moodle XML structure, reproducible seeds,
and the HTML rendered by a real browser."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from _optim_keys import newton_keys, optimizer_keys
from lxml import etree
from lxml import html as lxml_html

from symgrad.teaching.worksheets import build, bundled_specs, load_spec
from symgrad.teaching.worksheets.build import FORMATS

VARIANTS = 2
SEED = 11
SPECS = bundled_specs()


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict[str, Path]:
    """Every bundled worksheet, every format (PDFs compiled once per session), two variants."""
    if shutil.which("pdflatex") is None:
        pytest.fail("pdflatex is required by the test suite (scripts/test.sh installs it)")
    out = tmp_path_factory.mktemp("worksheets")
    return {p.stem: build(p, out, variants=VARIANTS, seed=SEED, formats=FORMATS) for p in SPECS}


def test_the_bundled_worksheets_cover_both_lectures():
    kinds = {es.kind for p in SPECS for es in load_spec(p).exercises}
    assert {"derive", "activation", "gd_steps", "closed_form", "network"} <= kinds
    losses = {es.fields.get("loss") for p in SPECS for es in load_spec(p).exercises}
    assert {"mse", "bce"} <= losses


@pytest.mark.parametrize("name", [p.stem for p in SPECS])
def test_every_format_of_every_variant(built, name):
    folder = built[name]
    assert (folder / "moodle.xml").exists()
    seeds = sorted(p.name for p in folder.iterdir() if p.is_dir())
    assert seeds == [f"seed-{SEED + k}" for k in range(VARIANTS)]
    for s in seeds:
        for edition in ("exercises", "solutions"):
            for ext in ("tex", "html", "md"):
                text = (folder / s / f"{edition}.{ext}").read_text(encoding="utf-8")
                assert f"seed {s.removeprefix('seed-')}" in text  # labelled with its seed
            pdf = (folder / s / f"{edition}.pdf").read_bytes()
            assert pdf.startswith(b"%PDF") and len(pdf) > 1000
        solutions = (folder / s / "solutions.tex").read_text()
        exercises = (folder / s / "exercises.tex").read_text()
        assert "Solution." in solutions and "Solution." not in exercises
    # nothing half-written is left next to the output
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]


# --- answers, re-derived independently ------------------------------------------------------------


def sig(z):
    return 1 / (1 + np.exp(-z))


def grads_numpy(loss, w, b, x, y):
    """dL/dw, dL/db by the textbook formulas (with the 1/N and the sum)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if loss == "mse":
        r = w * x + b - y
        return 2 * np.mean(r * x), 2 * np.mean(r)
    r = sig(w * x + b) - y
    return np.mean(r * x), np.mean(r)


def mse(w, b, x, y):
    return float(np.mean((w * np.asarray(x) + b - np.asarray(y)) ** 2))


def gd_run(x, y, w, b, lr, max_iter, tol):
    """Full-batch gradient descent on the mse with the lecture's two stopping rules."""
    loss0 = mse(w, b, x, y)
    for t in range(1, max_iter + 1):
        gw, gb = grads_numpy("mse", w, b, x, y)
        nw, nb = w - lr * gw, b - lr * gb
        if not (math.isfinite(nw) and math.isfinite(nb)) or mse(nw, nb, x, y) > 1e6 * loss0:
            return "diverged", t, nw, nb
        if max(abs(nw - w), abs(nb - b)) <= tol:
            return "converged", t, nw, nb
        w, b = nw, nb
    return "max_iter", max_iter, w, b


Z = sp.Symbol("z", real=True)
ACTIVATION_FORMULAS = {
    "sigmoid": 1 / (1 + sp.exp(-Z)),
    "tanh": (sp.exp(Z) - sp.exp(-Z)) / (sp.exp(Z) + sp.exp(-Z)),
    "relu": sp.Piecewise((Z, Z > 0), (0, True)),
    "leaky_relu": sp.Piecewise((Z, Z > 0), (Z / 100, True)),
}


NP_ACTIVATIONS = {  # g and g' by the textbook formulas
    "sigmoid": (sig, lambda z: sig(z) * (1 - sig(z))),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    "leaky_relu": (lambda z: np.where(z > 0, z, z / 100), lambda z: np.where(z > 0, 1, 1 / 100)),
    "identity": (lambda z: z, np.ones_like),
}


def network_numpy(g):
    """Forward and backward for one sample in plain NumPy: z = W a + b, a = g(z), then the
    textbook backward pass (dz = yhat - y for sigmoid+bce and softmax+ce)."""
    acts, loss = g["activations"], g["loss"]
    W = [None] + [np.array(g["point"][f"W{k}"], float) for k in range(1, len(acts) + 1)]
    b = [None] + [np.array(g["point"][f"b{k}"], float) for k in range(1, len(acts) + 1)]
    a, z = [np.array(g["data"]["x"], float)], [None]
    for k, name in enumerate(acts, start=1):
        z.append(W[k] @ a[-1] + b[k])
        if name == "softmax":
            e = np.exp(z[k] - z[k].max())
            a.append(e / e.sum())
        else:
            a.append(NP_ACTIVATIONS[name][0](z[k]))
    n, y, yhat = len(acts), np.array(g["data"]["y"], float), a[-1]
    out = {f"z{k}": z[k] for k in range(1, n + 1)} | {f"a{k}": a[k] for k in range(1, n + 1)}
    if loss == "bce":
        out["loss"] = -(y * np.log(yhat) + (1 - y) * np.log(1 - yhat)).sum()
        dz = yhat - y
    elif loss == "cross_entropy":
        out["loss"] = -(y * np.log(yhat)).sum()
        dz = yhat - y
    else:
        out["loss"] = ((yhat - y) ** 2).sum()
        out[f"dA{n}"] = 2 * (yhat - y)
        dz = out[f"dA{n}"] * NP_ACTIVATIONS[acts[-1]][1](z[n])
    for k in range(n, 0, -1):
        out[f"dZ{k}"], out[f"dW{k}"], out[f"db{k}"] = dz, np.outer(dz, a[k - 1]), dz
        if k > 1:
            out[f"dA{k - 1}"] = W[k].T @ dz
            dz = out[f"dA{k - 1}"] * NP_ACTIVATIONS[acts[k - 2]][1](z[k - 1])
    return out


def expected(entry):
    g, kind, aid = entry["given"], entry["kind"], entry["id"]
    if kind == "check" and "point" not in g:
        return None  # a formula only: tests/test_check.py checks it with sympy.diff
    if kind in ("derive", "check"):
        loss = g["loss"]
        gw, gb = grads_numpy(loss, g["point"]["w"], g["point"]["b"], g["data"]["x"], g["data"]["y"])
        # and sympy.diff of the loss written out for these samples
        w, b = sp.symbols("w b", real=True)
        xs, ys = g["data"]["x"], g["data"]["y"]
        if loss == "mse":
            L = sum((w * sp.nsimplify(x) + b - sp.nsimplify(y)) ** 2
                    for x, y in zip(xs, ys, strict=True))
        else:
            s = [1 / (1 + sp.exp(-(w * sp.nsimplify(x) + b))) for x in xs]
            L = -sum(sp.nsimplify(y) * sp.log(p) + (1 - sp.nsimplify(y)) * sp.log(1 - p)
                     for p, y in zip(s, ys, strict=True))
        L = L / len(xs)
        at = {w: sp.nsimplify(g["point"]["w"]), b: sp.nsimplify(g["point"]["b"])}
        via_diff = float(sp.diff(L, sp.Symbol(g["wrt"], real=True)).subs(at).evalf())
        via_numpy = gw if g["wrt"] == "w" else gb
        assert math.isclose(via_diff, via_numpy, rel_tol=1e-9, abs_tol=1e-12)
        return via_diff
    if kind == "activation":
        f = ACTIVATION_FORMULAS[g["activation"]]
        z0 = sp.nsimplify(g["point"]["z"])
        target = f if ".a" in aid else sp.diff(f, Z)
        return float(target.subs(Z, z0).evalf())
    if kind == "gd_steps":
        x, y, lr = g["data"]["x"], g["data"]["y"], g["lr"]
        if "story" in aid:
            return gd_run(x, y, g["point"]["w"], g["point"]["b"], lr, g["max_iter"], g["tol"])[0]
        loss = "mse" if "mse" in g["expr"] else "bce"
        w, b = g["point"]["w"], g["point"]["b"]
        t = g["t"]
        for _ in range(t):
            gw, gb = grads_numpy(loss, w, b, x, y)
            w, b = w - lr * gw, b - lr * gb
        name = aid.split(".")[1]
        if name.startswith("d"):
            gw, gb = grads_numpy(loss, w, b, x, y)
            return gw if name[1] == "w" else gb
        return w if name[0] == "w" else b
    if kind in ("optimizer_steps", "newton_step"):
        keys = (optimizer_keys if kind == "optimizer_steps" else newton_keys)(g)
        return keys[aid.split(".", 1)[1]]
    if kind == "graph":
        # the bundled specs' expressions are trusted test inputs, so SymPy's own parser is fine here
        expr = sp.sympify(g["expr"])
        at = {sp.Symbol(k): sp.nsimplify(v) for k, v in g["point"].items()}
        target = expr if "wrt" not in g else sp.diff(expr, sp.Symbol(g["wrt"]))
        return float(target.subs(at))
    if kind == "closed_form":
        x, y = np.asarray(g["data"]["x"]), np.asarray(g["data"]["y"])
        slope, intercept = np.polyfit(x, y, 1)
        if aid.endswith("w_star"):
            return slope
        if aid.endswith("b_star"):
            return intercept
        return gd_run(list(x), list(y), g["point"]["w"], g["point"]["b"], g["lr"],
                      g["max_iter"], g["tol"])[1]
    if kind == "network":
        value = network_numpy(g)[g["quantity"]]
        return float(value[tuple(k - 1 for k in g["index"])] if g["index"] else value)
    if kind == "matrix":  # formulas: tests/test_matrix_teaching.py checks them with autograd
        # denominator layout: the gradient has the shape of its variable, as declared
        return g["shapes"][g["wrt"]] if aid.endswith(".shape") else None
    raise AssertionError(f"no independent check for kind {kind}")


@pytest.mark.parametrize("name", [p.stem for p in SPECS])
def test_answers_rederived_independently(built, name):
    for folder in sorted(built[name].glob("seed-*")):
        entries = json.loads((folder / "answers.json").read_text())
        assert entries
        for e in entries:
            assert {"id", "kind", "given", "answer"} <= set(e)
            assert {"latex", "text", "value"} <= set(e["answer"])
            assert "expr" in e["given"]
            want, got = expected(e), e["answer"]["value"]
            if want is None:
                assert got is None, e["id"]
            elif isinstance(want, str):
                assert got == want, e["id"]
            else:
                assert math.isclose(got, float(want), rel_tol=1e-9, abs_tol=1e-9), e["id"]
            numeric = want is not None and not isinstance(want, str)  # a word has no tolerance
            if (e["kind"] != "gd_steps" or "story" not in e["id"]) and numeric:
                assert e["tolerance"] > 0


def test_the_story_shows_all_three_learning_rates(built):
    entries = json.loads((built["gradient_descent"] / f"seed-{SEED}" / "answers.json").read_text())
    story = {e["id"].split("_")[-1]: e["answer"]["value"] for e in entries if "story" in e["id"]}
    assert story == {"small": "max_iter", "ideal": "converged", "large": "diverged"}


def test_no_zero_gradient_is_asked(built):
    for folder in built.values():
        for f in folder.glob("seed-*/answers.json"):
            for e in json.loads(f.read_text()):
                if e["kind"] == "derive":
                    assert e["answer"]["value"] != 0


# --- Moodle ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [p.stem for p in SPECS])
def test_moodle_xml_structure(built, name):
    root = etree.parse(str(built[name] / "moodle.xml")).getroot()
    assert root.tag == "quiz"
    questions = root.findall("question")
    assert questions[0].get("type") == "category"
    current, per_category = None, {}
    for q in questions:
        if q.get("type") == "category":
            current = q.findtext("category/text")
            assert current.startswith("$course$/")
            per_category[current] = 0
            continue
        assert q.get("type") == "cloze"  # one question per exercise, a box per answer
        per_category[current] += 1
        assert q.findtext("name/text").strip()
        qt = q.find("questiontext")
        assert qt.get("format") == "html"
        text = qt.findtext("text")
        assert "\\(" in text and "<math" not in text and "$$" not in text
        boxes = re.findall(r"\{1:NUMERICAL:=([^:}]+):([^}]+)\}", text)
        assert boxes or "MULTICHOICE" in text or "SHORTANSWER" in text
        for value, tol in boxes:
            assert math.isfinite(float(value)) and float(tol) > 0
        # stated once where a box asks for a number, never on a shape alone
        assert len(re.findall(r"\d+ decimal places", text)) == (1 if boxes else 0)
    assert per_category and all(n == VARIANTS for n in per_category.values())


# --- reproducibility ------------------------------------------------------------------------------


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_same_seed_same_bytes_different_seed_differs(built, tmp_path):
    spec = SPECS[0]
    again = build(spec, tmp_path / "a", variants=VARIANTS, seed=SEED, formats=FORMATS)
    assert tree(again) == tree(built[spec.stem])  # PDFs included
    other = build(spec, tmp_path / "b", variants=1, seed=SEED + 100, formats=["md"])
    a = (again / f"seed-{SEED}" / "answers.json").read_text()
    b = (other / f"seed-{SEED + 100}" / "answers.json").read_text()
    assert a != b


def test_each_variant_reproducible_from_its_own_seed(built, tmp_path):
    for spec in SPECS:
        alone = build(spec, tmp_path / spec.stem, variants=1, seed=SEED + 1, formats=["md"])
        for f in ("answers.json", "solutions.md"):
            assert (alone / f"seed-{SEED + 1}" / f).read_bytes() == \
                (built[spec.stem] / f"seed-{SEED + 1}" / f).read_bytes()


def test_variants_differ(built):
    for folder in built.values():
        a, b = (folder / f"seed-{SEED + k}" / "answers.json" for k in range(2))
        assert a.read_text() != b.read_text()


# --- a real browser -------------------------------------------------------------------------------


def test_html_math_renders_in_headless_chromium(built, tmp_path):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("chromium is required by the test suite (scripts/test.sh installs it)")
    page = built["logistic_bce"] / f"seed-{SEED}" / "solutions.html"
    assert "\\frac" in (built["logistic_bce"] / f"seed-{SEED}" / "solutions.tex").read_text()
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run",
           f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, timeout=120, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = lxml_html.fromstring(proc.stdout)
    maths = doc.xpath("//*[local-name()='math']")
    assert len(maths) > 20
    assert doc.xpath("//*[local-name()='mfrac']")
    text = doc.text_content()
    for raw in ("\\frac", "\\sum", "\\(", "\\hat", "$$"):
        assert raw not in text

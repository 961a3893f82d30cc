"""Nothing runs off a page: every PDF symgrad builds compiles without an overfull box over 1 pt.

Built here: every bundled worksheet (both editions, several variants), ``derive --format latex
--standalone`` for every catalogue loss and model (with features, classes and an L2 penalty),
networks (layer level, and expanded 2-2-1 and 2-3-1), typed expressions whose names need
escaping and the matrix derivations of issue 17. The documents compile in parallel; each log is
read for ``Overfull \\hbox``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from _matrix_examples import EXAMPLES

from symgrad.core.derive import derive, derive_expr
from symgrad.core.matrix_derive import derive_matrix
from symgrad.models.network import network
from symgrad.render import latex
from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
from symgrad.teaching.worksheets.export import EDITIONS, figures, to_tex

SEEDS = (1, 2, 3)
MATRIX = EXAMPLES  # the examples (issue 17)
OVERFULL = re.compile(r"Overfull \\hbox \(([\d.]+)pt too wide\)")


def _worksheets() -> dict[str, tuple[str, dict[str, bytes]]]:
    docs = {}
    for path in sorted(bundled_dir().glob("*.toml")):
        spec = load_spec(path)
        for seed in SEEDS:
            v = generate(spec, seed)
            for ed in EDITIONS:
                files = {f.filename("pdf"): f.data("pdf") for f in figures(v, ed)}
                docs[f"{path.stem} seed {seed} {ed}"] = (to_tex(v, ed), files)
    return docs


def _derivations() -> dict[str, tuple[str, dict[str, bytes]]]:
    ds = {
        "mse linear": derive("mse", "linear"),
        "mse linear 3 features l2": derive("mse", "linear", features=3, l2=0.1),
        "mse logistic": derive("mse", "logistic"),
        "bce logistic 3 features": derive("bce", "logistic", features=3),
        "bce logistic l2": derive("bce", "logistic", l2=0.5),
        "cross_entropy 3 classes": derive("cross_entropy", "linear", classes=3),
        "cross_entropy 2 features 4 classes": derive("cross_entropy", "linear", features=2,
                                                     classes=4),
        "expr x_1*w_1": derive_expr("x_1*w_1 + b_0"),
        "expr nested": derive_expr("log(1 + exp(-(w_1*x_1 + w_2*x_2 + b)))^2 * sigmoid(a*b*c)"),
        "mlp 2,3,1 layers": network("2,3,1", "relu,sigmoid", "bce").derive(),
        "mlp 2,4,3 layers": network("2,4,3", "tanh,softmax", "cross_entropy").derive(),
        "mlp 2,2,1 expanded": network("2,2,1", "tanh,sigmoid", "bce").derive(expanded=True),
        "mlp 2,3,1 expanded": network("2,3,1", "relu,sigmoid", "bce").derive(expanded=True),
        "mlp 2,2,1 leaky_relu mse": network("2,2,1", "leaky_relu,identity", "mse").derive(
            expanded=True),
        **{f"matrix {name}": derive_matrix(*case) for name, case in MATRIX.items()},
    }
    return {name: (latex.document(latex.render(d), d.title), {}) for name, d in ds.items()}


def _compile(item: tuple[str, tuple[str, dict[str, bytes]]]) -> tuple[str, int, list[float]]:
    name, (tex, files) = item
    with tempfile.TemporaryDirectory(prefix="symgrad-pages-") as tmp:
        (Path(tmp) / "page.tex").write_text(tex, encoding="utf-8")
        for fname, data in files.items():
            (Path(tmp) / fname).write_bytes(data)
        proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                               "-no-shell-escape", "page.tex"], cwd=tmp, capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=300)
        log = (Path(tmp) / "page.log").read_text(errors="replace")
    return name, proc.returncode, [float(w) for w in OVERFULL.findall(log)]


@pytest.fixture(scope="module")
def compiled() -> list[tuple[str, int, list[float]]]:
    if shutil.which("pdflatex") is None:
        pytest.fail("pdflatex is needed (scripts/test.sh installs TeX Live)")
    docs = {**_worksheets(), **_derivations()}
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(_compile, docs.items()))


def test_every_document_compiles(compiled):
    failed = [name for name, code, _ in compiled if code != 0]
    assert not failed, f"pdflatex failed on: {failed}"


def test_nothing_runs_off_the_page(compiled):
    wide = {name: max(w) for name, _, w in compiled if w and max(w) > 1.0}
    assert not wide, f"overfull boxes (pt): {wide}"


def test_every_bundled_sheet_and_both_editions_are_built(compiled):
    names = {name for name, _, _ in compiled}
    for path in bundled_dir().glob("*.toml"):
        for ed in EDITIONS:
            assert f"{path.stem} seed {SEEDS[0]} {ed}" in names


def test_a_long_form_breaks_into_rows_that_fit():
    d = network("2,2,1", "tanh,sigmoid", "bce").derive(expanded=True)
    late = frozenset(d.graph.features)
    whole = latex.expr_latex(d.steps[-1].forms[-1], late)
    rows = latex.break_rows(whole, 24)
    assert len(rows) > 1 and all(latex.len_em(r) <= 24 for r in rows)
    # the rows are the same formula: joined back (without the added delimiters) they are the input
    joined = " ".join(r.replace(r"\left. ", "").replace(r" \right.", "").replace("{} ", "")
                      .removeprefix(r"\cdot ") for r in rows)
    assert joined.replace(" ", "") == latex._unwrap(whole).replace(" ", "")

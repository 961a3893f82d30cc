"""The Markdown and HTML (MathML) renderers: every construct symgrad emits converts completely."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

import symgrad
from symgrad.core.catalogue import ACTIVATIONS, activation_graph
from symgrad.core.derive import derive_graph
from symgrad.render import html, markdown

DERIVATIONS = [
    ("mse", "linear", {}),
    ("mse", "logistic", {}),
    ("bce", "logistic", {}),
    ("bce", "logistic", {"features": 2, "l2": 0.1}),
    ("cross_entropy", "linear", {"classes": 2}),
    ("mse", "linear", {"l2": 0.5}),
]


def all_derivations():
    out = [symgrad.derive(loss, model, **kw) for loss, model, kw in DERIVATIONS]
    return out + [derive_graph(activation_graph(n)) for n in ACTIVATIONS]


@pytest.fixture(scope="module")
def derivations():
    return all_derivations()


@pytest.mark.parametrize("latex", [
    r"\frac{\partial L}{\partial w}",
    r"\sum_{i=1}^{N} \hat{y}_{i}",
    r"\sigma\left(z_{i}\right)",
    r"\operatorname{ReLU}\left(z\right)",
    r"\begin{cases} 1 & \text{for}\: z > 0 \\0 & \text{otherwise} \end{cases}",
    r"\text{chain rule}",
    r"\log{\left(1 - \hat{y}_{i} \right)}",
    r"\tanh^{2}{\left(z \right)}",
    r"-\left[y_{i} \log{\left(\hat{y}_{i} \right)}\right]",
    r"\operatorname{LeakyReLU}_{\frac{1}{100}}\left(z\right)",
])
def test_constructs_convert_to_mathml(latex):
    m = html.mathml(latex)
    root = ET.fromstring(m)
    assert root.tag.endswith("math")
    assert "\\" not in "".join(root.itertext())


def test_unsupported_latex_is_caught():
    with pytest.raises(html.MathConversionError):
        html.mathml(r"\intertext{Define}")
    with pytest.raises(html.MathConversionError):
        html.mathml(r"\begin{aligned} a &= b \end{aligned}")


def test_every_derivation_renders_as_mathml(derivations):
    for d in derivations:
        page = html.document(html.render(d), d.title)
        assert "<math" in page and "\\frac" not in page and "\\sum" not in page
        steps, results = page.split('<table class="derivation results">')
        assert steps.count('<td class="lhs">') == len(d.steps)  # a step per left-hand side
        assert steps.count("<tr>") == sum(len(s.forms) for s in d.steps)  # a row per form
        assert results.count('<td class="lhs">') == len(d.gradients)


def test_repr_html_delegates_to_the_renderer():
    d = symgrad.derive("mse", "linear")
    assert d._repr_html_() == html.notebook(d)
    assert d._repr_html_().count("<math") == html.render(d).count("<math") > 10
    assert 'style="text-align:left' in d._repr_html_().split("<td", 1)[1][:40]
    assert d._repr_html_().startswith('<div class="symgrad" style="text-align:left')
    assert d.title in d._repr_html_()
    assert d._repr_latex_().startswith("$$") and d._repr_latex_().endswith("$$")
    assert "\\intertext" not in d._repr_latex_() and "\\parbox" not in d._repr_latex_()


def test_markdown_uses_display_math_without_intertext(derivations):
    for d in derivations:
        md = markdown.render(d)
        assert "\\intertext" not in md
        assert md.count("$$") % 2 == 0
        assert "**Define the intermediates**" in md
    md = markdown.render(symgrad.derive("bce", "logistic"))
    assert r"\frac{1}{N} \sum_{i=1}^{N} \left(\hat{y}_{i} - y_{i}\right) x_{i}" in md


def test_prose_escapes_html_and_converts_math():
    out = html.prose(r"if \(a < b\) then <b>")
    assert "&lt;b&gt;" in out and out.count("<math") == 1
    assert markdown.inline(r"slope \( w \)") == "slope $w$"


def test_brackets_around_one_line_sit_snug_and_tall_ones_stretch():
    # Chromium set stretchy brackets apart from their contents: "σ ( zᵢ )" on every HTML page
    from symgrad.render.html import mathml

    assert 'stretchy="true"' not in mathml(r"\sigma\left(z_{i}\right) \left(1 - \hat{y}\right)")
    tall = mathml(r"\left(\frac{y - p}{N}\right) \left(x\right)")
    assert tall.count('stretchy="true"') == 2 and tall.count('stretchy="false"') == 2


@pytest.mark.parametrize("fmt,want", [
    ("md", "# Gradient of `3*x^2 + a*b*c`"),  # was "# Gradient of 3*x^2 + a*b*c": b in italics
    ("html", "<h1>Gradient of <code>3*x^2 + a*b*c</code></h1>"),
    ("latex", r"\section*{Gradient of \texttt{3*x\textasciicircum{}2 + a*b*c}}"),
])
def test_a_typed_expression_is_set_as_code_in_the_title(fmt, want, capsys):
    from symgrad.cli import main

    assert main(["derive", "--expr", "3*x^2 + a*b*c", "--format", fmt, "--standalone"]) == 0
    assert want in capsys.readouterr().out.splitlines()


def test_operator_names_after_a_symbol_get_tex_thin_space():
    """y_i log(p) and (1 - y_i) log(1 - p): a thin space before each log, as TeX sets \\log after
    an ordinary symbol; none after a minus sign (the operator spaces itself)."""
    bce = html.mathml(r"- \left[y_{i} \log{\left(p \right)} + \left(1 - y_{i}\right)"
                      r" \log{\left(1 - p \right)}\right]")
    assert bce.count("<mspace") == 2
    assert all(part.endswith("</mspace>") for part in bce.split("<mi>log</mi>")[:-1])
    assert "<mspace" not in html.mathml(r"- \log{\left(p \right)}")

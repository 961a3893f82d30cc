r"""Exporters: a :class:`~symgrad.teaching.worksheets.model.Variant` as LaTeX, PDF, Markdown, HTML,
Moodle.

Two editions per variant: ``exercises`` (the prompts, with space and blank tables) and
``solutions`` (the prompts and the worked solution). The derivations are printed by the format's
renderer in :mod:`symgrad.render`; nothing here computes.

Every string is escaped for its format (a spec's title ``\input{/etc/hostname}`` prints as
those characters in every edition); only prose math ``\( \)`` / ``\[ \]`` is copied as
LaTeX, and a spec's math was checked against a whitelist of commands when it was loaded
(:func:`symgrad.teaching.worksheets.spec.check_math`). pdflatex runs with ``-no-shell-escape``
and kpathsea's paranoid ``openin_any``/``openout_any``: it reads and writes nothing outside its
temporary folder but the TeX installation.
"""

from __future__ import annotations

import base64
import html as htmlmod
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from symgrad.core.errors import SymgradError
from symgrad.render import html as render_html
from symgrad.render import json as render_json
from symgrad.render import latex as render_latex
from symgrad.render import markdown as render_md
from symgrad.teaching import interactive, interactive_matrix
from symgrad.teaching.worksheets.model import (
    Answer,
    Block,
    Code,
    Exercise,
    Figure,
    Math,
    Space,
    Steps,
    Table,
    Text,
    Variant,
)
from symgrad.teaching.worksheets.spec import MATH

#: How large a figure may be on the page (it keeps its aspect ratio).
FIGURE_SIZE = r"width=0.9\linewidth,height=0.3\textheight,keepaspectratio"

#: Width of the rule column in the PDF editions: long rules wrap instead of running off the page.
RULE_WIDTH = "4.5cm"

#: A table column with a cell longer than this (characters, math as 4) wraps instead of widening
#: the table.
WRAP_CELL = 30

#: A table cell that is a number: printed with a real minus sign (−, not a hyphen).
NUMBER = re.compile(r"-?\d+(\.\d+)?(e[+-]?\d+)?")

EDITIONS = ("exercises", "solutions")
class LatexError(SymgradError):
    r"""pdflatex failed; the message holds the TeX error lines, not the whole log.

    >>> try:
    ...     compile_pdf(r"\documentclass{article}\begin{document}\oops\end{document}", "broken")
    ... except LatexError as err:
    ...     print(err)  # doctest: +ELLIPSIS
    pdflatex failed on broken.tex: ./broken.tex:1: Undefined control sequence. | ...
    """


def _blocks(ex: Exercise, edition: str) -> list[Block]:
    if edition == "exercises":
        return list(ex.prompt)
    shown = [b for b in ex.prompt if not isinstance(b, Space)
             and not (isinstance(b, Figure) and b.only == "exercises")]
    return shown + [Text("Solution.")] + ex.solution


def figures(v: Variant, edition: str) -> list[Figure]:
    """The figures one edition of a variant shows, in order (their files go next to it).

    The bundled ``activations`` sheet plots the three activations in the solutions only:

    >>> from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
    >>> v = generate(load_spec(bundled_dir() / "activations.toml"), seed=7)
    >>> [f.filename("pdf") for f in figures(v, "solutions")], figures(v, "exercises")
    (['figure-1.pdf'], [])
    """
    return [b for ex in v.exercises for b in _blocks(ex, edition) if isinstance(b, Figure)]


def _png_uri(f: Figure) -> str:
    return "data:image/png;base64," + base64.b64encode(f.data("png")).decode("ascii")


def _points(p: float) -> str:
    p = int(p) if float(p).is_integer() else p
    return f"{p} point{'s' if p != 1 else ''}"


def _label(v: Variant, edition: str) -> str:
    return f"{edition.capitalize()} · variant seed {v.seed}"


# --- LaTeX ---------------------------------------------------------------------------------------


def _tex_block(b: Block) -> str:
    if isinstance(b, Text):
        return render_latex.prose(b.text) + "\n"
    if isinstance(b, Math):
        return "\\begin{gather*}\n" + " \\\\\n".join(b.rows) + "\n\\end{gather*}\n"
    if isinstance(b, Code):
        # one copyable line: smaller type instead of a break (a newline would end the command)
        return ("{\\footnotesize\n\\begin{verbatim}\n" + b.text
                + "\n\\end{verbatim}\n}\n")
    if isinstance(b, Steps):
        return render_latex.render(b.derivation, rule_width=RULE_WIDTH) + "\n"
    if isinstance(b, Space):
        return f"\\vspace{{{b.lines * 0.6:.1f}cm}}\n"
    if isinstance(b, Figure):
        return (f"\\begin{{center}}\\includegraphics[{FIGURE_SIZE}]{{{b.filename('pdf')}}}\\\\\n"
                f"{{\\small {render_latex.prose(b.caption)}}}\\end{{center}}\n")
    return _tex_table(b)


def _tex_table(b: Table) -> str:
    r"""A table with rules; a column of long prose wraps (``tabularx`` at the line's width), so
    the table fits the page; numbers get a real minus sign."""
    columns = zip(b.header, *b.rows, strict=True)
    wide = [max(len(MATH.sub("xxxx", c)) for c in col) > WRAP_CELL for col in columns]
    cols = "|" + "".join(r">{\raggedright\arraybackslash}X|" if w else "c|" for w in wide)
    env, width = ("tabularx", r"{\linewidth}") if any(wide) else ("tabular", "")
    lines = [f"\\begin{{center}}\\begin{{{env}}}{width}{{{cols}}}\\hline",
             " & ".join(render_latex.prose(h) for h in b.header) + r" \\ \hline"]
    for row in b.rows:
        cells = [_tex_cell(c) if c else r"\rule{0pt}{1.5em}\hspace{5em}" for c in row]
        lines.append(" & ".join(cells) + r" \\ \hline")
    return "\n".join(lines) + f"\n\\end{{{env}}}\\end{{center}}\n"


def _tex_cell(c: str) -> str:
    return rf"\({c}\)" if NUMBER.fullmatch(c) else render_latex.prose(c)


def to_tex(v: Variant, edition: str) -> str:
    r"""A standalone LaTeX document (pdflatex) for one edition of a variant.

    >>> from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
    >>> v = generate(load_spec(bundled_dir() / "activations.toml"), seed=7)
    >>> tex = to_tex(v, "solutions")
    >>> tex.splitlines()[0], tex.count(r"\subsection*{Exercise"), "{figure-1.pdf}" in tex
    ('\\documentclass[11pt]{article}', 3, True)
    """
    label = _label(v, edition).replace(" · ", ", ")
    body = [rf"\noindent {render_latex.prose(v.course)} \hfill {render_latex.prose(label)}\par",
            rf"\noindent Total: {_points(v.points)}\par\medskip"]
    if v.instructions:
        body.append(render_latex.prose(v.instructions) + "\n")
    for ex in v.exercises:
        body.append(rf"\subsection*{{Exercise {ex.number}: {render_latex.prose(ex.title)} "
                    rf"\hfill\normalfont\small ({_points(ex.points)})}}")
        body += [_tex_block(b) for b in _blocks(ex, edition)]
    doc = render_latex.document("\n".join(body), v.title)
    return doc.replace("\\usepackage{amsmath,amssymb,mathtools}",
                       "\\usepackage{amsmath,amssymb,mathtools}\n\\usepackage{graphicx}"
                       "\n\\usepackage{tabularx}\n\\usepackage{upquote}"
                       "\n\\setlength{\\parindent}{0pt}"
                       "\n\\setlength{\\parskip}{0.5em}")


def _tex_errors(log: str) -> str:
    lines = log.splitlines()
    out: list[str] = []
    for k, line in enumerate(lines):
        if line.startswith("!") or re.match(r"^[^ ]*\.tex:\d+: ", line):
            out.append(line)
            for follow in lines[k + 1 : k + 8]:
                if re.match(r"^l\.\d+", follow):
                    out.append(follow)
                    break
    return " | ".join(out[:12]) or " | ".join(lines[-5:])


def compile_pdf(tex: str, name: str, files: dict[str, bytes] | None = None) -> bytes:
    """Compile a document with pdflatex in a temporary folder; returns the PDF's bytes.

    ``files`` (name to bytes) are written next to the document first: the figures it includes.
    Reproducible (``SOURCE_DATE_EPOCH``); a failure raises :class:`LatexError` with the TeX error
    lines only.

    >>> from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
    >>> v = generate(load_spec(bundled_dir() / "activations.toml"), seed=7)
    >>> pdf = compile_pdf(to_tex(v, "exercises"), "exercises")  # no figures to pass
    >>> pdf[:5]
    b'%PDF-'
    """
    exe = shutil.which("pdflatex")
    if exe is None:
        raise LatexError("pdflatex not found: install TeX Live (texlive-latex-base and friends) "
                         "or leave pdf out of the formats", option="formats")
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1",
           "openin_any": "p", "openout_any": "p"}
    with tempfile.TemporaryDirectory(prefix="symgrad-tex-") as tmp:
        src = Path(tmp) / f"{name}.tex"
        src.write_text(tex, encoding="utf-8")
        for fname, data in (files or {}).items():
            (Path(tmp) / fname).write_bytes(data)
        cmd = [exe, "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
               "-no-shell-escape", f"{name}.tex"]
        try:
            proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, timeout=120,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise LatexError(f"pdflatex took too long on {name}.tex") from None
        pdf = Path(tmp) / f"{name}.pdf"
        if proc.returncode != 0 or not pdf.exists():
            log_file = Path(tmp) / f"{name}.log"
            log = log_file.read_text(errors="replace") if log_file.exists() else \
                proc.stdout.decode(errors="replace")
            raise LatexError(f"pdflatex failed on {name}.tex: {_tex_errors(log)}")
        return pdf.read_bytes()


# --- Markdown ------------------------------------------------------------------------------------


_MD_TEXT = {"&": "&amp;", "<": "&lt;", ">": "&gt;", **{c: "\\" + c for c in "\\`*_[]$|~#"}}
_MD_TAG = re.compile(r"<(?=[A-Za-z/!?])")


def md_prose(text: str, cell: bool = False) -> str:
    r"""Prose as Markdown: the text escaped (no markup, no raw HTML), ``\( \)`` and ``\[ \]`` math
    as ``$...$`` and ``$$...$$``; in a table ``cell`` a ``|`` in math is escaped too.

    >>> md_prose(r"<script>alert(1)</script> *not bold* and \(x_{i} < 0\)")
    '&lt;script&gt;alert(1)&lt;/script&gt; \\*not bold\\* and $x_{i} < 0$'
    """
    out = []
    for k, part in enumerate(MATH.split(text)):
        if k % 2 == 0:
            out.append("".join(_MD_TEXT.get(c, c) for c in part))
            continue
        math = _MD_TAG.sub(r"\\lt ", part[2:-2].strip())
        math = math.replace("|", r"\|") if cell else math
        out.append(f"${math}$" if part.startswith("\\(") else f"$${math}$$")
    return "".join(out)


def _minus(c: str) -> str:
    """A number cell with a real minus sign (−); any other cell as it is."""
    return c.replace("-", "\u2212", 1) if NUMBER.fullmatch(c) else c


def _md_cell(c: str) -> str:
    return md_prose(_minus(c), cell=True) if c else " "


def _md_block(b: Block) -> str:
    if isinstance(b, Text):
        return md_prose(b.text)
    if isinstance(b, Math):
        inner = b.rows[0] if len(b.rows) == 1 else \
            "\\begin{gathered}\n" + " \\\\\n".join(b.rows) + "\n\\end{gathered}"
        return render_md.display(inner)
    if isinstance(b, Code):
        return f"```\n{b.text}\n```"
    if isinstance(b, Steps):
        return render_md.render(b.derivation).rstrip("\n")
    if isinstance(b, Space):
        return "*Your answer:*\n\n" + "<br>\n" * b.lines
    if isinstance(b, Figure):
        alt = md_prose(b.caption.replace("[", "(").replace("]", ")"))
        return f"![{alt}]({b.filename('png')})\n\n*{md_prose(b.caption)}*"
    lines = ["| " + " | ".join(_md_cell(h) for h in b.header) + " |",
             "|" + "---|" * len(b.header)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
    return "\n".join(lines)


def to_md(v: Variant, edition: str) -> str:
    r"""The edition as Markdown with ``$`` / ``$$`` math.

    >>> from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
    >>> v = generate(load_spec(bundled_dir() / "activations.toml"), seed=7)
    >>> lines = to_md(v, "exercises").splitlines()
    >>> print("\n".join(line for line in lines if line.startswith("#")))
    # Activation functions and their derivatives
    ## Exercise 1: The sigmoid activation and its derivative (4 points)
    ## Exercise 2: The tanh activation and its derivative (3 points)
    ## Exercise 3: The ReLU activation and its derivative (2 points)
    >>> print("\n".join(lines[12:15]))  # exercise 1's table, blank for the student
    | $z$ | $a = \sigma(z)$ | $\frac{\partial a}{\partial z}$ |
    |---|---|---|
    | −2.5 |   |   |
    """
    course = f"*{md_prose(v.course)}* · " if v.course else ""
    parts = [f"{course}{_label(v, edition)} · total {_points(v.points)}"]
    if v.instructions:
        parts.append(md_prose(v.instructions))
    for ex in v.exercises:
        parts.append(f"## Exercise {ex.number}: {md_prose(ex.title)} ({_points(ex.points)})")
        parts += [_md_block(b) for b in _blocks(ex, edition)]
    return render_md.document("\n\n".join(parts), md_prose(v.title))


# --- HTML ----------------------------------------------------------------------------------------


def _html_block(b: Block) -> str:
    if isinstance(b, Text):
        return f"<p>{render_html.prose(b.text)}</p>"
    if isinstance(b, Math):
        return "".join(f'<p class="display">{render_html.mathml(r, True)}</p>' for r in b.rows)
    if isinstance(b, Steps):
        return render_html.render(b.derivation)
    if isinstance(b, Code):
        return f'<pre class="command"><code>{htmlmod.escape(b.text)}</code></pre>'
    if isinstance(b, Space):
        return f'<div class="space" style="height:{b.lines * 1.5:.1f}em"></div>'
    if isinstance(b, Figure):
        cap = htmlmod.escape(b.caption)
        return (f'<figure class="figure" id="{htmlmod.escape(b.name)}"><img src="{_png_uri(b)}" '
                f'alt="{cap}" style="max-width:100%;height:auto"><figcaption>{cap}</figcaption>'
                "</figure>")
    head = "".join(f"<th>{render_html.prose(h)}</th>" for h in b.header)
    rows = "".join("<tr>" + "".join(f"<td>{render_html.prose(_minus(c))}</td>" for c in row)
                   + "</tr>" for row in b.rows)
    return f'<table class="grid"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def to_html(v: Variant, edition: str) -> str:
    """The edition as one self-contained HTML page, its math as MathML (no script, no network).

    >>> from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
    >>> v = generate(load_spec(bundled_dir() / "activations.toml"), seed=7)
    >>> page = to_html(v, "exercises")
    >>> page.splitlines()[0], page.count("<h2>"), "<math" in page, "<script" in page
    ('<!DOCTYPE html>', 3, True, False)
    """
    esc = htmlmod.escape
    parts = [f'<p class="meta">{esc(v.course)} · {esc(_label(v, edition))} · total '
             f"{esc(_points(v.points))}</p>"]
    if v.instructions:
        parts.append(f"<p>{render_html.prose(v.instructions)}</p>")
    for ex in v.exercises:
        parts.append(f"<h2>Exercise {ex.number}: {render_html.prose(ex.title)} "
                     f'<span class="points">({esc(_points(ex.points))})</span></h2>')
        parts += [_html_block(b) for b in _blocks(ex, edition)]
    return render_html.document("\n".join(parts), v.title)


def to_interactive(v: Variant) -> str:
    """One page for the variant where each answer is checked in the page (numbers within the
    answer's tolerance, a shape in any of its spellings, a matrix formula at random matrices:
    :func:`symgrad.teaching.interactive_matrix.worksheet_question`) and an exercise's solution
    shows as the spec's ``reveal`` says (by default after an attempt):
    :func:`symgrad.teaching.interactive.page`, offline, with its CSP.

    >>> from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
    >>> page = to_interactive(generate(load_spec(bundled_dir() / "activations.toml"), seed=7))
    >>> page.count('class="question"'), page.count('class="solution"'), "connect-src 'none'" in page
    (16, 3, True)
    """
    esc = htmlmod.escape
    parts, questions, matrix = [], [], False
    if v.instructions:
        parts.append(f"<p>{render_html.prose(v.instructions)}</p>")
    for ex in v.exercises:
        solution = f"solution-{ex.number}"
        parts.append(f'<section class="exercise"><h2>Exercise {ex.number}: '
                     f'{render_html.prose(ex.title)} <span class="points">'
                     f"({esc(_points(ex.points))})</span></h2>")
        parts += [_html_block(b) for b in ex.prompt if not isinstance(b, Space)]
        for a in ex.answers:
            qid = f"q-{a.id}"
            q: dict = {"id": qid, "reveal": v.reveal, "solution": solution}
            if isinstance(a.value, float | int):
                q.update(value=float(a.value), tolerance=float(a.tolerance or 1e-6))
            elif isinstance(a.value, str):
                q["word"] = a.value
                if a.typed:  # a shape: the spellings Moodle accepts, spaces ignored
                    q["accepts"] = a.given.get("accepts") or [a.value]
            elif a.kind == "matrix":  # a matrix formula: checked in the page at random matrices
                d = next(b.derivation for b in ex.solution if isinstance(b, Steps))
                q, box = interactive_matrix.worksheet_question(
                    d, a.given["wrt"], qid, render_html.prose(a.question))
                if not matrix:
                    parts.append(f'<p class="hint">{interactive_matrix.HINT}</p>')
                matrix = True
                questions.append({**q, "reveal": v.reveal, "solution": solution})
                parts.append(box)
                continue
            else:  # a formula: compared with the solution by the student
                parts.append(f"<p>{render_html.prose(a.question)} (a formula: compare it with "
                             "the solution)</p>")
                continue
            questions.append(q)
            parts.append(
                f'<div class="question" data-q="{qid}"><label for="{qid}-in">'
                f"{render_html.prose(a.question)}</label> "
                f'<input id="{qid}-in" class="answer" autocomplete="off" spellcheck="false"> '
                '<button type="button" class="check">Check</button>'
                f'<p class="verdict" id="{qid}-verdict" role="status" aria-live="polite"></p>'
                "</div>"
            )
        shown = [_html_block(b) for b in ex.solution]
        parts.append(f'<div class="solution" id="{solution}" hidden><h3>Solution</h3>'
                     + "\n".join(shown) + "</div></section>")
    data = {"key": f"symgrad:{v.name}:{v.seed}", "questions": questions, "names": {}}
    intro = ('<p class="hint">Type each answer and press Enter or Check. Progress is kept in this '
             'browser. <button type="button" id="reset">Reset progress</button></p>')
    scripts = ("interactive.js", "interactive_matrix.js") if matrix else ("interactive.js",)
    return interactive.page(intro + "\n".join(parts), v.title, data, scripts=scripts)


# --- answers and Moodle --------------------------------------------------------------------------


def to_answers(v: Variant) -> str:
    """``answers.json``: every answer of the variant, in order, each labelled with its seed.

    >>> from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
    >>> v = generate(load_spec(bundled_dir() / "activations.toml"), seed=7)
    >>> import json
    >>> rows = json.loads(to_answers(v))
    >>> len(rows), rows[0]["seed"], rows[0]["id"], rows[0]["answer"]["text"], rows[0]["tolerance"]
    (16, 7, '1.a1', 'a = 0.0759', 0.005)
    """
    rows = [{"seed": v.seed, **a.to_dict()} for a in v.answers]
    return render_json.dumps(rows) + "\n"


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _moodle_prompt(ex: Exercise) -> tuple[str, list[str]]:
    """The question text (HTML) and its ``<file>`` elements: each figure is a base64 PNG that
    the text shows as ``@@PLUGINFILE@@/name.png`` (Moodle XML's embedded files)."""
    out, files = [], []
    for b in ex.prompt:
        if isinstance(b, Figure):
            name = b.filename("png")
            out.append(f'<p><img src="@@PLUGINFILE@@/{name}" '
                       f'alt="{htmlmod.escape(b.caption)}" style="max-width:100%"></p>')
            files.append(f'<file name="{name}" path="/" encoding="base64">'
                         f"{base64.b64encode(b.data('png')).decode('ascii')}</file>")
        elif isinstance(b, Text):
            out.append(f"<p>{htmlmod.escape(b.text, quote=False)}</p>")
        elif isinstance(b, Math):
            out += [f"<p>\\[{htmlmod.escape(r, quote=False)}\\]</p>" for r in b.rows]
        elif isinstance(b, Code):
            out.append(f"<pre><code>{htmlmod.escape(b.text, quote=False)}</code></pre>")
        elif isinstance(b, Table) and all(all(c for c in row) for row in b.rows):
            head = "".join(f"<th>{htmlmod.escape(h, quote=False)}</th>" for h in b.header)
            rows = "".join("<tr>" + "".join(f"<td>{htmlmod.escape(c, quote=False)}</td>"
                                            for c in row) + "</tr>" for row in b.rows)
            out.append(f'<table border="1"><tr>{head}</tr>{rows}</table>')
    return "\n".join(out), files


#: How many decimal places a Moodle question asks for (stated once, above its answer boxes).
MOODLE_DECIMALS = 4


def _cloze(a: Answer, words: list[str]) -> str:
    """One Cloze sub-question: ``{1:NUMERICAL:=value:tolerance}`` for a number, a drop-down
    ``{1:MULTICHOICE:=right~other}`` of the exercise's words for a word, a box
    ``{1:SHORTANSWER:=N×d~=N x d}`` for a typed word (a shape) with its accepted spellings."""
    if isinstance(a.value, float):
        return f"{{1:NUMERICAL:={a.value!r}:{a.tolerance!r}}}"
    if a.typed:
        spellings = a.given.get("accepts") or [a.value]
        return "{1:SHORTANSWER:" + "~".join(f"={_cloze_escape(w)}" for w in spellings) + "}"
    others = "".join(f"~{w}" for w in words if w != a.value)
    return f"{{1:MULTICHOICE:={a.value}{others}}}"


def _cloze_escape(word: str) -> str:
    r"""A Cloze answer's special characters (``} # ~ / " \ *``) escaped with a backslash.

    >>> _cloze_escape("k*d")
    'k\\*d'
    """
    return re.sub(r'([}#~/"\\*])', r"\\\1", word)


def to_moodle(variants: list[Variant], course: str, title: str) -> str:
    r"""Moodle XML: a category per exercise, holding one Cloze question per variant with a box
    for every answer of the exercise (``{1:NUMERICAL:=value:tolerance}``, or a drop-down for a
    word), the decimals asked for once above them; math in ``\( \)`` for Moodle's MathJax.
    Formulas (no value) are left to the worksheet.

    >>> from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
    >>> spec = load_spec(bundled_dir() / "activations.toml")
    >>> xml = to_moodle([generate(spec, 7), generate(spec, 8)], spec.course, spec.title)
    >>> xml.count('<question type="category">'), xml.count('<question type="cloze">')
    (3, 6)
    >>> xml.count(":NUMERICAL:="), xml.count("decimal places")
    (32, 6)
    """
    esc = htmlmod.escape
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    first = variants[0]
    for k, ex in enumerate(first.exercises):
        if not any(isinstance(a.value, float | str) for a in ex.answers):
            continue
        category = f"$course$/symgrad/{title}/Exercise {ex.number}"
        out += ['  <question type="category">',
                f"    <category><text>{esc(category)}</text></category>", "  </question>"]
        for v in variants:
            vex = v.exercises[k]
            asked = [a for a in vex.answers if isinstance(a.value, float | str)]
            words = sorted({a.value for a in asked if isinstance(a.value, str) and not a.typed})
            prompt, files = _moodle_prompt(vex)
            boxes = "".join(f"<li>{esc(a.question, quote=False)}: {_cloze(a, words)}</li>"
                            for a in asked)
            numbers = any(isinstance(a.value, float) for a in asked)  # not on a shape alone
            text = (prompt + (f"<p>Give every number to {MOODLE_DECIMALS} decimal places.</p>"
                              if numbers else "") + f"<ol>{boxes}</ol>")
            feedback = "".join(f"<p>\\({esc(a.latex, quote=False)}\\)</p>" for a in asked)
            out += [
                '  <question type="cloze">',
                f"    <name><text>{esc(title)} ex {ex.number} seed {v.seed}</text></name>",
                f'    <questiontext format="html"><text>{_cdata(text)}</text>'
                + "".join(f"\n      {f}" for f in files) + "</questiontext>",
                f'    <generalfeedback format="html"><text>{_cdata(feedback)}</text>'
                "</generalfeedback>",
                "    <penalty>0.3333333</penalty>",
                "    <hidden>0</hidden>",
                f"    <idnumber>{esc(v.name)}-{v.seed}-{ex.number}</idnumber>",
                "  </question>",
            ]
    out.append("</quiz>")
    return "\n".join(out) + "\n"

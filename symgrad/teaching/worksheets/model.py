r"""What a kind produces and every exporter prints: blocks of content, exercises, answers, variants.

Prose (:class:`Text`, table cells) marks inline math as ``\( ... \)``; formulas (:class:`Math`) are
LaTeX as symgrad's printers write it. The exporters in :mod:`symgrad.teaching.worksheets.export`
turn these
into LaTeX, Markdown, HTML (MathML) and Moodle XML; they never compute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from symgrad.core.derive import Derivation
from symgrad.teaching.figfile import figure_bytes

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure


@dataclass(frozen=True)
class Text:
    r"""A paragraph of prose with ``\( \)`` inline math.

    >>> from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
    >>> ex = generate(load_spec(bundled_dir() / "activations.toml"), seed=7).exercises[1]
    >>> ex.prompt[0]
    Text(text='The activation \\(a = \\tanh{\\left(z \\right)}\\).')
    """

    text: str


@dataclass(frozen=True)
class Math:
    r"""Display formulas, one per row (no alignment ``&``).

    >>> from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
    >>> ex = generate(load_spec(bundled_dir() / "activations.toml"), seed=7).exercises[1]
    >>> ex.solution[1]
    Math(rows=('\\frac{\\partial a}{\\partial z} = 1 - a^{2}',))
    """

    rows: tuple[str, ...]


@dataclass(frozen=True)
class Code:
    """A command to type, set as a line of monospace the student can copy: real ``--`` and
    straight quotes in every format.

    >>> from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
    >>> ex = generate(load_spec(bundled_dir() / "check_your_gradient.toml"), seed=1).exercises[0]
    >>> [b.text for b in ex.prompt if isinstance(b, Code)][0]
    'symgrad check mse --model linear --wrt w --answer "..."'
    """

    text: str


@dataclass(frozen=True)
class Steps:
    """A whole step-by-step derivation, printed by the format's renderer.

    >>> from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
    >>> ex = generate(load_spec(bundled_dir() / "activations.toml"), seed=7).exercises[1]
    >>> from symgrad.render import text
    >>> print(text.render(ex.solution[0].derivation))  # doctest: +ELLIPSIS
    The derivative of tanh
    ...
    Result (every step checked against sympy.diff: ... as symbolic identities):
      ∂a/∂z = 1 − a²
    """

    derivation: Derivation


#: A table cell nobody fills in (the sheet does not ask for it), on both sheets.
NOT_ASKED = "—"


@dataclass(frozen=True)
class Table:
    """A table of prose cells; an empty cell is a blank for the student to fill in
    (:data:`NOT_ASKED` marks one that is not asked).

    The prompt's table has blanks where the solution's has the values:

    >>> from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
    >>> ex = generate(load_spec(bundled_dir() / "activations.toml"), seed=7).exercises[1]
    >>> ex.prompt[2].rows
    (('0', '', ''), ('-1', '', ''))
    >>> ex.solution[2].rows
    (('0', '0', '1'), ('-1', '-0.7616', '0.42'))
    """

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Space:
    """Room to write an answer (about ``lines`` lines); only on the exercise sheet.

    >>> from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
    >>> from symgrad.teaching.worksheets.export import to_md
    >>> v = generate(load_spec(bundled_dir() / "logistic_bce.toml"), seed=1)
    >>> v.exercises[0].prompt[-1]
    Space(lines=12)
    >>> to_md(v, "exercises").count("*Your answer:*"), to_md(v, "solutions").count("*Your answer:*")
    (2, 0)
    """

    lines: int = 8


@dataclass(frozen=True, eq=False)
class Figure:
    """A figure (a plot or a computational graph), drawn once when an exporter first asks for it.

    ``name`` is the file stem in the variant folder (``figure-2``: ``figure-2.pdf`` for LaTeX,
    ``figure-2.png`` for Markdown; HTML and Moodle embed the PNG). ``draw`` makes the matplotlib
    figure; :meth:`data` renders it reproducibly
    (:func:`symgrad.teaching.figfile.figure_bytes`) and
    keeps the bytes. ``only = "exercises"`` leaves it out of the solutions edition (like
    :class:`Space`).

    >>> from symgrad.teaching.plots import figure
    >>> f = Figure("figure-1", "ReLU", lambda: figure("activations", names=["relu"]))
    >>> f.data("png")[:8] == b"\\x89PNG\\r\\n\\x1a\\n", f.filename("pdf")
    (True, 'figure-1.pdf')
    """

    name: str
    caption: str
    draw: Callable[[], MplFigure] = field(repr=False)
    only: str | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def filename(self, fmt: str) -> str:
        """``figure-2.png`` for ``fmt = "png"``."""
        return f"{self.name}.{fmt}"

    def data(self, fmt: str) -> bytes:
        """The figure as ``pdf``, ``png`` or ``svg`` bytes (drawn on first use, then kept)."""
        if fmt not in self._cache:
            if "figure" not in self._cache:
                self._cache["figure"] = self.draw()
            self._cache[fmt] = figure_bytes(self._cache["figure"], fmt)
        return self._cache[fmt]


Block = Text | Math | Code | Steps | Table | Space | Figure


@dataclass(frozen=True)
class Answer:
    """One machine-checkable answer: ``answers.json`` rows and Moodle questions come from these.

    ``value`` is a float for a numerical answer, a string for a word (a stopping rule), or None
    for a formula; ``question`` is the prose asking for it; ``tolerance`` is absolute. A word the
    student types rather than picks (a shape: ``N×d``) is ``typed``; its other accepted spellings
    are ``given["accepts"]``.

    >>> from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
    >>> ex = generate(load_spec(bundled_dir() / "activations.toml"), seed=7).exercises[1]
    >>> a = ex.answers[3]
    >>> a.id, a.text, a.value, a.tolerance
    ('2.da2', '∂a/∂z = 1 − a² = 0.42', 0.4199743416140261, 0.005)
    """

    id: str
    kind: str
    question: str
    given: dict[str, Any]
    latex: str
    text: str
    value: float | str | None
    tolerance: float | None = None
    typed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The ``answers.json`` entry."""
        return {"id": self.id, "kind": self.kind, "question": self.question, "given": self.given,
                "answer": {"latex": self.latex, "text": self.text, "value": self.value},
                "tolerance": self.tolerance}


@dataclass
class Exercise:
    """One generated exercise: what the student sees, the worked solution and the answers.

    >>> from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
    >>> ex = generate(load_spec(bundled_dir() / "activations.toml"), seed=7).exercises[1]
    >>> ex.number, ex.kind, ex.title, ex.points
    (2, 'activation', 'The tanh activation and its derivative', 3.0)
    >>> [type(b).__name__ for b in ex.prompt], [type(b).__name__ for b in ex.solution]
    (['Text', 'Text', 'Table'], ['Steps', 'Math', 'Table'])
    >>> [a.id for a in ex.answers]
    ['2.a1', '2.da1', '2.a2', '2.da2']
    """

    number: int
    kind: str
    title: str
    points: float
    prompt: list[Block]
    solution: list[Block]
    answers: list[Answer] = field(default_factory=list)
    #: What this variant drew, for figures (see :meth:`~symgrad.teaching.worksheets.kinds.Kind
    #: .figure_defaults`): data, loss, model, a point, learning rates, a graph and its values.
    drawn: dict[str, Any] = field(default_factory=dict)

    @property
    def figures(self) -> list[Figure]:
        """The exercise's figures, prompt first."""
        return [b for b in [*self.prompt, *self.solution] if isinstance(b, Figure)]


@dataclass
class Variant:
    """One variant of a worksheet, reproducible from its seed.

    >>> from symgrad.teaching.worksheets import bundled_dir, generate, load_spec
    >>> v = generate(load_spec(bundled_dir() / "activations.toml"), seed=7)
    >>> v.name, v.seed, len(v.exercises), v.points, len(v.answers), [f.name for f in v.figures]
    ('activations', 7, 3, 9.0, 16, ['figure-1'])
    """

    name: str
    title: str
    course: str
    instructions: str
    seed: int
    exercises: list[Exercise]
    #: When the ``interactive`` page shows an exercise's solution (the spec's ``reveal``).
    reveal: str = "after_attempt"

    @property
    def points(self) -> float:
        """The total points of the exercises."""
        return sum(e.points for e in self.exercises)

    @property
    def answers(self) -> list[Answer]:
        """Every answer of the variant, exercise by exercise."""
        return [a for e in self.exercises for a in e.answers]

    @property
    def figures(self) -> list[Figure]:
        """Every figure of the variant, in order."""
        return [f for e in self.exercises for f in e.figures]

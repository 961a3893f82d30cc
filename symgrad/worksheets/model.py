r"""What a kind produces and every exporter prints: blocks of content, exercises, answers, variants.

Prose (:class:`Text`, table cells) marks inline math as ``\( ... \)``; formulas (:class:`Math`) are
LaTeX as symgrad's printers write it. The exporters in :mod:`symgrad.worksheets.export` turn these
into LaTeX, Markdown, HTML (MathML) and Moodle XML; they never compute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..derive import Derivation

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure


@dataclass(frozen=True)
class Text:
    """A paragraph of prose with ``\\( \\)`` inline math."""

    text: str


@dataclass(frozen=True)
class Math:
    """Display formulas, one per row (no alignment ``&``)."""

    rows: tuple[str, ...]


@dataclass(frozen=True)
class Steps:
    """A whole step-by-step derivation, printed by the format's renderer."""

    derivation: Derivation


@dataclass(frozen=True)
class Table:
    """A table of prose cells; an empty cell is a blank for the student to fill in."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Space:
    """Room to write an answer (about ``lines`` lines); only on the exercise sheet."""

    lines: int = 8


@dataclass(frozen=True, eq=False)
class Figure:
    """A figure (a plot or a computational graph), drawn once when an exporter first asks for it.

    ``name`` is the file stem in the variant folder (``figure-2``: ``figure-2.pdf`` for LaTeX,
    ``figure-2.png`` for Markdown; HTML and Moodle embed the PNG). ``draw`` makes the matplotlib
    figure; :meth:`data` renders it reproducibly (:func:`symgrad.worksheets.figures.render`) and
    keeps the bytes. ``only = "exercises"`` leaves it out of the solutions edition (like
    :class:`Space`).

    >>> from symgrad.plots import figure
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
            from .figures import render

            if "figure" not in self._cache:
                self._cache["figure"] = self.draw()
            self._cache[fmt] = render(self._cache["figure"], fmt)
        return self._cache[fmt]


Block = Text | Math | Steps | Table | Space | Figure


@dataclass(frozen=True)
class Answer:
    """One machine-checkable answer: ``answers.json`` rows and Moodle questions come from these.

    ``value`` is a float for a numerical answer, a string for a word (a stopping rule), or None
    for a formula; ``question`` is the prose asking for it; ``tolerance`` is absolute.
    """

    id: str
    kind: str
    question: str
    given: dict[str, Any]
    latex: str
    text: str
    value: float | str | None
    tolerance: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``answers.json`` entry."""
        return {"id": self.id, "kind": self.kind, "question": self.question, "given": self.given,
                "answer": {"latex": self.latex, "text": self.text, "value": self.value},
                "tolerance": self.tolerance}


@dataclass
class Exercise:
    """One generated exercise: what the student sees, the worked solution and the answers."""

    number: int
    kind: str
    title: str
    points: float
    prompt: list[Block]
    solution: list[Block]
    answers: list[Answer] = field(default_factory=list)
    #: What this variant drew, for figures (see :meth:`~symgrad.worksheets.kinds.Kind
    #: .figure_defaults`): data, loss, model, a point, learning rates, a graph and its values.
    drawn: dict[str, Any] = field(default_factory=dict)

    @property
    def figures(self) -> list[Figure]:
        """The exercise's figures, prompt first."""
        return [b for b in [*self.prompt, *self.solution] if isinstance(b, Figure)]


@dataclass
class Variant:
    """One variant of a worksheet, reproducible from its seed."""

    name: str
    title: str
    course: str
    instructions: str
    seed: int
    exercises: list[Exercise]

    @property
    def points(self) -> float:
        return sum(e.points for e in self.exercises)

    @property
    def answers(self) -> list[Answer]:
        return [a for e in self.exercises for a in e.answers]

    @property
    def figures(self) -> list[Figure]:
        """Every figure of the variant, in order."""
        return [f for e in self.exercises for f in e.figures]

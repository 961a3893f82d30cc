r"""What a kind produces and every exporter prints: blocks of content, exercises, answers, variants.

Prose (:class:`Text`, table cells) marks inline math as ``\( ... \)``; formulas (:class:`Math`) are
LaTeX as symgrad's printers write it. The exporters in :mod:`symgrad.worksheets.export` turn these
into LaTeX, Markdown, HTML (MathML) and Moodle XML; they never compute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..derive import Derivation


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


Block = Text | Math | Steps | Table | Space


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

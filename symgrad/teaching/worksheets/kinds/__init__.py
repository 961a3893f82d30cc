"""The registry of exercise kinds: one small module per kind, registered by name.

A kind declares its fields (:class:`Field`, checked when the spec is loaded) and turns one
exercise spec and a seeded random generator into an
:class:`~symgrad.teaching.worksheets.model.Exercise`.
A draw that makes a poor exercise (a zero gradient, a story that does not show what it should)
raises :class:`Degenerate`, and the generator draws again.

To add a kind, write ``kinds/mykind.py`` with a :class:`Kind` subclass decorated by
:func:`register` and import it at the end of this module. Kinds whose engine lives in an optional
module (``graph`` needs :mod:`symgrad.core.parse`, ``network`` needs :mod:`symgrad.models.network`,
``check``
needs the ``symgrad check`` command) register only when that module is there.

>>> [k for k in sorted(KINDS) if k in BUILTIN][:4]
['activation', 'closed_form', 'derive', 'gd_steps']
>>> "check" in KINDS
True
>>> KINDS["graph"].fields["expr"].required
True
"""

from __future__ import annotations

import contextlib
import importlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

from symgrad.teaching.worksheets.model import Exercise
from symgrad.teaching.worksheets.spec import ExerciseSpec, SpecError, check_draw, exact


class Degenerate(Exception):  # noqa: N818 - a signal to draw again, not an error
    """This draw makes a poor exercise; draw again."""


@dataclass(frozen=True)
class Field:
    """One field of a kind.

    ``type``: ``name`` (a string from ``choices``, or ``{choice = [...]}`` of them), ``number``
    (a number or a draw of one), ``numbers`` (a draw with ``count``, or a list), ``values``
    (either), ``int`` (a whole number in ``low..high``), ``bool``, ``names`` (a list of strings),
    ``point`` (a table of name -> number or draw), ``data`` (``{x = ..., y = ...}`` draws or
    ``{dataset = "sat_gpa", rows = 3}``),
    ``lrs`` (a table ``small``, ``ideal``, ``large`` of numbers).
    """

    type: str
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    low: int = 1
    high: int = 1000
    help: str = ""


#: Fields every kind takes besides its own (checked by
# :func:`symgrad.teaching.worksheets.figures.check`).
COMMON_FIELDS = ("figure", "figure_in")


class Kind:
    """Base class: ``validate`` checks the fields, ``generate`` makes one exercise.

    ``figure_defaults`` is the hook for figures that should show the drawn variant (its data,
    point, learning rates); ``graph_figure`` says the kind puts a computational graph in
    ``Exercise.drawn`` (``graph`` and ``values``) for a ``figure = { kind = "graph" }``.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    fields: ClassVar[dict[str, Field]] = {}
    graph_figure: ClassVar[bool] = False

    def validate(self, es: ExerciseSpec) -> None:
        """Raise :class:`SpecError` for a missing, unknown or malformed field."""
        for key in es.fields:
            if key not in self.fields and key not in COMMON_FIELDS:
                raise SpecError(f"{es.where}: unknown field {key!r} (the {self.name} kind has: "
                                f"{', '.join(['points', 'title', *self.fields, *COMMON_FIELDS])})")
        for key, f in self.fields.items():
            if key not in es.fields:
                if f.required:
                    raise SpecError(f"{es.where}: missing field {key!r}"
                                    + (f" ({f.help})" if f.help else ""))
                continue
            _check_field(es.fields[key], f, es.at(key))
        self.check(es)

    def check(self, es: ExerciseSpec) -> None:
        """Checks across fields (override)."""

    def get(self, es: ExerciseSpec, key: str) -> Any:
        """The field's value in the spec, or its default."""
        return es.fields.get(key, self.fields[key].default)

    def generate(self, es: ExerciseSpec, rng: random.Random) -> Exercise:
        """One exercise from a seeded generator; raise :class:`Degenerate` to be asked again."""
        raise NotImplementedError

    def zeros_teach(self, ex: Exercise) -> bool:
        """Whether this exercise's zero answers are its lesson (ReLU is flat left of 0), not a
        degenerate draw: :func:`check_zeros` then leaves them to the kind. The base kind: no."""
        return False

    def figure_defaults(self, plot_kind: str, options: Mapping[str, Any],
                        drawn: Mapping[str, Any]) -> dict[str, Any]:
        """Default options for a ``plot_kind`` figure of this exercise, from what the variant drew
        (``Exercise.drawn``); ``options`` are the spec's, which win. The base kind has none."""
        return {}


#: At most this share of an exercise's numerical answers may be 0.
ZERO_SHARE = Fraction(1, 4)


def check_zeros(ex: Exercise) -> None:
    """Raise :class:`Degenerate` when zeros make more than :data:`ZERO_SHARE` of the exercise's
    numerical answers (zero weights or inputs, dead units: nothing left to compute), unless they
    are the exercise's lesson (:meth:`Kind.zeros_teach`).

    >>> from dataclasses import replace
    >>> from symgrad.teaching.worksheets.model import Answer
    >>> zero = Answer("1.a", "derive", "", {}, "", "", 0.0)
    >>> ex = Exercise(1, "derive", "", 1.0, [], [], [zero, replace(zero, value=2.0)])
    >>> check_zeros(ex)
    Traceback (most recent call last):
    ...
    symgrad.teaching.worksheets.kinds.Degenerate: 1 of 2 answers are 0
    """
    values = [a.value for a in ex.answers if isinstance(a.value, float)]
    zeros = sum(v == 0 for v in values)
    if zeros > ZERO_SHARE * len(values) and not KINDS[ex.kind].zeros_teach(ex):
        raise Degenerate(f"{zeros} of {len(values)} answers are 0")


def _check_field(value: Any, f: Field, where: str) -> None:
    t = f.type
    if t == "name":
        options = value["choice"] if isinstance(value, dict) and "choice" in value else [value]
        if isinstance(value, dict) and set(value) != {"choice"}:
            raise SpecError(f"{where}: expected a name or {{choice = [...]}}, got {value!r}")
        if not isinstance(options, list) or not options:
            raise SpecError(f"{where}: choice must be a non-empty list")
        for v in options:
            if not isinstance(v, str):
                raise SpecError(f"{where}: expected a name, got {v!r}")
            if f.choices and v not in f.choices:
                raise SpecError(f"{where}: unknown value {v!r}; choose one of: "
                                f"{', '.join(f.choices)}")
    elif t == "number":
        if isinstance(value, dict) and "count" in value:
            raise SpecError(f"{where}: expected one number, not a draw with count")
        if isinstance(value, list):
            raise SpecError(f"{where}: expected one number, got a list")
        check_draw(value, where)
    elif t == "numbers":
        if not (isinstance(value, list) or (isinstance(value, dict) and "count" in value)):
            raise SpecError(f"{where}: expected a list of numbers or a draw with count")
        check_draw(value, where)
    elif t == "values":
        check_draw(value, where)
    elif t == "int":
        if isinstance(value, bool) or not isinstance(value, int) or not f.low <= value <= f.high:
            raise SpecError(f"{where}: expected a whole number from {f.low} to {f.high}, "
                            f"got {value!r}")
    elif t == "bool":
        if not isinstance(value, bool):
            raise SpecError(f"{where}: expected true or false, got {value!r}")
    elif t == "names":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise SpecError(f"{where}: expected a non-empty list of names, got {value!r}")
    elif t == "point":
        if not isinstance(value, dict) or not value:
            raise SpecError(f"{where}: expected a table such as {{ w = 1, b = 0 }}")
        for k, v in value.items():
            _check_field(v, Field("number"), f"{where}.{k}")
    elif t == "lrs":
        if not isinstance(value, dict) or set(value) != {"small", "ideal", "large"}:
            raise SpecError(f"{where}: expected {{ small = ..., ideal = ..., large = ... }}")
        for k, v in value.items():
            if exact(v, f"{where}.{k}") <= 0:
                raise SpecError(f"{where}.{k}: a learning rate must be positive, got {v}")
    elif t == "data":
        _check_data(value, where)
    else:  # pragma: no cover - a kind declared an unknown field type
        raise ValueError(f"unknown field type {t!r}")


def _check_data(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise SpecError(f"{where}: expected {{ x = ..., y = ... }} or {{ dataset = \"sat_gpa\", "
                        "rows = 3 }")
    if "dataset" in value:
        from symgrad.numerics.data import _BUNDLED

        extra = set(value) - {"dataset", "rows", "x_scale"}
        if extra:
            raise SpecError(f"{where}: unknown key {sorted(extra)[0]!r} (dataset, rows, x_scale)")
        if value["dataset"] not in _BUNDLED:
            raise SpecError(f"{where}.dataset: unknown data set {value['dataset']!r}; choose one "
                            f"of: {', '.join(_BUNDLED)}")
        rows = value.get("rows")
        if isinstance(rows, bool) or not isinstance(rows, int) or not 1 <= rows <= 20:
            raise SpecError(f"{where}.rows: expected a whole number from 1 to 20, got {rows!r}")
        if "x_scale" in value and exact(value["x_scale"], f"{where}.x_scale") <= 0:
            raise SpecError(f"{where}.x_scale: must be positive")
        return
    for key in ("x", "y"):
        if key not in value:
            raise SpecError(f"{where}: missing field {key!r}")
        _check_field(value[key], Field("numbers"), f"{where}.{key}")
    extra = set(value) - {"x", "y"}
    if extra:
        raise SpecError(f"{where}: unknown key {sorted(extra)[0]!r} (x, y, or dataset, rows)")

    def size(v: Any) -> int:
        return len(v) if isinstance(v, list) else v["count"]

    if size(value["x"]) != size(value["y"]):
        raise SpecError(f"{where}: x has {size(value['x'])} values but y has {size(value['y'])}")


KINDS: dict[str, Kind] = {}


def register(cls: type[Kind]) -> type[Kind]:
    """Class decorator: add a kind to :data:`KINDS` under its ``name``."""
    KINDS[cls.name] = cls()
    return cls


#: Built-in kinds, and kinds whose engine is an optional module (skipped when it does not import).
BUILTIN = ("derive", "activation", "gd_steps", "closed_form", "graph", "optimizer_steps",
           "newton_step", "matrix")
OPTIONAL = ("network", "check")

for _name in BUILTIN:
    importlib.import_module(f"{__name__}.{_name}")
for _name in OPTIONAL:
    # a kind whose engine (symgrad.core.parse, symgrad.models.network, ...) is not there yet is
    # left out
    with contextlib.suppress(ImportError):
        importlib.import_module(f"{__name__}.{_name}")

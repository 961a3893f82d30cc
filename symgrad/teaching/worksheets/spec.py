"""Worksheet specs: TOML files read with :mod:`tomllib`, validated before anything is built.

A spec has ``title``, ``course``, ``instructions``, optional ``seed`` and ``variants`` defaults, and
``[[exercise]]`` tables, each with a ``kind`` (see :mod:`symgrad.teaching.worksheets.kinds`),
``points`` and
the kind's fields. A number field may be *drawn* (see :func:`draw`)::

    lr = 0.1                                   # fixed
    lr = { choice = [0.05, 0.1, 0.2] }         # one of these
    w = { range = [-2, 2], step = 0.5 }        # one of -2, -1.5, ..., 2
    x = { range = [0, 4], count = 3 }          # three draws from 0, 1, ..., 4

Numbers are exact (:class:`fractions.Fraction`, 0.1 is 1/10), so answers by hand come out exact.
Every problem is a :class:`SpecError` naming the file, the exercise and the field.

>>> import random
>>> rng = random.Random(1)
>>> draw({"range": [0, 1], "step": 0.25}, rng, "lr") in {Fraction(k, 4) for k in range(5)}
True
>>> check_draw({"range": [2, 1]}, "field 'lr'")
Traceback (most recent call last):
...
symgrad.teaching.worksheets.spec.SpecError: field 'lr': range [2, 1] is inverted (low > high)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from symgrad.core.errors import SymgradError

Number = Fraction


class SpecError(SymgradError):
    """A worksheet spec is invalid: the message names the file, the exercise and the field."""


def exact(value: Any, where: str) -> Fraction:
    """A TOML number as an exact fraction (floats by their decimal text: 0.1 is 1/10)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Fraction):
        raise SpecError(f"{where}: expected a number, got {value!r}")
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise SpecError(f"{where}: expected a finite number, got {value!r}")
        return Fraction(repr(value))
    return Fraction(value)


def _grid(spec: dict[str, Any], where: str) -> list[Fraction]:
    rng = spec["range"]
    if not isinstance(rng, list) or len(rng) != 2:
        raise SpecError(f"{where}: range must be [low, high], got {rng!r}")
    lo, hi = exact(rng[0], where), exact(rng[1], where)
    if lo > hi:
        raise SpecError(f"{where}: range [{rng[0]}, {rng[1]}] is inverted (low > high)")
    if lo == hi:
        raise SpecError(f"{where}: range [{rng[0]}, {rng[1]}] is empty; write the number itself "
                        "for a fixed value")
    step = exact(spec.get("step", 1), where + ".step")
    if step <= 0:
        raise SpecError(f"{where}: step must be positive, got {spec.get('step')}")
    n = int((hi - lo) / step)
    if n > 100_000:
        raise SpecError(f"{where}: range [{rng[0]}, {rng[1]}] with step {step} has too many values")
    exclude = {exact(v, where + ".exclude") for v in spec.get("exclude", [])}
    values = [lo + k * step for k in range(n + 1) if lo + k * step not in exclude]
    if not values:
        raise SpecError(f"{where}: range [{rng[0]}, {rng[1]}] is empty (every value excluded)")
    return values


_DRAW_KEYS = {"range", "step", "choice", "count", "exclude", "distinct"}


def check_draw(value: Any, where: str) -> None:
    """Raise :class:`SpecError` unless ``value`` is a number, a list of numbers or a valid draw."""
    if isinstance(value, list):
        if not value:
            raise SpecError(f"{where}: empty list")
        for k, v in enumerate(value):
            check_draw(v, f"{where}[{k}]")
        return
    if not isinstance(value, dict):
        exact(value, where)
        return
    unknown = set(value) - _DRAW_KEYS
    if unknown:
        raise SpecError(f"{where}: unknown key {sorted(unknown)[0]!r} in a draw "
                        f"(use range, step, exclude, choice, count, distinct)")
    if ("range" in value) == ("choice" in value):
        raise SpecError(f"{where}: a draw needs exactly one of 'range' or 'choice'")
    if "choice" in value:
        choices = value["choice"]
        if not isinstance(choices, list) or not choices:
            raise SpecError(f"{where}: choice must be a non-empty list")
        for v in choices:
            if not isinstance(v, str):
                exact(v, where)
        pool = len(choices)
    else:
        pool = len(_grid(value, where))
    if "count" in value:
        count = value["count"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise SpecError(f"{where}: count must be a whole number >= 1, got {count!r}")
        if value.get("distinct") and count > pool:
            raise SpecError(f"{where}: cannot draw {count} distinct values from {pool}")


def draw(value: Any, rng: random.Random, where: str) -> Any:
    """A value for one variant: a fraction, a string (from a choice), or a list of them."""
    if isinstance(value, list):
        return [draw(v, rng, f"{where}[{k}]") for k, v in enumerate(value)]
    if not isinstance(value, dict):
        return value if isinstance(value, str) else exact(value, where)
    pool = value["choice"] if "choice" in value else _grid(value, where)
    pool = [v if isinstance(v, str | Fraction) else exact(v, where) for v in pool]
    if "count" not in value:
        return rng.choice(pool)
    if value.get("distinct"):
        return rng.sample(pool, value["count"])
    return [rng.choice(pool) for _ in range(value["count"])]


@dataclass
class ExerciseSpec:
    """One ``[[exercise]]`` table: its 1-based number, kind, points and the kind's fields."""

    number: int
    kind: str
    points: Fraction
    title: str
    fields: dict[str, Any]
    where: str

    def at(self, name: str) -> str:
        """``file: exercise 2 (gd_steps), field 'lr'`` for messages."""
        return f"{self.where}, field {name!r}"


@dataclass
class Spec:
    """A validated worksheet spec."""

    path: Path
    name: str
    title: str
    course: str
    instructions: str
    seed: int
    variants: int
    exercises: list[ExerciseSpec] = field(default_factory=list)

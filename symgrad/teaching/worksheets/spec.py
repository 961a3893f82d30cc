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

A spec is untrusted input: its size, nesting and strings are bounded (:data:`LIMITS`), its name
must be a plain file name (it names the output folder), and its text is checked to print safely
in every format: prose (``title``, ``course``, ``instructions``, exercise titles) is escaped by the
exporters, and its math (``\\( ... \\)``, ``\\[ ... \\]``) may use only the LaTeX commands in
:data:`MATH_COMMANDS` (:func:`check_prose`); other strings (names, expressions) are plain
characters (:func:`check_strings`).

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
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from symgrad.core.errors import SymgradError

Number = Fraction

#: The maxima a spec is held to, checked before any work: the file's size in bytes, the variants
#: of one build, the exercises, a draw's ``count``, the nesting of TOML values (tables and arrays
#: in tables and arrays), a title (spec, course or exercise), the instructions, any other string.
LIMITS = {"bytes": 1_000_000, "variants": 200, "exercises": 100, "count": 1000, "depth": 8,
          "title": 300, "instructions": 5000, "string": 500}

#: The LaTeX commands math in a spec's prose may use. Anything else (``\input``, ``\write18``,
#: ``\def``, ``\catcode``, ...) is refused: the math is copied into LaTeX and Markdown as written.
MATH_COMMANDS = frozenset({
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta",
    "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau",
    "upsilon", "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda",
    "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega", "frac", "dfrac", "tfrac", "sqrt",
    "partial", "nabla", "sum", "prod", "int", "cdot", "times", "div", "pm", "mp", "le", "leq",
    "ge", "geq", "ne", "neq", "approx", "equiv", "sim", "propto", "to", "rightarrow",
    "leftarrow", "Rightarrow", "mapsto", "infty", "in", "notin", "ldots", "cdots", "dots",
    "log", "ln", "exp", "sin", "cos", "tan", "tanh", "sinh", "cosh", "max", "min", "lim",
    "hat", "bar", "tilde", "vec", "dot", "overline", "mathrm", "mathbf", "mathit", "mathcal",
    "mathbb", "boldsymbol", "text", "operatorname", "left", "right", "big", "Big", "langle",
    "rangle", "quad", "qquad", "top", "prime", "circ", "odot", "lt", "gt", "lvert", "rvert",
    "lVert", "rVert",
})

#: Inline ``\\( ... \\)`` and display ``\\[ ... \\]`` math in prose (one capturing group).
MATH = re.compile(r"(\\\(.+?\\\)|\\\[.+?\\\])", re.S)

_NOT_MATH = re.compile(r"[^A-Za-z0-9 \n+\-*/=()\[\]<>,.;:!'|^_{}\\]")
_MATH_TOKEN = re.compile(r"\\([A-Za-z]+|[^A-Za-z])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_NOT_PLAIN = re.compile(r"[^\w .,:;=+\-*/()\[\]'!?^|@]")
# typed definitions: also line breaks and the comparisons of where() (the text must pass the
# whitelist parser too, which reads < and > only as comparisons)
_NOT_DEFINITIONS = re.compile(r"[^\w .,:;=+\-*/()\[\]'!?^|@\n<>]")
_NAME = re.compile(r"\w[\w.+-]*")
SHOWN = {c: f"\\x{c:02x}" for c in [*range(32), 127]}  # a path in a message stays on one line

#: The largest seed (spec ``seed`` and ``--seed``): folder names stay short.
MAX_SEED = 10**9


class SpecError(SymgradError):
    """A worksheet spec is invalid: the message names the file, the exercise and the field."""


def check_name(name: str, where: str) -> str:
    """``name`` if it can name an output folder: a plain file name, no path, not hidden.

    >>> check_name("gradient_descent", "spec")
    'gradient_descent'
    >>> check_name("..", "spec")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symgrad.teaching.worksheets.spec.SpecError: spec: the name '..' cannot name an output folder...
    """
    if not _NAME.fullmatch(name) or len(name) > 100:
        raise SpecError(f"{where}: the name {name!r} cannot name an output folder (use letters, "
                        "digits, '_', '-', '.', '+', starting with a letter or digit)")
    return name


def check_math(latex: str, where: str) -> None:
    r"""Raise :class:`SpecError` unless ``latex`` is math made of :data:`MATH_COMMANDS`, plain
    characters and balanced braces, which converts to MathML for the HTML edition too.

    >>> check_math(r"\frac{\partial L}{\partial w} = 2 (w x - y) x", "title")
    >>> check_math(r"\input{/etc/hostname}", "title")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symgrad.teaching.worksheets.spec.SpecError: title: \input is not allowed in math (allowed: ...)
    """
    bad = _NOT_MATH.search(latex)
    if bad:
        raise SpecError(f"{where}: the character {bad.group()!r} is not allowed in math")
    if "^^" in latex:
        raise SpecError(f"{where}: '^^' is not allowed in math")
    for m in _MATH_TOKEN.finditer(latex):
        command = m.group(1)
        if command.isalpha() and command not in MATH_COMMANDS or command in "\\()[]":
            raise SpecError(f"{where}: \\{command} is not allowed in math (allowed: LaTeX math "
                            r"commands such as \frac, \partial, \sigma, \sum, \hat, \text)")
    depth = 0
    for c in _MATH_TOKEN.sub("", latex):
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth < 0:
            break
    if depth:
        raise SpecError(f"{where}: unbalanced braces in math {latex!r}")
    from symgrad.render.html import mathml

    try:
        mathml(latex)
    except Exception:  # noqa: BLE001 - any converter failure is the spec's math, named here
        raise SpecError(f"{where}: the math {latex!r} cannot be shown in HTML") from None


def check_prose(text: str, where: str, limit: int, lines: bool = False) -> str:
    r"""``text`` if it is safe prose: at most ``limit`` characters, no control characters (no line
    breaks unless ``lines``), and its ``\( \)`` / ``\[ \]`` math passes :func:`check_math`.

    >>> check_prose(r"Find \(\sigma'(z)\) <by hand>", "title", 100)
    "Find \\(\\sigma'(z)\\) <by hand>"
    >>> check_prose("two\nlines", "title", 100)
    Traceback (most recent call last):
    ...
    symgrad.teaching.worksheets.spec.SpecError: title: must be one line (no line breaks)
    """
    if len(text) > limit:
        raise SpecError(f"{where}: too long ({len(text)} characters; at most {limit})")
    if not lines and ("\n" in text or "\r" in text):
        raise SpecError(f"{where}: must be one line (no line breaks)")
    bad = _CONTROL.search(text)
    if bad:
        raise SpecError(f"{where}: the control character {bad.group()!r} is not allowed")
    for k, part in enumerate(MATH.split(text)):
        if k % 2:
            check_math(part[2:-2], where)
    return text


def check_strings(value: Any, where: str, path_key: str = "data",
                  lines_key: str = "definitions") -> None:
    r"""Raise :class:`SpecError` unless every string in ``value`` (keys included, however deep) is
    plain: letters, digits, spaces and ``. , : ; = + - * / ( ) [ ] ' ! ? ^ | @``, at most
    ``LIMITS["string"]`` long. A string under the key ``path_key`` is a file path: any printable
    characters. A string under ``lines_key`` (typed definitions, one per line) may also hold line
    breaks and the comparisons ``<`` ``>`` of ``where()``.

    >>> check_strings({"expr": "3*(a + b*c)", "figure": {"data": "~/x#1.csv"}}, "ex 1")
    >>> check_strings({"definitions": "z = w*x + b\nL = mean((z - y)^2)"}, "ex 1")
    >>> check_strings({"definitions": "L = mean(where(y*w*x < 1, 1 - y*w*x, 0))"}, "ex 1")
    >>> check_strings({"expr": "z = w*x\nL = z"}, "ex 1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symgrad.teaching.worksheets.spec.SpecError: ex 1, field 'expr': the character '\n' is not ...
    >>> check_strings({"output": "<script>"}, "ex 1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symgrad.teaching.worksheets.spec.SpecError: ex 1, field 'output': the character '<' is not ...
    """
    stack = [(value, where, _NOT_PLAIN)]
    while stack:
        v, at, allowed = stack.pop()
        if isinstance(v, dict):
            for key, item in v.items():
                check_strings(key, at)
                pattern = {path_key: _CONTROL, lines_key: _NOT_DEFINITIONS}.get(key, _NOT_PLAIN)
                stack.append((item, f"{at}, field {key!r}", pattern))
        elif isinstance(v, list):
            stack += [(item, f"{at}[{k}]", allowed) for k, item in enumerate(v)]
        elif isinstance(v, str):
            if len(v) > LIMITS["string"]:
                raise SpecError(f"{at}: too long ({len(v)} characters; at most "
                                f"{LIMITS['string']})")
            bad = allowed.search(v)
            if bad:
                raise SpecError(f"{at}: the character {bad.group()!r} is not allowed here")


def nesting_depth(doc: Any) -> int:
    """How deeply tables and arrays nest in ``doc`` (iterative: any depth is measured safely)."""
    deepest, stack = 0, [(doc, 0)]
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        children = v.values() if isinstance(v, dict) else v if isinstance(v, list) else ()
        stack += [(c, d + 1) for c in children]
    return deepest


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
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= LIMITS[
                "count"]:
            raise SpecError(f"{where}: count must be a whole number from 1 to {LIMITS['count']}, "
                            f"got {count!r}")
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


class VariantRandom(random.Random):
    """The generator of exercise ``number`` in the variant of ``seed``, seeded with
    ``"seed:number"`` like ``random.Random``, that knows its seed: a point drawn with it is
    spread over the seeds (see :func:`spread`), so neighbouring variants evaluate at different
    points.

    >>> rng = VariantRandom(8, 1)
    >>> rng.variant_seed, rng.number, rng.random() == random.Random("8:1").random()
    (8, 1, True)
    """

    def __init__(self, seed: int, number: int) -> None:
        super().__init__(f"{seed}:{number}")
        self.variant_seed, self.number, self.spread_calls = seed, number, 0


#: How often a variant tries its own point (redrawing the rest) before it takes the next ones.
OWN_POINT_TRIES = 20


def spread(pool: list[Any], rng: random.Random) -> Any:
    """One item of ``pool`` for this variant: with a :class:`VariantRandom`, the pool in a fixed
    shuffled order (the same for every seed) indexed by the seed, so any ``len(pool)`` consecutive
    seeds take different items; the first :data:`OWN_POINT_TRIES` calls return the seed's own
    item (the rest of a degenerate draw is redrawn), later ones the next items. With another
    generator, a plain random choice.

    >>> pool = list(range(5))
    >>> sorted(spread(pool, VariantRandom(s, 1)) for s in range(10, 15))
    [0, 1, 2, 3, 4]
    """
    if not isinstance(rng, VariantRandom):
        return rng.choice(pool)
    order = list(pool)
    random.Random(f"{rng.number}:spread:{len(pool)}").shuffle(order)
    k = rng.spread_calls
    rng.spread_calls += 1
    return order[(rng.variant_seed + max(0, k - OWN_POINT_TRIES + 1)) % len(order)]


def pool_of(value: Any, where: str) -> list[Any] | None:
    """Every value a number field can take (a number, a ``range`` or ``choice`` without
    ``count``), or None for a field that draws several.

    >>> pool_of({"range": [0, 1], "step": 0.5}, "w"), pool_of(2, "w"), pool_of([1, 2], "w")
    ([Fraction(0, 1), Fraction(1, 2), Fraction(1, 1)], [Fraction(2, 1)], None)
    """
    if isinstance(value, list) or (isinstance(value, dict) and "count" in value):
        return None
    if not isinstance(value, dict):
        return [exact(value, where)]
    if "choice" in value:
        return [v if isinstance(v, str) else exact(v, where) for v in value["choice"]]
    return _grid(value, where)


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
    #: When the ``interactive`` format shows a solution: after_attempt, after_correct, always, never
    reveal: str = "after_attempt"

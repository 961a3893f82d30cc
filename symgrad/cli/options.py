"""Every command-line option is converted and checked here, once; and the API's words become flags.

The converters are argparse ``type=`` functions built for one flag. They raise a one-line
:class:`~symgrad.core.errors.OptionError` naming the flag (``main`` prints it and exits 2), so a bad
value never reaches a subcommand. This module imports no SymPy or NumPy: ``symgrad --help`` stays
fast (``point`` parses with :mod:`symgrad.core.parse` only when the option is given).

>>> whole("--max-iter")("5"), positive("--lr")("0.01"), names("--wrt")("w, b")
(5, 0.01, ['w', 'b'])
>>> positive("--lr")("-1")
Traceback (most recent call last):
...
symgrad.core.errors.OptionError: --lr must be a number > 0, got '-1'
"""

from __future__ import annotations

from symgrad.core.errors import OptionError, SymgradError

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing typing takes ~2 ms
    from collections.abc import Callable
    from typing import Any

INF = float("inf")  # finite: -INF < v < INF (False for NaN too); math is a shared library to load

#: The library's words for an option -> the command line's, per API option (error.option).
#: Library messages speak the API (``standardize=True``); the command line prints its flag.
SAYS: dict[str, tuple[str, str]] = {
    "point": ("in the point", "in --at"),
    "standardize": ("standardize=True", "--standardize"),
    "expanded": ("expanded=False", "no --expanded"),
    "data": ("give data", "give a data file with --data"),
    "x": ("choose one with x=", "choose one with --x"),
    "range": ("range", "--range"),
    "per_sample": ("per_sample=True", "--per-sample"),
    "variants": ("variants", "--variants"),
    "formats": ("the formats", "--formats"),
    "seed": ("seed", "--seed"),
    "expr": ("expr", "--expr"),
    "shapes": ("shapes", "--shapes"),
    "wrt": ("wrt", "--wrt"),
    "constants": ("in constants=", "in --at"),
}

#: API option (a keyword of figure(), fit(), ...) -> the flag that sets it.
FLAGS = {
    "loss": "--loss", "model": "--model", "data": "--data", "x": "--x", "y": "--y",
    "standardize": "--standardize", "param": "--param", "points": "--points",
    "range": "--range", "fixed": "--fix", "lr": "--lr", "init": "--init",
    "max_iter": "--max-iter", "names": "--activations", "expr": "--expr", "at": "--at",
}


def message(err: SymgradError) -> str:
    """``err``'s message in the command line's words: the API option it names becomes its flag.

    >>> message(OptionError("no value given for b (give it in the point)", option="point"))
    'no value given for b (give it in --at)'
    """
    text = str(err)
    option = getattr(err, "option", None)
    return say(text, option) if option in SAYS else text


def say(text: str, option: str) -> str:
    """``text`` (a result's hint or feedback) with the API's words for ``option`` as its flag.

    >>> say("lower the learning rate or use standardize=True", "standardize")
    'lower the learning rate or use --standardize'
    """
    return text.replace(*SAYS[option])


def _number(
    flag: str, kind: Callable[[str], Any], ok: Callable[[Any], bool], rule: str
) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise OptionError(f"{flag} must be {rule}, got {text!r}") from None
        if not ok(value):
            raise OptionError(f"{flag} must be {rule}, got {text!r}")
        return value

    return convert


def whole(flag: str, least: int = 1) -> Callable[[str], int]:
    """A whole number >= ``least``."""
    return _number(flag, int, lambda v: v >= least, f"a whole number >= {least}")


def positive(flag: str) -> Callable[[str], float]:
    """A finite number > 0."""
    return _number(flag, float, lambda v: 0 < v < INF, "a number > 0")


def nonnegative(flag: str) -> Callable[[str], float]:
    """A finite number >= 0."""
    return _number(flag, float, lambda v: 0 <= v < INF, "a number >= 0")


def interval(flag: str, lo: float, hi: float = INF, closed: str = "[)") -> Callable[[str], float]:
    """A number in the interval from ``lo`` to ``hi``, ``closed`` saying which ends belong to it.

    >>> interval("--beta1", 0, 1)("0.8")
    0.8
    >>> interval("--beta1", 0, 1)("1")
    Traceback (most recent call last):
    ...
    symgrad.core.errors.OptionError: --beta1 must be a number in [0, 1), got '1'
    """
    left, right = closed
    text = f"{left}{lo:g}, {'inf' if hi == INF else f'{hi:g}'}{right}"

    def ok(v: float) -> bool:
        return (lo <= v if left == "[" else lo < v) and (v <= hi if right == "]" else v < hi)

    return _number(flag, float, ok, f"a number in {text}")


def names(flag: str) -> Callable[[str], list[str]]:
    """``"w,b"`` -> ``["w", "b"]``; no empty names."""

    def convert(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",")]
        if not all(items):
            raise OptionError(f"{flag}: empty name in {text!r}")
        return items

    return convert


def columns(flag: str) -> Callable[[str], dict[str, str]]:
    """``"x=sat,y=gpa"`` -> ``{"x": "sat", "y": "gpa"}``: a data name -> its column, each once.

    >>> columns("--columns")("x=sat, y=gpa")
    {'x': 'sat', 'y': 'gpa'}
    >>> columns("--columns")("x=sat,x=gre")
    Traceback (most recent call last):
    ...
    symgrad.core.errors.OptionError: --columns: 'x' is given twice
    """

    def convert(text: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in text.split(","):
            name, _, column = (t.strip() for t in item.partition("="))
            if not name or not column:
                raise OptionError(f"{flag}: expected NAME=COLUMN, got {item.strip()!r}")
            if name in out:
                raise OptionError(f"{flag}: {name!r} is given twice")
            out[name] = column
        return out

    return convert


def numbers(
    flag: str, count: int | None = None, positive: bool = False, increasing: bool = False
) -> Callable[[str], list[float]]:
    """``"1,2.5"`` -> ``[1.0, 2.5]``: finite numbers (``count`` of them, > 0, increasing).

    >>> numbers("--range", count=2, increasing=True)("-5,5")
    [-5.0, 5.0]
    >>> numbers("--range", count=2, increasing=True)("2,1")
    Traceback (most recent call last):
    ...
    symgrad.core.errors.OptionError: --range: MIN must be less than MAX, got 2,1
    """

    def convert(text: str) -> list[float]:
        out = []
        for item in text.split(","):
            try:
                v = float(item.strip())
            except ValueError:
                raise OptionError(f"{flag}: {item.strip()!r} is not a number") from None
            if not -INF < v < INF:
                raise OptionError(f"{flag}: {item.strip()!r} is not a finite number")
            if positive and v <= 0:
                raise OptionError(f"{flag}: every value must be positive, got {v:g}")
            out.append(v)
        if count == 2 and len(out) != 2:
            raise OptionError(f"{flag} takes MIN,MAX, got {text!r}")
        if increasing and any(a >= b for a, b in zip(out, out[1:], strict=False)):
            raise OptionError(f"{flag}: MIN must be less than MAX, got {text}")
        return out

    return convert


class Point(dict):
    """Parameter name -> value, printed as the user typed it."""

    text = ""

    def __str__(self) -> str:
        return self.text


def point(flag: str, exact: bool = False) -> Callable[[str], Point]:
    """``"w=0.5,b=-1/3"`` -> ``{"w": 0.5, "b": -0.333...}`` (SymPy rationals when ``exact``).

    >>> at = point("--at", exact=True)("w=0.5, b=-1/3")
    >>> at, str(at)
    ({'w': 1/2, 'b': -1/3}, 'w=0.5, b=-1/3')
    """

    def convert(text: str) -> Point:
        from symgrad.core.parse import parse_assignments

        values = Point((str(k), v if exact else float(v))
                       for k, v in parse_assignments(text).items())
        values.text = text
        return values

    return convert


def shapes(flag: str) -> Callable[[str], dict[str, Any]]:
    """``"X: N x d, w: d"`` -> each name's shape (:func:`symgrad.core.matrix.parse_shapes`),
    parsed when the option is given; a bad declaration is one line naming ``flag``.

    >>> shapes("--shapes")("X: N x d, w: d")
    {'X': (N, d), 'w': (d, 1)}
    >>> shapes("--shapes")("X: N x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symgrad.core.errors.ShapeError: --shapes 'X: N x': 'N x' is not a size ...
    """

    def convert(text: str) -> dict[str, Any]:
        from symgrad.core.errors import ShapeError
        from symgrad.core.matrix import parse_shapes

        try:
            return parse_shapes(text)
        except ShapeError as e:
            raise ShapeError(message(e).replace("--shapes", flag, 1), option=None) from None

    return convert


def need(value: object, option: str, because: str) -> None:
    """Raise an OptionError when an option another one depends on is missing."""
    if value is None:
        raise OptionError(f"{option} is required {because}")


def one_of_loss_or_expr(loss: str | None, expr: str | None) -> None:
    """Raise an OptionError unless exactly one of a catalogue loss and ``--expr`` is given."""
    from symgrad.core.names import LOSSES

    if loss is None and expr is None:
        raise OptionError(f"give a catalogue loss ({', '.join(LOSSES)}) or --expr TEXT")
    if loss is not None and expr is not None:
        raise OptionError(f"give a catalogue loss ({loss}) or --expr, not both")

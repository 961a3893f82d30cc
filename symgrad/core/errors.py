"""The errors symgrad raises for bad input.

Every user error is a :class:`SymgradError`; the command line prints its message on one line and
exits with status 2. Anything else escaping is a bug in symgrad.
"""

from __future__ import annotations


class SymgradError(Exception):
    """Base class: a user error with a one-line message that says what is wrong.

    Catch it to handle any bad input the way the command line does:

    >>> from symgrad.core.derive import derive
    >>> try:
    ...     derive("svm", "linear")
    ... except SymgradError as err:
    ...     print(f"symgrad: error: {err}")  # doctest: +ELLIPSIS
    symgrad: error: unknown loss 'svm'; choose one of: mse, ...

    ``option`` names the API option (a keyword such as ``"point"`` or ``"standardize"``) the
    error is about, or None; the message speaks the API's words and the command line turns them
    into its flags (:data:`symgrad.cli.options.SAYS`).
    """

    def __init__(self, message: str = "", option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


class ParseError(SymgradError):
    """A typed expression could not be parsed or is outside the whitelist.

    ``column`` is 1-based (None when it does not apply); ``text`` is the input.

    >>> from symgrad.core.parse import parse
    >>> try:
    ...     parse("2*x +* 3")
    ... except ParseError as err:
    ...     print(err.column)
    ...     print(err.caret())
    6
      2*x +* 3
           ^
    """

    def __init__(self, message: str, text: str = "", column: int | None = None) -> None:
        super().__init__(message)
        self.text = text
        self.column = column

    def caret(self) -> str:
        """The input with a caret under the offending column (empty when unknown)."""
        if self.column is None or not self.text:
            return ""
        return f"  {self.text}\n  {' ' * (self.column - 1)}^"


class ShapeError(SymgradError):
    """Shapes that do not conform, a name without a declared shape, or a loss that is not a
    scalar, in a matrix expression; ``column`` is 1-based (None when it does not apply).

    >>> from symgrad.core.matrix import parse_matrix, parse_shapes
    >>> try:
    ...     parse_matrix("sum(X*w - y)", parse_shapes("X: N x d, w: d, y: k"))
    ... except ShapeError as err:
    ...     print(err)
    X*w - y at column 5: Xw is N and y is k; a difference needs equal shapes (or a scalar)
    """

    def __init__(self, message: str, column: int | None = None, option: str | None = None) -> None:
        super().__init__(message, option=option)
        self.column = column


class DataError(SymgradError):
    """A data file is missing, empty, malformed, or does not fit the model.

    >>> from symgrad.numerics.data import load_data
    >>> try:
    ...     load_data("missing.csv")
    ... except DataError as err:
    ...     print(err)
    missing.csv: no such file
    """


class OptionError(SymgradError):
    """An unknown or invalid option value (loss, model, parameter, format, learning rate, ...).

    >>> choose("format", "pdf", ["text", "json"])
    Traceback (most recent call last):
    ...
    symgrad.core.errors.OptionError: unknown format 'pdf'; choose one of: text, json
    """


class DomainError(SymgradError):
    """A point lies outside a function's domain (log of a negative number, ...).

    >>> from symgrad.core.graph import expression_graph, forward_backward
    >>> from symgrad.core.parse import parse, parse_assignments
    >>> try:
    ...     forward_backward(expression_graph(parse("log(x)")), parse_assignments("x=-1"))
    ... except DomainError as err:
    ...     print(err)
    node j = log(x) is undefined where x = -1
    """


class VerificationError(Exception):
    """A derivation step failed its independent check: a bug in symgrad, never printed as right.

    It is not a :class:`SymgradError` (not the user's fault): the command line says so in one
    line (``symgrad: internal error: ...``, status 3), the traceback with SYMGRAD_TRACEBACK=1:

    >>> issubclass(VerificationError, SymgradError)
    False
    >>> raise VerificationError("step dL/dw does not match sympy.diff: symgrad has a bug")
    Traceback (most recent call last):
    ...
    symgrad.core.errors.VerificationError: step dL/dw does not match sympy.diff: symgrad has a bug
    """


def choose(kind: str, value: str, valid: list[str] | tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``valid``, else raise an :class:`OptionError` listing them.

    >>> choose("loss", "mse", ["mse", "bce"])
    'mse'
    >>> try:
    ...     choose("loss", "hinge", ["mse", "bce"])
    ... except OptionError as e:
    ...     print(e)
    unknown loss 'hinge'; choose one of: mse, bce
    """
    if value not in valid:
        raise OptionError(f"unknown {kind} {value!r}; choose one of: {', '.join(valid)}")
    return value

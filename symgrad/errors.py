"""The errors symgrad raises for bad input.

Every user error is a :class:`SymgradError`; the command line prints its message on one line and
exits
with status 2. Anything else escaping is a bug in symgrad.
"""

from __future__ import annotations


class SymgradError(Exception):
    """Base class: a user error with a one-line message that says what is wrong."""


class ParseError(SymgradError):
    """A typed expression could not be parsed or is outside the whitelist.

    ``column`` is 1-based (None when it does not apply); ``text`` is the input.
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


class DataError(SymgradError):
    """A data file is missing, empty, malformed, or does not fit the model."""


class OptionError(SymgradError):
    """An unknown or invalid option value (loss, model, parameter, format, learning rate, ...)."""


class DomainError(SymgradError):
    """A point lies outside a function's domain (log of a negative number, ...)."""


class VerificationError(Exception):
    """A derivation step failed its independent check. This is a bug in symgrad, never printed as
    right."""


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

"""A time budget for work that a user's input can make long: derivations, checks, verification.

:mod:`symgrad.core.bounds` refuses the input shapes known to explode before any work starts; the
budget is the backstop for the rest. The caller sets it around the work (the command line does, for
every command) and the loops of the engine, the verification and ``check`` call :func:`check` as
they go: past the budget the work stops with a one-line :class:`BudgetError` instead of running
on. Without a budget :func:`check` costs one context-variable read.

>>> import time
>>> with limit(0.0, "deriving f"):
...     time.sleep(0.01)
...     try:
...         check()
...     except BudgetError as e:
...         print(e)  # doctest: +ELLIPSIS
stopped after 0.0... s (the time limit is 0 s) while deriving f: the input is too costly
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator

from symgrad.core.errors import SymgradError

#: The command line's budget for one command (seconds); the Python API has none unless set.
DEFAULT_SECONDS = 120.0

_DEADLINE: contextvars.ContextVar[tuple[float, float, str] | None] = contextvars.ContextVar(
    "symgrad_deadline", default=None
)


class BudgetError(SymgradError):
    """The work ran past its time budget (see :func:`limit`)."""


@contextlib.contextmanager
def limit(seconds: float | None, what: str = "working") -> Iterator[None]:
    """Run the block with a budget of ``seconds`` (None: no budget); ``what`` names the work."""
    if seconds is None:
        yield
        return
    token = _DEADLINE.set((time.monotonic(), float(seconds), what))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check() -> None:
    """Raise :class:`BudgetError` when the current budget is spent; otherwise nothing."""
    budget = _DEADLINE.get()
    if budget is None:
        return
    start, seconds, what = budget
    spent = time.monotonic() - start
    if spent > seconds:
        raise BudgetError(
            f"stopped after {spent:.1f} s (the time limit is {seconds:g} s) while {what}: "
            "the input is too costly"
        )

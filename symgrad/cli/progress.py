"""One progress line on stderr for long work: an expanded derivation, a worksheet build, a
training run.

Nothing is drawn until the work has taken :data:`AFTER` seconds, so quick work stays silent. On
a terminal the line is rewritten in place (at most every :data:`EVERY` seconds): what is being
done, a bar, how far, and the time left when it can be told. In a log (stderr is not a terminal)
nothing is written while the work runs, and its last state once, on a line of its own, at the
close: no carriage returns in the file.

>>> import io
>>> log = io.StringIO()
>>> line = Progress("sheet", stream=log, after=0.0)
>>> line.update(0.5, "1/2"); line.update(1.0, "2/2"); line.close()
>>> log.getvalue()
'sheet [########################] 2/2\\n'
"""

from __future__ import annotations

import sys
import time
from typing import Any

#: Seconds before the line is drawn (work shorter than that shows nothing).
AFTER = 1.0
#: Seconds between two redraws on a terminal.
EVERY = 0.2
#: Characters of the bar.
WIDTH = 24


def _terminal(stream: Any) -> bool:
    """Whether ``stream`` is a terminal (where a line can be rewritten in place)."""
    return bool(getattr(stream, "isatty", lambda: False)())


class Progress:
    """The progress of one piece of work: :meth:`update` as it goes, :meth:`close` at the end.

    ``what`` names the work; ``estimate`` (seconds) gives the time left before a tenth of the
    work is done, after which the pace so far tells it; ``keep`` leaves the final line on a
    terminal (a worksheet's, a training run's) instead of clearing it (a derivation's, whose
    result follows on stdout). ``stream`` and ``after`` are for tests.
    """

    def __init__(self, what: str, *, estimate: float | None = None, keep: bool = False,
                 stream: Any = None, after: float | None = None) -> None:
        self.what, self.estimate, self.keep = what, estimate, keep
        self.stream = sys.stderr if stream is None else stream
        self.after = AFTER if after is None else after
        self.terminal = _terminal(self.stream)
        self.start = time.perf_counter()
        self.drawn = 0.0  # when the line was last drawn
        self.width = 0  # the length of the line on the terminal (0: none drawn)
        self.shown = ""  # the text on the terminal now
        self.text = ""  # the line's last state, without the time left (the close shows it)

    def update(self, fraction: float, detail: str = "") -> None:
        """The work is ``fraction`` done; ``detail`` says where (a stage, a count, a loss)."""
        now = time.perf_counter()
        spent = now - self.start
        if fraction >= 0.1 and fraction < 1:
            left: float | None = spent * (1 - fraction) / fraction
        elif self.estimate is not None and fraction < 1:
            left = max(0.0, self.estimate - spent)
        else:
            left = None
        full = int(WIDTH * min(max(fraction, 0.0), 1.0))
        text = self.text = f"{self.what} [{'#' * full}{'.' * (WIDTH - full)}] {detail}".rstrip()
        if left is not None:
            text += f", about {_seconds(left)} left" if left >= 1 else ", under a second left"
        if not self.terminal or spent < self.after or (now - self.drawn < EVERY and fraction < 1):
            return
        if text != self.shown:
            self.stream.write("\r" + text.ljust(self.width))
            self.stream.flush()
            self.width, self.shown, self.drawn = len(text), text, now

    def stage(self, name: str, fraction: float) -> None:
        """``progress(stage, fraction)`` of a derivation
        (:func:`symgrad.core.derive.derive_graph`)."""
        self.update(fraction, f"{name}, {fraction:.0%} done")

    def count(self, done: int, total: int) -> None:
        """``progress(done, total)`` of a build (:func:`symgrad.teaching.worksheets.build`)."""
        self.update(done / total, f"{done}/{total}")

    def close(self) -> None:
        """End the line: cleared (or kept, ``keep``) on a terminal; in a log, the last state on
        a line of its own when the work took longer than ``after``."""
        if not self.terminal:
            if self.text and time.perf_counter() - self.start >= self.after:
                self.stream.write(self.text + "\n")
                self.stream.flush()
        elif self.width:
            if self.keep:  # the last state, even one the redraw limit held back
                end = ("\r" + self.text.ljust(self.width) if self.text != self.shown else "") + "\n"
            else:
                end = "\r" + " " * self.width + "\r"
            self.stream.write(end)
            self.stream.flush()
        self.width, self.text = 0, ""


def _seconds(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min"

"""Saving matplotlib figures: the format checked from the extension, the file written atomically.

Both the plots (:mod:`symgrad.teaching.plots`) and the graph drawings
(:mod:`symgrad.teaching.graphdraw`) save through here; worksheets take a figure's bytes
(:func:`figure_bytes`), the same on every run.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from symgrad.core.errors import OptionError
from symgrad.teaching._io import atomic_open, check_folder


def check_output_path(path: str | os.PathLike[str]) -> Path:
    """Check that matplotlib can write ``path``'s format and its folder exists; return the path.

    >>> try:
    ...     check_output_path("figure.docx")
    ... except OptionError as e:
    ...     print(str(e).split(";")[0])
    cannot write '.docx' figures
    """
    p = Path(path)
    ext = p.suffix.lower().lstrip(".")
    supported = sorted(Figure().canvas.get_supported_filetypes())
    if ext not in supported:
        shown = f"'.{ext}'" if ext else "files without an extension"
        raise OptionError(f"cannot write {shown} figures; use one of: "
                          f"{', '.join('.' + s for s in supported)}")
    check_folder(p)
    return p


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 150) -> Path:
    """Save ``fig`` atomically: to a temporary file in the same folder, then ``os.replace``.

    A failure leaves no partial file behind. The format comes from the extension
    (:func:`check_output_path`).

    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "slope.svg"
    >>> save_figure(Figure(), out).read_text()[:5]
    '<?xml'
    """
    p = check_output_path(path)
    with atomic_open(p, "wb") as fh:
        fig.savefig(fh, format=p.suffix.lower().lstrip("."), dpi=dpi)
    return p


#: Resolution of the PNGs of worksheets (Markdown, HTML, Moodle).
DPI = 150

_METADATA: dict[str, dict[str, Any]] = {
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None},
    "png": {"Software": None},
    "svg": {"Date": None},
}


def figure_bytes(fig: Figure, fmt: str, dpi: int = DPI) -> bytes:
    """``fig`` as ``pdf``, ``png`` or ``svg`` bytes, the same bytes on every run.

    >>> a = figure_bytes(Figure(), "pdf")
    >>> a == figure_bytes(Figure(), "pdf"), a[:5]
    (True, b'%PDF-')
    """
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "symgrad"}):
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=_METADATA[fmt])
    return buf.getvalue()


class InlineFigure(Figure):
    """A figure that displays inline in Jupyter (``_repr_png_``) although it is made without
    pyplot: the plots and the graph drawings create theirs as this, so ``ax.figure`` shows.

    >>> InlineFigure()._repr_png_()[:4]
    b'\\x89PNG'
    """

    def _repr_png_(self) -> bytes:
        return figure_bytes(self, "png", dpi=100)

"""Writing files atomically: one place for the temporary-file-then-rename dance.

>>> import tempfile
>>> out = Path(tempfile.mkdtemp()) / "note.txt"
>>> atomic_write_text(out, "hello\\n").read_text()
'hello\\n'
>>> [p.name for p in out.parent.iterdir()]
['note.txt']
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from symgrad.core.errors import OptionError


def check_folder(p: Path) -> None:
    """An :class:`OptionError` unless the folder ``p`` is to be written into exists."""
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OptionError(f"cannot write {p}: folder {parent} does not exist")


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w",
                encoding: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path``; on success it replaces ``path``, else it is removed.

    The file gets a normal file's mode (0666 less the umask), not ``mkstemp``'s 0600, so a failure
    leaves no partial file behind and a success looks like any file written in place.
    """
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=p.suffix.lower(), dir=p.parent)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            yield fh
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`atomic_open`); returns the path."""
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

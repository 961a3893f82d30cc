"""Loading and preparing numeric data sets (pure NumPy, no SymPy).

A :class:`Dataset` holds a feature matrix ``X`` of shape (N, k), a target vector ``y`` of shape
(N,), their names and the file they came from. :func:`load_data` reads CSV (with a header),
``.npz`` and ``.npy`` files; every problem with a file is a :class:`~symgrad.core.errors.DataError`
whose one-line message names the file and, where there is one, the line and the column.

>>> ds = load_data(bundled("sat_gpa"), x=["sat"], y="gpa")
>>> ds.x_names, ds.y_name, ds.X.shape == (len(ds.y), 1)
(('sat',), 'gpa', True)
>>> Xs, mean, std = standardize(ds.X)
>>> bool(abs(Xs.mean()) < 1e-12 and abs(Xs.std() - 1) < 1e-12)
True
"""

from __future__ import annotations

import csv
import math
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from symgrad.core.errors import DataError, OptionError

__all__ = [
    "Dataset",
    "load_data",
    "standardize",
    "unstandardize_linear",
    "check_binary_labels",
    "class_labels",
    "one_hot",
    "load_classes",
    "bundled",
]


@dataclass(frozen=True, eq=False)
class Dataset:
    """Features ``X`` (float64, shape (N, k)), target ``y`` (float64, shape (N,)) and their names.

    ``source`` is the file the data came from. ``lines`` holds, for data read from a CSV file, the
    1-based line number of each row in that file (None for other sources); :meth:`where` uses it to
    point at a row in error messages. The arrays are read-only.

    >>> ds = Dataset(np.array([[1.0], [2.0]]), np.array([0.0, 1.0]), ("x",), "y", "<memory>")
    >>> ds.n_samples, ds.n_features, ds.where(1)
    (2, 1, '<memory>, row 2')
    """

    X: np.ndarray
    y: np.ndarray
    x_names: tuple[str, ...]
    y_name: str
    source: str
    lines: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        X = np.array(self.X, dtype=np.float64)
        y = np.array(self.y, dtype=np.float64)
        if X.ndim == 1:
            X = X.reshape(-1, 1)
        if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
            raise ValueError(f"X of shape {X.shape} and y of shape {y.shape} do not fit together")
        if len(self.x_names) != X.shape[1]:
            raise ValueError(f"{len(self.x_names)} feature names for {X.shape[1]} columns")
        X.setflags(write=False)
        y.setflags(write=False)
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "x_names", tuple(self.x_names))

    @property
    def n_samples(self) -> int:
        """N, the number of rows."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """k, the number of feature columns."""
        return int(self.X.shape[1])

    def where(self, i: int) -> str:
        """Where row ``i`` (0-based) is: ``file:line`` for CSV, ``file, row i+1`` otherwise."""
        if self.lines is not None:
            return f"{self.source}:{int(self.lines[i])}"
        return f"{self.source}, row {i + 1}"


# -------------------------------------------------------------------------------------------------
# loading


def load_data(
    path: str | os.PathLike[str],
    x: Sequence[str] | str | None = None,
    y: str | None = None,
) -> Dataset:
    """Read a data set from a CSV (with a header), ``.npz`` or ``.npy`` file.

    Columns: ``x`` names the feature columns (a single name is allowed) and ``y`` the target. By
    default the features are the column ``x`` or, failing that, ``x1, x2, ...`` (as many as there
    are in a row), and the target is ``y``.

    * ``.csv``: one header line, then one row of numbers per line; blank lines are skipped, other
      columns are ignored.
    * ``.npz``: one 1-D array per column, named like the CSV columns; or a 2-D (or 1-D) array ``X``
      with a 1-D array ``y`` (features named ``x1..xk``, or the names given in ``x``).
    * ``.npy``: one 2-D array whose last column is the target; features named ``x1..xk`` unless
      ``x`` (and ``y``) give other names.

    Raises :class:`DataError` for a missing, empty or malformed file, naming the file, the line and
    the column.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = p.write_text("x,y\\n1,2\\n3,4\\n")
    >>> ds = load_data(p)
    >>> ds.X.tolist(), ds.y.tolist(), ds.x_names
    ([[1.0], [3.0]], [2.0, 4.0], ('x',))
    >>> _ = p.write_text("x,y\\n1,2\\n3,four\\n")
    >>> try:
    ...     load_data(p)
    ... except DataError as e:
    ...     print(str(e).replace(str(p), "d.csv"))
    d.csv:3: column 'y' (column 2): 'four' is not a number
    """
    p = Path(path)
    src = str(path)
    if isinstance(x, str):
        x = [x]
    if x is not None:
        x = list(x)
        if not x:
            raise OptionError("no feature columns given; name at least one x column")
        dup = _first_duplicate(x)
        if dup is not None:
            raise OptionError(f"feature column {dup!r} is named twice")
        if y is not None and y in x:
            raise OptionError(f"column {y!r} cannot be both a feature and the target")
    if not p.exists():
        raise DataError(f"{src}: no such file")
    if p.is_dir():
        raise DataError(f"{src}: is a directory, not a data file")
    ext = p.suffix.lower()
    if ext not in (".csv", ".npz", ".npy"):
        shown = f"extension {p.suffix!r}" if p.suffix else "no extension"
        raise DataError(f"{src}: {shown} is not a known data format; use .csv, .npz or .npy")
    if p.stat().st_size == 0:
        raise DataError(f"{src}: empty file")
    if ext == ".csv":
        return _load_csv(p, src, x, y)
    if ext == ".npz":
        return _load_npz(p, src, x, y)
    return _load_npy(p, src, x, y)


def _first_duplicate(names: Sequence[str]) -> str | None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            return n
        seen.add(n)
    return None


def _default_x(available: Sequence[str]) -> list[str] | None:
    """``['x']`` if present, else ``x1, x2, ...`` while they exist, else None."""
    if "x" in available:
        return ["x"]
    names = []
    while f"x{len(names) + 1}" in available:
        names.append(f"x{len(names) + 1}")
    return names or None


def _pick_columns(
    src: str, available: list[str], x: list[str] | None, y: str | None, what: str = "column"
) -> tuple[list[str], str]:
    listing = ", ".join(repr(a) for a in available) or "none"
    if x is None:
        x = _default_x(available)
        if x is None:
            raise DataError(
                f"{src}: no {what} 'x' or 'x1' for the features; the {what}s are: {listing}"
            )
    y = "y" if y is None else y
    if y in x:
        raise OptionError(f"{what} {y!r} cannot be both a feature and the target")
    for name in [*x, y]:
        if name not in available:
            raise DataError(f"{src}: no {what} {name!r}; the {what}s are: {listing}")
    return x, y


def _load_csv(p: Path, src: str, x: list[str] | None, y: str | None) -> Dataset:
    try:
        fh = p.open(newline="", encoding="utf-8-sig")
    except OSError as e:
        raise DataError(f"{src}: cannot be read ({e.strerror or e})") from None
    with fh:
        reader = csv.reader(fh)
        try:
            header: list[str] | None = None
            for row in reader:
                if any(c.strip() for c in row):
                    header = [c.strip() for c in row]
                    break
            if header is None:
                raise DataError(f"{src}: empty file")
            header_line = reader.line_num
            for j, name in enumerate(header, start=1):
                if not name:
                    raise DataError(f"{src}:{header_line}: column {j} of the header has no name")
            dup = _first_duplicate(header)
            if dup is not None:
                raise DataError(f"{src}:{header_line}: column {dup!r} appears twice in the header")
            xs, ys = _pick_columns(src, header, x, y)
            cols = [header.index(n) for n in [*xs, ys]]
            names = [*xs, ys]
            width = len(header)
            values: list[list[float]] = []
            lines: list[int] = []
            for row in reader:
                if len(row) != width:
                    if not any(c.strip() for c in row):
                        continue  # blank line
                    raise DataError(
                        f"{src}:{reader.line_num}: row has {len(row)} cells but the header has "
                        f"{width} ({', '.join(header)})"
                    )
                out = []
                for name, j in zip(names, cols, strict=True):
                    out.append(_cell(row[j], src, reader.line_num, name, j))
                values.append(out)
                lines.append(reader.line_num)
        except csv.Error as e:
            raise DataError(f"{src}:{reader.line_num}: malformed CSV ({e})") from None
        except UnicodeDecodeError as e:
            raise DataError(f"{src}: not a UTF-8 text file ({e.reason})") from None
    if not values:
        raise DataError(f"{src}: has a header but no data rows")
    arr = np.array(values, dtype=np.float64)
    return Dataset(
        X=arr[:, :-1],
        y=arr[:, -1],
        x_names=tuple(xs),
        y_name=ys,
        source=src,
        lines=np.array(lines, dtype=np.int64),
    )


def _cell(text: str, src: str, line: int, name: str, j: int) -> float:
    where = f"{src}:{line}: column {name!r} (column {j + 1})"
    t = text.strip()
    if not t:
        raise DataError(f"{where}: empty cell")
    try:
        v = float(t)
    except ValueError:
        raise DataError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(v):
        raise DataError(f"{where}: {text!r} is not a finite number")
    return v


def _np_load(p: Path, src: str, kind: str) -> Any:
    try:
        return np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"{src}: not a valid {kind} file ({e})") from None


def _numeric(src: str, label: str, a: np.ndarray) -> np.ndarray:
    if a.dtype.kind not in "biuf":
        raise DataError(f"{src}: {label} holds {a.dtype} values, not numbers")
    return a.astype(np.float64, copy=False)


def _check_finite(
    src: str, X: np.ndarray, y: np.ndarray, x_names: Sequence[str], y_name: str
) -> None:
    for j, name in enumerate(x_names):
        _first_bad(src, X[:, j], name)
    _first_bad(src, y, y_name)


def _first_bad(src: str, col: np.ndarray, name: str) -> None:
    bad = np.flatnonzero(~np.isfinite(col))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{src}, row {i + 1}: column {name!r}: {float(col[i])!r} is not a finite number"
        )


def _load_npz(p: Path, src: str, x: list[str] | None, y: str | None) -> Dataset:
    with _np_load(p, src, ".npz") as z:
        keys = list(z.files)
        if not keys:
            raise DataError(f"{src}: empty file (no arrays)")
        use_matrix = "X" in keys and (x is None or all(n not in keys for n in x))
        if use_matrix:
            ys = "y" if y is None else y
            if ys not in keys:
                listing = ", ".join(repr(k) for k in keys)
                raise DataError(f"{src}: no array {ys!r}; the arrays are: {listing}")
            X = _numeric(src, "array 'X'", z["X"])
            yv = _numeric(src, f"array {ys!r}", z[ys])
            if X.ndim == 1:
                X = X.reshape(-1, 1)
            if X.ndim != 2:
                raise DataError(f"{src}: array 'X' has {X.ndim} dimensions; it must be 2-D (N, k)")
            if x is not None and len(x) != X.shape[1]:
                raise OptionError(
                    f"{len(x)} feature names given for the {X.shape[1]} columns of 'X'"
                )
            xs = list(x) if x is not None else [f"x{j + 1}" for j in range(X.shape[1])]
        else:
            xs, ys = _pick_columns(src, keys, x, y, what="array")
            cols = [_numeric(src, f"array {n!r}", z[n]) for n in xs]
            yv = _numeric(src, f"array {ys!r}", z[ys])
            for n, c in zip(xs, cols, strict=True):
                if c.ndim != 1:
                    raise DataError(f"{src}: array {n!r} has shape {c.shape}; it must be 1-D")
            X = np.column_stack(cols)
    if yv.ndim != 1:
        raise DataError(f"{src}: array {ys!r} has shape {yv.shape}; it must be 1-D")
    if X.shape[0] != yv.shape[0]:
        raise DataError(f"{src}: the features have {X.shape[0]} rows but {ys!r} has {yv.shape[0]}")
    if yv.shape[0] == 0:
        raise DataError(f"{src}: the arrays have no rows")
    _check_finite(src, X, yv, xs, ys)
    return Dataset(X=X, y=yv, x_names=tuple(xs), y_name=ys, source=src)


def _load_npy(p: Path, src: str, x: list[str] | None, y: str | None) -> Dataset:
    a = _np_load(p, src, ".npy")
    if not isinstance(a, np.ndarray):  # pragma: no cover - np.load of .npy gives an array
        raise DataError(f"{src}: not a .npy array")
    a = _numeric(src, "the array", a)
    if a.ndim != 2 or a.shape[1] < 2:
        raise DataError(
            f"{src}: array of shape {a.shape}; it must be 2-D with at least 2 columns "
            "(features, then the target last)"
        )
    if a.shape[0] == 0:
        raise DataError(f"{src}: the array has no rows")
    k = a.shape[1] - 1
    if x is not None and len(x) != k:
        raise OptionError(f"{len(x)} feature names given for the {k} feature columns of {src}")
    xs = list(x) if x is not None else [f"x{j + 1}" for j in range(k)]
    ys = "y" if y is None else y
    if ys in xs:
        raise OptionError(f"column {ys!r} cannot be both a feature and the target")
    X, yv = a[:, :k], a[:, k]
    _check_finite(src, X, yv, xs, ys)
    return Dataset(X=X, y=yv, x_names=tuple(xs), y_name=ys, source=src)


# -------------------------------------------------------------------------------------------------
# preparing


def standardize(
    X: ArrayLike, names: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scale each column to mean 0 and standard deviation 1: ``Xs = (X - mean) / std``.

    ``std`` is the population standard deviation (ddof=0). A 1-D ``X`` is one column. ``names``
    (optional) name the columns in the error raised for a constant column, which cannot be scaled.

    >>> Xs, mean, std = standardize([[1.0, 10.0], [3.0, 30.0]])
    >>> Xs.tolist(), mean.tolist(), std.tolist()
    ([[-1.0, -1.0], [1.0, 1.0]], [2.0, 20.0], [1.0, 10.0])
    >>> try:
    ...     standardize([[1.0, 5.0], [2.0, 5.0]], names=["sat", "age"])
    ... except DataError as e:
    ...     print(e)
    feature 'age' is constant (every value is 5); it cannot be standardized
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2 or X.shape[0] == 0:
        raise DataError(f"cannot standardize an array of shape {X.shape}; it needs rows")
    lo, hi = X.min(axis=0), X.max(axis=0)
    for j in np.flatnonzero(lo == hi):
        j = int(j)
        label = f"feature {names[j]!r}" if names is not None else f"feature column {j + 1}"
        raise DataError(
            f"{label} is constant (every value is {lo[j]:g}); it cannot be standardized"
        )
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    return (X - mean) / std, mean, std


def unstandardize_linear(
    w: ArrayLike, b: ArrayLike, mean: ArrayLike, std: ArrayLike
) -> tuple[Any, Any]:
    """Turn a linear model fitted on standardized features back into original units.

    With ``y = sum_j w_j (x_j - mean_j) / std_j + b`` the same model in the original units is
    ``y = sum_j (w_j / std_j) x_j + (b - sum_j w_j mean_j / std_j)``. ``w`` has one entry per
    feature (a scalar for one feature); the result has the same shape as ``w`` and ``b``.

    >>> unstandardize_linear(2.0, 1.0, [10.0], [4.0])
    (0.5, -4.0)
    >>> w, b = unstandardize_linear([1.0, -1.0], 0.0, [1.0, 2.0], [2.0, 4.0])
    >>> w.tolist(), b
    ([0.5, -0.25], 0.0)
    """
    w_arr = np.asarray(w, dtype=np.float64)
    b_arr = np.asarray(b, dtype=np.float64)
    mean = np.asarray(mean, dtype=np.float64).reshape(-1)
    std = np.asarray(std, dtype=np.float64).reshape(-1)
    wv = w_arr.reshape(1) if w_arr.ndim == 0 else w_arr
    if wv.shape[0] != mean.shape[0] or mean.shape != std.shape:
        raise ValueError(f"weights of shape {w_arr.shape} for {mean.shape[0]} features")
    col = (-1,) + (1,) * (wv.ndim - 1)
    w_orig = (wv / std.reshape(col)).reshape(w_arr.shape)
    b_orig = b_arr - np.sum(wv * (mean / std).reshape(col), axis=0)
    return _plain(w_orig), _plain(b_orig)


def _plain(a: np.ndarray) -> Any:
    return float(a) if a.ndim == 0 else a


def check_binary_labels(ds: Dataset, low: float = 0.0) -> None:
    """Raise :class:`DataError` at the first target value that is not ``low`` (0, or -1 for the
    hinge loss) or 1.

    >>> ds = Dataset(np.zeros((3, 1)), np.array([0.0, 1.0, 0.5]), ("x",), "y", "f.csv",
    ...              lines=np.array([2, 3, 5]))
    >>> try:
    ...     check_binary_labels(ds)
    ... except DataError as e:
    ...     print(e)
    f.csv:5: column 'y': label 0.5 is not 0 or 1 (a binary classifier needs 0/1 labels)
    >>> check_binary_labels(Dataset(np.zeros((2, 1)), np.array([-1.0, 1.0]), ("x",), "y", "f"), -1)
    """
    bad = np.flatnonzero((ds.y != low) & (ds.y != 1.0))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{ds.where(i)}: column {ds.y_name!r}: label {ds.y[i]:g} is not {low:g} or 1 "
            f"(a binary classifier needs {low:g}/1 labels)"
        )


def class_labels(
    Y: ArrayLike, classes: int, where: Any = None
) -> np.ndarray:
    """Labels for ``classes`` classes, checked: integer classes (N,) or probability rows (N, K).

    A 1-D ``Y`` must hold the integers 0..K-1 and comes back as int64; a 2-D ``Y`` must have K
    columns whose rows are one-hot or probabilities (entries in [0, 1] summing to 1 within 1e-9),
    and comes back as float64. Anything else raises :class:`DataError` at the first bad row
    (``where(i)`` names row ``i``; ``"row i+1"`` by default): cross-entropy's gradient p - y is
    only right for such rows.

    >>> class_labels([0, 2, 1], 3).tolist()
    [0, 2, 1]
    >>> try:
    ...     class_labels([[0.5, 0.5, 0.0], [0.2, 0.2, 0.2]], 3)
    ... except DataError as e:
    ...     print(e)
    row 2: labels 0.2, 0.2, 0.2 sum to 0.6, not 1 (one-hot or probabilities)
    """
    at = where if where is not None else (lambda i: f"row {i + 1}")
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim == 1:
        bad = np.flatnonzero((np.round(Y) != Y) | (Y < 0) | (classes - 1 < Y) | ~np.isfinite(Y))
        if bad.size:
            i = int(bad[0])
            raise DataError(f"{at(i)}: {Y[i]:g} is not one of the integer class labels "
                            f"0..{classes - 1}")
        return Y.astype(np.int64)
    if Y.ndim != 2 or Y.shape[1] != classes:
        raise DataError(f"labels of shape {Y.shape}; expected ({Y.shape[0]},) integer classes "
                        f"0..{classes - 1} or ({Y.shape[0]}, {classes}) one-hot rows")
    outside = ~np.all((Y >= 0) & (Y <= 1), axis=1)
    off = np.abs(Y.sum(axis=1) - 1.0) > 1e-9
    bad = np.flatnonzero(outside | off)
    if bad.size:
        i = int(bad[0])
        row = ", ".join(f"{v:g}" for v in Y[i])
        why = "has an entry outside [0, 1]" if outside[i] else f"sum to {Y[i].sum():g}, not 1"
        raise DataError(f"{at(i)}: labels {row} {why} (one-hot or probabilities)")
    return Y


def one_hot(labels: ArrayLike, classes: int) -> np.ndarray:
    """Integer classes 0..K-1 as one-hot rows (N, K); probability rows are returned as they are.

    Both are checked by :func:`class_labels`.

    >>> one_hot([2, 0], 3).tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    Y = class_labels(labels, classes)
    if Y.ndim == 2:
        return Y
    out = np.zeros((Y.shape[0], classes))
    out[np.arange(Y.shape[0]), Y] = 1.0
    return out


def load_classes(
    path: str | os.PathLike[str],
    classes: int,
    x: Sequence[str] | str | None = None,
    y: str | None = None,
) -> tuple[Dataset, np.ndarray]:
    """Features and one-hot labels (N, K) for K classes: a class column ``y`` (0..K-1) or the
    one-hot (or probability) columns ``y1..yK``; labels checked by :func:`class_labels`. A column
    named by ``y`` is read as the class column.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "c.csv"
    >>> _ = p.write_text("x,y1,y2\\n1,0,1\\n2,1,0\\n")
    >>> load_classes(p, 2)[1].tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    try:
        ds = load_data(path, x, y or "y")
    except DataError as missing:
        if y is not None:
            raise
        try:
            sets = [load_data(path, x, f"y{k}") for k in range(1, classes + 1)]
        except DataError:
            raise DataError(f"{missing}; {classes} classes need a class column 'y' (0..."
                            f"{classes - 1}) or one-hot columns y1..y{classes}") from None
        ds = sets[0]
        Y = np.column_stack([s.y for s in sets])
        return ds, class_labels(Y, classes, ds.where)
    return ds, one_hot(class_labels(ds.y, classes, ds.where), classes)


# -------------------------------------------------------------------------------------------------
# bundled data

_BUNDLED = ("sat_gpa",)


def bundled(name: str = "sat_gpa") -> Path:
    """Path of a data set shipped with symgrad (see ``symgrad/datasets/README.md``).

    ``sat_gpa`` is a synthetic set of 100 students: SAT score (column ``sat``) and first-year GPA
    (column ``gpa``).

    >>> bundled().name
    'sat_gpa.csv'
    """
    if name not in _BUNDLED:
        choices = ", ".join(_BUNDLED)
        raise OptionError(f"unknown bundled data set {name!r}; choose one of: {choices}")
    res = resources.files("symgrad") / "datasets" / f"{name}.csv"
    return Path(os.fspath(res))  # type: ignore[call-overload]

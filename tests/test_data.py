"""Tests of symgrad.numerics.data: loading, error messages, standardization, the bundled data
set."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from symgrad.core.errors import DataError, OptionError
from symgrad.numerics.data import (
    Dataset,
    bundled,
    check_binary_labels,
    load_data,
    standardize,
    unstandardize_linear,
)


def write(tmp_path: Path, text: str, name: str = "d.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def data_error(path: Path, *args, **kwargs) -> str:
    """The message of the DataError that loading ``path`` raises; it must be one line."""
    with pytest.raises(DataError) as e:
        load_data(path, *args, **kwargs)
    msg = str(e.value)
    assert "\n" not in msg
    assert str(path) in msg
    return msg


# -- CSV -------------------------------------------------------------------------------------------


def test_csv_default_columns(tmp_path: Path) -> None:
    ds = load_data(write(tmp_path, "x,y\n1,2\n3.5,-4e-1\n"))
    assert ds.X.dtype == np.float64 and ds.y.dtype == np.float64
    assert ds.X.tolist() == [[1.0], [3.5]] and ds.y.tolist() == [2.0, -0.4]
    assert (ds.x_names, ds.y_name, ds.n_samples, ds.n_features) == (("x",), "y", 2, 1)
    assert ds.source.endswith("d.csv")


def test_csv_numbered_features_and_extra_columns(tmp_path: Path) -> None:
    p = write(tmp_path, "name, x2 ,x1,y,x4\nann,1,2,3,9\nbob,4,5,6,9\n")
    ds = load_data(p)
    assert ds.x_names == ("x1", "x2")  # x4 is not next after x2, so it is not taken
    assert ds.X.tolist() == [[2.0, 1.0], [5.0, 4.0]]
    ds = load_data(p, x=["x4", "x1"], y="x2")
    assert ds.X.tolist() == [[9.0, 2.0], [9.0, 5.0]] and ds.y.tolist() == [1.0, 4.0]


def test_csv_named_columns_blank_lines_and_line_numbers(tmp_path: Path) -> None:
    p = write(tmp_path, "\nsat,gpa\n1000,3.1\n\n1200,3.5\n")
    ds = load_data(p, x="sat", y="gpa")
    assert ds.X.tolist() == [[1000.0], [1200.0]]
    assert ds.lines.tolist() == [3, 5]
    assert ds.where(1) == f"{p}:5"


def test_dataset_arrays_are_read_only(tmp_path: Path) -> None:
    ds = load_data(write(tmp_path, "x,y\n1,2\n"))
    with pytest.raises(ValueError):
        ds.X[0, 0] = 5.0
    with pytest.raises(AttributeError):
        ds.y_name = "z"  # type: ignore[misc]


def test_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "nope.csv"
    assert data_error(p) == f"{p}: no such file"


def test_empty_file(tmp_path: Path) -> None:
    p = write(tmp_path, "")
    assert data_error(p) == f"{p}: empty file"
    p = write(tmp_path, "\n\n  \n", "blank.csv")
    assert data_error(p) == f"{p}: empty file"


def test_header_only(tmp_path: Path) -> None:
    p = write(tmp_path, "x,y\n")
    assert data_error(p) == f"{p}: has a header but no data rows"


def test_missing_column_lists_the_columns(tmp_path: Path) -> None:
    p = write(tmp_path, "sat,gpa\n1,2\n")
    assert (
        data_error(p)
        == f"{p}: no column 'x' or 'x1' for the features; the columns are: 'sat', 'gpa'"
    )
    assert data_error(p, x=["sat"]) == f"{p}: no column 'y'; the columns are: 'sat', 'gpa'"
    assert (
        data_error(p, x=["act"], y="gpa") == f"{p}: no column 'act'; the columns are: 'sat', 'gpa'"
    )


def test_non_numeric_cell(tmp_path: Path) -> None:
    p = write(tmp_path, "x,y\n1,2\n3,4\n5, n/a \n")
    assert data_error(p) == f"{p}:4: column 'y' (column 2): ' n/a ' is not a number"


@pytest.mark.parametrize("bad", ["nan", "NaN", "inf", "-Infinity", "1e999"])
def test_nan_and_inf_cells(tmp_path: Path, bad: str) -> None:
    p = write(tmp_path, f"x,y\n1,2\n{bad},4\n")
    assert data_error(p) == f"{p}:3: column 'x' (column 1): {bad!r} is not a finite number"


def test_empty_cell(tmp_path: Path) -> None:
    p = write(tmp_path, "a,x,y\n1,,2\n")
    assert data_error(p) == f"{p}:2: column 'x' (column 2): empty cell"


def test_unused_columns_may_hold_anything(tmp_path: Path) -> None:
    ds = load_data(write(tmp_path, "note,x,y\nhello,1,2\n,3,4\n"))
    assert ds.y.tolist() == [2.0, 4.0]


def test_rows_of_different_length(tmp_path: Path) -> None:
    p = write(tmp_path, "x,y\n1,2\n3,4,5\n")
    assert data_error(p) == f"{p}:3: row has 3 cells but the header has 2 (x, y)"
    p = write(tmp_path, "x,y\n1,2\n\n3\n", "short.csv")
    assert data_error(p) == f"{p}:4: row has 1 cells but the header has 2 (x, y)"


def test_duplicate_and_unnamed_header_columns(tmp_path: Path) -> None:
    p = write(tmp_path, "x,y,x\n1,2,3\n")
    assert data_error(p) == f"{p}:1: column 'x' appears twice in the header"
    p = write(tmp_path, "x,,y\n1,2,3\n", "unnamed.csv")
    assert data_error(p) == f"{p}:1: column 2 of the header has no name"


def test_unknown_extension(tmp_path: Path) -> None:
    p = write(tmp_path, "x,y\n1,2\n", "d.xlsx")
    assert (
        data_error(p)
        == f"{p}: extension '.xlsx' is not a known data format; use .csv, .npz or .npy"
    )
    p = write(tmp_path, "x,y\n1,2\n", "data")
    assert "no extension" in data_error(p)


def test_option_errors_for_column_choices(tmp_path: Path) -> None:
    p = write(tmp_path, "x,y\n1,2\n")
    with pytest.raises(OptionError, match="both a feature and the target"):
        load_data(p, x=["y"], y="y")
    with pytest.raises(OptionError, match="named twice"):
        load_data(p, x=["x", "x"])
    with pytest.raises(OptionError, match="no feature columns"):
        load_data(p, x=[])


def test_not_utf8(tmp_path: Path) -> None:
    p = tmp_path / "latin.csv"
    p.write_bytes(b"x,y\n1,\xe9\n")
    assert "not a UTF-8 text file" in data_error(p)


# -- npz / npy -------------------------------------------------------------------------------------


def test_npz_by_columns(tmp_path: Path) -> None:
    p = tmp_path / "d.npz"
    np.savez(p, x1=np.arange(4.0), x2=np.arange(4) * 2, y=np.ones(4), other=np.zeros(2))
    ds = load_data(p)
    assert ds.x_names == ("x1", "x2") and ds.X.shape == (4, 2) and ds.X.dtype == np.float64
    assert ds.where(2) == f"{p}, row 3"


def test_npz_matrix(tmp_path: Path) -> None:
    p = tmp_path / "m.npz"
    np.savez(p, X=np.arange(6.0).reshape(3, 2), y=np.array([1.0, 2.0, 3.0]))
    ds = load_data(p)
    assert ds.x_names == ("x1", "x2") and ds.X.tolist() == [[0, 1], [2, 3], [4, 5]]
    assert load_data(p, x=["a", "b"]).x_names == ("a", "b")


def test_npz_errors(tmp_path: Path) -> None:
    p = tmp_path / "d.npz"
    np.savez(p, x=np.arange(3.0), target=np.ones(3))
    assert data_error(p) == f"{p}: no array 'y'; the arrays are: 'x', 'target'"
    np.savez(p, x=np.array([1.0, np.nan, 3.0]), y=np.ones(3))
    assert data_error(p) == f"{p}, row 2: column 'x': nan is not a finite number"
    np.savez(p, x=np.arange(3.0), y=np.ones(4))
    assert data_error(p) == f"{p}: the features have 3 rows but 'y' has 4"
    np.savez(p, x=np.array(["a", "b"]), y=np.ones(2))
    assert "not numbers" in data_error(p)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file at all")
    assert "not a valid .npz file" in data_error(bad)


def test_npy(tmp_path: Path) -> None:
    p = tmp_path / "big.npy"
    a = np.random.default_rng(0).normal(size=(1000, 4))
    np.save(p, a)
    ds = load_data(p)
    assert ds.x_names == ("x1", "x2", "x3") and ds.y_name == "y"
    np.testing.assert_array_equal(ds.X, a[:, :3])
    np.testing.assert_array_equal(ds.y, a[:, 3])
    ds = load_data(p, x=["a", "b", "c"], y="t")
    assert ds.x_names == ("a", "b", "c") and ds.y_name == "t"


def test_npy_errors(tmp_path: Path) -> None:
    p = tmp_path / "v.npy"
    np.save(p, np.arange(5.0))
    assert "it must be 2-D with at least 2 columns" in data_error(p)
    a = np.ones((3, 2))
    a[2, 1] = np.inf
    np.save(p, a)
    assert data_error(p) == f"{p}, row 3: column 'y': inf is not a finite number"
    empty = tmp_path / "e.npy"
    empty.write_bytes(b"")
    assert data_error(empty) == f"{empty}: empty file"
    with pytest.raises(OptionError, match="2 feature names given for the 1"):
        np.save(p, np.ones((3, 2)))
        load_data(p, x=["a", "b"])


# -- preparing -------------------------------------------------------------------------------------


def test_standardize() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(loc=[1000.0, -3.0], scale=[200.0, 0.01], size=(500, 2))
    Xs, mean, std = standardize(X)
    np.testing.assert_allclose(Xs.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Xs.std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(Xs * std + mean, X, rtol=1e-12)
    Xs1, m1, s1 = standardize(X[:, 0])
    assert Xs1.shape == (500, 1) and m1.shape == (1,)


def test_standardize_refuses_a_constant_column() -> None:
    X = np.array([[1.0, 0.1], [2.0, 0.1], [3.0, 0.1]])
    with pytest.raises(DataError, match=r"^feature 'age' is constant \(every value is 0.1\)"):
        standardize(X, names=["sat", "age"])
    with pytest.raises(DataError, match="feature column 2 is constant"):
        standardize(X)


def test_unstandardize_linear_gives_the_same_predictions() -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(loc=[1000.0, 5.0, -2.0], scale=[200.0, 3.0, 0.1], size=(50, 3))
    Xs, mean, std = standardize(X)
    w, b = rng.normal(size=3), 0.7
    w0, b0 = unstandardize_linear(w, b, mean, std)
    np.testing.assert_allclose(X @ w0 + b0, Xs @ w + b, rtol=1e-10)
    assert w0.shape == (3,) and isinstance(b0, float)
    # a scalar weight for one feature stays a scalar
    w1, b1 = unstandardize_linear(2.0, 1.0, mean[:1], std[:1])
    assert isinstance(w1, float) and isinstance(b1, float)
    np.testing.assert_allclose(X[:, 0] * w1 + b1, Xs[:, 0] * 2.0 + 1.0, rtol=1e-10)


def test_check_binary_labels(tmp_path: Path) -> None:
    p = write(tmp_path, "x,y\n1,0\n\n2,1\n3,2\n4,0.5\n")
    ds = load_data(p)
    with pytest.raises(DataError) as e:
        check_binary_labels(ds)
    assert str(e.value) == (
        f"{p}:5: column 'y': label 2 is not 0 or 1 (a binary classifier needs 0/1 labels)"
    )
    check_binary_labels(load_data(write(tmp_path, "x,y\n1,0\n2,1.0\n", "ok.csv")))
    mem = Dataset(np.zeros((2, 1)), np.array([1.0, -1.0]), ("x",), "y", "<memory>")
    with pytest.raises(DataError, match=r"^<memory>, row 2: column 'y': label -1 "):
        check_binary_labels(mem)


# -- bundled ---------------------------------------------------------------------------------------


def test_bundled_sat_gpa() -> None:
    p = bundled()
    assert p == bundled("sat_gpa") and p.is_file()
    ds = load_data(p, x=["sat"], y="gpa")
    assert 80 <= ds.n_samples <= 150
    sat, gpa = ds.X[:, 0], ds.y
    assert sat.min() >= 400 and sat.max() <= 1600 and np.all(sat % 10 == 0)
    assert gpa.min() >= 0 and gpa.max() <= 4
    slope, _ = np.polyfit(sat, gpa, 1)
    assert 0.001 < slope < 0.004  # a realistic positive trend
    assert 0.5 < np.corrcoef(sat, gpa)[0, 1] < 0.95  # with noise


def test_bundled_file_is_what_the_script_generates() -> None:
    script = Path(__file__).parents[1] / "symgrad" / "datasets" / "make_sat_gpa.py"
    spec = importlib.util.spec_from_file_location("make_sat_gpa_under_test", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert bundled().read_text(encoding="utf-8") == mod.csv_text(mod.generate())
    readme = (script.parent / "README.md").read_text(encoding="utf-8")
    assert "synthetic" in readme.lower() and str(mod.SEED) in readme


def test_bundled_unknown_name() -> None:
    with pytest.raises(
        OptionError, match="unknown bundled data set 'iris'; choose one of: sat_gpa"
    ):
        bundled("iris")

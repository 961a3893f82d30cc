"""Cross-entropy labels: integer classes or rows summing to 1, checked in the API and the CLI."""

from __future__ import annotations

import json

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

from symgrad.cli import main
from symgrad.core.derive import derive
from symgrad.core.errors import DataError
from symgrad.models.network import network
from symgrad.numerics.compile import compile_gradient

K = 3
POINT = {"w11": 0.1, "w12": 0.2, "w21": -0.3, "w22": 0.1, "w31": 0.0, "w32": 0.5,
         "b1": 0.0, "b2": 0.1, "b3": -0.1}
X = np.array([[0.5, 1.0], [1.0, -1.0], [-1.0, 0.5], [2.0, 2.0]])
CLASSES = np.array([0, 2, 1, 2])


def _autograd_reference(Y: np.ndarray) -> tuple[float, dict[str, float]]:
    names = list(POINT)

    def loss(theta):
        W = anp.reshape(theta[:6], (3, 2))
        b = theta[6:]
        Z = anp.dot(X, W.T) + b
        m = anp.max(Z, axis=1, keepdims=True)
        logp = Z - m - anp.log(anp.sum(anp.exp(Z - m), axis=1, keepdims=True))
        return -anp.mean(anp.sum(Y * logp, axis=1))

    theta = np.array([POINT[k] for k in names])
    g = grad(loss)(theta)
    return float(loss(theta)), dict(zip(names, map(float, g), strict=True))


def test_integer_classes_and_one_hot_rows_give_the_same_values() -> None:
    f = compile_gradient(derive("cross_entropy", "linear", features=2, classes=K))
    Y = np.eye(K)[CLASSES]
    ref_loss, ref_grad = _autograd_reference(Y)
    for labels in (CLASSES, Y, CLASSES.astype(float)):
        loss, g = f(POINT, X, labels)
        assert loss == pytest.approx(ref_loss, rel=1e-12)
        assert g == pytest.approx(ref_grad, rel=1e-10, abs=1e-14)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([[1, 0, 0], [0, 0, 1], [0.5, 0.4, 0.0], [0, 0, 1]]),
         "row 3: labels 0.5, 0.4, 0 sum to 0.9, not 1"),
        (np.array([[1, 0, 0], [1.5, -0.5, 0], [0, 1, 0], [0, 0, 1]]),
         "row 2: labels 1.5, -0.5, 0 has an entry outside [0, 1]"),
        (np.array([0, 1, 3, 0]), "row 3: 3 is not one of the integer class labels 0..2"),
        (np.array([0, 1.5, 2, 0]), "row 2: 1.5 is not one of the integer class labels 0..2"),
    ],
)
def test_bad_label_rows_are_refused_naming_the_row(labels: np.ndarray, message: str) -> None:
    f = compile_gradient(derive("cross_entropy", "linear", features=2, classes=K))
    with pytest.raises(DataError, match=message.replace("[", r"\[").replace(".", r"\.")):
        f(POINT, X, labels)
    net = network([2, 3], ["softmax"], "cross_entropy")
    with pytest.raises(DataError, match=message.split(":")[1].strip()[:8]):
        net.gradients(net.init_params(0), X, labels)


def test_probability_rows_within_1e_9_are_accepted() -> None:
    f = compile_gradient(derive("cross_entropy", "linear", features=2, classes=K))
    Y = np.array([[0.2, 0.3, 0.5], [0, 0, 1], [1 / 3, 1 / 3, 1 / 3], [0.1, 0.9, 0]])
    loss, g = f(POINT, X, Y)
    ref_loss, ref_grad = _autograd_reference(Y)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert g == pytest.approx(ref_grad, rel=1e-10, abs=1e-14)


def _write(tmp_path, name: str, header: str, rows: list[list[float]]) -> str:
    p = tmp_path / name
    p.write_text(header + "\n" + "\n".join(",".join(f"{v:g}" for v in r) for r in rows) + "\n")
    return str(p)


def _data(tmp_path, layout: str) -> str:
    """X with CLASSES as a class column y or as one-hot columns y1..y3."""
    if layout == "class column":
        return _write(tmp_path, "c.csv", "x1,x2,y", [[*x, c] for x, c in zip(X, CLASSES,
                                                                              strict=True)])
    return _write(tmp_path, "c.csv", "x1,x2,y1,y2,y3",
                  [[*x, *np.eye(K)[c]] for x, c in zip(X, CLASSES, strict=True)])


@pytest.mark.parametrize("layout", ["class column", "one-hot columns"])
def test_cli_derive_evaluates_cross_entropy(capsys, tmp_path, layout: str) -> None:
    path = _data(tmp_path, layout)
    at = ",".join(f"{k}={v}" for k, v in POINT.items())
    code = main(["derive", "cross_entropy", "--features", "2", "--classes", "3", "--data", path,
                 "--at", at, "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    ref_loss, ref_grad = _autograd_reference(np.eye(K)[CLASSES])
    assert out["loss_value"] == pytest.approx(ref_loss, rel=1e-12)
    for name, value in ref_grad.items():
        assert out["gradient"][name]["value"] == pytest.approx(value, rel=1e-10, abs=1e-14)


def test_cli_refuses_a_bad_class_in_one_line(capsys, tmp_path) -> None:
    path = _write(tmp_path, "c.csv", "x1,x2,y", [[0.5, 1, 0], [1, -1, 2.5]])
    at = ",".join(f"{k}={v}" for k, v in POINT.items())
    code = main(["derive", "cross_entropy", "--features", "2", "--classes", "3", "--data", path,
                 "--at", at])
    err = capsys.readouterr().err
    assert code != 0
    assert err.strip().endswith("c.csv:3: 2.5 is not one of the integer class labels 0..2")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("layout", ["class column", "one-hot columns"])
def test_cli_train_mlp_with_cross_entropy(capsys, tmp_path, layout: str) -> None:
    path = _data(tmp_path, layout)
    code = main(["train", "--model", "mlp", "--layers", "2,4,3", "--activations",
                 "tanh,softmax", "--loss", "cross_entropy", "--data", path, "--lr", "0.5",
                 "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["training_accuracy"] == 1.0

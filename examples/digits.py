"""Train a 64-32-10 network (ReLU, softmax, cross-entropy) on scikit-learn's bundled digits.

The gradients are symgrad's layer-level backprop equations (g' derived by SymPy, lambdified into
NumPy); the loop is :func:`symgrad.numerics.train.gradient_descent` with mini-batches.

    python examples/digits.py            # needs the optional extra: pip install symgrad[examples]

It prints the derivation's key lines, the training time and the training accuracy (>= 95%).
"""

from __future__ import annotations

import time

import symgrad
from symgrad.models.network import Network
from symgrad.numerics.train import TrainResult


def train(lr: float = 0.1, max_iter: int = 1500, batch_size: int = 32,
          seed: int = 0) -> tuple[Network, TrainResult, float]:
    """Train on all 1797 digits; returns the network, the TrainResult and the training accuracy."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X, y = digits.data / 16.0, digits.target  # pixels 0..16 scaled to 0..1; labels 0..9
    net = symgrad.network([64, 32, 10], activations=["relu", "softmax"], loss="cross_entropy")
    res = net.fit(X, y, lr=lr, max_iter=max_iter, batch_size=batch_size, seed=seed)
    return net, res, net.accuracy(res.params, X, y)


def main() -> None:
    net = symgrad.network([64, 32, 10], activations=["relu", "softmax"], loss="cross_entropy")
    d = net.derive()
    for step in d.steps:
        if step.kind == "chain":
            print(symgrad.render.text.step_text(step).split("    [")[0])
    t = time.perf_counter()
    net, res, acc = train()
    print(f"\n{res.iterations} mini-batch updates in {time.perf_counter() - t:.2f} s, "
          f"loss {res.loss_history[0]:.3f} -> {res.final_loss:.3f}, "
          f"training accuracy {acc:.1%}")


if __name__ == "__main__":
    main()

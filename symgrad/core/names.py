"""The names symgrad accepts, one list of each kind: plain tuples, no imports.

Every module that checks or offers these names reads them here (the catalogue, fit, networks,
plots, worksheets, and the command line's argparse choices, which must load without SymPy).
Activation names belong to the function registry (:mod:`symgrad.core.functions`), not here.

>>> LOSSES
('mse', 'bce', 'cross_entropy', 'mae', 'huber', 'hinge')
>>> DEFAULT_LOSS["logistic"]
'bce'
>>> set(FIT_LOSSES) <= set(LOSSES) and set(PLOT_LOSSES) <= set(LOSSES)
True
>>> display_name("bce"), display_name("relu"), display_name("w_1")
('binary cross-entropy', 'ReLU', 'w_1')
"""

LOSSES = ("mse", "bce", "cross_entropy", "mae", "huber", "hinge")
"""Catalogue losses (:func:`symgrad.core.derive.derive`)."""

MODELS = ("linear", "logistic")
"""Catalogue models."""

NETWORK_MODEL = "mlp"
"""The layered network (:mod:`symgrad.models.network`), the model after the catalogue's."""

FIT_LOSSES = ("mse", "bce", "mae", "huber", "hinge")
"""Losses :func:`symgrad.models.fit.fit` trains a catalogue model with."""

DEFAULT_LOSS = {"linear": "mse", "logistic": "bce"}
"""A catalogue model's loss when none is given."""

NETWORK_LOSSES = ("bce", "cross_entropy", "mse")
"""Losses a network trains with."""

OPTIMIZERS = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "newton")
"""Optimizers :mod:`symgrad.numerics.optim` trains with (``--optimizer``); ``newton`` needs the
Hessian (catalogue models: IRLS for logistic regression)."""

SCHEDULES = ("constant", "step", "exponential", "cosine", "inverse")
"""Learning-rate schedules (``--schedule``)."""

PLOT_KINDS = ("slope", "lr-comparison", "contour", "loss-curve", "fit", "activations", "graph",
              "optimizers", "optimizer-losses", "schedules", "vanishing-gradients")
"""The figure kinds :func:`symgrad.teaching.plots.figure` draws."""

PLOT_LOSSES = ("mse", "bce", "mae", "huber", "hinge")
"""Losses the lecture's figures draw."""

DERIVE_FORMATS = ("text", "latex", "json", "md", "html")
"""Output formats of a derivation."""

CODE_FORMATS = ("python",)
"""Formats of a matrix derivation's code export (``--format python``)."""

MATRIX_FORMATS = ("text", "latex", "md", "html", "json", "python")
"""Output formats of a matrix derivation (``derive --shapes``)."""

RESULT_FORMATS = ("text", "json")
"""Output formats of a result (check, train, gradcheck)."""

WORKSHEET_FORMATS = ("tex", "pdf", "html", "md", "interactive", "moodle")
"""Formats a worksheet build writes."""

GRAPH_FORMATS = ("png", "svg", "pdf", "tex")
"""File formats a computational graph is drawn in."""


DISPLAY_NAMES = {
    "mse": "mean squared error",
    "bce": "binary cross-entropy",
    "cross_entropy": "cross-entropy",
    "mae": "mean absolute error",
    "huber": "Huber loss",
    "hinge": "hinge loss",
    "linear": "linear",
    "logistic": "logistic",
    "mlp": "network",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "relu": "ReLU",
    "leaky_relu": "leaky ReLU",
    "softplus": "softplus",
    "elu": "ELU",
    "silu": "SiLU",
    "gelu": "GELU",
    "softmax": "softmax",
    "identity": "identity",
}
"""The names of losses, models and activations in titles and prose ("binary cross-entropy",
"ReLU"): the one table every title and sentence reads."""


def display_name(name: str) -> str:
    """The name in titles and prose (:data:`DISPLAY_NAMES`); any other name as it is."""
    return DISPLAY_NAMES.get(name, name)

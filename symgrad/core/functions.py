"""The activation functions SymPy does not have, as SymPy functions.

Each defines its derivative (``fdiff``) in the form a lecturer writes, and a rewrite into elementary
functions (:func:`elementary`) that the verification uses as an independent reference.

Conventions: ``relu(z) = max(0, z)`` with ``relu'(0) = 0`` (as PyTorch and JAX); ``leaky_relu(z,
a)``
is ``z`` for ``z > 0`` and ``a z`` otherwise, with derivative ``a`` at 0.

>>> import sympy as sp
>>> z = sp.Symbol("z")
>>> sp.diff(sigmoid(z), z)
(1 - sigmoid(z))*sigmoid(z)
>>> sp.diff(softplus(z), z)
sigmoid(z)
>>> relu(sp.Integer(-2)), relu(sp.Integer(3))
(0, 3)
"""

from __future__ import annotations

import sympy as sp


def _latex_call(head: str, arg: str, exp: str | None) -> str:
    r"""``head\left(arg\right)``, raised to ``exp`` when SymPy's printer asks for a power."""
    body = rf"{head}\left({arg}\right)"
    return body if exp is None else rf"{body}^{{{exp}}}"


class sigmoid(sp.Function):  # noqa: N801 - SymPy functions are lower-case
    """The logistic sigmoid 1 / (1 + exp(-z)); its derivative is sigmoid(z) (1 - sigmoid(z))."""

    nargs = 1

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.S.Half
        return None

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return 1 / (1 + sp.exp(-z))

    def _eval_evalf(self, prec):
        return (1 / (1 + sp.exp(-self.args[0])))._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        return _latex_call(r"\sigma", printer._print(self.args[0]), exp)


class relu(sp.Function):  # noqa: N801
    """max(0, z); derivative 1 for z > 0 and 0 otherwise (0 at z = 0, by convention)."""

    nargs = 1

    @classmethod
    def eval(cls, z):
        if z.is_positive:
            return z
        if z.is_nonpositive:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        z = self.args[0]
        return sp.Piecewise((1, z > 0), (0, True))

    def _eval_rewrite_as_Piecewise(self, z, **kwargs):
        return sp.Piecewise((z, z > 0), (0, True))

    def _latex(self, printer, exp=None):
        return _latex_call(r"\operatorname{ReLU}", printer._print(self.args[0]), exp)


class leaky_relu(sp.Function):  # noqa: N801
    """z for z > 0, alpha z otherwise; derivative 1 for z > 0 and alpha otherwise."""

    nargs = 2

    @classmethod
    def eval(cls, z, alpha):
        if z.is_positive:
            return z
        if z.is_nonpositive and alpha.is_number:
            return alpha * z
        return None

    def fdiff(self, argindex=1):
        z, alpha = self.args
        if argindex == 1:
            return sp.Piecewise((1, z > 0), (alpha, True))
        return sp.Piecewise((0, z > 0), (z, True))

    def _eval_rewrite_as_Piecewise(self, z, alpha, **kwargs):
        return sp.Piecewise((z, z > 0), (alpha * z, True))

    def _latex(self, printer, exp=None):
        z, alpha = (printer._print(a) for a in self.args)
        return _latex_call(rf"\operatorname{{LeakyReLU}}_{{{alpha}}}", z, exp)


class softplus(sp.Function):  # noqa: N801
    """log(1 + exp(z)); its derivative is sigmoid(z)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return sp.log(1 + sp.exp(z))

    def _eval_evalf(self, prec):
        return sp.log(1 + sp.exp(self.args[0]))._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        return _latex_call(r"\operatorname{softplus}", printer._print(self.args[0]), exp)


CUSTOM_FUNCTIONS: dict[str, type[sp.Function]] = {
    "sigmoid": sigmoid,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "softplus": softplus,
}


def elementary(expr: sp.Expr) -> sp.Expr:
    """Rewrite symgrad's functions into exp, log and Piecewise, the form ``sympy.diff`` checks
    against.

    Only symgrad's own functions are rewritten (``deep=False``); their arguments stay as they are
    (a deep ``rewrite(exp)`` would also turn cos(a) into complex exponentials).

    >>> z, a = sp.Symbol("z"), sp.Symbol("a", real=True)
    >>> elementary(sigmoid(z) + relu(z))
    Piecewise((z, z > 0), (0, True)) + 1/(1 + exp(-z))
    >>> elementary(softplus(sp.cos(a)))
    log(exp(cos(a)) + 1)
    """
    if not expr.has(sigmoid, softplus, relu, leaky_relu):  # a traversal, cheaper than a rebuild
        return expr
    return expr.replace(
        lambda e: isinstance(e, (sigmoid, softplus)),
        lambda e: e.rewrite(sp.exp, deep=False),
    ).replace(
        lambda e: isinstance(e, (relu, leaky_relu)),
        lambda e: e.rewrite(sp.Piecewise, deep=False),
    )

"""The function registry: everything symgrad knows about one function, in one record.

Each function the parser accepts, the engine names a rule for, the printers print, the networks
use as an activation, the worksheets and plots draw and ``check`` knows wrong derivatives of is one
:class:`Function` record in :data:`FUNCTIONS`. The consumers only read the registry: the parser's
whitelist, :func:`symgrad.core.derive.rule_name`, :func:`elementary`, the lambdify map
(``symgrad.numerics.compile.NUMPY_FUNCTIONS``), the text and LaTeX printers, ``check``'s named
mistakes, the catalogue's activations (and so networks, the ``activation`` worksheet kind and
``plot activations``). Adding a function is adding one record here.

The functions SymPy lacks (sigmoid, relu, leaky_relu, softplus, elu, silu, gelu) are SymPy
functions made by :func:`_sympy_function` from their record: ``fdiff`` is the derivative in the form
a lecturer writes (the *identity form*), the elementary rewrite is the independent reference the
verification differentiates with ``sympy.diff``. Their NumPy kernels are stable (no overflow, no
warning, finite at ``|z| = 1e4``) and import NumPy on first call, so the core stays SymPy-only.

Conventions at a kink (the derivative's value there), the same as PyTorch: ``relu'(0) = 0``,
``leaky_relu'(0) = alpha``, ``abs'(0) = 0`` (sign), ``max``/``min`` split a tie evenly (1/2 each),
``elu'(0) = alpha`` (the z <= 0 branch; continuous for the default alpha = 1), the step
``Heaviside(0) = 0`` (relu's derivative); ``huber`` (PyTorch's HuberLoss of a residual, with its
delta) has a continuous derivative, ``u`` for ``|u| <= delta`` and ``delta sign(u)`` otherwise.

What symgrad prints can be typed back: ``sign(z)``, ``Heaviside(z)`` (or ``step(z)``), and a
piecewise value ``where(z > 0, 1, 0)``, whose first argument is a comparison (<, <=, >, >=; the
only place the parser reads one).

>>> import sympy as sp
>>> z = sp.Symbol("z")
>>> sp.diff(sigmoid(z), z)
(1 - sigmoid(z))*sigmoid(z)
>>> sp.diff(softplus(z), z)
sigmoid(z)
>>> relu(sp.Integer(-2)), relu(sp.Integer(3))
(0, 3)
>>> FUNCTIONS["sigmoid"].rule
'sigmoid identity'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import sympy as sp

__all__ = [
    "FUNCTIONS",
    "Function",
    "Mistake",
    "Activation",
    "activations",
    "by_class",
    "elementary",
    "sigmoid",
    "relu",
    "leaky_relu",
    "softplus",
    "elu",
    "silu",
    "gelu",
    "huber",
]


@dataclass(frozen=True)
class Mistake:
    """A wrong derivative ``check`` recognises: its name, the wrong g'(args), the feedback."""

    name: str
    wrong: Callable[..., sp.Expr]
    hint: str


@dataclass(frozen=True)
class Activation:
    """How a function serves as an activation.

    ``kink``: the z where the derivative is only a convention (worksheets do not ask there);
    ``init``: ``"he"`` or ``"glorot"`` weights before it; ``saturates``: its gradient vanishes for
    large |z| (worksheets avoid such draws); ``output_only``: only on the last layer (softmax);
    ``plot_range`` and ``plot_note`` (an annotation at z = lo/2) for ``plot activations``.
    """

    kink: float | None = None
    init: str = "glorot"
    saturates: bool = False
    output_only: bool = False
    plot_range: tuple[float, float] = (-5.0, 5.0)
    plot_note: str | None = None


@dataclass(frozen=True)
class Function:
    """One function: how it is typed, differentiated, verified, computed, printed and taught.

    ``sympy`` builds the expression from all its arguments (a SymPy class, or a builder for sqrt
    and identity); ``arity`` is (fewest, most or None) typed arguments and ``defaults`` fill the
    missing trailing ones; ``derivative(*args)`` is g' with respect to the first argument in
    identity form and ``rule`` its name; ``elementary(*args)`` the rewrite the verification
    differentiates (None for SymPy's own functions); ``kernel`` the stable NumPy function (None
    for NumPy's own); ``text`` and ``latex`` the printed names (None: SymPy's own printing),
    further arguments printed as a subscript unless ``print_defaults`` is False and they are the
    defaults; ``parse``: typed in ``--expr``.
    """

    name: str
    sympy: Callable[..., sp.Expr] | None
    rule: str
    derivative: Callable[..., sp.Expr] | None = None
    elementary: Callable[..., sp.Expr] | None = None
    kernel: Callable[..., Any] | None = None
    text: str | None = None
    latex: str | None = None
    arity: tuple[int, int | None] = (1, 1)
    defaults: tuple[sp.Expr, ...] = ()
    print_defaults: bool = True
    aliases: tuple[str, ...] = ()
    parse: bool = True
    condition: bool = False
    mistakes: tuple[Mistake, ...] = ()
    activation: Activation | None = None

    def __call__(self, *args: sp.Expr) -> sp.Expr:
        """The expression g(args), with the defaults for missing trailing arguments.

        >>> FUNCTIONS["leaky_relu"](sp.Symbol("z"))
        leaky_relu(z, 1/100)
        """
        least = self.arity[0]
        missing = self.defaults[len(args) - least :] if len(args) >= least else ()
        return self.sympy(*args, *missing)

    def shown_parameters(self, args: tuple[sp.Expr, ...]) -> tuple[sp.Expr, ...]:
        """The arguments after the first that the printers show, as a subscript.

        >>> FUNCTIONS["leaky_relu"].shown_parameters((sp.Symbol("z"), sp.Rational(1, 100)))
        (1/100,)
        """
        rest = tuple(args[1:])
        return () if not self.print_defaults and rest == self.defaults else rest

    @property
    def custom(self) -> bool:
        """Whether symgrad defines the SymPy function (and so its printing and kernel)."""
        return self.elementary is not None and isinstance(self.sympy, type)


# --- NumPy kernels (NumPy is imported on first call: the core stays SymPy-only at import time)


def _arr(z: Any) -> Any:
    import numpy as np

    return np.asarray(z, dtype=np.float64)


def _out(a: Any) -> Any:
    """A Python float for a 0-d result, the array otherwise."""
    import numpy as np

    return float(a) if np.ndim(a) == 0 else a


def _sigmoid_kernel(z: Any) -> Any:
    """The logistic function 1 / (1 + exp(-z)), computed without overflow.

    Uses ``exp(-|z|)``, which lies in (0, 1]: ``1 / (1 + e)`` for ``z >= 0`` and ``e / (1 + e)``
    otherwise.

    >>> _sigmoid_kernel([-1e4, -1.0, 0.0, 1.0, 1e4]).round(6).tolist()
    [0.0, 0.268941, 0.5, 0.731059, 1.0]
    """
    import numpy as np

    z = _arr(z)
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(z))
    return _out(np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)))


def _softplus_kernel(z: Any) -> Any:
    """log(1 + exp(z)) as ``max(z, 0) + log1p(exp(-|z|))``: never overflows, exact for large |z|.

    >>> _softplus_kernel([-1e4, 0.0, 1e4]).tolist()
    [0.0, 0.6931471805599453, 10000.0]
    """
    import numpy as np

    z = _arr(z)
    with np.errstate(under="ignore"):
        return _out(np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z))))


_CONSTANT: dict[float, Any] = {}  # value -> one shared, read-only buffer (see constant_array)


def constant_array(value: float, shape: tuple[int, ...]) -> Any:
    """A read-only float64 array of ``shape`` filled with ``value``: a view of one buffer per
    value, shared by every caller and grown as needed (no fresh array per call: relu's zeros,
    the ones of a BLAS sum).

    >>> a = constant_array(0.0, (2, 3))
    >>> a.tolist(), a.flags.writeable
    ([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], False)
    """
    flat = len(shape) == 1  # the hot case (a BLAS sum per gradient): no reshape
    size = shape[0] if flat else math.prod(shape)
    buf = _CONSTANT.get(value)
    if buf is None or buf.size < size:
        import numpy as np  # only to grow (core imports NumPy lazily)

        buf = np.full(size, value, dtype=np.float64)
        buf.flags.writeable = False
        _CONSTANT[value] = buf
    part = buf if buf.size == size else buf[:size]
    return part if flat else part.reshape(shape)


def _relu_kernel(z: Any) -> Any:
    """max(0, z); NaN stays NaN.

    Against an array of zeros rather than the scalar 0: NumPy 2.4's ``maximum`` with a scalar
    operand runs a loop 2.5 times slower (measured: 27 us against 11 us on a 32 x 1797 layer).

    >>> _relu_kernel([-2.0, 0.0, 3.0]).tolist()
    [0.0, 0.0, 3.0]
    >>> big = _relu_kernel([[-1.5, 2.0, float("nan")] * 2000])  # the zeros array's path
    >>> big.shape, big[0, :3].tolist(), _relu_kernel(-1.0)
    ((1, 6000), [0.0, 2.0, nan], 0.0)
    """
    import numpy as np

    z = _arr(z)
    if z.size < 4096:  # small: the scalar loop costs less than finding the zeros
        return _out(np.maximum(z, 0.0))
    return np.maximum(z, constant_array(0.0, z.shape))


def _leaky_relu_kernel(z: Any, alpha: float = 0.01) -> Any:
    """z for z > 0, ``alpha * z`` otherwise.

    >>> _leaky_relu_kernel([-2.0, 0.0, 3.0], alpha=0.1).tolist()
    [-0.2, 0.0, 3.0]
    """
    import numpy as np

    z = _arr(z)
    return _out(np.where(z > 0, z, float(alpha) * z))


def _erf_kernel(z: Any) -> Any:
    """The error function, elementwise (NumPy has none): ``math.erf`` on every entry.

    >>> round(_erf_kernel(1.0), 12), _erf_kernel([-1e4, 1e4]).tolist()
    (0.84270079295, [-1.0, 1.0])
    """
    import numpy as np

    return _out(np.vectorize(math.erf, otypes=[np.float64])(_arr(z)))


def _huber_kernel(u: Any, delta: float = 1.0) -> Any:
    """u^2/2 for |u| <= delta, delta (|u| - delta/2) otherwise (PyTorch's HuberLoss, unreduced).

    >>> _huber_kernel([-3.0, 0.5, 1e300], 1.0).tolist()
    [2.5, 0.125, 1e+300]
    """
    import numpy as np

    u = _arr(u)
    a = np.abs(u)
    with np.errstate(over="ignore"):
        small = 0.5 * np.minimum(a, delta) ** 2
    return _out(np.where(a <= delta, small, delta * (a - 0.5 * delta)))


# --- SymPy functions made from their record


def _sympy_function(
    name: str,
    nargs: int,
    evaluate: Callable[..., sp.Expr | None] = lambda *args: None,
    doc: str = "",
) -> type[sp.Function]:
    """The SymPy function of the record ``FUNCTIONS[name]``: ``fdiff`` is the record's derivative
    (first argument) or ``sympy.diff`` of its elementary rewrite (further arguments); numerical
    evaluation goes through the rewrite; ``evaluate(*args)`` gives exact values (None: stay
    unevaluated)."""

    def fdiff(self, argindex=1):
        record = FUNCTIONS[name]
        if argindex == 1:
            return record.derivative(*self.args)
        return sp.diff(record.elementary(*self.args), self.args[argindex - 1])

    def eval(cls, *args):  # noqa: A001 - SymPy API
        return evaluate(*args)

    def _eval_evalf(self, prec):
        return FUNCTIONS[name].elementary(*self.args)._eval_evalf(prec)

    def _eval_is_real(self):
        return True if all(a.is_real for a in self.args) else None

    namespace = {
        "__doc__": doc,
        "__module__": __name__,
        "nargs": nargs,
        "eval": classmethod(eval),
        "fdiff": fdiff,
        "_eval_evalf": _eval_evalf,
        "_eval_is_real": _eval_is_real,
    }
    return type(name, (sp.Function,), namespace)


def _positive_is_identity(z: sp.Expr, *rest: sp.Expr) -> sp.Expr | None:
    """g(z) = z for z > 0 and g(0) = 0 (relu, leaky_relu, elu)."""
    if z.is_positive or z.is_zero:
        return z
    return None


def _step(above: sp.Expr, below: sp.Expr, z: sp.Expr) -> sp.Expr:
    """``above`` for z > 0, ``below`` otherwise (z = 0 takes ``below``, as PyTorch)."""
    return sp.Piecewise((above, z > 0), (below, True))


def _where(condition: sp.Basic, a: sp.Expr, b: sp.Expr, evaluate: bool = True) -> sp.Expr:
    """``a`` where ``condition`` holds, ``b`` otherwise: what symgrad prints as {a if ...}."""
    return sp.Piecewise((a, condition), (b, True), evaluate=evaluate)


def _huber_prime(u: sp.Expr, delta: sp.Expr) -> sp.Expr:
    """huber'(u) = u for |u| <= delta, delta sign(u) otherwise (u clipped to [-delta, delta])."""
    return sp.Piecewise((u, sp.Abs(u) <= delta), (delta * sp.sign(u), True))


def _huber_elementary(u: sp.Expr, delta: sp.Expr) -> sp.Expr:
    return sp.Piecewise((u**2 / 2, sp.Abs(u) <= delta), (delta * (sp.Abs(u) - delta / 2), True))


sigmoid = _sympy_function(
    "sigmoid",
    1,
    # a number only: asking a symbolic sum whether it is zero walks SymPy's assumptions over
    # every term (6 ms for a 31-term weighted sum, each time the value is built anew)
    evaluate=lambda z: sp.S.Half if z.is_number and z.is_zero else None,
    doc="The logistic sigmoid 1 / (1 + exp(-z)); its derivative is sigmoid(z) (1 - sigmoid(z)).",
)
relu = _sympy_function(
    "relu",
    1,
    evaluate=lambda z: sp.S.Zero if z.is_nonpositive else _positive_is_identity(z),
    doc="max(0, z); derivative 1 for z > 0 and 0 otherwise: relu'(0) = 0, as PyTorch.",
)
leaky_relu = _sympy_function(
    "leaky_relu",
    2,
    evaluate=lambda z, alpha: (
        alpha * z if z.is_nonpositive and alpha.is_number else _positive_is_identity(z)
    ),
    doc="z for z > 0, alpha z otherwise; derivative 1 for z > 0 and alpha otherwise: "
    "leaky_relu'(0) = alpha, as PyTorch.",
)
softplus = _sympy_function(
    "softplus", 1, doc="log(1 + exp(z)); its derivative is sigmoid(z)."
)
huber = _sympy_function(
    "huber",
    2,
    evaluate=lambda u, delta: sp.S.Zero if u.is_zero else None,
    doc="PyTorch's Huber loss of a residual u: u^2/2 for |u| <= delta, delta (|u| - delta/2) "
    "otherwise; its derivative is u for |u| <= delta and delta sign(u) otherwise (continuous).",
)


elu = _sympy_function(
    "elu",
    2,
    evaluate=_positive_is_identity,
    doc="ELU (alpha = 1 by default, as PyTorch): z for z > 0, alpha (exp(z) - 1) otherwise. Its "
    "derivative is 1 for z > 0 and alpha exp(z) = elu(z) + alpha otherwise; at the kink "
    "elu'(0) = alpha (the z <= 0 branch, as PyTorch), so for alpha = 1 both sides agree: 1.",
)


def _elu_kernel(z: Any, alpha: float = 1.0) -> Any:
    """z for z > 0, ``alpha * expm1(z)`` otherwise (exact near 0, no overflow for large z).

    >>> _elu_kernel([-1e4, -1.0, 0.0, 2.0]).round(6).tolist()
    [-1.0, -0.632121, 0.0, 2.0]
    """
    import numpy as np

    z = _arr(z)
    with np.errstate(under="ignore"):
        below = float(alpha) * np.expm1(np.minimum(z, 0.0))
    return _out(np.where(z > 0, z, below))


silu = _sympy_function(
    "silu",
    1,
    evaluate=lambda z: sp.S.Zero if z.is_zero else None,
    doc="SiLU (swish): z sigmoid(z). Its derivative is sigmoid(z) (1 + z (1 - sigmoid(z))), "
    "written silu(z) + sigmoid(z) (1 - silu(z)); smooth, no kink.",
)


def _silu_kernel(z: Any) -> Any:
    """z sigmoid(z) with the stable sigmoid: -0.0 far left, z far right.

    >>> _silu_kernel([-1e4, 0.0, 1.0, 1e4]).round(6).tolist()
    [-0.0, 0.0, 0.731059, 10000.0]
    """
    z = _arr(z)
    return _out(z * _arr(_sigmoid_kernel(z)))


gelu = _sympy_function(
    "gelu",
    1,
    evaluate=lambda z: sp.S.Zero if z.is_zero else None,
    doc="GELU, exact (PyTorch's approximate='none'): z Phi(z) = z (1 + erf(z / sqrt 2)) / 2 with "
    "Phi the standard normal CDF. Its derivative is Phi(z) + z phi(z), phi the normal density; "
    "smooth, no kink.",
)


def _gelu_kernel(z: Any) -> Any:
    """z Phi(z) with Phi(z) = erfc(-z / sqrt 2) / 2 (``math.erfc`` on every entry): accurate
    where Phi is tiny (no 1 + erf cancellation), -0.0 far left, z far right.

    >>> _gelu_kernel([-1e4, 0.0, 1.0, 1e4]).round(6).tolist()
    [-0.0, 0.0, 0.841345, 10000.0]
    """
    import numpy as np

    z = _arr(z)
    with np.errstate(under="ignore"):
        cdf = 0.5 * np.vectorize(math.erfc, otypes=[np.float64])(-z / math.sqrt(2.0))
    return _out(z * cdf)


def _records(*records: Function) -> Mapping[str, Function]:
    return MappingProxyType({r.name: r for r in records})


#: Every function, by the name typed in ``--expr``; the order is the order of every list shown.
FUNCTIONS: Mapping[str, Function] = _records(
    Function("exp", sp.exp, "exp rule", derivative=sp.exp),
    Function("log", sp.log, "log rule", derivative=lambda z: 1 / z, aliases=("ln",)),
    Function("sqrt", sp.sqrt, "power rule", derivative=lambda z: 1 / (2 * sp.sqrt(z))),
    Function("abs", sp.Abs, "abs rule (piecewise)", derivative=sp.sign),
    Function("sin", sp.sin, "sin rule", derivative=sp.cos),
    Function("cos", sp.cos, "cos rule", derivative=lambda z: -sp.sin(z)),
    Function("tan", sp.tan, "tan rule", derivative=lambda z: 1 + sp.tan(z) ** 2),
    Function(
        "erf",
        sp.erf,
        "erf rule",
        derivative=lambda z: 2 * sp.exp(-(z**2)) / sp.sqrt(sp.pi),
        kernel=_erf_kernel,
    ),
    Function("sign", sp.sign, "sign rule (piecewise)"),
    Function(
        "Heaviside",
        sp.Heaviside,
        "step rule (piecewise)",
        elementary=lambda z, h0: sp.Piecewise((1, z > 0), (h0, sp.Eq(z, 0)), (0, True)),
        text="step",
        latex="H",
        arity=(1, 2),
        defaults=(sp.S.Zero,),
        print_defaults=False,
        aliases=("step",),
    ),
    Function("where", _where, "piecewise rule", arity=(3, 3), condition=True),
    Function("max", sp.Max, "max rule (piecewise)", arity=(2, None)),
    Function("min", sp.Min, "min rule (piecewise)", arity=(2, None)),
    Function(
        "sigmoid",
        sigmoid,
        "sigmoid identity",
        derivative=lambda z: sigmoid(z) * (1 - sigmoid(z)),
        elementary=lambda z: 1 / (1 + sp.exp(-z)),
        kernel=_sigmoid_kernel,
        text="σ",
        latex=r"\sigma",
        mistakes=(Mistake("sigma_prime_as_sigma", sigmoid, "σ'(z) = σ(z)·(1 − σ(z)), not σ(z)."),),
        activation=Activation(saturates=True),
    ),
    Function(
        "tanh",
        sp.tanh,
        "tanh identity",
        derivative=lambda z: 1 - sp.tanh(z) ** 2,
        latex=r"\tanh",
        mistakes=(
            Mistake("tanh_prime_as_tanh", sp.tanh, "tanh'(z) = 1 − tanh(z)², not tanh(z)."),
            Mistake(
                "tanh_prime_missing_square",
                lambda z: 1 - sp.tanh(z),
                "tanh'(z) = 1 − tanh(z)²: the square is missing.",
            ),
        ),
        activation=Activation(saturates=True),
    ),
    Function(
        "relu",
        relu,
        "ReLU rule (piecewise)",
        derivative=lambda z: _step(1, 0, z),
        elementary=lambda z: _step(z, 0, z),
        kernel=_relu_kernel,
        text="ReLU",
        latex=r"\operatorname{ReLU}",
        mistakes=(
            Mistake(
                "relu_prime_as_relu",
                relu,
                "ReLU'(z) is 1 for z > 0 and 0 otherwise, not ReLU(z).",
            ),
        ),
        activation=Activation(kink=0.0, init="he"),
    ),
    Function(
        "leaky_relu",
        leaky_relu,
        "leaky ReLU rule (piecewise)",
        derivative=lambda z, alpha: _step(1, alpha, z),
        elementary=lambda z, alpha: _step(z, alpha * z, z),
        kernel=_leaky_relu_kernel,
        text="LeakyReLU",
        latex=r"\operatorname{LeakyReLU}",
        arity=(1, 2),
        defaults=(sp.Rational(1, 100),),
        activation=Activation(kink=0.0, init="he", plot_note="slope 0.01 for z ≤ 0"),
    ),
    Function(
        "softplus",
        softplus,
        "softplus rule",
        derivative=sigmoid,
        elementary=lambda z: sp.log(1 + sp.exp(z)),
        kernel=_softplus_kernel,
        text="softplus",
        latex=r"\operatorname{softplus}",
    ),
    Function(
        "elu",
        elu,
        "ELU identity (piecewise)",
        derivative=lambda z, alpha: _step(1, elu(z, alpha) + alpha, z),
        elementary=lambda z, alpha: _step(z, alpha * (sp.exp(z) - 1), z),
        kernel=_elu_kernel,
        text="ELU",
        latex=r"\operatorname{ELU}",
        arity=(1, 2),
        defaults=(sp.S.One,),
        print_defaults=False,
        mistakes=(
            Mistake(
                "elu_prime_as_elu",
                elu,
                "ELU'(z) is 1 for z > 0 and ELU(z) + α otherwise, not ELU(z).",
            ),
            Mistake(
                "elu_prime_missing_alpha",
                lambda z, alpha: _step(1, elu(z, alpha), z),
                "ELU'(z) = α·eᶻ = ELU(z) + α for z ≤ 0: the + α is missing.",
            ),
        ),
        activation=Activation(init="he"),
    ),
    Function(
        "silu",
        silu,
        "SiLU identity",
        derivative=lambda z: silu(z) + sigmoid(z) * (1 - silu(z)),
        elementary=lambda z: z / (1 + sp.exp(-z)),
        kernel=_silu_kernel,
        text="SiLU",
        latex=r"\operatorname{SiLU}",
        mistakes=(
            Mistake(
                "silu_prime_as_sigma",
                sigmoid,
                "SiLU(z) = z·σ(z) is a product: SiLU'(z) = σ(z) + z·σ(z)·(1 − σ(z)), "
                "not σ(z) alone.",
            ),
        ),
        activation=Activation(init="he"),
    ),
    Function(
        "gelu",
        gelu,
        "GELU rule (z Φ(z))",
        derivative=lambda z: (1 + sp.erf(z / sp.sqrt(2))) / 2
        + z * sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi),
        elementary=lambda z: z * (1 + sp.erf(z / sp.sqrt(2))) / 2,
        kernel=_gelu_kernel,
        text="GELU",
        latex=r"\operatorname{GELU}",
        mistakes=(
            Mistake(
                "gelu_prime_as_cdf",
                lambda z: (1 + sp.erf(z / sp.sqrt(2))) / 2,
                "GELU(z) = z·Φ(z) is a product: GELU'(z) = Φ(z) + z·φ(z), not Φ(z) alone.",
            ),
        ),
        activation=Activation(init="he"),
    ),
    Function(
        "huber",
        huber,
        "huber rule (piecewise)",
        derivative=_huber_prime,
        elementary=_huber_elementary,
        kernel=_huber_kernel,
        text="Huber",
        latex=r"\operatorname{Huber}",
        arity=(1, 2),
        defaults=(sp.S.One,),
        print_defaults=False,
    ),
    Function("identity", lambda z: z, "identity", derivative=lambda z: sp.S.One, parse=False,
             activation=Activation()),
    Function("softmax", None, "softmax rule", latex=r"\operatorname{softmax}", parse=False,
             activation=Activation(output_only=True)),
)


def by_class() -> dict[type, Function]:
    """The records of SymPy function classes, by class (for rule names, printing and check).

    >>> by_class()[sigmoid].name
    'sigmoid'
    """
    return {r.sympy: r for r in FUNCTIONS.values() if isinstance(r.sympy, type)}


def activations(*, output: bool = False) -> tuple[str, ...]:
    """The activation names: those for any layer, then (``output=True``) the output-only ones.

    >>> activations()
    ('sigmoid', 'tanh', 'relu', 'leaky_relu', 'elu', 'silu', 'gelu', 'identity')
    >>> activations(output=True)[-1]
    'softmax'
    """
    units = [r for r in FUNCTIONS.values() if r.activation is not None]
    names = tuple(r.name for r in units if not r.activation.output_only)
    return names + tuple(r.name for r in units if r.activation.output_only and output)


_CUSTOM = {r.sympy: r.elementary for r in FUNCTIONS.values() if r.custom}


def elementary(expr: sp.Expr) -> sp.Expr:
    """Rewrite symgrad's functions into exp, log, erf and Piecewise, the form ``sympy.diff``
    checks against.

    Only symgrad's own functions are rewritten, each by its record's ``elementary``; SymPy's
    functions stay as they are (a ``rewrite(exp)`` would turn cos(a) into complex exponentials).

    >>> z, a = sp.Symbol("z"), sp.Symbol("a", real=True)
    >>> elementary(sigmoid(z) + relu(z))
    Piecewise((z, z > 0), (0, True)) + 1/(1 + exp(-z))
    >>> elementary(softplus(sp.cos(a)))
    log(exp(cos(a)) + 1)
    """
    if not expr.has(*_CUSTOM):  # a traversal, cheaper than a rebuild
        return expr
    return expr.replace(lambda e: isinstance(e, tuple(_CUSTOM)), _rewrite)


def _rewrite(e: sp.Function) -> sp.Expr:
    """The record's elementary form of ``e`` (a subclass takes its registered base's form)."""
    cls = next(c for c in type(e).__mro__ if c in _CUSTOM)
    return _CUSTOM[cls](*e.args)

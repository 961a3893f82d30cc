"""symgrad.core.parse: typed math to SymPy, exactly, and nothing but ParseError on anything else."""

from __future__ import annotations

import builtins
import string
import time

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symgrad.core.errors import ParseError
from symgrad.core.functions import leaky_relu, relu, sigmoid, softplus
from symgrad.core.parse import KNOWN_FUNCTIONS, parse, parse_assignments, parse_names

a, b, c, w, x, y, z = sp.symbols("a b c w x y z", real=True)
yhat, lam, alpha = sp.symbols("yhat lambda alpha", real=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3*(a + b*c)", 3 * (a + b * c)),
        ("(w*x + b - y)^2", (w * x + b - y) ** 2),
        ("(w*x + b - y)**2", (w * x + b - y) ** 2),
        ("sigmoid(w*x+b)", sigmoid(w * x + b)),
        ("log(1 - yhat)", sp.log(1 - yhat)),
        ("ln(x) + exp(x) + sqrt(x) + abs(x)", sp.log(x) + sp.exp(x) + sp.sqrt(x) + sp.Abs(x)),
        ("sin(x)*cos(x)/tan(x) - tanh(x)", sp.sin(x) * sp.cos(x) / sp.tan(x) - sp.tanh(x)),
        ("relu(z) + softplus(z)", relu(z) + softplus(z)),
        ("leaky_relu(z)", leaky_relu(z, sp.Rational(1, 100))),
        ("leaky_relu(z, 0.2)", leaky_relu(z, sp.Rational(1, 5))),
        ("max(a, b) + min(a, b, c)", sp.Max(a, b) + sp.Min(a, b, c)),
        # precedence
        ("-a^2", -(a**2)),
        ("-2^2", sp.Integer(-4)),
        ("a - b - c", (a - b) - c),
        ("a/b/c", (a / b) / c),
        ("a^b^c", a ** (b**c)),
        ("2^3^2", sp.Integer(512)),
        ("2^-1", sp.Rational(1, 2)),
        ("a*b^2 + c", a * b**2 + c),
        # exact numbers
        ("0.1", sp.Rational(1, 10)),
        ("0.1 + 0.2", sp.Rational(3, 10)),
        ("1e-3", sp.Rational(1, 1000)),
        ("2.5E2", sp.Integer(250)),
        (".5*x", x / 2),
        ("1_000", sp.Integer(1000)),
        # names
        ("y_hat - yhat", sp.Integer(0)),
        ("lam + lambda_", 2 * lam),
        ("alpha*x_1", alpha * sp.Symbol("x_1", real=True)),
        ("  a +  b  ", a + b),
    ],
)
def test_known_inputs_equal_what_sympy_builds(text, expected):
    assert parse(text) == expected


def test_symbols_are_real_and_render_as_the_lecture_writes_them():
    assert parse("x") == sp.Symbol("x", real=True)
    assert parse("x") != sp.Symbol("x")
    assert all(s.is_real for s in parse("w*x_1 + y_hat + lam + sigma").free_symbols)
    assert sp.latex(parse("y_hat")) == r"\hat{y}"
    assert sp.latex(parse("lam")) == sp.latex(parse("lambda_")) == r"\lambda"
    assert sp.latex(parse("alpha + beta")) == r"\alpha + \beta"
    assert sp.latex(parse("x_1")) == "x_{1}"


def test_unevaluated_keeps_the_typed_structure_and_evaluates_to_the_same():
    typed = parse("3*(a + b*c)", evaluate=False)
    inner = sp.Add(a, sp.Mul(b, c, evaluate=False), evaluate=False)
    assert typed == sp.Mul(3, inner, evaluate=False)
    assert typed != parse("3*(a + b*c)")
    for text in ["(w*x + b - y)^2", "a - b/c", "-(a + b)", "sigmoid(2*x) + leaky_relu(x)"]:
        assert parse(text, evaluate=False).doit() == parse(text)


# --- property tests -------------------------------------------------------------------------

NAMES = [("a", "a"), ("w", "w"), ("x_1", "x_1"), ("alpha", "alpha"), ("y_hat", "yhat"),
         ("lam", "lambda")]
UNARY = {"exp": sp.exp, "log": sp.log, "ln": sp.log, "sqrt": sp.sqrt, "abs": sp.Abs,
         "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "tanh": sp.tanh, "sigmoid": sigmoid,
         "relu": relu, "softplus": softplus}
BAD = (sp.zoo, sp.nan, sp.oo, -sp.oo, sp.I)


def _ok(expr: sp.Expr) -> bool:
    """What the parser accepts at every node: finite, real, not undefined."""
    return not expr.has(*BAD)


def _leaf():
    return st.one_of(
        st.sampled_from(NAMES).map(lambda n: (n[0], sp.Symbol(n[1], real=True), 0)),
        st.integers(0, 12).map(lambda n: (str(n), sp.Integer(n), 0)),
        st.integers(1, 99).map(lambda n: (f"{n // 10}.{n % 10}", sp.Rational(n, 10), 0)),
    )


def _binary(op, left, right):
    (lt, le, ld), (rt, re_, rd) = left, right
    if op == "/" and re_.is_zero:
        return None
    value = {"+": le + re_, "-": le - re_, "*": le * re_, "/": le / re_}[op]
    return f"({lt}) {op} ({rt})", value, max(ld, rd)


def _power(base, k, caret):
    text, value, depth = base
    if depth >= 2 or (value.is_zero and k < 0):
        return None
    return f"({text}){caret}{k}" if k >= 0 else f"({text}){caret}({k})", value**k, depth + 1


def _call(name, arg):
    text, value, depth = arg
    constant = not value.free_symbols
    if constant and not (value.is_Rational and abs(value.p) < 2**32 and value.q < 2**32):
        return None  # constants in functions must be plain numbers
    return f"{name}({text})", UNARY[name](value), depth


def _many(name, args):
    if any(not v.free_symbols and not v.is_Rational for _, v, _ in args):
        return None
    function = sp.Max if name == "max" else sp.Min
    return f"{name}({', '.join(t for t, _, _ in args)})", function(*(v for _, v, _ in args)), max(
        d for _, _, d in args
    )


def _extend(children):
    return st.one_of(
        st.builds(_binary, st.sampled_from("+-*/"), children, children),
        children.map(lambda n: (f"-({n[0]})", -n[1], n[2])),
        st.builds(_power, children, st.integers(-2, 3), st.sampled_from(["^", "**"])),
        st.builds(_call, st.sampled_from(sorted(UNARY)), children),
        st.builds(
            _many, st.sampled_from(["max", "min"]), st.lists(children, min_size=2, max_size=3)
        ),
    ).filter(lambda n: n is not None and _ok(n[1]))


EXPRESSIONS = st.recursive(_leaf(), _extend, max_leaves=8)


# hypothesis sometimes describes this recursive strategy in a message (46 kB) and warns that
# the description is large: its own bookkeeping, not a result of the test
@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(EXPRESSIONS)
def test_well_formed_expressions_parse_to_what_sympy_builds(case):
    text, expected, _ = case
    assert parse(text) == expected


MATH = string.ascii_letters[:8] + "0123456789.+-*/^(), _eE"
TOKENS = ["exp(", "log(", "sqrt(", "relu(", "leaky_relu(", "max(", "sigmoid(", "abs(", "(", ")",
          ",", "x", "y_hat", "lam", "0", "1", "2", "0.5", "1e3", "-", "+", "*", "/", "^", "**",
          " ", "9", "999", "x_1", ".", "e", "lambda", "'", "[", "]", "=", "<", "and", "if", "."]


def _only_parse_errors(text: str) -> None:
    try:
        parse(text)
    except ParseError as e:
        assert "\n" not in str(e) and str(e)
        assert e.column is None or 1 <= e.column <= len(text) + 1


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_raises_nothing_but_parse_error(text):
    _only_parse_errors(text)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=MATH, max_size=40))
def test_math_like_text_raises_nothing_but_parse_error(text):
    _only_parse_errors(text)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join))
def test_token_soup_raises_nothing_but_parse_error(text):
    _only_parse_errors(text)


# --- hostile input ----------------------------------------------------------------------------

HOSTILE = [
    ("__import__('os').system('touch CANARY')", "calling"),
    ("__import__('os')", "unknown function '__import__'"),
    ("().__class__.__bases__[0].__subclasses__()", "not allowed"),
    ("open('CANARY','w')", "unknown function 'open'"),
    ("exec('open(\"CANARY\",\"w\")')", "unknown function 'exec'"),
    ("eval('1')", "unknown function 'eval'"),
    ("lambda: 1", "lambda is not allowed"),
    ("[i for i in x]", "comprehension is not allowed"),
    ("(i for i in x)", "generator expression is not allowed"),
    ("'abc'", "string is not allowed"),
    ("b'abc'", "bytes literal is not allowed"),
    ("f'{a}'", "f-string is not allowed"),
    ("a.b", "attribute access (a.b) is not allowed"),
    ("a[0]", "indexing (a[i]) is not allowed"),
    ("f(x=1)", "unknown function 'f'"),
    ("exp(x, base=2)", "keyword argument is not allowed in exp"),
    ("exp(*a)", "starred argument (*a) is not allowed"),
    ("*a", "invalid syntax"),
    ("a if b else c", "conditional (a if b else c) is not allowed"),
    ("a < b", "comparison"),
    ("a == b", "comparison"),
    ("a and b", "'and' / 'or' is not allowed"),
    ("not a", "'not' is not allowed"),
    ("~a", "'~' is not allowed"),
    ("a % b", "'%' is not allowed"),
    ("a // b", "'//' is not allowed"),
    ("a @ b", "'@' is not allowed"),
    ("(a := 1)", "assignment (:=) is not allowed"),
    ("a, b", "tuple"),
    ("[a]", "list is not allowed"),
    ("{a: 1}", "dict is not allowed"),
    ("True", "True / False is not allowed"),
    ("None", "None is not allowed"),
    ("1j", "complex number"),
    ("exp", "'exp' is a function"),
    ("__class__", "not a valid name"),
    ("a # comment", "'#' is not allowed"),
    ("a\nb", "'\\n' is not allowed"),
    ("9**9**9**9", "too large"),
    ("2**10**10", "too large"),
    ("9^9^9^9", "too large"),
    ("(9**999)**999", "too large"),
    ("1e999999999", "out of range"),
    ("x**sqrt(2)", "must be rational"),
    ("sqrt(2**100 + 1)", "roots of numbers over"),
    ("relu(exp(exp(exp(100))))", "must be a plain number like 2 or -1/3, or a real number from"),
    ("max(exp(exp(exp(100))), 1)", "a real number from 1e-20 to 1e12"),
    ("relu(sin(1)^2 + cos(1)^2 - 1)", "a real number from 1e-20 to 1e12"),
    ("(" * 10000 + "a" + ")" * 10000, "too long"),
    ("a" * 100_000, "too long"),
    ("(" * 150 + "a" + ")" * 150, "nested parentheses"),
    ("-" * 1999 + "a", "nested in one another"),
    ("+".join(["a"] * 999), "nested in one another"),
    ("1/0", "division by zero"),
    ("0^-1", "division by zero"),
    ("log(0)", "undefined"),
    ("sqrt(-1)", "not real"),
    ("", "empty"),
    ("   ", "empty"),
]


@pytest.mark.parametrize(("text", "fragment"), HOSTILE, ids=lambda v: repr(v)[:40])
def test_hostile_input_is_refused_quickly_and_does_nothing(text, fragment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    start = time.perf_counter()
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert time.perf_counter() - start < 1.0
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "CANARY").exists()
    assert list(tmp_path.iterdir()) == []


def test_the_parser_never_reaches_eval_or_exec(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec called")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(sp, "sympify", forbidden)
    monkeypatch.setattr(sp, "parse_expr", forbidden)
    assert parse("(w*x + b - y)^2 + sigmoid(x)") == (w * x + b - y) ** 2 + sigmoid(x)
    for text, _ in HOSTILE[:12]:
        with pytest.raises(ParseError):
            parse(text)


# --- error messages -----------------------------------------------------------------------------


def test_syntax_error_has_the_column_and_a_caret_under_it():
    with pytest.raises(ParseError) as caught:
        parse("a + * b")
    e = caught.value
    assert e.column == 5 and "column 5" in str(e)
    assert e.caret() == "  a + * b\n      ^"


def test_columns_count_in_the_input_despite_the_rewrite_of_caret_to_stars():
    text = "a^2 + b^2 + c)"
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert caught.value.column == text.index(")") + 1
    with pytest.raises(ParseError) as caught:
        parse("x^2 + foo(x)")
    assert caught.value.column == 7
    with pytest.raises(ParseError) as caught:
        parse("  (a")
    assert caught.value.column == 3


def test_unknown_function_is_named_and_the_known_ones_listed():
    with pytest.raises(ParseError) as caught:
        parse("2*softmax(x)")
    message = str(caught.value)
    assert "'softmax'" in message
    assert all(name in message for name in KNOWN_FUNCTIONS)
    assert caught.value.column == 3


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("exp(a, b)", "exp() takes 1 argument, got 2"),
        ("sigmoid()", "sigmoid() takes 1 argument, got 0"),
        ("leaky_relu(a, b, c)", "leaky_relu() takes 1 or 2 arguments, got 3"),
        ("max(a)", "max() takes at least 2 arguments, got 1"),
    ],
)
def test_wrong_argument_counts_name_the_function(text, fragment):
    with pytest.raises(ParseError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        parse(text)


def test_lambda_keyword_gets_a_hint():
    with pytest.raises(ParseError, match="write lam or lambda_"):
        parse("loss + lambda*w^2")


def test_known_functions_all_parse():
    for name in KNOWN_FUNCTIONS:
        args = {"max": "a, a + 1", "min": "a, a + 1", "where": "a > 0, a, 1"}.get(name, "a")
        assert parse(f"{name}({args})").free_symbols == {a}


# --- --wrt and --at ---------------------------------------------------------------------------


def test_parse_names():
    assert parse_names("w, b") == [w, b]
    assert parse_names("y_hat,lam") == [yhat, lam]
    for bad, column in [("w,,b", 3), ("w, exp", 4), ("w, 2x", 4), ("w, w", 4), ("", None)]:
        with pytest.raises(ParseError) as caught:
            parse_names(bad)
        assert caught.value.column == column


def test_parse_assignments():
    assert parse_assignments("a=1, b=-0.5,c = 1/3, x_1=2^3") == {
        a: 1, b: sp.Rational(-1, 2), c: sp.Rational(1, 3), sp.Symbol("x_1", real=True): 8
    }
    assert all(isinstance(v, sp.Rational) for v in parse_assignments("a=0.1").values())
    for bad, fragment, column in [
        ("a=1,a=2", "twice", 5),
        ("a", "name=value", 1),
        ("a=x", "must be a number", 3),
        ("a=1/0", "division by zero", 5),
        ("a=1, b=)", "invalid syntax", 8),
        ("exp=1", "is a function", 1),
        ("a=1,", "empty item", 5),
    ]:
        with pytest.raises(ParseError, match=fragment) as caught:
            parse_assignments(bad)
        assert caught.value.column == column, bad

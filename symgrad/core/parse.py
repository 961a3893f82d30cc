"""Parse user-typed math into SymPy safely: a whitelist walk over Python's ``ast``, never ``eval``.

>>> parse("3*(a + b*c)")  # SymPy itself distributes a number over a sum
3*a + 3*b*c
>>> parse("(w*x + b - y)^2")
(b + w*x - y)**2
>>> parse("log(1 - y_hat) + 0.1*lam")
lambda/10 + log(1 - yhat)

``^`` and ``**`` both mean power. Decimals are exact (``0.1`` is ``1/10``). Every name becomes
``Symbol(name, real=True)``, with three spellings rewritten so SymPy prints them nicely:

* ``y_hat`` and ``yhat`` are both ``yhat`` (printed as y with a hat); ``<name>_hat`` likewise,
  also with a subscript (``y_hat_i`` is ``yhat_i``);
* ``lambda`` is a Python keyword, so write ``lam`` or ``lambda_``: both become ``lambda`` (λ);
* Greek names (``alpha``, ``beta``, ``sigma``, ...) and subscripts (``x_1``) stay as typed.

``pi`` and ``e`` are ordinary names too; write ``exp(1)`` for e. Functions: see
:data:`KNOWN_FUNCTIONS`. A sum over the samples is ``sum(expr)`` or ``sum(expr, i)``: the index is
always ``i``, running from 1 to ``N`` (:data:`symgrad.core.graph.i`, :data:`symgrad.core.graph.N`),
and sums
do not nest. Sums are accepted only with ``sums=True`` (answers to ``symgrad check``):

>>> parse("(2/N)*sum((w*x_i + b - y_i)*x_i, i)", sums=True)
2*Sum(x_i*(b + w*x_i - y_i), (i, 1, N))/N

Anything else (attributes, strings, lambdas, comparisons, ...) raises a
:class:`~symgrad.core.errors.ParseError` with a 1-based ``column`` where one makes sense:

>>> try:
...     parse("2*x + y)")
... except ParseError as e:
...     print(e)
...     print(e.caret())
invalid syntax at column 8: unmatched ')'
  2*x + y)
         ^

Limits keep parsing fast on hostile input: at most ``MAX_LENGTH`` characters, ``MAX_DEPTH``
levels of nesting, numeric exponents within ``MAX_EXPONENT``, numbers of about ``MAX_BITS`` bits,
and roots only of numbers up to ``MAX_ROOT_BITS`` bits (SymPy factors them).
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable
from typing import NamedTuple

import sympy as sp

from symgrad.core.bounds import excess, moderate
from symgrad.core.errors import ParseError
from symgrad.core.functions import FUNCTIONS, Function
from symgrad.core.graph import N as SAMPLES
from symgrad.core.graph import i as INDEX

MAX_LENGTH = 2000
MAX_DEPTH = 100
MAX_EXPONENT = 1000
MAX_BITS = 1000
MAX_ROOT_BITS = 128

# typed name -> the function's record (the registry's functions typed in --expr, with aliases)
_FUNCTIONS: dict[str, Function] = {
    name: record
    for record in FUNCTIONS.values()
    if record.parse
    for name in (record.name, *record.aliases)
}
KNOWN_FUNCTIONS: tuple[str, ...] = tuple(sorted(_FUNCTIONS, key=str.lower))
#: ``sum(expr)`` / ``sum(expr, i)``: the sum over the samples i = 1..N (handled apart, see above).
SUM = "sum"
#: ``mean(expr)``: (1/N) sum(expr), the mean over the samples.
MEAN = "mean"

#: What symgrad prints, read back as typed text (one character or pair at a time; columns are
#: reported in the text as given): Σ and Σᵢ are sum, ŷ is yhat, ᵢ is _i, σ is sigmoid, · × −.
UNICODE = {
    "Σᵢ": "sum", "Σ": "sum", "ŷ": "yhat", "ᵢ": "_i", "σ": "sigmoid", "·": "*", "×": "*",
    "−": "-", "²": "**2", "λ": "lambda_", "η": "eta",
}

#: a character neither typed (printable ASCII but # and \\) nor, where sums are read, printed
_NOT_TYPED = re.compile(r"[^ -~]|[#\\]")
_NOT_TYPED_OR_PRINTED = re.compile(rf"[^ -~{''.join(UNICODE)}]|[#\\]")

_RENAMES = {"lam": "lambda", "lambda_": "lambda"}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_DECIMAL = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d+))?")

_NOT_ALLOWED: dict[type, str] = {
    ast.Attribute: "attribute access (a.b)",
    ast.Subscript: "indexing (a[i])",
    ast.Slice: "a slice",
    ast.Lambda: "lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.Compare: "a comparison (<, ==, ...) outside where(condition, a, b)",
    ast.BoolOp: "'and' / 'or'",
    ast.IfExp: "a conditional (a if b else c)",
    ast.NamedExpr: "assignment (:=)",
    ast.JoinedStr: "an f-string",
    ast.List: "a list",
    ast.Tuple: "a tuple (a, b)",
    ast.Set: "a set",
    ast.Dict: "a dict",
    ast.Starred: "a starred argument (*a)",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Not: "'not'",
    ast.Invert: "'~'",
    ast.Mod: "the operator '%'",
    ast.FloorDiv: "the operator '//'",
    ast.MatMult: "the operator '@'",
    ast.LShift: "the operator '<<'",
    ast.RShift: "the operator '>>'",
    ast.BitOr: "the operator '|'",
    ast.BitAnd: "the operator '&'",
    ast.BitXor: "the operator '^'",
    str: "a string",
    bytes: "a bytes literal",
    bool: "True / False",
    type(None): "None",
    type(Ellipsis): "'...'",
    complex: "a complex number (1j)",
}


def parse(
    text: str,
    *,
    evaluate: bool = True,
    sums: bool = False,
    rename: Callable[[str], str] | None = None,
) -> sp.Expr:
    """Parse ``text`` into a SymPy expression over real symbols; raise ParseError if it is not math.

    With ``evaluate=False`` the result keeps the typed structure (for computational graphs), in
    the form of SymPy's ``parse_expr(..., evaluate=False)``; the checks are the same either way.
    With ``sums=True``, ``sum(expr, i)`` is the sum over the samples (see the module docstring).
    ``rename`` maps each name as it is read (typed definitions give the data of a loss over
    samples their sample index: x is x_i).

    >>> parse("2^3^2"), parse("-a^2"), parse("1e-3")
    (512, -a**2, 1/1000)
    >>> parse("3*(a + b*c)", evaluate=False)
    3*(a + b*c)
    >>> parse("leaky_relu(z) + max(a, b, 0)")
    leaky_relu(z, 1/100) + Max(0, a, b)
    >>> parse("w*x + b", rename=lambda name: name if name in ("w", "b") else name + "_i")
    b + w*x_i
    >>> try:
    ...     parse("__import__('os')")
    ... except ParseError as e:
    ...     print(e)  # doctest: +ELLIPSIS
    unknown function '__import__'; known functions: abs, cos, ...
    """
    if len(text) > MAX_LENGTH:
        raise ParseError(f"input is too long ({len(text)} characters; the limit is {MAX_LENGTH})")
    expr = _Parser(text, evaluate, sums, rename).run()
    too_costly = excess(expr)
    if too_costly:
        raise ParseError(f"too costly to derive and check: {too_costly}", text=text)
    return expr


def parse_names(text: str) -> list[sp.Symbol]:
    """Parse a comma-separated list of names (``--wrt``) into real symbols, in order.

    >>> parse_names("w, b, y_hat")
    [w, b, yhat]
    """
    names: list[sp.Symbol] = []
    for part, start in _split(text, "names"):
        column = start + len(part) - len(part.lstrip()) + 1
        symbol = _symbol(part.strip(), text, column)
        if symbol in names:
            raise ParseError(f"'{part.strip()}' is listed twice", text=text, column=column)
        names.append(symbol)
    return names


def parse_assignments(text: str) -> dict[sp.Symbol, sp.Rational]:
    """Parse comma-separated ``name=number`` pairs (``--at``); numbers may be ``-0.5`` or ``1/3``.

    >>> parse_assignments("w=0.5, b=-1/3, x_1=2^3")
    {w: 1/2, b: -1/3, x_1: 8}
    """
    values: dict[sp.Symbol, sp.Rational] = {}
    for part, start in _split(text, "assignments"):
        name, equals, value = part.partition("=")
        column = start + len(name) - len(name.lstrip()) + 1
        if not equals:
            raise ParseError(f"expected name=value, got '{part.strip()}'", text=text, column=column)
        symbol = _symbol(name.strip(), text, column)
        if symbol in values:
            raise ParseError(f"'{name.strip()}' is given twice", text=text, column=column)
        offset = start + len(name) + 1
        try:
            number = parse(value)
        except ParseError as e:
            where = None if e.column is None else offset + e.column
            raise ParseError(f"value of {name.strip()}: {e}", text=text, column=where) from None
        if not isinstance(number, sp.Rational):
            raise ParseError(
                f"value of {name.strip()} must be a number like 2, -0.5 or 1/3, got {number}",
                text=text,
                column=offset + len(value) - len(value.lstrip()) + 1,
            )
        values[symbol] = number
    return values


def _split(text: str, what: str) -> list[tuple[str, int]]:
    """Split at commas into (part, 0-based start) pairs; refuse empty input and empty parts."""
    if len(text) > MAX_LENGTH:
        raise ParseError(f"input is too long ({len(text)} characters; the limit is {MAX_LENGTH})")
    if not text.strip():
        raise ParseError(f"empty list of {what}", text=text)
    parts, start = [], 0
    for part in text.split(","):
        if not part.strip():
            raise ParseError(f"empty item in the list of {what}", text=text, column=start + 1)
        parts.append((part, start))
        start += len(part) + 1
    return parts


def _symbol(
    name: str, text: str, column: int | None, rename: Callable[[str], str] | None = None
) -> sp.Symbol:
    """The real symbol for an identifier, after the renames described in the module docstring
    (and ``rename``, if given)."""
    if name in _FUNCTIONS or name in (SUM, MEAN):
        raise ParseError(f"'{name}' is a function; call it like {name}(x)", text, column)
    if not _NAME.fullmatch(name):
        raise ParseError(
            f"'{name}' is not a valid name (letters, digits and _, starting with a letter)",
            text,
            column,
        )
    base, hat, rest = name.partition("_hat")
    if hat and rest and not rest.startswith("_"):  # y_hatch is a name of its own
        base, hat, rest = name, "", ""
    name = _RENAMES.get(base, base) + ("hat" if hat else "") + rest
    return sp.Symbol(name if rename is None else rename(name), real=True)


def _bits(number: sp.Rational) -> int:
    return max(int(number.p).bit_length() + int(number.q).bit_length() - 1, 1)


class _Node(NamedTuple):
    value: sp.Expr  # evaluated by SymPy: every check looks at this one
    typed: sp.Expr  # unevaluated, as typed (the same object as value when evaluate=True)
    cost: int  # about the bits of the largest number SymPy may compute (a name counts 1)


class _Parser:
    """Builds the expression for one input, checking every node against the whitelist and limits."""

    def __init__(
        self,
        text: str,
        evaluate: bool,
        sums: bool = False,
        rename: Callable[[str], str] | None = None,
    ) -> None:
        self.text = text
        self.rename = rename
        self.evaluate = evaluate
        self.sums = sums
        self.lead = len(text) - len(text.lstrip(" "))

    def fail(self, message: str, offset: int | None) -> ParseError:
        """A ParseError at a 0-based ``offset`` into the rewritten source (None: no column)."""
        return ParseError(message, text=self.text, column=self.column(offset))

    def column(self, offset: int | None) -> int | None:
        """The 1-based column in the input of a 0-based ``offset`` into the rewritten source."""
        if offset is None:
            return None
        return self.origin[min(max(offset, 0), len(self.origin) - 1)] + 1

    def run(self) -> sp.Expr:
        text = self.text
        if not text.strip(" "):
            raise ParseError("empty expression", text=text)
        bad = (_NOT_TYPED_OR_PRINTED if self.sums else _NOT_TYPED).search(text)
        if bad:
            raise ParseError(f"the character {bad.group()!r} is not allowed", text, bad.start() + 1)
        if sum(map(text.count, "([{")) > MAX_DEPTH:  # else they cannot nest too deep
            depth = 0
            for i, char in enumerate(text):
                depth += (char in "([{") - (char in ")]}")
                if depth > MAX_DEPTH:
                    raise ParseError(f"more than {MAX_DEPTH} nested parentheses", text, i + 1)
        self.source = self.rewrite(text.rstrip(" "))
        try:
            with warnings.catch_warnings():  # Python warns about e.g. "1if"; it is refused anyway
                warnings.simplefilter("ignore")
                tree = ast.parse(self.source, mode="eval")
        except SyntaxError as e:
            message = "invalid syntax" if e.msg.startswith("invalid syntax") else e.msg
            message = message.replace("Perhaps you forgot a comma?", "Is an operator missing?")
            if re.search(r"\blambda\b", text):
                message += " ('lambda' is a Python keyword: write lam or lambda_)"
            offset = (e.offset or len(self.source) + 1) - 1 if e.lineno == 1 else len(self.source)
            column = self.column(offset)
            message = f"invalid syntax at column {column}: {message}"
            raise ParseError(message, text, column) from None
        self.check_depth(tree)
        node = self.build(tree.body)
        if node.value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise ParseError("the expression is undefined (division by zero?)", text=text)
        return node.typed

    def rewrite(self, stripped: str) -> str:
        """The source Python reads: ``^`` as ``**`` (Python's ^ is xor, with the wrong
        precedence) and printed forms (Σ, ŷ, ·, ...) as typed names, remembering in
        ``self.origin`` where each of its characters came from, to report columns in the input."""
        k = self.lead
        if stripped.isascii():  # nothing printed to read back: only ^ to rewrite
            self.origin = [j for j in range(k, len(stripped))
                           for _ in range(2 if stripped[j] == "^" else 1)]
            self.origin.append(len(stripped))
            return stripped[k:].replace("^", "**")
        source, self.origin = "", []
        closes: list[int] = []  # where a printed Σ's term ends: ")" goes there
        while k <= len(stripped):
            while closes and closes[-1] == k:
                closes.pop()
                source += ")"
                self.origin.append(k)
            if k == len(stripped):
                break
            pair = stripped[k : k + 2]
            if self.sums and pair[:1] == "Σ":  # Σᵢ a·b sums the whole product a·b
                step = 2 if pair == "Σᵢ" else 1
                closes.append(_term_end(stripped, k + step))
                source += "sum("
                self.origin += [k] * 4
                k += step
                continue
            if self.sums and pair in UNICODE:
                piece, step = UNICODE[pair], len(pair)
            elif self.sums and pair[:1] in UNICODE:
                piece, step = UNICODE[pair[:1]], 1
            else:
                piece, step = ("**" if pair[:1] == "^" else pair[:1]), 1
            source += piece
            self.origin += [k] * len(piece)
            k += step
        self.origin.append(len(stripped))
        return source

    def check_depth(self, tree: ast.Expression) -> None:
        """Refuse trees deeper than MAX_DEPTH before the recursive walk (a+b+c is (a+b)+c)."""
        stack = [(tree.body, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_DEPTH:
                message = f"more than {MAX_DEPTH} operations nested in one another"
                raise self.fail(message, node.col_offset)
            children = ast.iter_child_nodes(node)
            stack += [(child, depth + 1) for child in children if isinstance(child, ast.expr)]

    def refuse(self, node: ast.expr, kind: type) -> ParseError:
        """'<construct> is not allowed' for a node, operator or constant outside the whitelist."""
        return self.fail(f"{_NOT_ALLOWED.get(kind, kind.__name__)} is not allowed", node.col_offset)

    def build(self, node: ast.expr) -> _Node:
        if isinstance(node, ast.Constant):
            value = self.number(node)
            return _Node(value, value, _bits(value))
        if isinstance(node, ast.Name):
            symbol = _symbol(node.id, self.text, self.column(node.col_offset), self.rename)
            return _Node(symbol, symbol, 1)
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd):
                raise self.refuse(node, type(node.op))
            operand = self.build(node.operand)
            if isinstance(node.op, ast.UAdd):
                return operand
            value = -operand.value
            return _Node(value, value if self.evaluate else _negate(operand.typed), operand.cost)
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.refuse(node, type(node))

    def number(self, node: ast.Constant) -> sp.Rational:
        """An exact number: decimals from their text (0.1 is 1/10), never via a float."""
        if type(node.value) not in (int, float):
            raise self.refuse(node, type(node.value))
        literal = (ast.get_source_segment(self.source, node) or "").replace("_", "")
        match = _DECIMAL.fullmatch(literal)
        if type(node.value) is int:
            value = sp.Integer(node.value)
        elif match and abs(int(match.group(1) or 0)) <= MAX_BITS:
            value = sp.Rational(literal)
        else:
            value = None
        if value is None or _bits(value) > MAX_BITS:
            raise self.fail(f"the number {literal} is out of range", node.col_offset)
        return value

    def checked(self, cost: int, node: ast.expr) -> int:
        if cost > MAX_BITS:
            raise self.fail(f"numbers get too large (over {MAX_BITS} bits)", node.col_offset)
        return cost

    def binop(self, node: ast.BinOp) -> _Node:
        if not isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.Pow):
            raise self.refuse(node, type(node.op))
        if isinstance(node.op, ast.Add | ast.Sub):
            return self.sum(node)
        left, right = self.build(node.left), self.build(node.right)
        if isinstance(node.op, ast.Pow):
            return self.power(left, right, node)
        if isinstance(node.op, ast.Div) and right.value.is_zero:
            raise self.fail("division by zero", node.right.col_offset)
        cost = self.checked(left.cost + right.cost, node)
        evaluated, unevaluated = _OPERATIONS[type(node.op)]
        value = self.sympy(evaluated, [left.value, right.value], node)
        typed = value if self.evaluate else unevaluated(left.typed, right.typed)
        return _Node(value, typed, cost)

    def sum(self, node: ast.BinOp) -> _Node:
        """A chain a + b - c + ... built at once: SymPy sorts a sum's terms each time one is
        added, so building it term by term costs the square of its length."""
        operands: list[tuple[ast.expr, bool]] = []  # right to left, each with "subtracted"
        left: ast.expr = node
        while isinstance(left, ast.BinOp) and isinstance(left.op, ast.Add | ast.Sub):
            operands.append((left.right, isinstance(left.op, ast.Sub)))
            left = left.left
        operands.append((left, False))
        parts = [(self.build(n), minus) for n, minus in reversed(operands)]
        values = [-p.value if minus else p.value for p, minus in parts]
        value = self.sympy(sp.Add, values, node)
        if self.evaluate:
            typed = value
        else:  # as typed: a - b is a + (-1)*b, and a + (b + c) one sum (see _OPERATIONS)
            typed = sp.Add(*[t for p, minus in parts for t in (
                (sp.Mul(-1, p.typed, evaluate=False),) if minus else _flat(p.typed, sp.Add))],
                evaluate=False)
        cost = max(p.cost for p, _ in parts)  # an estimate: n terms add up to log2(n) bits
        return _Node(value, typed, cost)

    def power(self, base: _Node, exponent: _Node, node: ast.expr) -> _Node:
        power = exponent.value
        if power.free_symbols:
            cost = base.cost + exponent.cost
        elif not isinstance(power, sp.Rational):
            raise self.fail(f"a numeric exponent must be rational, not {power}", node.col_offset)
        elif abs(power.p) > MAX_EXPONENT or power.q > MAX_EXPONENT:
            message = f"the exponent {power} is too large (the limit is {MAX_EXPONENT})"
            raise self.fail(message, node.col_offset)
        elif power.q > 1 and not base.value.free_symbols and base.cost > MAX_ROOT_BITS:
            message = f"roots of numbers over {MAX_ROOT_BITS} bits are not supported"
            raise self.fail(message, node.col_offset)
        else:
            cost = base.cost * max(abs(power.p), 1)
        if base.value.is_zero and power.is_negative:
            raise self.fail("division by zero (0 to a negative power)", node.col_offset)
        value = self.sympy(sp.Pow, [base.value, power], node)
        if self.evaluate:
            return _Node(value, value, self.checked(cost, node))
        typed_power = power if isinstance(power, sp.Rational) else exponent.typed
        typed = sp.Pow(base.typed, typed_power, evaluate=False)
        return _Node(value, typed, self.checked(cost, node))

    def call(self, node: ast.Call) -> _Node:
        if not isinstance(node.func, ast.Name):
            raise self.fail("calling anything but a known function is not allowed", node.col_offset)
        name = node.func.id
        if name in (SUM, MEAN):
            return self.sample_sum(node)
        if name not in _FUNCTIONS:
            raise self.fail(
                f"unknown function '{name}'; known functions: {', '.join(KNOWN_FUNCTIONS)}"
                f" (and sum(expr, i), mean(expr) over the samples)",
                node.col_offset,
            )
        if node.keywords:
            raise self.fail(
                f"a keyword argument is not allowed in {name}(...)", node.keywords[0].col_offset
            )
        record = _FUNCTIONS[name]
        function, (least, most) = record.sympy, record.arity
        if not least <= len(node.args) <= (most or len(node.args)):
            if most is None:
                expected = f"at least {least} arguments"
            elif most == least:
                expected = f"{least} argument" + ("s" if least > 1 else "")
            else:
                expected = f"{least} or {most} arguments"
            raise self.fail(f"{name}() takes {expected}, got {len(node.args)}", node.col_offset)
        first = self.comparison(node.args[0]) if record.condition else None
        args = [first or self.build(arg) for arg in node.args[:1]]
        args += [self.build(arg) for arg in node.args[1:]]
        cost = sum(arg.cost for arg in args) + 1
        for arg, arg_node in zip(args, node.args, strict=True):
            # SymPy compares and evaluates constant arguments numerically, which can take
            # forever (relu(exp(exp(exp(100))))): only real numbers of moderate size
            constant = not arg.value.free_symbols and not isinstance(arg.value, sp.Rational)
            if constant and not moderate(arg.value):
                message = (
                    f"a constant argument of {name}() must be a plain number like 2 or -1/3, or "
                    "a real number from 1e-20 to 1e12 in size like log(3)"
                )
                raise self.fail(message, arg_node.col_offset)
        if name == "sqrt":
            return self.power(args[0]._replace(cost=cost), _Node(sp.S.Half, sp.S.Half, 1), node)
        for default in record.defaults[len(args) - least :]:
            args.append(_Node(default, default, _bits(default)))
        value = self.sympy(function, [arg.value for arg in args], node)
        typed = value if self.evaluate else function(*(a.typed for a in args), evaluate=False)
        return _Node(value, typed, self.checked(cost, node))

    def comparison(self, node: ast.expr) -> _Node:
        """``a < b`` (or <=, >, >=) as the condition of ``where``: one comparison of two terms."""
        relations = {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge}
        if not isinstance(node, ast.Compare):
            raise self.fail("the first argument of where() must be a comparison like z > 0",
                            node.col_offset)
        if len(node.ops) != 1 or type(node.ops[0]) not in relations:
            raise self.fail("where() compares two terms with one of <, <=, >, >=",
                            node.col_offset)
        left, right = self.build(node.left), self.build(node.comparators[0])
        relation = relations[type(node.ops[0])]
        value = self.sympy(relation, [left.value, right.value], node)
        typed = value if self.evaluate else relation(left.typed, right.typed, evaluate=False)
        return _Node(value, typed, max(left.cost, right.cost))

    def sample_sum(self, node: ast.Call) -> _Node:
        """``sum(expr)`` or ``sum(expr, i)``: Sum(expr, (i, 1, N)); ``mean(expr)``: that over N;
        not nested, index always i."""
        name = node.func.id
        if not self.sums:
            message = f"{name}(...) over the samples is not allowed here"
            raise self.fail(message, node.col_offset)
        if node.keywords:
            raise self.fail(f"a keyword argument is not allowed in {name}(...)", node.col_offset)
        most = 2 if name == SUM else 1
        if not 1 <= len(node.args) <= most:
            expected = "1 or 2 arguments (expr, i)" if most == 2 else "1 argument"
            message = f"{name}() takes {expected}, got {len(node.args)}"
            raise self.fail(message, node.col_offset)
        if len(node.args) == 2:
            index = node.args[1]
            if not (isinstance(index, ast.Name) and index.id == "i"):
                raise self.fail("the index of sum(expr, i) must be i", index.col_offset)
        for inner in ast.walk(node.args[0]):
            nested = isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name)
            if nested and inner.func.id in (SUM, MEAN):
                raise self.fail("sums over the samples do not nest", inner.col_offset)
        body = self.build(node.args[0])
        value = sp.Sum(body.value, (INDEX, 1, SAMPLES))
        typed = value if self.evaluate else sp.Sum(body.typed, (INDEX, 1, SAMPLES))
        if name == MEAN:
            value = value / SAMPLES
            mean = sp.Mul(sp.Pow(SAMPLES, -1, evaluate=False), typed, evaluate=False)
            typed = value if self.evaluate else mean
        return _Node(value, typed, self.checked(body.cost + 1, node))

    def sympy(self, function: Callable[..., sp.Expr], args: list[sp.Expr], node: ast.expr):
        """Apply a SymPy constructor; its rare failures on odd numbers become ParseErrors."""
        try:
            result = function(*args)
            if function in (sp.Add, sp.Mul) and all(a.is_Symbol for a in args):
                return result  # a sum or product of names holds no zoo, nan or I
        except (TypeError, ValueError, AttributeError) as e:
            # SymPy raises these when it cannot decide a comparison of numbers (its cache turns
            # that TypeError into an AttributeError) and from its factor cache on some roots.
            message = f"SymPy cannot build this part of the expression ({type(e).__name__})"
            raise self.fail(message, node.col_offset) from None
        if result.has(sp.zoo, sp.nan, sp.I):  # one walk; which of them, only when one is there
            if result.has(sp.zoo, sp.nan):
                message = "the expression is undefined here (division by zero?)"
                raise self.fail(message, node.col_offset)
            raise self.fail("the expression is not real here", node.col_offset)
        return result


def _term_end(text: str, start: int) -> int:
    """Where the product that starts at ``start`` ends: at a + or - (a binary one) or an
    unmatched closing parenthesis at its level, or at the end of the text."""
    depth, operand = 0, False
    for k in range(start, len(text)):
        char = text[k]
        if char in "([":
            depth += 1
        elif char in ")]":
            if depth == 0:
                return k
            depth -= 1
        elif depth == 0 and char in "+-−" and operand:
            return k
        if not char.isspace():
            operand = char not in "+-−*/·×^("
    return len(text)


# Unevaluated (typed) forms follow SymPy's own parse_expr(..., evaluate=False): a - b is
# a + (-1)*b, a/b is a*b**(-1), and chains such as a + b + c become one Add.
def _flat(expr: sp.Expr, kind: type) -> tuple[sp.Expr, ...]:
    return expr.args if isinstance(expr, kind) else (expr,)


def _negate(a: sp.Expr) -> sp.Expr:
    return -a if a.is_Number else sp.Mul(-1, a, evaluate=False)


_OPERATIONS: dict[type, tuple[Callable[..., sp.Expr], Callable[..., sp.Expr]]] = {
    ast.Mult: (sp.Mul, lambda a, b: sp.Mul(*_flat(a, sp.Mul), *_flat(b, sp.Mul), evaluate=False)),
    ast.Div: (
        lambda a, b: a / b,
        lambda a, b: sp.Pow(b, -1, evaluate=False) if a == 1 else sp.Mul(
            *_flat(a, sp.Mul), sp.Pow(b, -1, evaluate=False), evaluate=False),
    ),
}

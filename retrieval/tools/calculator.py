"""Safe arithmetic for financial questions: no ``eval``, only a whitelisted ``ast`` walk.

Grammar: numbers, ``+ - * /``, ``**`` (or ``^``) with |exponent| <= 100, unary minus, parentheses,
and the functions ``ratio(a, b)``, ``pct(a, b)``, ``growth(new, old)``, ``cagr(end, start, years)``,
``margin(part, total)``, ``abs``, ``round(x[, digits])``, ``min``, ``max``, ``sum``, ``avg``.
Anything else (names, attributes, strings, lambdas, comprehensions, other calls) is rejected with
a :class:`CalculatorError` whose message says what is allowed.

Numbers may be written as they appear in filings: ``1,234.5`` (commas followed by three digits
are thousands separators, so separate arguments with ", "), ``$2.1``, ``(3.4)`` (a bare number in
parentheses is an accounting negative, -3.4), ``12%`` (0.12), and scale words ``$2.1 billion``,
``300m``, ``1.5bn``, ``5k`` (see :func:`parse_amount` for one amount on its own).

Percentages are fractions: ``pct``, ``growth``, ``cagr``, ``margin`` and ``12%`` give 0.1975-style
values tagged as percentages, shown as ``19.75%``; ``growth(a, b) * 100`` is the plain number 19.75.
``round`` of a percentage rounds its percentage points (``round(growth(a, b), 1)`` -> 19.7%).

Example:
    >>> evaluate("growth(2255.4, 1883.4)").formula
    'growth(2255.4, 1883.4) = 19.75%'
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from core import figures
from core.errors import ToolError
from core.figures import MAX_AMOUNT, Amount, AmountError
from core.records import ToolResult
from retrieval.tools.base import BaseTool

MAX_EXPRESSION_CHARS = 500
MAX_NODES = 300
MAX_EXPONENT = 100.0
MAX_MAGNITUDE = MAX_AMOUNT  # bounds every intermediate result as it bounds every literal


class CalculatorError(ToolError):
    """The expression is not allowed or cannot be computed; the message says why."""


# -- the number formats of filings (read by core.figures) -----------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>\*\*|\^|[-+*/(),]))")


@dataclass(frozen=True)
class _Literal:
    value: float
    percent: bool
    text: str  # how the formula shows it


def _literal(amount: Amount) -> _Literal:
    shown = _plain(amount.magnitude) + ("%" if amount.percent else "")
    return _Literal(amount.value, amount.percent, "-" + shown if amount.negative else shown)


def parse_amount(text: str) -> float:
    """One amount as written in a filing or a question (:func:`core.figures.parse_amount`).

    Example:
        >>> parse_amount("$1.2 billion"), parse_amount("(3,400)"), parse_amount("12%")
        (1200000000.0, -3400.0, 0.12)

    Raises:
        CalculatorError: ``text`` is not one amount.
    """
    try:
        return figures.parse_amount(text)
    except AmountError as exc:
        raise CalculatorError(str(exc)) from None


# -- evaluation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Value:
    value: float
    percent: bool = False


def _check(value: float, what: str) -> float:
    if isinstance(value, complex) or not math.isfinite(value):
        raise CalculatorError(f"{what} has no real, finite value")
    if abs(value) > MAX_MAGNITUDE:
        raise CalculatorError(f"{what} is too large (limit {MAX_MAGNITUDE:g})")
    return float(value)


def _divide(a: float, b: float, what: str) -> float:
    if b == 0:
        raise CalculatorError(f"division by zero in {what}")
    return _check(a / b, what)


def ratio(a: float, b: float) -> float:
    """a / b."""
    return _divide(a, b, "ratio(a, b): b is zero")


def pct(a: float, b: float) -> float:
    """a as a fraction of b (0.25 means 25%)."""
    return _divide(a, b, "pct(a, b): b is zero")


def growth(new: float, old: float) -> float:
    """(new - old) / |old|: 0.1975 means +19.75%.

    |old| keeps the sign meaningful for a negative base.
    """
    return _divide(new - old, abs(old), "growth(new, old): old is zero")


def cagr(end: float, start: float, years: float) -> float:
    """Compound annual growth rate: (end / start) ** (1 / years) - 1."""
    if years <= 0:
        raise CalculatorError("cagr(end, start, years): years must be positive")
    if start <= 0 or end < 0:
        raise CalculatorError(
            "cagr(end, start, years): start must be positive and end not negative"
        )
    return _check((end / start) ** (1.0 / years) - 1.0, "cagr")


def margin(part: float, total: float) -> float:
    """part / total as a fraction (operating income over revenue, ...)."""
    return _divide(part, total, "margin(part, total): total is zero")


def avg(*values: float) -> float:
    """Arithmetic mean."""
    if not values:
        raise CalculatorError("avg() needs at least one value")
    return _check(math.fsum(values) / len(values), "avg")


@dataclass(frozen=True)
class _Function:
    call: Callable[..., float]
    min_args: int
    max_args: int | None  # None: any number
    percent: str  # "yes": result is a percentage; "no"; "all": a percentage when every arg is one


def _round(x: float, digits: float = 0) -> float:
    if digits != int(digits) or not 0 <= digits <= 10:
        raise CalculatorError("round(x, digits): digits must be a whole number from 0 to 10")
    return float(round(x, int(digits)))


def _sum(*values: float) -> float:
    return _check(math.fsum(values), "sum")


FUNCTIONS: dict[str, _Function] = {
    "ratio": _Function(ratio, 2, 2, "no"),
    "pct": _Function(pct, 2, 2, "yes"),
    "growth": _Function(growth, 2, 2, "yes"),
    "cagr": _Function(cagr, 3, 3, "yes"),
    "margin": _Function(margin, 2, 2, "yes"),
    "abs": _Function(lambda x: abs(x), 1, 1, "all"),
    "round": _Function(_round, 1, 2, "all"),
    "min": _Function(lambda *v: min(v), 1, None, "all"),
    "max": _Function(lambda *v: max(v), 1, None, "all"),
    "sum": _Function(_sum, 1, None, "all"),
    "avg": _Function(avg, 1, None, "all"),
}
_ALLOWED = ", ".join(f"{name}()" for name in FUNCTIONS)
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_PRECEDENCE = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.Pow: 4}


class _Evaluator:
    def __init__(self, literals: dict[str, _Literal]) -> None:
        self.literals = literals

    def eval(self, node: ast.AST) -> _Value:
        if isinstance(node, ast.Expression):
            return self.eval(node.body)
        if isinstance(node, ast.Name):
            literal = self.literals.get(node.id)
            if literal is None:
                raise CalculatorError(
                    f"unknown name {node.id!r}: only numbers and the functions {_ALLOWED} "
                    "are allowed"
                )
            return _Value(literal.value, literal.percent)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner = self.eval(node.operand)
            sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
            return _Value(sign * inner.value, inner.percent)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return self._binop(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise CalculatorError(
            f"{type(node).__name__} is not allowed: use numbers, + - * / **, parentheses "
            f"and {_ALLOWED}"
        )

    def _binop(self, node: ast.BinOp) -> _Value:
        left, right = self.eval(node.left), self.eval(node.right)
        a, b = left.value, right.value
        operator = _BINOPS[type(node.op)]
        what = f"{render(node.left, self.literals)} {operator} {render(node.right, self.literals)}"
        if isinstance(node.op, ast.Add):
            return _Value(_check(a + b, what), left.percent and right.percent)
        if isinstance(node.op, ast.Sub):
            return _Value(_check(a - b, what), left.percent and right.percent)
        if isinstance(node.op, ast.Mult):
            return _Value(_check(a * b, what), False)
        if isinstance(node.op, ast.Div):
            return _Value(_divide(a, b, what), left.percent and not right.percent)
        if abs(b) > MAX_EXPONENT:
            raise CalculatorError(f"exponent {b:g} in {what} is too large (limit {MAX_EXPONENT:g})")
        if a < 0 and b != int(b):
            raise CalculatorError(f"{what}: a negative number to a fractional power is not real")
        if a == 0 and b < 0:
            raise CalculatorError(f"division by zero in {what}")
        try:
            return _Value(_check(a**b, what), False)
        except OverflowError:
            raise CalculatorError(f"{what} is too large (limit {MAX_MAGNITUDE:g})") from None

    def _call(self, node: ast.Call) -> _Value:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            shown = node.func.id if isinstance(node.func, ast.Name) else type(node.func).__name__
            raise CalculatorError(f"function {shown!r} is not allowed; allowed: {_ALLOWED}")
        if node.keywords:
            raise CalculatorError(f"{node.func.id}() takes positional arguments only")
        name = node.func.id
        spec = FUNCTIONS[name]
        n = len(node.args)
        if n < spec.min_args or (spec.max_args is not None and n > spec.max_args):
            expected = (
                f"{spec.min_args}"
                if spec.min_args == spec.max_args
                else f"{spec.min_args} or more"
                if spec.max_args is None
                else f"{spec.min_args} to {spec.max_args}"
            )
            raise CalculatorError(f"{name}() takes {expected} arguments, got {n}")
        args = [self.eval(arg) for arg in node.args]
        values = [a.value for a in args]
        if spec.percent == "yes":
            percent = True
        elif spec.percent == "all":
            percent = all(a.percent for a in (args[:1] if name == "round" else args))
        else:
            percent = False
        if name == "round" and percent:  # round percentage points, not the fraction
            return _Value(_round(values[0] * 100.0, *values[1:]) / 100.0, True)
        return _Value(_check(spec.call(*values), f"{name}()"), percent)


def render(
    node: ast.AST, literals: dict[str, _Literal], parent: int = 0, right: bool = False
) -> str:
    """The normalised formula text of a validated tree (numbers as values, minimal parentheses)."""
    if isinstance(node, ast.Expression):
        return render(node.body, literals)
    if isinstance(node, ast.Name):
        literal = literals.get(node.id)
        text = literal.text if literal else node.id
        return f"({text})" if text.startswith("-") and parent >= 2 else text
    if isinstance(node, ast.UnaryOp):
        text = ("-" if isinstance(node.op, ast.USub) else "+") + render(node.operand, literals, 3)
        return f"({text})" if parent >= 2 else text
    if isinstance(node, ast.BinOp):
        mine = _PRECEDENCE[type(node.op)]
        power = isinstance(node.op, ast.Pow)
        # Pow is right-associative; the others left-associative.
        left = render(node.left, literals, mine + (1 if power else 0))
        right_text = render(node.right, literals, mine + (0 if power else 1), right=True)
        text = f"{left} {_BINOPS[type(node.op)]} {right_text}"
        return f"({text})" if mine < parent else text
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return f"{node.func.id}({', '.join(render(a, literals) for a in node.args)})"
    return type(node).__name__


def _plain(value: float) -> str:
    if value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def _display(value: _Value) -> str:
    if value.percent:
        return f"{value.value * 100:,.2f}%"
    if value.value == int(value.value) and abs(value.value) < 1e16:
        return f"{int(value.value):,}"
    if abs(value.value) < 1e-4:
        return f"{value.value:.4g}"
    return f"{value.value:,.4f}".rstrip("0").rstrip(".")


def _tokenize(expression: str) -> tuple[str, dict[str, _Literal]]:
    """Python source in which every number is a placeholder name, plus the placeholder table.

    Placeholders keep Python's own literal syntax (strings, bytes, complex numbers...) out of
    the tree entirely, and carry the financial formats (percent, accounting negative) through.
    """
    out: list[str] = []
    literals: dict[str, _Literal] = {}
    pos, end = 0, len(expression)
    while pos < end:
        if expression[pos].isspace():
            pos += 1
            continue
        try:
            amount = figures.match_amount(expression, pos)
        except AmountError as exc:
            raise CalculatorError(str(exc)) from None
        if amount is not None:
            name = f"_n{len(literals)}"
            literals[name] = _literal(amount)
            out.append(name)
            pos = amount.end
            continue
        token = _TOKEN.match(expression, pos)
        if token is None or token.end() == pos:
            raise CalculatorError(
                f"unexpected character {expression[pos]!r} at position {pos + 1}: use numbers, "
                f"+ - * / ** ( ) , and {_ALLOWED}"
            )
        text = token["name"] or token["op"]
        out.append("**" if text == "^" else text)
        pos = token.end()
    return " ".join(out), literals


@dataclass(frozen=True)
class Evaluation:
    value: float
    percent: bool
    display: str
    formula: str


def evaluate(expression: str) -> Evaluation:
    """Evaluate a financial expression safely. Raises :class:`CalculatorError` with a reason."""
    if not expression or not expression.strip():
        raise CalculatorError("the expression is empty")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise CalculatorError(
            f"the expression is {len(expression)} characters long (limit {MAX_EXPRESSION_CHARS})"
        )
    source, literals = _tokenize(expression)
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        reason = getattr(exc, "msg", None) or type(exc).__name__
        shown = expression if len(expression) <= 60 else expression[:57] + "..."
        raise CalculatorError(f"cannot parse {shown!r}: {reason}") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise CalculatorError(f"the expression is too complex (more than {MAX_NODES} parts)")
    try:
        result = _Evaluator(literals).eval(tree)
    except RecursionError:
        raise CalculatorError("the expression is nested too deeply") from None
    display = _display(result)
    return Evaluation(
        result.value, result.percent, display, f"{render(tree, literals)} = {display}"
    )


# -- the tool --------------------------------------------------------------------------------------


class CalculatorInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expression: str = Field(
        min_length=1,
        max_length=MAX_EXPRESSION_CHARS,
        description=(
            "Arithmetic over numbers (1,234.5  $2.1  (3.4) = -3.4  12%  $1.2 billion) "
            "with + - * / ** "
            "and ratio(a,b) pct(a,b) growth(new,old) cagr(end,start,years) margin(part,total) "
            "abs round min max sum avg"
        ),
        examples=["growth(2255.4, 1883.4)", "cagr($383.3bn, $274.5bn, 3)"],
    )


class Calculation(BaseModel):
    expression: str  # as given
    value: float  # a fraction when percent is true (0.1975 = 19.75%)
    percent: bool
    display: str  # "19.75%", "1,234.5"
    formula: str  # "growth(2255.4, 1883.4) = 19.75%"


class CalculatorTool(BaseTool):
    """Arithmetic the agent must not do in its head: growth, margins, CAGR, ratios."""

    name = "calculator"
    description = (
        "Evaluate arithmetic on figures from filings: + - * / **, ratio(a,b), pct(a,b), "
        "growth(new,old), cagr(end,start,years), margin(part,total), "
        "abs, round, min, max, sum, avg. "
        "Accepts 1,234.5, $2.1, (3.4) as -3.4, 12%, $1.2 billion. Percent results are fractions."
    )
    input_model = CalculatorInput
    output_model = Calculation

    def _run(self, args: CalculatorInput) -> ToolResult:
        try:
            result = evaluate(args.expression)
        except CalculatorError as exc:
            return self.failure("invalid-input", str(exc))
        data = Calculation(
            expression=args.expression,
            value=result.value,
            percent=result.percent,
            display=result.display,
            formula=result.formula,
        )
        return self.success(data, result.formula, source="calculator")


__all__ = [
    "Calculation",
    "CalculatorError",
    "CalculatorInput",
    "CalculatorTool",
    "Evaluation",
    "avg",
    "cagr",
    "evaluate",
    "growth",
    "margin",
    "parse_amount",
    "pct",
    "ratio",
]

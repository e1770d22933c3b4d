"""The safe calculator: arithmetic, financial number formats, functions, and hostile input."""

from __future__ import annotations

import ast
import builtins
import time

import pytest

from core.errors import ToolError
from core.settings import Settings
from retrieval.tools import ToolResult, build_tools
from retrieval.tools.calculator import (
    Calculation,
    CalculatorError,
    CalculatorTool,
    cagr,
    evaluate,
    growth,
    margin,
    parse_amount,
    pct,
    ratio,
)


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("2 ** 3 ** 2", 512.0),  # right-associative
        ("-2 ** 2", -4.0),  # unary minus binds looser than **
        ("10 - 4 - 3", 3.0),  # left-associative
        ("7 / 2", 3.5),
        ("2 ^ 10", 1024.0),  # a spreadsheet habit, read as a power
        ("- - 3", 3.0),
        ("1e3 + .5", 1000.5),
    ],
)
def test_precedence_and_associativity(expression: str, value: float) -> None:
    assert evaluate(expression).value == pytest.approx(value)


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("1,234.5 + 1", 1235.5),
        ("$2.1 * 2", 4.2),
        ("(3.4)", -3.4),
        ("(3.4) * 2", -6.8),
        ("$(1,000) + 1,500", 500.0),
        ("($1,000)", -1000.0),
        ("1000 * 12%", 120.0),
        ("$1.2 billion / 1,000", 1.2e6),
        ("300m + 1.5bn", 1.8e9),
        ("5k * 2", 10000.0),
        ("2 million - 1 thousand", 1_999_000.0),
        ("sum(1,000, 2,000, 3,000)", 6000.0),  # thousands inside arguments separated by ", "
        ("max(1,234,5)", 234.0),  # "1,234,5" is not a grouped number: three arguments
    ],
)
def test_financial_number_formats(expression: str, value: float) -> None:
    assert evaluate(expression).value == pytest.approx(value)


def test_abs_of_parenthesised_number_is_a_call_not_a_negative() -> None:
    assert evaluate("abs(3.4)").value == pytest.approx(3.4)
    assert evaluate("abs((3.4))").value == pytest.approx(3.4)  # inner (3.4) is accounting -3.4


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("$1.2 billion", 1.2e9),
        ("1.2B", 1.2e9),
        ("$300 million", 3e8),
        ("(3,400)", -3400.0),
        ("-$2.5m", -2.5e6),
        ("12%", 0.12),
        ("1,234.5", 1234.5),
        ("€7.5 thousand", 7500.0),
        ("2 trillion", 2e12),
    ],
)
def test_parse_amount(text: str, value: float) -> None:
    assert parse_amount(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "billion", "1.2 zillion", "12 apples", "1 + 2"])
def test_parse_amount_rejects_non_amounts(text: str) -> None:
    with pytest.raises(CalculatorError, match="amount"):
        parse_amount(text)


def test_growth_formula_matches_the_documented_example() -> None:
    result = evaluate("growth(2255.4, 1883.4)")
    assert result.value == pytest.approx((2255.4 - 1883.4) / 1883.4)
    assert result.percent is True
    assert result.formula == "growth(2255.4, 1883.4) = 19.75%"


@pytest.mark.parametrize(
    ("expression", "value", "display"),
    [
        ("ratio(3, 4)", 0.75, "0.75"),
        ("pct(1, 8)", 0.125, "12.50%"),
        ("margin(310.5, 2255.4)", 310.5 / 2255.4, "13.77%"),
        ("cagr(133.1, 100, 3)", 0.10, "10.00%"),
        ("growth(-50, -100)", 0.5, "50.00%"),  # |old|: a smaller loss is growth
        ("growth(2255.4, 1883.4) * 100", 19.7515132, "19.7515"),  # a fraction times a number
        ("round(growth(2255.4, 1883.4), 1)", 0.198, "19.80%"),  # rounds percentage points
        ("round(2.71828, 2)", 2.72, "2.72"),
        ("abs(-5)", 5.0, "5"),
        ("min(3, 1, 2)", 1.0, "1"),
        ("max(3, 1, 2)", 3.0, "3"),
        ("avg(1, 2, 3, 4)", 2.5, "2.5"),
        ("sum(0.1, 0.2, 0.3)", 0.6, "0.6"),
        ("margin(30, 120) - 5%", 0.20, "20.00%"),
        ("$2.1 billion / 3", 7e8, "700,000,000"),
    ],
)
def test_functions(expression: str, value: float, display: str) -> None:
    result = evaluate(expression)
    assert result.value == pytest.approx(value)
    assert result.display == display
    assert result.formula.endswith(f"= {display}")


def test_formula_normalises_financial_literals() -> None:
    assert evaluate("growth($2,255.4, $1,883.4)").formula == "growth(2255.4, 1883.4) = 19.75%"
    assert evaluate("(3.4) * 2").formula == "(-3.4) * 2 = -6.8"
    assert evaluate("1000 * 12%").formula == "1000 * 12% = 120"
    assert evaluate("(1 + 2) * 3").formula == "(1 + 2) * 3 = 9"


def test_typed_convenience_functions() -> None:
    assert growth(110, 100) == pytest.approx(0.10)
    assert cagr(121, 100, 2) == pytest.approx(0.10)
    assert margin(25, 100) == pytest.approx(0.25)
    assert ratio(1, 4) == pytest.approx(0.25)
    assert pct(1, 5) == pytest.approx(0.2)
    with pytest.raises(CalculatorError, match="zero"):
        growth(10, 0)
    with pytest.raises(CalculatorError, match="years must be positive"):
        cagr(10, 5, 0)
    assert issubclass(CalculatorError, ToolError)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("1 / 0", "division by zero"),
        ("ratio(5, 0)", "zero"),
        ("margin(1, 1 - 1)", "zero"),
        ("0 ** -1", "division by zero"),
        ("cagr(100, -5, 2)", "start must be positive"),
        ("(-8) ** 0.5", "fractional power"),
        ("round(1.5, 2.5)", "whole number"),
        ("growth(1)", "takes 2 arguments, got 1"),
        ("avg()", "1 or more arguments"),
    ],
)
def test_arithmetic_errors_have_clear_messages(expression: str, reason: str) -> None:
    with pytest.raises(CalculatorError, match=reason):
        evaluate(expression)


MALICIOUS = [
    "__import__('os')",
    "__import__('os').system('echo pwned')",
    "open('/etc/passwd').read()",
    "(1).__class__",
    "().__class__.__bases__[0].__subclasses__()",
    "growth.__globals__",
    "lambda: 1",
    "(lambda x: x)(1)",
    "[x for x in range(10)]",
    "{x: 1 for x in range(3)}",
    "sum(x for x in range(10))",
    "10**10**10",
    "9 ** 9 ** 9",
    "2 ** 1000",
    "1e300 * 1e300",
    "99999999999999999999999999",
    "9" * 400,  # overflows a float to infinity
    "1e999",
    "1,000 trillion trillion",
    "1" * 501,
    "(" * 240 + "1" + ")" * 240,  # deeper than the parser allows
    "x",
    "a + 1",
    "True + 1",
    "None",
    "exec('1')",
    "eval('1')",
    "compile('1', '', 'eval')",
    "globals()",
    "print(1)",
    "'abc' * 3",
    "b'x'",
    "1j * 1j",
    "1 if 1 else 2",
    "1 < 2",
    "1 and 2",
    "7 // 2",
    "7 % 2",
    "1 << 100",
    "~1",
    "[1, 2]",
    "max(*[1, 2])",
    "round(1.234, ndigits=1)",
    "f'{1}'",
    "1; 2",
    "x := 1",
    "\\x00",
    "1 +\x00 2",
    "",
    "   ",
]


@pytest.mark.parametrize("expression", MALICIOUS)
def test_hostile_input_is_rejected_cleanly(
    expression: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    called: list[str] = []
    for name in ("eval", "exec", "compile", "__import__"):
        original = getattr(builtins, name)

        def spy(*args, _name=name, _original=original, **kwargs):
            if _name in ("eval", "exec"):
                called.append(_name)
            elif _name == "compile":  # ast.parse compiles to a tree only; code objects are banned
                flags = args[3] if len(args) > 3 else kwargs.get("flags", 0)
                if not flags & ast.PyCF_ONLY_AST:
                    called.append(_name)
            elif args and args[0] in ("os", "subprocess"):
                called.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(builtins, name, spy)
    started = time.process_time()
    with pytest.raises(CalculatorError) as info:
        evaluate(expression)
    monkeypatch.undo()
    assert time.process_time() - started < 0.5
    assert called == []
    assert str(info.value)  # a message, not an empty exception


def test_tool_never_raises_and_reports_invalid_input() -> None:
    tool = CalculatorTool()
    for expression in ("__import__('os')", "1 / 0", "10**10**10"):
        result = tool.run({"expression": expression})
        assert isinstance(result, ToolResult)
        assert (result.ok, result.status) == (False, "invalid-input")
        assert result.data is None
    too_long = tool.run({"expression": "1+" * 300 + "1"})
    assert too_long.status == "invalid-input"
    assert "at most 500 characters" in too_long.message
    assert tool.run({"expr": "1"}).status == "invalid-input"  # unknown argument name


def test_tool_success_through_the_registry(settings: Settings) -> None:
    registry = build_tools(settings)
    result = registry.call("calculator", '{"expression": "growth(2,255.4, 1,883.4)"}')
    assert result.ok and result.status == "ok"
    assert result.message == "growth(2255.4, 1883.4) = 19.75%"
    calc = result.output(Calculation)
    assert calc.percent and calc.display == "19.75%"
    assert calc.value == pytest.approx(0.197515, rel=1e-5)
    assert result.args == {"expression": "growth(2,255.4, 1,883.4)"}
    assert ToolResult.model_validate_json(result.model_dump_json()) == result


def test_walker_rejects_nodes_outside_the_whitelist_even_if_tokens_pass() -> None:
    # Python keywords are plain names to the tokenizer: the ast walk must still refuse them.
    for expression in ("1 if 2 else 3", "not 1", "1 or 2", "1 is 1", "1 in 2"):
        with pytest.raises(CalculatorError, match="not allowed"):
            evaluate(expression)
    assert ast.parse("1 if 2 else 3", mode="eval")  # the reason they reach the walker

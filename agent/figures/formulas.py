"""The metric formula language: concepts, metric names, numbers, + - * /, and period functions.

Contract: :func:`parse` checks a formula against the language (a whitelisted :mod:`ast` walk, as
the calculator does for numbers) and returns its tree; :func:`names` lists the names it uses.
Nothing here computes: :mod:`agent.figures.compute` substitutes the reported figures and hands the
numeric expression to :func:`retrieval.tools.calculator.evaluate`.

Period functions (over one concept): ``avg(c)`` the average of the opening and closing balance
(``c`` at the year and at the prior year), ``prior(c)`` ``c`` at the prior year (or the first year
of an asked range), ``change(c)`` = ``c - prior(c)``. ``years`` is the number of years between the
first and last year of the asked range. ``growth``, ``cagr``, ``abs``, ``min`` and ``max`` are the
calculator's own functions.
"""

from __future__ import annotations

import ast

PERIOD_FUNCTIONS = frozenset({"avg", "prior", "change"})
CALCULATOR_FUNCTIONS = frozenset({"growth", "cagr", "abs", "min", "max"})
RESERVED = frozenset({"years"})


class FormulaError(ValueError):
    """The formula is outside the language; the message says what is allowed."""


def parse(formula: str) -> ast.Expression:
    """The formula's tree. Raises :class:`FormulaError` naming what is not allowed."""
    try:
        tree = ast.parse(formula.strip(), mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"cannot parse formula {formula!r}: {exc.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func.id if isinstance(node.func, ast.Name) else None
            if func in PERIOD_FUNCTIONS:
                if len(node.args) != 1 or not isinstance(node.args[0], ast.Name):
                    raise FormulaError(f"{func}() takes one concept name, in {formula!r}")
            elif func not in CALCULATOR_FUNCTIONS:
                raise FormulaError(
                    f"function {func!r} is not allowed in {formula!r}; allowed: "
                    f"{sorted(PERIOD_FUNCTIONS | CALCULATOR_FUNCTIONS)}"
                )
            if node.keywords:
                raise FormulaError(f"keyword arguments are not allowed in {formula!r}")
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float)) or isinstance(node.value, bool):
                raise FormulaError(f"only numbers may be written in {formula!r}")
        elif not isinstance(
            node,
            (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.Add, ast.Sub)
            + (ast.Mult, ast.Div, ast.USub, ast.UAdd),
        ):
            raise FormulaError(f"{type(node).__name__} is not allowed in {formula!r}")
    return tree


def names(formula: str | ast.AST) -> set[str]:
    """The concept, metric and reserved names a formula uses (not its function names)."""
    tree = parse(formula) if isinstance(formula, str) else formula
    funcs = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in funcs}


def expand(formula: str, metrics: dict[str, str]) -> str:
    """``formula`` with metric names replaced by their (parenthesised) formulas, recursively.

    Args:
        metrics: metric name (snake_case) -> formula; a question's own definitions go first.
    """
    tree = parse(formula)
    seen: set[str] = set()

    class _Inline(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if node.id in metrics:
                if node.id in seen:
                    raise FormulaError(f"metric {node.id!r} is defined in terms of itself")
                seen.add(node.id)
                inner = _Inline().visit(parse(metrics[node.id]).body)
                seen.discard(node.id)
                return inner
            return node

    return ast.unparse(_Inline().visit(tree))


def snake(name: str) -> str:
    """A metric's formula name: "capex % revenue" -> "capex_pct_revenue"."""
    out = name.lower().replace("%", " pct ").replace("&", " and ")
    return "_".join("".join(ch if ch.isalnum() else " " for ch in out).split())

"""Scoring of one answer against a FinanceBench-style gold answer, on synthetic cases."""

from __future__ import annotations

import pytest

from core.records import Answer, Calculation
from evaluation.scoring import (
    ALL_NUMERIC,
    answer_verdict,
    gold_figure,
    gold_verdict,
    numeric_correct,
    question_unit,
    summarize,
    yes_no_agrees,
)

MILLIONS = "What was the FY2021 operating cash flow of Acme? Answer in USD millions."
BILLIONS = "What was Acme's FY2021 revenue in USD billions?"
PERCENT = "What is Acme's FY2021 gross margin in percent?"
RATIO = "What is Acme's FY2021 quick ratio?"
PLAIN = "How much did Acme spend on buybacks in FY2021?"


def test_question_unit():
    assert question_unit(MILLIONS).scale == 1e6 and not question_unit(MILLIONS).percent
    assert question_unit(BILLIONS).scale == 1e9
    assert question_unit(PERCENT).percent and question_unit(PERCENT).scale is None
    assert question_unit("What is the operating margin (%)?").percent
    assert question_unit(RATIO) == question_unit(PLAIN)


def test_gold_figure_reads_core_figures_forms():
    gold = gold_figure("$1,577.00", MILLIONS)
    assert (gold.number, gold.decimals, gold.scale, gold.money) == (1577.0, 2, 1e6, True)
    assert gold_figure("(3.4)", MILLIONS).number == -3.4
    assert gold_figure("-$0.02").number == -0.02
    assert gold_figure("$2.1 billion", MILLIONS).scale == 1e9  # its own word wins
    pct = gold_figure("24.26%", PERCENT)
    assert (pct.number, pct.decimals, pct.percent, pct.money) == (24.26, 2, True, False)
    times = gold_figure("1.2x", RATIO)
    assert (times.number, times.decimals, times.money) == (1.2, 1, False)
    assert gold_figure("The company is capital intensive.") is None
    assert gold_figure("In FY2021 the 10-K says 0.66").number == 0.66  # years, forms skipped


@pytest.mark.parametrize(
    ("answer", "gold", "question", "expected"),
    [
        # precision: the answer rounds to the gold at the decimals the gold prints
        ("Operating cash flow was $1,577.004 million [1].", "$1,577.00", MILLIONS, True),
        ("Gross margin was 38.8% [1].", "39%", PERCENT, True),
        ("Gross margin was 38.5% [1].", "39%", PERCENT, True),  # 1.3 % off, but rounds to 39
        ("Gross margin was 38.4% [1].", "39%", PERCENT, False),  # 1.5 % off, rounds to 38
        ("Gross margin was 24.3% [1].", "24.26%", PERCENT, True),  # within 1 %
        ("Gross margin was 24.0% [1].", "24.26%", PERCENT, False),  # 1.07 % off, 2 decimals
        ("The quick ratio was 1.575 [1].", "1.58", RATIO, True),
        ("The quick ratio was 1.50 [1].", "1.58", RATIO, False),
        # 1 % relative, whatever the precision
        ("Revenue was $1,590 million [1].", "$1,577.00", MILLIONS, True),
        ("Revenue was $1,600 million [1].", "$1,577.00", MILLIONS, False),
        # unit scaling: the question's unit is the gold's scale
        ("Operating cash flow was $1.577 billion [1].", "$1,577.00", MILLIONS, True),
        ("Operating cash flow was 1,577 [1].", "$1,577.00", MILLIONS, True),
        ("Operating cash flow was $1.577 million [1].", "$1,577.00", MILLIONS, False),
        ("Revenue was $12,500 million [1].", "$12.5", BILLIONS, True),
        ("Buybacks were $1.577 billion [1].", "$1,577", PLAIN, True),  # gold scale unknown
        # percent vs ratio: both only when the question asks for a percent
        ("Gross margin was 0.2426 [1].", "24.26%", PERCENT, True),
        ("The ratio is 0.2426 [1].", "24.26%", RATIO, False),
        ("Gross margin was 24% [1].", "0.24", PERCENT, True),
        ("The quick ratio is 24% [1].", "0.24", RATIO, False),
        ("Gross margin was $24.26 million [1].", "24.26%", PERCENT, False),
        # signs
        ("Net income was -$0.02 per share [1].", "-$0.02", PLAIN, True),
        ("Net income was $0.02 per share [1].", "-$0.02", PLAIN, False),
        ("Revenue declined 5.2% [1].", "-5.2%", PERCENT, True),
        # nothing to score
        ("Yes [1].", "Yes, the quick ratio is 1.2.", RATIO, None),
        ("It is capital intensive [1].", "Capital intensive.", PLAIN, None),
        ("Operating cash flow is not stated.", "$1,577.00", MILLIONS, False),
    ],
)
def test_numeric_correct_on_text(answer, gold, question, expected):
    assert numeric_correct(answer, gold, question) is expected


def test_numeric_correct_prefers_calculations():
    text = "Gross margin was 30% in FY2020 and improved [1]."
    calc = Calculation(metric="gross margin", formula="gp / revenue", result=24.26, unit="percent")
    with_calc = Answer(text=text, calculations=[calc])
    assert numeric_correct(with_calc, "24.26%", PERCENT) is True
    assert numeric_correct(Answer(text=text), "24.26%", PERCENT) is False
    usd = Calculation(metric="capex", formula="capex", result=1.577e9, unit="USD")
    assert numeric_correct(Answer(text="See [1].", calculations=[usd]), "$1,577.00", MILLIONS)
    ratio = Calculation(metric="margin", formula="a / b", result=0.2426, unit="ratio")
    assert numeric_correct(Answer(text="", calculations=[ratio]), "24.26%", PERCENT) is True
    assert numeric_correct(Answer(text="", calculations=[ratio]), "24.26%", RATIO) is False
    # a calculation without a result leaves the text to be scored
    missing = Calculation(metric="margin", formula="a / b", result=None, unit="percent")
    assert numeric_correct(Answer(text="24.3% [1]", calculations=[missing]), "24.26%", PERCENT)


def test_yes_no_agreement():
    assert gold_verdict("Yes. The quick ratio is 1.2.") == "yes"
    assert gold_verdict("No, it is not.") == "no"
    assert gold_verdict("Not stated in the filing.") is None
    assert gold_verdict("$1,577.00") is None
    assert yes_no_agrees("**No** -- the quick ratio fell to 0.8 [1].", "No. It fell.") is True
    assert yes_no_agrees("Yes, it improved [1].", "No. It fell.") is False
    assert yes_no_agrees("The ratio fell to 0.8 [1]. No, it is not improving.", "No.") is True
    assert answer_verdict("There is no debt, so leverage is nil [1].") is None
    assert yes_no_agrees("I could not find it.", "Yes.") is False
    assert yes_no_agrees("Yes [1].", "$1,577.00") is None
    judged = Calculation(metric="quick ratio", formula="q", result=0.8, judgement="No")
    assert yes_no_agrees(Answer(text="Yes, see [1].", calculations=[judged]), "No.") is True


def _row(qtype, numeric=None, yes_no=None, recall=1.0, abstained=False, ms=100.0):
    return {
        "question_type": qtype,
        "numeric": numeric,
        "yes_no": yes_no,
        "recall": recall,
        "abstained": abstained,
        "ms": ms,
    }


def test_summarize_per_question_type():
    rows = [
        _row("metrics-generated", numeric=True, ms=100.0),
        _row("metrics-generated", numeric=False, recall=0.0, ms=300.0),
        _row("domain-relevant", yes_no=True, recall=0.5),
        _row("domain-relevant", yes_no=False, abstained=True),
        _row("novel-generated", numeric=True),
        _row(None),
    ]
    table = summarize(rows)
    assert list(table) == [
        "domain-relevant",
        "metrics-generated",
        "novel-generated",
        "unknown",
        ALL_NUMERIC,
    ]
    metrics = table["metrics-generated"]
    assert (metrics["n"], metrics["n_numeric"], metrics["numeric_correct"]) == (2, 2, 0.5)
    assert metrics["n_yes_no"] == 0 and metrics["yes_no_agreement"] is None
    assert metrics["citation_recall"] == 0.5 and metrics["abstention_rate"] == 0.0
    assert metrics["p50_ms"] == 200.0 and metrics["p95_ms"] == 290.0
    domain = table["domain-relevant"]
    assert (domain["n_yes_no"], domain["yes_no_agreement"], domain["numeric_correct"]) == (
        2,
        0.5,
        None,
    )
    assert domain["citation_recall"] == 0.75 and domain["abstention_rate"] == 0.5
    assert table["unknown"]["n"] == 1
    numeric = table[ALL_NUMERIC]
    assert (numeric["n"], numeric["n_numeric"], numeric["numeric_correct"]) == (3, 3, 0.6667)

"""The Fine-tuning page's tables and chart: rows built from job records (pure, tested without
Streamlit), and how they are drawn.

Contract: rates show three decimals, learning rates in scientific notation, latencies and counts
as whole numbers; the run-log chart puts dev MRR (a 0-1 rate) and train loss on their own axes.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

GATE_COLUMNS = {
    "R@1": "recall@1",
    "R@5": "recall@5",
    "R@10": "recall@10",
    "MRR": "mrr",
    "nDCG@10": "ndcg@10",
}
BASELINE_LABELS = {"none": "no reranker", "current": "serving now", "candidate": "this model"}


def run_log_table(entries: list[dict]) -> list[dict]:
    return [
        {
            "event": e.get("event"),
            "step": e.get("step"),
            "epoch": _round(e.get("epoch"), 2),
            "train loss": _round(e.get("loss")),
            "dev loss": _round(e.get("dev_loss")),
            "dev MRR": _round(e.get("dev_mrr")),
            "dev acc@1": _round(e.get("dev_accuracy_at_1")),
            "lr": e.get("lr"),
            "elapsed s": _round(e.get("elapsed_s"), 1),
            "CPU s": _round(e.get("cpu_s"), 1),
        }
        for e in entries
    ]


def curve_points(entries: list[dict]) -> list[dict]:
    """Long-form (step, series, value) points of dev MRR and train loss for the chart."""
    points = []
    for e in entries:
        for series, key in (("dev MRR", "dev_mrr"), ("train loss", "loss")):
            if e.get(key) is not None:
                value = round(float(e[key]), 4)
                points.append({"step": e["step"], "series": series, "value": value})
    return points


def gate_table(metrics: dict[str, dict[str, float]]) -> list[dict]:
    """One row per ranking (no reranker, serving now, this model): rates to 3 decimals, ms whole."""
    rows = []
    for name in ("none", "current", "candidate"):
        if name not in metrics:
            continue
        m = metrics[name]
        row: dict[str, Any] = {"ranking": BASELINE_LABELS[name]}
        row |= {label: _round(m.get(key)) for label, key in GATE_COLUMNS.items()}
        row["p50 ms"] = None if m.get("p50_ms") is None else round(float(m["p50_ms"]))
        rows.append(row)
    return rows


def serving_table(current: dict[str, Any]) -> list[dict]:
    return [
        {
            "scope": "every question" if scope == "*" else scope,
            "backend": r.backend,
            "model": r.model,
            "MRR": _round(r.metrics.get("mrr")),
            "promoted by": r.promoted_by,
            "promoted at": r.promoted_at.strftime("%Y-%m-%d %H:%M UTC"),
        }
        for scope, r in sorted(current.items())
    ]


def _round(value: Any, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


# --- drawing -------------------------------------------------------------------------------------


def show_table(rows: list[dict]) -> None:
    """A dataframe whose float columns show three decimals, integer columns none."""
    floats = {k for row in rows for k, v in row.items() if isinstance(v, float)}
    ints = {
        k for row in rows for k, v in row.items() if isinstance(v, int) and not isinstance(v, bool)
    }
    config = {k: st.column_config.NumberColumn(format="%d") for k in ints - floats}
    config |= {k: st.column_config.NumberColumn(format="%.3f") for k in floats if k != "lr"}
    config |= {"lr": st.column_config.NumberColumn(format="%.2e")} if "lr" in floats else {}
    st.dataframe(rows, hide_index=True, width="stretch", column_config=config)


def curve_chart(points: list[dict]) -> None:
    """Dev MRR and train loss by step, each on its own axis (loss is not a 0-1 rate)."""
    if not points:
        return
    import altair as alt
    import pandas as pd

    base = alt.Chart(pd.DataFrame(points)).encode(
        x=alt.X("step:Q", title="optimizer step"),
        color=alt.Color("series:N", title=None),
        tooltip=["series", "step", alt.Tooltip("value:Q", format=".4f")],
    )
    mrr = (
        base.transform_filter(alt.datum.series == "dev MRR")
        .mark_line(point=True)
        .encode(y=alt.Y("value:Q", title="dev MRR", scale=alt.Scale(domain=[0, 1])))
    )
    loss = (
        base.transform_filter(alt.datum.series == "train loss")
        .mark_line(point=True, strokeDash=[4, 3])
        .encode(y=alt.Y("value:Q", title="train loss"))
    )
    chart = alt.layer(mrr, loss, title="Dev MRR and train loss").resolve_scale(y="independent")
    st.altair_chart(chart, width="stretch")

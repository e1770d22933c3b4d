"""The Statements page: a filing's standardised statements, each figure one click from its cell.

Contract: the user picks a filing they may read; the page shows, per primary statement (income,
balance sheet, cash flow), the statement facts read at ingest (:mod:`ingest.facts`) as a grid of
standard concepts by fiscal period (:func:`standardised`). Selecting a cell shows the line item as
printed, its column, the value with its scale and the cited region of the page it was read from
(:func:`ui.page_view.cited_region_cached`). Facts are queried with the user's groups, so a
filing's figures are shown only to those who may read the filing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from core.errors import FinragError
from core.records import Fact
from core.settings import Settings
from ui.corpus import app_corpus
from ui.identity import current_user

STATEMENTS = {"income": "Income statement", "balance": "Balance sheet", "cash-flow": "Cash flows"}


@dataclass
class Grid:
    """One statement as rows (concepts) by columns (periods), each cell the fact it shows."""

    rows: list[str] = field(default_factory=list)  # concept ids, in statement order
    columns: list[str] = field(default_factory=list)  # "FY2023", "Q2 FY2024", newest first
    cells: dict[tuple[str, str], Fact] = field(default_factory=dict)

    def label(self, concept: str) -> str:
        return concept.replace("_", " ").capitalize()

    def table(self) -> list[dict[str, str]]:
        """Rows for ``st.dataframe``: the concept, then one formatted figure per column."""
        out = []
        for concept in self.rows:
            row = {"line item": self.label(concept)}
            for column in self.columns:
                fact = self.cells.get((concept, column))
                row[column] = _shown(fact) if fact else ""
            out.append(row)
        return out


def _period(fact: Fact) -> str:
    return (
        f"{fact.fiscal_period} FY{fact.fiscal_year}"
        if fact.fiscal_period != "FY"
        else (f"FY{fact.fiscal_year}")
    )


def _shown(fact: Fact) -> str:
    if fact.unit == "percent":
        return f"{fact.value:.1f}%"
    if fact.unit == "USD/share":
        return f"{fact.value:,.2f}"
    return f"{fact.value / 1e6:,.1f}" if fact.unit == "USD" else f"{fact.value:,.0f}"


def standardised(facts: list[Fact], statement: str) -> Grid:
    """The standard concepts of one statement by period, from a filing's facts.

    Only facts of the primary statement with a concept and a fiscal year count; of several
    facts for one concept and period (a subtotal repeated, a split page) the first in the
    filing's order is shown, as the statement prints it first.
    """
    grid = Grid()
    ordered = sorted(
        (f for f in facts if f.statement == statement and f.concept and f.fiscal_year),
        key=lambda f: (f.page_no, f.fact_id),
    )
    for fact in ordered:
        column = _period(fact)
        key = (fact.concept, column)
        if key in grid.cells:
            continue
        grid.cells[key] = fact
        if fact.concept not in grid.rows:
            grid.rows.append(fact.concept)
        if column not in grid.columns:
            grid.columns.append(column)
    grid.columns.sort(key=lambda c: (int(c[-4:]), c), reverse=True)
    return grid


def render() -> None:
    """Draw the Statements page."""
    from ui.page_view import cited_region_cached, render_path

    try:
        settings = Settings()
        user = current_user(settings)
        corpus = app_corpus(settings)
        filings = [f for f in corpus.filings(user.groups) if f.status in ("ok", "partial")]
    except FinragError as exc:
        st.error(str(exc))
        return
    st.title("Statements")
    st.caption(
        "Figures read from each filing's primary statements at ingest, by standard concept "
        "(USD in millions, per-share amounts as printed). Select a figure to see its cell."
    )
    if not filings:
        st.info("No filings you may read yet: add some on the Library page.")
        return
    by_name = {f"{f.company or '?'} | {f.form or '?'} | {f.file_name}": f for f in filings}
    choice = st.selectbox("Filing", sorted(by_name))
    filing = by_name[choice]
    facts = corpus.facts.query(acl_groups=user.groups, doc_ids=[filing.doc_id])
    tabs = st.tabs(list(STATEMENTS.values()))
    for tab, statement in zip(tabs, STATEMENTS, strict=True):
        with tab:
            grid = standardised(facts, statement)
            if not grid.rows:
                st.info("No figures of this statement were read from this filing.")
                continue
            event = st.dataframe(
                grid.table(),
                hide_index=True,
                on_select="rerun",
                selection_mode="single-cell",
                key=f"grid-{filing.doc_id}-{statement}",
            )
            cells = getattr(getattr(event, "selection", None), "cells", None) or []
            if not cells:
                continue
            row, column = cells[0]
            if column == "line item" or row >= len(grid.rows):
                continue
            fact = grid.cells.get((grid.rows[row], column))
            if fact is None:
                continue
            st.markdown(
                f"**{fact.line_item}** | {fact.column}: `{fact.text}` "
                f"(x{fact.scale:,.0f} = {fact.value:,.2f} {fact.unit}), page {fact.page_no}"
            )
            if fact.bbox is not None:
                render = render_path(settings.renders_dir, fact.doc_id, fact.page_no)
                image = cited_region_cached(
                    filing.source_path,
                    str(render) if render.exists() else None,
                    fact.page_no,
                    (fact.bbox.x0, fact.bbox.y0, fact.bbox.x1, fact.bbox.y1),
                    settings.ingest.render_dpi,
                )
                if image is not None:
                    st.image(image, width="stretch")

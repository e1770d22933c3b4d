"""How figures, units, period headers and tables print in one company's style.

Contract: strings and HTML only; nothing here changes a figure. :func:`render_table` prints a
:class:`Statement` with the company's column order, header cells, unit placement, "$" placement
and zero dash. :func:`money` and :func:`unit_text` vary their wording per call, drawing from the
company's random stream.
"""

from __future__ import annotations

import calendar

from samples.general.company import Company, fiscal_end, long_date
from samples.general.records import Statement


def _fmt(company: Company, value: int, dollar: bool = False, kind: str = "amount") -> str:
    s = company.style
    if kind == "eps":
        text = f"{abs(value) / 100:,.2f}"
    elif kind == "shares":  # tenths of a million shares, or whole thousands (stored times ten)
        text = f"{abs(value) // 10:,}" if company.unit == "thousands" else f"{abs(value) / 10:,.1f}"
    elif kind == "ratio":
        text = f"{abs(value) / 10:,.1f}%"
    else:
        if value == 0:
            return s.zero
        text = (
            f"{abs(value) / 10**company.decimals:,.{company.decimals}f}"
            if company.unit == "millions"
            else f"{abs(value):,}"
        )
    if value < 0:
        text = f"({text})"
    return f"{s.dollar}{text}" if dollar and s.dollar else text


def money(company: Company, units: int) -> str:
    """An amount as MD&A prose writes it: "$4,512 million", "$4.5 billion", "$812.3 million"."""
    m = company.millions(abs(units))
    if m >= 10000 and company.rng.random() < 0.5:
        return f"${m / 1000:,.1f} billion"
    if company.unit == "thousands" or company.decimals:
        return f"${m:,.1f} million"
    return f"${m:,.0f} million"


def percent_change(new: int, old: int) -> float:
    """Change from ``old`` to ``new`` in percent of ``old`` (0 when ``old`` is 0)."""
    return 100.0 * (new - old) / abs(old) if old else 0.0


def unit_text(company: Company, per_share: bool = True) -> str:
    """The unit note of a table: "(In millions, except per share data)"."""
    base = {
        "millions": ["in millions", "In millions", "$ in millions", "Dollars in millions"],
        "thousands": ["in thousands", "In thousands", "$ in thousands", "Dollars in thousands"],
    }[company.unit]
    text = base[company.rng.randrange(len(base))]
    if per_share:
        text += company.rng.choice(
            [", except per share data", ", except per share amounts", ", except per share"]
        )
    return f"({text})"


def period_headers(company: Company, fys: list[int], kind: str) -> tuple[str, list[str]]:
    """(label-column header, one header per period column) for annual statements."""
    s = company.style
    if kind == "balance":
        dates = [long_date(fiscal_end(company, fy)) for fy in fys]
        if s.header in ("years-label", "unit-label") and not company.weeks52:
            month = calendar.month_name[company.fy_month]
            day = calendar.monthrange(2001, company.fy_month)[1]
            return (f"As of {month} {day}," if s.header == "years-label" else ""), [
                str(fy) for fy in fys
            ]
        return "", dates
    if s.header == "fiscal" or company.weeks52:
        return "", [f"Fiscal {fy}" for fy in fys]
    if s.header == "per-column":
        return "", [f"Year ended {long_date(fiscal_end(company, fy))}" for fy in fys]
    if s.header == "years-label":
        month = calendar.month_name[company.fy_month]
        day = calendar.monthrange(2001, company.fy_month)[1]
        return f"Years ended {month} {day},", [str(fy) for fy in fys]
    return "", [str(fy) for fy in fys]


def render_table(
    company: Company, st: Statement, label_header: str, unit: str | None, heading: bool = True
) -> str:
    """HTML for one statement; ``unit`` is placed per the company's style."""
    s = company.style
    title = st.title.upper() if s.upper_titles and heading else st.title
    where = s.unit_where if unit else "none"
    out = []
    if heading:
        caption = f"{title} {unit}" if where == "caption" else title
        out.append(f"<h3>{caption}</h3>")
    else:
        caption = f"{title} {unit}" if where == "caption" else title
        out.append(f"<p><b>{caption}</b></p>")
    if where == "line":
        out.append(f"<p>{company.name}<br/>{unit}</p>" if heading else f"<p>{unit}</p>")
    first = unit if where == "header" and not label_header else label_header
    lines = st.lines
    if lines and lines[0].values is None:
        # A caption row right under the period row makes the table reader lose the period row
        # (it takes the caption for the table's title): fold it into the header's label cell.
        first, lines = (first or lines[0].label), lines[1:]
    order = list(range(len(st.periods)))
    if not s.newest_first:
        order.reverse()
    # Plain (not bold) header cells: PyMuPDF's reader takes a short bold line for a heading, and
    # EDGAR statements mostly print their period row in the body font anyway.
    cell = "td" if s.plain_header else "th"
    head = f"<{cell}>{first}</{cell}>" + "".join(
        f'<{cell} class="n">{st.periods[i]}</{cell}>' for i in order
    )
    rows = []
    for line in lines:
        if line.values is None:
            rows.append(f"<tr><td>{line.label}</td>" + "<td></td>" * len(order) + "</tr>")
            continue
        cells = "".join(
            f'<td class="n">{_fmt(company, line.values[i], line.dollar, line.kind)}</td>'
            for i in order
        )
        label = f"<b>{line.label}</b>" if line.parts and not s.upper_titles else line.label
        rows.append(f"<tr><td>{label}</td>{cells}</tr>")
    out.append(f"<table><tr>{head}</tr>{''.join(rows)}</table>")
    return "".join(out)

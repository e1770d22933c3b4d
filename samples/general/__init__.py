"""A corpus of generated, fictional 10-K and 10-Q filings: stage-1 ("general financial") data.

Contract: :func:`write_general_corpus` writes ``companies`` fictional companies' filings as PDFs
into a folder and returns their paths; the same ``(companies, seed)`` gives the same bytes.
:func:`build_filings` returns the same filings before layout (HTML plus every statement as
numbers), which is what tests and debugging look at.

Why generated: stage 1 of reranker fine-tuning needs many filings to mine queries from
(:mod:`finetune.synthetic`), no external data set can be downloaded, and the real
FinanceBench filings are kept for evaluation and stage 2. So each company here is drawn from an
industry profile (retail, software, industrials, banks, utilities, pharma, energy, consumer goods,
semiconductors, insurance, transport, medical devices) that fixes its line items, segments,
risk factors and MD&A drivers, and a seeded random model of its years that keeps the numbers
internally consistent:

* every total is the sum of the lines it names (:meth:`Statement.check` verifies it);
* net income flows from the income statement to the cash flow statement, the EPS note and
  retained earnings; the cash flow statement ends at the balance sheet's cash; the balance sheet
  balances; the debt note ends at the balance sheet's long-term debt; segment revenue adds up to
  total revenue; MD&A sentences quote the statements' own figures;
* a 10-Q's prior fiscal year end balance sheet column equals the 10-K's.

Layout varies per company (column order, "Fiscal 2023" / "2023" / "Year ended June 30, 2023"
headers, units in millions with or without a decimal or in thousands, where the unit is stated,
"$" placement, "—" or "-" for zero, statement titles and capitalisation, fiscal years ending in
December, March, June, September or on the last Saturday of January), so that a reranker trained
on queries mined from it does not learn one template.

Names are invented ("Quorvane Semiconductor, Inc."), tickers all start with ``ZQ`` (no US listing
uses that prefix), and every figure is random: nothing is taken from a real filing.

The package follows the generator's steps: :mod:`~samples.general.profiles` reads the industry
profiles and shared word lists (``industries.toml``, ``vocabulary.toml``);
:mod:`~samples.general.company` draws a company and its fiscal calendar;
:mod:`~samples.general.model` its years as numbers; :mod:`~samples.general.statements` and
:mod:`~samples.general.notes` turn those into :mod:`~samples.general.records` tables, which
:mod:`~samples.general.display` prints; :mod:`~samples.general.narrative` writes the text; and
:mod:`~samples.general.forms` assembles a 10-K or a 10-Q. One random stream per company runs
through all of them in that order, so moving a draw from one place to another changes the corpus
(the same seed then gives other bytes).

Example:
    >>> paths = write_general_corpus(Path("/tmp/general"), companies=24, seed=7)  # doctest: +SKIP
    >>> len(paths)  # 24 10-Ks and the 10-Qs of every third company  # doctest: +SKIP
    32
"""

from __future__ import annotations

import logging
from pathlib import Path

from samples.filings import write_pdf_from_html
from samples.general.company import make_company
from samples.general.forms import annual_filing, quarterly_filing
from samples.general.model import model_years
from samples.general.profiles import PROFILES
from samples.general.records import GeneratedFiling, Line, Statement

__all__ = [
    "PROFILES",
    "GeneratedFiling",
    "Line",
    "Statement",
    "build_filings",
    "write_general_corpus",
]

logger = logging.getLogger(__name__)


def build_filings(
    companies: int = 24, seed: int = 7, quarterly_every: int = 3
) -> list[GeneratedFiling]:
    """The corpus before layout: one 10-K per company, plus a 10-Q for every ``quarterly_every``-th.

    Args:
        companies: how many fictional companies (industries cycle through :data:`PROFILES`).
        seed: everything (names, industries, figures, layout style) follows from it.
        quarterly_every: company ``i`` also gets a 10-Q when ``i % quarterly_every == 0``.

    Returns:
        The filings, in company order, each with its HTML and its statements as numbers.
    """
    names: set[str] = set()
    tickers: set[str] = set()
    out: list[GeneratedFiling] = []
    for i in range(companies):
        company = make_company(i, seed, names, tickers)
        last_fy = company.rng.choice([2021, 2022, 2023, 2023, 2024])
        years = model_years(company, last_fy + 1, n_years=5)  # the extra year feeds the 10-Q
        out.append(annual_filing(company, years[:-1]))
        if quarterly_every and i % quarterly_every == 0:
            out.append(quarterly_filing(company, years, company.rng.randint(1, 3)))
    return out


def write_general_corpus(folder: Path, companies: int = 24, seed: int = 7) -> list[Path]:
    """Write the generated filings as PDFs into ``folder`` and return their paths.

    Deterministic: the same ``companies`` and ``seed`` write the same bytes (and so the same doc
    ids), and a file already present is left as is.

    Args:
        folder: where to write (created if missing).
        companies: number of fictional companies; each gets a 10-K, every third also a 10-Q.
        seed: the random seed behind names, figures and layout.

    Returns:
        Paths of the PDFs, in company order.

    Example:
        >>> paths = write_general_corpus(Path("/tmp/general"), companies=3)  # doctest: +SKIP
        >>> [p.name for p in paths]  # doctest: +SKIP
        ['zqkm_2024_10k.pdf', 'zqkm_2025q3_10q.pdf', 'zqpr_2022_10k.pdf', 'zqfn_2024_10k.pdf']
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for filing in build_filings(companies, seed):
        problems = filing.check()
        if problems:  # a generator bug, not bad input: log it, the filing is still usable text
            logger.warning(
                "%s: %d inconsistencies, first: %s", filing.file_name, len(problems), problems[0]
            )
        target = folder / filing.file_name
        if not target.exists():
            write_pdf_from_html(filing.html, target, filing.running_header)
        paths.append(target)
    logger.info("general corpus: %d filings of %d companies in %s", len(paths), companies, folder)
    return paths

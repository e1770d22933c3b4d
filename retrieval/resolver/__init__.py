"""Which filings a question is about: company, period and form, resolved against the catalog.

Contract: :func:`resolve` takes a question, the catalog's filings (``Catalog.filings(acl_groups)``)
and optionally the earlier questions of the conversation, and returns a
:class:`core.records.Resolution`; it never raises on odd input. :func:`company_index` gives the
catalog's :class:`~retrieval.resolver.companies.CompanyIndex`, whose ``display_name`` is the one
name a company is shown by (scope text, the app's filters). The rules live with their step:

* :mod:`retrieval.resolver.companies`: company names, aliases and tickers from the catalog.
* :mod:`retrieval.resolver.periods`: the periods, dates and forms a question's words name.
* :mod:`retrieval.resolver.filings`: which filings a period, date or form selects; their labels.
* :mod:`retrieval.resolver.resolution`: the resolution of one question and its conversation.
"""

from retrieval.resolver.filings import filing_label, form_family
from retrieval.resolver.periods import ANNUAL_FORMS, EVENT_FORMS, QUARTERLY_FORMS
from retrieval.resolver.resolution import company_index, resolve

__all__ = [
    "ANNUAL_FORMS",
    "EVENT_FORMS",
    "QUARTERLY_FORMS",
    "company_index",
    "filing_label",
    "form_family",
    "resolve",
]

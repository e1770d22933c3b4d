"""Live-data tools and calculators the agent may call: typed arguments in, a ToolResult out.

- :mod:`retrieval.tools.base`: the :class:`Tool` protocol, :class:`ToolResult`,
  :class:`ToolRegistry` and :func:`build_tools` (one registry per ``Settings``);
- :mod:`retrieval.tools.calculator`: safe arithmetic on financial figures (``calculator``);
- :mod:`retrieval.tools.market`: quotes and daily prices, Alpha Vantage format (``market_data``);
- :mod:`retrieval.tools.company_facts`: figures from SEC XBRL company facts (``company_facts``);
- :mod:`retrieval.tools.http`: the shared JSON fetcher (deadline, retry, TTL cache).

Tools never raise to the caller: every outcome is a :class:`ToolResult` whose ``status`` is ``ok``,
``unavailable`` (provider not configured or down: answer from the filings and say so),
``invalid-input`` or ``error``, with a one-sentence ``message``.

Example:
    >>> from core.settings import Settings
    >>> tools = build_tools(Settings())
    >>> tools.call("calculator", {"expression": "margin(310.5, 2255.4)"}).message
    'margin(310.5, 2255.4) = 13.77%'
    >>> tools.call("market_data", {"symbol": "IBM"}).status
    'unavailable'
"""

from core.records import ToolResult, ToolStatus
from retrieval.tools.base import BaseTool, Tool, ToolRegistry, build_tools

__all__ = ["BaseTool", "Tool", "ToolRegistry", "ToolResult", "ToolStatus", "build_tools"]

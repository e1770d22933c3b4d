"""The finrag analyst app (Streamlit): ``finrag ui`` or ``streamlit run ui/app.py``.

Pages are registered with ``st.navigation``; each lives in :mod:`ui.views` as a ``render()``
function. The corpus is the one :class:`~core.settings.Settings` names (``FINRAG_DATA_DIR``).
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run ui/app.py` puts ui/ on sys.path, not the repository root; without this an
# uninstalled checkout could not import its own packages.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

from ui.views import ask, audit, evaluate, finetune, library, memory, statements  # noqa: E402

st.set_page_config(page_title="finrag", page_icon=":material/query_stats:", layout="wide")
pages = [
    st.Page(ask.render, title="Ask", icon=":material/forum:", url_path="ask", default=True),
    st.Page(library.render, title="Library", icon=":material/folder_open:", url_path="library"),
    st.Page(
        statements.render, title="Statements", icon=":material/table_view:", url_path="statements"
    ),
    st.Page(memory.render, title="Memory bank", icon=":material/bookmarks:", url_path="memory"),
    st.Page(evaluate.render, title="Evaluate", icon=":material/monitoring:", url_path="evaluate"),
    st.Page(
        finetune.render, title="Fine-tuning", icon=":material/model_training:", url_path="finetune"
    ),
    st.Page(audit.render, title="Audit", icon=":material/policy:", url_path="audit"),
]
st.navigation(pages).run()

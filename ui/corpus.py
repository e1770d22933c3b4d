"""The app's open corpus and agent: one of each per corpus per server process.

Contract: :func:`app_corpus` opens the :class:`~retrieval.corpus.Corpus` of
``settings.data_dir`` the first time any page asks and keeps it open for the life of the server
process (``st.cache_resource``, keyed by the resolved folder): every page and every background job
(ingest, fine-tuning) works on this one object, because an embedded index can be opened once per
process and one owner is simpler than handing pieces around. :func:`app_agent` is the answering
agent over it, shared by every session (the agent is thread-safe; a session is a thread id).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from core.settings import Settings

if TYPE_CHECKING:
    from agent.graph import Agent
    from retrieval.corpus import Corpus


@st.cache_resource(show_spinner="Opening the corpus…")
def _corpus(data_dir: str, _settings: Settings) -> Corpus:
    from retrieval.corpus import Corpus

    return Corpus.open(_settings)


@st.cache_resource(show_spinner="Loading the agent…")
def _agent(data_dir: str, _corpus: Corpus) -> Agent:
    from agent.graph import Agent

    return Agent(_corpus)


def app_corpus(settings: Settings) -> Corpus:
    """The open corpus of ``settings.data_dir`` in this server process."""
    return _corpus(str(settings.data_dir.resolve()), settings)


def app_agent(settings: Settings) -> Agent:
    """The agent over :func:`app_corpus`, shared by every session of this server process."""
    return _agent(str(settings.data_dir.resolve()), app_corpus(settings))

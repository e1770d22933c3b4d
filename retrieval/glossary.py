"""The finance glossary, where search reads it: :mod:`core.glossary` (moved there so that the
page ranker in :mod:`rerank` reads the same metric -> statement table as the search)."""

from core.glossary import GLOSSARY_FILE, Expansion, expand

__all__ = ["GLOSSARY_FILE", "Expansion", "expand"]

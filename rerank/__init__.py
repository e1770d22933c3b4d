"""finrag rerank package."""

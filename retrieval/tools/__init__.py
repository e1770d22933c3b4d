"""finrag retrieval tools package."""

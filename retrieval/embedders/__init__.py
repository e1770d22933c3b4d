"""finrag retrieval embedders package."""

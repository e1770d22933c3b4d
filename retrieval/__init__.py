"""finrag retrieval package."""

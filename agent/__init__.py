"""finrag agent package."""
